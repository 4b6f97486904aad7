package web_test

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
	"github.com/pairgate/pairgate/internal/web"
)

// TestSignInRedirectsOnlyToLocalPaths: `next` is honoured only when it is
// a path on this server. Each vector is one a browser would read as
// another host, or a scheme.
func TestSignInRedirectsOnlyToLocalPaths(t *testing.T) {
	s := testenv.StartServer(t)
	evil := []string{
		"//evil.example/x",
		"///evil.example",
		"/\\evil.example",
		"\\/evil.example",
		"/\t/evil.example",
		"/\n/evil.example",
		"https://evil.example/",
		"http:evil.example",
		"HTTPS://evil.example",
		"javascript:alert(1)",
		"data:text/html,hi",
		"evil.example",
		" //evil.example",
		"%2F%2Fevil.example",
		"/\r\nLocation: https://evil.example",
		"//%09/evil.example",
		"/" + strings.Repeat("a", 3000),
	}
	for _, next := range evil {
		t.Run(fmt.Sprintf("%q", next), func(t *testing.T) {
			s.Clock.Advance(10 * time.Minute) // a fresh rate-limit window for each attempt
			b := newBrowser(t, s.URL)
			page := b.get("/auth/signin/?next=" + url.QueryEscape(next))
			if page.status != 200 || strings.Contains(page.raw, `name="next"`) {
				t.Fatalf("the sign-in page carries a foreign next on: %d", page.status)
			}
			r := b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {next}})
			if r.status != http.StatusSeeOther || location(r) != "/" {
				t.Fatalf("sign-in with next=%q: %d to %q, want 303 to /", next, r.status, location(r))
			}
			// Signed in, the page forwards at once: to the same safe place.
			r = b.get("/auth/signin/?next=" + url.QueryEscape(next))
			if r.status != http.StatusSeeOther || location(r) != "/" {
				t.Fatalf("signed in, next=%q: %d to %q", next, r.status, location(r))
			}
		})
	}
	// Local paths are kept as they are; escapes stay escaped.
	for _, next := range []string{"/device?user_code=BCDF-GHJK", "/oauth/authorize/pairing/?pairing_code=aB3dE5fG7h", "/",
		"/%0d%0aSet-Cookie:%20x=1"} {
		s.Clock.Advance(10 * time.Minute)
		b := newBrowser(t, s.URL)
		r := b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {next}})
		if r.status != http.StatusSeeOther || location(r) != next {
			t.Errorf("local next=%q: %d to %q", next, r.status, location(r))
		}
	}
	for _, next := range []string{"/device", "/oauth/authorize/pairing/?pairing_code=x", "/a/b?c=d&e=f#g"} {
		if !web.LocalPath(next) {
			t.Errorf("LocalPath(%q) = false", next)
		}
	}
}

