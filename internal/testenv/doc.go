// Package testenv gives tests real parts: a temporary SQLite file, a fresh
// throw-away PostgreSQL database, and (in other files) a real pairgate
// server on loopback and a headless Chromium. It never skips: a missing
// part fails the test with a message saying how to provide it.
//
// PostgreSQL: each test gets a database of its own (PostgresDSN) on a
// private server that the test process starts the first time a test asks
// for one (Cluster: initdb into a temporary directory, its own port on
// 127.0.0.1 and its own socket directory) and stops and removes when the
// tests end, which is why a package that uses it needs
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
//
// PAIRGATE_TEST_DATABASE_URL points the tests at an existing server
// instead. Nothing here reads or changes the machine's own PostgreSQL or
// its configuration.
//
// A test process killed outright (SIGKILL, a -timeout panic) cannot stop
// its server; on Linux the kernel then sends the server SIGINT (a
// parent-death signal) and it shuts down. Its directory stays behind, on
// its own port behind its own random password, until the next cluster
// started as the same account removes it.
package testenv
