package ratelimit

import (
	"context"
	"fmt"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Rule is one limit: at most Limit attempts per Window for each subject.
// Windows are fixed, so a subject can make at most 2*Limit attempts in any
// span of Window (at the end of one window and the start of the next);
// rules are set with that in mind.
type Rule struct {
	Name   string // what is counted, e.g. "usercode-ip"; separates the counters of different rules
	Limit  int
	Window time.Duration
}

// Hit is one attempt to count: a rule and the subject it applies to (an IP
// address, a normalised code, a username).
type Hit struct {
	Rule    Rule
	Subject string
}

// Limiter counts attempts in the store.
type Limiter struct {
	store pairgate.Store
	keys  *secret.Keys
	now   func() time.Time

	// OnRefused, if set, is told the rule of every refused attempt (for
	// metrics).
	OnRefused func(rule string)
}

func (l *Limiter) refused(rule string) {
	if l.OnRefused != nil {
		l.OnRefused(rule)
	}
}

// New returns a Limiter. now is the clock; nil means time.Now.
func New(store pairgate.Store, keys *secret.Keys, now func() time.Time) *Limiter {
	if now == nil {
		now = time.Now
	}
	return &Limiter{store: store, keys: keys, now: now}
}

// Allow counts the hits in order and returns ERATELIMITED, with
// RetryAfter set, at the first one over its limit; later hits are not
// counted then, so that a refused attempt does not also use up the budget
// of, say, the code it named.
func (l *Limiter) Allow(ctx context.Context, hits ...Hit) error {
	now := l.now()
	for _, h := range hits {
		ok, retry, err := l.store.HitRateLimit(ctx, l.key(h), h.Rule.Limit, h.Rule.Window, now)
		if err != nil {
			return err
		}
		if !ok {
			l.refused(h.Rule.Name)
			return &pairgate.Error{Code: pairgate.ERATELIMITED, RetryAfter: retry,
				Message: "too many attempts; try again " + In(retry)}
		}
	}
	return nil
}

// Over refuses, like Allow, when any hit's counter is already past its
// limit, but counts nothing: with Count, it limits failures only (wrong
// codes), so that a fleet of devices behind one address redeeming one
// right code is never refused.
func (l *Limiter) Over(ctx context.Context, hits ...Hit) error {
	now := l.now()
	for _, h := range hits {
		n, end, err := l.store.RateLimitHits(ctx, l.key(h), now)
		if err != nil {
			return err
		}
		if n >= h.Rule.Limit {
			l.refused(h.Rule.Name)
			retry := end.Sub(now)
			return &pairgate.Error{Code: pairgate.ERATELIMITED, RetryAfter: retry,
				Message: "too many failed attempts; try again " + In(retry)}
		}
	}
	return nil
}

// Count counts the hits without refusing anything.
func (l *Limiter) Count(ctx context.Context, hits ...Hit) error {
	now := l.now()
	for _, h := range hits {
		if _, _, err := l.store.HitRateLimit(ctx, l.key(h), h.Rule.Limit, h.Rule.Window, now); err != nil {
			return err
		}
	}
	return nil
}

// Reset forgets the counter of one hit's rule and subject: an admin lifting
// a lock-out.
func (l *Limiter) Reset(ctx context.Context, h Hit) error {
	return l.store.ResetRateLimit(ctx, l.key(h))
}

func (l *Limiter) key(h Hit) []byte {
	return l.keys.Hash(secret.KindRateLimit, h.Rule.Name+"\x00"+h.Subject)
}

// In says in words when a wait of d ends: "in 40 seconds", "in 7 minutes".
// It rounds up, so that whoever follows it is not refused again.
func In(d time.Duration) string {
	switch {
	case d <= time.Second:
		return "in a second"
	case d < time.Minute:
		return fmt.Sprintf("in %d seconds", int((d+time.Second-1)/time.Second))
	case d <= time.Minute:
		return "in a minute"
	case d < time.Hour:
		return fmt.Sprintf("in %d minutes", int((d+time.Minute-1)/time.Minute))
	case d <= time.Hour:
		return "in an hour"
	default:
		return fmt.Sprintf("in %d hours", int((d+time.Hour-1)/time.Hour))
	}
}
