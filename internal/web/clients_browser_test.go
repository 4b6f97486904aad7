package web_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// tokenEndpoint presents a confidential client's credentials at the
// token endpoint with a refresh token that does not exist: right
// credentials get invalid_grant (400), wrong ones invalid_client (401).
func tokenEndpoint(t *testing.T, s *testenv.Server, id, secret string) string {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(url.Values{"grant_type": {"refresh_token"},
		"refresh_token": {"pgr_nothing"}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body struct {
		Error string `json:"error"`
	}
	json.NewDecoder(resp.Body).Decode(&body)
	return body.Error
}

// TestClientsConsoleBrowser: OAuth clients in the console, in Chromium
// without JavaScript: a confidential client registered, its secret shown
// once and accepted at the token endpoint; a form with a mistake comes
// back with what was typed; scopes edited; the secret rotated, the old
// one refused at once; the client deleted through its modal dialog,
// which the keyboard opens and Escape closes, with its devices.
func TestClientsConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)
	admin.Navigate(s.URL + "/admin/clients")
	signInTab(t, admin, "admin", testenv.AdminPassword)
	if admin.Count("#nav-clients[aria-current=page]") != 1 || admin.Count(`#clients tr[data-id="print-client"]`) != 1 {
		t.Fatalf("not on the Clients tab: %q", admin.Text("main"))
	}
	row := `#clients tr[data-id="svc"]`

	var secret string
	t.Run("CreateShowsTheSecretOnce", func(t *testing.T) {
		admin := admin.In(t)
		// A mistake: the page comes back with the error and the input.
		admin.Fill("#c-id", "not an id")
		admin.Fill("#c-name", "Print service")
		admin.Fill("#c-scopes", "printing")
		if st := admin.Submit("#create-client"); st != 400 {
			t.Fatalf("a bad client id: %d", st)
		}
		if !strings.Contains(strings.ToLower(admin.Text("#error")), "client_id") || admin.Value("#c-name") != "Print service" || admin.Value("#c-id") != "not an id" {
			t.Fatalf("the error page: %q, name kept %q", admin.Text("#error"), admin.Value("#c-name"))
		}
		admin.Fill("#c-id", "svc")
		if st := admin.Submit("#create-client"); st != 200 {
			t.Fatalf("create: %d %q", st, admin.Text("main"))
		}
		secret = admin.Text("#secret-value")
		if !strings.HasPrefix(secret, "pgs_") {
			t.Fatalf("the secret shown: %q", secret)
		}
		shot(t, admin, "65-console-client-secret")
		if got := admin.Text(row + " .kind"); got != "confidential" {
			t.Errorf("type %q", got)
		}
		if e := tokenEndpoint(t, s, "svc", secret); e != "invalid_grant" {
			t.Fatalf("the new secret at the token endpoint: %q, want invalid_grant (the client authenticated)", e)
		}
		if e := tokenEndpoint(t, s, "svc", secret+"x"); e != "invalid_client" {
			t.Fatalf("a wrong secret: %q", e)
		}
		admin.Navigate(s.URL + "/admin/clients")
		if admin.Count("#secret-value") != 0 || strings.Contains(admin.Text("main"), secret) {
			t.Fatal("the secret is shown again")
		}
	})

	t.Run("EditScopes", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin/clients")
		follow(admin, s, row+` a[href*="edit="]`)
		if admin.Value("#e-scopes") != "printing" {
			t.Fatalf("the edit form: %q", admin.Text("#edit"))
		}
		// No grant type ticked: refused, and what was typed stays.
		for range 4 {
			if sel := `#edit-form input[name^="grant_"]:checked`; admin.Count(sel) > 0 {
				admin.Click(sel)
			}
		}
		admin.Fill("#e-scopes", "printing portal")
		if st := admin.Submit("#save-client"); st != 400 {
			t.Fatalf("no grant type: %d", st)
		}
		if !strings.Contains(strings.ToLower(admin.Text("#error")), "grant_types") || admin.Value("#e-scopes") != "printing portal" {
			t.Fatalf("error %q, scopes kept %q", admin.Text("#error"), admin.Value("#e-scopes"))
		}
		admin.Click(`#edit-form input[name="grant_refresh_token"]`)
		if st := admin.Submit("#save-client"); st != 200 || !strings.Contains(admin.Text("#notice"), "changed") {
			t.Fatalf("save: %d %q", st, admin.Text("main"))
		}
		if got := admin.Text(row + " .scopes-cell"); got != "portal printing" {
			t.Errorf("scopes now %q", got)
		}
		if c, _ := s.App.Store.GetClient(context.Background(), "svc"); c.Scopes.String() != "portal printing" ||
			fmt.Sprint(c.GrantTypes) != "[refresh_token]" {
			t.Errorf("stored: %+v", c)
		}
	})

	t.Run("RotateSecret", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin/clients")
		dlg := openDialog(t, admin, row+` button[command="show-modal"]:not(.trash)`)
		if got := admin.Text(dlg + "-title"); got != "Give this client a new secret?" {
			t.Fatalf("dialog %q", got)
		}
		if st := admin.Submit(dlg + " .confirm-act"); st != 200 {
			t.Fatalf("rotate: %d", st)
		}
		next := admin.Text("#secret-value")
		if !strings.HasPrefix(next, "pgs_") || next == secret {
			t.Fatalf("new secret %q", next)
		}
		if e := tokenEndpoint(t, s, "svc", secret); e != "invalid_client" {
			t.Fatalf("the old secret after rotation: %q, want invalid_client", e)
		}
		if e := tokenEndpoint(t, s, "svc", next); e != "invalid_grant" {
			t.Fatalf("the new secret: %q", e)
		}
	})

	t.Run("DeleteThroughTheDialogByKeyboard", func(t *testing.T) {
		admin := admin.In(t)
		now := s.Clock.Now()
		d := &pairgate.Device{ID: "dev_of_svc", ClientID: "svc", Name: "Service box", Mode: pairgate.ModeDevice,
			AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: now, LastSeenAt: now}
		if _, err := s.App.Store.IssueRefreshFamily(context.Background(), d,
			&pairgate.RefreshFamily{ID: "fam_of_svc", ClientID: "svc", Scopes: pairgate.Scopes{"printing"}, CreatedAt: now},
			pairgate.NewRefreshToken{Hash: []byte("svc token"), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		admin.Desktop(1280, 900)
		defer admin.Phone()
		admin.Navigate(s.URL + "/admin/clients")
		opener := row + " .trash"
		for range 200 {
			admin.Press(kb.Tab)
			if admin.Bool(`document.activeElement.matches(` + jsString(opener) + `)`) {
				break
			}
		}
		if !admin.Bool(`document.activeElement.matches(` + jsString(opener) + `)`) {
			t.Fatal("Tab never reached the client's Delete button")
		}
		admin.Press("\r")
		dlg := "#" + admin.Attr(opener, "commandfor")
		if !admin.Bool(`document.querySelector("`+dlg+`").matches(":modal")`) ||
			!admin.Bool(`document.activeElement.matches(".confirm-cancel")`) {
			t.Fatal("Enter did not open the dialog modal with the focus on Cancel")
		}
		admin.Press(kb.Escape)
		if admin.Bool(`document.querySelector("`+dlg+`").open`) || !admin.Bool(`document.activeElement.matches(`+jsString(opener)+`)`) {
			t.Fatal("Escape did not close the dialog and return the focus to its control")
		}
		if _, err := s.App.Store.GetClient(context.Background(), "svc"); err != nil {
			t.Fatal("Escape deleted the client")
		}
		// The confirmation as a page, for browsers without invoker commands.
		admin.Navigate(s.URL + "/admin/clients?delete=svc")
		if admin.Count("#confirm .confirm-act") != 1 {
			t.Fatalf("no confirmation page: %q", admin.Text("main"))
		}
		admin.Navigate(s.URL + "/admin/clients")
		admin.Press(kb.Tab) // the dialog again, now confirmed
		dlg = openDialog(t, admin, opener)
		admin.Submit(dlg + " .confirm-act")
		if !strings.Contains(admin.Text("#notice"), "deleted") || admin.Count(row) != 0 {
			t.Fatalf("after the delete: %q", admin.Text("main"))
		}
		if _, err := s.App.Store.GetDevice(context.Background(), "dev_of_svc"); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("the client's device survived: %v", err)
		}
	})
}

