package authn

import (
	"context"
	"crypto/subtle"
	"net/http"
	"net/url"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// clientCacheTTL bounds how long a replica keeps using a client that was
// changed or deleted on another replica. Peers look the client up on every
// request; a fleet polling every five seconds makes that the hottest query.
const clientCacheTTL = 5 * time.Second

// Clients authenticates OAuth clients, with a small cache of the clients
// that exist (never of unknown IDs, which an attacker chooses).
type Clients struct {
	store pairgate.Store
	keys  *secret.Keys
	now   func() time.Time

	mu    sync.RWMutex
	cache map[string]cachedClient
}

type cachedClient struct {
	c   *pairgate.Client
	exp time.Time
}

// NewClients returns a client authenticator.
func NewClients(store pairgate.Store, keys *secret.Keys, now func() time.Time) *Clients {
	return &Clients{store: store, keys: keys, now: now, cache: map[string]cachedClient{}}
}

// Get returns a client by ID.
func (c *Clients) Get(ctx context.Context, id string) (*pairgate.Client, error) {
	now := c.now()
	c.mu.RLock()
	e, ok := c.cache[id]
	c.mu.RUnlock()
	if ok && now.Before(e.exp) {
		return e.c, nil
	}
	cl, err := c.store.GetClient(ctx, id)
	if err != nil {
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			c.Forget(id)
		}
		return nil, err
	}
	c.mu.Lock()
	if len(c.cache) > 10000 {
		clear(c.cache) // a bound, in case clients are created without end
	}
	c.cache[id] = cachedClient{c: cl, exp: now.Add(clientCacheTTL)}
	c.mu.Unlock()
	return cl, nil
}

// Forget drops a client from the cache, after it was changed or deleted.
func (c *Clients) Forget(id string) {
	c.mu.Lock()
	delete(c.cache, id)
	c.mu.Unlock()
}

// Credentials are what a request presented to identify its client.
type Credentials struct {
	ID     string
	Secret string
	Method string // "client_secret_basic", "client_secret_post" or "none"
}

var errClientAuth = &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "client authentication failed"}

// ClientCredentials extracts client credentials from HTTP Basic
// authentication or from the request parameters (RFC 6749 §2.3.1). A
// request may use one method only; Basic plus a different client_id in the
// body is refused.
func ClientCredentials(r *http.Request, params url.Values) (Credentials, error) {
	if user, pass, ok := r.BasicAuth(); ok {
		// RFC 6749 §2.3.1: the ID and secret are form-encoded before they
		// are joined and base64-encoded.
		id, err1 := url.QueryUnescape(user)
		sec, err2 := url.QueryUnescape(pass)
		if err1 != nil || err2 != nil || id == "" {
			return Credentials{}, errClientAuth
		}
		if !utf8.ValidString(id) || !utf8.ValidString(sec) {
			return Credentials{}, pairgate.Errorf(pairgate.EINVALID, "the client credentials are not valid UTF-8")
		}
		if body := params.Get("client_id"); body != "" && body != id {
			return Credentials{}, pairgate.Errorf(pairgate.EINVALID, "client_id in the body differs from the one in the Authorization header")
		}
		if params.Get("client_secret") != "" {
			return Credentials{}, pairgate.Errorf(pairgate.EINVALID, "use one client authentication method, not two")
		}
		m := "client_secret_basic"
		if sec == "" {
			m = "none"
		}
		return Credentials{ID: id, Secret: sec, Method: m}, nil
	}
	if h := r.Header.Get("Authorization"); h != "" {
		return Credentials{}, errClientAuth
	}
	id := params.Get("client_id")
	if id == "" {
		return Credentials{}, errClientAuth
	}
	sec := params.Get("client_secret")
	m := "client_secret_post"
	if sec == "" {
		m = "none"
	}
	return Credentials{ID: id, Secret: sec, Method: m}, nil
}

// Authenticate checks credentials and returns the client. Public clients
// must not send a secret; confidential clients must send the right one.
// Every failure is the same EUNAUTHORIZED, so that the answer does not tell
// which client IDs exist.
func (c *Clients) Authenticate(ctx context.Context, cr Credentials) (*pairgate.Client, error) {
	if cr.ID == "" || len(cr.ID) > 256 || len(cr.Secret) > 512 {
		return nil, errClientAuth
	}
	cl, err := c.Get(ctx, cr.ID)
	if err != nil {
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			return nil, errClientAuth
		}
		return nil, err
	}
	if cl.Public {
		if cr.Secret != "" {
			return nil, errClientAuth
		}
		return cl, nil
	}
	if cr.Secret == "" || subtle.ConstantTimeCompare(c.keys.Hash(secret.KindClientSecret, cr.Secret), cl.SecretHash) != 1 {
		return nil, errClientAuth
	}
	return cl, nil
}
