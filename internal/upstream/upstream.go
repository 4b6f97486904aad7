package upstream

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Deps are what upstream sign-in works with. Every field is required.
type Deps struct {
	Store   pairgate.Store
	Keys    *secret.Keys
	Limiter *ratelimit.Limiter
	Audit   *audit.Recorder
	Log     *slog.Logger
	Now     func() time.Time
	// HTTP reaches the providers; its timeout bounds every call.
	HTTP *http.Client
}

// Service signs people in at upstream providers. It is safe for
// concurrent use; it keeps nothing that matters in memory (a sign-in in
// progress is in the store, so that its callback may reach any replica).
type Service struct {
	d         Deps
	issuer    string // pairgate's own, for the callback URLs
	providers []*provider
	byID      map[string]*provider
}

// provider is one configured provider and what discovery found about it.
type provider struct {
	cfg      Config
	callback string

	// discovering is held while discovery runs, so that one sign-in
	// asks and the others wait for its answer; mu guards the fields and
	// is never held across a network call, so that the sign-in page
	// never waits for a provider that hangs.
	discovering sync.Mutex
	mu          sync.Mutex
	oidc        *oidc.Provider // nil until discovery succeeds
	verifier    *oidc.IDTokenVerifier
	oauth       *oauth2.Config
}

func (p *provider) discovered() bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.oidc != nil
}

// New returns the service for the configured providers (none is fine:
// there is no upstream sign-in). issuer is pairgate's public URL. No
// provider is contacted here: discovery happens at the first sign-in, and
// again after a failure, so that a provider that is down never keeps
// pairgate from starting.
func New(issuer string, cfgs []Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Keys == nil || d.Limiter == nil || d.Audit == nil || d.Log == nil || d.Now == nil || d.HTTP == nil {
		return nil, errors.New("upstream: every dependency is required")
	}
	s := &Service{d: d, issuer: strings.TrimRight(issuer, "/"), byID: map[string]*provider{}}
	for _, c := range cfgs {
		if err := c.Validate(); err != nil {
			return nil, err
		}
		if s.byID[c.ID] != nil {
			return nil, fmt.Errorf("upstream: two providers have the id %q", c.ID)
		}
		p := &provider{cfg: c.withDefaults(), callback: s.issuer + "/auth/oidc/" + c.ID + "/callback"}
		s.providers = append(s.providers, p)
		s.byID[c.ID] = p
	}
	return s, nil
}

// Provider is what the sign-in page shows of a provider.
type Provider struct {
	ID    string
	Label string
}

// Providers lists the providers in the order they were configured.
func (s *Service) Providers() []Provider {
	out := make([]Provider, len(s.providers))
	for i, p := range s.providers {
		out[i] = Provider{ID: p.cfg.ID, Label: p.cfg.Label}
	}
	return out
}

// CallbackURL is the redirect URI to register at a provider.
func (s *Service) CallbackURL(id string) string { return s.issuer + "/auth/oidc/" + id + "/callback" }

// FormOrigins are the origins a sign-in button's form may end up at (its
// POST is answered with a redirect to the provider, and browsers hold a
// redirect after a form to the page's form-action): each provider's
// authorization endpoint once discovered, else its issuer.
func (s *Service) FormOrigins() []string {
	var out []string
	for _, p := range s.providers {
		target := p.cfg.Issuer
		p.mu.Lock()
		if p.oauth != nil {
			target = p.oauth.Endpoint.AuthURL
		}
		p.mu.Unlock()
		if u, err := url.Parse(target); err == nil && u.Host != "" {
			out = append(out, u.Scheme+"://"+u.Host)
		}
	}
	return out
}

func (s *Service) provider(id string) (*provider, error) {
	if p, ok := s.byID[id]; ok {
		return p, nil
	}
	return nil, pairgate.Errorf(pairgate.ENOTFOUND, "there is no sign-in service named '%s' here", pairgate.Printable(id, 32))
}

// discoveryTimeout bounds discovery: a person waits for it.
const discoveryTimeout = 10 * time.Second

