package authn

import (
	"context"
	"runtime"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Passwords checks usernames and passwords of local accounts.
type Passwords struct {
	store pairgate.Store
	// sem bounds the argon2id verifications that run at once: each takes
	// 19 MiB and a core for tens of milliseconds, so unbounded sign-in
	// attempts would exhaust memory before any rate limit mattered.
	sem  chan struct{}
	wait time.Duration
}

// NewPasswords returns a checker that runs at most concurrency hashes at
// once (zero: one per CPU, at least two).
func NewPasswords(store pairgate.Store, concurrency int) *Passwords {
	if concurrency <= 0 {
		concurrency = max(2, runtime.GOMAXPROCS(0))
	}
	return &Passwords{store: store, sem: make(chan struct{}, concurrency), wait: 10 * time.Second}
}

// ErrWrongPassword is the one answer to every failed check: the message
// does not tell whether the account exists.
var ErrWrongPassword = &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "wrong username or password"}

// Check returns the account when password is its password. An unknown or
// malformed username costs the same hash as a wrong password, so that the
// time taken does not tell which of the two was wrong.
func (p *Passwords) Check(ctx context.Context, username, password string) (*pairgate.User, error) {
	if len(password) > secret.MaxPasswordBytes {
		return nil, ErrWrongPassword
	}
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-p.sem }()
	name, ok := pairgate.NormalizeUsername(username)
	if !ok {
		secret.BurnPasswordCheck(password)
		return nil, ErrWrongPassword
	}
	u, err := p.store.GetUserByUsername(ctx, name)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		secret.BurnPasswordCheck(password)
		return nil, ErrWrongPassword
	}
	if err != nil {
		return nil, err
	}
	match, err := secret.VerifyPassword(u.PasswordHash, password)
	if err != nil {
		return nil, pairgate.Internal(err, "verify password of "+u.ID)
	}
	if !match {
		return nil, ErrWrongPassword
	}
	return u, nil
}

func (p *Passwords) acquire(ctx context.Context) error {
	t := time.NewTimer(p.wait)
	defer t.Stop()
	select {
	case p.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "request cancelled", Err: ctx.Err()}
	case <-t.C:
		return &pairgate.Error{Code: pairgate.EUNAVAILABLE, RetryAfter: 5 * time.Second,
			Message: "the server is busy checking other sign-ins; try again in a few seconds"}
	}
}
