package client

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"golang.org/x/oauth2"
)

// DefaultMinValidity is how long an access token must still be valid for
// TokenSource to hand it out without refreshing first.
const DefaultMinValidity = time.Minute

// TokenSource hands out access tokens from a Store, refreshing them when
// they are near expiry and saving each rotation before using it. It is an
// oauth2.TokenSource, safe for concurrent use; when the Store is also a
// Locker, it is safe across processes too.
//
// A refresh whose new credentials cannot be saved fails, and the new
// tokens are dropped: the credentials in memory never get ahead of the
// store. The next attempt presents the stored (previous) refresh token,
// which the server accepts within its grace window and answers with a
// fresh pair.
type TokenSource struct {
	// Store keeps the credentials; required.
	Store Store
	// MinValidity: a token valid for less than this is refreshed first.
	// DefaultMinValidity when zero.
	MinValidity time.Duration
	// HTTPClient makes the refresh requests; http.DefaultClient when nil.
	HTTPClient *http.Client
	// Now is the clock; time.Now when nil.
	Now func() time.Time

	mu  sync.Mutex
	cur *Credentials
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

// Credentials returns the current credentials with an access token valid
// for at least MinValidity, refreshing (and saving) them first if needed.
// The errors wrap ErrNoCredentials, ErrNotAuthorized or ErrUnavailable when
// that is what happened.
func (ts *TokenSource) Credentials(ctx context.Context) (*Credentials, error) {
	return ts.get(ctx, false)
}

// Refresh refreshes the credentials now, whatever their expiry, and saves
// them.
func (ts *TokenSource) Refresh(ctx context.Context) (*Credentials, error) {
	return ts.get(ctx, true)
}

func (ts *TokenSource) get(ctx context.Context, force bool) (*Credentials, error) {
	ts.mu.Lock()
	defer ts.mu.Unlock()
	if !force && ts.cur != nil && ts.fresh(ts.cur) {
		return ts.copy(ts.cur), nil
	}
	if l, ok := ts.Store.(Locker); ok {
		unlock, err := l.Lock(ctx)
		if err != nil {
			return nil, err
		}
		defer unlock()
	}
	// Read under the lock: another process may have refreshed meanwhile,
	// and then its token is the one to use, not ours to rotate again.
	c, err := ts.Store.Load(ctx)
	if err != nil {
		return nil, err
	}
	if !force && ts.fresh(c) {
		ts.cur = c
		return ts.copy(c), nil
	}
	next, err := ts.refresh(ctx, c)
	if err != nil {
		// An outage is no reason to fail while the token still works.
		if !force && errors.Is(err, ErrUnavailable) && c.Expiry.After(ts.now().Add(5*time.Second)) {
			ts.cur = c
			return ts.copy(c), nil
		}
		return nil, err
	}
	if err := ts.Store.Save(ctx, next); err != nil {
		ts.cur = nil
		return nil, fmt.Errorf("the tokens were refreshed but could not be saved; the stored refresh token can still be used within the server's grace window: %w", err)
	}
	ts.cur = next
	return ts.copy(next), nil
}

func (ts *TokenSource) refresh(ctx context.Context, c *Credentials) (*Credentials, error) {
	conf := oauthConfig(c.ClientID, c.ClientSecret, c.TokenEndpoint, "", nil)
	hc := ts.HTTPClient
	if c.Key != nil {
		// A bound refresh token rotates only with a proof by the key
		// (RFC 9449 §5).
		hc = dpopClient(hc, c.Key, "")
	}
	tok, err := conf.TokenSource(withHTTP(ctx, hc), &oauth2.Token{RefreshToken: c.RefreshToken}).Token()
	if err != nil {
		return nil, classify(ctx, "refresh", err, ErrNotAuthorized)
	}
	next := *c
	next.setToken(tok)
	next.RefreshedAt = ts.now().UTC()
	return &next, nil
}

func (ts *TokenSource) fresh(c *Credentials) bool {
	min := ts.MinValidity
	if min <= 0 {
		min = DefaultMinValidity
	}
	return c.AccessToken != "" && c.Expiry.After(ts.now().Add(min))
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
