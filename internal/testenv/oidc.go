package testenv

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/zitadel/oidc/v3/pkg/oidc"
	"github.com/zitadel/oidc/v3/pkg/op"

	"github.com/pairgate/pairgate/internal/app"
)

// OIDCProvider is a real OpenID Connect provider on loopback: the
// provider logic (discovery, authorization, PKCE, the token endpoint, ID
// tokens signed and published in a JWKS, userinfo) is zitadel/oidc's op
// package; what this file adds is the Storage that op asks for, held in
// memory, with test people, one registered client, and a login page where
// a person types their username. Nothing of the protocol is written here.
//
// Knobs let a test make the provider misbehave the way real ones do:
// rotate its signing keys, put another audience in its ID tokens, issue
// ID tokens that are already expired (a clock behind), tamper with the ID
// token on the wire, go down and come back.
type OIDCProvider struct {
	// Issuer is the provider's issuer URL, http://127.0.0.1:port.
	Issuer string
	// ClientID and ClientSecret are the registered client pairgate
	// signs in as.
	ClientID     string
	ClientSecret string

	t    testing.TB
	addr string
	op   *op.Provider
	srv  *http.Server

	mu          sync.Mutex
	users       map[string]*OIDCUser // by username
	requests    map[string]*oidcAuthRequest
	codes       map[string]string // code → request ID
	tokens      map[string]*oidcToken
	keys        []*oidcKey // the current key first
	idTokenLife time.Duration
	tamper      func(idToken string) string
	// userinfoOnly: the profile, e-mail and groups are at the userinfo
	// endpoint only, not in the ID token (Google's and Keycloak's
	// defaults for some claims).
	userinfoOnly bool
	redirects    []string
	seq          int
}

// OIDCUser is a person at the provider.
type OIDCUser struct {
	Subject  string
	Username string // what they type on the login page; also preferred_username
	Email    string
	Groups   []string
}

// StartOIDCProvider starts a provider on 127.0.0.1 that knows users, and
// stops it when the test ends. Register pairgate's callback URL with
// AllowRedirect before a sign-in.
func StartOIDCProvider(t testing.TB, users ...OIDCUser) *OIDCProvider {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("OIDC provider: listen: %v", err)
	}
	p := &OIDCProvider{
		Issuer: "http://" + ln.Addr().String(), ClientID: "pairgate-test", ClientSecret: "test-secret-" + rand.Text(),
		t: t, addr: ln.Addr().String(), users: map[string]*OIDCUser{}, requests: map[string]*oidcAuthRequest{},
		codes: map[string]string{}, tokens: map[string]*oidcToken{}, idTokenLife: 5 * time.Minute,
	}
	for _, u := range users {
		p.AddUser(u)
	}
	p.keys = []*oidcKey{newOIDCKey(t)}
	var cryptoKey [32]byte
	rand.Read(cryptoKey[:])
	p.op, err = op.NewProvider(&op.Config{CryptoKey: cryptoKey, CodeMethodS256: true, AuthMethodPost: true,
		SupportedScopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile, oidc.ScopeEmail, "groups"}},
		&oidcStorage{p}, op.StaticIssuer(p.Issuer), op.WithAllowInsecure(),
		op.WithLogger(slog.New(slog.DiscardHandler)))
	if err != nil {
		ln.Close()
		t.Fatalf("OIDC provider: %v", err)
	}
	p.serve(ln)
	t.Cleanup(p.Stop)
	return p
}

func (p *OIDCProvider) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /login", p.loginPage)
	mux.HandleFunc("POST /login", p.login)
	mux.Handle("POST /oauth/token", http.HandlerFunc(p.tokenEndpoint))
	mux.Handle("/", p.op)
	return mux
}

func (p *OIDCProvider) serve(ln net.Listener) {
	p.srv = &http.Server{Handler: p.handler(), ReadHeaderTimeout: 10 * time.Second}
	srv := p.srv
	go srv.Serve(ln)
}

// Stop takes the provider down: its address refuses connections until
// Restart.
func (p *OIDCProvider) Stop() {
	if p.srv != nil {
		p.srv.Close()
		p.srv = nil
	}
}

