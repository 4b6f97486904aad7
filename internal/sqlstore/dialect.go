package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"strconv"
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
	// sameHardwareFrom is the FROM of deviceRead's same-hardware probe.
	// SQLite plans MIN(o.id) WHERE client_id = ? through the inventory's
	// (client_id, id) sort index, walking every device of the client for
	// each device read (a refresh at 100,000 devices: tens of ms); named,
	// the partial (client_id, hardware_id) index makes it one probe.
	// PostgreSQL's planner weighs both with its statistics.
	sameHardwareFrom string
	// nextStatusIndex allocates a token status index in tx; statusHighWater
	// is the first index not yet allocated.
	nextStatusIndex string
	statusHighWater string
	// reserveStatusIndexes allocates n token status indexes in tx at
	// once (an import).
	reserveStatusIndexes func(ctx context.Context, tx *sql.Tx, n int) ([]int64, error)
	// skipLocked lets replicas sweeping at once take different rows
	// rather than wait for each other.
	skipLocked string
	// rowID names a row in a batched DELETE; skipLockedRows lets
	// replicas cleaning up at once take different rows.
	rowID          string
	skipLockedRows string
	// searchIDs is a query of the ids of the devices whose search text
	// matches the LIKE pattern p, through the trigram index: at least
	// those whose text contains the term, maybe more.
	searchIDs func(p string) string
	// searchPattern is the pattern searchIDs takes for a term.
	searchPattern func(s *Store, term string) string
	// rareIDs is searchIDs through a few of the term's trigrams, grams,
	// rather than all of them (search.go), checking pattern p with LIKE
	// on what they find; arg binds a value and names its parameter.
	rareIDs func(grams []string, p string, arg func(any) string) string
	// recheck is a LIKE with the search pattern p that no index answers:
	// the check of the few devices rareIDs found, which the planner must
	// not turn back into a lookup of every trigram of the term.
	recheck func(p string) string
	// indexedTrigram reports whether the trigram index holds g wherever
	// a search text contains it.
	indexedTrigram func(g string) bool
	// rareShare is the largest share of the devices that the rarest of
	// a term's trigrams may be estimated in for rareIDs to be asked: a
	// term more common than that is looked up as searchIDs has it.
	rareShare float64
	// sampleSearchTexts returns the lower-cased search texts of about
	// sampleSize devices taken at random, without reading them all.
	sampleSearchTexts func(ctx context.Context, s *Store) (*sql.Rows, error)
	// searchText is what a search matches, as the indexes hold it: the
	// searched columns joined by U+001F, which nobody types.
	searchText string
	// lower lower-cases as the database's lower() does.
	lower func(string) string
	// param is the placeholder of the n-th parameter of a statement of
	// thousands (an import's multi-row INSERT).
	param func(n int) string
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
	// The single writer makes the counter row uncontended.
	nextStatusIndex: `UPDATE status_counter SET next = next + 1 WHERE id = 1 RETURNING next - 1`,
	statusHighWater: `SELECT next FROM status_counter WHERE id = 1`,
	// One writer: a range moved past at once is the caller's alone.
	reserveStatusIndexes: func(ctx context.Context, tx *sql.Tx, n int) ([]int64, error) {
		if n == 0 {
			return nil, nil
		}
		var first int64
		if err := tx.QueryRowContext(ctx, `UPDATE status_counter SET next = next + $1 WHERE id = 1 RETURNING next - $1`, n).Scan(&first); err != nil {
			return nil, err
		}
		out := make([]int64, n)
		for i := range out {
			out[i] = first + int64(i)
		}
		return out, nil
	},
	skipLocked:       "",
	rowID:            "rowid",
	skipLockedRows:   "",
	sameHardwareFrom: "devices o INDEXED BY devices_client_hardware",
	// The FTS5 trigram index answers LIKE itself, case-insensitively, but
	// only without an ESCAPE clause: with one, it read every row of the
	// index (a rare term among 100,000 devices: 120 ms). Unescaped, % and
	// _ in the term match any character too, so the index finds a few
	// more rows than contain the term, never fewer; the exact match is
	// the devices query's own.
	searchIDs:     func(p string) string { return `SELECT id FROM devices_search WHERE text LIKE ` + p },
	searchPattern: func(s *Store, term string) string { return "%" + s.d.lower(term) + "%" },
	rareIDs: func(grams []string, p string, arg func(any) string) string {
		return `SELECT id FROM devices_search WHERE devices_search MATCH ` + arg(matchExpr(grams)) + ` AND +text LIKE ` + arg(p)
	},
	recheck: func(p string) string { return `lower(` + sqliteSearchText + `) LIKE ` + p + ` ESCAPE '\'` },
	// The trigram tokenizer indexes every three characters of the text.
	indexedTrigram: func(string) bool { return true },
	// FTS5 reads a common trigram's list only as far as the page needs.
	rareShare: 1,
	sampleSearchTexts: func(ctx context.Context, s *Store) (*sql.Rows, error) {
		// Rowids are dense enough: a few deleted devices make the sample
		// a little smaller, not skewed.
		var hi int64
		if err := s.rdb.QueryRowContext(ctx, `SELECT COALESCE(MAX(rowid), 0) FROM devices`).Scan(&hi); err != nil {
			return nil, err
		}
		ids := make([]int64, sampleSize)
		for i := range ids {
			ids[i] = 1 + rand.Int64N(max(hi, 1))
		}
		list, _ := json.Marshal(ids)
		return s.rdb.QueryContext(ctx, `SELECT lower(`+s.d.searchText+`) FROM devices WHERE rowid IN (SELECT value FROM json_each($1))`, string(list))
	},
	searchText: sqliteSearchText,
	// SQLite's lower() knows the ASCII letters only.
	lower: func(s string) string {
		b := []byte(s)
		for i, c := range b {
			if c >= 'A' && c <= 'Z' {
				b[i] = c + 'a' - 'A'
			}
		}
		return string(b)
	},
	// SQLite keeps $1 and ?1 in a list of names, and looks each new one
	// up in it: parsing an INSERT of 32,000 of them took seconds. A bare
	// ? is the next number, kept nowhere.
	param:    func(int) string { return "?" },
	snapshot: &sql.TxOptions{ReadOnly: true},
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
	forUpdate:       " FOR UPDATE",
	nextStatusIndex: `SELECT nextval('status_idx_seq')`,
	statusHighWater: `SELECT CASE WHEN is_called THEN last_value + 1 ELSE last_value END FROM status_idx_seq`,
	// nextval per row: other replicas take values in between, never the
	// same ones.
	reserveStatusIndexes: func(ctx context.Context, tx *sql.Tx, n int) ([]int64, error) {
		if n == 0 {
			return nil, nil
		}
		rows, err := tx.QueryContext(ctx, `SELECT nextval('status_idx_seq') FROM generate_series(1, $1)`, n)
		if err != nil {
			return nil, err
		}
		defer rows.Close()
		out := make([]int64, 0, n)
		for rows.Next() {
			var i int64
			if err := rows.Scan(&i); err != nil {
				return nil, err
			}
			out = append(out, i)
		}
		return out, rows.Err()
	},
	skipLocked:       " FOR UPDATE OF d SKIP LOCKED",
	rowID:            "ctid",
	skipLockedRows:   " FOR UPDATE SKIP LOCKED",
	sameHardwareFrom: "devices o",
	// The expression of the pg_trgm index (migration 00034).
	searchIDs: func(p string) string {
		return `SELECT id FROM devices WHERE lower(` + postgresSearchText + `) LIKE ` + p + ` ESCAPE '\'`
	},
	searchPattern: (*Store).likePattern,
	// pg_trgm reads LIKE '%abc%' as the trigram abc alone, so the few
	// trigrams are one LIKE each, and the check of the whole pattern is
	// on an expression the index does not hold.
	rareIDs: func(grams []string, p string, arg func(any) string) string {
		var q strings.Builder
		q.WriteString(`SELECT id FROM devices WHERE `)
		for _, g := range grams {
			q.WriteString(`lower(` + postgresSearchText + `) LIKE ` + arg("%"+g+"%") + ` AND `)
		}
		q.WriteString(postgresRecheck(arg(p)))
		return q.String()
	},
	recheck: postgresRecheck,
	// pg_trgm indexes the trigrams of words, letters and digits, padded
	// at their edges: three letters or digits are a trigram of every text
	// that contains them; one with anything else in it may be none.
	indexedTrigram: func(g string) bool {
		for i := 0; i < len(g); i++ {
			if c := g[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9') {
				return false
			}
		}
		return true
	},
	// A bitmap scan of GIN reads its trigrams' lists whole, LIMIT or not:
	// three that every device has took 180 ms at a million devices, where
	// the whole pattern lets the planner read rows in order and stop.
	rareShare: 0.02,
	sampleSearchTexts: func(ctx context.Context, s *Store) (*sql.Rows, error) {
		// SYSTEM sampling reads the pages it picks, not the table.
		n, err := s.CountDevices(ctx)
		if err != nil {
			return nil, err
		}
		pct := min(100, 100*float64(sampleSize)/float64(max(n, 1)))
		return s.rdb.QueryContext(ctx, `SELECT lower(`+s.d.searchText+`) FROM devices TABLESAMPLE SYSTEM ($1) LIMIT $2`, pct, sampleSize)
	},
	searchText: postgresSearchText,
	lower:      strings.ToLower,
	param:      func(n int) string { return "$" + strconv.Itoa(n) },
	snapshot:   &sql.TxOptions{ReadOnly: true, Isolation: sql.LevelRepeatableRead},
}

// The searched columns joined by U+001F, which nobody types, in each
// dialect; lower() of it is what the trigram indexes hold (migration
// 00034).
const (
	sqliteSearchText   = `name || char(31) || hardware_id || char(31) || id || char(31) || last_ip`
	postgresSearchText = `name || chr(31) || hardware_id || chr(31) || id || chr(31) || last_ip`
)

// postgresRecheck is LIKE p on an expression that is not the pg_trgm
// index's, so that the planner checks it row by row.
func postgresRecheck(p string) string {
	return `(lower(` + postgresSearchText + `) || '') LIKE ` + p + ` ESCAPE '\'`
}
