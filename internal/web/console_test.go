package web_test

import (
	"context"
	"fmt"
	"html"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

// consoleAdmin signs an HTTP browser in to the console, as the sign-in
// page does when /admin sent it there.
func consoleAdmin(t *testing.T, s *testenv.Server) *browser {
	t.Helper()
	b := newBrowser(t, s.URL)
	r := b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {"/admin"}})
	if r.status != http.StatusSeeOther || location(r) != "/admin" {
		t.Fatalf("console sign-in: %d to %q", r.status, location(r))
	}
	return b
}

var (
	rowIDs   = regexp.MustCompile(`<tr data-id="([^"]+)"`)
	newCode  = regexp.MustCompile(`<p class="code" id="new-code">([^<]+)</p>`)
	nextLink = regexp.MustCompile(`<a class="button secondary" href="([^"]+)" id="next-page"`)
)

// tableIDs returns the data-id of every row of the table with this id.
func tableIDs(page, table string) []string {
	i := strings.Index(page, `<table class="data" id="`+table+`">`)
	if i < 0 {
		return nil
	}
	page = page[i:]
	page = page[:strings.Index(page, "</table>")]
	var out []string
	for _, m := range rowIDs.FindAllStringSubmatch(page, -1) {
		out = append(out, m[1])
	}
	return out
}

func nextPage(page string) string {
	m := nextLink.FindStringSubmatch(page)
	if m == nil {
		return ""
	}
	return html.UnescapeString(m[1])
}

// generate makes a code through the console's form and returns it with
// the page that shows it.
func generate(t *testing.T, b *browser, ttl string) (string, reply) {
	t.Helper()
	r := b.post("/admin/codes", url.Values{"ttl": {ttl}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("generate %s: %d %s", ttl, r.status, r.raw)
	}
	page := b.get(location(r))
	m := newCode.FindStringSubmatch(page.raw)
	if page.status != 200 || m == nil {
		t.Fatalf("the page after generating does not show the code: %d", page.status)
	}
	return m[1], page
}

// TestConsoleIsForAdmins: signed out, every console page and form leads
// to sign-in (and back); a signed-in non-admin gets 403 and changes
// nothing; a non-admin's sign-in never authorizes the browser.
func TestConsoleIsForAdmins(t *testing.T) {
	s := testenv.StartServer(t)
	anon := newBrowser(t, s.URL)
	for _, p := range []string{"/admin", "/admin/audit?action=signin.", "/admin?q=kiosk"} {
		r := anon.get(p)
		if r.status != http.StatusSeeOther || location(r) != "/auth/signin/?next="+url.QueryEscape(p) {
			t.Errorf("signed out GET %s: %d to %q", p, r.status, location(r))
		}
	}
	// A form sent without a session is not acted on: sign-in says so
	// and leads back, with what the form said that can be kept.
	for p, next := range map[string]string{"/admin/codes": "/admin?ttl=30m", "/admin/codes/ac_x/delete": "/admin",
		"/admin/devices/dev_x/delete": "/admin"} {
		r := anon.post(p, url.Values{"ttl": {"30m"}})
		if r.status != http.StatusSeeOther || location(r) != "/auth/signin/?next="+url.QueryEscape(next)+"&expired=1" {
			t.Errorf("signed out POST %s: %d to %q", p, r.status, location(r))
		}
	}
	if r := anon.get("/admin/"); r.status != http.StatusMovedPermanently || location(r) != "/admin" {
		t.Errorf("/admin/: %d to %q", r.status, location(r))
	}

	if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(t, s), "bob", pairgate.RoleUser, "bob's long password"); err != nil {
		t.Fatal(err)
	}
	bob := newBrowser(t, s.URL)
	r := bob.post("/auth/signin/", url.Values{"username": {"bob"}, "password": {"bob's long password"}, "next": {"/admin"}})
	if r.status != http.StatusSeeOther || cookie(r, "pairgate_device") != nil {
		t.Fatalf("a non-admin's console sign-in: %d, device cookie %v", r.status, cookie(r, "pairgate_device"))
	}
	for _, p := range []string{"/admin", "/admin/audit"} {
		if r := bob.get(p); r.status != http.StatusForbidden || !strings.Contains(r.raw, "Not for your role") {
			t.Errorf("non-admin GET %s: %d", p, r.status)
		}
	}
	code, _, err := s.App.Admin.CreateCode(context.Background(), adminActor(t, s), admin.NewCode{TTL: pairgate.TTLNever})
	if err != nil {
		t.Fatal(err)
	}
	codes, _ := s.App.Admin.ListCodes(context.Background(), s.AdminActor(t))
	before := testenv.RowCounts(t, s.DB)
	for _, p := range []string{"/admin/codes", "/admin/codes/" + codes[0].ID + "/delete"} {
		if r := bob.post(p, url.Values{"ttl": {"30m"}}); r.status != http.StatusForbidden {
			t.Errorf("non-admin POST %s: %d", p, r.status)
		}
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("a non-admin changed the database:\nbefore %v\nafter  %v", before, after)
	}
	if r := redeem(t, s, code, "Still works", ""); r.status != 200 {
		t.Fatalf("the code a non-admin tried to delete: %d %v", r.status, r.body)
	}

	// An admin signing in for anything but the console (approving a
	// device from a phone) does not make that phone a device.
	phone := newBrowser(t, s.URL)
	r = phone.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {"/device"}})
	if r.status != http.StatusSeeOther || cookie(r, "pairgate_device") != nil {
		t.Fatalf("admin sign-in to /device: %d, device cookie %v", r.status, cookie(r, "pairgate_device"))
	}
}