// discover fetches the provider's metadata the first time it is needed,
// and after every failure. go-oidc's key set fetches the keys when it
// meets a key id it does not know: a provider that rotates its keys is
// followed without a restart.
func (s *Service) discover(ctx context.Context, p *provider) (*provider, error) {
	if p.discovered() {
		return p, nil
	}
	p.discovering.Lock()
	defer p.discovering.Unlock()
	if p.discovered() {
		return p, nil
	}
	ctx, cancel := context.WithTimeout(oidc.ClientContext(context.WithoutCancel(ctx), s.d.HTTP), discoveryTimeout)
	defer cancel()
	op, err := oidc.NewProvider(ctx, p.cfg.Issuer)
	if err != nil {
		s.d.Log.Warn("upstream provider discovery failed", "provider", p.cfg.ID, "issuer", p.cfg.Issuer, "err", err)
		return nil, &pairgate.Error{Code: pairgate.EUNAVAILABLE, RetryAfter: 30 * time.Second, Err: err,
			Message: fmt.Sprintf("%s cannot be reached right now; try again in a minute, or ask your administrator", p.cfg.Label)}
	}
	// The clock runs a minute behind for the expiry check: an ID token
	// lives minutes, and clocks of two hosts differ by seconds.
	verifier := op.Verifier(&oidc.Config{ClientID: p.cfg.ClientID, Now: func() time.Time { return s.d.Now().Add(-clockLeeway) }})
	oc := &oauth2.Config{ClientID: p.cfg.ClientID, ClientSecret: p.cfg.ClientSecret, Endpoint: op.Endpoint(),
		RedirectURL: p.callback, Scopes: p.cfg.Scopes}
	p.mu.Lock()
	p.oidc, p.verifier, p.oauth = op, verifier, oc
	p.mu.Unlock()
	s.d.Log.Info("upstream provider discovered", "provider", p.cfg.ID, "issuer", p.cfg.Issuer)
	return p, nil
}

// clockLeeway is how far the clocks of pairgate and a provider may
// disagree before an ID token is refused as expired or not yet issued.
const clockLeeway = time.Minute

// maxIssuedAhead is how far in the future an ID token's iat may be:
// further means the clocks disagree too much to trust its expiry.
const maxIssuedAhead = 5 * time.Minute

// StartRequest is a person pressing a provider's button.
type StartRequest struct {
	Provider string
	Next     string // where to go after signing in: a local path checked by the caller, or ""
	IP       string
}

// Started is a sign-in sent to the provider.
type Started struct {
	// AuthURL is the provider's authorization endpoint with the request.
	AuthURL string
	// Cookie binds the sign-in to this browser: the caller sets it
	// (HttpOnly, SameSite=Lax, for the callback's path) for
	// pairgate.UpstreamStateTTL, and hands its value back to Finish.
	CookieName  string
	CookieValue string
}

// Start begins a sign-in at a provider. The state, PKCE verifier and
// nonce are random per sign-in; the store keeps only the keyed hashes of
// the state and of a binding value that only this browser holds (its
// cookie), from which the verifier and the nonce are derived. So a
// callback URL that leaks is worthless without the browser's cookie
// (login CSRF, OAuth 2.0 Security BCP §4.7), and a copy of the database
// is worthless without the master key.
func (s *Service) Start(ctx context.Context, r StartRequest) (*Started, error) {
	p, err := s.provider(r.Provider)
	if err != nil {
		return nil, err
	}
	if err := s.d.Limiter.Allow(ctx, ratelimit.Hit{Rule: ratelimit.UpstreamStartPerIP, Subject: ratelimit.Source(r.IP)}); err != nil {
		return nil, err
	}
	if p, err = s.discover(ctx, p); err != nil {
		return nil, err
	}
	now := s.d.Now()
	binding := secret.Token("")
	for range 4 {
		state := secret.Token("")
		err := s.d.Store.CreateUpstreamState(ctx, &pairgate.UpstreamState{
			StateHash: s.d.Keys.Hash(secret.KindUpstreamState, state), Provider: p.cfg.ID,
			BindingHash: s.d.Keys.Hash(secret.KindUpstreamBinding, binding), Next: r.Next,
			CreatedAt: now, ExpiresAt: now.Add(pairgate.UpstreamStateTTL)})
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, err
		}
		p.mu.Lock()
		authURL := p.oauth.AuthCodeURL(state, oauth2.S256ChallengeOption(s.verifier(binding)), oidc.Nonce(s.nonce(binding)))
		p.mu.Unlock()
		return &Started{AuthURL: authURL, CookieName: s.CookieName(state), CookieValue: binding}, nil
	}
	return nil, pairgate.Internal(errors.New("state collisions"), "start upstream sign-in")
}

