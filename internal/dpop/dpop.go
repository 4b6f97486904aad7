package dpop

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Algorithms are the proof signature algorithms accepted, advertised as
// dpop_signing_alg_values_supported: asymmetric only (RFC 9449 §4.3 point
// 5), never none or an HMAC. ES256 and EdDSA are what pairgate's own client
// makes; RS256 and PS256 are there for devices whose libraries offer
// nothing else (RSA keys of 2048 bits at least).
var Algorithms = []string{"ES256", "EdDSA", "RS256", "PS256"}

var algorithms = []jose.SignatureAlgorithm{jose.ES256, jose.EdDSA, jose.RS256, jose.PS256}

// Header is the HTTP header that carries a proof (RFC 9449 §4.1), and the
// one that carries a server nonce (§8).
const (
	Header      = "DPoP"
	NonceHeader = "DPoP-Nonce"
)

// Limits of what is parsed at all: a proof with an RSA 4096 key is about
// 1.5 kB.
const (
	maxProofLen = 8192
	maxJTILen   = 256
)

// KindProof separates the replay cache's keyed hashes from every other.
const kindProof = "dpop_proof"

// kindNonce separates the nonces' MACs from every other keyed hash.
const kindNonce = "dpop_nonce"

// Config configures a Verifier.
type Config struct {
	// Issuer is the public base URL: proofs name the URL the device
	// called (htu), which behind a proxy is not the request's own URL.
	Issuer string
	// Window is how far a proof's iat may be from the server's clock, on
	// either side (RFC 9449 §11.1).
	Window time.Duration
	// Nonces asks for server nonces (§8) in every proof.
	Nonces bool
	// NonceStep is how long one nonce is handed out; each is accepted for
	// its step and the next, so between one and two steps.
	NonceStep time.Duration
}

// Deps are what a Verifier works with; every field is required.
type Deps struct {
	Store pairgate.Store // the replay cache, shared by replicas
	Keys  *secret.Keys   // keys the replay cache's hashes and the nonces
	Now   func() time.Time
}

// Verifier checks DPoP proofs (RFC 9449 §4.3). It is safe for concurrent
// use, and keeps no state of its own: replicas agree through the store
// (the replay cache) and the master key (nonces).
type Verifier struct {
	cfg    Config
	issuer *url.URL // normalised
	store  pairgate.Store
	keys   *secret.Keys
	now    func() time.Time
}