// TestConsoleSignInAuthorizesTheBrowserOnce: signing in to the console
// again from the same browser keeps its one device; after the device is
// deleted, a new sign-in authorizes it again under the same browser id,
// so the inventory never holds a browser twice (docs/design.md 2.1).
func TestConsoleSignInAuthorizesTheBrowserOnce(t *testing.T) {
	s := testenv.StartServer(t)
	b := consoleAdmin(t, s)
	list := func() []*pairgate.Device {
		devs, err := s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{ClientID: pairgate.BrowserClientID})
		if err != nil {
			t.Fatal(err)
		}
		return devs
	}
	devs := list()
	if len(devs) != 1 || devs[0].AuthMethod != pairgate.AuthByAdminSignIn || devs[0].UserID != s.Admin(t).ID ||
		!strings.HasPrefix(devs[0].HardwareID, "br_") || devs[0].Scopes.String() != "portal" {
		t.Fatalf("browser devices after console sign-in: %+v", devs)
	}
	first := devs[0]
	// The device cookie is long-lived, HttpOnly and Lax; the stored
	// session is its keyed hash.
	u, _ := url.Parse(s.URL)
	var tok string
	for _, c := range b.c.Jar.Cookies(u) {
		if c.Name == "pairgate_device" {
			tok = c.Value
		}
	}
	if !secret.LooksLike(tok, secret.PrefixBrowser) {
		t.Fatalf("device cookie %q", tok)
	}
	sess, err := s.App.Store.GetSession(context.Background(), s.App.Keys.Hash(secret.KindSession, tok), s.Clock.Now())
	if err != nil || sess.DeviceID != first.ID || sess.UserID != "" {
		t.Fatalf("device session: %+v %v", sess, err)
	}

	b.post("/auth/signout", url.Values{})
	b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {"/admin"}})
	if devs := list(); len(devs) != 1 || devs[0].ID != first.ID || !devs[0].AuthorizedAt.Equal(first.AuthorizedAt) {
		t.Fatalf("signing in again from an authorized browser changed the inventory: %+v", devs)
	}
	// The browser device outlives the person's session (30 idle minutes):
	// a day later the portal still opens.
	s.Clock.Advance(24 * time.Hour)
	if r := b.get("/portal"); r.status != 200 || !strings.Contains(r.raw, `id="device-name"`) {
		t.Fatalf("portal a day later: %d", r.status)
	}
	if err := s.App.Admin.DeleteDevice(context.Background(), adminActor(t, s), first.ID); err != nil {
		t.Fatal(err)
	}
	b.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {"/admin"}})
	devs = list()
	if len(devs) != 1 || devs[0].HardwareID != first.HardwareID || devs[0].ID == first.ID {
		t.Fatalf("re-authorized after deletion: %+v (was %+v)", devs, first)
	}
}