// TestLockoutsConsoleBrowser: wrong passwords lock an account out; the
// lock-out is listed on People and access, and its Lift button lets the
// right password in again at once.
func TestLockoutsConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(t, s), "carol", "auditor", "carol's long password"); err != nil {
		t.Fatal(err)
	}
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)
	admin.Navigate(s.URL + "/admin/people")
	signInTab(t, admin, "admin", testenv.AdminPassword)
	if admin.Count("#no-lockouts") != 1 {
		t.Fatalf("lock-outs before any guess: %q", admin.Text("#lockouts"))
	}
	for range 21 {
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/api-keys", strings.NewReader(`{"name":"k"}`))
		req.SetBasicAuth("carol", "a guess")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
	}
	carol := b.Tab(t)
	carol.Navigate(s.URL + "/admin")
	if st := signInTab(t, carol, "carol", "carol's long password"); st != 429 {
		t.Fatalf("carol's right password while locked out: %d %q", st, carol.Text("main"))
	}
	admin.Navigate(s.URL + "/admin/people")
	lockRow := `#lockout-table tr[data-subject="carol"]`
	if admin.Count(lockRow) != 1 {
		t.Fatalf("carol's lock-out is not listed: %q", admin.Text("#lockouts"))
	}
	if got := admin.Text(lockRow); !strings.Contains(got, "Sign-in to an account") || !strings.Contains(got, "of 20") {
		t.Errorf("the row says %q", got)
	}
	shot(t, admin, "66-console-lockouts")
	admin.Submit(lockRow + " button")
	if !strings.Contains(admin.Text("#notice"), "lifted") || admin.Count(lockRow) != 0 {
		t.Fatalf("after Lift: %q", admin.Text("main"))
	}
	carol.Navigate(s.URL + "/admin")
	if st := signInTab(t, carol, "carol", "carol's long password"); st != 200 || carol.Count("#nav-people") != 1 {
		t.Fatalf("carol after the lift: %d %q", st, carol.Text("main"))
	}
	ev, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditRateLimitUnlocked})
	if len(ev) != 1 || ev[0].Details["subject"] != "carol" || ev[0].ActorName != "admin" {
		t.Fatalf("unlock events: %+v", ev)
	}
}

