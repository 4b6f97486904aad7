package ratelimit_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/ratelimit"
)

func TestLocalBucketsAreBoundedAndRefill(t *testing.T) {
	now := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	l := ratelimit.NewLocal(10, 1000, func() time.Time { return now })
	for i := range 20 {
		if ok, _ := l.Allow("192.0.2.1"); !ok {
			t.Fatalf("request %d of a burst of 20 refused", i+1)
		}
	}
	ok, wait := l.Allow("192.0.2.1")
	if ok || wait <= 0 || wait > 100*time.Millisecond {
		t.Fatalf("21st request: allowed %v, wait %v", ok, wait)
	}
	if ok, _ := l.Allow("192.0.2.2"); !ok {
		t.Fatal("another address shares the bucket")
	}
	now = now.Add(time.Second)
	for i := range 10 {
		if ok, _ := l.Allow("192.0.2.1"); !ok {
			t.Fatalf("after a second, request %d of 10 refused", i+1)
		}
	}
	// An attacker inventing addresses cannot grow the map past its bound.
	for i := range 50000 {
		l.Allow(fmt.Sprintf("2001:db8::%x", i))
	}
	if n := l.Len(); n > 1000 {
		t.Fatalf("%d keys held, bound 1000", n)
	}
	if ok, _ := ratelimit.NewLocal(0, 10, nil).Allow("x"); !ok {
		t.Fatal("a disabled limiter refused")
	}
}
