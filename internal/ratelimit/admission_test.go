package ratelimit

import (
	"context"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func TestAdmissionRefusesBeyondCapacityAndSpreadsRetries(t *testing.T) {
	refused := 0
	a := NewAdmission(2, 20*time.Millisecond, 10*time.Second, func() { refused++ })
	r1, err1 := a.Admit(context.Background())
	r2, err2 := a.Admit(context.Background())
	if err1 != nil || err2 != nil || a.InFlight() != 2 {
		t.Fatalf("two slots: %v %v", err1, err2)
	}
	retries := map[time.Duration]bool{}
	for range 5 {
		_, err := a.Admit(context.Background())
		d := pairgate.RetryAfter(err)
		if pairgate.ErrorCode(err) != pairgate.EUNAVAILABLE || d < time.Second || d > 11*time.Second {
			t.Fatalf("a third request: %v (retry after %v)", err, d)
		}
		retries[d] = true
	}
	if len(retries) < 2 || refused != 5 {
		t.Fatalf("retries not spread (%v) or refusals not told (%d)", retries, refused)
	}
	// A slot freed while a request waits admits it.
	go func() { time.Sleep(5 * time.Millisecond); r1() }()
	a2 := NewAdmission(2, time.Second, 0, func() {})
	a2.slots <- struct{}{}
	a2.slots <- struct{}{}
	go func() { time.Sleep(5 * time.Millisecond); <-a2.slots }()
	if rel, err := a2.Admit(context.Background()); err != nil {
		t.Fatalf("a request waiting for a freed slot: %v", err)
	} else {
		rel()
	}
	r2()
	if NewAdmission(0, 0, 0, nil).InFlight() != 0 {
		t.Fatal("an unlimited admission counts")
	}
}
