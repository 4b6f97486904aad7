package verify

import (
	"bytes"
	"compress/zlib"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// keys is a KeySet of keys held in memory.
type keys map[string]*jose.JSONWebKey

func (k keys) Key(_ context.Context, kid string) (*jose.JSONWebKey, error) {
	if key := k[kid]; key != nil {
		return key, nil
	}
	return nil, ErrInvalidToken
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) Now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) Add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

// issuer is a signing key and a status list server standing in for
// pairgate's published endpoints, with real keys and real encoding.
type issuer struct {
	t       *testing.T
	key     *ecdsa.PrivateKey
	srv     *httptest.Server
	url     string
	revoked atomic.Value // []int64
	down    atomic.Bool
	fetches atomic.Int64
}

func newIssuer(t *testing.T) *issuer {
	k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	is := &issuer{t: t, key: k}
	is.revoked.Store([]int64{})
	is.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if is.down.Load() {
			http.Error(w, "down", http.StatusServiceUnavailable)
			return
		}
		is.fetches.Add(1)
		w.Write([]byte(is.list(r.URL.Path, 60)))
	}))
	t.Cleanup(is.srv.Close)
	is.url = is.srv.URL
	return is
}

func (is *issuer) keySet() keys {
	return keys{"k1": {Key: &is.key.PublicKey, KeyID: "k1", Algorithm: "ES256", Use: "sig"}}
}

