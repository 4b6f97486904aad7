package web_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

// apiCall calls the admin API with an API key and returns the status.
func apiCall(t *testing.T, s *testenv.Server, method, path, key, body string) int {
	t.Helper()
	req, _ := http.NewRequest(method, s.URL+path, strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestPeopleConsoleBrowser: people and access in the console, in
// Chromium without JavaScript: a scoped API key made and used (and what
// its scopes leave out refused), revoked through its dialog; an admin
// added with a generated password who then signs in; a role changed; a
// password reset; one's own password changed.
func TestPeopleConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)
	admin.Navigate(s.URL + "/admin/people")
	signInTab(t, admin, "admin", testenv.AdminPassword)
	if admin.Count("#nav-people[aria-current=page]") != 1 {
		t.Fatalf("not on the People tab: %q", admin.Text("main"))
	}
	shot(t, admin, "60-console-people")

	t.Run("ScopedAPIKey", func(t *testing.T) {
		admin := admin.In(t)
		admin.Fill("#k-name", "Lab install script")
		admin.Click(`input[name="scope_codes:write"]`)
		if st := admin.Submit("#create-key"); st != 200 {
			t.Fatalf("make key: %d %q", st, admin.Text("main"))
		}
		key := admin.Text("#secret-value")
		if !strings.HasPrefix(key, "pgk_") {
			t.Fatalf("the key shown: %q", key)
		}
		shot(t, admin, "61-console-api-key-made")
		if st := apiCall(t, s, "GET", "/api/v1/devices", key, ""); st != 200 {
			t.Errorf("read with the key: %d", st)
		}
		if st := apiCall(t, s, "POST", "/api/v1/authorization-codes", key, `{"ttl":"30m"}`); st != 201 && st != 200 {
			t.Errorf("codes:write with the key: %d", st)
		}
		if st := apiCall(t, s, "DELETE", "/api/v1/devices/dev_none", key, ""); st != 403 {
			t.Errorf("devices:write without the scope: %d, want 403", st)
		}
		admin.Navigate(s.URL + "/admin/people")
		row := `#keys tbody tr`
		if got := admin.Text(row + " .scopes-cell"); got != "codes:write, read" {
			t.Errorf("scopes listed %q", got)
		}
		if got := admin.Text(row + " .last-used"); got == "Never" {
			t.Error("the key's last use is not shown")
		}
		admin.Submit(openDialog(t, admin, row+" .trash") + " .confirm-act")
		if !strings.Contains(admin.Text("#notice"), "revoked") {
			t.Fatalf("revoke: %q", admin.Text("main"))
		}
		if st := apiCall(t, s, "GET", "/api/v1/devices", key, ""); st != 401 {
			t.Errorf("a revoked key: %d, want 401", st)
		}
	})

	var carolPassword string
	t.Run("AddAnAdmin", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin/people")
		admin.Fill("#u-name", "carol")
		admin.Select("#u-role", "admin")
		if st := admin.Submit("#add-user-submit"); st != 200 {
			t.Fatalf("add: %d %q", st, admin.Text("main"))
		}
		carolPassword = admin.Text("#secret-value")
		if len(carolPassword) < 12 {
			t.Fatalf("generated password %q", carolPassword)
		}
		if got := admin.Value(`#users tr[data-username="carol"] select`); got != "admin" {
			t.Errorf("carol's role %q", got)
		}
		carol := b.Tab(t)
		carol.Navigate(s.URL + "/admin")
		if st := signInTab(t, carol, "carol", carolPassword); st != 200 || carol.Count("#nav-people") != 1 {
			t.Fatalf("carol signs in: %d %q", st, carol.Text("main"))
		}
		// Demoted to auditor: her sessions end.
		admin.Select(`#users tr[data-username="carol"] select`, "auditor")
		admin.Submit(`#users tr[data-username="carol"] .role-form button`)
		if !strings.Contains(admin.Text("#notice"), "role was changed") {
			t.Fatalf("set role: %q", admin.Text("main"))
		}
		carol.Navigate(s.URL + "/admin")
		if !strings.HasPrefix(carol.Location(), s.URL+"/auth/signin/") {
			t.Errorf("carol's session survived the role change: %s", carol.Location())
		}
		// A reset password, shown once.
		admin.Submit(openDialog(t, admin, `#users tr[data-username="carol"] button[command="show-modal"]:not(.trash)`) + " .confirm-act")
		if pw := admin.Text("#secret-value"); pw == carolPassword || len(pw) < 12 {
			t.Errorf("reset password %q", pw)
		}
	})

	t.Run("OwnPassword", func(t *testing.T) {
		admin := admin.In(t)
		// A wrong current password: a clear error, nothing changes, and
		// the attempt counts against the account's sign-in limit.
		limiter := ratelimit.New(s.App.Store, s.App.Keys, s.Clock.Now, func(string) {})
		counted := func() int {
			n, _, _ := limiter.Hits(context.Background(), ratelimit.Hit{Rule: ratelimit.SignInPerAccount, Subject: "admin"})
			return n
		}
		before := counted()
		admin.Navigate(s.URL + "/admin/people")
		admin.Fill("#current-password", "not my password")
		admin.Fill("#new-password", "a new long passphrase")
		admin.Fill("#confirm-password", "a new long passphrase")
		if st := admin.Submit("#change-password"); st != 400 {
			t.Fatalf("a wrong current password: %d %s", st, admin.Location())
		}
		if got := admin.Text("#error"); !strings.Contains(got, "not your current password") {
			t.Fatalf("the error: %q", got)
		}
		if u, err := s.App.Store.GetUserByUsername(context.Background(), "admin"); err != nil {
			t.Fatal(err)
		} else if ok, _ := secret.VerifyPassword(u.PasswordHash, testenv.AdminPassword); !ok {
			t.Fatal("a wrong current password changed the password")
		}
		if n := counted(); n != before+1 {
			t.Errorf("%d attempts counted against the account, want %d", n, before+1)
		}
		admin.Navigate(s.URL + "/admin/people")
		admin.Fill("#current-password", testenv.AdminPassword)
		admin.Fill("#new-password", "a new long passphrase")
		admin.Fill("#confirm-password", "a new long passphrase")
		admin.Submit("#change-password")
		if !strings.HasPrefix(admin.Location(), s.URL+"/auth/signin/") || !strings.Contains(admin.Text("main"), "password was changed") {
			t.Fatalf("after the change: %s %q", admin.Location(), admin.Text("main"))
		}
		if st := signInTab(t, admin, "admin", "a new long passphrase"); st != 200 || admin.Count("#nav-people[aria-current=page]") != 1 {
			t.Fatalf("sign in with the new password: %d %s", st, admin.Location())
		}
	})
}
