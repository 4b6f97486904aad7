package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"sync/atomic"

	"github.com/pairgate/pairgate"
)

// Group commit for SQLite's single writer. The requests that write on
// every call — device authorization, approval, redemption, refresh
// rotation, last-seen updates, audit events — each paid a BEGIN and a
// COMMIT, and the COMMIT (writing the transaction's pages to the WAL) was
// half of the time a refresh held the writer. Writes that arrive while one
// is in flight now wait for it and then run together in one transaction,
// each in a savepoint of its own, with one commit for all:
//
//   - Each write still runs alone on the writer, one after another, and
//     sees everything written before it, committed or earlier in the
//     batch: the guarded UPDATEs that make redemption and rotation
//     exactly-once judge a duplicate in the same batch exactly as they
//     judge one in an earlier transaction.
//   - A write that fails rolls back to its savepoint: its neighbours keep
//     their changes and it gets its error, as it would alone.
//   - Nobody is answered before the commit: a write that returns nil is
//     as durable as one that committed alone (synchronous=NORMAL, WAL).
//   - If the batch itself fails (BEGIN, a savepoint, COMMIT), every write
//     in it runs again alone, so one bad neighbour fails no other.
//
// An idle server commits a lone write at once, without a savepoint; there
// is no waiting for company. PostgreSQL commits concurrent transactions
// from many connections together by itself, and keeps each request in its
// own transaction (row locks held for a batch would make replicas wait).

// maxGroup bounds one shared transaction: enough to amortise a commit,
// few enough that the last one in a batch does not wait long for the
// others to run first.
const maxGroup = 64

// A groupWrite is one caller's transaction body waiting for the committer.
type groupWrite struct {
	what string
	// ctx carries the caller's values without its cancellation: a caller
	// that hangs up mid-statement would make SQLite interrupt, and an
	// interrupted write rolls back the whole shared transaction. Nor does
	// a deadline of the committer's apply: a context that can end costs
	// the driver a goroutine and a progress handler on every statement
	// (a seventh of a rotation's time on the writer), and the one wait a
	// write can meet inside, for another process's lock on the file, is
	// bounded by busy_timeout.
	ctx  context.Context
	fn   func(ctx context.Context, tx *sql.Tx) error
	done chan error
	// state: queued, claimed by the committer, or abandoned by a caller
	// that gave up before the committer reached it.
	state atomic.Int32
}

const (
	writeQueued int32 = iota
	writeClaimed
	writeAbandoned
)

type groupCommitter struct {
	in   chan *groupWrite
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	// onCommit is told how many writes each of its commits carried.
	onCommit func(writes int)
}

func (s *Store) startGroupCommitter(onCommit func(int)) {
	g := &groupCommitter{in: make(chan *groupWrite, 4*maxGroup), quit: make(chan struct{}), onCommit: onCommit}
	s.group = g
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		batch := make([]*groupWrite, 0, maxGroup)
		for {
			select {
			case <-g.quit:
				return
			case w := <-g.in:
				batch = gather(append(batch[:0], w), g.in, maxGroup)
				s.commitGroup(batch)
				clear(batch)
			}
		}
	}()
}

// gather appends to batch what is waiting in in, without waiting, up to
// max in all: a group commit takes the callers that arrived while the
// last one was being written.
func gather[T any](batch []T, in <-chan T, max int) []T {
	for len(batch) < max {
		select {
		case v := <-in:
			batch = append(batch, v)
		default:
			return batch
		}
	}
	return batch
}

func (g *groupCommitter) stop() {
	if g == nil {
		return
	}
	g.once.Do(func() { close(g.quit) })
	g.wg.Wait()
	// Writes queued after the committer stopped: the store is closing.
	for {
		select {
		case w := <-g.in:
			w.done <- &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database closed"}
		default:
			return
		}
	}
}