// TestConsoleAndPortalRefuseCrossSitePosts: every state-changing form of
// the console and the portal is refused when another site's page sends
// it, and nothing changes.
func TestConsoleAndPortalRefuseCrossSitePosts(t *testing.T) {
	s := testenv.StartServer(t)
	victim := consoleAdmin(t, s)
	code, _ := generate(t, victim, "24h")
	codes, _ := s.App.Admin.ListCodes(context.Background(), s.AdminActor(t))
	r := redeem(t, s, code, "Kiosk", "CSRF-KIOSK")
	if r.status != 200 {
		t.Fatalf("redeem: %d", r.status)
	}
	devs, _ := s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{Search: "CSRF-KIOSK"})
	visitor := newBrowser(t, s.URL) // an unauthorized browser on the portal

	foreign := [][]string{
		{"Sec-Fetch-Site", "cross-site", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "same-site", "Origin", "https://printers.evil.example"},
		{"Sec-Fetch-Site", "", "Origin", "https://evil.example"},
		{"Sec-Fetch-Site", "", "Origin", "null"},
	}
	forms := []struct {
		b    *browser
		path string
		form url.Values
	}{
		{visitor, "/portal", url.Values{"code": {code}, "device_name": {"Evil"}}},
		{victim, "/admin/codes", url.Values{"ttl": {"never"}}},
		{victim, "/admin/codes/" + codes[0].ID + "/delete", url.Values{}},
		{victim, "/admin/devices/" + devs[0].ID + "/delete", url.Values{}},
	}
	before := testenv.RowCounts(t, s.DB)
	for _, h := range foreign {
		for _, f := range forms {
			r := f.b.post(f.path, f.form, h...)
			if r.status != http.StatusForbidden || !strings.Contains(r.raw, "Nothing was changed") {
				t.Errorf("POST %s with %v: %d, want 403", f.path, h, r.status)
			}
			if cookie(r, "pairgate_device") != nil {
				t.Errorf("POST %s with %v set a device cookie", f.path, h)
			}
		}
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("refused cross-site posts changed the database:\nbefore %v\nafter  %v", before, after)
	}
	// The same forms from the site itself go through.
	for _, f := range forms {
		if r := f.b.post(f.path, f.form); r.status != http.StatusSeeOther {
			t.Errorf("same-origin POST %s: %d", f.path, r.status)
		}
	}
}

