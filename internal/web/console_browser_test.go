package web_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"
	"golang.org/x/oauth2"

	"github.com/pairgate/pairgate"
	pgadmin "github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/testenv"
)

// consoleTime is how the console writes times.
func consoleTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04 UTC") }

// redeemed is what a device got for an authorization code at the token
// endpoint.
type redeemed struct {
	status int
	body   map[string]any
}

// redeem is what an install script does: the authorization-code grant as a
// plain form POST, the way golang.org/x/oauth2 sends its token requests.
func redeem(t *testing.T, s *testenv.Server, code, name, hw string) redeemed {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/oauth/token", url.Values{
		"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {pairgate.DefaultClientID},
		"code": {code}, "device_name": {name}, "hardware_id": {hw},
	})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r redeemed
	r.status = resp.StatusCode
	json.NewDecoder(resp.Body).Decode(&r.body)
	return r
}

// refresh refreshes with golang.org/x/oauth2, as a device's token source
// does.
func refresh(t *testing.T, s *testenv.Server, rt string) error {
	t.Helper()
	cfg := oauthConfig(s)
	_, err := cfg.TokenSource(ctx(t), &oauth2.Token{RefreshToken: rt}).Token()
	return err
}

func invalidGrant(err error) bool {
	var re *oauth2.RetrieveError
	return errors.As(err, &re) && re.ErrorCode == "invalid_grant"
}

// signInTab signs a tab in through the sign-in page it was sent to.
func signInTab(t *testing.T, tab *testenv.Tab, user, password string) int64 {
	t.Helper()
	tab.Fill("#username", user)
	tab.Fill("#password", password)
	return tab.Submit("main button[type=submit]")
}

