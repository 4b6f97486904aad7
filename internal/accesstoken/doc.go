// Package accesstoken owns the JWT signing keys and the access tokens made
// with them: key generation, sealing with the master key, rotation that
// keeps the previous key published until its tokens have expired, the JWKS
// document, minting and verification.
//
// Keys live in the store, so every replica signs with the same current key
// and publishes the same set; each replica keeps a copy in memory and
// re-reads the store when its copy is old or a token names a key it does
// not know.
package accesstoken