// Restart brings a stopped provider back on the same address, with the
// same keys, people and client.
func (p *OIDCProvider) Restart() {
	p.t.Helper()
	var ln net.Listener
	var err error
	// The port was just released; another listener may hold it for a
	// moment (TIME_WAIT does not block a listening socket on Linux).
	for range 50 {
		if ln, err = net.Listen("tcp", p.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		p.t.Fatalf("OIDC provider: listen again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// AllowRedirect registers a redirect URI of the client (pairgate's
// callback URL of this provider).
func (p *OIDCProvider) AllowRedirect(uri string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.redirects = append(p.redirects, uri)
}

// AddUser adds or replaces a person.
func (p *OIDCProvider) AddUser(u OIDCUser) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if u.Subject == "" {
		u.Subject = "sub-" + u.Username
	}
	p.users[u.Username] = &u
}

// SetGroups replaces a person's groups: what the provider says at their
// next sign-in.
func (p *OIDCProvider) SetGroups(username string, groups ...string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	u, ok := p.users[username]
	if !ok {
		p.t.Fatalf("OIDC provider: no user %s", username)
	}
	u.Groups = groups
}

// RotateKeys makes a new signing key current and stops publishing the old
// one: a relying party that cached the old key set must fetch it again.
func (p *OIDCProvider) RotateKeys() {
	k := newOIDCKey(p.t)
	p.mu.Lock()
	defer p.mu.Unlock()
	p.keys = []*oidcKey{k}
}

// KeyID is the current signing key's id.
func (p *OIDCProvider) KeyID() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.keys[0].id
}

// IDTokenFor returns an ID token that the provider signs for another
// client (clientID) about username: what an attacker who got one from
// another application could try to pass off as pairgate's (token
// substitution). op's own CreateIDToken makes it.
func (p *OIDCProvider) IDTokenFor(t testing.TB, clientID, username string) string {
	t.Helper()
	p.mu.Lock()
	u := p.users[username]
	p.mu.Unlock()
	if u == nil {
		t.Fatalf("OIDC provider: no user %s", username)
	}
	req := &oidcAuthRequest{id: "substitute", clientID: clientID, audience: []string{clientID}, subject: u.Subject,
		scopes: []string{oidc.ScopeOpenID, oidc.ScopeProfile}, done: true, authTime: time.Now()}
	tok, err := op.CreateIDToken(context.Background(), p.Issuer, req, 5*time.Minute, "", "", &oidcStorage{p},
		&oidcClient{p: p, id: clientID, life: 5 * time.Minute})
	if err != nil {
		t.Fatalf("OIDC provider: ID token for %s: %v", clientID, err)
	}
	return tok
}

// SetIDTokenLifetime sets how long ID tokens are valid; a negative one
// issues tokens that are expired on arrival, as a provider whose clock
// runs behind does.
func (p *OIDCProvider) SetIDTokenLifetime(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.idTokenLife = d
}

// ClaimsInUserinfoOnly makes the provider leave the profile, e-mail and
// groups out of its ID tokens: a relying party finds them at userinfo.
func (p *OIDCProvider) ClaimsInUserinfoOnly(only bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.userinfoOnly = only
}

// Tamper rewrites the ID token of every token response on its way to the
// relying party (nil: no more), as someone in the middle would.
func (p *OIDCProvider) Tamper(f func(idToken string) string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.tamper = f
}

// tokenEndpoint passes the token request to op and, when asked to,
// tampers with the ID token of its answer.
func (p *OIDCProvider) tokenEndpoint(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	tamper := p.tamper
	p.mu.Unlock()
	if tamper == nil {
		p.op.ServeHTTP(w, r)
		return
	}
	rec := httptest.NewRecorder()
	p.op.ServeHTTP(rec, r)
	body := rec.Body.Bytes()
	var m map[string]any
	if rec.Code == http.StatusOK && json.Unmarshal(body, &m) == nil {
		if tok, ok := m["id_token"].(string); ok {
			m["id_token"] = tamper(tok)
			body, _ = json.Marshal(m)
		}
	}
	for k, v := range rec.Header() {
		w.Header()[k] = v
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(rec.Code)
	w.Write(body)
}

var loginTemplate = template.Must(template.New("login").Parse(`<!doctype html>
<html><head><title>Test provider sign-in</title></head><body>
<h1>Test provider</h1>
{{with .Error}}<p id="error">{{.}}</p>{{end}}
<form method="post" action="/login">
<input type="hidden" name="id" value="{{.ID}}">
<label for="username">Username</label> <input id="username" name="username">
<button type="submit" id="login" name="action" value="login">Sign in</button>
<button type="submit" id="deny" name="action" value="deny">Cancel</button>
</form></body></html>`))

// LoginPath is where the provider's login page is, for an authorization
// request id.
func (p *OIDCProvider) loginPage(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	loginTemplate.Execute(w, map[string]string{"ID": r.URL.Query().Get("authRequestID")})
}

// login finishes the login page: the request is done for the person who
// typed their name, or refused (access_denied) when they cancel.
func (p *OIDCProvider) login(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	id := r.PostForm.Get("id")
	p.mu.Lock()
	req, ok := p.requests[id]
	u := p.users[r.PostForm.Get("username")]
	p.mu.Unlock()
	if !ok {
		http.Error(w, "no such authorization request", http.StatusBadRequest)
		return
	}
	if r.PostForm.Get("action") == "deny" {
		op.AuthRequestError(w, r, req, oidc.ErrAccessDenied().WithDescription("the person cancelled the sign-in"), p.op)
		return
	}
	if u == nil {
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.WriteHeader(http.StatusUnauthorized)
		loginTemplate.Execute(w, map[string]string{"ID": id, "Error": "unknown user"})
		return
	}
	p.mu.Lock()
	req.subject, req.done, req.authTime = u.Subject, true, time.Now()
	p.mu.Unlock()
	http.Redirect(w, r, p.Issuer+"/authorize/callback?id="+id, http.StatusFound)
}

// SignIn runs the provider's side of a sign-in over HTTP, as a person's
// browser would: it follows authURL (the authorization request pairgate
// redirected to), types username on the login page, and returns the URL
// the provider sends the browser back to (pairgate's callback), without
// following it.
func (p *OIDCProvider) SignIn(t testing.TB, authURL, username string) string {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }, Timeout: 30 * time.Second}
	resp, err := c.Get(authURL)
	if err != nil {
		t.Fatalf("OIDC provider: authorize: %v", err)
	}
	resp.Body.Close()
	login := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || !strings.Contains(login, "/login?authRequestID=") {
		t.Fatalf("OIDC provider: authorize answered %d, to %q", resp.StatusCode, login)
	}
	id := login[strings.Index(login, "authRequestID=")+len("authRequestID="):]
	resp, err = c.PostForm(p.Issuer+"/login", map[string][]string{"id": {id}, "username": {username}, "action": {"login"}})
	if err != nil {
		t.Fatalf("OIDC provider: login: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusFound {
		t.Fatalf("OIDC provider: login as %s answered %d", username, resp.StatusCode)
	}
	resp, err = c.Get(resp.Header.Get("Location"))
	if err != nil {
		t.Fatalf("OIDC provider: callback: %v", err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	back := resp.Header.Get("Location")
	if resp.StatusCode != http.StatusFound || back == "" {
		t.Fatalf("OIDC provider: the authorization callback answered %d: %s", resp.StatusCode, body)
	}
	return back
}

// --- what op keeps: the Storage ---

type oidcKey struct {
	id  string
	key *rsa.PrivateKey
}

func newOIDCKey(t testing.TB) *oidcKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatalf("OIDC provider: key: %v", err)
	}
	return &oidcKey{id: "k" + rand.Text()[:10], key: k}
}

func (k *oidcKey) SignatureAlgorithm() jose.SignatureAlgorithm { return jose.RS256 }
func (k *oidcKey) Algorithm() jose.SignatureAlgorithm          { return jose.RS256 }
func (k *oidcKey) ID() string                                  { return k.id }
func (k *oidcKey) Use() string                                 { return "sig" }

type oidcPublicKey struct{ *oidcKey }

func (k oidcPublicKey) Key() any { return &k.key.PublicKey }

type oidcSigningKey struct{ *oidcKey }

func (k oidcSigningKey) Key() any { return k.key }

type oidcAuthRequest struct {
	id, clientID, redirectURI, state, nonce string
	scopes                                  []string
	responseType                            oidc.ResponseType
	responseMode                            oidc.ResponseMode
	challenge                               *oidc.CodeChallenge
	audience                                []string
	subject                                 string
	done                                    bool
	authTime                                time.Time
}

func (a *oidcAuthRequest) GetID() string                         { return a.id }
func (a *oidcAuthRequest) GetACR() string                        { return "" }
func (a *oidcAuthRequest) GetAMR() []string                      { return []string{"pwd"} }
func (a *oidcAuthRequest) GetAudience() []string                 { return a.audience }
func (a *oidcAuthRequest) GetAuthTime() time.Time                { return a.authTime }
func (a *oidcAuthRequest) GetClientID() string                   { return a.clientID }
func (a *oidcAuthRequest) GetCodeChallenge() *oidc.CodeChallenge { return a.challenge }
func (a *oidcAuthRequest) GetNonce() string                      { return a.nonce }
func (a *oidcAuthRequest) GetRedirectURI() string                { return a.redirectURI }
func (a *oidcAuthRequest) GetResponseType() oidc.ResponseType    { return a.responseType }
func (a *oidcAuthRequest) GetResponseMode() oidc.ResponseMode    { return a.responseMode }
func (a *oidcAuthRequest) GetScopes() []string                   { return a.scopes }
func (a *oidcAuthRequest) GetState() string                      { return a.state }
func (a *oidcAuthRequest) GetSubject() string                    { return a.subject }
func (a *oidcAuthRequest) Done() bool                            { return a.done }

type oidcToken struct {
	subject, clientID string
	scopes            []string
	expires           time.Time
}

// oidcClient is the registered client: a confidential web application
// (client_secret_basic or _post), authorization code flow only.
type oidcClient struct {
	p            *OIDCProvider
	id           string
	redirects    []string
	life         time.Duration
	userinfoOnly bool
}

func (c *oidcClient) GetID() string                    { return c.id }
func (c *oidcClient) RedirectURIs() []string           { return c.redirects }
func (c *oidcClient) PostLogoutRedirectURIs() []string { return nil }
func (c *oidcClient) ApplicationType() op.ApplicationType {
	return op.ApplicationTypeWeb
}
func (c *oidcClient) AuthMethod() oidc.AuthMethod { return oidc.AuthMethodBasic }
func (c *oidcClient) ResponseTypes() []oidc.ResponseType {
	return []oidc.ResponseType{oidc.ResponseTypeCode}
}
func (c *oidcClient) GrantTypes() []oidc.GrantType { return []oidc.GrantType{oidc.GrantTypeCode} }
func (c *oidcClient) LoginURL(id string) string    { return "/login?authRequestID=" + id }
func (c *oidcClient) AccessTokenType() op.AccessTokenType {
	return op.AccessTokenTypeBearer
}
func (c *oidcClient) IDTokenLifetime() time.Duration { return c.life }

// DevMode allows the http:// redirect URIs of loopback test servers.
func (c *oidcClient) DevMode() bool { return true }
func (c *oidcClient) RestrictAdditionalIdTokenScopes() func([]string) []string {
	return func(s []string) []string {
		if c.userinfoOnly {
			return slices.DeleteFunc(slices.Clone(s), func(x string) bool { return x == "groups" })
		}
		return s
	}
}
func (c *oidcClient) RestrictAdditionalAccessTokenScopes() func([]string) []string {
	return func(s []string) []string { return s }
}
func (c *oidcClient) IsScopeAllowed(scope string) bool { return scope == "groups" }

// IDTokenUserinfoClaimsAssertion puts the profile, e-mail and groups in
// the ID token, as Keycloak and Entra ID do when configured to.
func (c *oidcClient) IDTokenUserinfoClaimsAssertion() bool { return !c.userinfoOnly }
func (c *oidcClient) ClockSkew() time.Duration             { return 0 }

type oidcStorage struct{ p *OIDCProvider }

var errNotFound = errors.New("not found")

func (s *oidcStorage) CreateAuthRequest(ctx context.Context, r *oidc.AuthRequest, _ string) (op.AuthRequest, error) {
	p := s.p
	p.mu.Lock()
	defer p.mu.Unlock()
	p.seq++
	a := &oidcAuthRequest{id: fmt.Sprintf("ar%d-%s", p.seq, rand.Text()[:8]), clientID: r.ClientID, redirectURI: r.RedirectURI,
		state: r.State, nonce: r.Nonce, scopes: r.Scopes, responseType: r.ResponseType, responseMode: r.ResponseMode,
		audience: []string{r.ClientID}}
	if r.CodeChallenge != "" {
		a.challenge = &oidc.CodeChallenge{Challenge: r.CodeChallenge, Method: r.CodeChallengeMethod}
	}
	p.requests[a.id] = a
	return a, nil
}

func (s *oidcStorage) AuthRequestByID(ctx context.Context, id string) (op.AuthRequest, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	if a, ok := s.p.requests[id]; ok {
		return a, nil
	}
	return nil, errNotFound
}

func (s *oidcStorage) AuthRequestByCode(ctx context.Context, code string) (op.AuthRequest, error) {
	s.p.mu.Lock()
	id, ok := s.p.codes[code]
	s.p.mu.Unlock()
	if !ok {
		return nil, errNotFound
	}
	return s.AuthRequestByID(ctx, id)
}

func (s *oidcStorage) SaveAuthCode(ctx context.Context, id, code string) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	s.p.codes[code] = id
	return nil
}

// DeleteAuthRequest is called once a code is exchanged: a code works once.
func (s *oidcStorage) DeleteAuthRequest(ctx context.Context, id string) error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	delete(s.p.requests, id)
	for c, rid := range s.p.codes {
		if rid == id {
			delete(s.p.codes, c)
		}
	}
	return nil
}

