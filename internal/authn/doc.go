// Package authn answers "who is calling": OAuth clients (HTTP Basic or
// form credentials), and, in other files, API keys, access tokens,
// browser session cookies, and the device cookie of a browser that is an
// authorized device (browsers.go). Each returns a domain value or an EUNAUTHORIZED
// error; what to send back is the transport's business.
package authn
