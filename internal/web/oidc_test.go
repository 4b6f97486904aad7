package web_test

import (
	"bytes"
	"context"
	"maps"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

// Upstream sign-in against a real OpenID Connect provider on loopback
// (zitadel/oidc's op package, testenv.StartOIDCProvider), driven over
// HTTP here and in Chromium in TestUpstreamSignInBrowser.

const corpRules = "group=admins:admin,group=helpdesk:device-manager,*:user"

// upstreamStart presses the provider's button and returns where pairgate
// sends the browser: the provider's authorization endpoint.
func upstreamStart(t *testing.T, b *browser, next string) string {
	t.Helper()
	form := url.Values{}
	if next != "" {
		form.Set("next", next)
	}
	r := b.post("/auth/oidc/corp", form)
	if r.status != http.StatusSeeOther {
		t.Fatalf("sign-in button: %d %s", r.status, r.raw)
	}
	return location(r)
}

// pathOf is the path and query of an absolute URL on the server.
func pathOf(t *testing.T, u string) string {
	t.Helper()
	p, err := url.Parse(u)
	if err != nil {
		t.Fatal(err)
	}
	return p.RequestURI()
}

// upstreamSignIn signs b in as username at the provider and returns the
// answer to the callback.
func upstreamSignIn(t *testing.T, b *browser, p *testenv.OIDCProvider, username, next string) (reply, string) {
	t.Helper()
	cb := pathOf(t, p.SignIn(t, upstreamStart(t, b, next), username))
	return b.get(cb), cb
}

// wantSignedIn checks that a callback signed the browser in and sent it
// on to next.
func wantSignedIn(t *testing.T, r reply, next string) {
	t.Helper()
	if r.status != http.StatusSeeOther || location(r) != next || cookie(r, "pairgate_session") == nil {
		t.Fatalf("callback: %d to %q, want a session and %q\n%s", r.status, location(r), next, r.raw)
	}
}

// wantNotSignedIn checks that a callback signed nobody in and explained
// why.
func wantNotSignedIn(t *testing.T, r reply, status int, why string) {
	t.Helper()
	if r.status != status || !strings.Contains(r.raw, "Sign-in did not finish") || !strings.Contains(r.raw, why) {
		t.Fatalf("callback: %d, want %d saying %q\n%s", r.status, status, why, r.raw)
	}
	if c := cookie(r, "pairgate_session"); c != nil && c.Value != "" {
		t.Fatalf("a failed callback set a session: %v", c)
	}
}

func userNamed(t *testing.T, s *testenv.Server, name string) *pairgate.User {
	t.Helper()
	u, err := s.App.Store.GetUserByUsername(context.Background(), name)
	if err != nil {
		t.Fatalf("account %s: %v", name, err)
	}
	return u
}

func failures(t *testing.T, s *testenv.Server) []*pairgate.AuditEvent {
	t.Helper()
	ev, err := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditSignInFailed})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

