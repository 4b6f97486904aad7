package grants

import (
	"log/slog"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Config holds the lifetimes and intervals of the grants.
type Config struct {
	Issuer        string        // base URL for verification_uri and auth_url
	DeviceCodeTTL time.Duration // RFC 8628 expires_in
	PollInterval  time.Duration // RFC 8628 interval
	RefreshTTL    time.Duration // a refresh token unused this long dies
	RefreshGrace  time.Duration // window for retrying a refresh whose response was lost
}

// Defaults are the values used when a Config field is zero.
var Defaults = Config{
	Issuer:        "http://localhost:8080",
	DeviceCodeTTL: 10 * time.Minute,
	PollInterval:  5 * time.Second,
	RefreshTTL:    90 * 24 * time.Hour,
	RefreshGrace:  30 * time.Second,
}

// Service runs the grants. It is safe for concurrent use.
type Service struct {
	store  pairgate.Store
	keys   *secret.Keys
	tokens *accesstoken.Issuer
	cfg    Config
	now    func() time.Time
	log    *slog.Logger
	polls  *pollLimiter
	audit  *audit.Recorder

	// Code generators; tests replace them to force collisions.
	userCode    func() string
	pairingCode func() string
	authCode    func() string

	// guess limits the guessing of typed codes; see LimitGuessing.
	guess GuessLimit
}

// New returns a Service. Zero fields of cfg take their Defaults. rec
// receives the security events; nil records none.
func New(store pairgate.Store, keys *secret.Keys, tokens *accesstoken.Issuer, cfg Config, now func() time.Time, log *slog.Logger, rec *audit.Recorder) *Service {
	if cfg.Issuer == "" {
		cfg.Issuer = Defaults.Issuer
	}
	if cfg.DeviceCodeTTL <= 0 {
		cfg.DeviceCodeTTL = Defaults.DeviceCodeTTL
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = Defaults.PollInterval
	}
	if cfg.RefreshTTL <= 0 {
		cfg.RefreshTTL = Defaults.RefreshTTL
	}
	if cfg.RefreshGrace < 0 {
		cfg.RefreshGrace = 0
	}
	if now == nil {
		now = time.Now
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Service{store: store, keys: keys, tokens: tokens, cfg: cfg, now: now, log: log,
		polls: newPollLimiter(), audit: rec, userCode: secret.UserCode, pairingCode: secret.PairingCode,
		authCode: secret.AuthorizationCode}
}

// Config returns the effective configuration.
func (s *Service) Config() Config { return s.cfg }

// TokenResponse is a successful token endpoint response (RFC 6749 §5.1).
type TokenResponse struct {
	AccessToken  string `json:"access_token"`
	TokenType    string `json:"token_type"`
	ExpiresIn    int64  `json:"expires_in"`
	Scope        string `json:"scope"`
	RefreshToken string `json:"refresh_token"`
	DeviceID     string `json:"device_id,omitempty"`
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
			return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "scope %q is malformed", x)
		}
	}
	if !sc.SubsetOf(allowed) {
		return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "scope %q is not allowed; allowed: %q", sc.String(), allowed.String())
	}
	if len(sc) == 0 {
		return nil, pairgate.Errorf(pairgate.EINVALIDSCOPE, "no scope requested and the client has none")
	}
	return sc, nil
}

// validText checks a free-text parameter a device sends about itself.
func validText(name, v string, max int) error {
	if len(v) > max {
		return pairgate.Errorf(pairgate.EINVALID, "%s is longer than %d bytes", name, max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return pairgate.Errorf(pairgate.EINVALID, "%s contains control or invalid characters", name)
		}
	}
	return nil
}
