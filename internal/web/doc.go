// Package web serves the pages people use in a browser: the user-code
// entry page (/device), sign-in and sign-out, the pairing page, the
// consent page where a person approves or denies a device, the Admin
// Console (/admin: authorization codes, the device inventory, the audit
// log) and the Self-service Portal (/portal). Pages are
// html/template files and one stylesheet, embedded in the binary; they work
// without JavaScript and on a phone.
//
// Every page forbids framing and sends a Content-Security-Policy that
// allows only its own stylesheet; every state-changing form is guarded
// against cross-site request forgery by http.CrossOriginProtection. Handlers
// are thin: grants decides, admin performs (and audits) what an admin
// does, authn says who is signed in or which device a browser is,
// ratelimit limits guessing. Confirmations and error dialogs are <dialog>
// elements the server renders open, so that nothing needs a script.
package web
