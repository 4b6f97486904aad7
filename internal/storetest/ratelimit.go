package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func testRateLimit(t *testing.T, s pairgate.Store) {
	key, other := rnd(32), rnd(32)
	const limit, window = 3, 10 * time.Minute
	hit := func(k []byte, now time.Time) (bool, time.Duration) {
		t.Helper()
		ok, retry, err := s.HitRateLimit(ctx(t), counter(k, limit, window), now)
		must(t, err)
		return ok, retry
	}
	for i := range limit {
		if ok, _ := hit(key, t0.Add(time.Duration(i)*time.Second)); !ok {
			t.Fatalf("hit %d of %d refused", i+1, limit)
		}
	}
	ok, retry := hit(key, t0.Add(4*time.Minute))
	if ok {
		t.Fatalf("hit %d allowed with a limit of %d", limit+1, limit)
	}
	if retry != 6*time.Minute {
		t.Fatalf("retry after %v, want the 6m left of the window", retry)
	}
	// Refused hits count too, and another key has its own window.
	if ok, _ := hit(key, t0.Add(5*time.Minute)); ok {
		t.Fatal("hit allowed after a refused one")
	}
	if ok, _ := hit(other, t0.Add(5*time.Minute)); !ok {
		t.Fatal("a fresh key was refused: keys share a counter")
	}
	// The window ends exactly window after its first hit; the next hit
	// starts a new one.
	if ok, retry := hit(key, t0.Add(window-time.Nanosecond)); ok || retry != time.Nanosecond {
		t.Fatalf("hit just before the window ends: allowed %v, retry %v", ok, retry)
	}
	for i := range limit {
		if ok, _ := hit(key, t0.Add(window+time.Duration(i)*time.Second)); !ok {
			t.Fatalf("hit %d of the new window refused", i+1)
		}
	}
	if ok, retry := hit(key, t0.Add(window+time.Minute)); ok || retry != window-time.Minute {
		t.Fatalf("new window: allowed %v, retry %v; want refused, %v", ok, retry, window-time.Minute)
	}

	for _, bad := range []struct {
		key    []byte
		limit  int
		window time.Duration
	}{{nil, 1, time.Minute}, {key, 0, time.Minute}, {key, 1, 0}} {
		_, _, err := s.HitRateLimit(ctx(t), counter(bad.key, bad.limit, bad.window), t0)
		wantCode(t, err, pairgate.EINVALID)
	}
}

// testRateLimitConcurrent: docs/design.md 2.6 across replicas. Hits that arrive
// at the same instant are counted one by one: exactly limit get through.
func testRateLimitConcurrent(t *testing.T, s pairgate.Store) {
	const n, limit = 40, 7
	key := rnd(32)
	var wg sync.WaitGroup
	allowed := make([]bool, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			allowed[i], _, errs[i] = s.HitRateLimit(ctx(t), counter(key, limit, time.Minute), t0)
		}()
	}
	close(start)
	waitOrDump(t, &wg)
	got := 0
	for i := range n {
		must(t, errs[i])
		if allowed[i] {
			got++
		}
	}
	if got != limit {
		t.Fatalf("%d of %d concurrent hits allowed with a limit of %d", got, n, limit)
	}
}

func testRateLimitGarbageCollect(t *testing.T, s pairgate.Store) {
	short, long := rnd(32), rnd(32)
	for _, k := range []struct {
		key    []byte
		window time.Duration
	}{{short, time.Minute}, {long, time.Hour}} {
		_, _, err := s.HitRateLimit(ctx(t), counter(k.key, 1, k.window), t0)
		must(t, err)
	}
	r, err := s.GarbageCollect(ctx(t), t0.Add(time.Minute-time.Nanosecond))
	must(t, err)
	if r.RateLimits != 0 {
		t.Fatalf("GC deleted %d rate-limit windows that had not ended", r.RateLimits)
	}
	r, err = s.GarbageCollect(ctx(t), t0.Add(time.Minute))
	must(t, err)
	if r.RateLimits != 1 {
		t.Fatalf("GC deleted %d rate-limit windows, want the 1 that ended", r.RateLimits)
	}
	// The long window still counts: its one allowed hit is spent.
	ok, _, err := s.HitRateLimit(ctx(t), counter(long, 1, time.Hour), t0.Add(2*time.Minute))
	must(t, err)
	if ok {
		t.Fatal("GC reset a window that had not ended")
	}
	ok, _, err = s.HitRateLimit(ctx(t), counter(short, 1, time.Minute), t0.Add(2*time.Minute))
	must(t, err)
	if !ok {
		t.Fatal("a collected window still refuses")
	}
}

