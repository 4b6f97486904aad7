package client

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Key algorithms a device key can have.
const (
	KeyES256 = "ES256" // ECDSA P-256, the default: every DPoP server takes it
	KeyEdDSA = "EdDSA" // Ed25519
)

// DeviceKey is the key pair a device proves its identity with (DPoP,
// RFC 9449): the server binds the device, its refresh token and its access
// tokens to the key's thumbprint, and a request about the device counts
// only with a proof signed by it. Whoever copies the tokens, or reads the
// device's hardware id, cannot act as the device without it. It is kept
// in the credentials, which only the device's account may read.
type DeviceKey struct {
	priv jose.JSONWebKey
	pub  jose.JSONWebKey
	sig  jose.Signer
	jkt  string
}

// NewDeviceKey makes a new key of the given algorithm, KeyES256 when
// empty.
func NewDeviceKey(alg string) (*DeviceKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "", KeyES256:
		alg = KeyES256
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyEdDSA:
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		return nil, fmt.Errorf("%w: device key algorithm %q: want %s or %s", ErrRejected, alg, KeyES256, KeyEdDSA)
	}
	if err != nil {
		return nil, fmt.Errorf("make device key: %w", err)
	}
	return newDeviceKey(jose.JSONWebKey{Key: priv, Algorithm: alg, Use: "sig"})
}

func newDeviceKey(priv jose.JSONWebKey) (*DeviceKey, error) {
	if priv.IsPublic() || !priv.Valid() {
		return nil, errors.New("device key: not a private key")
	}
	alg := jose.SignatureAlgorithm(priv.Algorithm)
	if alg != jose.ES256 && alg != jose.EdDSA {
		return nil, fmt.Errorf("device key: algorithm %q: want %s or %s", priv.Algorithm, KeyES256, KeyEdDSA)
	}
	pub := priv.Public()
	tp, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	// The proof's header carries the public key (RFC 9449 §4.2); go-jose
	// embeds only the public half.
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: priv.Key},
		(&jose.SignerOptions{EmbedJWK: true}).WithType("dpop+jwt"))
	if err != nil {
		return nil, fmt.Errorf("device key: %w", err)
	}
	return &DeviceKey{priv: priv, pub: pub, sig: sig, jkt: base64.RawURLEncoding.EncodeToString(tp)}, nil
}

// Algorithm is the key's algorithm, KeyES256 or KeyEdDSA.
func (k *DeviceKey) Algorithm() string { return k.priv.Algorithm }

// Thumbprint is the key's RFC 7638 SHA-256 thumbprint, base64url: what the
// server binds the device to (cnf.jkt).
func (k *DeviceKey) Thumbprint() string { return k.jkt }

// Public returns the public half as a JWK.
func (k *DeviceKey) Public() jose.JSONWebKey { return k.pub }

// MarshalJSON stores the private key as a JWK.
func (k *DeviceKey) MarshalJSON() ([]byte, error) { return json.Marshal(&k.priv) }

// UnmarshalJSON reads a key MarshalJSON stored.
func (k *DeviceKey) UnmarshalJSON(b []byte) error {
	var priv jose.JSONWebKey
	if err := json.Unmarshal(b, &priv); err != nil {
		return fmt.Errorf("device key: %w", err)
	}
	nk, err := newDeviceKey(priv)
	if err != nil {
		return err
	}
	*k = *nk
	return nil
}

// Proof returns a DPoP proof (RFC 9449 §4.2) for one request: its method
// and URL (query and fragment left out, as htu wants), the access token it
// presents ("" for none; its hash is ath) and the server's nonce ("" for
// none). Every proof has a fresh jti.
func (k *DeviceKey) Proof(method, target, accessToken, nonce string) (string, error) {
	return k.proofAt(method, target, accessToken, nonce, time.Now())
}

func (k *DeviceKey) proofAt(method, target, accessToken, nonce string, now time.Time) (string, error) {
	u, err := url.Parse(target)
	if err != nil {
		return "", fmt.Errorf("dpop proof: %w", err)
	}
	u.RawQuery, u.Fragment, u.RawFragment = "", "", ""
	jti := make([]byte, 16)
	rand.Read(jti)
	claims := map[string]any{
		"jti": base64.RawURLEncoding.EncodeToString(jti),
		"htm": method,
		"htu": u.String(),
		"iat": now.Unix(),
	}
	if accessToken != "" {
		sum := sha256.Sum256([]byte(accessToken))
		claims["ath"] = base64.RawURLEncoding.EncodeToString(sum[:])
	}
	if nonce != "" {
		claims["nonce"] = nonce
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	jws, err := k.sig.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("dpop proof: %w", err)
	}
	return jws.CompactSerialize()
}