// TestAuditPageFilters: sign-ins, failures and sign-outs are recorded
// (never a password), and the audit page filters by action prefix, exact
// action, actor (username or ID), target and time, a page at a time.
func TestAuditPageFilters(t *testing.T) {
	s := testenv.StartServer(t)
	const wrong = "Tr0ub4dor&3-not-it"
	anon := newBrowser(t, s.URL)
	anon.post("/auth/signin/", url.Values{"username": {"admin"}, "password": {wrong}})
	anon.post("/auth/signin/", url.Values{"username": {"mallory"}, "password": {wrong + "2"}})
	b := consoleAdmin(t, s)
	_, page := generate(t, b, "6h")
	codeID := tableIDs(page.raw, "codes")[0]
	b.post("/auth/signout", url.Values{})
	s.Clock.Advance(time.Hour)
	b = consoleAdmin(t, s)

	events, err := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: "signin."})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range events {
		got = append(got, e.Action+":"+e.ActorType+":"+e.ActorName+":"+e.Details["username"])
	}
	want := []string{"signin.succeeded:user:admin:", "signin.signed_out:user:admin:", "signin.succeeded:user:admin:",
		"signin.failed:anonymous::mallory", "signin.failed:anonymous::admin"}
	if !slices.Equal(got, want) {
		t.Fatalf("sign-in events, newest first:\n got %v\nwant %v", got, want)
	}
	// No password anywhere in the database, not even a wrong one.
	files, _ := filepath.Glob(filepath.Join(s.DataDir, "*"))
	for _, f := range files {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, p := range []string{wrong, testenv.AdminPassword} {
			if strings.Contains(string(raw), p) {
				t.Fatalf("%s holds a password in plaintext", f)
			}
		}
	}

	actions := func(r reply) []string {
		var out []string
		for _, m := range regexp.MustCompile(`data-action="([^"]+)"`).FindAllStringSubmatch(r.raw, -1) {
			out = append(out, m[1])
		}
		return out
	}
	admin := s.Admin(t)
	for _, c := range []struct {
		query string
		want  []string
	}{
		{"action=signin.", []string{"signin.succeeded", "signin.signed_out", "signin.succeeded", "signin.failed", "signin.failed"}},
		{"action=signin.failed", []string{"signin.failed", "signin.failed"}},
		{"action=code.&actor=admin", []string{"code.generated"}},
		{"action=signin.&actor=" + admin.ID, []string{"signin.succeeded", "signin.signed_out", "signin.succeeded"}},
		{"target=" + codeID, []string{"code.generated"}},
		{"action=signin.&since=" + url.QueryEscape(s.Clock.Now().Add(-30*time.Minute).UTC().Format("2006-01-02T15:04")), []string{"signin.succeeded"}},
		{"action=signin.&until=" + url.QueryEscape(s.Clock.Now().Add(-30*time.Minute).UTC().Format("2006-01-02T15:04")),
			[]string{"signin.signed_out", "signin.succeeded", "signin.failed", "signin.failed"}},
		{"action=nothing.", nil},
	} {
		r := b.get("/admin/audit?" + c.query)
		if r.status != 200 {
			t.Errorf("%s: %d", c.query, r.status)
			continue
		}
		if got := actions(r); !slices.Equal(got, c.want) {
			t.Errorf("%s:\n got %v\nwant %v", c.query, got, c.want)
		}
	}
	if r := b.get("/admin/audit?since=yesterday"); r.status != http.StatusBadRequest || !strings.Contains(r.raw, "not a date and time") {
		t.Errorf("a malformed time: %d", r.status)
	}
	if r := b.get("/admin/audit?action=" + strings.Repeat("x", 65)); r.status != http.StatusBadRequest {
		t.Errorf("an overlong filter: %d", r.status)
	}

	// Paging: 120 more events, 50 a page, newest first, none twice.
	for range 120 {
		s.App.Audit.Record(context.Background(), pairgate.AuditEvent{Action: pairgate.AuditSignInFailed,
			ActorType: pairgate.ActorAnon, Details: map[string]string{"username": "nobody"}})
	}
	all, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: "signin.failed"})
	var seen []string
	next := "/admin/audit?action=signin.failed"
	pages := 0
	for next != "" {
		r := b.get(next)
		ids := tableIDs(r.raw, "events")
		if len(ids) > 50 {
			t.Fatalf("a page of %d events", len(ids))
		}
		seen = append(seen, ids...)
		next = nextPage(r.raw)
		pages++
	}
	var wantIDs []string
	for _, e := range all {
		wantIDs = append(wantIDs, e.ID)
	}
	if pages != 3 || !slices.Equal(seen, wantIDs) {
		t.Fatalf("paged through %d pages, %d events; want 3 pages, %d events in order", pages, len(seen), len(wantIDs))
	}
}

