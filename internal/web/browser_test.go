package web_test

import (
	"context"
	"errors"
	"net/url"
	"strings"
	"testing"
	"time"

	"golang.org/x/oauth2"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestBrowserFlows drives Debian's headless Chromium, at phone width and
// with JavaScript off, through what a person does: the RFC 8628 device
// flow from verification_uri_complete, the pairing dialect from auth_url,
// and a denial, while the device polls with golang.org/x/oauth2 (or the
// pairing dialect's token request). Every page is saved as a screenshot in
// testenv.ScreenshotDir.
func TestBrowserFlows(t *testing.T) {
	s := testenv.StartServer(t)
	b := testenv.StartBrowser(t)

	t.Run("DeviceFlowApproved", func(t *testing.T) {
		cfg := oauthConfig(s)
		da, err := cfg.DeviceAuth(ctx(t), oauth2.SetAuthURLParam("mode", "device"),
			oauth2.SetAuthURLParam("hardware_id", "PRN-7741-XC"), oauth2.SetAuthURLParam("device_name", "HP LaserJet 4th floor"))
		if err != nil {
			t.Fatalf("DeviceAuth: %v", err)
		}
		tokens := pollDevice(t, cfg, da)

		tab := b.Tab(t)
		// Not signed in: the link leads to sign-in first, and back.
		tab.Navigate(da.VerificationURIComplete)
		if u := tab.Location(); !strings.HasPrefix(u, s.URL+"/auth/signin/?next=") {
			t.Fatalf("verification_uri_complete led to %s, want the sign-in page", u)
		}
		if got := tab.Attr("#username", "autocomplete"); got != "username" {
			t.Errorf("username autocomplete=%q", got)
		}
		if got := tab.Attr("#password", "autocomplete"); got != "current-password" {
			t.Errorf("password autocomplete=%q", got)
		}
		shot(t, tab, "01-signin-for-device")

		tab.Fill("#username", "admin")
		tab.Fill("#password", "not the password")
		if st := tab.Submit("main button[type=submit]"); st != 400 {
			t.Errorf("wrong password: status %d", st)
		}
		if msg := tab.Text(".alert.error"); msg != "Wrong username or password." {
			t.Errorf("wrong password message %q", msg)
		}
		if tab.Value("#username") != "admin" || tab.Value("#password") != "" {
			t.Error("after a wrong password the username should stay and the password be empty")
		}
		shot(t, tab, "02-signin-wrong-password")

		tab.Fill("#password", testenv.AdminPassword)
		if st := tab.Submit("main button[type=submit]"); st != 200 {
			t.Fatalf("sign-in: status %d at %s", st, tab.Location())
		}
		if got := tab.Text("#code"); got != da.UserCode {
			t.Fatalf("consent shows code %q, want %q", got, da.UserCode)
		}
		for sel, want := range map[string]string{
			"#client":   "Print Client",
			"#hardware": "PRN-7741-XC",
			"#ip":       "127.0.0.1",
			"#scopes":   pairgate.ScopeDescriptions["printing"],
		} {
			if got := tab.Text(sel); !strings.Contains(got, want) {
				t.Errorf("consent %s = %q, want it to contain %q", sel, got, want)
			}
		}
		if got := tab.Attr("#mode", "data-mode"); got != "device" {
			t.Errorf("consent mode %q", got)
		}
		if !strings.Contains(tab.Text("#time"), "UTC") {
			t.Errorf("consent time %q", tab.Text("#time"))
		}
		if got := tab.Value("#device_name"); got != "HP LaserJet 4th floor" {
			t.Errorf("device name field %q", got)
		}
		shot(t, tab, "03-consent-device-flow")

		tab.Fill("#device_name", "Front desk printer")
		if st := tab.Submit(`button[name=action][value=approve]`); st != 200 {
			t.Fatalf("approve: status %d", st)
		}
		if got := tab.Attr("#result", "data-result"); got != "approved" {
			t.Fatalf("result %q: %s", got, tab.Text("main"))
		}
		if !strings.Contains(tab.Text("main"), "return to your device") {
			t.Errorf("result page does not send the person back to the device: %q", tab.Text("main"))
		}
		shot(t, tab, "04-result-approved")

		tok := <-tokens
		if tok.err != nil {
			t.Fatalf("device poll: %v", tok.err)
		}
		if tok.tok.AccessToken == "" || tok.tok.RefreshToken == "" {
			t.Fatalf("device got %+v", tok.tok)
		}
		devs, err := s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{Search: "PRN-7741-XC"})
		if err != nil || len(devs) != 1 {
			t.Fatalf("inventory: %v %v", devs, err)
		}
		if d := devs[0]; d.Name != "Front desk printer" || d.UserID != s.Admin(t).ID || d.Mode != pairgate.ModeDevice {
			t.Errorf("inventory entry %+v", d)
		}

		// The person is signed in now: the home page says so, and signing
		// out is a button.
		tab.Navigate(s.URL + "/")
		shot(t, tab, "05-home-signed-in")
		if st := tab.Submit(".who button"); st != 200 {
			t.Fatalf("sign out: %d", st)
		}
		if got := tab.Text(".alert.ok"); got != "You are signed out." {
			t.Errorf("after sign-out: %q at %s", got, tab.Location())
		}
		shot(t, tab, "06-signed-out")
	})

	t.Run("PairingApproved", func(t *testing.T) {
		pr := startPairing(t, s, `{"mode":"user","scope":"printing"}`)
		tokens := pollPairing(t, s, pr.PairingCode)

		tab := b.Tab(t)
		tab.Navigate(pr.AuthURL)
		if !strings.Contains(tab.Text("main"), "Sign in to connect a device") {
			t.Errorf("auth_url sign-in page does not say why: %q", tab.Text("main"))
		}
		tab.Fill("#username", "admin")
		tab.Fill("#password", testenv.AdminPassword)
		if st := tab.Submit("main button[type=submit]"); st != 200 {
			t.Fatalf("sign-in: status %d at %s", st, tab.Location())
		}
		u, _ := url.Parse(tab.Location())
		if u.Path != "/oauth/authorize/pairing/" || u.Query().Get("pairing_code") != pr.PairingCode {
			t.Fatalf("after sign-in the browser is at %s", tab.Location())
		}
		if got := tab.Text("#code"); got != pr.PairingCode {
			t.Errorf("consent shows %q, want %q", got, pr.PairingCode)
		}
		if got := tab.Attr("#mode", "data-mode"); got != "user" || !strings.Contains(tab.Text("#mode"), "admin") {
			t.Errorf("user mode shown as %q %q", got, tab.Text("#mode"))
		}
		shot(t, tab, "07-consent-pairing-user-mode")
		if st := tab.Submit(`button[name=action][value=approve]`); st != 200 {
			t.Fatalf("approve: status %d", st)
		}
		if got := tab.Attr("#result", "data-result"); got != "approved" {
			t.Fatalf("result %q", got)
		}
		r := <-tokens
		if r.err != "" || r.body["access_token"] == nil {
			t.Fatalf("pairing poll: %s %v", r.err, r.body)
		}
	})

	t.Run("DeviceFlowDenied", func(t *testing.T) {
		cfg := oauthConfig(s)
		da, err := cfg.DeviceAuth(ctx(t), oauth2.SetAuthURLParam("mode", "user"))
		if err != nil {
			t.Fatalf("DeviceAuth: %v", err)
		}
		tokens := pollDevice(t, cfg, da)

		tab := b.Tab(t)
		// A person types the code on the entry page, lower case, no dash.
		tab.Navigate(s.URL + "/device")
		shot(t, tab, "08-device-entry")
		tab.Fill("#code", "bcdf")
		if st := tab.Submit("main button[type=submit]"); st != 404 {
			t.Errorf("malformed code: status %d", st)
		}
		if msg := tab.Text(".alert.error"); !strings.Contains(msg, "not valid") {
			t.Errorf("malformed code message %q", msg)
		}
		shot(t, tab, "09-device-entry-wrong-code")
		tab.Fill("#code", strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")))
		if st := tab.Submit("main button[type=submit]"); st != 200 {
			t.Fatalf("code entry: status %d", st)
		}
		tab.Fill("#username", "admin")
		tab.Fill("#password", testenv.AdminPassword)
		tab.Submit("main button[type=submit]")
		if got := tab.Text("#code"); got != da.UserCode {
			t.Fatalf("consent shows %q, want %q", got, da.UserCode)
		}
		if st := tab.Submit(`button[name=action][value=deny]`); st != 200 {
			t.Fatalf("deny: status %d", st)
		}
		if got := tab.Attr("#result", "data-result"); got != "denied" {
			t.Fatalf("result %q", got)
		}
		shot(t, tab, "10-result-denied")
		r := <-tokens
		var re *oauth2.RetrieveError
		if !errors.As(r.err, &re) || re.ErrorCode != "access_denied" {
			t.Fatalf("device poll after deny: %v, want access_denied", r.err)
		}

		// The code is used up: entering it again says so, and nothing
		// else happens.
		tab.Navigate(s.URL + "/device")
		tab.Fill("#code", da.UserCode)
		if st := tab.Submit("main button[type=submit]"); st != 409 {
			t.Errorf("used code: status %d", st)
		}
		if msg := tab.Text(".alert.error"); !strings.Contains(msg, "already used") {
			t.Errorf("used code message %q", msg)
		}
		shot(t, tab, "11-device-entry-used-code")
	})

	t.Run("OtherPages", func(t *testing.T) {
		tab := b.Tab(t)
		tab.Navigate(s.URL + "/")
		shot(t, tab, "12-home")
		if st := tab.Navigate(s.URL + "/no/such/page"); st != 404 {
			t.Errorf("unknown page: %d", st)
		}
		shot(t, tab, "13-not-found")
		tab.Navigate(s.URL + "/oauth/authorize/pairing/")
		tab.Navigate(s.URL + "/auth/signin/?next=%2Foauth%2Fauthorize%2Fpairing%2F")
		tab.Fill("#username", "admin")
		tab.Fill("#password", testenv.AdminPassword)
		tab.Submit("main button[type=submit]")
		if got := tab.Attr("#code", "name"); got != "pairing_code" {
			t.Fatalf("pairing page without a code should ask for one; field %q", got)
		}
		shot(t, tab, "14-pairing-entry")
		tab.Navigate(s.URL + "/auth/signout")
		shot(t, tab, "15-signout")

		// Guessing from one address: the limit answers 429 and says when
		// to try again.
		for range 60 {
			post(t, s.URL+"/device", "user_code=BBBB-BBBB")
		}
		tab.Navigate(s.URL + "/device")
		tab.Fill("#code", "BCDF-GHJK")
		if st := tab.Submit("main button[type=submit]"); st != 429 {
			t.Errorf("after 60 attempts: status %d", st)
		}
		if msg := tab.Text(".alert.error"); !strings.Contains(msg, "try again in 10 minutes") {
			t.Errorf("rate limit message %q", msg)
		}
		shot(t, tab, "16-device-entry-rate-limited")
	})
}

// shot saves a screenshot and checks what every page must be on a phone:
// nothing makes it scroll sideways, and it has no script but the site's
// one file (the console's and the portal's: copy buttons, local times),
// which only improves what works without it.
func shot(t *testing.T, tab *testenv.Tab, name string) {
	t.Helper()
	tab.Screenshot(name)
	if n := tab.Count(`script:not([src^="/assets/copy.js?v="])`); n != 0 {
		t.Errorf("%s: %d script elements besides the site's own file", name, n)
	}
	if w := tab.ScrollWidth(); w > testenv.PhoneWidth {
		t.Errorf("%s: page is %d px wide, more than a %d px phone", name, w, testenv.PhoneWidth)
	}
}

type deviceResult struct {
	tok *oauth2.Token
	err error
}

// pollDevice polls as the device does, in the background.
func pollDevice(t *testing.T, cfg *oauth2.Config, da *oauth2.DeviceAuthResponse) <-chan deviceResult {
	out := make(chan deviceResult, 1)
	c := ctx(t)
	go func() {
		tok, err := cfg.DeviceAccessToken(c, da)
		out <- deviceResult{tok, err}
	}()
	return out
}

type pairingResult struct {
	body map[string]any
	err  string
}

// pollPairing polls the token endpoint with the pairing code, as the
// cloud-print devices do, until it gets tokens or an error other than
// authorization_pending.
func pollPairing(t *testing.T, s *testenv.Server, code string) <-chan pairingResult {
	out := make(chan pairingResult, 1)
	deadline := time.Now().Add(45 * time.Second)
	go func() {
		for time.Now().Before(deadline) {
			r := postBasic(s.URL+"/oauth/access_token/", "grant_type=pairing_code&scope=printing&pairing_code="+url.QueryEscape(code))
			if r.err != nil {
				out <- pairingResult{err: r.err.Error()}
				return
			}
			if e, _ := r.body["error"].(string); e != "authorization_pending" {
				out <- pairingResult{body: r.body, err: e}
				return
			}
			time.Sleep(time.Second) // the interval of test servers
		}
		out <- pairingResult{err: "no answer before the deadline"}
	}()
	return out
}
