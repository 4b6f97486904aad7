// Package oauth is the HTTP face of pairgate for OAuth clients: the token
// endpoint (token.go: parse once, authenticate once, dispatch on
// grant_type), the device authorization and pairing endpoints, revocation,
// introspection, discovery metadata and the JWKS. Errors leave in RFC 6749
// §5.2's format from one function, writeError.
package oauth