// New returns a Verifier.
func New(cfg Config, d Deps) (*Verifier, error) {
	if d.Store == nil || d.Keys == nil || d.Now == nil {
		return nil, errors.New("dpop: every dependency is required")
	}
	if cfg.Window <= 0 || (cfg.Nonces && cfg.NonceStep <= 0) {
		return nil, errors.New("dpop: the iat window and the nonce step must be positive")
	}
	u, err := url.Parse(strings.TrimRight(cfg.Issuer, "/"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("dpop: the issuer must be an absolute http(s) URL")
	}
	return &Verifier{cfg: cfg, issuer: normalize(u), store: d.Store, keys: d.Keys, now: d.Now}, nil
}

// Request is the HTTP request a proof came with.
type Request struct {
	// Proofs are the values of every DPoP header of the request; none for
	// a request without a proof. More than one is an invalid proof
	// (RFC 9449 §4.3 point 1).
	Proofs []string
	// Method is the request's method (htm).
	Method string
	// Path is the request's path. The URL the proof must name (htu) is the
	// issuer's scheme and host with this path.
	Path string
	// URL, when set, is the absolute URL the proof must name instead
	// (htu): a request to a listener of its own, such as the IPP
	// endpoint, whose URL is not under the issuer.
	URL string
	// AccessToken is the access token the request presents, for ath
	// (§4.3 point 11); "" where none goes with the proof (the token
	// endpoint).
	AccessToken string
}

// Present reports whether the request carries a proof at all.
func (r Request) Present() bool { return len(r.Proofs) > 0 }

// Proof is a verified proof.
type Proof struct {
	// JKT is the RFC 7638 SHA-256 thumbprint of the proof's key, base64url
	// without padding: what devices, codes, families and access tokens
	// (cnf.jkt, RFC 9449 §6.1) are bound to.
	JKT string
	// Algorithm is the proof's alg.
	Algorithm string
}

func invalid(format string, args ...any) error {
	return pairgate.Errorf(pairgate.EDPOPPROOF, "invalid DPoP proof: "+format, args...)
}

var errNeedNonce = pairgate.Errorf(pairgate.EDPOPNONCE, "a DPoP nonce is required; retry with the one in the DPoP-Nonce header")

// Verify checks the request's proof and returns it; nil, nil when the
// request carries none (whether one is required is the caller's rule).
// Every check of RFC 9449 §4.3 is made, and the proof's jti is recorded
// in the replay cache last, so that a proof refused for another reason
// does not use it up. Errors are EDPOPPROOF (invalid_dpop_proof), or
// EDPOPNONCE (use_dpop_nonce) when nonces are on and the proof carries no
// current one; the store's errors pass through.
func (v *Verifier) Verify(ctx context.Context, r Request) (*Proof, error) {
	switch len(r.Proofs) {
	case 0:
		return nil, nil
	case 1:
	default:
		return nil, invalid("more than one DPoP header")
	}
	raw := strings.TrimSpace(r.Proofs[0])
	if raw == "" || len(raw) > maxProofLen || strings.Count(raw, ".") != 2 {
		return nil, invalid("not a compact JWS")
	}
	// Only the asymmetric algorithms are parsed at all: none, HS256 and
	// anything else fail here.
	jws, err := jose.ParseSignedCompact(raw, algorithms)
	if err != nil {
		return nil, invalid("unsupported alg or malformed JWS")
	}
	if len(jws.Signatures) != 1 {
		return nil, invalid("not one signature")
	}
	h := jws.Signatures[0].Protected
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "dpop+jwt" {
		return nil, invalid("typ must be 'dpop+jwt'")
	}
	jwk := h.JSONWebKey
	// go-jose refuses private key material in a jwk header already; this
	// holds the line whatever it does.
	if jwk == nil || !jwk.Valid() || !jwk.IsPublic() {
		return nil, invalid("the header must carry the public key (jwk), and nothing private")
	}
	if err := keyFits(h.Algorithm, jwk); err != nil {
		return nil, err
	}
	payload, err := jws.Verify(jwk)
	if err != nil {
		return nil, invalid("the signature does not verify with the header's key")
	}
	var c struct {
		JTI   string      `json:"jti"`
		HTM   string      `json:"htm"`
		HTU   string      `json:"htu"`
		IAT   json.Number `json:"iat"`
		ATH   string      `json:"ath"`
		Nonce string      `json:"nonce"`
	}
	dec := json.NewDecoder(strings.NewReader(string(payload)))
	dec.UseNumber()
	if err := dec.Decode(&c); err != nil {
		return nil, invalid("the claims are not a JSON object")
	}
	if c.JTI == "" || len(c.JTI) > maxJTILen {
		return nil, invalid("jti must be present and at most %d characters", maxJTILen)
	}
	if c.HTM != r.Method {
		return nil, invalid("htm does not match the request method")
	}
	if !v.sameURI(c.HTU, r.Path, r.URL) {
		return nil, invalid("htu does not match the request URI")
	}
	iat, err := strconv.ParseFloat(c.IAT.String(), 64)
	if err != nil || c.IAT == "" {
		return nil, invalid("iat must be a number")
	}
	now := v.now()
	issued := time.Unix(int64(iat), 0)
	if issued.Before(now.Add(-v.cfg.Window)) || issued.After(now.Add(v.cfg.Window)) {
		return nil, invalid("iat is outside the accepted window; check the device clock")
	}
	if r.AccessToken != "" {
		sum := sha256.Sum256([]byte(r.AccessToken))
		want := base64.RawURLEncoding.EncodeToString(sum[:])
		if c.ATH == "" {
			return nil, invalid("ath is required with an access token")
		}
		if !hmac.Equal([]byte(c.ATH), []byte(want)) {
			return nil, invalid("ath does not match the access token")
		}
	}
	if v.cfg.Nonces && !v.validNonce(c.Nonce, now) {
		return nil, errNeedNonce
	}
	tp, err := jwk.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, invalid("cannot compute the key's thumbprint")
	}
	jkt := base64.RawURLEncoding.EncodeToString(tp)
	// §11.1: a jti is unique per key; the hash covers both. It is kept
	// until the proof's iat leaves the window, after which the proof is
	// refused as stale anyway.
	first, err := v.store.UseDPoPProof(ctx, v.keys.Hash(kindProof, jkt+"\x00"+c.JTI), issued.Add(v.cfg.Window+time.Second))
	if err != nil {
		return nil, err
	}
	if !first {
		return nil, invalid("this proof (its jti) was already used")
	}
	return &Proof{JKT: jkt, Algorithm: h.Algorithm}, nil
}

