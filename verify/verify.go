package verify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/go-jose/go-jose/v4"
)

// Errors a verification ends with; wrapped with what went wrong.
var (
	ErrNoToken           = errors.New("no access token")
	ErrInvalidToken      = errors.New("the access token is invalid")
	ErrExpired           = errors.New("the access token has expired")
	ErrRevoked           = errors.New("the access token's authorization was revoked")
	ErrInsufficientScope = errors.New("the access token lacks a required scope")
	// ErrStatusUnavailable: the token's status cannot be known — the list
	// cannot be fetched and the cached one is older than MaxStaleness.
	ErrStatusUnavailable = errors.New("the token status list cannot be fetched")
	ErrInvalidProof      = errors.New("the DPoP proof is invalid")
)

// Config configures a Verifier.
type Config struct {
	// Issuer is pairgate's issuer URL: the iss of its tokens, and where
	// its metadata (and so its JWKS) is found. Required.
	Issuer string
	// Audience is the aud tokens must carry; empty: the issuer, pairgate's
	// default.
	Audience string
	// Scopes must all be in a token's scope.
	Scopes []string
	// MaxStaleness is how old a cached status list may grow while pairgate
	// cannot be reached before tokens are refused; 0: 10 minutes.
	MaxStaleness time.Duration
	// Leeway allows for clocks that disagree, on exp and on DPoP proofs'
	// iat; 0: 30 seconds; negative: none (the issuer itself, on its own
	// clock).
	Leeway time.Duration
	// HTTPClient fetches metadata, keys and lists; nil: a client with a
	// 10 s timeout.
	HTTPClient *http.Client
	// Keys, if set, supplies the verification keys instead of the
	// issuer's JWKS (pairgate itself passes its own key ring).
	Keys KeySet
	// SkipStatus leaves the status list unchecked: for a caller that
	// knows the token's status better (pairgate itself, from its store).
	SkipStatus bool
	// ProofReplay remembers DPoP proofs' jti values; nil: in this
	// process's memory. Several replicas of a resource server share one
	// to catch a proof replayed to another replica.
	ProofReplay ReplayCache
	// RequestURL is the URL a request was sent to, as the client saw it
	// (a DPoP proof's htu); nil: the scheme, Host and path of the request,
	// which is right unless a proxy rewrites them.
	RequestURL func(*http.Request) string
	// Now is the clock; nil: time.Now.
	Now func() time.Time
}

// KeySet finds a verification key by its key id.
type KeySet interface {
	Key(ctx context.Context, kid string) (*jose.JSONWebKey, error)
}

// Token is a verified access token.
type Token struct {
	Raw       string
	Issuer    string
	Subject   string // the device in device mode, the approving person in user mode
	Audience  string
	ClientID  string
	DeviceID  string
	SessionID string // the device's authorization (sid)
	ID        string // jti
	Scopes    []string
	IssuedAt  time.Time
	ExpiresAt time.Time
	// JKT is the SHA-256 thumbprint of the device key the token is bound
	// to (cnf.jkt), "" for a Bearer token.
	JKT string
}

// HasScope reports whether the token was granted scope.
func (t *Token) HasScope(scope string) bool { return slices.Contains(t.Scopes, scope) }

// Verifier verifies access tokens. It is safe for concurrent use.
type Verifier struct {
	cfg    Config
	keys   KeySet
	status *statusCache
	proofs ReplayCache
}

// New returns a Verifier. It does not contact pairgate: keys and lists are
// fetched when first needed.
func New(cfg Config) (*Verifier, error) {
	if cfg.Issuer == "" {
		return nil, errors.New("verify: Config.Issuer is required")
	}
	cfg.Issuer = strings.TrimRight(cfg.Issuer, "/")
	if cfg.Audience == "" {
		cfg.Audience = cfg.Issuer
	}
	if cfg.MaxStaleness <= 0 {
		cfg.MaxStaleness = 10 * time.Minute
	}
	switch {
	case cfg.Leeway == 0:
		cfg.Leeway = 30 * time.Second
	case cfg.Leeway < 0:
		cfg.Leeway = 0
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = &http.Client{Timeout: 10 * time.Second}
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.RequestURL == nil {
		cfg.RequestURL = requestURL
	}
	v := &Verifier{cfg: cfg, keys: cfg.Keys, proofs: cfg.ProofReplay}
	if v.keys == nil {
		v.keys = newJWKS(cfg.Issuer, cfg.HTTPClient, cfg.Now)
	}
	if v.proofs == nil {
		v.proofs = newMemoryReplay(cfg.Now)
	}
	v.status = newStatusCache(v)
	return v, nil
}

// accessTokenAlgs are the algorithms pairgate signs with.
var accessTokenAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA}

