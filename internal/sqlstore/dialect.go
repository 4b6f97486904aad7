package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"net"
	"strings"

	"github.com/jackc/pgx/v5/pgconn"
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"
)

// dialect holds everything that differs between the two databases.
type dialect struct {
	name          string // directory under migrations/
	gooseDialect  goose.Dialect
	isUnique      func(error) bool
	isForeignKey  func(error) bool
	isUnavailable func(error) bool
	// isEncoding reports that the database refused text that is not
	// valid in its encoding: the caller's input, never a fault of ours.
	isEncoding func(error) bool
	// forUpdate locks the rows a SELECT reads until the transaction
	// ends. SQLite has no row locks and needs none: its single writer
	// runs one write transaction at a time.
	forUpdate string
	// snapshot is how a read of several statements sees one state:
	// SQLite's read transaction in WAL mode does; PostgreSQL's needs
	// REPEATABLE READ, or each statement sees what committed before it.
	snapshot *sql.TxOptions
}

var sqliteDialect = dialect{
	name:         "sqlite",
	gooseDialect: goose.DialectSQLite3,
	isUnique: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && (e.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || e.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY)
	},
	isForeignKey: func(err error) bool {
		var e *sqlite.Error
		return errors.As(err, &e) && e.Code() == sqlite3.SQLITE_CONSTRAINT_FOREIGNKEY
	},
	isUnavailable: func(err error) bool {
		var e *sqlite.Error
		if errors.As(err, &e) {
			switch e.Code() & 0xff {
			case sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED, sqlite3.SQLITE_IOERR, sqlite3.SQLITE_FULL, sqlite3.SQLITE_CANTOPEN:
				return true
			}
		}
		return false
	},
	// SQLite keeps whatever bytes it is given: a lookup of invalid UTF-8
	// finds nothing, and nothing is refused.
	isEncoding: func(error) bool { return false },
	forUpdate:  "",
	snapshot:   &sql.TxOptions{ReadOnly: true},
}

var postgresDialect = dialect{
	name:         "postgres",
	gooseDialect: goose.DialectPostgres,
	isUnique: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23505"
	},
	isForeignKey: func(err error) bool {
		var e *pgconn.PgError
		return errors.As(err, &e) && e.Code == "23503"
	},
	isUnavailable: func(err error) bool {
		if errors.Is(err, sql.ErrConnDone) || errors.Is(err, context.DeadlineExceeded) {
			return true
		}
		var pe *pgconn.PgError
		if errors.As(err, &pe) {
			// Class 08: connection exception; 57P: operator intervention
			// (admin shutdown, crash shutdown, cannot connect now).
			return strings.HasPrefix(pe.Code, "08") || strings.HasPrefix(pe.Code, "57P") || pe.Code == "53300"
		}
		var ne net.Error
		if errors.As(err, &ne) {
			return true
		}
		var ce *pgconn.ConnectError
		if errors.As(err, &ce) {
			return true
		}
		return pgconn.SafeToRetry(err) || strings.Contains(err.Error(), "conn closed") || strings.Contains(err.Error(), "unexpected EOF")
	},
	isEncoding: func(err error) bool {
		// 22021 character_not_in_repertoire: a parameter that is not
		// valid UTF-8 (a client id of %ff); 22P05 untranslatable_character.
		var e *pgconn.PgError
		return errors.As(err, &e) && (e.Code == "22021" || e.Code == "22P05")
	},
	forUpdate: " FOR UPDATE",
	snapshot:  &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
}