func (s *oidcStorage) CreateAccessToken(ctx context.Context, r op.TokenRequest) (string, time.Time, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	id := "at-" + rand.Text()
	var clientID string
	if a, ok := r.(*oidcAuthRequest); ok {
		clientID = a.clientID
	}
	t := &oidcToken{subject: r.GetSubject(), clientID: clientID, scopes: r.GetScopes(), expires: time.Now().Add(5 * time.Minute)}
	s.p.tokens[id] = t
	return id, t.expires, nil
}

func (s *oidcStorage) CreateAccessAndRefreshTokens(context.Context, op.TokenRequest, string) (string, string, time.Time, error) {
	return "", "", time.Time{}, errors.New("this test provider issues no refresh tokens")
}

func (s *oidcStorage) TokenRequestByRefreshToken(context.Context, string) (op.RefreshTokenRequest, error) {
	return nil, op.ErrInvalidRefreshToken
}

func (s *oidcStorage) TerminateSession(context.Context, string, string) error { return nil }

func (s *oidcStorage) RevokeToken(ctx context.Context, token, userID, clientID string) *oidc.Error {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	delete(s.p.tokens, token)
	return nil
}

func (s *oidcStorage) GetRefreshTokenInfo(context.Context, string, string) (string, string, error) {
	return "", "", op.ErrInvalidRefreshToken
}

