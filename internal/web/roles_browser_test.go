package web_test

import (
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestConsoleMenusPerRole signs each role in to the Admin Console in
// headless Chromium and checks that it shows that role only what it may
// use: menus, the Generate form, the delete controls.
func TestConsoleMenusPerRole(t *testing.T) {
	s := testenv.StartServer(t)
	code, _ := s.CreateCode(t, pairgate.TTL30Minutes)
	if r := redeem(t, s, code, "Front desk", "hw-roles"); r.status != 200 {
		t.Fatalf("redeem: %d", r.status)
	}
	for _, role := range []string{pairgate.RoleDeviceManager, pairgate.RoleAuditor, pairgate.RoleUser} {
		person(t, s, "the-"+role, role)
	}
	b := testenv.StartBrowser(t)
	for _, c := range []struct {
		role                                  string
		devices, audit, generate, deleteLinks bool
	}{
		{pairgate.RoleAdmin, true, true, true, true},
		{pairgate.RoleDeviceManager, true, false, true, true},
		{pairgate.RoleAuditor, true, true, false, false},
		{pairgate.RoleUser, false, false, false, false},
	} {
		t.Run(c.role, func(t *testing.T) {
			name, password := "the-"+c.role, "the-"+c.role+"'s long password"
			if c.role == pairgate.RoleAdmin {
				name, password = "admin", testenv.AdminPassword
			}
			tab := b.Tab(t)
			tab.Navigate(s.URL + "/admin")
			st := signInTab(t, tab, name, password)
			if c.role == pairgate.RoleUser {
				if st != 403 || !strings.Contains(tab.Text("main"), "Not for your role") || tab.Count("nav.tabs") != 0 {
					t.Fatalf("a user at /admin: %d %q", st, tab.Text("main"))
				}
				shot(t, tab, "70-console-role-user")
				tab.Navigate(s.URL + "/")
				if tab.Count(`a[href="/admin"]`) != 0 {
					t.Error("the home page links a user to the console")
				}
				return
			}
			if st != 200 {
				t.Fatalf("console as %s: %d", c.role, st)
			}
			has := func(sel string) bool { return tab.Count(sel) > 0 }
			for _, x := range []struct {
				sel  string
				want bool
			}{
				{"#nav-devices", c.devices}, {"#nav-audit", c.audit}, {"#generate", c.generate},
				{"#codes .trash", c.deleteLinks}, {"#devices .trash", c.deleteLinks}, {"#codes", true}, {"#devices", true},
			} {
				if has(x.sel) != x.want {
					t.Errorf("%s: %s shown %v, want %v", c.role, x.sel, has(x.sel), x.want)
				}
			}
			shot(t, tab, "70-console-role-"+c.role)
			st = tab.Navigate(s.URL + "/admin/audit")
			if c.audit != (st == 200) {
				t.Errorf("%s at the audit log: %d", c.role, st)
			}
			if !c.audit && !strings.Contains(tab.Text("main"), "Not for your role") {
				t.Errorf("%s at the audit log: %q", c.role, tab.Text("main"))
			}
			tab.Navigate(s.URL + "/")
			if tab.Count(`a[href="/admin"]`) != 1 {
				t.Errorf("the home page does not link %s to the console", c.role)
			}
		})
	}
}