func TestUpstreamSignInAndRoleRules(t *testing.T) {
	p := testenv.StartOIDCProvider(t,
		testenv.OIDCUser{Username: "alice", Email: "alice@example.com", Groups: []string{"admins"}},
		testenv.OIDCUser{Username: "admin", Email: "impostor@example.com"})
	s := testenv.StartServer(t, testenv.WithOIDC(p, corpRules))

	// The sign-in page has the provider's button beside the local form,
	// and its forms may lead to the provider.
	page := newBrowser(t, s.URL).get("/auth/signin/?next=%2Fadmin")
	if !strings.Contains(page.raw, `action="/auth/oidc/corp"`) || !strings.Contains(page.raw, "Sign in with Corp") ||
		!strings.Contains(page.raw, `id="local"`) || !strings.Contains(page.header.Get("Content-Security-Policy"), "form-action 'self' "+p.Issuer) {
		t.Fatalf("sign-in page: %s\n%s", page.header.Get("Content-Security-Policy"), page.raw)
	}
	// A link cannot start a sign-in.
	if r := newBrowser(t, s.URL).get("/auth/oidc/corp?next=%2Fadmin"); r.status != http.StatusSeeOther || location(r) != "/auth/signin/?next=%2Fadmin" {
		t.Fatalf("GET of the button's address: %d %s", r.status, location(r))
	}

	// First sign-in: an account just in time, an admin by the rules, the
	// local next rule kept.
	alice := newBrowser(t, s.URL)
	r, _ := upstreamSignIn(t, alice, p, "alice", "/admin")
	wantSignedIn(t, r, "/admin")
	u := userNamed(t, s, "alice")
	if u.Role != pairgate.RoleAdmin || u.PasswordHash != "" {
		t.Fatalf("alice: %+v", u)
	}
	ids, err := s.App.Store.ListUserIdentities(context.Background(), u.ID)
	if err != nil || len(ids) != 1 || ids[0].Issuer != p.Issuer || ids[0].Subject != "sub-alice" || ids[0].Provider != "corp" {
		t.Fatalf("identities: %+v %v", ids, err)
	}
	if r := alice.get("/admin"); r.status != 200 {
		t.Fatalf("alice in the console: %d", r.status)
	}
	// An open redirect is refused as for a local sign-in.
	r, _ = upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "//evil.example/")
	wantSignedIn(t, r, "/")

	// Removed from the admin group upstream: at the next sign-in she is
	// what the rules say now, and the sessions of her old role end.
	p.SetGroups("alice", "helpdesk")
	again := newBrowser(t, s.URL)
	r, _ = upstreamSignIn(t, again, p, "alice", "/admin")
	wantSignedIn(t, r, "/admin")
	if got := userNamed(t, s, "alice"); got.Role != pairgate.RoleDeviceManager || got.ID != u.ID {
		t.Fatalf("after leaving admins: %+v", got)
	}
	if r := alice.get("/admin"); r.status != http.StatusSeeOther {
		t.Fatalf("the old admin session still opens the console: %d", r.status)
	}
	// And back.
	p.SetGroups("alice", "admins")
	alice = newBrowser(t, s.URL)
	r, _ = upstreamSignIn(t, alice, p, "alice", "/admin")
	wantSignedIn(t, r, "/admin")
	if got := userNamed(t, s, "alice"); got.Role != pairgate.RoleAdmin {
		t.Fatalf("after joining admins: %+v", got)
	}
	// Demoted in pairgate by an admin: her console session ends at once.
	if _, err := s.App.Admin.SetRole(context.Background(), s.AdminActor(t), u.ID, pairgate.RoleAuditor); err != nil {
		t.Fatal(err)
	}
	if r := alice.get("/admin"); r.status != http.StatusSeeOther {
		t.Fatalf("a demoted admin's session still opens the console: %d", r.status)
	}
	ev, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Target: u.ID})
	var changes []string
	for _, e := range ev {
		if e.Action == pairgate.AuditRoleChanged {
			changes = append(changes, e.ActorName+":"+e.Details["from"]+">"+e.Details["to"])
		}
	}
	if got := strings.Join(changes, " "); got != "admin:admin>auditor oidc:corp:device-manager>admin oidc:corp:admin>device-manager" {
		t.Fatalf("role changes in the audit log: %s", got)
	}

	// A person whose provider name is a local account's never becomes it.
	r, _ = upstreamSignIn(t, newBrowser(t, s.URL), p, "admin", "")
	wantSignedIn(t, r, "/")
	imp := userNamed(t, s, "admin-corp")
	if imp.Role != pairgate.RoleUser || imp.ID == s.Admin(t).ID {
		t.Fatalf("the provider's admin: %+v", imp)
	}
	// Accounts of the provider have no password here: neither the form
	// nor the admin API takes one, and none can be set.
	if r := newBrowser(t, s.URL).post("/auth/signin/", url.Values{"username": {"alice"}, "password": {""}}); r.status != 400 {
		t.Fatalf("empty password: %d", r.status)
	}
	if r := newBrowser(t, s.URL).post("/auth/signin/", url.Values{"username": {"alice"}, "password": {"anything at all"}}); r.status != 400 {
		t.Fatalf("a password for an upstream account: %d", r.status)
	}
	if _, err := s.App.Admin.SetPassword(context.Background(), s.AdminActor(t), u.ID, ""); pairgate.ErrorCode(err) != pairgate.ECONFLICT {
		t.Fatalf("set a password on an upstream account: %v", err)
	}
	succ, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditSignInSucceeded, ActorID: u.ID})
	if len(succ) != 4 || succ[0].Details["via"] != "oidc:corp" {
		t.Fatalf("sign-ins recorded: %+v", succ)
	}
}