// CookieName is the name of the cookie that binds the sign-in with this
// state to its browser: one per sign-in, so that two started in two tabs
// do not overwrite each other's.
func (s *Service) CookieName(state string) string {
	return "pairgate_oidc_" + hex.EncodeToString(s.d.Keys.Hash(secret.KindUpstreamCookie, state)[:8])
}

// verifier is the PKCE code verifier of a sign-in: 43 characters of
// base64url (RFC 7636 §4.1).
func (s *Service) verifier(binding string) string {
	return base64.RawURLEncoding.EncodeToString(s.d.Keys.Hash(secret.KindUpstreamVerifier, binding))
}

func (s *Service) nonce(binding string) string {
	return base64.RawURLEncoding.EncodeToString(s.d.Keys.Hash(secret.KindUpstreamNonce, binding))
}

// Callback is what a provider sent the browser back with.
type Callback struct {
	Provider string
	Query    url.Values
	// Binding is the value of the cookie named CookieName(state), if the
	// browser sent it.
	Binding string
	IP      string
}

// SignedIn is a finished upstream sign-in.
type SignedIn struct {
	User    *pairgate.User
	Next    string
	Created bool
}

// failure is a sign-in that did not finish: what the person is told, and
// a short reason for the log and the audit log.
func failure(code, reason string, err error, format string, args ...any) error {
	return &pairgate.Error{Code: code, Message: fmt.Sprintf(format, args...), Err: fmt.Errorf("%s: %w", reason, orReason(err, reason))}
}

func orReason(err error, reason string) error {
	if err != nil {
		return err
	}
	return errors.New(reason)
}

// Reasons a sign-in fails, as the audit log records them.
const (
	reasonStateUnknown  = "state_unknown_or_used"
	reasonStateExpired  = "state_expired"
	reasonWrongBrowser  = "browser_binding_mismatch"
	reasonProviderError = "provider_error"
	reasonExchange      = "code_exchange_failed"
	reasonIDToken       = "id_token_invalid"
	reasonNonce         = "nonce_mismatch"
	reasonClockSkew     = "clock_skew"
	reasonNoRole        = "no_role_rule_matches"
	reasonUnavailable   = "provider_unavailable"
)

// Finish completes a sign-in when the provider sends the browser back.
// Nobody is signed in unless every check passes: the state was issued
// here, to this browser, for this provider, within its lifetime, and is
// used for the first time; the code exchange succeeds with the PKCE
// verifier; the ID token is signed by a key the provider publishes, for
// this client, unexpired, and carries this sign-in's nonce. Each failure
// is logged with its cause and recorded as signin.failed.
func (s *Service) Finish(ctx context.Context, cb Callback) (*SignedIn, error) {
	in, reason, err := s.finish(ctx, cb)
	if err != nil {
		if reason == "" {
			reason = pairgate.ErrorCode(err)
		}
		lvl := slog.LevelInfo
		if c := pairgate.ErrorCode(err); c == pairgate.EINTERNAL || c == pairgate.EUNAVAILABLE {
			lvl = slog.LevelWarn
		}
		s.d.Log.Log(ctx, lvl, "upstream sign-in failed", "provider", cb.Provider, "reason", reason, "ip", cb.IP, "err", err)
		s.d.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInFailed, ActorType: pairgate.ActorAnon, IP: cb.IP,
			Details: map[string]string{"via": "oidc:" + pairgate.Printable(cb.Provider, 32), "reason": reason}})
		return nil, err
	}
	return in, nil
}