// TestInventoryPagingAndSearchAtScale: with thousands of devices the
// Active Devices table shows 50 a page, the Next links walk through every
// device exactly once, and a search finds one device among them. How fast
// is the benchmark's to say (pairgate-bench -population), not a timed
// test's: the times are logged only.
func TestInventoryPagingAndSearchAtScale(t *testing.T) {
	s := testenv.StartServer(t)
	const n = 3000
	ctx := context.Background()
	c, err := s.App.Store.GetClient(ctx, pairgate.DefaultClientID)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	now := s.Clock.Now()
	for i := range n {
		d := &pairgate.Device{ID: secret.NewID("dev_", now), ClientID: c.ID, Name: fmt.Sprintf("Printer %04d", i),
			HardwareID: fmt.Sprintf("HW-%04d", i), Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode,
			Scopes: c.Scopes, AuthorizedAt: now, LastSeenAt: now, LastIP: fmt.Sprintf("10.0.%d.%d", i/250, i%250)}
		fam := &pairgate.RefreshFamily{ID: secret.NewID("fam_", now), ClientID: c.ID, Scopes: c.Scopes, CreatedAt: now}
		tok := pairgate.NewRefreshToken{Hash: s.App.Keys.Hash(secret.KindRefresh, secret.Token(secret.PrefixRefreshToken)),
			IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := s.App.Store.IssueRefreshFamily(ctx, d, fam, tok); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("inserted %d devices in %v", n, time.Since(start))
	b := consoleAdmin(t, s) // its own browser makes n+1

	seen := map[string]bool{}
	next, pages := "/admin", 0
	var slowest time.Duration
	for next != "" {
		t0 := time.Now()
		r := b.get(next)
		if d := time.Since(t0); d > slowest {
			slowest = d
		}
		if r.status != 200 {
			t.Fatalf("%s: %d", next, r.status)
		}
		ids := tableIDs(r.raw, "devices")
		if len(ids) == 0 || len(ids) > 50 {
			t.Fatalf("page %d has %d devices", pages+1, len(ids))
		}
		for _, id := range ids {
			if seen[id] {
				t.Fatalf("device %s on two pages", id)
			}
			seen[id] = true
		}
		if pages == 0 && !strings.Contains(r.raw, fmt.Sprintf(`id="device-count">%d<`, n+1)) {
			t.Error("the heading does not count every device")
		}
		next = nextPage(r.raw)
		pages++
	}
	if len(seen) != n+1 || pages != (n+1+49)/50 {
		t.Fatalf("paging showed %d devices on %d pages, want %d on %d", len(seen), pages, n+1, (n+1+49)/50)
	}
	t.Logf("%d pages, slowest %v", pages, slowest)

	for q, want := range map[string]int{"HW-1234": 1, "Printer 12": 100, "10.0.3.": 250, "no such thing": 0} {
		t0 := time.Now()
		r := b.get("/admin?q=" + url.QueryEscape(q))
		d := time.Since(t0)
		got := len(tableIDs(r.raw, "devices"))
		total := got
		for p := nextPage(r.raw); p != ""; {
			r := b.get(p)
			total += len(tableIDs(r.raw, "devices"))
			p = nextPage(r.raw)
		}
		if total != want {
			t.Errorf("search %q found %d devices, want %d", q, total, want)
		}
		t.Logf("search %q: first page in %v", q, d)
	}
	if r := b.get("/admin?q=" + strings.Repeat("x", 201)); r.status != http.StatusBadRequest {
		t.Errorf("an overlong search: %d", r.status)
	}
}

// TestConsoleCodeLifetimes: every Code Expiration length, generated
// through the console, is listed with its label and expiration, works up
// to its expiry in the portal and at the token endpoint, and leaves the
// table when it expires (docs/design.md 2.7). The clock moves; nothing sleeps.
func TestConsoleCodeLifetimes(t *testing.T) {
	s := testenv.StartServer(t)
	for _, ttl := range pairgate.CodeTTLs {
		t.Run(string(ttl), func(t *testing.T) {
			b := consoleAdmin(t, s)
			created := s.Clock.Now()
			code, page := generate(t, b, string(ttl))
			generated := s.Clock.Now()
			id := tableIDs(page.raw, "codes")[0]
			row := page.raw[strings.Index(page.raw, `data-id="`+id+`"`):]
			row = row[:strings.Index(row, "</tr>")]
			row = regexp.MustCompile(`</?time[^>]*>`).ReplaceAllString(row, "")
			wantExpiry, orExpiry := "Never", "Never"
			if d := ttl.Duration(); d > 0 {
				wantExpiry, orExpiry = consoleTime(created.Add(d)), consoleTime(generated.Add(d))
			}
			if !strings.Contains(row, `class="ttl">`+ttl.Label()+`<`) ||
				!strings.Contains(row, `class="expires">`+wantExpiry+`<`) && !strings.Contains(row, `class="expires">`+orExpiry+`<`) {
				t.Fatalf("row for %s does not say %q and %q:\n%s", ttl, ttl.Label(), wantExpiry, row)
			}
			life := ttl.Duration()
			if life == 0 {
				life = 10 * 365 * 24 * time.Hour // never means never
			}
			s.Clock.Advance(life - time.Second)
			if r := redeem(t, s, code, "Just in time", ""); r.status != 200 {
				t.Fatalf("a second before expiry: %d %v", r.status, r.body)
			}
			if r := newBrowser(t, s.URL).post("/portal", url.Values{"code": {code}}); r.status != http.StatusSeeOther {
				t.Fatalf("portal a second before expiry: %d", r.status)
			}
			s.Clock.Advance(time.Second)
			b = consoleAdmin(t, s)
			page = b.get("/admin")
			if ttl == pairgate.TTLNever {
				if !slices.Contains(tableIDs(page.raw, "codes"), id) {
					t.Fatal("a code without expiry left the table")
				}
				return
			}
			if slices.Contains(tableIDs(page.raw, "codes"), id) {
				t.Fatal("an expired code is still listed")
			}
			if r := redeem(t, s, code, "Too late", ""); r.status != 400 || r.body["error"] != "invalid_grant" {
				t.Fatalf("redeem at expiry: %d %v", r.status, r.body)
			}
			if r := newBrowser(t, s.URL).post("/portal", url.Values{"code": {code}}); r.status != http.StatusBadRequest ||
				!strings.Contains(r.raw, "Authorization Code Incorrect/Missing") {
				t.Fatalf("portal at expiry: %d", r.status)
			}
		})
	}
}

// TestPortalCodeGuessingIsLimited: wrong codes in the portal count
// against the same per-address budget as wrong codes at the token
// endpoint; past it, even the right code is refused with 429 and nothing
// is written. Right codes never count: an office behind one address
// authorizes as many browsers as it likes.
func TestPortalCodeGuessingIsLimited(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.TrustedProxies = "127.0.0.1" }))
	b := consoleAdmin(t, s)
	code, _ := generate(t, b, "never")
	from := func(ip string) *browser {
		x := newBrowser(t, s.URL)
		x.header.Set("X-Forwarded-For", ip)
		return x
	}
	office := "198.51.100.10"
	limit := ratelimit.AuthCodeFailuresPerIP.Limit
	for i := range limit + 10 {
		if r := from(office).post("/portal", url.Values{"code": {code}}); r.status != http.StatusSeeOther {
			t.Fatalf("right code %d from one address: %d", i+1, r.status)
		}
	}
	attacker := from("203.0.113.99")
	for i := range limit - 1 {
		r := attacker.post("/portal", url.Values{"code": {fmt.Sprintf("AAAA-BBBB-CCCC-%04d", i)}})
		if r.status != http.StatusBadRequest || !strings.Contains(r.raw, "Authorization Code Incorrect/Missing") {
			t.Fatalf("wrong code %d: %d", i+1, r.status)
		}
	}
	// The budget is shared with the token endpoint.
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {pairgate.GrantAuthorizationCode},
		"client_id": {pairgate.DefaultClientID}, "code": {"ZZZZ-ZZZZ-ZZZZ-ZZZZ"}, "device_name": {"x"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Forwarded-For", "203.0.113.99")
	if resp, err := http.DefaultClient.Do(req); err != nil {
		t.Fatal(err)
	} else {
		resp.Body.Close()
	}
	before := testenv.RowCounts(t, s.DB)
	r := attacker.post("/portal", url.Values{"code": {code}})
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" || cookie(r, "pairgate_device") != nil {
		t.Fatalf("the right code past the limit: %d, Retry-After %q", r.status, r.header.Get("Retry-After"))
	}
	if !strings.Contains(r.raw, "Too many attempts") {
		t.Errorf("429 portal page does not say why")
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("a refused attempt changed the database:\nbefore %v\nafter  %v", before, after)
	}
	// A missing code is no guess: it does not count and writes nothing.
	before = testenv.RowCounts(t, s.DB)
	if r := from("192.0.2.1").post("/portal", url.Values{"code": {""}}); r.status != http.StatusBadRequest ||
		!strings.Contains(r.raw, "Authorization Code Incorrect/Missing") {
		t.Fatalf("missing code: %d", r.status)
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("a missing code changed the database:\nbefore %v\nafter  %v", before, after)
	}
	s.Clock.Advance(ratelimit.AuthCodeFailuresPerIP.Window)
	if r := attacker.post("/portal", url.Values{"code": {code}}); r.status != http.StatusSeeOther {
		t.Fatalf("after the window: %d", r.status)
	}
}

