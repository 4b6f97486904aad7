package client

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptrace"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/oauth2"
)

// DefaultMinValidity is how long an access token must still be valid for
// TokenSource to hand it out without refreshing first.
const DefaultMinValidity = time.Minute

// The refresh window: each access token is refreshed at a point between
// these fractions of its lifetime (42 to 54 minutes into an hour), picked
// for that token. A fleet whose tokens were issued in the same minute
// (the server came back after an outage, and every device refreshed at
// once) then refreshes over a fifth of the lifetime instead of in the
// same second again, and the spread only grows from one rotation to the
// next.
const (
	refreshFrom = 0.7
	refreshTo   = 0.9
)

// stillWorks: a token valid for longer than this is handed out, rather
// than an error, when the server cannot refresh it.
const stillWorks = 5 * time.Second

// TokenSource hands out access tokens from a Store, refreshing them before
// they expire and saving each rotation before using it. It is an
// oauth2.TokenSource, safe for concurrent use; when the Store is also a
// Locker, it is safe across processes too.
//
// When to refresh: at a point between 70 % and 90 % of the token's
// lifetime, the same point for every call (and every process) that holds
// that token, since it is derived from the token; and in any case once the
// token is valid for less than MinValidity.
//
// When the server cannot refresh (it is down, or answers 503 or 429), a
// token that still works is handed out and the server is not asked again
// before the time it gave in Retry-After (delta-seconds or an HTTP-date),
// or, when it gave none, before a back-off with full jitter (a random wait
// up to BackoffBase, doubling with each failure up to BackoffCap). Only
// when no usable token is left does Credentials wait for the next attempt,
// for up to MaxWait in all; then it returns an error wrapping
// ErrUnavailable, whose RetryAfter says when to come back. An outage never
// logs a device out.
//
// A refresh whose answer was lost after the request was sent (the
// connection broke) is sent once more at once, with the same refresh
// token: the server may have rotated it already, and within its grace
// window it answers a repeat with the same successor.
//
// A refresh whose new credentials cannot be saved fails, and the new
// tokens are dropped: the credentials in memory never get ahead of the
// store. The next attempt presents the stored (previous) refresh token,
// which the server accepts within its grace window and answers with a
// fresh pair.
type TokenSource struct {
	// Store keeps the credentials; required.
	Store Store
	// MinValidity: a token valid for less than this is refreshed first,
	// whatever its refresh point. DefaultMinValidity when zero.
	MinValidity time.Duration
	// MaxWait is how long Token, Credentials and Refresh may wait in all,
	// through Retry-After and back-off, for a refresh that they cannot do
	// without (no usable token left, or Refresh), before they return
	// ErrUnavailable. Zero: they do not wait; the first failure returns.
	// The context's deadline bounds the wait too.
	MaxWait time.Duration
	// BackoffBase and BackoffCap shape the back-off after failures
	// without a Retry-After; DefaultBackoffBase and DefaultBackoffCap
	// when zero. A longer Retry-After is cut to BackoffCap.
	BackoffBase, BackoffCap time.Duration
	// HTTPClient makes the refresh requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time
	// Rand returns a number in [0, 1) for the back-off's jitter;
	// math/rand/v2's Float64 when nil.
	Rand func() float64

	mu  sync.Mutex
	cur *Credentials
	// After a failed refresh: how many in a row, the server is not asked
	// again before notBefore, and why it failed.
	failures  int
	notBefore time.Time
	lastErr   error
}

var _ oauth2.TokenSource = (*TokenSource)(nil)

// Token returns a valid access token, refreshing it first if needed.
func (ts *TokenSource) Token() (*oauth2.Token, error) {
	c, err := ts.Credentials(context.Background())
	if err != nil {
		return nil, err
	}
	return c.Token(), nil
}

// Credentials returns the current credentials, refreshing (and saving)
// them first when the token has reached its refresh point. The errors
// wrap ErrNoCredentials, ErrNotAuthorized or ErrUnavailable when that is
// what happened.
func (ts *TokenSource) Credentials(ctx context.Context) (*Credentials, error) {
	return ts.get(ctx, false)
}

// Refresh refreshes the credentials now, whatever their expiry, and saves
// them. It keeps to a back-off in progress: after a failure it does not
// ask the server before the time the failure set (waiting up to MaxWait).
func (ts *TokenSource) Refresh(ctx context.Context) (*Credentials, error) {
	return ts.get(ctx, true)
}

// NextRefresh is when Credentials will next ask the server: the current
// token's refresh point or, after a failure, the end of the back-off,
// whichever is later. The zero time before any credentials were read. A
// program that keeps its token fresh in the background sleeps until then.
func (ts *TokenSource) NextRefresh() time.Time {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if ts.cur == nil {
		return ts.notBefore
	}
	at := ts.RefreshPoint(ts.cur)
	if ts.notBefore.After(at) {
		return ts.notBefore
	}
	return at
}

