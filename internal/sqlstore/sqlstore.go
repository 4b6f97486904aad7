package sqlstore

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync/atomic"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	_ "modernc.org/sqlite" // registers the "sqlite" database/sql driver

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/pace"
)

//go:embed migrations
var migrations embed.FS

// Store is a pairgate.Store on SQLite or PostgreSQL.
type Store struct {
	d dialect
	// SQLite allows one writer at a time. Funnelling every write through a
	// single connection serialises them in Go instead of in SQLite's busy
	// handler, and BEGIN IMMEDIATE (see the DSN) takes the write lock at the
	// start of a transaction, so a transaction never has to upgrade a read
	// lock and deadlock. Reads use their own pool and never wait for writes
	// (WAL). On PostgreSQL both are the same pool.
	wdb *sql.DB
	rdb *sql.DB

	reads, writes *stmtCache
	// deviceRead is the columns of a device read with its same-hardware
	// mark (deviceReadOf).
	deviceRead string
	onError    func(kind string)
	proofs     *proofBatcher    // the DPoP replay cache's group commit
	group      *groupCommitter  // SQLite's shared write transactions (gtx); nil on PostgreSQL
	trigrams   *trigramEstimate // which trigrams of a search term are rare (search.go)

	// printerSnap is the latest printerSnapshot this replica read.
	printerSnap atomic.Pointer[printerSnapshot]
}

// Options are what a store is opened with besides its address.
type Options struct {
	Log *slog.Logger // nil: no log
	// OnError is told about every failed operation: "unavailable" when
	// the database cannot be reached, "internal" for anything unexpected
	// (for metrics). Nil: nobody.
	OnError func(kind string)
	// OnCommit is told how many writes each commit of SQLite's group
	// committer carried (1 when the server is idle; see group.go).
	OnCommit func(writes int)
}

var _ pairgate.Store = (*Store)(nil)

// IsPostgres reports whether dsn names a PostgreSQL database.
func IsPostgres(dsn string) bool {
	return strings.HasPrefix(dsn, "postgres://") || strings.HasPrefix(dsn, "postgresql://")
}

// Open opens (creating if needed) the database that dsn names and brings its
// schema up to date. A postgres:// or postgresql:// URL selects PostgreSQL;
// anything else is the path of a SQLite file (an optional sqlite:// or
// file: prefix is removed).
func Open(ctx context.Context, dsn string, o Options) (*Store, error) {
	log := o.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	var s *Store
	var err error
	if IsPostgres(dsn) {
		s, err = openPostgres(dsn)
	} else {
		s, err = openSQLite(dsn, o.OnCommit)
	}
	if err != nil {
		return nil, err
	}
	s.onError = o.OnError
	if err := s.migrate(ctx, log); err != nil {
		s.Close()
		return nil, err
	}
	return s, nil
}

func openSQLite(path string, onCommit func(int)) (*Store, error) {
	path = strings.TrimPrefix(strings.TrimPrefix(path, "sqlite://"), "file:")
	if path == "" {
		return nil, errors.New("sqlite: empty database path")
	}
	if dir := filepath.Dir(path); dir != "" {
		if err := os.MkdirAll(dir, 0o700); err != nil {
			return nil, fmt.Errorf("sqlite: create directory: %w", err)
		}
	}
	// synchronous=NORMAL in WAL mode keeps every committed transaction
	// across a process crash (kill -9); only a power loss can roll back the
	// last transactions, and never corrupts the file.
	u := "file:" + (&url.URL{Path: path}).EscapedPath()
	w := url.Values{"_txlock": {"immediate"}, "_pragma": {
		"busy_timeout(10000)", "journal_mode(WAL)", "synchronous(NORMAL)", "foreign_keys(1)",
		// A shared transaction (group.go) puts each write in a savepoint,
		// whose undo pages SQLite otherwise spills to a temporary file
		// past 64 KiB: that file's writes were a fifth of the writer's
		// time. In memory it is truncated when the savepoint is released.
		"temp_store(MEMORY)",
	}}
	wdb, err := sql.Open("sqlite", u+"?"+w.Encode())
	if err != nil {
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	wdb.SetMaxOpenConns(1)
	wdb.SetMaxIdleConns(1)
	wdb.SetConnMaxLifetime(0)
	wdb.SetConnMaxIdleTime(0)
	// The writer must create the file (and switch it to WAL) before readers
	// open it.
	if err := wdb.Ping(); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open %s: %w", path, err)
	}
	if err := os.Chmod(path, 0o600); err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: restrict permissions: %w", err)
	}
	r := url.Values{"_pragma": {"busy_timeout(10000)", "foreign_keys(1)", "query_only(1)"}}
	rdb, err := sql.Open("sqlite", u+"?"+r.Encode())
	if err != nil {
		wdb.Close()
		return nil, fmt.Errorf("sqlite: open readers: %w", err)
	}
	n := max(4, 2*runtime.GOMAXPROCS(0))
	rdb.SetMaxOpenConns(n)
	rdb.SetMaxIdleConns(n)
	rdb.SetConnMaxIdleTime(0)
	rdb.SetConnMaxLifetime(0)
	s := newStore(sqliteDialect, wdb, rdb)
	s.startGroupCommitter(onCommit)
	s.trigrams = &trigramEstimate{now: time.Now}
	return s, nil
}

