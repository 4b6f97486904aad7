// Package verify lets a resource server accept pairgate's access tokens
// without asking pairgate about each one: it verifies the JWT against
// pairgate's published keys (cached; fetched again when a token names an
// unknown key), checks the issuer, audience, expiry and scopes, checks the
// token's entry in the token status list that pairgate publishes
// (draft-ietf-oauth-status-list) — so that a device deleted, signed out or
// revoked in pairgate is refused here within the list's ttl — and, for a
// token bound to a device key (cnf.jkt), the DPoP proof of RFC 9449.
//
// A status list is cached for its ttl and refreshed in the background as
// it ages; when pairgate cannot be reached, the cached list keeps
// answering until it is MaxStaleness old, and then every token is refused:
// verify fails closed.
//
//	v, err := verify.New(verify.Config{Issuer: "https://pairgate.example.com", Scopes: []string{"printing"}})
//	if err != nil { … }
//	http.Handle("/jobs", v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
//		tok, _ := verify.FromContext(r.Context())
//		fmt.Fprintf(w, "hello, device %s\n", tok.DeviceID)
//	})))
//
// It depends on the standard library and go-jose only: nothing of the
// server.
package verify
