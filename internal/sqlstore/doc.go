// Package sqlstore implements pairgate.Store on SQLite (embedded, through the
// pure-Go modernc.org/sqlite) and on PostgreSQL (through pgx). Both run the
// same SQL text: times are stored as Unix nanoseconds, lists as
// space-separated strings, and placeholders are $N, which both drivers bind
// by position. What differs between the two is in dialect.go; schema changes
// are versioned goose migrations under migrations/<dialect>/.
package sqlstore
