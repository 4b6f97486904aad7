package grants

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Config holds the lifetimes and intervals of the grants. Every field is
// required: the defaults live in one place, the server's configuration.
type Config struct {
	Issuer        string        // base URL for verification_uri and auth_url
	DeviceCodeTTL time.Duration // RFC 8628 expires_in
	PollInterval  time.Duration // RFC 8628 interval
	RefreshTTL    time.Duration // a refresh token unused this long dies
	RefreshGrace  time.Duration // window for retrying a refresh whose response was lost (0: none)
	// ApprovalRoles are the roles whose people may approve device
	// requests (phishing.go); at least one.
	ApprovalRoles []string
}

func (c Config) validate() error {
	if c.Issuer == "" || c.DeviceCodeTTL <= 0 || c.PollInterval <= 0 || c.RefreshTTL <= 0 || c.RefreshGrace < 0 {
		return errors.New("grants: Config needs an issuer and positive lifetimes")
	}
	if len(c.ApprovalRoles) == 0 {
		return errors.New("grants: Config needs the roles that may approve device requests")
	}
	for _, r := range c.ApprovalRoles {
		if !pairgate.ValidRole(r) {
			return fmt.Errorf("grants: approval role %q is not a role", r)
		}
	}
	return nil
}

// Deps are what the grants work with. Every field is required: there is
// no collaborator whose absence would quietly switch a rule off.
type Deps struct {
	Store   pairgate.Store
	Keys    *secret.Keys
	Tokens  *accesstoken.Issuer
	Limiter *ratelimit.Limiter // the guessing limits of docs/design.md 2.6
	DPoP    *dpop.Verifier     // proofs of possession (RFC 9449)
	Audit   *audit.Recorder
	Log     *slog.Logger
	Now     func() time.Time
}

// Service runs the grants. It is safe for concurrent use.
type Service struct {
	store   pairgate.Store
	keys    *secret.Keys
	tokens  *accesstoken.Issuer
	limiter *ratelimit.Limiter
	dpop    *dpop.Verifier
	audit   *audit.Recorder
	cfg     Config
	now     func() time.Time
	log     *slog.Logger
	polls   *pollLimiter

	// Code generators; tests replace them to force collisions.
	userCode    func() string
	pairingCode func() string
}

// New returns a Service.
func New(cfg Config, d Deps) (*Service, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	if d.Store == nil || d.Keys == nil || d.Tokens == nil || d.Limiter == nil || d.DPoP == nil || d.Audit == nil || d.Log == nil || d.Now == nil {
		return nil, errors.New("grants: every dependency is required")
	}
	return &Service{store: d.Store, keys: d.Keys, tokens: d.Tokens, limiter: d.Limiter, dpop: d.DPoP, audit: d.Audit, cfg: cfg,
		now: d.Now, log: d.Log, polls: newPollLimiter(), userCode: secret.UserCode, pairingCode: secret.PairingCode}, nil
}

// Config returns the configuration.
func (s *Service) Config() Config { return s.cfg }

// TokenRequest is a token endpoint request (RFC 6749 §4, RFC 8628 §3.4),
// parsed once by the transport. Which fields matter depends on GrantType;
// an empty field is an absent parameter (RFC 6749 §3.1).
type TokenRequest struct {
	Client       *pairgate.Client // authenticated
	GrantType    string
	DeviceCode   string // device_code grant
	PairingCode  string // pairing_code grant
	RefreshToken string // refresh_token grant
	Code         string // authorization-code grant
	DeviceName   string // authorization-code grant
	HardwareID   string // authorization-code grant
	Scope        string
	IP           string       // the request's source address
	DPoP         dpop.Request // the request's DPoP proof, if any (RFC 9449 §5)
}

// TokenResponse is a successful token endpoint response (RFC 6749 §5.1);
// TokenType is DPoP for an access token bound to a key (RFC 9449 §5).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
}

// resolveScopes validates a requested scope against what is allowed and
// returns the effective scopes: the request, or def when it asked for none.
func resolveScopes(requested string, allowed, def pairgate.Scopes) (pairgate.Scopes, error) {
	if len(requested) > 1024 {
		return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "scope too long")
	}
	sc := pairgate.ParseScopes(requested)
	if len(sc) == 0 {
		sc = def
	}
	for _, x := range sc {
		if !pairgate.ValidScopeToken(x) {
			return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "a requested scope is malformed")
		}
	}
	if !sc.SubsetOf(allowed) {
		return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "scope '%s' is not allowed; allowed: '%s'", sc.String(), allowed.String())
	}
	if len(sc) == 0 {
		return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "no scope requested and the client has none")
	}
	return sc, nil
}

// validText checks a free-text parameter a device sends about itself.
func validText(name, v string, max int) error { return pairgate.ValidText(name, v, max) }

var errDPoPRequired = pairgate.Errorf(pairgate.EDPOPPROOF, "this client must prove its key: send a DPoP proof (RFC 9449) in the DPoP header")

// proof verifies a request's DPoP proof, if it carries one, and holds
// the client to require_dpop. It returns the key's thumbprint, "" for a
// request without a proof.
func (s *Service) proof(ctx context.Context, c *pairgate.Client, r dpop.Request) (string, error) {
	p, err := s.dpop.Verify(ctx, r)
	if err != nil {
		return "", err
	}
	if p == nil {
		if c.RequireDPoP {
			return "", errDPoPRequired
		}
		return "", nil
	}
	return p.JKT, nil
}
