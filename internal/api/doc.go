// Package api is pairgate's JSON API under /api/v1: the device API, which a
// device calls with its Bearer access token, and the admin API (docs/design.md
// section 3). Errors leave as {"error": {"code", "message"}} from one
// function, writeError.
package api
