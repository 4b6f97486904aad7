package sqlstore

import (
	"context"
	"database/sql"
	"sync"
)

// A pool of prepared statements, keyed by SQL text. Preparing costs SQLite
// a parse and a plan on every call otherwise (a tenth of a poll's CPU);
// database/sql re-prepares a cached statement on each connection it lands
// on, including after PostgreSQL reconnects.
type stmtCache struct {
	db *sql.DB
	m  sync.Map // SQL text → *sql.Stmt
}

func (c *stmtCache) get(ctx context.Context, q string) (*sql.Stmt, error) {
	if st, ok := c.m.Load(q); ok {
		return st.(*sql.Stmt), nil
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if prev, loaded := c.m.LoadOrStore(q, st); loaded {
		st.Close()
		return prev.(*sql.Stmt), nil
	}
	return st, nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		v.(*sql.Stmt).Close()
		return true
	})
}

// readRow runs a single-row query on the read pool with a prepared statement.
func (s *Store) readRow(ctx context.Context, q string, args ...any) *sql.Row {
	st, err := s.reads.get(ctx, q)
	if err != nil {
		// QueryRowContext reports the preparation error through Scan.
		return s.rdb.QueryRowContext(ctx, q, args...)
	}
	return st.QueryRowContext(ctx, args...)
}

// exec runs a statement on the write connection with a prepared statement.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	st, err := s.writes.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return st.ExecContext(ctx, args...)
}

// inTx returns a prepared statement bound to tx.
func (s *Store) inTx(ctx context.Context, tx *sql.Tx, q string) (*sql.Stmt, error) {
	st, err := s.writes.get(ctx, q)
	if err != nil {
		return nil, err
	}
	return tx.StmtContext(ctx, st), nil
}

// rowQuerier is what both a transaction and the prepared read pool offer.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// preparedReads adapts the read pool's prepared statements to rowQuerier.
type preparedReads struct{ s *Store }

func (p preparedReads) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return p.s.readRow(ctx, q, args...)
}
