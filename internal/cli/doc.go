// Package cli is pairgate's command line: the command tree, flags and their
// PAIRGATE_* environment variables, configuration validation, first-start
// bootstrap, and the wiring of the concrete store into the server. It is
// the only package that reads the environment or decides an exit status.
package cli
