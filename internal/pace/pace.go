// Package pace sizes and spaces the batches of background work — the
// expiry cleanup, the inactivity sweep — so that none holds the store's
// writer for more than a few milliseconds, and the writer is free between
// two batches at least as long as the last one held it.
//
// A fixed batch size cannot do both: 500 rows take 2 ms on a small
// inventory and 50 ms on a large one, or on a busy machine, and requests
// that wait behind a 50 ms batch are what raised refresh p99 two- and
// threefold during a sweep of 100,000 devices. The pacer measures each
// batch and halves the next when one took longer than the target, and
// grows it again when batches are quick.
package pace

import (
	"context"
	"time"
)

// Pacer paces one run of batches. Not safe for concurrent use: each run
// (one replica's cleanup, one sweep) has its own.
type Pacer struct {
	target   time.Duration
	min, max int
	rest     time.Duration
	size     int
	// next is when the batch began; start when it got the writer
	// (Started), or next if the store never said.
	next, start time.Time
}

// New returns a pacer whose batches aim to hold the writer for at most
// target, of min to max rows (starting at max), with at least rest
// between two batches.
func New(target time.Duration, min, max int, rest time.Duration) *Pacer {
	min = max1(min)
	if max < min {
		max = min
	}
	return &Pacer{target: target, min: min, max: max, rest: rest, size: max}
}

func max1(n int) int {
	if n < 1 {
		return 1
	}
	return n
}

// Next starts a batch and returns how many rows it may take.
func (p *Pacer) Next() int {
	p.start = time.Now()
	p.next = p.start
	return p.size
}

// Done ends the batch Next started, having taken n rows. It returns false
// when the work is over: the batch was not full (nothing is left), or ctx
// ended. Otherwise it rests — at least the pacer's rest, and at least as
// long as the batch held the writer, less the time it waited for it —
// and returns true.
func (p *Pacer) Done(ctx context.Context, n int) bool {
	took, waited := time.Since(p.start), p.start.Sub(p.next)
	full := n >= p.size
	switch {
	case took > p.target && p.size > p.min:
		p.size = max(p.min, p.size/2)
	case took < p.target/2 && p.size < p.max:
		p.size = min(p.max, 2*p.size)
	}
	if !full || ctx.Err() != nil {
		return false
	}
	// The time the batch waited for the writer, others had it: it counts
	// towards the rest.
	rest := max(p.rest, took) - waited
	if rest <= 0 {
		return true
	}
	t := time.NewTimer(rest)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

type startKey struct{}

// Attach returns ctx carrying the pacer, for the store to mark (Started)
// when the batch run with ctx got the writer.
func (p *Pacer) Attach(ctx context.Context) context.Context {
	return context.WithValue(ctx, startKey{}, p)
}

// Started marks that the batch of the pacer ctx carries, if any, now
// holds the writer: the time it waited for it behind requests is not the
// batch's, and counting it would shrink batches to nothing on a busy
// server (where they wait the longest) without sparing anyone.
func Started(ctx context.Context) {
	if p, ok := ctx.Value(startKey{}).(*Pacer); ok {
		p.start = time.Now()
	}
}

// Size is the size the next batch will have.
func (p *Pacer) Size() int { return p.size }
