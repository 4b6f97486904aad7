// Package client is the device side of pairgate, for programs that run on a
// print client or any other headless device: it gets the device authorized
// and keeps it authorized without a person watching.
//
// A device is authorized once, in one of two ways:
//
//   - [Client.Pair] runs the OAuth 2.0 device authorization grant (RFC 8628),
//     or pairgate's pairing dialect, and calls back with the URL and code for
//     a person to approve on a phone or laptop;
//   - [Client.Authorize] redeems an authorization code that an administrator
//     generated, without anyone at the device: the way install scripts
//     enroll a fleet.
//
// Either returns [Credentials], which a [Store] keeps between runs
// ([FileStore] keeps them in a file only its owner can read). From then on a
// [TokenSource], an [oauth2.TokenSource], hands out access tokens, refreshing
// each at a point of its own between 70 % and 90 % of its lifetime, so that
// a fleet never refreshes all at once; when the server is unavailable it
// keeps using a token that still works, honours Retry-After and otherwise
// backs off with jitter.
//
// # Rotation and crashes
//
// pairgate rotates refresh tokens: every refresh returns a new refresh token
// and the old one dies. A device that refreshed and then crashed before it
// saved the new token still holds only the old one. The server keeps a grace
// window (30 seconds by default) in which the immediately previous refresh
// token may be presented once more; it is answered with a fresh pair, which
// replaces the one that was lost. TokenSource is built around that: it saves
// the new credentials atomically (temporary file, fsync, rename, fsync of the
// directory) before it hands out the new access token, and never lets the
// credentials in memory get ahead of the store. A device that restarts
// within the grace window recovers; one that comes back later presents a
// rotated-out token, which the server treats as theft (RFC 9700 §4.14) and
// answers by revoking the authorization: [ErrNotAuthorized], and the device
// must be authorized again.
//
// Processes that share a token file take a file lock next to it across
// read, refresh and write ([Locker]), so that two of them never rotate the
// same refresh token.
//
// # Printers
//
// What the token is for: [Printers] returns the printers an administrator
// deployed to the device, with the ETag of the list, and answers "not
// changed" without a list while the device's list is the one it has, so a
// device can poll every few minutes at little cost.
//
// # Printing to the held queue
//
// [Print] sends a document to the server's held queue over IPP with the
// device's access token (Bearer, or DPoP for a key-bound device); the job
// waits until its owner releases it at a printer in the Release Portal.
// [HeldQueue] finds the queue's ipp:// URI in the server's metadata.
//
// # The device key
//
// A device is the key it holds. When the server supports DPoP (RFC 9449),
// the first authorization makes a [DeviceKey] (ES256, or Ed25519), kept in
// the [Credentials] with the tokens, and every request — the device
// authorization or pairing request, each poll, the code redemption, every
// refresh, the device API — carries a fresh proof signed by it. The server
// binds the device, its codes and its tokens to the key: a copied token, a
// code seen on the device's screen, or the device's hardware id is of no
// use to anyone else. Pass Credentials.Key as [Config.Key] to authorize the
// same device again (without it the server adds a new device). The
// package follows server nonces and corrects for a device clock that the
// server's Date shows to be off. golang.org/x/oauth2's own clients send no
// proofs: use [TokenSource.Client] for requests to resources.
//
// The package imports only the standard library, golang.org/x/oauth2,
// github.com/gofrs/flock, github.com/go-jose/go-jose/v4 (keys and
// signatures) and github.com/OpenPrinting/goipp (IPP), never pairgate's
// server packages.
package client
