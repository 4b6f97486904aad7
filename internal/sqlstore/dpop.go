package sqlstore

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
)

// The DPoP replay cache (RFC 9449 §11.1). Every proof is one INSERT ... ON
// CONFLICT DO NOTHING: of concurrent inserts of one hash, on any replica,
// the unique key lets exactly one add a row, and that caller's proof is
// the first use. A commit per proof would double the commits of a
// refresh, and on SQLite's single writer halve the refreshes a second, so
// the uses that arrive while one insert is in flight are inserted
// together by the next one (group commit): an idle server inserts at once,
// a busy one pays one commit for many proofs.

type proofUse struct {
	hash []byte
	exp  int64
	done chan proofResult
}

type proofResult struct {
	first bool
	err   error
}

// maxProofBatch bounds one insert: two parameters a row.
const maxProofBatch = 256

type proofBatcher struct {
	in   chan proofUse
	quit chan struct{}
	once sync.Once
	wg   sync.WaitGroup
}

func (s *Store) startProofBatcher() {
	b := &proofBatcher{in: make(chan proofUse, maxProofBatch), quit: make(chan struct{})}
	s.proofs = b
	b.wg.Add(1)
	go func() {
		defer b.wg.Done()
		for {
			select {
			case <-b.quit:
				return
			case u := <-b.in:
				s.insertProofs(gather([]proofUse{u}, b.in, maxProofBatch))
			}
		}
	}()
}

func (b *proofBatcher) stop() {
	b.once.Do(func() { close(b.quit) })
	b.wg.Wait()
}

func (s *Store) UseDPoPProof(ctx context.Context, hash []byte, expiresAt time.Time) (bool, error) {
	u := proofUse{hash: hash, exp: ns(expiresAt), done: make(chan proofResult, 1)}
	select {
	case s.proofs.in <- u:
	case <-ctx.Done():
		return false, &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database unavailable", Err: ctx.Err()}
	}
	select {
	case r := <-u.done:
		return r.first, r.err
	case <-ctx.Done():
		return false, &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database unavailable", Err: ctx.Err()}
	}
}

// insertProofs inserts a batch in one statement and tells each caller
// whether its proof was the first use: its hash was inserted now, and no
// caller before it in the batch had the same hash.
func (s *Store) insertProofs(batch []proofUse) {
	var q strings.Builder
	q.WriteString(`INSERT INTO dpop_proofs (hash, expires_at) VALUES `)
	args := make([]any, 0, 2*len(batch))
	seen := make(map[string]bool, len(batch))
	for _, u := range batch {
		if seen[string(u.hash)] {
			continue
		}
		seen[string(u.hash)] = true
		if len(args) > 0 {
			q.WriteString(", ")
		}
		q.WriteString("($" + strconv.Itoa(len(args)+1) + ", $" + strconv.Itoa(len(args)+2) + ")")
		args = append(args, u.hash, u.exp)
	}
	q.WriteString(` ON CONFLICT (hash) DO NOTHING RETURNING hash`)
	inserted := make(map[string]bool, len(batch))
	err := func() error {
		// Not the callers' contexts: one caller hanging up must not fail
		// the others' proofs.
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		defer cancel()
		st, err := s.writes.get(ctx, q.String())
		if err != nil {
			return err
		}
		rows, err := st.QueryContext(ctx, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		for rows.Next() {
			var h []byte
			if err := rows.Scan(&h); err != nil {
				return err
			}
			inserted[string(h)] = true
		}
		return rows.Err()
	}()
	if err != nil {
		err = s.fail(err, "use dpop proof")
	}
	for _, u := range batch {
		first := err == nil && inserted[string(u.hash)]
		if first {
			delete(inserted, string(u.hash)) // later duplicates in the batch are replays
		}
		u.done <- proofResult{first: first, err: err}
	}
}
