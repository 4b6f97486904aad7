package web_test

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// revokeToken is what `pairgate device logout` sends: RFC 7009
// revocation of the device's refresh token.
func revokeToken(t *testing.T, s *testenv.Server, rt string) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/oauth/revoke", url.Values{"token": {rt}, "token_type_hint": {"refresh_token"},
		"client_id": {pairgate.DefaultClientID}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("revoke: %d", resp.StatusCode)
	}
}

// rawRefresh presents a refresh token as a form POST and returns the new
// refresh token, or the OAuth error.
func rawRefresh(t *testing.T, s *testenv.Server, rt string) (string, string) {
	t.Helper()
	resp, err := http.PostForm(s.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "refresh_token": {rt},
		"client_id": {pairgate.DefaultClientID}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != 200 {
		e, _ := body["error"].(string)
		return "", e
	}
	return body["refresh_token"].(string), ""
}

// TestDevicesConsoleBrowser: the inventory as an administrator lives in
// it, in Chromium without JavaScript: a device's state after it signs out
// (RFC 7009) and after refresh-token reuse, in the console, the filter
// and the audit log; renaming; deleting three at once, after which their
// refresh tokens get invalid_grant; the CSV export of a filter; a leaked
// code's devices signed out after a preview.
func TestDevicesConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)
	admin.Navigate(s.URL + "/admin")
	signInTab(t, admin, "admin", testenv.AdminPassword)

	// A labelled code through the console, and six devices redeeming it.
	admin.Select("#ttl", "24h")
	admin.Fill("#label", "Lab PCs, 2nd floor")
	admin.Submit("#generate")
	code := admin.Text("#new-code")
	if got := admin.Text("#generated-title"); !strings.Contains(got, "Lab PCs, 2nd floor") {
		t.Errorf("the new code's heading: %q", got)
	}
	if got := admin.Text("#enrol-command"); !strings.Contains(got, "PAIRGATE_CODE="+code) || !strings.Contains(got, "--server "+s.URL) ||
		strings.Contains(got, "--code") {
		t.Errorf("the enrolment hint: %q", got)
	}
	codeID := admin.Attr("#codes tbody tr", "data-id")
	names := []string{"lab-01", "lab-02", "lab-03", "lab-04", "lab-05", "=HYPERLINK(\"x\")"}
	tokens := map[string]string{}
	ids := map[string]string{}
	for _, n := range names {
		r := redeem(t, s, code, n, "HW-"+n)
		if r.status != 200 {
			t.Fatalf("redeem %s: %d %v", n, r.status, r.body)
		}
		tokens[n] = r.body["refresh_token"].(string)
	}
	for _, n := range names {
		ds, err := s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{Search: "HW-" + n})
		if err != nil || len(ds) != 1 {
			t.Fatalf("device %s: %v %v", n, ds, err)
		}
		ids[n] = ds[0].ID
	}
	admin.Navigate(s.URL + "/admin")
	if got := admin.Text("#codes tbody tr .uses"); !strings.Contains(got, "6×") || !strings.Contains(got, "Its devices") {
		t.Errorf("the code's use: %q", got)
	}
	if got := admin.Text("#codes tbody tr .code-cell"); !strings.Contains(got, "Lab PCs, 2nd floor") {
		t.Errorf("the code's label is not in the table: %q", got)
	}

	t.Run("SignedOutAndRevokedStates", func(t *testing.T) {
		admin := admin.In(t)
		revokeToken(t, s, tokens["lab-01"])
		next, e := rawRefresh(t, s, tokens["lab-02"])
		if e != "" {
			t.Fatalf("refresh: %s", e)
		}
		s.Clock.Advance(time.Minute) // past the grace window: the old token is reuse
		if _, e := rawRefresh(t, s, tokens["lab-02"]); e != "invalid_grant" {
			t.Fatalf("reuse: %q", e)
		}
		_ = next
		admin.Navigate(s.URL + "/admin")
		if got := admin.Text("#devices-title"); !strings.HasPrefix(got, "Active Devices") {
			t.Errorf("heading %q", got)
		}
		for _, n := range []string{"lab-01", "lab-02"} {
			if admin.Count(`#devices tr[data-id="`+ids[n]+`"]`) != 0 {
				t.Errorf("%s is still under Active Devices", n)
			}
		}
		admin.Navigate(s.URL + "/admin?state=signed_out")
		if admin.Count(`#devices tbody tr`) != 1 || admin.Text(`#devices tr[data-id="`+ids["lab-01"]+`"] .state .tag`) != "Signed out" {
			t.Fatalf("signed out filter: %q", admin.Text("main"))
		}
		shot(t, admin, "50-console-signed-out-devices")
		admin.Navigate(s.URL + "/admin?state=revoked")
		if admin.Text(`#devices tr[data-id="`+ids["lab-02"]+`"] .state .tag`) != "Revoked (reuse detected)" {
			t.Fatalf("revoked filter: %q", admin.Text("main"))
		}
		// The filter form leads there too.
		admin.Navigate(s.URL + "/admin")
		admin.Select("#f-state", "all")
		admin.Submit("#search")
		if n := admin.Count("#devices tbody tr"); n != 7 { // six devices and the admin's browser
			t.Errorf("any state: %d devices", n)
		}
		admin.Navigate(s.URL + "/admin/audit?action=device.")
		for _, a := range []string{"device.signed_out", "device.revoked"} {
			if !strings.Contains(admin.Text("#events"), a) {
				t.Errorf("no %s event in the audit log", a)
			}
		}
	})

	t.Run("Rename", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin")
		dlg := openDialog(t, admin, `#devices tr[data-id="`+ids["lab-03"]+`"] .rename`)
		if !admin.Bool(`document.activeElement.name === "name"`) {
			t.Error("the rename dialog does not put the focus in the name field")
		}
		shot(t, admin, "51-console-rename-device")
		admin.Fill(dlg+" input[name=name]", "Front desk PC")
		admin.Submit(dlg + " .confirm-act")
		if got := admin.Text(`#devices tr[data-id="` + ids["lab-03"] + `"] .name strong`); got != "Front desk PC" {
			t.Fatalf("after rename: %q (%q)", got, admin.Text("main"))
		}
		d, err := s.App.Store.GetDevice(context.Background(), ids["lab-03"])
		if err != nil || d.Name != "Front desk PC" || d.State != pairgate.DeviceActive {
			t.Fatalf("stored: %+v %v", d, err)
		}
	})

	t.Run("ExportCSV", func(t *testing.T) {
		admin := admin.In(t)
		resp, raw := admin.Get(s.URL + "/admin/devices.csv?state=all&code=" + codeID)
		text := string(raw)
		if resp.StatusCode != 200 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/csv") ||
			!strings.HasPrefix(resp.Header.Get("Content-Disposition"), "attachment") {
			t.Fatalf("CSV response: %d %v", resp.StatusCode, resp.Header)
		}
		recs, err := csv.NewReader(strings.NewReader(text)).ReadAll()
		if err != nil {
			t.Fatalf("parse CSV: %v\n%s", err, text)
		}
		if len(recs) != 7 || recs[0][0] != "id" || recs[0][2] != "state" {
			t.Fatalf("CSV: %d records, header %v", len(recs), recs[0])
		}
		states := map[string]string{}
		for _, r := range recs[1:] {
			states[r[1]] = r[2]
			if r[6] != codeID {
				t.Errorf("a device of another code: %v", r)
			}
		}
		if states["lab-01"] != "signed_out" || states["lab-02"] != "revoked" || states["Front desk PC"] != "active" {
			t.Errorf("states in the CSV: %v", states)
		}
		// A name a device chose is never a formula in a spreadsheet.
		if _, ok := states[`'=HYPERLINK("x")`]; !ok {
			t.Errorf("the formula-like name was not defused: %v", states)
		}
		// The export of the page's filter is one click away.
		admin.Navigate(s.URL + "/admin?method=authorization_code")
		if href := admin.Attr("#export-csv", "href"); !strings.Contains(href, "method=authorization_code") || !strings.Contains(href, "state=active") {
			t.Errorf("export link %q", href)
		}
	})

	t.Run("BulkDeleteThree", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin")
		three := []string{"lab-03", "lab-04", "lab-05"}
		for _, n := range three {
			admin.Click(`#devices tr[data-id="` + ids[n] + `"] .sel input`)
		}
		if st := admin.Submit("#bulk-delete"); st != 200 || !strings.Contains(admin.Text("#confirm-title"), "Delete 3 devices?") {
			t.Fatalf("bulk confirmation: %d %q", st, admin.Text("main"))
		}
		shot(t, admin, "52-console-bulk-delete")
		if st := admin.Submit("#confirm .confirm-act"); st != 200 || !strings.Contains(admin.Text("#notice"), "3 devices were deleted") {
			t.Fatalf("bulk delete: %d %q", st, admin.Text("main"))
		}
		for _, n := range three {
			if admin.Count(`#devices tr[data-id="`+ids[n]+`"]`) != 0 {
				t.Errorf("%s is still listed", n)
			}
			if _, e := rawRefresh(t, s, tokens[n]); e != "invalid_grant" {
				t.Errorf("%s refresh after the bulk delete: %q, want invalid_grant", n, e)
			}
		}
	})

	t.Run("SignOutACodesDevices", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin")
		// A link to a page with the preview, not a dialog: the console
		// does not read every code's devices to show it.
		link := `#codes tr[data-id="` + codeID + `"] a.signout-devices`
		if got := admin.Attr(link, "aria-label"); !strings.HasPrefix(got, "Sign out devices of code ") {
			t.Errorf("the link's accessible name: %q", got)
		}
		if n := admin.Count(`dialog[id^="dlg-signout-"]`); n != 0 {
			t.Errorf("the console holds %d sign-out dialogs, each a preview read on every view", n)
		}
		if st := admin.Submit(link); st != 200 {
			t.Fatalf("the sign-out page: %d", st)
		}
		if got := admin.Text("#confirm"); !strings.Contains(got, "1 device came in with this code and is active") ||
			!strings.Contains(got, "Sign out 1 and delete the code") {
			t.Errorf("the preview: %q", got)
		}
		shot(t, admin, "53-console-signout-code-devices")
		admin.Submit("#confirm .confirm-act")
		if !strings.Contains(admin.Text("#notice"), "signed out") || admin.Count(`#codes tr[data-id="`+codeID+`"]`) != 0 {
			t.Fatalf("after signing the code's devices out: %q", admin.Text("main"))
		}
		if _, e := rawRefresh(t, s, tokens[names[5]]); e != "invalid_grant" {
			t.Errorf("the code's device still refreshes: %q", e)
		}
	})
}