func testRateLimitPeekAndReset(t *testing.T, s pairgate.Store) {
	key := rnd(32)
	n, end, err := s.RateLimitHits(ctx(t), key, t0)
	must(t, err)
	if n != 0 || !end.IsZero() {
		t.Fatalf("fresh key: %d hits, window end %v", n, end)
	}
	for range 4 {
		_, _, err := s.HitRateLimit(ctx(t), counter(key, 10, time.Minute), t0)
		must(t, err)
	}
	n, end, err = s.RateLimitHits(ctx(t), key, t0.Add(time.Second))
	must(t, err)
	if n != 4 || !end.Equal(t0.Add(time.Minute)) {
		t.Fatalf("peek: %d hits, window end %v", n, end)
	}
	// Peeking counts nothing.
	if n, _, _ = s.RateLimitHits(ctx(t), key, t0.Add(time.Second)); n != 4 {
		t.Fatalf("peeking counted: %d", n)
	}
	if n, _, _ = s.RateLimitHits(ctx(t), key, t0.Add(time.Minute)); n != 0 {
		t.Fatalf("an ended window still counts %d", n)
	}
	must(t, s.ResetRateLimit(ctx(t), key))
	must(t, s.ResetRateLimit(ctx(t), key))
	if n, _, _ = s.RateLimitHits(ctx(t), key, t0.Add(time.Second)); n != 0 {
		t.Fatalf("after reset: %d hits", n)
	}
}

// testRateLimitRefund: a refunded attempt makes room for one more, within
// the window only, and a counter never goes below zero.
func testRateLimitRefund(t *testing.T, s pairgate.Store) {
	key := rnd(32)
	hit := func(now time.Time) bool {
		t.Helper()
		ok, _, err := s.HitRateLimit(ctx(t), counter(key, 2, time.Minute), now)
		must(t, err)
		return ok
	}
	if !hit(t0) || !hit(t0) || hit(t0) {
		t.Fatal("a limit of 2 did not allow exactly 2")
	}
	// Three counted (the refused one too); two refunds bring it to one.
	must(t, s.RefundRateLimit(ctx(t), key, t0))
	must(t, s.RefundRateLimit(ctx(t), key, t0))
	if n, _, _ := s.RateLimitHits(ctx(t), key, t0); n != 1 {
		t.Fatalf("after two refunds: %d hits, want 1", n)
	}
	if !hit(t0) {
		t.Fatal("a refunded attempt made no room")
	}
	for range 5 {
		must(t, s.RefundRateLimit(ctx(t), key, t0))
	}
	if n, _, _ := s.RateLimitHits(ctx(t), key, t0); n != 0 {
		t.Fatalf("refunds below zero: %d hits", n)
	}
	// A refund after the window ended changes nothing.
	must(t, s.RefundRateLimit(ctx(t), key, t0.Add(time.Minute)))
	must(t, s.RefundRateLimit(ctx(t), rnd(32), t0))
}

// testGarbageCollectInBatches: a backlog larger than one batch is worked
// off completely by one GarbageCollect (batch after batch).
func testGarbageCollectInBatches(t *testing.T, s pairgate.Store) {
	const n = 1234
	for range n {
		_, _, err := s.HitRateLimit(ctx(t), counter(rnd(32), 1, time.Minute), t0)
		must(t, err)
	}
	r, err := s.GarbageCollect(ctx(t), t0.Add(time.Hour))
	must(t, err)
	if r.RateLimits != n {
		t.Fatalf("GC deleted %d of %d expired windows", r.RateLimits, n)
	}
}

// counter is a counter of no rule in particular.
func counter(key []byte, limit int, window time.Duration) pairgate.RateLimitCounter {
	return pairgate.RateLimitCounter{Key: key, Limit: limit, Window: window, Rule: "test"}
}