// keyFits checks that the key is of the kind its alg needs (RFC 9449
// §4.3 point 5), and that the jwk's own alg, when it has one, agrees.
func keyFits(alg string, k *jose.JSONWebKey) error {
	if k.Algorithm != "" && k.Algorithm != alg {
		return invalid("the jwk's alg differs from the header's")
	}
	ok := false
	switch key := k.Key.(type) {
	case *ecdsa.PublicKey:
		ok = alg == "ES256" && key.Curve == elliptic.P256()
	case ed25519.PublicKey:
		ok = alg == "EdDSA"
	case *rsa.PublicKey:
		ok = (alg == "RS256" || alg == "PS256") && key.N.BitLen() >= 2048
	}
	if !ok {
		return invalid("the key does not fit alg '%s'", alg)
	}
	return nil
}

// sameURI compares a proof's htu with the issuer's origin and the request
// path (or with full, when given), after RFC 3986 §6.2.2 and §6.2.3 normalisation (case of scheme and
// host, default ports, percent-encoding, dot segments), ignoring the
// query and fragment (RFC 9449 §4.3 point 9).
func (v *Verifier) sameURI(htu, path, full string) bool {
	if htu == "" || len(htu) > 2048 {
		return false
	}
	u, err := url.Parse(htu)
	if err != nil || !u.IsAbs() || u.Opaque != "" || u.User != nil {
		return false
	}
	want := *v.issuer
	want.Path = strings.TrimRight(v.issuer.Path, "/") + path
	if full != "" {
		f, err := url.Parse(full)
		if err != nil || !f.IsAbs() {
			return false
		}
		want = *normalize(f)
	}
	want.RawPath = ""
	got := normalize(u)
	return got.Scheme == want.Scheme && got.Host == want.Host && cleanPath(got.Path) == cleanPath(normalize(&want).Path)
}

// normalize lower-cases scheme and host, drops a default port, the query
// and the fragment. url.URL.Path is already percent-decoded, which folds
// the encodings of one character together.
func normalize(u *url.URL) *url.URL {
	scheme := strings.ToLower(u.Scheme)
	host, port := strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if port != "" {
		host = net.JoinHostPort(host, port)
	} else if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	n := &url.URL{Scheme: scheme, Host: host, Path: u.Path}
	if n.Path == "" {
		n.Path = "/"
	}
	return n
}

// cleanPath removes dot segments (RFC 3986 §5.2.4) and keeps a trailing
// slash, which tells /oauth/pair/ from /oauth/pair.
func cleanPath(p string) string {
	segs := strings.Split(p, "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		switch s {
		case ".":
			if i == len(segs)-1 {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if i == len(segs)-1 {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	return strings.Join(out, "/")
}

// Nonce returns the nonce to hand out now (RFC 9449 §8), "" when nonces
// are off. It is a MAC of the current time step under the master key, so
// every replica hands out and accepts the same nonces without storing
// any.
func (v *Verifier) Nonce() string {
	if !v.cfg.Nonces {
		return ""
	}
	return v.nonceAt(v.step(v.now()))
}

// SetHeaders sets what an answer to a request that may carry a proof
// tells the device: the current nonce, when nonces are on (RFC 9449 §8.2
// lets a server hand one out with any answer), and Date from the clock
// proofs are judged by, so that a device whose clock is wrong (printers
// often have no clock that survives a power cut) can correct its iat.
func (v *Verifier) SetHeaders(h http.Header) {
	if n := v.Nonce(); n != "" {
		h.Set(NonceHeader, n)
	}
	h.Set("Date", v.now().UTC().Format(http.TimeFormat))
}

// NoncesOn reports whether proofs must carry a server nonce.
func (v *Verifier) NoncesOn() bool { return v.cfg.Nonces }

func (v *Verifier) step(t time.Time) int64 { return t.UnixNano() / int64(v.cfg.NonceStep) }

func (v *Verifier) nonceAt(step int64) string {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(step))
	return base64.RawURLEncoding.EncodeToString(v.keys.Hash(kindNonce, string(b[:]))[:18])
}

func (v *Verifier) validNonce(n string, now time.Time) bool {
	if n == "" {
		return false
	}
	s := v.step(now)
	return hmac.Equal([]byte(n), []byte(v.nonceAt(s))) || hmac.Equal([]byte(n), []byte(v.nonceAt(s-1)))
}

// Thumbprint returns the RFC 7638 SHA-256 thumbprint of a public key as
// JKT holds it.
func Thumbprint(k *jose.JSONWebKey) (string, error) {
	tp, err := k.Thumbprint(crypto.SHA256)
	if err != nil {
		return "", err
	}
	return base64.RawURLEncoding.EncodeToString(tp), nil
}