// TestUpstreamRulesKeepTheLastAdmin: when the rules would demote the only
// admin, the role stays, and the log and the audit log say why.
func TestUpstreamRulesKeepTheLastAdmin(t *testing.T) {
	p := testenv.StartOIDCProvider(t, testenv.OIDCUser{Username: "alice", Groups: []string{"admins"}})
	s := testenv.StartServer(t, testenv.WithOIDC(p, corpRules))
	r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "")
	wantSignedIn(t, r, "/")
	alice := userNamed(t, s, "alice")
	if err := s.App.Admin.DeleteUser(context.Background(), s.AdminActor(t), s.Admin(t).ID); err != nil {
		t.Fatal(err)
	}
	p.SetGroups("alice")
	r, _ = upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "")
	wantSignedIn(t, r, "/")
	if got := userNamed(t, s, "alice"); got.Role != pairgate.RoleAdmin {
		t.Fatalf("the last admin was demoted: %+v", got)
	}
	ev, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditRoleChanged, Target: alice.ID})
	if len(ev) != 1 || ev[0].Details["rules_say"] != pairgate.RoleUser || ev[0].Details["kept"] == "" {
		t.Fatalf("audit: %+v", ev)
	}
	if !bytes.Contains(s.Logs(), []byte("would demote the last admin")) {
		t.Fatal("the log does not say why the role stayed")
	}
}

func TestUpstreamSignInRefusals(t *testing.T) {
	p := testenv.StartOIDCProvider(t,
		testenv.OIDCUser{Username: "alice", Groups: []string{"staff"}},
		testenv.OIDCUser{Username: "mallory"})
	s := testenv.StartServer(t, testenv.WithOIDC(p, "group=staff:user"))

	t.Run("ReplayedState", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		r, cb := upstreamSignIn(t, b, p, "alice", "/")
		wantSignedIn(t, r, "/")
		wantNotSignedIn(t, b.get(cb), 400, "already used")
		wantNotSignedIn(t, newBrowser(t, s.URL).get(cb), 400, "already used")
	})
	t.Run("CallbackInAnotherBrowser", func(t *testing.T) {
		// Login CSRF: the attacker's own finished sign-in, opened in the
		// victim's browser, must not sign the victim in as the attacker.
		attacker := newBrowser(t, s.URL)
		cb := pathOf(t, p.SignIn(t, upstreamStart(t, attacker, "/"), "mallory"))
		wantNotSignedIn(t, newBrowser(t, s.URL).get(cb), 400, "another browser")
	})
	t.Run("UnknownState", func(t *testing.T) {
		wantNotSignedIn(t, newBrowser(t, s.URL).get("/auth/oidc/corp/callback?code=x&state=made-up"), 400, "not started here")
		wantNotSignedIn(t, newBrowser(t, s.URL).get("/auth/oidc/corp/callback"), 400, "not a sign-in")
	})
	t.Run("TamperedIDToken", func(t *testing.T) {
		p.Tamper(testenv.TamperPayload(func(c map[string]any) { c["sub"] = "sub-mallory-became-someone" }))
		defer p.Tamper(nil)
		r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "mallory", "/")
		wantNotSignedIn(t, r, 400, "could not be verified")
	})
	t.Run("IDTokenForAnotherAudience", func(t *testing.T) {
		// A genuine ID token of the provider, issued to another client.
		other := p.IDTokenFor(t, "another-client", "alice")
		p.Tamper(func(string) string { return other })
		defer p.Tamper(nil)
		r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "/")
		wantNotSignedIn(t, r, 400, "could not be verified")
	})
	t.Run("ExpiredIDToken", func(t *testing.T) {
		p.SetIDTokenLifetime(-10 * time.Minute)
		defer p.SetIDTokenLifetime(5 * time.Minute)
		r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "/")
		wantNotSignedIn(t, r, 400, "clocks")
	})
	t.Run("ClockBehindTheProvider", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		auth := upstreamStart(t, b, "/")
		s.Clock.Advance(-time.Hour)
		defer s.Clock.Advance(time.Hour)
		wantNotSignedIn(t, b.get(pathOf(t, p.SignIn(t, auth, "alice"))), 400, "issued in the future")
	})
	t.Run("TooSlow", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		cb := pathOf(t, p.SignIn(t, upstreamStart(t, b, "/"), "alice"))
		s.Clock.Advance(pairgate.UpstreamStateTTL)
		defer s.Clock.Advance(-pairgate.UpstreamStateTTL)
		wantNotSignedIn(t, b.get(cb), 400, "took longer than 10 minutes")
	})
	t.Run("DeniedAtTheProvider", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.Get(upstreamStart(t, b, "/"))
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		id := strings.SplitN(resp.Header.Get("Location"), "authRequestID=", 2)[1]
		resp, err = c.PostForm(p.Issuer+"/login", url.Values{"id": {id}, "action": {"deny"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		wantNotSignedIn(t, b.get(pathOf(t, resp.Header.Get("Location"))), 400, "Corp did not sign you in (access_denied)")
	})
	t.Run("NoRuleMatches", func(t *testing.T) {
		r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "mallory", "/")
		wantNotSignedIn(t, r, 403, "none of the groups")
		if _, err := s.App.Store.GetUserByUsername(context.Background(), "mallory"); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("a refused person got an account: %v", err)
		}
	})
	t.Run("ProviderDownAtTheExchange", func(t *testing.T) {
		b := newBrowser(t, s.URL)
		cb := pathOf(t, p.SignIn(t, upstreamStart(t, b, "/"), "alice"))
		p.Stop()
		defer p.Restart()
		wantNotSignedIn(t, b.get(cb), 503, "cannot be reached")
	})
	t.Run("KeyRotation", func(t *testing.T) {
		old := p.KeyID()
		p.RotateKeys()
		if p.KeyID() == old {
			t.Fatal("the key did not change")
		}
		r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "/")
		wantSignedIn(t, r, "/")
	})

	reasons := map[string]int{}
	for _, e := range failures(t, s) {
		if e.Details["via"] != "oidc:corp" {
			t.Errorf("failure not from the provider: %+v", e)
		}
		reasons[e.Details["reason"]]++
	}
	want := map[string]int{"state_unknown_or_used": 4, "browser_binding_mismatch": 1, "id_token_invalid": 2, "clock_skew": 2,
		"state_expired": 1, "provider_error": 1, "no_role_rule_matches": 1, "provider_unavailable": 1}
	for k, n := range want {
		if reasons[k] != n {
			t.Errorf("%d failures recorded as %s, want %d (all: %v)", reasons[k], k, n, reasons)
		}
	}
	logs := string(s.Logs())
	for _, cause := range []string{"failed to verify signature", "expected audience", "token is expired"} {
		if !strings.Contains(logs, cause) {
			t.Errorf("the log does not give the cause %q", cause)
		}
	}
}

