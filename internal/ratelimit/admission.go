package ratelimit

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/pairgate/pairgate"
)

// Admission bounds the write requests a replica works on at once. When a
// fleet comes back after an outage and a million devices refresh in the
// same minute, the store can commit only so many transactions a second:
// requests beyond what it can take in wait a moment for a slot, and those
// that find none are answered 503 with a Retry-After spread over a window,
// at once and cheaply, so that the ones admitted finish in time and the
// others come back later instead of all timing out together and retrying
// in lockstep.
type Admission struct {
	slots  chan struct{}
	wait   time.Duration
	spread time.Duration
	refuse func()
}

// NewAdmission admits max concurrent requests; a request waits at most
// wait for a slot, and a refused one is told to retry after 1 s plus a
// random part of spread. refused is told of every refusal (metrics).
// max <= 0 admits everything.
func NewAdmission(max int, wait, spread time.Duration, refused func()) *Admission {
	a := &Admission{wait: wait, spread: spread, refuse: refused}
	if max > 0 {
		a.slots = make(chan struct{}, max)
	}
	return a
}

// Admit takes a slot, waiting up to the admission's wait, and returns the
// function that gives it back. EUNAVAILABLE with RetryAfter when none
// frees in time.
func (a *Admission) Admit(ctx context.Context) (func(), error) {
	if a.slots == nil {
		return func() {}, nil
	}
	select {
	case a.slots <- struct{}{}:
		return a.release, nil
	default:
	}
	t := time.NewTimer(a.wait)
	defer t.Stop()
	select {
	case a.slots <- struct{}{}:
		return a.release, nil
	case <-ctx.Done():
		return nil, &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "request cancelled", Err: ctx.Err()}
	case <-t.C:
	}
	a.refuse()
	retry := time.Second
	if a.spread > 0 {
		retry += rand.N(a.spread)
	}
	return nil, &pairgate.Error{Code: pairgate.EUNAVAILABLE, RetryAfter: retry,
		Message: "the server is at capacity; retry after the time Retry-After says"}
}

func (a *Admission) release() { <-a.slots }

// InFlight is how many requests hold a slot now.
func (a *Admission) InFlight() int {
	if a.slots == nil {
		return 0
	}
	return len(a.slots)
}
