package grants

import (
	"context"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// PollDeviceCode answers a device_code grant request (RFC 8628 §3.4).
func (s *Service) PollDeviceCode(ctx context.Context, c *pairgate.Client, deviceCode, ip string) (*TokenResponse, error) {
	if deviceCode == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "device_code is required")
	}
	if !secret.LooksLike(deviceCode, secret.PrefixDeviceCode) {
		return nil, errUnknownCode
	}
	return s.poll(ctx, c, pairgate.GrantDeviceCode, pairgate.KindDeviceCode, s.keys.Hash(secret.KindDeviceCode, deviceCode), "", ip)
}

// PollPairingCode answers a pairing_code grant request: the same semantics
// as the device code grant.
func (s *Service) PollPairingCode(ctx context.Context, c *pairgate.Client, code, scope, ip string) (*TokenResponse, error) {
	if code == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "pairing_code is required")
	}
	if !secret.ValidPairingCode(code) {
		return nil, errUnknownCode
	}
	return s.poll(ctx, c, pairgate.GrantPairingCode, pairgate.KindPairing, s.keys.Hash(secret.KindPairingCode, code), scope, ip)
}

var errUnknownCode = pairgate.Errorf(pairgate.EINVALIDGRANT, "the code is unknown")

func (s *Service) poll(ctx context.Context, c *pairgate.Client, grantType, kind string, hash []byte, scope, ip string) (*TokenResponse, error) {
	if !c.AllowsGrant(grantType) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "client %q may not use this grant", c.ID)
	}
	a, err := s.store.GetDeviceAuthorizationByDeviceCode(ctx, hash)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return nil, errUnknownCode
	}
	if err != nil {
		return nil, err
	}
	// RFC 8628 §3.4: a code is bound to the client it was issued to.
	if a.Kind != kind || a.ClientID != c.ID {
		return nil, errUnknownCode
	}
	now := s.now()
	if a.Expired(now) {
		return nil, pairgate.Errorf(pairgate.EEXPIRED, "the code has expired; start again")
	}
	switch a.State {
	case pairgate.StatePending:
		if wait := s.polls.poll(a.ID, a.Interval, a.ExpiresAt, now); wait > 0 {
			return nil, &pairgate.Error{Code: pairgate.ESLOWDOWN, Message: "polling too fast; wait longer between requests", RetryAfter: wait}
		}
		return nil, errPending
	case pairgate.StateDenied:
		return nil, pairgate.Errorf(pairgate.EDENIED, "the request was denied")
	case pairgate.StateRedeemed:
		return nil, pairgate.Errorf(pairgate.EINVALIDGRANT, "the code was already used")
	}
	scopes := a.Scopes
	if scope != "" {
		req := pairgate.ParseScopes(scope)
		if !req.SubsetOf(a.Scopes) {
			return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "scope %q exceeds what was approved (%q)", req.String(), a.Scopes.String())
		}
		scopes = req
	}
	subject := a.DeviceID
	if a.Mode == pairgate.ModeUser {
		subject = a.UserID
	}
	fam := &pairgate.RefreshFamily{ID: secret.NewID("fam_", now), ClientID: c.ID, Subject: subject, Scopes: a.Scopes, CreatedAt: now}
	refresh, first := s.newRefreshToken(now)
	d, err := s.store.RedeemDeviceAuthorization(ctx, a.ID, fam, first, now)
	if err != nil {
		return nil, err
	}
	s.polls.forget(a.ID)
	return s.respond(ctx, grantType, d, fam.Subject, c.ID, scopes, refresh)
}

var errPending = &pairgate.Error{Code: pairgate.EPENDING, Message: "the user has not yet approved the request"}

// pollLimiter enforces the polling interval of pending grants (RFC 8628
// §3.5). It is kept in memory: it protects the server from eager clients,
// not a secret (device codes have 256 bits), so a replica need not share
// it. Entries are keyed by grant ID, which only a valid device code
// reaches, and leave when their grant expires.
type pollLimiter struct {
	mu sync.Mutex
	m  map[string]*pollState
}

type pollState struct {
	window   time.Time     // start of the current interval
	n        int           // polls in the window
	interval time.Duration // grows by 5 s with each slow_down
	expires  time.Time
}

func newPollLimiter() *pollLimiter { return &pollLimiter{m: map[string]*pollState{}} }

// pollBurst is how many polls an interval admits. golang.org/x/oauth2, left
// to detect the client authentication style, sends every failed poll twice
// within milliseconds (Basic, then client_id in the body); counting that
// pair as two polls would stretch a pairing to minutes of back-off.
const pollBurst = 2

// poll records a poll and returns how much longer the client should have
// waited, or 0 when it was in time.
func (l *pollLimiter) poll(id string, interval time.Duration, expires, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[id]
	if st == nil {
		l.m[id] = &pollState{window: now, n: 1, interval: interval, expires: expires}
		return 0
	}
	// A tenth of the interval of tolerance for timers and network jitter.
	if since := now.Sub(st.window); since >= st.interval-st.interval/10 {
		st.window, st.n = now, 1
		return 0
	}
	if st.n < pollBurst {
		st.n++
		return 0
	}
	// RFC 8628 §3.5: the interval grows by 5 seconds for this and all
	// subsequent requests.
	st.interval += 5 * time.Second
	return st.window.Add(st.interval).Sub(now)
}

func (l *pollLimiter) forget(id string) {
	l.mu.Lock()
	delete(l.m, id)
	l.mu.Unlock()
}

// sweep drops the state of expired grants.
func (l *pollLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for id, st := range l.m {
		if !now.Before(st.expires) {
			delete(l.m, id)
		}
	}
}

// Sweep forgets polling state of grants that have expired. The server's
// background job calls it.
func (s *Service) Sweep() { s.polls.sweep(s.now()) }
