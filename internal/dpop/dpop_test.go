package dpop_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

func newVerifier(t testing.TB, issuer string, nonces bool) (*dpop.Verifier, *clock) {
	t.Helper()
	store, err := sqlstore.Open(context.Background(), filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	c := &clock{t: time.Now()}
	v, err := dpop.New(dpop.Config{Issuer: issuer, Window: time.Minute, Nonces: nonces, NonceStep: 2 * time.Minute},
		dpop.Deps{Store: store, Keys: keys, Now: c.now})
	if err != nil {
		t.Fatal(err)
	}
	return v, c
}

func sign(t *testing.T, alg jose.SignatureAlgorithm, key any, pub any, claims map[string]any) string {
	t.Helper()
	opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", pub)
	s, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(claims)
	jws, err := s.Sign(b)
	if err != nil {
		t.Fatal(err)
	}
	out, _ := jws.CompactSerialize()
	return out
}

var jtiSeq int

func claims(htm, htu string, iat time.Time) map[string]any {
	jtiSeq++
	return map[string]any{"jti": "jti-" + time.Now().Format(time.RFC3339Nano) + string(rune('a'+jtiSeq%26)), "htm": htm, "htu": htu, "iat": iat.Unix()}
}

// TestHTUIsComparedNormalised: RFC 3986 §6.2.2 and §6.2.3 forms of the
// same URL are the same htu; a different scheme, host, port or path is
// not; behind a proxy the issuer's path prefix counts, not the request's
// own URL.
func TestHTUIsComparedNormalised(t *testing.T) {
	v, c := newVerifier(t, "https://print.example.com:443/pg/", false)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := &jose.JSONWebKey{Key: &priv.PublicKey}
	for htu, ok := range map[string]bool{
		"https://print.example.com/pg/oauth/token":          true,
		"HTTPS://PRINT.example.COM:443/pg/oauth/token":      true,
		"https://print.example.com/pg/oauth/%74oken":        true,
		"https://print.example.com/pg/x/../oauth/./token":   true,
		"https://print.example.com/pg/oauth/token?a=b#frag": true,
		"http://print.example.com/pg/oauth/token":           false,
		"https://print.example.com:8443/pg/oauth/token":     false,
		"https://evil.example.com/pg/oauth/token":           false,
		"https://print.example.com/oauth/token":             false,
		"https://print.example.com/pg/oauth/token/":         false,
		"https://user@print.example.com/pg/oauth/token":     false,
		"/pg/oauth/token": false,
		"https://print.example.com/pg/oauth/token%2F..%2Fpair": false,
	} {
		p := sign(t, jose.ES256, priv, pub, claims("POST", htu, c.now()))
		_, err := v.Verify(context.Background(), dpop.Request{Proofs: []string{p}, Method: "POST", Path: "/oauth/token"})
		if (err == nil) != ok {
			t.Errorf("htu %q: err %v, want ok=%v", htu, err, ok)
		}
	}
}

// TestKeysMustFitTheirAlgorithm: an RSA key under 2048 bits, or a key of
// another kind than alg says, is refused; RS256 and PS256 with a 2048-bit
// key are taken.
func TestKeysMustFitTheirAlgorithm(t *testing.T) {
	v, c := newVerifier(t, "http://x", false)
	small, _ := rsa.GenerateKey(rand.Reader, 1024)
	big, _ := rsa.GenerateKey(rand.Reader, 2048)
	ec, _ := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	for _, tc := range []struct {
		name string
		alg  jose.SignatureAlgorithm
		key  any
		pub  any
		ok   bool
	}{
		{"RS256 1024", jose.RS256, small, &jose.JSONWebKey{Key: &small.PublicKey}, false},
		{"RS256 2048", jose.RS256, big, &jose.JSONWebKey{Key: &big.PublicKey}, true},
		{"PS256 2048", jose.PS256, big, &jose.JSONWebKey{Key: &big.PublicKey}, true},
		{"ES384", jose.ES384, ec, &jose.JSONWebKey{Key: &ec.PublicKey}, false},
	} {
		p := sign(t, tc.alg, tc.key, tc.pub, claims("GET", "http://x/api/v1/device", c.now()))
		_, err := v.Verify(context.Background(), dpop.Request{Proofs: []string{p}, Method: "GET", Path: "/api/v1/device"})
		if (err == nil) != tc.ok {
			t.Errorf("%s: %v, want ok=%v", tc.name, err, tc.ok)
		}
	}
}

// TestNoncesAreStatelessAndExpire: every verifier with the same master
// key would hand out and accept the same nonce; a nonce is accepted for
// its step and the next, then refused with EDPOPNONCE; the iat window is
// the server's clock's.
func TestNoncesAreStatelessAndExpire(t *testing.T) {
	v, c := newVerifier(t, "http://x", true)
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := &jose.JSONWebKey{Key: &priv.PublicKey}
	try := func(nonce string) error {
		cl := claims("POST", "http://x/oauth/token", c.now())
		if nonce != "" {
			cl["nonce"] = nonce
		}
		_, err := v.Verify(context.Background(), dpop.Request{Proofs: []string{sign(t, jose.ES256, priv, pub, cl)}, Method: "POST", Path: "/oauth/token"})
		return err
	}
	if err := try(""); pairgate.ErrorCode(err) != pairgate.EDPOPNONCE {
		t.Fatalf("no nonce: %v", err)
	}
	n := v.Nonce()
	if n == "" {
		t.Fatal("no nonce handed out")
	}
	if err := try(n); err != nil {
		t.Fatalf("current nonce: %v", err)
	}
	c.add(2 * time.Minute)
	if err := try(n); err != nil {
		t.Fatalf("previous step's nonce: %v", err)
	}
	c.add(2 * time.Minute)
	if err := try(n); pairgate.ErrorCode(err) != pairgate.EDPOPNONCE {
		t.Fatalf("a nonce two steps old: %v", err)
	}
	if err := try(v.Nonce()); err != nil {
		t.Fatalf("the new nonce: %v", err)
	}
}

// FuzzVerify: whatever arrives in DPoP headers, Verify answers a proof or
// an *pairgate.Error of its own codes, never panics, and never accepts a
// proof it did not check (every accepted one has a thumbprint).
func FuzzVerify(f *testing.F) {
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := &jose.JSONWebKey{Key: &priv.PublicKey}
	f.Add("eyJ0eXAiOiJkcG9wK2p3dCIsImFsZyI6Im5vbmUifQ.e30.", "POST", "/oauth/token")
	f.Add("a.b.c", "GET", "/api/v1/device")
	f.Add("", "POST", "/")
	v, c := newVerifier(f, "http://x", false)
	good := func() string {
		opts := (&jose.SignerOptions{}).WithType("dpop+jwt").WithHeader("jwk", pub)
		s, _ := jose.NewSigner(jose.SigningKey{Algorithm: jose.ES256, Key: priv}, opts)
		b, _ := json.Marshal(claims("POST", "http://x/oauth/token", c.now()))
		jws, _ := s.Sign(b)
		out, _ := jws.CompactSerialize()
		return out
	}
	f.Add(good(), "POST", "/oauth/token")
	f.Fuzz(func(t *testing.T, proof, method, path string) {
		p, err := v.Verify(context.Background(), dpop.Request{Proofs: []string{proof}, Method: method, Path: path})
		switch code := pairgate.ErrorCode(err); {
		case err == nil:
			if p == nil || p.JKT == "" {
				t.Fatalf("accepted without a key: %+v", p)
			}
		case code != pairgate.EDPOPPROOF && code != pairgate.EDPOPNONCE:
			t.Fatalf("error %v", err)
		}
	})
}
