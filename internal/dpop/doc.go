// Package dpop verifies DPoP proofs (RFC 9449): the signed JWT a device
// sends with each request to prove that it holds the private key its
// tokens are bound to. It checks a proof as §4.3 lists (one header, typ,
// an asymmetric alg, a public jwk, the signature, htm, htu, iat, jti once
// across replicas, ath, nonce) and returns the key's thumbprint (jkt).
// Whether a request must carry a proof, and by which key, is decided by
// the services that use it: internal/grants at the token endpoint,
// internal/authn at the device API.
package dpop
