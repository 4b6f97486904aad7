// Package testenv gives tests real parts: a temporary SQLite file, a fresh
// throw-away PostgreSQL database on the local server, and (in other files) a
// real pairgate server on loopback and a headless Chromium. It never skips:
// a missing part fails the test with a message saying how to provide it.
package testenv