// TestConsoleBrowser drives the Admin Console and the Self-service Portal
// in Debian's headless Chromium, with JavaScript off, at phone width (and
// the tables once at desktop width): the flow of the issue end to end —
// sign in, generate a 30-minute code, a device redeems it over HTTP, the
// device shows up, is deleted through the confirmation dialog and its
// next refresh fails — then deleting a code, and the portal with a
// missing, a wrong and a right code. Every page is saved as a screenshot.
func TestConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)

	var deviceID string
	t.Run("SignInAuthorizesTheBrowser", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin")
		if u := admin.Location(); u != s.URL+"/auth/signin/?next=%2Fadmin" {
			t.Fatalf("signed out, /admin led to %s", u)
		}
		if !strings.Contains(admin.Text("main"), "Admin Console") {
			t.Errorf("the sign-in page does not say it leads to the console: %q", admin.Text("main"))
		}
		shot(t, admin, "20-console-signin")
		if st := signInTab(t, admin, "admin", testenv.AdminPassword); st != 200 {
			t.Fatalf("sign-in: %d at %s", st, admin.Location())
		}
		if u := admin.Location(); u != s.URL+"/admin" {
			t.Fatalf("after sign-in the browser is at %s", u)
		}
		// The browser the admin signed in with is now an authorized
		// device, marked as this browser.
		if n := admin.Count(`#devices tr[data-method="admin_signin"]`); n != 1 {
			t.Fatalf("%d admin sign-in devices in the table, want 1", n)
		}
		row := `#devices tr[data-method="admin_signin"]`
		if got := admin.Text(row + " .how"); !strings.Contains(got, "Admin sign-in") || !strings.Contains(got, "by admin") {
			t.Errorf("how it was authorized: %q", got)
		}
		if got := admin.Text(row + " .client"); got != pairgate.BrowserClientID {
			t.Errorf("browser device client %q", got)
		}
		if admin.Count("#this-browser") != 1 {
			t.Error("the admin's own browser is not marked")
		}
		if admin.Count("#no-codes") != 1 {
			t.Error("a fresh server shows codes")
		}
		shot(t, admin, "21-console-signed-in")
	})

	var code, codeID string
	t.Run("Generate30MinuteCode", func(t *testing.T) {
		admin := admin.In(t)
		admin.Select("#ttl", "30m")
		before := s.Clock.Now()
		if st := admin.Submit("#generate"); st != 200 {
			t.Fatalf("generate: %d", st)
		}
		after := s.Clock.Now()
		code = admin.Text("#new-code")
		if len(code) != 19 || strings.Count(code, "-") != 3 {
			t.Fatalf("new code shown as %q, want XXXX-XXXX-XXXX-XXXX", code)
		}
		if n := admin.Count("#codes tbody tr"); n != 1 {
			t.Fatalf("%d codes in the table, want 1", n)
		}
		codeID = admin.Attr("#codes tbody tr", "data-id")
		if got := admin.Text("#codes tbody tr .code-cell"); !strings.HasPrefix(got, code) {
			t.Errorf("table shows code %q, want %q", got, code)
		}
		if got := admin.Text("#codes tbody tr .ttl"); got != "30 minutes" {
			t.Errorf("Time To Live %q, want 30 minutes", got)
		}
		got := admin.Text("#codes tbody tr .expires")
		if got != consoleTime(before.Add(30*time.Minute)) && got != consoleTime(after.Add(30*time.Minute)) {
			t.Errorf("Expiration Date %q, want %q", got, consoleTime(before.Add(30*time.Minute)))
		}
		// The dropdown offers exactly the console's choices, in order.
		if !admin.Bool(`Array.from(document.querySelectorAll("#ttl option"), o => o.text).join("|") ===
			"30 minutes|60 minutes|6 hours|24 hours|48 hours|No Expiration"`) {
			t.Error("the Code Expiration length dropdown does not offer exactly the six choices in order")
		}
		shot(t, admin, "22-console-code-generated")
	})

	var tokens redeemed
	t.Run("DeviceRedeemsAndAppears", func(t *testing.T) {
		admin := admin.In(t)
		tokens = redeem(t, s, strings.ToLower(code), "Lobby kiosk", "KIOSK-0042")
		if tokens.status != 200 || tokens.body["refresh_token"] == nil {
			t.Fatalf("redeem: %d %v", tokens.status, tokens.body)
		}
		admin.Navigate(s.URL + "/admin")
		sel := `#devices tr[data-method="authorization_code"]`
		if admin.Count(sel) != 1 {
			t.Fatalf("the redeemed device is not in Active Devices: %q", admin.Text("#devices"))
		}
		deviceID = admin.Attr(sel, "data-id")
		for part, want := range map[string]string{".name": "Lobby kiosk", ".hw": "KIOSK-0042", ".client": pairgate.DefaultClientID,
			".mode": "device", ".how": "Authorization code " + codeID, ".ip": "127.0.0.1"} {
			if got := strings.Join(strings.Fields(admin.Text(sel+" "+part)), " "); !strings.Contains(got, want) {
				t.Errorf("device %s = %q, want %q", part, got, want)
			}
		}
		if got := admin.Text("#codes tbody tr .uses"); !strings.Contains(got, "1×") || !strings.Contains(got, "last ") {
			t.Errorf("code uses: %q", got)
		}
		shot(t, admin, "23-console-device-appears")
		admin.Desktop(1280, 900)
		admin.Navigate(s.URL + "/admin")
		admin.Screenshot("24-console-desktop")
		if w := admin.ScrollWidth(); w > 1280 {
			t.Errorf("the console is %d px wide on a 1280 px screen", w)
		}
		admin.Phone()
	})

	t.Run("DeleteDeviceThroughDialog", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin")
		trash := `#devices tr[data-id="` + deviceID + `"] .trash`
		dlg := openDialog(t, admin, trash)
		if !strings.Contains(admin.Text(dlg), "Lobby kiosk") {
			t.Fatalf("the dialog does not name the device: %q", admin.Text(dlg))
		}
		shot(t, admin, "25-console-confirm-delete-device")
		// Cancel changes nothing.
		admin.Click(dlg + " .confirm-cancel")
		if admin.Bool(`document.querySelector("`+dlg+`").open`) || admin.Count(`#devices tr[data-id="`+deviceID+`"]`) != 1 {
			t.Fatal("cancel did not close the dialog and leave the device in place")
		}
		if _, err := s.App.Store.GetDevice(context.Background(), deviceID); err != nil {
			t.Fatalf("cancel deleted the device: %v", err)
		}
		// A browser without invoker commands submits the opener's form:
		// the same question as a page of its own.
		if st := admin.Navigate(s.URL + "/admin?delete_device=" + deviceID); st != 200 || admin.Count("#confirm .confirm-act") != 1 ||
			admin.Count("nav.tabs") != 0 || !strings.Contains(admin.Text("#confirm"), "Lobby kiosk") {
			t.Fatalf("the confirmation page: %d %q", st, admin.Text("main"))
		}
		shot(t, admin, "25b-console-confirm-page")
		admin.Submit("#confirm-cancel")
		openDialog(t, admin, trash)
		if st := admin.Submit(dlg + " .confirm-act"); st != 200 {
			t.Fatalf("delete: %d", st)
		}
		if !strings.Contains(admin.Text("#notice"), "deleted") || admin.Count(`#devices tr[data-id="`+deviceID+`"]`) != 0 {
			t.Fatalf("after delete: notice %q, device rows %d", admin.Text("#notice"), admin.Count(`#devices tr[data-id="`+deviceID+`"]`))
		}
		shot(t, admin, "26-console-device-deleted")
		// Revoked at once: the refresh token and the access token.
		if err := refresh(t, s, tokens.body["refresh_token"].(string)); !invalidGrant(err) {
			t.Fatalf("refresh after delete: %v, want invalid_grant", err)
		}
		rs, sec, err := s.App.Admin.CreateClient(context.Background(), adminActor(t, s), pgadmin.NewClient{ID: "printing-api",
			Name: "Printing API", GrantTypes: []string{pairgate.GrantRefreshToken}, Scopes: []string{"printing"}})
		if err != nil {
			t.Fatal(err)
		}
		ireq, _ := http.NewRequest("POST", s.URL+"/oauth/introspect", strings.NewReader("token="+url.QueryEscape(tokens.body["access_token"].(string))))
		ireq.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		ireq.SetBasicAuth(rs.ID, sec)
		iresp, err := http.DefaultClient.Do(ireq)
		if err != nil {
			t.Fatal(err)
		}
		var in map[string]any
		json.NewDecoder(iresp.Body).Decode(&in)
		iresp.Body.Close()
		if iresp.StatusCode != 200 || in["active"] != false {
			t.Fatalf("introspection after delete: %d %v, want inactive", iresp.StatusCode, in)
		}
		req, _ := http.NewRequest("GET", s.URL+"/api/v1/device", nil)
		req.Header.Set("Authorization", "Bearer "+tokens.body["access_token"].(string))
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 401 {
			t.Fatalf("GET /api/v1/device after delete: %d, want 401", resp.StatusCode)
		}
	})

	t.Run("DeleteCodeThroughDialog", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin")
		dlg := openDialog(t, admin, `#codes tr[data-id="`+codeID+`"] .trash`)
		if admin.Text(dlg+" .code") != code {
			t.Fatalf("the dialog shows code %q", admin.Text(dlg+" .code"))
		}
		shot(t, admin, "27-console-confirm-delete-code")
		if st := admin.Submit(dlg + " .confirm-act"); st != 200 {
			t.Fatalf("delete code: %d", st)
		}
		if admin.Count("#codes") != 0 || admin.Count("#no-codes") != 1 {
			t.Fatal("the deleted code is still listed")
		}
		if r := redeem(t, s, code, "Late kiosk", "KIOSK-0043"); r.status != 400 || r.body["error"] != "invalid_grant" {
			t.Fatalf("redeem a deleted code: %d %v", r.status, r.body)
		}
		shot(t, admin, "28-console-code-deleted")
	})

	t.Run("Portal", func(t *testing.T) {
		admin := admin.In(t)
		// A code for the portal, generated through the console.
		admin.Navigate(s.URL + "/admin")
		admin.Select("#ttl", "never")
		admin.Submit("#generate")
		portalCode := admin.Text("#new-code")
		if got := admin.Text("#codes tr.fresh .expires"); got != "Never" {
			t.Errorf("a code without expiry shows Expiration Date %q", got)
		}

		user := b.Tab(t)
		user.Navigate(s.URL + "/portal")
		if user.Count("#code") != 1 || user.Count("#code-dialog") != 0 {
			t.Fatalf("an unauthorized browser is not asked for a code: %q", user.Text("main"))
		}
		shot(t, user, "30-portal-ask-code")
		// Missing code: the dialog (with the site's script on, which
		// makes it modal; without it below).
		user.AllowScripts(true)
		if st := user.Submit("#authorize"); st != 400 {
			t.Errorf("missing code: %d", st)
		}
		if got := user.Text("#dialog-title"); got != "Authorization Code Incorrect/Missing" {
			t.Fatalf("missing code dialog title %q", got)
		}
		shot(t, user, "31-portal-code-missing")
		// The site's script makes it modal: the page behind is inert and
		// Escape closes it, and the focus goes back to the code field.
		if !user.Bool(`document.querySelector("#code-dialog").matches(":modal")`) {
			t.Error("the code dialog is not modal")
		}
		user.Press(kb.Escape)
		if user.Bool(`document.querySelector("#code-dialog").open`) {
			t.Error("Escape did not close the code dialog")
		}
		// The focus moves in the dialog's close event, a task of its own.
		if !user.Eventually(`document.activeElement && document.activeElement.id === "code"`) {
			t.Error("closing the code dialog did not return the focus to the code field")
		}
		user.AllowScripts(false)
		user.Submit("#authorize")
		// OK closes it through its form (method=dialog), which works
		// without JavaScript too.
		user.Click("#dialog-ok")
		if user.Bool(`document.querySelector("#code-dialog").open`) {
			t.Error("OK did not close the dialog")
		}
		// Wrong code: the dialog again, nothing authorized.
		user.Fill("#code", "ABCD-EFGH-JKMN-PQRS")
		if st := user.Submit("#authorize"); st != 400 {
			t.Errorf("wrong code: %d", st)
		}
		if got := user.Text("#dialog-title"); got != "Authorization Code Incorrect/Missing" {
			t.Fatalf("wrong code dialog title %q", got)
		}
		shot(t, user, "32-portal-code-wrong")
		// The right code, typed in lower case, with a name.
		user.Navigate(s.URL + "/portal")
		user.Fill("#code", strings.ToLower(portalCode))
		user.Fill("#device_name", "Reception laptop")
		if st := user.Submit("#authorize"); st != 200 {
			t.Fatalf("right code: %d", st)
		}
		if got := user.Text("#device-name"); got != "Reception laptop" {
			t.Fatalf("portal shows device %q: %q", got, user.Text("main"))
		}
		if got := user.Text("#scopes"); !strings.Contains(got, pairgate.ScopeDescriptions["portal"]) {
			t.Errorf("portal says the device may use %q", got)
		}
		if got := user.Text("#how"); !strings.Contains(got, "authorization code") {
			t.Errorf("portal says it was authorized %q", got)
		}
		shot(t, user, "33-portal-authorized")
		portalDevice := user.Text("#device-id")
		// A revisit opens without any code or password.
		user.Navigate(s.URL + "/portal")
		if user.Text("#device-name") != "Reception laptop" {
			t.Fatal("revisiting the portal asks again")
		}
		// The browser is in the inventory, authorized by that code.
		admin.Navigate(s.URL + "/admin?q=Reception")
		row := `#devices tr[data-id="` + portalDevice + `"]`
		if admin.Count(row) != 1 || !strings.Contains(admin.Text(row+" .how"), "Authorization code") {
			t.Fatalf("the portal browser is not in Active Devices: %q", admin.Text("main"))
		}
		shot(t, admin, "34-console-search")
		// The admin deletes it: the portal asks for a code again.
		admin.Submit(openDialog(t, admin, row+" .trash") + " .confirm-act")
		if u, _ := url.Parse(admin.Location()); u.Query().Get("q") != "Reception" {
			t.Errorf("after a delete the search is lost: %s", admin.Location())
		}
		user.Navigate(s.URL + "/portal")
		if user.Count("#code") != 1 || user.Count("#device-name") != 0 {
			t.Fatalf("a deleted browser still opens the portal: %q", user.Text("main"))
		}
	})

	t.Run("DeletingTheAdminsBrowser", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/portal")
		if !strings.Contains(admin.Text("#how"), "administrator signed in") {
			t.Fatalf("the admin's browser in the portal: %q", admin.Text("main"))
		}
		admin.Navigate(s.URL + "/admin")
		this := admin.Attr(`#devices tr:has(#this-browser)`, "data-id")
		dlg := openDialog(t, admin, `#devices tr[data-id="`+this+`"] .trash`)
		if !strings.Contains(admin.Text(dlg+" .alert.warn"), "browser you are using") {
			t.Error("the dialog does not warn that this is the admin's own browser")
		}
		shot(t, admin, "29-console-confirm-delete-this-browser")
		admin.Submit(dlg + " .confirm-act")
		// The device authorization ends; the admin stays signed in.
		if admin.Count(`#devices tr[data-id="`+this+`"]`) != 0 || admin.Count("#this-browser") != 0 {
			t.Fatal("the admin's browser is still listed")
		}
		admin.Navigate(s.URL + "/portal")
		if admin.Count("#code") != 1 {
			t.Fatalf("the admin's deleted browser still opens the portal: %q", admin.Text("main"))
		}
	})

	t.Run("AuditAndForbidden", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin/audit?action=device.")
		if admin.Count("#events tbody tr") == 0 {
			t.Fatal("no device events in the audit log")
		}
		shot(t, admin, "35-console-audit")
		admin.Desktop(1280, 900)
		admin.Navigate(s.URL + "/admin/audit")
		admin.Screenshot("36-console-audit-desktop")
		admin.Phone()

		if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(t, s), "bob", pairgate.RoleUser, "bob's long password"); err != nil {
			t.Fatal(err)
		}
		bob := b.Tab(t)
		bob.Navigate(s.URL + "/admin")
		if st := signInTab(t, bob, "bob", "bob's long password"); st != 403 {
			t.Fatalf("a non-admin at /admin: %d", st)
		}
		if !strings.Contains(bob.Text("main"), "Not for your role") {
			t.Errorf("forbidden page says %q", bob.Text("main"))
		}
		shot(t, bob, "37-console-forbidden")
	})
}

// openDialog clicks a control that asks before it acts and returns the
// selector of the dialog it opened, after checking that the dialog is
// modal (the page behind inert) and holds the focus.
func openDialog(t *testing.T, tab *testenv.Tab, opener string) string {
	t.Helper()
	id := tab.Attr(opener, "commandfor")
	if id == "" || tab.Attr(opener, "command") != "show-modal" {
		t.Fatalf("%s opens no dialog", opener)
	}
	tab.Click(opener)
	sel := "#" + id
	if !tab.Bool(`document.getElementById("`+id+`").matches(":modal")`) ||
		!tab.Bool(`document.getElementById("`+id+`").contains(document.activeElement)`) {
		t.Fatalf("%s: the dialog %s is not open as a modal holding the focus", opener, sel)
	}
	return sel
}

func adminActor(t *testing.T, s *testenv.Server) pgadmin.Actor { return pgadmin.UserActor(s.Admin(t)) }