// RefreshPoint is when c's access token is due for refresh: at a point
// between 70 % and 90 % of its lifetime, derived from the token (a hash
// of it), so that every call and every process holding the token agrees
// on it while a fleet's tokens spread over the window; and no later than
// MinValidity before its expiry.
func (ts *TokenSource) RefreshPoint(c *Credentials) time.Time {
	if c.AccessToken == "" {
		return time.Time{}
	}
	latest := c.Expiry.Add(-ts.minValidity())
	life := lifetime(c)
	if life <= 0 {
		return latest
	}
	f := refreshFrom + (refreshTo-refreshFrom)*tokenFraction(c.AccessToken)
	at := c.Expiry.Add(-time.Duration((1 - f) * float64(life)))
	if at.After(latest) {
		return latest
	}
	return at
}

// lifetime is how long c's access token was issued for: exp − iat of the
// JWT (both the server's clock, so skew does not matter; read unverified,
// only to schedule), else the time from when it was received.
func lifetime(c *Credentials) time.Duration {
	if iat, exp := jwtTimes(c.AccessToken); !iat.IsZero() && exp.After(iat) {
		return exp.Sub(iat)
	}
	from := c.RefreshedAt
	if from.IsZero() {
		from = c.AuthorizedAt
	}
	if from.IsZero() || !c.Expiry.After(from) {
		return 0
	}
	return c.Expiry.Sub(from)
}

func jwtTimes(jwt string) (iat, exp time.Time) {
	parts := strings.Split(jwt, ".")
	if len(parts) != 3 {
		return
	}
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		return
	}
	var claims struct {
		IAT int64 `json:"iat"`
		EXP int64 `json:"exp"`
	}
	if json.Unmarshal(payload, &claims) != nil || claims.IAT <= 0 || claims.EXP <= 0 {
		return
	}
	return time.Unix(claims.IAT, 0), time.Unix(claims.EXP, 0)
}

// tokenFraction maps a token to [0, 1), uniformly over random tokens.
func tokenFraction(tok string) float64 {
	h := sha256.Sum256([]byte(tok))
	return float64(binary.BigEndian.Uint64(h[:8])>>11) / (1 << 53)
}

func (ts *TokenSource) get(ctx context.Context, force bool) (*Credentials, error) {
	// The wait is measured on the real clock: it is real time that a
	// caller spends here, whatever Now says.
	deadline := time.Now().Add(ts.MaxWait)
	for {
		c, wait, err := ts.attempt(ctx, force)
		if err == nil || wait <= 0 {
			return c, err
		}
		if ts.MaxWait <= 0 || time.Now().Add(wait).After(deadline) {
			return nil, err
		}
		if dl, ok := ctx.Deadline(); ok && time.Now().Add(wait).After(dl) {
			return nil, err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, fmt.Errorf("refresh: %w", ctx.Err())
		case <-t.C:
		}
	}
}

// attempt hands out the current credentials, or refreshes them once. On
// an outage with no usable token it returns the error and how long to
// wait before the next attempt.
func (ts *TokenSource) attempt(ctx context.Context, force bool) (*Credentials, time.Duration, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	now := ts.now()
	if !force && ts.cur != nil {
		// Before the refresh point, or in a back-off with a token that
		// still works: no file lock, no store, no server.
		if now.Before(ts.RefreshPoint(ts.cur)) || now.Before(ts.notBefore) && usable(ts.cur, now) {
			return ts.copy(ts.cur), 0, nil
		}
	}
	if l, ok := ts.Store.(Locker); ok {
		unlock, err := l.Lock(ctx)
		if err != nil {
			return nil, 0, err
		}
		defer unlock()
	}
	// Read under the lock: another process may have refreshed meanwhile,
	// and then its token is the one to use, not ours to rotate again.
	c, err := ts.Store.Load(ctx)
	if err != nil {
		return nil, 0, err
	}
	if !force && now.Before(ts.RefreshPoint(c)) {
		ts.cur = c
		return ts.copy(c), 0, nil
	}
	if now.Before(ts.notBefore) {
		if !force && usable(c, now) {
			ts.cur = c
			return ts.copy(c), 0, nil
		}
		wait := ts.notBefore.Sub(now)
		return nil, wait, &retryError{err: ts.lastErr, in: wait}
	}
	next, err := ts.refresh(ctx, c)
	if err != nil {
		if !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return nil, 0, err
		}
		wait := ts.failed(err, now)
		if !force {
			wait = ts.spreadOver(c, now, wait)
		}
		// An outage is no reason to fail while the token still works.
		if !force && usable(c, now) {
			ts.cur = c
			return ts.copy(c), 0, nil
		}
		return nil, wait, &retryError{err: err, in: wait}
	}
	if err := ts.Store.Save(ctx, next); err != nil {
		ts.cur = nil
		return nil, 0, fmt.Errorf("the tokens were refreshed but could not be saved; the stored refresh token can still be used within the server's grace window: %w", err)
	}
	ts.cur, ts.failures, ts.notBefore, ts.lastErr = next, 0, time.Time{}, nil
	return ts.copy(next), 0, nil
}