// TestPortalSameBrowserIsOneDevice: a browser that lost its device cookie
// (but kept its browser id) and enters a code again updates its device
// instead of adding one; a refused attempt leaves no trace, and the
// portal's device answers the API like no token does.
func TestPortalSameBrowserIsOneDevice(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testPortalSameBrowser(t, testenv.StartServer(t)) })
	t.Run("PostgreSQL", func(t *testing.T) { testPortalSameBrowser(t, testenv.StartServer(t, testenv.WithPostgres(t))) })
}

func testPortalSameBrowser(t *testing.T, s *testenv.Server) {
	code, _, err := s.App.Admin.CreateCode(context.Background(), adminActor(t, s), admin.NewCode{TTL: pairgate.TTL24Hours})
	if err != nil {
		t.Fatal(err)
	}
	b := newBrowser(t, s.URL)
	if r := b.get("/portal"); r.status != 200 || !strings.Contains(r.raw, `name="code"`) {
		t.Fatalf("portal: %d", r.status)
	}
	r := b.post("/portal", url.Values{"code": {code}, "device_name": {"Front desk"}})
	if r.status != http.StatusSeeOther || location(r) != "/portal" {
		t.Fatalf("right code: %d to %q", r.status, location(r))
	}
	for _, name := range []string{"pairgate_device", "pairgate_browser"} {
		c := cookie(r, name)
		if c == nil || !c.HttpOnly || c.SameSite != http.SameSiteLaxMode || c.MaxAge < 365*24*3600 {
			t.Fatalf("cookie %s: %+v", name, c)
		}
	}
	page := b.get("/portal")
	if !strings.Contains(page.raw, `<strong id="device-name">Front desk</strong>`) {
		t.Fatalf("portal after authorization:\n%s", page.raw)
	}
	devs, _ := s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{ClientID: pairgate.BrowserClientID})
	if len(devs) != 1 || devs[0].AuthMethod != pairgate.AuthByAuthorizationCode || devs[0].Name != "Front desk" {
		t.Fatalf("inventory: %+v", devs)
	}
	first := devs[0]
	// Posting again while authorized changes nothing.
	if r := b.post("/portal", url.Values{"code": {code}, "device_name": {"Other"}}); r.status != http.StatusSeeOther {
		t.Fatalf("post while authorized: %d", r.status)
	}
	// The device cookie is lost; the browser id is not.
	u, _ := url.Parse(s.URL)
	b.c.Jar.SetCookies(u, []*http.Cookie{{Name: "pairgate_device", Value: "", Path: "/", MaxAge: -1}})
	if r := b.get("/portal"); !strings.Contains(r.raw, `name="code"`) {
		t.Fatal("without its device cookie the browser still opens the portal")
	}
	s.Clock.Advance(time.Minute)
	if r := b.post("/portal", url.Values{"code": {code}, "device_name": {"Front desk (renamed)"}}); r.status != http.StatusSeeOther {
		t.Fatalf("again: %d", r.status)
	}
	devs, _ = s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{ClientID: pairgate.BrowserClientID})
	if len(devs) != 1 || devs[0].ID != first.ID || devs[0].Name != "Front desk (renamed)" {
		t.Fatalf("re-authorizing the same browser: %+v (first %s)", devs, first.ID)
	}
	if n := testenv.RowCounts(t, s.DB)["sessions"]; n != 1 {
		t.Fatalf("%d sessions for one browser, want 1 (the old one ends)", n)
	}
	// An invalid device name is said so, not taken for a wrong code.
	other := newBrowser(t, s.URL)
	if r := other.post("/portal", url.Values{"code": {code}, "device_name": {"bad\x01name"}}); r.status != http.StatusBadRequest ||
		strings.Contains(r.raw, "Incorrect/Missing") || !strings.Contains(r.raw, "control") {
		t.Fatalf("bad device name: %d\n%s", r.status, r.raw)
	}
	// A forged device cookie opens nothing.
	forged := newBrowser(t, s.URL)
	forged.c.Jar.SetCookies(u, []*http.Cookie{{Name: "pairgate_device", Value: secret.Token(secret.PrefixBrowser), Path: "/"}})
	if r := forged.get("/portal"); !strings.Contains(r.raw, `name="code"`) {
		t.Fatal("a forged device cookie opened the portal")
	}
	// A person's session cookie is not a device cookie, nor the reverse.
	admin := consoleAdmin(t, s)
	var sessionTok string
	for _, c := range admin.c.Jar.Cookies(u) {
		if c.Name == "pairgate_session" {
			sessionTok = c.Value
		}
	}
	mixed := newBrowser(t, s.URL)
	mixed.c.Jar.SetCookies(u, []*http.Cookie{{Name: "pairgate_device", Value: sessionTok, Path: "/"}})
	if r := mixed.get("/portal"); !strings.Contains(r.raw, `name="code"`) {
		t.Fatal("a person's session cookie opened the portal as a device")
	}
}