// dpopTransport adds a fresh DPoP proof to every request it carries. It
// retries a request once when the server refuses its proof for a reason a
// new proof can fix: the server wants a nonce (RFC 9449 §8,
// use_dpop_nonce), or the device's clock is off and the proof's iat with
// it (the server's Date tells by how much). golang.org/x/oauth2 sends
// token requests through it when it is the context's HTTP client.
type dpopTransport struct {
	key         *DeviceKey
	base        http.RoundTripper
	accessToken string // presented in Authorization; its hash goes in ath
	servers     *servers
}

// servers remembers, per server, the last nonce it handed out and how far
// its clock is from ours.
type servers struct {
	mu sync.Mutex
	m  map[string]serverState // by origin
}

type serverState struct {
	nonce string
	skew  time.Duration
}

func (s *servers) get(origin string) serverState {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.m[origin]
}

// learn takes what a response says about its server.
func (s *servers) learn(origin string, resp *http.Response, sent time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.m == nil {
		s.m = map[string]serverState{}
	}
	st := s.m[origin]
	if n := resp.Header.Get("DPoP-Nonce"); n != "" {
		st.nonce = n
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		// Date has a resolution of a second and the answer took a while:
		// only a difference well beyond that is the clock's.
		st.skew = 0
		if off := d.Sub(sent); off > maxIgnoredSkew || off < -maxIgnoredSkew {
			st.skew = off
		}
	}
	s.m[origin] = st
}

const maxIgnoredSkew = 5 * time.Second

// knownServers is shared by every transport of the process: a nonce and a
// clock are the server's, whichever request learnt them.
var knownServers = &servers{}

// maxRetryBody bounds what is kept of a request body to send it again.
const maxRetryBody = 1 << 20

func (t *dpopTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	base := t.base
	if base == nil {
		base = http.DefaultTransport
	}
	origin := req.URL.Scheme + "://" + req.URL.Host
	var body []byte
	if req.Body != nil && req.Body != http.NoBody {
		b, err := io.ReadAll(io.LimitReader(req.Body, maxRetryBody+1))
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		if len(b) > maxRetryBody {
			return nil, errors.New("dpop: request body too large")
		}
		body = b
	}
	send := func(st serverState) (*http.Response, error) {
		r := req.Clone(req.Context())
		if body != nil {
			r.Body = io.NopCloser(bytes.NewReader(body))
			r.ContentLength = int64(len(body))
		}
		now := time.Now()
		proof, err := t.key.proofAt(r.Method, r.URL.String(), t.accessToken, st.nonce, now.Add(st.skew))
		if err != nil {
			return nil, err
		}
		r.Header.Set("DPoP", proof)
		resp, err := base.RoundTrip(r)
		if err != nil {
			return nil, err
		}
		t.servers.learn(origin, resp, now)
		return resp, nil
	}
	used := t.servers.get(origin)
	resp, err := send(used)
	if err != nil {
		return nil, err
	}
	now := t.servers.get(origin)
	switch proofError(resp) {
	case "use_dpop_nonce":
		if now.nonce == "" || now.nonce == used.nonce {
			return resp, nil
		}
	case "invalid_dpop_proof":
		if d := now.skew - used.skew; d <= maxIgnoredSkew && d >= -maxIgnoredSkew {
			return resp, nil
		}
	default:
		return resp, nil
	}
	// One retry: a refused proof changed nothing at the server.
	io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	resp.Body.Close()
	return send(now)
}

// proofError returns the error a server gave for a request's proof: in
// the token endpoint's JSON error (400, RFC 9449 §5 and §8) or a
// resource's WWW-Authenticate (401, §7.1 and §9); "" for anything else.
func proofError(resp *http.Response) string {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		for _, v := range resp.Header.Values("WWW-Authenticate") {
			for _, e := range []string{"use_dpop_nonce", "invalid_dpop_proof"} {
				if strings.Contains(v, `error="`+e+`"`) {
					return e
				}
			}
		}
	case http.StatusBadRequest:
		b, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
		resp.Body.Close()
		resp.Body = io.NopCloser(bytes.NewReader(b))
		if err != nil {
			return ""
		}
		var e struct {
			Error string `json:"error"`
		}
		if json.Unmarshal(b, &e) == nil && (e.Error == "use_dpop_nonce" || e.Error == "invalid_dpop_proof") {
			return e.Error
		}
	}
	return ""
}

// dpopClient returns an HTTP client like hc (http.DefaultClient when nil)
// whose requests carry proofs by key, presenting accessToken.
func dpopClient(hc *http.Client, key *DeviceKey, accessToken string) *http.Client {
	if hc == nil {
		hc = http.DefaultClient
	}
	c := *hc
	c.Transport = &dpopTransport{key: key, base: hc.Transport, accessToken: accessToken, servers: knownServers}
	return &c
}