// TestDevicesSortConsoleBrowser: the device table sorted by last seen,
// both ways, through its column header, across two pages: every device
// once, in order, ties broken by id, with aria-sort on the header.
func TestDevicesSortConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	now := s.Clock.Now()
	var mine []*pairgate.Device
	for i := range 62 {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_seen_%02d", (i*17)%62), ClientID: pairgate.DefaultClientID, Name: fmt.Sprintf("Kiosk %d", i),
			Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: now.Add(-48 * time.Hour),
			LastSeenAt: now.Add(-time.Hour - time.Duration(i%20)*time.Minute)} // ties by threes
		if _, err := s.App.Store.IssueRefreshFamily(context.Background(), d,
			&pairgate.RefreshFamily{ID: "fam_" + d.ID, ClientID: d.ClientID, Scopes: pairgate.Scopes{"printing"}, CreatedAt: now},
			pairgate.NewRefreshToken{Hash: []byte("tok " + d.ID), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
		mine = append(mine, d)
	}
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)
	admin.Navigate(s.URL + "/admin")
	signInTab(t, admin, "admin", testenv.AdminPassword)
	admin.Desktop(1280, 900)

	collect := func() []string {
		var all []string
		for page := 0; ; page++ {
			var ids []string
			admin.JSON(`[...document.querySelectorAll("#devices tbody tr")].map(r => r.dataset.id)`, &ids)
			all = append(all, ids...)
			if admin.Count("#next-page") == 0 || page > 3 {
				return all
			}
			follow(admin, s, "#next-page")
		}
	}
	for _, dir := range []string{"ascending", "descending"} {
		follow(admin, s, "#sort-last-seen") // the first sorts ascending, the next descending
		if got := admin.Attr(`th:has(#sort-last-seen)`, "aria-sort"); got != dir {
			t.Fatalf("aria-sort %q, want %q (%s)", got, dir, admin.Location())
		}
		if n := admin.Count(`th[aria-sort]`); n != 1 {
			t.Errorf("%d headers carry aria-sort", n)
		}
		got := collect()
		want := slices.Clone(mine)
		slices.SortFunc(want, func(a, b *pairgate.Device) int {
			c := a.LastSeenAt.Compare(b.LastSeenAt)
			if c == 0 {
				c = strings.Compare(a.ID, b.ID)
			}
			if dir == "descending" {
				c = -c
			}
			return c
		})
		var wantIDs, gotMine []string
		for _, d := range want {
			wantIDs = append(wantIDs, d.ID)
		}
		seen := map[string]bool{}
		for _, id := range got {
			if seen[id] {
				t.Fatalf("%s: %s shown twice", dir, id)
			}
			seen[id] = true
			if strings.HasPrefix(id, "dev_seen_") {
				gotMine = append(gotMine, id)
			}
		}
		if fmt.Sprint(gotMine) != fmt.Sprint(wantIDs) {
			t.Fatalf("%s:\n got %v\nwant %v", dir, gotMine, wantIDs)
		}
		if dir == "ascending" {
			admin.Screenshot("67-console-devices-sorted")
			follow(admin, s, "#first-page")
		}
	}
}

// follow follows a link as a click does, and waits for the page it opens.
func follow(tab *testenv.Tab, s *testenv.Server, link string) {
	tab.Navigate(s.URL + tab.Attr(link, "href"))
}