// gtx runs fn in a write transaction that it may share with concurrent
// callers (group commit on SQLite; a transaction of its own on
// PostgreSQL) and returns fn's error, or the commit's. fn must use the ctx
// it is given and may run more than once (a failed batch runs it again
// alone), so it must set its results afresh on every run.
func (s *Store) gtx(ctx context.Context, what string, fn func(ctx context.Context, tx *sql.Tx) error) error {
	if s.group == nil {
		return s.tx(ctx, what, func(tx *sql.Tx) error { return fn(ctx, tx) })
	}
	if err := ctx.Err(); err != nil {
		return s.fail(err, what)
	}
	w := &groupWrite{what: what, ctx: context.WithoutCancel(ctx), fn: recovering(what, fn), done: make(chan error, 1)}
	select {
	case s.group.in <- w:
	case <-s.group.quit:
		return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database closed"}
	case <-ctx.Done():
		return s.fail(ctx.Err(), what)
	}
	select {
	case err := <-w.done:
		return err
	case <-ctx.Done():
		// Not yet started: it never will be. Started: its outcome is
		// being decided with the others'; wait for it rather than answer
		// a write that may commit with an error.
		if w.state.CompareAndSwap(writeQueued, writeAbandoned) {
			return s.fail(ctx.Err(), what)
		}
	case <-s.group.quit:
		// The store is closing: the committer finishes the batch it has
		// and takes no other.
		if w.state.CompareAndSwap(writeQueued, writeAbandoned) {
			return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database closed"}
		}
	}
	return <-w.done
}

// recovering turns a panic of fn into its error: fn runs on the
// committer's goroutine, where a panic would end the process rather than
// one request.
func recovering(what string, fn func(ctx context.Context, tx *sql.Tx) error) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) (err error) {
		defer func() {
			if r := recover(); r != nil {
				err = fmt.Errorf("%s: panic: %v\n%s", what, r, debug.Stack())
			}
		}()
		return fn(ctx, tx)
	}
}

// commitGroup runs a batch in one transaction and answers each caller.
func (s *Store) commitGroup(batch []*groupWrite) {
	live := batch[:0:0]
	for _, w := range batch {
		if w.state.CompareAndSwap(writeQueued, writeClaimed) {
			live = append(live, w)
		}
	}
	switch len(live) {
	case 0:
		return
	case 1:
		live[0].done <- s.runAlone(live[0])
		return
	}
	errs, err := s.runShared(live)
	if err != nil {
		// The batch failed as a whole and rolled back: each write again,
		// alone, so that it gets its own answer.
		for _, w := range live {
			w.done <- s.runAlone(w)
		}
		return
	}
	s.group.committed(len(live))
	for i, w := range live {
		w.done <- errs[i]
	}
}

func (s *Store) runAlone(w *groupWrite) error {
	err := s.tx(w.ctx, w.what, func(tx *sql.Tx) error { return w.fn(w.ctx, tx) })
	if err == nil {
		s.group.committed(1)
	}
	return err
}

func (g *groupCommitter) committed(writes int) {
	if g.onCommit != nil {
		g.onCommit(writes)
	}
}

// errGroupAborted marks a batch that cannot go on: SQLite rolled the
// transaction back under a write (an I/O error, a full disk) or a
// savepoint failed.
var errGroupAborted = errors.New("shared transaction aborted")

// runShared runs the batch in one transaction, each write in a savepoint.
// It returns each write's own error, or an error of the batch when the
// transaction did not commit (nothing of it is kept then).
func (s *Store) runShared(batch []*groupWrite) ([]error, error) {
	ctx := context.Background()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return nil, err
	}
	errs := make([]error, len(batch))
	for i, w := range batch {
		if _, err := s.txExec(ctx, tx, `SAVEPOINT write`); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("%w: %v", errGroupAborted, err)
		}
		ferr := w.fn(w.ctx, tx)
		if ferr != nil {
			errs[i] = s.fail(ferr, w.what)
			if _, err := s.txExec(ctx, tx, `ROLLBACK TO write`); err != nil {
				tx.Rollback()
				return nil, fmt.Errorf("%w: %v", errGroupAborted, err)
			}
		}
		if _, err := s.txExec(ctx, tx, `RELEASE write`); err != nil {
			tx.Rollback()
			return nil, fmt.Errorf("%w: %v", errGroupAborted, err)
		}
	}
	if err := tx.Commit(); err != nil {
		return nil, err
	}
	return errs, nil
}