type claims struct {
	Issuer    string   `json:"iss"`
	Subject   string   `json:"sub"`
	Audience  audience `json:"aud"`
	ClientID  string   `json:"client_id"`
	Scope     string   `json:"scope"`
	IssuedAt  int64    `json:"iat"`
	ExpiresAt int64    `json:"exp"`
	ID        string   `json:"jti"`
	DeviceID  string   `json:"device_id"`
	SessionID string   `json:"sid"`
	Cnf       *struct {
		JKT string `json:"jkt"`
	} `json:"cnf"`
	Status *statusRef `json:"status"`
}

type statusRef struct {
	StatusList *struct {
		Idx *int64 `json:"idx"`
		URI string `json:"uri"`
	} `json:"status_list"`
}

// audience is aud as a string or an array of strings (RFC 7519 §4.1.3).
type audience []string

func (a *audience) UnmarshalJSON(b []byte) error {
	var one string
	if err := json.Unmarshal(b, &one); err == nil {
		*a = audience{one}
		return nil
	}
	var many []string
	if err := json.Unmarshal(b, &many); err != nil {
		return err
	}
	*a = many
	return nil
}

// Check verifies the token itself — the signature, iss, aud, exp, the
// required scopes and its status — but not how it was presented: for a
// token bound to a key (Token.JKT), checking the request's DPoP proof is
// the caller's part. VerifyRequest does both.
func (v *Verifier) Check(ctx context.Context, token string) (*Token, error) { return v.verify(ctx, token) }

// Verify checks an access token (the signature, iss, aud, exp, the
// required scopes, and its status) but not a DPoP proof: a token bound to
// a key is refused here, because only VerifyRequest sees the proof.
func (v *Verifier) Verify(ctx context.Context, token string) (*Token, error) {
	t, err := v.verify(ctx, token)
	if err != nil {
		return nil, err
	}
	if t.JKT != "" {
		return nil, fmt.Errorf("%w: it is bound to a device key and needs a DPoP proof (use VerifyRequest)", ErrInvalidToken)
	}
	return t, nil
}

func (v *Verifier) verify(ctx context.Context, token string) (*Token, error) {
	if token == "" {
		return nil, ErrNoToken
	}
	if len(token) > 8192 {
		return nil, fmt.Errorf("%w: too long", ErrInvalidToken)
	}
	jws, err := jose.ParseSignedCompact(token, accessTokenAlgs)
	if err != nil || len(jws.Signatures) != 1 {
		return nil, fmt.Errorf("%w: not a signed JWT", ErrInvalidToken)
	}
	h := jws.Signatures[0].Header
	if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != "at+jwt" {
		return nil, fmt.Errorf("%w: not an access token (typ %q)", ErrInvalidToken, typ)
	}
	key, err := v.keys.Key(ctx, h.KeyID)
	if err != nil {
		return nil, err
	}
	if key.Algorithm != "" && key.Algorithm != h.Algorithm {
		return nil, fmt.Errorf("%w: algorithm %s does not match its key", ErrInvalidToken, h.Algorithm)
	}
	payload, err := jws.Verify(key)
	if err != nil {
		return nil, fmt.Errorf("%w: bad signature", ErrInvalidToken)
	}
	var c claims
	if err := json.Unmarshal(payload, &c); err != nil {
		return nil, fmt.Errorf("%w: claims do not decode", ErrInvalidToken)
	}
	now := v.cfg.Now()
	switch {
	case c.Issuer != v.cfg.Issuer:
		return nil, fmt.Errorf("%w: issuer %q", ErrInvalidToken, c.Issuer)
	case !slices.Contains(c.Audience, v.cfg.Audience):
		return nil, fmt.Errorf("%w: not for this audience", ErrInvalidToken)
	case c.ID == "" || c.ExpiresAt == 0:
		return nil, fmt.Errorf("%w: no jti or exp", ErrInvalidToken)
	case !now.Before(time.Unix(c.ExpiresAt, 0).Add(v.cfg.Leeway)):
		return nil, ErrExpired
	}
	t := &Token{Raw: token, Issuer: c.Issuer, Subject: c.Subject, Audience: v.cfg.Audience, ClientID: c.ClientID,
		DeviceID: c.DeviceID, SessionID: c.SessionID, ID: c.ID, Scopes: strings.Fields(c.Scope),
		IssuedAt: time.Unix(c.IssuedAt, 0), ExpiresAt: time.Unix(c.ExpiresAt, 0)}
	if c.Cnf != nil {
		if c.Cnf.JKT == "" {
			return nil, fmt.Errorf("%w: cnf without jkt", ErrInvalidToken)
		}
		t.JKT = c.Cnf.JKT
	}
	for _, s := range v.cfg.Scopes {
		if !t.HasScope(s) {
			return nil, fmt.Errorf("%w: %s", ErrInsufficientScope, s)
		}
	}
	if !v.cfg.SkipStatus {
		if c.Status == nil || c.Status.StatusList == nil || c.Status.StatusList.Idx == nil {
			return nil, fmt.Errorf("%w: it carries no status, so its revocation could not be seen", ErrInvalidToken)
		}
		if err := v.status.check(ctx, c.Status.StatusList.URI, *c.Status.StatusList.Idx); err != nil {
			return nil, err
		}
	}
	return t, nil
}