// TestBrowserClientGetsNoTokens: the built-in browser client exists for
// the inventory only; nobody can use it at the token endpoint.
func TestBrowserClientGetsNoTokens(t *testing.T) {
	s := testenv.StartServer(t)
	code, _, err := s.App.Admin.CreateCode(context.Background(), adminActor(t, s), admin.NewCode{TTL: pairgate.TTL24Hours})
	if err != nil {
		t.Fatal(err)
	}
	consoleAdmin(t, s) // creates the browser client
	if _, err := s.App.Store.GetClient(context.Background(), pairgate.BrowserClientID); err != nil {
		t.Fatalf("browser client: %v", err)
	}
	for _, body := range []url.Values{
		{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {pairgate.BrowserClientID}, "code": {code}, "device_name": {"x"}},
		{"grant_type": {pairgate.GrantRefreshToken}, "client_id": {pairgate.BrowserClientID}, "refresh_token": {secret.Token(secret.PrefixRefreshToken)}},
	} {
		resp, err := http.PostForm(s.URL+"/oauth/token", body)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 400 {
			t.Errorf("token endpoint as the browser client (%s): %d", body.Get("grant_type"), resp.StatusCode)
		}
	}
	if r := post(t, s.URL+"/oauth/device/code", "client_id="+pairgate.BrowserClientID); r.status != 400 || !strings.Contains(r.raw, "unauthorized_client") {
		t.Errorf("device code as the browser client: %d %s", r.status, r.raw)
	}
}