// failed records a failed attempt and returns how long the server is
// left alone: what its Retry-After said, or the jittered back-off.
func (ts *TokenSource) failed(err error, now time.Time) time.Duration {
	ts.failures++
	base, ceil := ts.BackoffBase, ts.BackoffCap
	if base <= 0 {
		base = DefaultBackoffBase
	}
	if ceil <= 0 {
		ceil = DefaultBackoffCap
	}
	var wait time.Duration
	var re *oauth2.RetrieveError
	if errors.As(err, &re) {
		wait = min(retryAfter(re.Response, now), ceil)
	}
	if wait <= 0 {
		wait = time.Duration(ts.rand() * float64(backoffCeiling(base, ceil, ts.failures)))
	}
	ts.notBefore, ts.lastErr = now.Add(wait), err
	return wait
}

// spreadOver stretches the wait after a failed refresh when c's token
// still has time left: the next attempt falls at a random point in the
// first half of that time, if that is later than the server asked. After
// an outage, devices that can wait then come back over minutes instead of
// all within the server's Retry-After, and those whose token is about to
// run out (little time left) keep retrying soon.
func (ts *TokenSource) spreadOver(c *Credentials, now time.Time, wait time.Duration) time.Duration {
	left := c.Expiry.Add(-ts.minValidity()).Sub(now)
	if c.AccessToken == "" || left <= 2*wait {
		return wait
	}
	spread := time.Duration(ts.rand() * float64(left) / 2)
	if spread > wait {
		wait = spread
		ts.notBefore = now.Add(wait)
	}
	return wait
}

func usable(c *Credentials, now time.Time) bool {
	return c.AccessToken != "" && c.Expiry.After(now.Add(stillWorks))
}

// refresh rotates c's refresh token. When the request was sent and its
// answer lost (the connection broke before a response), it is sent once
// more at once: the server may have rotated already, and a repeat of the
// same token within its grace window (docs/design.md 2.4) gets the same
// successor, where a later attempt could fall outside the window and be
// taken for reuse.
func (ts *TokenSource) refresh(ctx context.Context, c *Credentials) (*Credentials, error) {
	next, sent, err := ts.refreshOnce(ctx, c)
	var re *oauth2.RetrieveError
	if err != nil && sent && ctx.Err() == nil && !errors.As(err, &re) {
		next, _, err = ts.refreshOnce(ctx, c)
	}
	return next, err
}

func (ts *TokenSource) refreshOnce(ctx context.Context, c *Credentials) (*Credentials, bool, error) {
	conf := oauthConfig(c.ClientID, c.ClientSecret, c.TokenEndpoint, "", nil)
	hc := ts.HTTPClient
	if c.Key != nil {
		// A bound refresh token rotates only with a proof by the key
		// (RFC 9449 §5).
		hc = dpopClient(hc, c.Key, "")
	}
	var sent atomic.Bool
	tctx := httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{WroteRequest: func(i httptrace.WroteRequestInfo) {
		if i.Err == nil {
			sent.Store(true)
		}
	}})
	tok, err := conf.TokenSource(withHTTP(tctx, hc), &oauth2.Token{RefreshToken: c.RefreshToken}).Token()
	if err != nil {
		return nil, sent.Load(), classify(ctx, "refresh", err, ErrNotAuthorized)
	}
	next := *c
	next.setToken(tok)
	next.RefreshedAt = ts.now().UTC()
	return &next, true, nil
}

func (ts *TokenSource) minValidity() time.Duration {
	if ts.MinValidity <= 0 {
		return DefaultMinValidity
	}
	return ts.MinValidity
}

func (ts *TokenSource) rand() float64 {
	if ts.Rand != nil {
		return ts.Rand()
	}
	return rand.Float64()
}

func (ts *TokenSource) now() time.Time {
	if ts.Now != nil {
		return ts.Now()
	}
	return time.Now()
}

func (ts *TokenSource) copy(c *Credentials) *Credentials {
	x := *c
	return &x
}

// Client returns an HTTP client whose requests carry the device's
// access token, refreshed as needed: as Authorization: DPoP with a fresh
// proof for each request (RFC 9449 §7) when the device holds a key, as
// Bearer otherwise. Use it for the device API; golang.org/x/oauth2's
// NewClient sends no proofs. base makes the requests; http.DefaultClient
// when nil.
func (ts *TokenSource) Client(base *http.Client) *http.Client {
	if base == nil {
		base = http.DefaultClient
	}
	c := *base
	c.Transport = &authTransport{ts: ts, base: base.Transport}
	return &c
}

type authTransport struct {
	ts   *TokenSource
	base http.RoundTripper
}

func (t *authTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	creds, err := t.ts.Credentials(req.Context())
	if err != nil {
		if req.Body != nil {
			req.Body.Close()
		}
		return nil, err
	}
	r := req.Clone(req.Context())
	rt := t.base
	if rt == nil {
		rt = http.DefaultTransport
	}
	if creds.Key != nil && strings.EqualFold(creds.TokenType, "DPoP") {
		r.Header.Set("Authorization", "DPoP "+creds.AccessToken)
		rt = &dpopTransport{key: creds.Key, base: rt, accessToken: creds.AccessToken, servers: knownServers}
	} else {
		r.Header.Set("Authorization", "Bearer "+creds.AccessToken)
	}
	return rt.RoundTrip(r)
}