// TestCrossOriginPostsAreRefused: a form another site posts (CSRF) is
// refused with 403 and changes nothing, whether the browser says so with
// Sec-Fetch-Site or only with Origin; the same forms from the site itself
// work.
func TestCrossOriginPostsAreRefused(t *testing.T) {
	s := testenv.StartServer(t)
	code := startDevice(t, s, "&mode=device&hardware_id=CSRF-1")
	pr := startPairing(t, s, `{"mode":"device"}`)
	victim := newBrowser(t, s.URL)
	victim.signIn("admin", testenv.AdminPassword)

	foreign := [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site", "Origin", "https://printers.evil.example"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "", "Origin", "null"},
	}
	before := testenv.RowCounts(t, s.DB)
	for _, h := range foreign {
		for _, req := range []struct {
			path string
			form url.Values
		}{
			{"/device", url.Values{"user_code": {code}, "action": {"approve"}}},
			{"/device", url.Values{"user_code": {code}}},
			{"/oauth/authorize/pairing/", url.Values{"pairing_code": {pr.PairingCode}, "action": {"approve"}}},
			{"/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}}},
			{"/auth/signout", url.Values{}},
		} {
			r := victim.post(req.path, req.form, h...)
			if r.status != http.StatusForbidden || !strings.Contains(r.raw, "Nothing was changed") {
				t.Errorf("POST %s with %v: %d, want 403", req.path, h, r.status)
			}
			if cookie(r, "pairgate_session") != nil {
				t.Errorf("POST %s with %v set a session cookie", req.path, h)
			}
		}
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("refused cross-origin posts changed the database:\nbefore %v\nafter  %v", before, after)
	}
	if st := state(t, s, code); st != pairgate.StatePending {
		t.Fatalf("request is %s after cross-origin approvals", st)
	}
	if !signedIn(victim) {
		t.Fatal("a cross-origin sign-out ended the session")
	}
	// The site's own form goes through.
	r := victim.post("/device", url.Values{"user_code": {code}, "action": {"approve"}})
	if r.status != 200 || state(t, s, code) != pairgate.StateApproved {
		t.Fatalf("same-origin approval: %d, state %s", r.status, state(t, s, code))
	}
}

// signedIn reports whether b has a live session: the sign-out page shows
// its button only then.
func signedIn(b *browser) bool {
	return b.get("/auth/signout").status == http.StatusOK
}

// TestUserCodeGuessingIsLimited: docs/design.md 2.6. Entering codes is limited
// per source address and per code; a limited attempt is answered 429 with
// Retry-After, says when to try again, and does nothing, even with the
// right code.
func TestUserCodeGuessingIsLimited(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) {
		c.TrustedProxies = "127.0.0.1"
		c.DeviceCodeTTL = time.Hour // outlives the rate-limit window
	}))
	code := startDevice(t, s, "")
	lim := pageLimits

	from := func(ip string) *browser {
		b := newBrowser(t, s.URL)
		b.header.Set("X-Forwarded-For", ip)
		return b
	}
	guesser := from("198.51.100.7")
	for i := range lim.CodePerIP.Limit {
		r := guesser.post("/device", url.Values{"user_code": {secret.UserCode()}})
		if r.status != http.StatusNotFound {
			t.Fatalf("guess %d: %d", i+1, r.status)
		}
	}
	s.Clock.Advance(time.Minute)
	for _, try := range []string{secret.UserCode(), code} {
		r := guesser.post("/device", url.Values{"user_code": {try}})
		retry, _ := strconv.Atoi(r.header.Get("Retry-After"))
		if r.status != http.StatusTooManyRequests || retry < 500 || retry > 540 {
			t.Fatalf("attempt past the limit: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
		}
		if !strings.Contains(r.raw, "try again in 9 minutes") {
			t.Errorf("429 page does not say when to try again:\n%s", r.raw)
		}
	}
	// The limited attempt with the right code did nothing: no redirect to
	// sign-in, and the request is untouched.
	if st := state(t, s, code); st != pairgate.StatePending {
		t.Fatalf("state %s", st)
	}
	// The pairing page shares the per-address limit.
	if r := guesser.post("/oauth/authorize/pairing/", url.Values{"pairing_code": {"aB3dE5fG7h"}}); r.status != http.StatusTooManyRequests {
		t.Errorf("pairing page from a limited address: %d", r.status)
	}
	// Other addresses are not affected, and the limit ends with its window.
	if r := from("198.51.100.8").post("/device", url.Values{"user_code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("right code from another address: %d %s", r.status, r.raw)
	}
	s.Clock.Advance(lim.CodePerIP.Window)
	if r := guesser.post("/device", url.Values{"user_code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("right code after the window: %d", r.status)
	}

	// Per code: many addresses trying one code are limited too. In the
	// current window the code has had one attempt so far.
	for i := 1; i < lim.CodePerCode.Limit; i++ {
		from(fmt.Sprintf("203.0.113.%d", i)).post("/device", url.Values{"user_code": {strings.ToLower(code)}})
	}
	r := from("203.0.113.200").post("/device", url.Values{"user_code": {strings.ReplaceAll(code, "-", "")}})
	if r.status != http.StatusTooManyRequests {
		t.Fatalf("attempt %d on one code, from a fresh address: %d", lim.CodePerCode.Limit+1, r.status)
	}
	if st := state(t, s, code); st != pairgate.StatePending {
		t.Fatalf("state %s", st)
	}
}

// TestSignInGuessingIsLimited: password guessing is limited per address
// and per account; a limited attempt does not even check the password.
func TestSignInGuessingIsLimited(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.TrustedProxies = "127.0.0.1" }))
	lim := pageLimits
	from := func(ip string) *browser {
		b := newBrowser(t, s.URL)
		b.header.Set("X-Forwarded-For", ip)
		return b
	}
	attacker := from("198.51.100.66")
	for i := range lim.SignInPerIP.Limit {
		// Different accounts, so that only the per-address limit applies.
		r := attacker.post("/auth/signin/", url.Values{"username": {fmt.Sprintf("user%d", i)}, "password": {"guess"}})
		if r.status != http.StatusBadRequest {
			t.Fatalf("attempt %d: %d", i+1, r.status)
		}
	}
	r := attacker.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || cookie(r, "pairgate_session") != nil {
		t.Fatalf("sign-in past the per-address limit: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.raw, "Too many sign-in attempts") || !strings.Contains(r.raw, "try again in 10 minutes") {
		t.Errorf("429 sign-in page:\n%s", r.raw)
	}

	// One account from many addresses.
	for i := range lim.SignInPerAccount.Limit {
		from(fmt.Sprintf("203.0.113.%d", i)).post("/auth/signin/", url.Values{"username": {"Admin"}, "password": {"guess"}})
	}
	r = from("192.0.2.250").post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}})
	if r.status != http.StatusTooManyRequests || cookie(r, "pairgate_session") != nil {
		t.Fatalf("sign-in past the per-account limit: %d", r.status)
	}
	s.Clock.Advance(lim.SignInPerAccount.Window)
	from("192.0.2.250").signIn("admin", testenv.AdminPassword)
}