func (s *Service) finish(ctx context.Context, cb Callback) (*SignedIn, string, error) {
	p, err := s.provider(cb.Provider)
	if err != nil {
		return nil, "unknown_provider", err
	}
	q := cb.Query
	state := q.Get("state")
	if state == "" || len(state) > 512 {
		return nil, reasonStateUnknown, pairgate.Errorf(pairgate.EINVALID,
			"this address is not a sign-in that pairgate started; start again from the sign-in page")
	}
	st, err := s.d.Store.TakeUpstreamState(ctx, s.d.Keys.Hash(secret.KindUpstreamState, state), s.d.Now())
	switch pairgate.ErrorCode(err) {
	case "":
	case pairgate.ENOTFOUND:
		return nil, reasonStateUnknown, pairgate.Errorf(pairgate.EINVALID,
			"this sign-in was already used, or was not started here: each sign-in works once; start again from the sign-in page")
	case pairgate.EEXPIRED:
		return nil, reasonStateExpired, pairgate.Errorf(pairgate.EINVALID,
			"the sign-in took longer than %d minutes; start again from the sign-in page", int(pairgate.UpstreamStateTTL/time.Minute))
	default:
		return nil, "", err
	}
	if st.Provider != p.cfg.ID {
		return nil, reasonStateUnknown, pairgate.Errorf(pairgate.EINVALID,
			"this sign-in was started with another sign-in service; start again from the sign-in page")
	}
	if cb.Binding == "" || subtle.ConstantTimeCompare(s.d.Keys.Hash(secret.KindUpstreamBinding, cb.Binding), st.BindingHash) != 1 {
		// Someone else's callback URL in this browser: signing in would
		// sign this person in as someone else (login CSRF).
		return nil, reasonWrongBrowser, pairgate.Errorf(pairgate.EINVALID,
			"this sign-in was started in another browser (or this browser did not keep its cookie); start again from the sign-in page in this browser")
	}
	if e := q.Get("error"); e != "" {
		desc := pairgate.Printable(q.Get("error_description"), 200)
		msg := fmt.Sprintf("%s did not sign you in (%s)", p.cfg.Label, pairgate.Printable(e, 64))
		if desc != "" {
			msg += ": " + desc
		}
		code := pairgate.EINVALID
		if e == "access_denied" {
			code = pairgate.EDENIED
		}
		return nil, reasonProviderError, failure(code, reasonProviderError, nil, "%s", msg)
	}
	code := q.Get("code")
	if code == "" || len(code) > 4096 {
		return nil, reasonProviderError, pairgate.Errorf(pairgate.EINVALID, "%s sent no authorization code back; start again", p.cfg.Label)
	}
	if p, err = s.discover(ctx, p); err != nil {
		return nil, reasonUnavailable, err
	}
	p.mu.Lock()
	oc, verifier := *p.oauth, p.verifier
	p.mu.Unlock()

	xctx, cancel := context.WithTimeout(context.WithValue(context.WithoutCancel(ctx), oauth2.HTTPClient, s.d.HTTP), discoveryTimeout)
	defer cancel()
	tok, err := oc.Exchange(xctx, code, oauth2.VerifierOption(s.verifier(cb.Binding)))
	if err != nil {
		var re *oauth2.RetrieveError
		if errors.As(err, &re) {
			return nil, reasonExchange, failure(pairgate.EINVALID, reasonExchange, err,
				"%s refused to finish the sign-in (%s); start again", p.cfg.Label, pairgate.Printable(re.ErrorCode, 64))
		}
		return nil, reasonUnavailable, failure(pairgate.EUNAVAILABLE, reasonUnavailable, err,
			"%s cannot be reached right now; try again in a minute, or ask your administrator", p.cfg.Label)
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		return nil, reasonIDToken, pairgate.Errorf(pairgate.EINVALID, "%s sent no ID token; ask your administrator to check its configuration", p.cfg.Label)
	}
	idt, err := verifier.Verify(xctx, raw)
	if err != nil {
		var exp *oidc.TokenExpiredError
		if errors.As(err, &exp) {
			return nil, reasonClockSkew, failure(pairgate.EINVALID, reasonClockSkew, err,
				"the sign-in from %s had expired when it arrived: the clocks of pairgate and %s may disagree; "+
					"try again, and tell your administrator if it keeps happening", p.cfg.Label, p.cfg.Label)
		}
		return nil, reasonIDToken, failure(pairgate.EINVALID, reasonIDToken, err,
			"the answer from %s could not be verified, so nobody was signed in; try again, and tell your administrator if it keeps happening", p.cfg.Label)
	}
	if subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(s.nonce(cb.Binding))) != 1 {
		return nil, reasonNonce, failure(pairgate.EINVALID, reasonNonce, nil,
			"the answer from %s belongs to another sign-in, so nobody was signed in; start again", p.cfg.Label)
	}
	if idt.IssuedAt.After(s.d.Now().Add(maxIssuedAhead)) {
		return nil, reasonClockSkew, failure(pairgate.EINVALID, reasonClockSkew,
			fmt.Errorf("iat %v is ahead of %v", idt.IssuedAt, s.d.Now()),
			"the sign-in from %s was issued in the future: the clocks of pairgate and %s disagree; tell your administrator", p.cfg.Label, p.cfg.Label)
	}
	if idt.AccessTokenHash != "" {
		if err := idt.VerifyAccessToken(tok.AccessToken); err != nil {
			return nil, reasonIDToken, failure(pairgate.EINVALID, reasonIDToken, err,
				"the answer from %s could not be verified, so nobody was signed in; try again", p.cfg.Label)
		}
	}
	claims := map[string]any{}
	if err := idt.Claims(&claims); err != nil {
		return nil, reasonIDToken, failure(pairgate.EINVALID, reasonIDToken, err, "the answer from %s could not be read", p.cfg.Label)
	}
	s.userinfo(xctx, p, oc, tok, idt.Subject, claims)
	return s.signIn(ctx, p, st, idt.Issuer, idt.Subject, claims, cb.IP)
}

