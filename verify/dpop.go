package verify

import (
	"context"
	"crypto"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// ReplayCache remembers the jti of DPoP proofs (RFC 9449 §11.1), so that a
// proof is accepted once.
type ReplayCache interface {
	// Seen records jti, to be kept until expires, and reports whether it
	// was recorded before.
	Seen(ctx context.Context, jti string, expires time.Time) (bool, error)
}

// proofAlgs are the asymmetric algorithms a DPoP proof may use: never none,
// never a MAC.
var proofAlgs = []jose.SignatureAlgorithm{jose.ES256, jose.ES384, jose.EdDSA, jose.RS256, jose.PS256}

// checkProof verifies the DPoP proof of r for the access token tok bound to
// jkt (RFC 9449 §4.3, §7.1).
func (v *Verifier) checkProof(ctx context.Context, r *http.Request, tok, jkt string) error {
	proofs := r.Header.Values("DPoP")
	if len(proofs) != 1 {
		return fmt.Errorf("%w: want exactly one DPoP header, got %d", ErrInvalidProof, len(proofs))
	}
	jws, err := jose.ParseSignedCompact(proofs[0], proofAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return fmt.Errorf("%w: not a signed JWT with an asymmetric algorithm", ErrInvalidProof)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return fmt.Errorf("%w: typ %q", ErrInvalidProof, typ)
	}
	if h.JSONWebKey == nil || !h.JSONWebKey.IsPublic() || !h.JSONWebKey.Valid() {
		return fmt.Errorf("%w: the header must carry a public jwk", ErrInvalidProof)
	}
	payload, err := jws.Verify(h.JSONWebKey)
	if err != nil {
		return fmt.Errorf("%w: bad signature", ErrInvalidProof)
	}
	thumb, err := h.JSONWebKey.Thumbprint(crypto.SHA256)
	if err != nil || base64.RawURLEncoding.EncodeToString(thumb) != jkt {
		return fmt.Errorf("%w: signed by another key than the token's", ErrInvalidProof)
	}
	var c struct {
		JTI string `json:"jti"`
		HTM string `json:"htm"`
		HTU string `json:"htu"`
		IAT int64  `json:"iat"`
		ATH string `json:"ath"`
	}
	if err := json.Unmarshal(payload, &c); err != nil {
		return fmt.Errorf("%w: claims do not decode", ErrInvalidProof)
	}
	now := v.cfg.Now()
	iat := time.Unix(c.IAT, 0)
	sum := sha256.Sum256([]byte(tok))
	switch {
	case c.JTI == "" || len(c.JTI) > 256:
		return fmt.Errorf("%w: no usable jti", ErrInvalidProof)
	case c.HTM != r.Method:
		return fmt.Errorf("%w: htm %q for a %s request", ErrInvalidProof, c.HTM, r.Method)
	case !sameURL(c.HTU, v.cfg.RequestURL(r)):
		return fmt.Errorf("%w: htu is not this request's URL", ErrInvalidProof)
	case c.IAT == 0 || iat.Before(now.Add(-v.cfg.Leeway-time.Minute)) || iat.After(now.Add(v.cfg.Leeway)):
		return fmt.Errorf("%w: iat outside the accepted window", ErrInvalidProof)
	case c.ATH != base64.RawURLEncoding.EncodeToString(sum[:]):
		return fmt.Errorf("%w: ath is not the hash of this access token", ErrInvalidProof)
	}
	seen, err := v.proofs.Seen(ctx, jkt+"\x00"+c.JTI, iat.Add(v.cfg.Leeway+2*time.Minute))
	if err != nil {
		return fmt.Errorf("%w: %v", ErrStatusUnavailable, err)
	}
	if seen {
		return fmt.Errorf("%w: the proof was used before", ErrInvalidProof)
	}
	return nil
}

// sameURL compares two URLs without query and fragment, normalised (RFC
// 9449 §4.3 point 9: scheme and host case-insensitive, default ports).
func sameURL(a, b string) bool {
	na, ok1 := normalURL(a)
	nb, ok2 := normalURL(b)
	return ok1 && ok2 && na == nb
}

func normalURL(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" {
		return "", false
	}
	scheme, host := strings.ToLower(u.Scheme), strings.ToLower(u.Host)
	host = strings.TrimSuffix(host, map[string]string{"https": ":443", "http": ":80"}[scheme])
	path := u.EscapedPath()
	if path == "" {
		path = "/"
	}
	return scheme + "://" + host + path, true
}

// requestURL is the URL r was sent to, as far as r can tell.
func requestURL(r *http.Request) string {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	return scheme + "://" + r.Host + r.URL.EscapedPath()
}

// memoryReplay remembers proof ids in this process.
type memoryReplay struct {
	now func() time.Time
	mu  sync.Mutex
	m   map[string]time.Time
}

func newMemoryReplay(now func() time.Time) *memoryReplay {
	return &memoryReplay{now: now, m: map[string]time.Time{}}
}

func (m *memoryReplay) Seen(_ context.Context, jti string, expires time.Time) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if exp, ok := m.m[jti]; ok && now.Before(exp) {
		return true, nil
	}
	if len(m.m) > 100000 {
		for k, exp := range m.m {
			if !now.Before(exp) {
				delete(m.m, k)
			}
		}
	}
	m.m[jti] = expires
	return false, nil
}