// pageLimits are the store-backed rules the pages meet.
var pageLimits = struct{ CodePerIP, CodePerCode, SignInPerIP, SignInPerAccount ratelimit.Rule }{
	ratelimit.CodeEntryPerIP, ratelimit.CodeEntryPerCode, ratelimit.SignInPerIP, ratelimit.SignInPerAccount}

// TestAttackerCannotLockTheOwnerOut: case 5 of issue 11. Twenty wrong
// passwords from twenty addresses, then the right one: an unknown browser
// is refused, the owner's browser (which signed in before) is not, and
// neither is a browser that is an authorized device of the account.
func TestAttackerCannotLockTheOwnerOut(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.TrustedProxies = "127.0.0.1" }))
	from := func(ip string) *browser {
		b := newBrowser(t, s.URL)
		b.header.Set("X-Forwarded-For", ip)
		return b
	}
	owner := from("192.0.2.10")
	owner.signIn("admin", testenv.AdminPassword)
	owner.post("/auth/signout", url.Values{})
	// The admin's console browser is an authorized device of the account.
	device := from("192.0.2.11")
	device.signIn("admin", testenv.AdminPassword)
	device.get("/admin")
	device.post("/auth/signout", url.Values{})
	for i := range pageLimits.SignInPerAccount.Limit {
		from(fmt.Sprintf("203.0.113.%d", i)).post("/auth/signin/", url.Values{"username": {"admin"}, "password": {"guess"}})
	}
	if r := from("192.0.2.250").post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}}); r.status != http.StatusTooManyRequests {
		t.Fatalf("an unknown browser after the guesses: %d, want 429", r.status)
	}
	if r := owner.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}}); r.status != http.StatusSeeOther || cookie(r, "pairgate_session") == nil {
		t.Fatalf("the owner's browser is locked out: %d\n%s", r.status, r.raw)
	}
	if r := device.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}}); r.status != http.StatusSeeOther || cookie(r, "pairgate_session") == nil {
		t.Fatalf("the account's authorized browser is locked out: %d\n%s", r.status, r.raw)
	}
}

// TestWrongPasswordDoesNotSayWhich: an unknown account and a wrong
// password get the same answer.
func TestWrongPasswordDoesNotSayWhich(t *testing.T) {
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	wrongPass := b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {"wrong password"}})
	noUser := b.post("/auth/signin/", url.Values{"username": {"nobody"}, "password": {"wrong password"}})
	badName := b.post("/auth/signin/", url.Values{"username": {"no body!"}, "password": {"wrong password"}})
	for _, r := range []reply{wrongPass, noUser, badName} {
		if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "Wrong username or password.") || cookie(r, "pairgate_session") != nil {
			t.Errorf("failed sign-in: %d\n%s", r.status, r.raw)
		}
	}
	strip := func(s string) string { // the echoed username differs, nothing else may
		for _, n := range []string{"admin", "nobody", "no body!"} {
			s = strings.ReplaceAll(s, `value="`+n+`"`, "")
		}
		return s
	}
	if strip(wrongPass.raw) != strip(noUser.raw) {
		t.Error("the pages for a wrong password and an unknown account differ")
	}
}

