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
	// Shown keeps the subject with the counter, for an administrator who
	// lists the lock-outs: an address or an account name. A rule whose
	// subject is a secret (a code, a browser's token) leaves it false,
	// and the store never holds it.
	Shown bool
}

// Hit is one attempt to count: a rule and the subject it applies to (an IP
// address, a normalised code, a username).
type Hit struct {
	Rule    Rule
	Subject string
}

// Limiter counts attempts in the store.
type Limiter struct {
	store   pairgate.Store
	keys    *secret.Keys
	now     func() time.Time
	refused func(rule string)
}

// New returns a Limiter. refused is told the rule of every refused attempt
// (for metrics); every argument is required.
func New(store pairgate.Store, keys *secret.Keys, now func() time.Time, refused func(rule string)) *Limiter {
	if store == nil || keys == nil || now == nil || refused == nil {
		panic("ratelimit.New: store, keys, clock and refused hook are all required")
	}
	return &Limiter{store: store, keys: keys, now: now, refused: refused}
}

// Allow counts the hits in order, each atomically in the store (increment,
// then compare), and returns ERATELIMITED, with RetryAfter set, at the
// first one over its limit; later hits are not counted then, so that a
// refused attempt does not also use up the budget of, say, the code it
// named.
func (l *Limiter) Allow(ctx context.Context, hits ...Hit) error {
	_, err := l.Take(ctx, hits...)
	return err
}

// Reservation is a set of counted attempts that may be given back.
type Reservation struct {
	l    *Limiter
	keys [][]byte
}

// Take counts the hits like Allow and returns them as a reservation, so
// that a caller whose attempt turns out to be legitimate (a right code)
// can give them back: a limit on failures that is still counted before
// the secret is looked up, so that concurrent wrong guesses can never all
// be judged against the same count (check-then-act).
func (l *Limiter) Take(ctx context.Context, hits ...Hit) (*Reservation, error) {
	now := l.now()
	res := &Reservation{l: l}
	for _, h := range hits {
		key := l.key(h)
		c := pairgate.RateLimitCounter{Key: key, Limit: h.Rule.Limit, Window: h.Rule.Window, Rule: h.Rule.Name}
		if h.Rule.Shown {
			c.Subject = h.Subject
		}
		ok, retry, err := l.store.HitRateLimit(ctx, c, now)
		if err != nil {
			return nil, err
		}
		if !ok {
			l.refused(h.Rule.Name)
			return nil, &pairgate.Error{Code: pairgate.ERATELIMITED, RetryAfter: retry,
				Message: "too many attempts; try again " + In(retry)}
		}
		res.keys = append(res.keys, key)
	}
	return res, nil
}

// Refund gives the reserved attempts back. It runs even when ctx was
// cancelled: the attempt it gives back did happen and succeed.
func (r *Reservation) Refund(ctx context.Context) error {
	if r == nil {
		return nil
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	now := r.l.now()
	for _, k := range r.keys {
		if err := r.l.store.RefundRateLimit(ctx, k, now); err != nil {
			return err
		}
	}
	return nil
}

// Hits returns how many attempts were counted against a hit's rule and
// subject in the running window, and when it ends, counting nothing.
func (l *Limiter) Hits(ctx context.Context, h Hit) (int, time.Time, error) {
	return l.store.RateLimitHits(ctx, l.key(h), l.now())
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
