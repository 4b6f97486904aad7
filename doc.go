// Package pairgate holds the domain of the pairgate device authorization
// server: devices, pending device authorizations (RFC 8628 device codes and
// the pairing dialect), refresh token families, clients, users, and the Store
// interface whose methods are the atomic operations that keep the invariants
// of docs/design.md section 2.
//
// It imports only the standard library. Everything that speaks HTTP, SQL or
// cryptography lives under internal/ and depends on this package, never the
// other way round.
package pairgate