// TestSessionExpires: a session ends after 30 minutes without use, and
// after 12 hours however busy it is; moving the clock, never sleeping.
func TestSessionExpires(t *testing.T) {
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	b.signIn("admin", testenv.AdminPassword)
	// Used every 25 minutes, it stays alive.
	for range 4 {
		s.Clock.Advance(25 * time.Minute)
		if !signedIn(b) {
			t.Fatal("session ended while in use")
		}
	}
	s.Clock.Advance(31 * time.Minute)
	if signedIn(b) {
		t.Fatal("session alive after 31 idle minutes")
	}
	if n := testenv.RowCounts(t, s.DB)["sessions"]; n != 0 {
		t.Fatalf("idle session not deleted: %d rows", n)
	}
	// The consent page sends an expired session back to sign-in.
	code := startDevice(t, s, "")
	if r := b.get("/device?user_code=" + code); r.status != http.StatusSeeOther || !strings.HasPrefix(location(r), "/auth/signin/?next=") {
		t.Fatalf("consent without a session: %d %q", r.status, location(r))
	}

	b.signIn("admin", testenv.AdminPassword)
	start := s.Clock.Now()
	for s.Clock.Now().Sub(start) < 12*time.Hour-25*time.Minute {
		s.Clock.Advance(20 * time.Minute)
		if !signedIn(b) {
			t.Fatalf("busy session ended after %v", s.Clock.Now().Sub(start))
		}
	}
	s.Clock.Advance(30 * time.Minute)
	if signedIn(b) {
		t.Fatalf("session alive after %v", s.Clock.Now().Sub(start))
	}
}

// TestSignOutEndsTheSessionOnTheServer: after sign-out the old cookie is
// worthless, even replayed.
func TestSignOutEndsTheSessionOnTheServer(t *testing.T) {
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	b.signIn("admin", testenv.AdminPassword)
	u, _ := url.Parse(s.URL)
	old := b.c.Jar.Cookies(u)
	r := b.post("/auth/signout", url.Values{})
	if r.status != http.StatusSeeOther || location(r) != "/auth/signin/?signed_out=1" {
		t.Fatalf("sign-out: %d %q", r.status, location(r))
	}
	if c := cookie(r, "pairgate_session"); c == nil || c.MaxAge >= 0 {
		t.Fatalf("sign-out does not clear the cookie: %+v", c)
	}
	if n := testenv.RowCounts(t, s.DB)["sessions"]; n != 0 {
		t.Fatalf("%d sessions after sign-out", n)
	}
	replay := newBrowser(t, s.URL)
	replay.c.Jar.SetCookies(u, old)
	if signedIn(replay) {
		t.Fatal("the cookie of a signed-out session still works")
	}
	if r := b.get("/auth/signout"); r.status != http.StatusSeeOther {
		t.Fatalf("sign-out page when signed out: %d", r.status)
	}
}

// TestSignInIssuesANewSession: a session id planted before sign-in is
// dead after it (session fixation), and the cookie is HttpOnly, SameSite
// and Secure when the issuer is https.
func TestSignInIssuesANewSession(t *testing.T) {
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	b.signIn("admin", testenv.AdminPassword)
	u, _ := url.Parse(s.URL)
	planted := b.c.Jar.Cookies(u)[0].Value

	r := b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}})
	c := cookie(r, "pairgate_session")
	if c == nil || c.Value == planted || !secret.LooksLike(c.Value, secret.PrefixSession) {
		t.Fatalf("sign-in kept the session id or set a malformed one: %+v", c)
	}
	if !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.Path != "/" || c.Secure {
		t.Errorf("cookie attributes over http: %+v", c)
	}
	if n := testenv.RowCounts(t, s.DB)["sessions"]; n != 1 {
		t.Fatalf("%d sessions, want the new one only", n)
	}
	old := newBrowser(t, s.URL)
	old.c.Jar.SetCookies(u, []*http.Cookie{{Name: "pairgate_session", Value: planted}})
	if signedIn(old) {
		t.Fatal("the session id from before sign-in still works")
	}

	// Served as https (behind a proxy), the cookie is Secure.
	tls := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.Issuer = "https://pairgate.example" }))
	hb := newBrowser(t, "http://"+tls.App.Config.Addr)
	r = hb.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}},
		"Origin", "https://pairgate.example", "Sec-Fetch-Site", "same-origin")
	if c := cookie(r, "pairgate_session"); c == nil || !c.Secure || !c.HttpOnly {
		t.Fatalf("cookie with an https issuer: %d %+v", r.status, c)
	}
}