// TestConsoleEphemeralCodesAndPolicy: the console states the server's
// inactivity policy above the inventory, and makes a code whose devices
// are ephemeral; an idle time it does not offer changes nothing.
func TestConsoleEphemeralCodesAndPolicy(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.InactiveSignOutDays, c.InactiveRemoveDays = 30, 60 }))
	b := consoleAdmin(t, s)
	page := b.get("/admin")
	if !strings.Contains(page.raw, "Devices not seen for 30 days are signed out (state expired), and removed if still unseen 60 days later") {
		t.Fatal("the console does not state the inactivity policy")
	}
	if r := b.post("/admin/codes", url.Values{"ttl": {"6h"}, "ephemeral": {"3m"}}); r.status != http.StatusBadRequest {
		t.Fatalf("an idle time the form does not offer: %d", r.status)
	}
	if codes, _ := s.App.Admin.ListCodes(context.Background(), adminActor(t, s)); len(codes) != 0 {
		t.Fatalf("a refused form made a code: %d", len(codes))
	}
	r := b.post("/admin/codes", url.Values{"ttl": {"6h"}, "ephemeral": {"1h"}, "label": {"Kiosks"}})
	if r.status != http.StatusSeeOther {
		t.Fatalf("generate an ephemeral code: %d %s", r.status, r.raw)
	}
	codes, err := s.App.Admin.ListCodes(context.Background(), adminActor(t, s))
	if err != nil || len(codes) != 1 || codes[0].EphemeralIdle != time.Hour || codes[0].Label != "Kiosks" {
		t.Fatalf("the code: %+v %v", codes, err)
	}
	if page := b.get(location(r)); !strings.Contains(page.raw, "ephemeral devices: 1 hour idle") {
		t.Fatal("the codes table does not say the code's devices are ephemeral")
	}
}
