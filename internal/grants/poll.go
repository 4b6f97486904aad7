package grants

import (
	"context"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// PollDeviceCode answers a device_code grant request (RFC 8628 §3.4).
func (s *Service) PollDeviceCode(ctx context.Context, r TokenRequest) (*TokenResponse, error) {
	if r.DeviceCode == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "device_code is required")
	}
	if !secret.LooksLike(r.DeviceCode, secret.PrefixDeviceCode) {
		return nil, errUnknownCode
	}
	return s.poll(ctx, r, pairgate.GrantDeviceCode, pairgate.KindDeviceCode, s.keys.Hash(secret.KindDeviceCode, r.DeviceCode))
}

// PollPairingCode answers a pairing_code grant request: the same semantics
// as the device code grant.
func (s *Service) PollPairingCode(ctx context.Context, r TokenRequest) (*TokenResponse, error) {
	if r.PairingCode == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "pairing_code is required")
	}
	if !secret.ValidPairingCode(r.PairingCode) {
		return nil, errUnknownCode
	}
	return s.poll(ctx, r, pairgate.GrantPairingCode, pairgate.KindPairing, s.keys.Hash(secret.KindPairingCode, r.PairingCode))
}

var errUnknownCode = pairgate.Errorf(pairgate.EINVALIDGRANT, "the code is unknown")

func (s *Service) poll(ctx context.Context, r TokenRequest, grantType, kind string, hash []byte) (*TokenResponse, error) {
	c := r.Client
	if !c.AllowsGrant(grantType) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "this client may not use this grant")
	}
	jkt, err := s.proof(ctx, c, r.DPoP)
	if err != nil {
		return nil, err
	}
	now := s.now()
	key := string(hash)
	a := s.polls.pending(key, now)
	if a == nil {
		var err error
		a, err = s.store.PollDeviceAuthorization(ctx, hash)
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			return nil, errUnknownCode
		}
		if err != nil {
			return nil, err
		}
	}
	// RFC 8628 §3.4: a code is bound to the client it was issued to.
	if a.Kind != kind || a.ClientID != c.ID {
		return nil, errUnknownCode
	}
	// RFC 9449 §10: a code requested with a proof is redeemed only with
	// a proof by the same key. Checked before anything about the grant
	// is told, so that whoever saw the code or the auth_url learns
	// nothing, not even whether it was approved.
	if a.DPoPJKT != "" && jkt != a.DPoPJKT {
		return nil, errBoundCode
	}
	if a.Expired(now) {
		return nil, pairgate.Errorf(pairgate.EEXPIRED, "the code has expired; start again")
	}
	switch a.State {
	case pairgate.StatePending:
		if wait := s.polls.poll(key, a, now); wait > 0 {
			return nil, &pairgate.Error{Code: pairgate.ESLOWDOWN, Message: "polling too fast; wait longer between requests", RetryAfter: wait}
		}
		return nil, errPending
	case pairgate.StateDenied:
		return nil, pairgate.Errorf(pairgate.EDENIED, "the request was denied")
	case pairgate.StateRedeemed:
		return nil, pairgate.Errorf(pairgate.EINVALIDGRANT, "the code was already used")
	}
	scopes := a.Scopes
	if r.Scope != "" {
		req := pairgate.ParseScopes(r.Scope)
		if !req.SubsetOf(a.Scopes) {
			return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "the requested scope exceeds what was approved ('%s')", a.Scopes.String())
		}
		scopes = req
	}
	// In device mode the store names the subject: the device that redeems,
	// which a proof may make an existing one (RedeemDeviceAuthorization).
	subject := ""
	if a.Mode == pairgate.ModeUser {
		subject = a.UserID
	}
	fam := &pairgate.RefreshFamily{ID: secret.NewID("fam_", now), ClientID: c.ID, Subject: subject, Scopes: a.Scopes, CreatedAt: now, DPoPJKT: jkt}
	refresh, first := s.newRefreshToken(now)
	d, err := s.store.RedeemDeviceAuthorization(ctx, a.ID, fam, first, now)
	if err != nil {
		return nil, err
	}
	s.polls.forget(key)
	return s.authorized(ctx, grantType, d, fam, c.ID, scopes, refresh, jkt)
}