// TestUpstreamClaimsFromUserinfo: when the ID token lacks the username
// and groups claims, they are read from the provider's userinfo endpoint,
// and the role rules apply to them.
func TestUpstreamClaimsFromUserinfo(t *testing.T) {
	p := testenv.StartOIDCProvider(t, testenv.OIDCUser{Username: "alice", Groups: []string{"admins"}})
	p.ClaimsInUserinfoOnly(true)
	s := testenv.StartServer(t, testenv.WithOIDC(p, corpRules))
	// The ID token is watched on its way, not changed.
	var claims map[string]any
	p.Tamper(func(tok string) string {
		testenv.TamperPayload(func(c map[string]any) { claims = maps.Clone(c) })(tok)
		return tok
	})
	r, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "/")
	wantSignedIn(t, r, "/")
	if _, ok := claims["preferred_username"]; ok || claims["groups"] != nil || claims["sub"] != "sub-alice" {
		t.Fatalf("the ID token carries the claims itself: %v", claims)
	}
	if u := userNamed(t, s, "alice"); u.Role != pairgate.RoleAdmin {
		t.Fatalf("alice from userinfo: %+v", u)
	}
}

// TestUpstreamProviderDownAtStart: a provider that cannot be reached
// keeps nobody from starting or using pairgate; its button explains, and
// works once the provider is back, without a restart.
func TestUpstreamProviderDownAtStart(t *testing.T) {
	p := testenv.StartOIDCProvider(t, testenv.OIDCUser{Username: "alice"})
	p.Stop()
	s := testenv.StartServer(t, testenv.WithOIDC(p, corpRules))
	b := newBrowser(t, s.URL)
	if r := b.get("/auth/signin/"); r.status != 200 || !strings.Contains(r.raw, "Sign in with Corp") {
		t.Fatalf("sign-in page with the provider down: %d", r.status)
	}
	r := b.post("/auth/oidc/corp", url.Values{"next": {"/admin"}})
	wantNotSignedIn(t, r, 503, "Corp cannot be reached right now")
	if !strings.Contains(r.raw, `href="/auth/signin/?next=%2fadmin"`) && !strings.Contains(r.raw, `href="/auth/signin/?next=%2Fadmin"`) {
		t.Fatalf("no way back to the sign-in page:\n%s", r.raw)
	}
	b.signIn("admin", testenv.AdminPassword) // the local form still works
	p.Restart()
	r2, _ := upstreamSignIn(t, newBrowser(t, s.URL), p, "alice", "/")
	wantSignedIn(t, r2, "/")
}