// TestPagesForbidFramingAndScripts: every page, error pages included,
// forbids framing and allows nothing but its own stylesheet; JSON
// endpoints keep the stricter policy.
func TestPagesForbidFramingAndScripts(t *testing.T) {
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	for _, p := range []struct {
		method, path string
		status       int
	}{
		{"GET", "/", 200}, {"GET", "/device", 200}, {"GET", "/device?user_code=BCDF-GHJK", 303},
		{"GET", "/auth/signin/", 200}, {"GET", "/auth/signin", 301}, {"GET", "/oauth/authorize/pairing/", 200},
		{"GET", "/auth/signout", 303}, {"GET", "/no/such/page", 404}, {"PUT", "/device", 405},
		{"DELETE", "/auth/signin/", 405}, {"GET", "/device/", 301}, {"GET", "/portal/", 301}, {"HEAD", "/device", 200},
		{"GET", "/portal", 200}, {"PUT", "/portal", 405}, {"GET", "/admin", 303}, {"GET", "/admin/audit", 303},
		{"GET", "/admin/codes", 405}, {"GET", "/admin/devices/dev_x/delete", 405}, {"GET", "/admin/nothing", 404},
	} {
		r := b.do(p.method, p.path, nil)
		h := r.header
		if r.status != p.status {
			t.Errorf("%s %s: %d, want %d", p.method, p.path, r.status, p.status)
		}
		csp := h.Get("Content-Security-Policy")
		if !strings.Contains(csp, "frame-ancestors 'none'") || !strings.Contains(csp, "default-src 'none'") ||
			strings.Contains(csp, "script-src") || strings.Contains(csp, "unsafe") || h.Get("X-Frame-Options") != "DENY" {
			t.Errorf("%s %s: CSP %q, X-Frame-Options %q", p.method, p.path, csp, h.Get("X-Frame-Options"))
		}
		if h.Get("Cache-Control") != "no-store" {
			t.Errorf("%s %s: Cache-Control %q", p.method, p.path, h.Get("Cache-Control"))
		}
		if r.status == 200 || r.status >= 400 {
			if !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
				t.Errorf("%s %s: Content-Type %q", p.method, p.path, h.Get("Content-Type"))
			}
			if p.method != "HEAD" && (!strings.Contains(r.raw, "</html>") || strings.Contains(r.raw, "<script")) {
				t.Errorf("%s %s: not a whole page, or has a script", p.method, p.path)
			}
		}
		if r.status == 405 && h.Get("Allow") == "" {
			t.Errorf("%s %s: 405 without Allow", p.method, p.path)
		}
	}
	r := b.get("/.well-known/oauth-authorization-server")
	if csp := r.header.Get("Content-Security-Policy"); strings.Contains(csp, "style-src") {
		t.Errorf("JSON endpoint CSP loosened: %q", csp)
	}
	r = b.get("/auth/signin?next=%2Fdevice")
	if location(r) != "/auth/signin/?next=%2Fdevice" {
		t.Errorf("/auth/signin redirects to %q", location(r))
	}
}

// TestServerStartsFromAnyDirectory: templates and the stylesheet are in
// the binary, not read from the working directory.
func TestServerStartsFromAnyDirectory(t *testing.T) {
	t.Chdir(t.TempDir())
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	page := b.get("/device")
	i := strings.Index(page.raw, `href="/assets/style.css?v=`)
	if page.status != 200 || i < 0 {
		t.Fatalf("/device from an empty directory: %d\n%s", page.status, page.raw)
	}
	href := page.raw[i+6 : i+6+strings.Index(page.raw[i+6:], `"`)]
	css := b.get(href)
	if css.status != 200 || !strings.HasPrefix(css.header.Get("Content-Type"), "text/css") || !strings.Contains(css.raw, ".card") {
		t.Fatalf("stylesheet %s: %d %q", href, css.status, css.header.Get("Content-Type"))
	}
}

