package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// jwks is the issuer's published key set, found through its RFC 8414
// metadata, cached, and fetched again when a token names a key it does not
// hold (pairgate rotates keys; a new one may be minutes old).
type jwks struct {
	issuer string
	http   *http.Client
	now    func() time.Time

	mu        sync.Mutex
	uri       string
	keys      map[string]*jose.JSONWebKey
	fetchedAt time.Time
	lastMiss  time.Time
}

func newJWKS(issuer string, c *http.Client, now func() time.Time) *jwks {
	return &jwks{issuer: issuer, http: c, now: now}
}

// refetchEvery bounds how often an unknown kid (which an attacker chooses)
// makes the key set be fetched again.
const refetchEvery = 10 * time.Second

func (j *jwks) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	if kid == "" || len(kid) > 128 {
		return nil, fmt.Errorf("%w: no usable key id", ErrInvalidToken)
	}
	j.mu.Lock()
	defer j.mu.Unlock()
	if k := j.keys[kid]; k != nil {
		return k, nil
	}
	if j.keys != nil && j.now().Sub(j.lastMiss) < refetchEvery {
		return nil, fmt.Errorf("%w: unknown key %q", ErrInvalidToken, kid)
	}
	j.lastMiss = j.now()
	if err := j.fetch(ctx); err != nil {
		return nil, fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
	}
	if k := j.keys[kid]; k != nil {
		return k, nil
	}
	return nil, fmt.Errorf("%w: unknown key %q", ErrInvalidToken, kid)
}

func (j *jwks) fetch(ctx context.Context) error {
	if j.uri == "" {
		var meta struct {
			Issuer  string `json:"issuer"`
			JWKSURI string `json:"jwks_uri"`
		}
		if err := getJSON(ctx, j.http, j.issuer+"/.well-known/oauth-authorization-server", &meta); err != nil {
			return err
		}
		// RFC 8414 §3.3: the metadata must name the issuer it was asked for.
		if meta.Issuer != j.issuer || meta.JWKSURI == "" {
			return fmt.Errorf("the metadata at %s names issuer %q", j.issuer, meta.Issuer)
		}
		j.uri = meta.JWKSURI
	}
	var set jose.JSONWebKeySet
	if err := getJSON(ctx, j.http, j.uri, &set); err != nil {
		return err
	}
	keys := map[string]*jose.JSONWebKey{}
	for i := range set.Keys {
		k := set.Keys[i]
		if k.KeyID == "" || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
			continue
		}
		keys[k.KeyID] = &k
	}
	j.keys, j.fetchedAt = keys, j.now()
	return nil
}

func getJSON(ctx context.Context, c *http.Client, url string, v any) error {
	req, err := http.NewRequestWithContext(ctx, "GET", url, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", url, resp.Status)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return err
	}
	if err := json.Unmarshal(b, v); err != nil {
		return errors.New("GET " + url + ": not the JSON expected")
	}
	return nil
}
