package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// tempSQLite opens a SQLite store in a fresh file, closed with the test.
func tempSQLite(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "pairgate.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// groupStore opens a SQLite store with a scratch table and records the
// most writes one commit carried.
func groupStore(t *testing.T) (*Store, *atomic.Int64) {
	t.Helper()
	s := tempSQLite(t)
	if _, err := s.wdb.Exec(`CREATE TABLE g (k TEXT PRIMARY KEY, n INTEGER NOT NULL DEFAULT 0)`); err != nil {
		t.Fatal(err)
	}
	var largest atomic.Int64
	// Told by the committer's one goroutine; read by the test's.
	s.group.onCommit = func(n int) { largest.Store(max(largest.Load(), int64(n))) }
	return s, &largest
}

func insertG(k string) func(ctx context.Context, tx *sql.Tx) error {
	return func(ctx context.Context, tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO g (k) VALUES ($1)`, k)
		return err
	}
}

func keysOf(t *testing.T, s *Store) map[string]bool {
	t.Helper()
	rows, err := s.rdb.Query(`SELECT k FROM g`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	got := map[string]bool{}
	for rows.Next() {
		var k string
		if err := rows.Scan(&k); err != nil {
			t.Fatal(err)
		}
		got[k] = true
	}
	return got
}

// holdWriter occupies the one write connection, and the committer with a
// lone write waiting for it, until release is called: the writes submitted
// meanwhile queue up, and the next batch takes them all.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	tx, err := s.wdb.Begin()
	if err != nil {
		t.Fatal(err)
	}
	w := &groupWrite{what: "blocker", ctx: context.Background(), done: make(chan error, 1),
		fn: func(context.Context, *sql.Tx) error { return nil }}
	s.group.in <- w
	for deadline := time.Now().Add(10 * time.Second); w.state.Load() != writeClaimed; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatal("the committer did not take the blocker")
		}
	}
	return func() {
		tx.Rollback()
		if err := <-w.done; err != nil {
			t.Errorf("blocker: %v", err)
		}
	}
}

// waitQueued waits until n writes wait for the committer.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	for deadline := time.Now().Add(10 * time.Second); len(s.group.in) < n; time.Sleep(time.Millisecond) {
		if time.Now().After(deadline) {
			t.Fatalf("%d writes queued, want %d", len(s.group.in), n)
		}
	}
}

// A write that fails in a shared transaction takes only its own changes
// with it: it wrote a row and then failed, its neighbours' rows commit, and
// each caller gets its own answer.
func TestGroupCommitIsolatesAFailingWrite(t *testing.T) {
	s, shared := groupStore(t)
	ctx := context.Background()
	if err := s.gtx(ctx, "seed", insertG("seed")); err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	const n = 12
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			k := fmt.Sprintf("k%02d", i)
			fn := insertG(k)
			if i == 5 {
				fn = func(ctx context.Context, tx *sql.Tx) error {
					if err := insertG(k)(ctx, tx); err != nil {
						return err
					}
					return pairgate.Errorf(pairgate.ECONFLICT, "write %d changed its mind", i)
				}
			}
			if i == 8 { // a constraint violation
				fn = insertG("seed")
			}
			errs[i] = s.gtx(ctx, "test write", fn)
		})
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	got := keysOf(t, s)
	for i := range n {
		k := fmt.Sprintf("k%02d", i)
		switch i {
		case 5:
			if pairgate.ErrorCode(errs[i]) != pairgate.ECONFLICT || got[k] {
				t.Errorf("the failing write: error %v, row kept %v; want its own error and no row", errs[i], got[k])
			}
		case 8:
			if errs[i] == nil {
				t.Errorf("the duplicate: error %v, row %v; want an error", errs[i], got[k])
			}
		default:
			if errs[i] != nil || !got[k] {
				t.Errorf("write %d: error %v, row %v; want it committed", i, errs[i], got[k])
			}
		}
	}
	if shared.Load() != n {
		t.Fatalf("the largest commit carried %d writes, want the %d queued ones to share one", shared.Load(), n)
	}
}

// Writes in one batch run one after another and each sees the ones before
// it: of many guarded updates of one row, exactly one changes it, as with
// a transaction each.
func TestGroupCommitKeepsGuardedUpdatesExactlyOnce(t *testing.T) {
	s, shared := groupStore(t)
	ctx := context.Background()
	if err := s.gtx(ctx, "seed", insertG("once")); err != nil {
		t.Fatal(err)
	}
	release := holdWriter(t, s)
	const n = 20
	var won atomic.Int64
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			err := s.gtx(ctx, "claim", func(ctx context.Context, tx *sql.Tx) error {
				res, err := tx.ExecContext(ctx, `UPDATE g SET n = n + 1 WHERE k = 'once' AND n = 0`)
				if err != nil {
					return err
				}
				if c, _ := res.RowsAffected(); c == 1 {
					won.Add(1)
					return nil
				}
				return pairgate.Errorf(pairgate.EINVALIDGRANT, "already claimed")
			})
			if err != nil && pairgate.ErrorCode(err) != pairgate.EINVALIDGRANT {
				t.Error(err)
			}
		})
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	var v int
	if err := s.rdb.QueryRow(`SELECT n FROM g WHERE k = 'once'`).Scan(&v); err != nil {
		t.Fatal(err)
	}
	if won.Load() != 1 || v != 1 {
		t.Fatalf("%d claims won, row counted %d; want exactly one", won.Load(), v)
	}
	if shared.Load() != n {
		t.Fatalf("the largest commit carried %d writes, want the %d queued ones to share one", shared.Load(), n)
	}
}

// When the shared transaction itself breaks (here a write ends it), every
// write of the batch runs again alone: the others commit once each and the
// culprit alone fails.
func TestGroupCommitBrokenBatchRunsEachAlone(t *testing.T) {
	s, _ := groupStore(t)
	ctx := context.Background()
	release := holdWriter(t, s)
	const n = 8
	errs := make([]error, n)
	var runs [n]atomic.Int64
	var wg sync.WaitGroup
	// The culprit comes last, so that every other write ran in the batch
	// before it broke.
	for _, i := range []int{0, 1, 2, 4, 5, 6, 7, 3} {
		if i == 3 {
			waitQueued(t, s, n-1)
		}
		wg.Go(func() {
			errs[i] = s.gtx(ctx, "test write", func(ctx context.Context, tx *sql.Tx) error {
				runs[i].Add(1)
				if i == 3 {
					_, err := tx.ExecContext(ctx, `ROLLBACK`)
					if err != nil {
						return err
					}
					return errors.New("ended the transaction")
				}
				return insertG(fmt.Sprintf("k%d", i))(ctx, tx)
			})
		})
	}
	waitQueued(t, s, n)
	release()
	wg.Wait()
	got := keysOf(t, s)
	for i := range n {
		if i == 3 {
			if errs[i] == nil {
				t.Error("the write that ended the transaction succeeded")
			}
			continue
		}
		if errs[i] != nil || !got[fmt.Sprintf("k%d", i)] {
			t.Errorf("write %d: %v, row %v; want it committed", i, errs[i], got[fmt.Sprintf("k%d", i)])
		}
	}
	if len(got) != n-1 {
		t.Errorf("%d rows, want %d (each write once)", len(got), n-1)
	}
	for i := range n {
		if want := int64(2); i != 3 && runs[i].Load() != want {
			t.Errorf("write %d ran %d times, want twice: once in the broken batch, once alone", i, runs[i].Load())
		}
	}
}

// A caller that gives up before the committer reaches its write is
// answered at once and its write never runs; one that gives up after it
// started gets the write's real outcome.
func TestGroupCommitAbandonedWriteNeverRuns(t *testing.T) {
	s, _ := groupStore(t)
	release := holdWriter(t, s)
	ctx, cancel := context.WithCancel(context.Background())
	second := make(chan error, 1)
	var ran atomic.Bool
	go func() {
		second <- s.gtx(ctx, "second", func(ctx context.Context, tx *sql.Tx) error {
			ran.Store(true)
			return insertG("second")(ctx, tx)
		})
	}()
	waitQueued(t, s, 1)
	cancel()
	select {
	case err := <-second:
		if pairgate.ErrorCode(err) != pairgate.EUNAVAILABLE {
			t.Fatalf("the abandoned write answered %v, want unavailable (cancelled)", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the abandoned write's caller waited for the writer")
	}
	release()
	// Whatever comes next runs after the abandoned write was passed over.
	if err := s.gtx(context.Background(), "third", insertG("third")); err != nil {
		t.Fatal(err)
	}
	got := keysOf(t, s)
	if ran.Load() || got["second"] || !got["third"] {
		t.Fatalf("abandoned write ran %v, rows %v", ran.Load(), got)
	}
}

// A write that panics fails alone, with an error; the committer and the
// writes beside it go on.
func TestGroupCommitSurvivesAPanickingWrite(t *testing.T) {
	s, _ := groupStore(t)
	ctx := context.Background()
	release := holdWriter(t, s)
	errs := make([]error, 3)
	var wg sync.WaitGroup
	for i := range 3 {
		if i > 0 {
			waitQueued(t, s, i)
		}
		wg.Go(func() {
			fn := insertG(fmt.Sprintf("k%d", i))
			if i == 1 {
				fn = func(context.Context, *sql.Tx) error { panic("a bug in a write") }
			}
			errs[i] = s.gtx(ctx, "test write", fn)
		})
	}
	waitQueued(t, s, 3)
	release()
	wg.Wait()
	if errs[0] != nil || errs[2] != nil || pairgate.ErrorCode(errs[1]) != pairgate.EINTERNAL {
		t.Fatalf("errors %v, want the panicking write's alone, internal", errs)
	}
	if err := s.gtx(ctx, "after", insertG("after")); err != nil {
		t.Fatal(err)
	}
	if got := keysOf(t, s); !got["k0"] || !got["k2"] || !got["after"] || len(got) != 3 {
		t.Fatalf("rows %v", got)
	}
}

// Closing the store answers the writes still waiting for the committer.
func TestGroupCommitClosingAnswersWaitingWrites(t *testing.T) {
	s, _ := groupStore(t)
	release := holdWriter(t, s)
	done := make(chan error, 1)
	go func() { done <- s.gtx(context.Background(), "late", insertG("late")) }()
	waitQueued(t, s, 1)
	go func() {
		time.Sleep(50 * time.Millisecond)
		release()
	}()
	s.Close()
	select {
	case err := <-done:
		if err != nil && pairgate.ErrorCode(err) != pairgate.EUNAVAILABLE {
			t.Fatalf("a write waiting at close: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("a write waiting at close was never answered")
	}
}
