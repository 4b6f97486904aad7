package verify

import (
	"bytes"
	"compress/zlib"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// statusCache holds the token status lists (draft-ietf-oauth-status-list)
// this resource server has fetched: each is used for its ttl, refreshed in
// the background once the ttl has passed, and trusted until MaxStaleness
// while pairgate cannot be reached; then tokens are refused.
type statusCache struct {
	v *Verifier

	mu    sync.Mutex
	lists map[string]*statusList
}

type statusList struct {
	bits       []byte // uncompressed, status i in bit i%8 of byte i/8
	ttl        time.Duration
	fetchedAt  time.Time
	etag       string
	refreshing bool
}

func newStatusCache(v *Verifier) *statusCache {
	return &statusCache{v: v, lists: map[string]*statusList{}}
}

// check answers whether index idx of the list at uri is valid (0).
func (c *statusCache) check(ctx context.Context, uri string, idx int64) error {
	// Only the issuer's own lists are fetched: a token cannot make this
	// server fetch from anywhere else.
	if !strings.HasPrefix(uri, c.v.cfg.Issuer+"/") || idx < 0 {
		return fmt.Errorf("%w: its status list is not the issuer's", ErrInvalidToken)
	}
	now := c.v.cfg.Now()
	c.mu.Lock()
	l := c.lists[uri]
	switch {
	case l == nil || now.Sub(l.fetchedAt) >= c.v.cfg.MaxStaleness:
		c.mu.Unlock()
		fresh, err := c.fetch(ctx, uri, l)
		if err != nil {
			return fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
		}
		l = fresh
	case now.Sub(l.fetchedAt) >= l.ttl && !l.refreshing:
		l.refreshing = true
		c.mu.Unlock()
		go func(old *statusList) {
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			if _, err := c.fetch(ctx, uri, old); err != nil {
				c.mu.Lock()
				old.refreshing = false
				c.mu.Unlock()
			}
		}(l)
	default:
		c.mu.Unlock()
	}
	if idx/8 >= int64(len(l.bits)) {
		return fmt.Errorf("%w: its status index is beyond the list", ErrInvalidToken)
	}
	if l.bits[idx/8]&(1<<(idx%8)) != 0 {
		return ErrRevoked
	}
	return nil
}

// fetch gets the list at uri, verifies it and caches it.
func (c *statusCache) fetch(ctx context.Context, uri string, old *statusList) (*statusList, error) {
	req, err := http.NewRequestWithContext(ctx, "GET", uri, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/statuslist+jwt")
	if old != nil && old.etag != "" {
		req.Header.Set("If-None-Match", old.etag)
	}
	resp, err := c.v.cfg.HTTPClient.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	now := c.v.cfg.Now()
	if resp.StatusCode == http.StatusNotModified && old != nil {
		l := &statusList{bits: old.bits, ttl: old.ttl, fetchedAt: now, etag: old.etag}
		c.store(uri, l)
		return l, nil
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", uri, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 4<<20))
	if err != nil {
		return nil, err
	}
	l, err := c.parse(ctx, uri, strings.TrimSpace(string(body)))
	if err != nil {
		return nil, err
	}
	l.fetchedAt, l.etag = now, resp.Header.Get("ETag")
	c.store(uri, l)
	return l, nil
}

func (c *statusCache) store(uri string, l *statusList) {
	c.mu.Lock()
	if len(c.lists) > 64 { // a bound: pairgate publishes a few lists per million devices
		clear(c.lists)
	}
	c.lists[uri] = l
	c.mu.Unlock()
}

// parse verifies a status list token: signed by the issuer's keys, of type
// statuslist+jwt, for this uri, not expired, one bit per status.
func (c *statusCache) parse(ctx context.Context, uri, token string) (*statusList, error) {
	jws, err := jose.ParseSignedCompact(token, accessTokenAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("the status list at %s is not a signed JWT", uri)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "statuslist+jwt" {
		return nil, fmt.Errorf("the status list at %s has typ %q", uri, typ)
	}
	key, err := c.v.keys.Key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("the status list at %s has a bad signature", uri)
	}
	var claims struct {
		Issuer     string `json:"iss"`
		Subject    string `json:"sub"`
		Exp        int64  `json:"exp"`
		TTL        int64  `json:"ttl"`
		StatusList struct {
			Bits int    `json:"bits"`
			Lst  string `json:"lst"`
		} `json:"status_list"`
	}
	if err := json.Unmarshal(payload, &claims); err != nil {
		return nil, fmt.Errorf("the status list at %s does not decode", uri)
	}
	switch {
	case claims.Subject != uri:
		return nil, fmt.Errorf("the status list at %s says it is %q", uri, claims.Subject)
	case claims.Issuer != "" && claims.Issuer != c.v.cfg.Issuer:
		return nil, fmt.Errorf("the status list at %s was issued by %q", uri, claims.Issuer)
	case claims.Exp != 0 && !c.v.cfg.Now().Before(time.Unix(claims.Exp, 0)):
		return nil, fmt.Errorf("the status list at %s has expired", uri)
	case claims.StatusList.Bits != 1:
		return nil, fmt.Errorf("the status list at %s has %d bits per status; this verifier reads 1", uri, claims.StatusList.Bits)
	}
	compressed, err := base64.RawURLEncoding.DecodeString(claims.StatusList.Lst)
	if err != nil {
		return nil, fmt.Errorf("the status list at %s is not base64url", uri)
	}
	zr, err := zlib.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, fmt.Errorf("the status list at %s is not ZLIB", uri)
	}
	bits, err := io.ReadAll(io.LimitReader(zr, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("the status list at %s does not decompress", uri)
	}
	ttl := time.Duration(claims.TTL) * time.Second
	if ttl <= 0 {
		ttl = 5 * time.Minute
	}
	return &statusList{bits: bits, ttl: ttl}, nil
}
