package authn

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"runtime"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Passwords signs people in with the username and password of a local
// account. It is the only way a password is checked: the sign-in page and
// the admin API's Basic authentication both come here, so that the
// guessing limits (docs/design.md 2.6) and the audit events cannot be skipped by
// a caller.
type Passwords struct {
	store   pairgate.Store
	keys    *secret.Keys
	limiter *ratelimit.Limiter
	audit   *audit.Recorder
	now     func() time.Time
	// sem bounds the argon2id verifications that run at once: each takes
	// 19 MiB and a core for tens of milliseconds, so unbounded sign-in
	// attempts would exhaust memory before any rate limit mattered.
	sem  chan struct{}
	wait time.Duration
	// enabled is false when local sign-in is turned off (--local-signin=
	// false): people sign in at an upstream provider only, and the host's
	// command line is the way in when that fails.
	enabled bool
}

// NewPasswords returns the password sign-in service. At most concurrency
// hashes run at once (zero: one per CPU, at least two). enabled false
// refuses every password: local sign-in is turned off.
func NewPasswords(store pairgate.Store, keys *secret.Keys, limiter *ratelimit.Limiter, rec *audit.Recorder, now func() time.Time, concurrency int, enabled bool) *Passwords {
	if store == nil || keys == nil || limiter == nil || rec == nil || now == nil {
		panic("authn.NewPasswords: store, keys, limiter, audit recorder and clock are required")
	}
	if concurrency <= 0 {
		concurrency = max(2, runtime.GOMAXPROCS(0))
	}
	return &Passwords{store: store, keys: keys, limiter: limiter, audit: rec, now: now,
		sem: make(chan struct{}, concurrency), wait: 10 * time.Second, enabled: enabled}
}

// Enabled reports whether local accounts may sign in with a password.
func (p *Passwords) Enabled() bool { return p.enabled }

// ErrLocalSignInOff refuses a password when local sign-in is turned off.
var ErrLocalSignInOff = &pairgate.Error{Code: pairgate.EFORBIDDEN,
	Message: "sign-in with a username and password is turned off here; sign in with your organisation's account"}

// ErrWrongPassword is the one answer to every failed check: the message
// does not tell whether the account exists.
var ErrWrongPassword = &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "wrong username or password"}

// Attempt is one sign-in attempt as a transport received it.
type Attempt struct {
	Username string
	Password string
	IP       string
	Via      string // where it was made, for the audit log: "sign-in page", "admin API basic auth"
	// Known is the browser's known-browser token (its cookie), if any.
	Known string
	// DeviceUserID is the account that approved the device this browser
	// is authorized as, if it is one.
	DeviceUserID string
}

// SignedIn is a successful sign-in.
type SignedIn struct {
	User *pairgate.User
	// Known is a fresh known-browser token for this account, for the
	// browser to keep (a cookie): its next sign-ins to the account are not
	// held by the account's lock-out.
	Known string
}

// SignIn checks a username and password. Before anything is looked up the
// attempt is counted, atomically in the store so that every replica shares
// the counts: against its source address always, and against the account
// — unless the browser has proved that it signed in to that account before
// (Known) or is an authorized device the account approved. Then an
// attacker who tries one account from many addresses locks out unknown
// browsers only, never the account's owner on a browser they use
// (docs/design.md 2.6); a known browser has a budget of its own instead.
func (p *Passwords) SignIn(ctx context.Context, a Attempt) (*SignedIn, error) {
	if !p.enabled {
		if err := p.limiter.Allow(ctx, ratelimit.Hit{Rule: ratelimit.SignInPerIP, Subject: ratelimit.Source(a.IP)}); err != nil {
			return nil, err
		}
		p.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInFailed, ActorType: pairgate.ActorAnon,
			IP: a.IP, Details: map[string]string{"username": pairgate.Shorten(a.Username, 64), "via": a.Via, "reason": "local sign-in is off"}})
		return nil, ErrLocalSignInOff
	}
	hits := []ratelimit.Hit{{Rule: ratelimit.SignInPerIP, Subject: ratelimit.Source(a.IP)}}
	name, validName := pairgate.NormalizeUsername(strings.TrimSpace(a.Username))
	switch {
	case validName && p.knownBrowser(a.Known, name):
		nonce, _, _ := strings.Cut(a.Known, ".")
		hits = append(hits, ratelimit.Hit{Rule: ratelimit.SignInKnownBrowser, Subject: "cookie:" + nonce})
	case validName && a.DeviceUserID != "" && p.deviceOf(ctx, a.DeviceUserID, name):
		hits = append(hits, ratelimit.Hit{Rule: ratelimit.SignInKnownBrowser, Subject: "device:" + a.DeviceUserID})
	default:
		hits = append(hits, ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: ratelimit.AccountSubject(a.Username)})
	}
	if err := p.limiter.Allow(ctx, hits...); err != nil {
		return nil, err
	}
	u, err := p.check(ctx, a.Username, a.Password)
	if err == ErrWrongPassword {
		// Who tried is anonymous; the name they typed is kept (shortened),
		// the password never.
		p.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInFailed, ActorType: pairgate.ActorAnon,
			IP: a.IP, Details: map[string]string{"username": pairgate.Shorten(a.Username, 64), "via": a.Via}})
		return nil, err
	}
	if err != nil {
		return nil, err
	}
	p.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInSucceeded, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, IP: a.IP, Details: map[string]string{"via": a.Via}})
	return &SignedIn{User: u, Known: p.knownToken(u.Username)}, nil
}

// knownToken is a random nonce and the keyed hash of the nonce with the
// account's name: it proves that this browser signed in to that account,
// and nothing else. It is not a credential: it only chooses which
// guessing budget applies.
func (p *Passwords) knownToken(username string) string {
	nonce := secret.RandomID("")
	mac := p.keys.Hash(secret.KindKnownBrowser, nonce+"\x00"+username)
	return nonce + "." + base64.RawURLEncoding.EncodeToString(mac)
}

func (p *Passwords) knownBrowser(token, username string) bool {
	nonce, mac, ok := strings.Cut(token, ".")
	if !ok || nonce == "" || len(token) > 128 {
		return false
	}
	want := base64.RawURLEncoding.EncodeToString(p.keys.Hash(secret.KindKnownBrowser, nonce+"\x00"+username))
	return subtle.ConstantTimeCompare([]byte(mac), []byte(want)) == 1
}

// deviceOf reports whether the account named username is userID: the
// account that approved the browser's device.
func (p *Passwords) deviceOf(ctx context.Context, userID, username string) bool {
	u, err := p.store.GetUser(ctx, userID)
	return err == nil && u.Username == username
}

// check returns the account when password is its password. An unknown or
// malformed username costs the same hash as a wrong password, so that the
// time taken does not tell which of the two was wrong.
func (p *Passwords) check(ctx context.Context, username, password string) (*pairgate.User, error) {
	if len(password) > secret.MaxPasswordBytes {
		return nil, ErrWrongPassword
	}
	if err := p.acquire(ctx); err != nil {
		return nil, err
	}
	defer func() { <-p.sem }()
	name, ok := pairgate.NormalizeUsername(strings.TrimSpace(username))
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
	if u.PasswordHash == "" {
		// An account made at an upstream sign-in has no password.
		secret.BurnPasswordCheck(password)
		return nil, ErrWrongPassword
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