var errBoundCode = pairgate.Errorf(pairgate.EINVALIDGRANT, "the code is bound to the key of the device that asked for it; poll with a DPoP proof by that key")

var errPending = &pairgate.Error{Code: pairgate.EPENDING, Message: "the user has not yet approved the request"}

// pendingFresh is how long a replica answers polls from its memory of a
// pending grant before reading the store again. It is shorter than the
// shortest polling interval (1 s), so a device polling once per interval
// always reads the store, and a decision made on another replica is never
// hidden for a whole interval; what it saves are the store reads of the
// second request of golang.org/x/oauth2's pairs and of bursts. A decision
// made on this replica forgets the memory at once.
const pendingFresh = 500 * time.Millisecond

// pollLimiter remembers, per pending grant, the polling rhythm that RFC 8628
// §3.5 enforces, and the grant itself for pendingFresh. It is kept in memory:
// it protects the server from eager clients, not a secret (device codes
// have 256 bits), so replicas need not share it. Entries are keyed by the
// code's hash, which only a valid code reaches, and leave when their grant
// expires.
type pollLimiter struct {
	mu sync.Mutex
	m  map[string]*pollState
}

type pollState struct {
	a        *pairgate.DeviceAuthorization // while pending; nil once forgotten
	fresh    time.Time                     // a may answer polls until then
	window   time.Time                     // start of the current interval
	n        int                           // polls in the window
	interval time.Duration                 // grows by 5 s with each slow_down
	expires  time.Time
}

func newPollLimiter() *pollLimiter { return &pollLimiter{m: map[string]*pollState{}} }

// pollBurst is how many polls an interval admits. golang.org/x/oauth2, left
// to detect the client authentication style, sends every failed poll twice
// within milliseconds (Basic, then client_id in the body); counting that
// pair as two polls would stretch a pairing to minutes of back-off.
const pollBurst = 2

// maxPollStates bounds the memory: beyond it, the oldest state is simply
// forgotten at the next sweep, which only costs a store read.
const maxPollStates = 200000

// pending returns the remembered pending grant for key, if still fresh.
func (l *pollLimiter) pending(key string, now time.Time) *pairgate.DeviceAuthorization {
	l.mu.Lock()
	defer l.mu.Unlock()
	if st := l.m[key]; st != nil && st.a != nil && now.Before(st.fresh) {
		return st.a
	}
	return nil
}

// poll records a poll of a pending grant and returns how much longer the
// client should have waited, or 0 when it was in time.
func (l *pollLimiter) poll(key string, a *pairgate.DeviceAuthorization, now time.Time) time.Duration {
	l.mu.Lock()
	defer l.mu.Unlock()
	st := l.m[key]
	if st == nil {
		if len(l.m) >= maxPollStates {
			clear(l.m)
		}
		l.m[key] = &pollState{a: a, fresh: now.Add(pendingFresh), window: now, n: 1, interval: a.Interval, expires: a.ExpiresAt}
		return 0
	}
	if st.a != a {
		st.a, st.fresh = a, now.Add(pendingFresh)
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

// decided drops the remembered grant (keeping the polling rhythm), so that
// the next poll reads the decision from the store.
func (l *pollLimiter) decided(key string) {
	l.mu.Lock()
	if st := l.m[key]; st != nil {
		st.a = nil
	}
	l.mu.Unlock()
}

func (l *pollLimiter) forget(key string) {
	l.mu.Lock()
	delete(l.m, key)
	l.mu.Unlock()
}

// sweep drops the state of expired grants.
func (l *pollLimiter) sweep(now time.Time) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for k, st := range l.m {
		if !now.Before(st.expires) {
			delete(l.m, k)
		}
	}
}

// Sweep forgets polling state of grants that have expired. The server's
// background job calls it.
func (s *Service) Sweep() { s.polls.sweep(s.now()) }