// userinfo adds the claims the ID token lacks (the username or the groups
// claim: some providers put them only in userinfo) from the provider's
// userinfo endpoint, when it has one and answers for the same subject
// (OpenID Connect Core §5.3.2). Failing that, the ID token's claims are
// all there is.
func (s *Service) userinfo(ctx context.Context, p *provider, oc oauth2.Config, tok *oauth2.Token, sub string, claims map[string]any) {
	_, hasName := claims[p.cfg.UsernameClaim]
	_, hasGroups := claims[p.cfg.GroupsClaim]
	if hasName && hasGroups {
		return
	}
	p.mu.Lock()
	op := p.oidc
	p.mu.Unlock()
	if op.UserInfoEndpoint() == "" {
		return
	}
	info, err := op.UserInfo(ctx, oc.TokenSource(ctx, tok))
	if err != nil {
		s.d.Log.Info("upstream userinfo failed", "provider", p.cfg.ID, "err", err)
		return
	}
	extra := map[string]any{}
	if err := info.Claims(&extra); err != nil || info.Subject != sub {
		return
	}
	for k, v := range extra {
		if _, ok := claims[k]; !ok {
			claims[k] = v
		}
	}
}

// signIn finds or creates the person's account and applies the role
// rules.
func (s *Service) signIn(ctx context.Context, p *provider, st *pairgate.UpstreamState, issuer, subject string, claims map[string]any, ip string) (*SignedIn, string, error) {
	role, rule := roleFor(p.cfg.Rules, p.cfg.GroupsClaim, claims)
	if role == "" {
		return nil, reasonNoRole, pairgate.Errorf(pairgate.EFORBIDDEN,
			"your account at %s may not use pairgate: it is in none of the groups your administrator allowed; ask them for access", p.cfg.Label)
	}
	name, _ := claims[p.cfg.UsernameClaim].(string)
	if name == "" {
		name, _ = claims["preferred_username"].(string)
	}
	if name == "" {
		name = "user"
	}
	now := s.d.Now()
	ident := &pairgate.UserIdentity{Issuer: issuer, Subject: subject, Provider: p.cfg.ID, CreatedAt: now, LastSignInAt: now}
	system := func(action, target string, details map[string]string) {
		s.d.Audit.Record(ctx, pairgate.AuditEvent{Action: action, ActorType: pairgate.ActorSystem, ActorName: "oidc:" + p.cfg.ID,
			Target: target, IP: ip, Details: details})
	}
	var u *pairgate.User
	var created bool
	var err error
	for _, candidate := range usernames(name, p.cfg.ID) {
		// A person's first sign-in makes an account with no password:
		// they can only sign in through their provider.
		nu := &pairgate.User{ID: secret.NewID("usr_", now), Username: candidate, Role: role, CreatedAt: now, PasswordChangedAt: now}
		u, created, err = s.d.Store.SignInUpstream(ctx, ident, nu)
		if pairgate.ErrorCode(err) != pairgate.ECONFLICT {
			break
		}
	}
	if err != nil {
		return nil, "", err
	}
	if created {
		s.d.Log.Info("account created at first upstream sign-in", "provider", p.cfg.ID, "user_id", u.ID, "username", u.Username, "role", role)
		system(pairgate.AuditUserCreated, u.ID, map[string]string{"username": u.Username, "role": role, "issuer": issuer,
			"subject": pairgate.Shorten(subject, 128), "rule": rule.String()})
	} else if u.Role != role {
		// The provider's groups decide at every sign-in: removed from
		// the admin group there, an admin is one no longer here. The
		// store keeps the last admin; its sessions end with the change.
		err := s.d.Store.SetUserRole(ctx, u.ID, role, now)
		switch pairgate.ErrorCode(err) {
		case "":
			s.d.Log.Info("role changed by upstream rules", "provider", p.cfg.ID, "user_id", u.ID, "from", u.Role, "to", role)
			system(pairgate.AuditRoleChanged, u.ID, map[string]string{"username": u.Username, "from": u.Role, "to": role, "rule": rule.String()})
			u.Role = role
		case pairgate.ECONFLICT:
			s.d.Log.Warn("upstream rules would demote the last admin; the role stays", "provider", p.cfg.ID, "user_id", u.ID,
				"role", u.Role, "rules_say", role)
			system(pairgate.AuditRoleChanged, u.ID, map[string]string{"username": u.Username, "from": u.Role, "to": u.Role,
				"rules_say": role, "kept": "the last admin stays an admin"})
		default:
			return nil, "", err
		}
	}
	s.d.Audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditSignInSucceeded, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, IP: ip, Details: map[string]string{"via": "oidc:" + p.cfg.ID, "role": u.Role}})
	return &SignedIn{User: u, Next: st.Next, Created: created}, "", nil
}

// usernames are the names a new account may take, in order: the claim
// made into a valid username, then the same with the provider's id, then
// numbered. A name a local account (or another person) holds is never
// taken over: the account made gets the next name instead.
func usernames(claim, providerID string) []string {
	base := usernameFrom(claim)
	out := []string{base}
	with := func(suffix string) string {
		return strings.Trim(base[:min(len(base), 64-len(suffix))], "-.") + suffix
	}
	out = append(out, with("-"+providerID))
	for i := 2; i <= 9; i++ {
		out = append(out, with(fmt.Sprintf("-%s-%d", providerID, i)))
	}
	out = append(out, with("-"+strings.ToLower(secret.RandomID("")[:8])))
	return out
}

// usernameFrom makes a claim into a username: lower case, each character
// outside a-z, 0-9, '.', '_', '-' and '@' a '-', at most 64 bytes.
func usernameFrom(claim string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(claim)) {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '.', r == '_', r == '-', r == '@':
			b.WriteRune(r)
		default:
			b.WriteByte('-')
		}
		if b.Len() >= 64 {
			break
		}
	}
	s := strings.Trim(b.String(), "-.")
	if len(s) > 64 {
		s = s[:64]
	}
	if s == "" {
		return "user"
	}
	return s
}
