// Package grants holds the logic of every way a device gets a token, one
// file per grant: devicecode.go (RFC 8628), pairing.go (the pairing
// dialect), poll.go (what both share when the device polls), refresh.go,
// and issue.go (what every grant does once it has decided to issue), plus
// decide.go (a person approving or denying), revoke.go (RFC 7009 and
// RFC 7662), authcode.go (admin-issued codes) and browser.go (a browser
// authorized as a device: by an admin's console sign-in, or with a code in
// the Self-service Portal). It knows nothing of HTTP: transports parse requests into the
// types here and map the *pairgate.Error values back.
package grants
