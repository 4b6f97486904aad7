// Package web serves the pages people use in a browser: the user-code
// entry page (/device), sign-in and sign-out, the pairing page, and the
// consent page where a person approves or denies a device. Pages are
// html/template files and one stylesheet, embedded in the binary; they work
// without JavaScript and on a phone.
//
// Every page forbids framing and sends a Content-Security-Policy that
// allows only its own stylesheet; every state-changing form is guarded
// against cross-site request forgery by http.CrossOriginProtection. Handlers
// are thin: grants decides, authn says who is signed in, ratelimit limits
// guessing.
package web