// TestLocalSignInOff: with the password form off, only the provider
// signs people in; passwords are refused by the form and the admin API.
func TestLocalSignInOff(t *testing.T) {
	p := testenv.StartOIDCProvider(t, testenv.OIDCUser{Username: "alice", Groups: []string{"admins"}})
	s := testenv.StartServer(t, testenv.WithOIDC(p, corpRules), testenv.WithConfig(func(c *app.Config) { c.LocalSignIn = false }))
	b := newBrowser(t, s.URL)
	page := b.get("/auth/signin/")
	if strings.Contains(page.raw, `id="local"`) || strings.Contains(page.raw, `name="password"`) || !strings.Contains(page.raw, "Sign in with Corp") {
		t.Fatalf("sign-in page with local sign-in off:\n%s", page.raw)
	}
	r := b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}})
	if r.status != 403 || cookie(r, "pairgate_session") != nil || !strings.Contains(r.raw, "turned off") {
		t.Fatalf("password sign-in with local sign-in off: %d\n%s", r.status, r.raw)
	}
	req, _ := http.NewRequest("POST", s.URL+"/api/v1/api-keys", strings.NewReader(`{"name":"x"}`))
	req.SetBasicAuth("admin", testenv.AdminPassword)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 403 {
		t.Fatalf("HTTP Basic with local sign-in off: %d", resp.StatusCode)
	}
	r, _ = upstreamSignIn(t, b, p, "alice", "/admin")
	wantSignedIn(t, r, "/admin")
	ev := failures(t, s)
	if len(ev) != 2 || ev[0].Details["reason"] != "local sign-in is off" {
		t.Fatalf("refused passwords recorded: %+v", ev)
	}
}

// TestUpstreamSignInBrowser is the whole flow in Debian's headless
// Chromium with JavaScript off: a printer asks to pair, the person opens
// its auth_url, signs in at the provider, comes back to the consent page
// and approves; the printer gets its token.
func TestUpstreamSignInBrowser(t *testing.T) {
	p := testenv.StartOIDCProvider(t, testenv.OIDCUser{Username: "alice", Email: "alice@example.com", Groups: []string{"staff"}})
	s := testenv.StartServer(t, testenv.WithOIDC(p, corpRules))
	pr := startPairing(t, s, "mode=device&hardware_id=hw-upstream-1")
	tab := testenv.StartBrowser(t).Tab(t)

	if st := tab.Navigate(pr.AuthURL); st != 200 || tab.Count("#oidc-corp") != 1 {
		t.Fatalf("auth_url: %d %q", st, tab.Text("main"))
	}
	shot(t, tab, "60-signin-with-provider")
	if st := tab.Submit("#oidc-corp"); st != 200 || !strings.HasPrefix(tab.Location(), p.Issuer+"/login") {
		t.Fatalf("the button led to %s (%d)", tab.Location(), st)
	}
	tab.Fill("#username", "alice")
	if st := tab.Submit("#login"); st != 200 {
		t.Fatalf("back from the provider: %d at %s", st, tab.Location())
	}
	if want := s.URL + "/oauth/authorize/pairing/?pairing_code=" + pr.PairingCode; tab.Location() != want {
		t.Fatalf("after the provider the browser is at %s, want %s", tab.Location(), want)
	}
	if got := tab.Text("#code"); got != pr.PairingCode {
		t.Fatalf("consent page shows code %q", got)
	}
	if got := tab.Text(".who-name"); got != "alice" {
		t.Fatalf("signed in as %q", got)
	}
	shot(t, tab, "61-consent-after-provider")
	if st := tab.Submit("#allow"); st != 200 {
		t.Fatalf("allow: %d %q", st, tab.Text("main"))
	}
	shot(t, tab, "62-approved-after-provider")
	r := postBasic(s.URL+"/oauth/token", "grant_type=pairing_code&pairing_code="+pr.PairingCode)
	if r.status != 200 || r.body["access_token"] == nil {
		t.Fatalf("the printer's poll after approval: %d %s", r.status, r.raw)
	}
	devs, err := s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{Search: "hw-upstream-1"})
	if err != nil || len(devs) != 1 || devs[0].UserID != userNamed(t, s, "alice").ID {
		t.Fatalf("inventory: %+v %v", devs, err)
	}
}
