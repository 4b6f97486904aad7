// Package server assembles pairgate's HTTP server: every route in one table
// (routes.go), the middleware every request passes (security headers,
// request ids, panic recovery), health and readiness, and the background
// jobs (garbage collection, key rotation). It receives its parts ready-made
// from the cli package.
package server