func (is *issuer) sign(typ string, claims any) string {
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: jose.JSONWebKey{Key: is.key, KeyID: "k1"}},
		(&jose.SignerOptions{}).WithType(jose.ContentType(typ)))
	if err != nil {
		is.t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		is.t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

func (is *issuer) list(path string, ttl int) string {
	raw := make([]byte, 16)
	for _, i := range is.revoked.Load().([]int64) {
		raw[i/8] |= 1 << (i % 8)
	}
	var buf bytes.Buffer
	zw := zlib.NewWriter(&buf)
	zw.Write(raw)
	zw.Close()
	return is.sign("statuslist+jwt", map[string]any{"iss": is.url, "sub": is.url + path, "iat": time.Now().Unix(), "ttl": ttl,
		"status_list": map[string]any{"bits": 1, "lst": base64.RawURLEncoding.EncodeToString(buf.Bytes())}})
}

func (is *issuer) token(now time.Time, edit func(map[string]any)) string {
	c := map[string]any{"iss": is.url, "sub": "dev_1", "aud": is.url, "client_id": "print-client", "scope": "printing",
		"iat": now.Unix(), "exp": now.Add(time.Hour).Unix(), "jti": "at_1", "device_id": "dev_1", "sid": "fam_1",
		"status": map[string]any{"status_list": map[string]any{"idx": 3, "uri": is.url + "/statuslists/0"}}}
	if edit != nil {
		edit(c)
	}
	return is.sign("at+jwt", c)
}

func newVerifier(t *testing.T, is *issuer, clk *clock) *Verifier {
	v, err := New(Config{Issuer: is.url, Scopes: []string{"printing"}, Keys: is.keySet(), MaxStaleness: 10 * time.Minute,
		HTTPClient: is.srv.Client(), Now: clk.Now})
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func TestVerifyChecksEveryClaim(t *testing.T) {
	is := newIssuer(t)
	clk := &clock{t: time.Now()}
	v := newVerifier(t, is, clk)
	ctx := context.Background()
	now := clk.Now()
	tok, err := v.Verify(ctx, is.token(now, nil))
	if err != nil || tok.DeviceID != "dev_1" || tok.SessionID != "fam_1" || !tok.HasScope("printing") {
		t.Fatalf("a good token: %+v %v", tok, err)
	}
	other, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	forged := &issuer{t: t, key: other, url: is.url}
	for name, c := range map[string]struct {
		tok  string
		want error
	}{
		"another issuer":   {is.token(now, func(c map[string]any) { c["iss"] = "https://evil.example" }), ErrInvalidToken},
		"another audience": {is.token(now, func(c map[string]any) { c["aud"] = "https://other.example" }), ErrInvalidToken},
		"expired":          {is.token(now, func(c map[string]any) { c["exp"] = now.Add(-time.Minute).Unix() }), ErrExpired},
		"no jti":           {is.token(now, func(c map[string]any) { delete(c, "jti") }), ErrInvalidToken},
		"a missing scope":  {is.token(now, func(c map[string]any) { c["scope"] = "portal" }), ErrInsufficientScope},
		"no status":        {is.token(now, func(c map[string]any) { delete(c, "status") }), ErrInvalidToken},
		"a foreign list": {is.token(now, func(c map[string]any) {
			c["status"] = map[string]any{"status_list": map[string]any{"idx": 1, "uri": "https://evil.example/l"}}
		}), ErrInvalidToken},
		"an index past it": {is.token(now, func(c map[string]any) {
			c["status"] = map[string]any{"status_list": map[string]any{"idx": 5000, "uri": is.url + "/statuslists/0"}}
		}), ErrInvalidToken},
		"another key":        {forged.token(now, nil), ErrInvalidToken},
		"a status list type": {is.sign("statuslist+jwt", map[string]any{"iss": is.url, "aud": is.url, "exp": now.Add(time.Hour).Unix(), "jti": "x"}), ErrInvalidToken},
		"alg none":           {base64.RawURLEncoding.EncodeToString([]byte(`{"alg":"none","typ":"at+jwt"}`)) + "." + base64.RawURLEncoding.EncodeToString([]byte(`{"iss":"x"}`)) + ".", ErrInvalidToken},
		"garbage":            {"a.b.c", ErrInvalidToken},
		"empty":              {"", ErrNoToken},
	} {
		if _, err := v.Verify(ctx, c.tok); !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
	// A key-bound token is not accepted without its proof.
	if _, err := v.Verify(ctx, is.token(now, func(c map[string]any) { c["cnf"] = map[string]any{"jkt": "abc"} })); !errors.Is(err, ErrInvalidToken) {
		t.Fatalf("a bound token through Verify: %v", err)
	}
}

// TestStatusListIsCachedForItsTTLAndFailsClosed: a revocation is seen
// once the list's ttl has passed; pairgate unreachable, the cached list
// answers until MaxStaleness, then nothing is accepted.
func TestStatusListIsCachedForItsTTLAndFailsClosed(t *testing.T) {
	is := newIssuer(t)
	clk := &clock{t: time.Now()}
	v := newVerifier(t, is, clk)
	ctx := context.Background()
	tok := is.token(clk.Now(), nil)
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatal(err)
	}
	is.revoked.Store([]int64{3})
	if _, err := v.Verify(ctx, tok); err != nil {
		t.Fatalf("within the ttl the cached list answers: %v", err)
	}
	if n := is.fetches.Load(); n != 1 {
		t.Fatalf("%d fetches within the ttl", n)
	}
	clk.Add(61 * time.Second) // past the ttl: answered from the cache, refreshed in the background
	v.Verify(ctx, tok)
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, err := v.Verify(ctx, tok)
		if errors.Is(err, ErrRevoked) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the revocation was never seen: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
	// Pairgate down: another token keeps working until the cache is
	// MaxStaleness old, then none.
	is.revoked.Store([]int64{})
	other := is.token(clk.Now(), func(c map[string]any) {
		c["status"] = map[string]any{"status_list": map[string]any{"idx": 4, "uri": is.url + "/statuslists/0"}}
	})
	is.down.Store(true)
	clk.Add(9 * time.Minute)
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("with pairgate down, before the staleness limit: %v", err)
	}
	clk.Add(2 * time.Minute)
	if _, err := v.Verify(ctx, other); !errors.Is(err, ErrStatusUnavailable) {
		t.Fatalf("with pairgate down, past the staleness limit: %v, want unavailable", err)
	}
	is.down.Store(false)
	if _, err := v.Verify(ctx, other); err != nil {
		t.Fatalf("pairgate back: %v", err)
	}
}

// proof makes a DPoP proof for a request.
func proof(t *testing.T, key *ecdsa.PrivateKey, jwk *jose.JSONWebKey, htm, htu, token string, iat time.Time, jti string) string {
	t.Helper()
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: key},
		(&jose.SignerOptions{EmbedJWK: false, ExtraHeaders: map[jose.HeaderKey]any{"jwk": jwk}}).WithType("dpop+jwt"))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256([]byte(token))
	b, _ := json.Marshal(map[string]any{"jti": jti, "htm": htm, "htu": htu, "iat": iat.Unix(), "ath": base64.RawURLEncoding.EncodeToString(sum[:])})
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