func (s *oidcStorage) SigningKey(context.Context) (op.SigningKey, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	return oidcSigningKey{s.p.keys[0]}, nil
}

func (s *oidcStorage) SignatureAlgorithms(context.Context) ([]jose.SignatureAlgorithm, error) {
	return []jose.SignatureAlgorithm{jose.RS256}, nil
}

func (s *oidcStorage) KeySet(context.Context) ([]op.Key, error) {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	out := make([]op.Key, len(s.p.keys))
	for i, k := range s.p.keys {
		out[i] = oidcPublicKey{k}
	}
	return out, nil
}

func (s *oidcStorage) GetClientByClientID(ctx context.Context, id string) (op.Client, error) {
	p := s.p
	if id != p.ClientID {
		return nil, errNotFound
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	return &oidcClient{p: p, id: p.ClientID, redirects: slices.Clone(p.redirects), life: p.idTokenLife, userinfoOnly: p.userinfoOnly}, nil
}

func (s *oidcStorage) AuthorizeClientIDSecret(ctx context.Context, id, secret string) error {
	if id != s.p.ClientID || secret != s.p.ClientSecret {
		return errors.New("wrong client credentials")
	}
	return nil
}

func (s *oidcStorage) user(subject string) *OIDCUser {
	s.p.mu.Lock()
	defer s.p.mu.Unlock()
	for _, u := range s.p.users {
		if u.Subject == subject {
			c := *u
			return &c
		}
	}
	return nil
}

// setUserinfo fills in the claims of the scopes asked for: profile gives
// preferred_username, email the address, groups the groups.
func (s *oidcStorage) setUserinfo(info *oidc.UserInfo, subject string, scopes []string) error {
	u := s.user(subject)
	if u == nil {
		return errNotFound
	}
	info.Subject = u.Subject
	for _, sc := range scopes {
		switch sc {
		case oidc.ScopeProfile:
			info.PreferredUsername = u.Username
			info.Name = u.Username
		case oidc.ScopeEmail:
			info.Email, info.EmailVerified = u.Email, oidc.Bool(u.Email != "")
		case "groups":
			info.AppendClaims("groups", u.Groups)
		}
	}
	return nil
}

func (s *oidcStorage) SetUserinfoFromScopes(ctx context.Context, info *oidc.UserInfo, userID, clientID string, scopes []string) error {
	return s.setUserinfo(info, userID, scopes)
}

func (s *oidcStorage) SetUserinfoFromToken(ctx context.Context, info *oidc.UserInfo, tokenID, subject, origin string) error {
	s.p.mu.Lock()
	t, ok := s.p.tokens[tokenID]
	s.p.mu.Unlock()
	if !ok || time.Now().After(t.expires) {
		return errors.New("token is not valid")
	}
	return s.setUserinfo(info, t.subject, t.scopes)
}

func (s *oidcStorage) SetIntrospectionFromToken(ctx context.Context, r *oidc.IntrospectionResponse, tokenID, subject, clientID string) error {
	return errors.New("this test provider does not introspect")
}

func (s *oidcStorage) GetPrivateClaimsFromScopes(context.Context, string, string, []string) (map[string]any, error) {
	return nil, nil
}

func (s *oidcStorage) GetKeyByIDAndClientID(context.Context, string, string) (*jose.JSONWebKey, error) {
	return nil, errNotFound
}

func (s *oidcStorage) ValidateJWTProfileScopes(context.Context, string, []string) ([]string, error) {
	return nil, errors.New("no JWT profile grants")
}

func (s *oidcStorage) Health(context.Context) error { return nil }

// TamperPayload returns a tamper function that changes the ID token's
// claims (its payload, base64url between the dots) without re-signing
// it: what an attacker who cannot sign does.
func TamperPayload(change func(claims map[string]any)) func(string) string {
	return func(tok string) string {
		parts := strings.Split(tok, ".")
		if len(parts) != 3 {
			return tok
		}
		raw, err := decodeSegment(parts[1])
		if err != nil {
			return tok
		}
		var claims map[string]any
		if json.Unmarshal(raw, &claims) != nil {
			return tok
		}
		change(claims)
		out, _ := json.Marshal(claims)
		parts[1] = encodeSegment(out)
		return strings.Join(parts, ".")
	}
}

func decodeSegment(s string) ([]byte, error) { return base64.RawURLEncoding.DecodeString(s) }

func encodeSegment(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }

// WithOIDC signs people in at p as the provider "corp" (label "Corp"),
// naming them by preferred_username, with the given role rules, and
// registers the server's callback URL with p.
func WithOIDC(p *OIDCProvider, rules string) Option {
	return func(c *app.Config) {
		c.OIDCID, c.OIDCLabel = "corp", "Corp"
		c.OIDCIssuer, c.OIDCClientID, c.OIDCClientSecret = p.Issuer, p.ClientID, p.ClientSecret
		c.OIDCScopes = "profile,email,groups"
		c.OIDCUsernameClaim = "preferred_username"
		c.OIDCRoleRules = rules
		p.AllowRedirect(c.Issuer + "/auth/oidc/corp/callback")
	}
}
