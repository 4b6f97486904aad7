package pace

import (
	"context"
	"testing"
	"time"
)

// TestBatchesShrinkWhenSlowAndGrowWhenQuick: a batch over the target
// halves the next, down to min; quick batches grow back to max; the rest
// after a batch is at least as long as the batch took.
func TestBatchesShrinkWhenSlowAndGrowWhenQuick(t *testing.T) {
	ctx := context.Background()
	p := New(5*time.Millisecond, 10, 400, time.Millisecond)
	if p.Next() != 400 {
		t.Fatalf("the first batch takes %d rows, want max 400", p.Size())
	}
	// Slow batches: 400 → 200 → 100 → 50 → 25 → 12 → 10 → 10.
	want := []int{200, 100, 50, 25, 12, 10, 10}
	for i, w := range want {
		n := p.Next()
		time.Sleep(8 * time.Millisecond)
		t0 := time.Now()
		if !p.Done(ctx, n) {
			t.Fatal("a full batch ended the work")
		}
		if rested := time.Since(t0); rested < 8*time.Millisecond {
			t.Fatalf("rested %v after a batch of 8 ms: the writer was not left free as long as it was held", rested)
		}
		if p.Size() != w {
			t.Fatalf("after slow batch %d the size is %d, want %d", i+1, p.Size(), w)
		}
	}
	// Quick batches grow it again (doubling), up to max and no further.
	for range 30 {
		p.Done(ctx, p.Next())
	}
	if p.Size() != 400 {
		t.Fatalf("after quick batches the size is %d, want 400", p.Size())
	}
	// A batch that was not full is the last; so is one after ctx ended.
	if p.Done(ctx, p.Next()-1) {
		t.Fatal("a batch short of its size did not end the work")
	}
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if p.Done(cctx, p.Next()) {
		t.Fatal("the work went on after its context ended")
	}
}

// TestWaitingForTheWriterIsNotTheBatchs: the time before the store marks
// Started (waiting behind requests) does not shrink the batch; the time
// after does.
func TestWaitingForTheWriterIsNotTheBatchs(t *testing.T) {
	p := New(5*time.Millisecond, 10, 400, 0)
	ctx := p.Attach(context.Background())
	n := p.Next()
	time.Sleep(20 * time.Millisecond) // waiting for the writer
	Started(ctx)
	p.Done(ctx, n)
	if p.Size() != 400 {
		t.Fatalf("a batch that waited 20 ms and then held the writer for no time shrank to %d", p.Size())
	}
	n = p.Next()
	Started(ctx)
	time.Sleep(20 * time.Millisecond) // holding it
	p.Done(ctx, n)
	if p.Size() != 200 {
		t.Fatalf("a batch that held the writer 20 ms left the size at %d, want 200", p.Size())
	}
	Started(context.Background()) // no pacer: nothing to mark, no panic
}

// TestTheWaitForTheWriterCountsAsRest: while a batch waited for the
// writer, requests had it; the rest after the batch is shorter by that.
func TestTheWaitForTheWriterCountsAsRest(t *testing.T) {
	p := New(5*time.Millisecond, 10, 400, 30*time.Millisecond)
	ctx := p.Attach(context.Background())
	n := p.Next()
	time.Sleep(40 * time.Millisecond) // behind requests
	Started(ctx)
	t0 := time.Now()
	if !p.Done(ctx, n) {
		t.Fatal("a full batch ended the work")
	}
	if d := time.Since(t0); d > 15*time.Millisecond {
		t.Fatalf("rested %v after waiting 40 ms for the writer: the wait did not count", d)
	}
	n = p.Next()
	Started(ctx)
	t0 = time.Now()
	p.Done(ctx, n)
	if d := time.Since(t0); d < 30*time.Millisecond {
		t.Fatalf("rested %v after a batch that did not wait: less than the 30 ms rest", d)
	}
}