func openPostgres(dsn string) (*Store, error) {
	cfg, err := pgx.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: %w", err)
	}
	// Without a connect timeout, a database host that drops packets holds
	// every request until TCP gives up; with one, requests fail fast with
	// 503 and /readyz says why.
	if cfg.ConnectTimeout == 0 {
		cfg.ConnectTimeout = 5 * time.Second
	}
	db := stdlib.OpenDB(*cfg)
	db.SetMaxOpenConns(max(16, 4*runtime.GOMAXPROCS(0)))
	db.SetMaxIdleConns(max(16, 4*runtime.GOMAXPROCS(0)))
	db.SetConnMaxLifetime(30 * time.Minute)
	db.SetConnMaxIdleTime(5 * time.Minute)
	s := newStore(postgresDialect, db, db)
	s.trigrams = &trigramEstimate{now: time.Now}
	return s, nil
}

func newStore(d dialect, wdb, rdb *sql.DB) *Store {
	s := &Store{d: d, wdb: wdb, rdb: rdb, reads: &stmtCache{db: rdb}, writes: &stmtCache{db: wdb}, deviceRead: deviceReadOf(d)}
	s.startProofBatcher()
	return s
}

func (s *Store) migrate(ctx context.Context, log *slog.Logger) error {
	fsys, err := fs.Sub(migrations, "migrations/"+s.d.name)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	opts := []goose.ProviderOption{goose.WithDisableGlobalRegistry(true)}
	if s.d.name == "postgres" {
		// Replicas starting together take turns: the first migrates, the
		// others find nothing to do.
		locker, err := lock.NewPostgresSessionLocker(lock.WithLockTimeout(5, 120))
		if err != nil {
			return fmt.Errorf("migrations: %w", err)
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	p, err := goose.NewProvider(s.d.gooseDialect, s.wdb, fsys, opts...)
	if err != nil {
		return fmt.Errorf("migrations: %w", err)
	}
	results, err := p.Up(ctx)
	if err != nil {
		if s.d.isUnavailable(err) {
			return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database unavailable", Err: err}
		}
		return fmt.Errorf("migrations: %w", err)
	}
	for _, r := range results {
		log.Info("applied migration", "version", r.Source.Version, "path", r.Source.Path, "duration", r.Duration)
	}
	return nil
}

// Close closes both pools.
func (s *Store) Close() error {
	s.proofs.stop()
	s.group.stop()
	s.trigrams.stop()
	s.reads.close()
	s.writes.close()
	err := s.wdb.Close()
	if s.rdb != s.wdb {
		err = errors.Join(err, s.rdb.Close())
	}
	return err
}

// Ping checks that the database answers a query.
func (s *Store) Ping(ctx context.Context) error {
	var one int
	if err := s.rdb.QueryRowContext(ctx, "SELECT 1").Scan(&one); err != nil {
		return s.fail(err, "ping")
	}
	return nil
}

// IntegrityCheck runs SQLite's integrity check; on PostgreSQL it only pings.
func (s *Store) IntegrityCheck(ctx context.Context) error {
	if s.d.name != "sqlite" {
		return s.Ping(ctx)
	}
	var res string
	if err := s.wdb.QueryRowContext(ctx, "PRAGMA integrity_check").Scan(&res); err != nil {
		return s.fail(err, "integrity check")
	}
	if res != "ok" {
		return fmt.Errorf("integrity check: %s", res)
	}
	return nil
}

// tx runs fn in a write transaction and commits if it returns nil.
func (s *Store) tx(ctx context.Context, what string, fn func(tx *sql.Tx) error) error {
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return s.fail(err, what+": begin")
	}
	pace.Started(ctx) // a paced batch holds the writer from here
	if err := fn(tx); err != nil {
		tx.Rollback()
		return s.fail(err, what)
	}
	if err := tx.Commit(); err != nil {
		return s.fail(err, what+": commit")
	}
	return nil
}

// fail turns a database error into a *pairgate.Error with context. Domain
// errors pass through unchanged.
func (s *Store) fail(err error, what string) error {
	var pe *pairgate.Error
	if errors.As(err, &pe) {
		return err
	}
	if errors.Is(err, sql.ErrNoRows) {
		return &pairgate.Error{Code: pairgate.ENOTFOUND, Message: "not found", Err: fmt.Errorf("%s: %w", what, err)}
	}
	if errors.Is(err, context.Canceled) {
		return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "request cancelled", Err: fmt.Errorf("%s: %w", what, err)}
	}
	if s.d.isEncoding(err) {
		return &pairgate.Error{Code: pairgate.EINVALID, Message: "text is not valid UTF-8", Err: fmt.Errorf("%s: %w", what, err)}
	}
	if s.d.isUnavailable(err) {
		s.report("unavailable")
		return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database unavailable", Err: fmt.Errorf("%s: %w", what, err)}
	}
	s.report("internal")
	return pairgate.Internal(err, what)
}

func (s *Store) report(kind string) {
	if s.onError != nil {
		s.onError(kind)
	}
}

// ns stores a time as Unix nanoseconds; the zero time is 0.
func ns(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

// tm is the inverse of ns.
func tm(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func joinList(l []string) string { return strings.Join(l, " ") }
func splitList(s string) []string {
	if s == "" {
		return nil
	}
	return strings.Fields(s)
}

// pageLimit checks a paged list's Limit (0: pairgate.MaxPageSize). It
// never lowers a limit it accepts: a caller that asks for MaxPageSize+1
// rows to learn whether there is a next page must get them, or it would
// take a full page for the last one.
func pageLimit(limit int) (int, error) {
	switch {
	case limit == 0:
		return pairgate.MaxPageSize, nil
	case limit < 0 || limit > pairgate.MaxPageSize+1:
		return 0, pairgate.Errorf(pairgate.EINVALID, "limit must be from 1 to %d", pairgate.MaxPageSize)
	}
	return limit, nil
}

// affected returns the rows a statement changed.
func affected(res sql.Result, err error) (int64, error) {
	if err != nil {
		return 0, err
	}
	return res.RowsAffected()
}
