// Package app is a pairgate server put together: its configuration (every
// default defined once, here), the wiring of the store, keys and services
// into the HTTP server, the first start (master key, signing key, default
// client, first admin), and serving until the context ends. The command
// line, the tests and the benchmark all start servers through it, so that
// they run what production runs.
package app