// TestDecisionsNeedASessionAndAValidCode: a decision is taken only by a
// signed-in person, on the code the form posts, looked up again.
func TestDecisionsNeedASessionAndAValidCode(t *testing.T) {
	s := testenv.StartServer(t)
	code := startDevice(t, s, "&device_name=Kiosk")

	anon := newBrowser(t, s.URL)
	r := anon.post("/device", url.Values{"user_code": {code}, "action": {"approve"}})
	if r.status != http.StatusSeeOther || location(r) != "/auth/signin/?next="+url.QueryEscape("/device?user_code="+code) {
		t.Fatalf("anonymous approval: %d %q", r.status, location(r))
	}
	if st := state(t, s, code); st != pairgate.StatePending {
		t.Fatalf("anonymous approval changed the state to %s", st)
	}

	// A person with the user role may approve.
	ctx := context.Background()
	now := s.Clock.Now()
	if err := s.App.Store.CreateUser(ctx, &pairgate.User{ID: secret.NewID("usr_", now), Username: "pat",
		PasswordHash: secret.HashPassword("pat's password"), Role: pairgate.RoleUser, CreatedAt: now, PasswordChangedAt: now}); err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL)
	b.signIn("pat", "pat's password")
	for _, bad := range []url.Values{
		{"user_code": {"BCDF-GHJK"}, "action": {"approve"}},
		{"user_code": {code}, "action": {"maybe"}},
		{"user_code": {code}, "action": {"approve"}, "device_name": {"bad\x00name"}},
		{"action": {"approve"}, "authorization_id": {"da_anything"}},
	} {
		r := b.post("/device", bad)
		if r.status < 400 || r.status >= 500 {
			t.Errorf("decision %v: %d", bad, r.status)
		}
		if st := state(t, s, code); st != pairgate.StatePending {
			t.Fatalf("decision %v changed the state to %s", bad, st)
		}
	}
	r = b.post("/device", url.Values{"user_code": {code}, "action": {"approve"}, "device_name": {""}})
	if r.status != 200 || !strings.Contains(r.raw, "Kiosk") {
		t.Fatalf("approval: %d\n%s", r.status, r.raw)
	}
	if st := state(t, s, code); st != pairgate.StateApproved {
		t.Fatalf("state %s", st)
	}
	// Approving twice: the second says the code was used.
	r = b.post("/device", url.Values{"user_code": {code}, "action": {"deny"}})
	if r.status != http.StatusConflict || !strings.Contains(r.raw, "already used") {
		t.Fatalf("second decision: %d", r.status)
	}
	// An expired code says so.
	late := startDevice(t, s, "")
	s.Clock.Advance(11 * time.Minute)
	r = b.post("/device", url.Values{"user_code": {late}})
	if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "expired") {
		t.Fatalf("expired code: %d", r.status)
	}
}

// TestSessionIDsAreStoredHashed: docs/design.md 2.5. The cookie value never
// reaches the database; a copy of it signs no one in.
func TestSessionIDsAreStoredHashed(t *testing.T) {
	s := testenv.StartServer(t)
	b := newBrowser(t, s.URL)
	b.signIn("admin", testenv.AdminPassword)
	u, _ := url.Parse(s.URL)
	value := b.c.Jar.Cookies(u)[0].Value
	if err := s.App.Store.IntegrityCheck(context.Background()); err != nil {
		t.Fatal(err)
	}
	var all []byte
	for _, f := range []string{s.DB, s.DB + "-wal"} {
		data, _ := os.ReadFile(f) // the WAL may be gone after a checkpoint
		all = append(all, data...)
	}
	if len(all) < 10000 {
		t.Fatalf("suspiciously small database (%d bytes)", len(all))
	}
	if bytes.Contains(all, []byte(value)) || bytes.Contains(all, []byte(strings.TrimPrefix(value, secret.PrefixSession))) {
		t.Fatal("the session cookie value is in the database in plaintext")
	}
	if n := testenv.RowCounts(t, s.DB)["sessions"]; n != 1 {
		t.Fatalf("%d session rows", n)
	}
}
