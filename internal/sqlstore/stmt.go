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
	if v, ok := c.m.Load(q); ok {
		if st, ok := v.(*sql.Stmt); ok {
			return st, nil
		}
	}
	st, err := c.db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	for {
		prev, loaded := c.m.LoadOrStore(q, st)
		if !loaded {
			return st, nil
		}
		if p, ok := prev.(*sql.Stmt); ok {
			st.Close()
			return p, nil
		}
		if c.m.CompareAndSwap(q, prev, st) {
			return st, nil
		}
	}
}

// preparing marks a statement being prepared in the background.
type preparing struct{}

// lookup returns the statement prepared for q if there is one; otherwise
// it has it prepared in the background, once, for the callers after this
// one. It is for statements run inside a write transaction: on SQLite the
// transaction holds the one write connection, and preparing through the
// pool from inside it would wait for itself.
func (c *stmtCache) lookup(q string) *sql.Stmt {
	if v, ok := c.m.Load(q); ok {
		st, _ := v.(*sql.Stmt)
		return st
	}
	if _, loaded := c.m.LoadOrStore(q, preparing{}); !loaded {
		go func() {
			st, err := c.db.PrepareContext(context.Background(), q)
			if err != nil || !c.m.CompareAndSwap(q, preparing{}, st) {
				c.m.CompareAndDelete(q, preparing{})
				if st != nil {
					st.Close()
				}
			}
		}()
	}
	return nil
}

func (c *stmtCache) close() {
	c.m.Range(func(_, v any) bool {
		if st, ok := v.(*sql.Stmt); ok {
			st.Close()
		}
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

// rowQuerier is what both a transaction and the prepared read pool offer.
type rowQuerier interface {
	QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row
}

// preparedReads adapts the read pool's prepared statements to rowQuerier.
type preparedReads struct{ s *Store }

func (p preparedReads) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	return p.s.readRow(ctx, q, args...)
}

// txExec runs a statement of a write transaction, prepared once per
// connection: a refresh's rotation is five statements, and parsing them
// afresh each time was a third of the time it holds the writer. q must be
// a constant text (each distinct text stays prepared).
func (s *Store) txExec(ctx context.Context, tx *sql.Tx, q string, args ...any) (sql.Result, error) {
	if st := s.writes.lookup(q); st != nil {
		return tx.StmtContext(ctx, st).ExecContext(ctx, args...)
	}
	return tx.ExecContext(ctx, q, args...)
}

// txReads is a write transaction's reads with prepared statements, as a
// rowQuerier; the same rule for q as txExec.
type txReads struct {
	s  *Store
	tx *sql.Tx
}

func (r txReads) QueryRowContext(ctx context.Context, q string, args ...any) *sql.Row {
	if st := r.s.writes.lookup(q); st != nil {
		return r.tx.StmtContext(ctx, st).QueryRowContext(ctx, args...)
	}
	return r.tx.QueryRowContext(ctx, q, args...)
}