// TestDPoPProofsAreCheckedAsRFC9449Says: a key-bound token works with the
// DPoP scheme and a proof by its key, and every §4.3 check can fail it.
func TestDPoPProofsAreCheckedAsRFC9449Says(t *testing.T) {
	is := newIssuer(t)
	clk := &clock{t: time.Now()}
	v := newVerifier(t, is, clk)
	devKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	jwk := &jose.JSONWebKey{Key: &devKey.PublicKey}
	thumb, _ := jwk.Thumbprint(crypto.SHA256)
	jkt := base64.RawURLEncoding.EncodeToString(thumb)
	now := clk.Now()
	tok := is.token(now, func(c map[string]any) { c["cnf"] = map[string]any{"jkt": jkt} })
	const htu = "http://rs.example/jobs"
	req := func(scheme, p string, extra ...string) *http.Request {
		r := httptest.NewRequest("GET", htu, nil)
		r.Header.Set("Authorization", scheme+" "+tok)
		if p != "" {
			r.Header.Add("DPoP", p)
		}
		for _, e := range extra {
			r.Header.Add("DPoP", e)
		}
		return r
	}
	n := 0
	good := func() string { n++; return proof(t, devKey, jwk, "GET", htu, tok, now, "jti-"+string(rune('a'+n))) }
	if got, err := v.VerifyRequest(req("DPoP", good())); err != nil || got.JKT != jkt {
		t.Fatalf("a good proof: %v", err)
	}
	otherKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	otherJWK := &jose.JSONWebKey{Key: &otherKey.PublicKey}
	privJWK := &jose.JSONWebKey{Key: devKey}
	replayed := good()
	if _, err := v.VerifyRequest(req("DPoP", replayed)); err != nil {
		t.Fatal(err)
	}
	for name, c := range map[string]struct {
		r    *http.Request
		want error
	}{
		"as Bearer":        {req("Bearer", ""), ErrInvalidToken},
		"no proof":         {req("DPoP", ""), ErrInvalidProof},
		"two proofs":       {req("DPoP", good(), good()), ErrInvalidProof},
		"wrong htm":        {req("DPoP", proof(t, devKey, jwk, "POST", htu, tok, now, "m")), ErrInvalidProof},
		"wrong htu":        {req("DPoP", proof(t, devKey, jwk, "GET", "http://rs.example/other", tok, now, "u")), ErrInvalidProof},
		"stale iat":        {req("DPoP", proof(t, devKey, jwk, "GET", htu, tok, now.Add(-5*time.Minute), "s")), ErrInvalidProof},
		"future iat":       {req("DPoP", proof(t, devKey, jwk, "GET", htu, tok, now.Add(5*time.Minute), "f")), ErrInvalidProof},
		"wrong ath":        {req("DPoP", proof(t, devKey, jwk, "GET", htu, "another token", now, "h")), ErrInvalidProof},
		"another key":      {req("DPoP", proof(t, otherKey, otherJWK, "GET", htu, tok, now, "k")), ErrInvalidProof},
		"a private key":    {req("DPoP", proof(t, devKey, privJWK, "GET", htu, tok, now, "p")), ErrInvalidProof},
		"a replayed proof": {req("DPoP", replayed), ErrInvalidProof},
		"not a JWT":        {req("DPoP", "garbage"), ErrInvalidProof},
		"a Bearer token DPoP": {func() *http.Request {
			r := req("DPoP", good())
			r.Header.Set("Authorization", "DPoP "+is.token(now, nil))
			return r
		}(), ErrInvalidToken},
	} {
		_, err := v.VerifyRequest(c.r)
		if !errors.Is(err, c.want) {
			t.Errorf("%s: %v, want %v", name, err, c.want)
		}
	}
}

func TestMiddlewareAnswersAsRFC6750Says(t *testing.T) {
	is := newIssuer(t)
	clk := &clock{t: time.Now()}
	v := newVerifier(t, is, clk)
	h := v.Middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := FromContext(r.Context())
		if !ok {
			t.Error("no token in the context")
		}
		w.Write([]byte(tok.DeviceID))
	}))
	do := func(auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest("GET", "/x", nil)
		if auth != "" {
			r.Header.Set("Authorization", auth)
		}
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w
	}
	if w := do("Bearer " + is.token(clk.Now(), nil)); w.Code != 200 || w.Body.String() != "dev_1" {
		t.Fatalf("good token: %d %s", w.Code, w.Body)
	}
	if w := do(""); w.Code != 401 || w.Header().Get("WWW-Authenticate") == "" {
		t.Fatalf("no token: %d %v", w.Code, w.Header())
	}
	if w := do("Bearer " + is.token(clk.Now(), func(c map[string]any) { c["scope"] = "portal" })); w.Code != 403 {
		t.Fatalf("missing scope: %d", w.Code)
	}
	is.revoked.Store([]int64{3})
	clk.Add(11 * time.Minute) // past the staleness: fetched again at once
	if w := do("Bearer " + is.token(clk.Now(), nil)); w.Code != 401 {
		t.Fatalf("revoked: %d", w.Code)
	}
}
