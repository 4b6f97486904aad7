package cli_test

import (
	"bytes"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/testenv"
)

// admin runs `pairgate admin …` in-process with stdin.
func admin(t *testing.T, stdin string, args ...string) (int, string) {
	t.Helper()
	var out bytes.Buffer
	code := cli.Main(t.Context(), append([]string{"admin"}, args...), cli.Env{
		Getenv: func(string) string { return "" }, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &out,
	})
	return code, out.String()
}

// signIn tries the sign-in form of a running server and returns the
// session cookie, or nil.
func signIn(t *testing.T, s *testenv.Server, user, password string) *http.Cookie {
	t.Helper()
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("POST", s.URL+"/auth/signin/", strings.NewReader(url.Values{"username": {user}, "password": {password}}.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Sec-Fetch-Site", "same-origin")
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for _, ck := range resp.Cookies() {
		if ck.Name == "pairgate_session" && resp.StatusCode == http.StatusSeeOther {
			return ck
		}
	}
	return nil
}

// sessionAlive reports whether a session cookie still signs its browser in.
func sessionAlive(t *testing.T, s *testenv.Server, ck *http.Cookie) bool {
	c := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	req, _ := http.NewRequest("GET", s.URL+"/auth/signout", nil)
	req.AddCookie(ck)
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

var printedPassword = regexp.MustCompile(`(?m)^password: (\S+)$`)

func TestAdminUsersCommands(t *testing.T) {
	s := testenv.StartServer(t)
	d := "--data-dir=" + s.DataDir

	code, out := admin(t, "alice's first password\n", "users", "create", d, "--username", "Alice", "--role", "user", "--password-stdin")
	if code != cli.ExitOK || !strings.Contains(out, `created account "alice" (user)`) || strings.Contains(out, "password:") {
		t.Fatalf("create alice: %d %s", code, out)
	}
	alice := signIn(t, s, "alice", "alice's first password")
	if alice == nil {
		t.Fatal("alice cannot sign in with the password she was created with")
	}
	code, out = admin(t, "", "users", "create", d, "--username", "bob", "--role", "admin")
	m := printedPassword.FindStringSubmatch(out)
	if code != cli.ExitOK || m == nil {
		t.Fatalf("create bob with a generated password: %d %s", code, out)
	}
	if signIn(t, s, "bob", m[1]) == nil {
		t.Fatal("bob cannot sign in with the printed password")
	}

	for _, bad := range []struct {
		stdin string
		args  []string
		code  int
		says  string
	}{
		{"whatever1\n", []string{"users", "create", d, "--username", "ALICE", "--password-stdin"}, cli.ExitFailure, "already exists"},
		{"", []string{"users", "create", d, "--username", "carol", "--role", "root"}, cli.ExitUsage, "want one of admin, device-manager, auditor, user"},
		{"", []string{"users", "create", d, "--username", "car ol"}, cli.ExitUsage, "--username"},
		{"", []string{"users", "create", d}, cli.ExitUsage, "--username is required"},
		{"short\n", []string{"users", "create", d, "--username", "carol", "--password-stdin"}, cli.ExitUsage, "at least 8"},
		{"", []string{"users", "create", d, "--username", "carol", "--password-stdin"}, cli.ExitUsage, "no password"},
		{"", []string{"users", "delete", d, "--username", "nobody"}, cli.ExitFailure, `no account named 'nobody'`},
		{"", []string{"users", "set-password", d, "--username", "nobody"}, cli.ExitFailure, `no account named 'nobody'`},
		{"", []string{"users", "frobnicate"}, cli.ExitUsage, "unknown command"},
		{"", []string{"users", "set-role", d, "--username", "alice", "--role", "root"}, cli.ExitUsage, "want one of"},
		{"password123\n", []string{"users", "set-password", d, "--username", "alice", "--password-stdin"}, cli.ExitUsage, "attackers try"},
	} {
		code, out := admin(t, bad.stdin, bad.args...)
		if code != bad.code || !strings.Contains(out, bad.says) {
			t.Errorf("%v: %d %q, want %d and %q", bad.args, code, out, bad.code, bad.says)
		}
	}

	if code, out := admin(t, "", "users", "set-role", d, "--username", "alice", "--role", "auditor"); code != cli.ExitOK || !strings.Contains(out, "auditor") {
		t.Fatalf("set-role: %d %s", code, out)
	}
	if code, _ := admin(t, "", "users", "set-role", d, "--username", "alice", "--role", "user"); code != cli.ExitOK {
		t.Fatalf("set-role back: %d", code)
	}
	code, out = admin(t, "", "users", "list", d)
	if code != cli.ExitOK || !regexp.MustCompile(`(?m)^admin\s+admin\s`).MatchString(out) ||
		!regexp.MustCompile(`(?m)^alice\s+user\s`).MatchString(out) || !regexp.MustCompile(`(?m)^bob\s+admin\s`).MatchString(out) {
		t.Fatalf("list: %d\n%s", code, out)
	}

	// A new password signs the account out everywhere.
	code, out = admin(t, "alice's second password\r\n", "users", "set-password", d, "--username", "alice", "--password-stdin")
	if code != cli.ExitOK || !strings.Contains(out, "signed out everywhere") {
		t.Fatalf("set-password: %d %s", code, out)
	}
	if sessionAlive(t, s, alice) {
		t.Fatal("alice's session survived a new password")
	}
	if signIn(t, s, "alice", "alice's first password") != nil || signIn(t, s, "alice", "alice's second password") == nil {
		t.Fatal("set-password: the old password works or the new one does not")
	}

	alice = signIn(t, s, "alice", "alice's second password")
	if code, out := admin(t, "", "users", "delete", d, "--username", "alice"); code != cli.ExitOK {
		t.Fatalf("delete: %d %s", code, out)
	}
	if sessionAlive(t, s, alice) || signIn(t, s, "alice", "alice's second password") != nil {
		t.Fatal("a deleted account is still signed in or can sign in")
	}
	// The last admin stays.
	if code, out := admin(t, "", "users", "delete", d, "--username", "bob"); code != cli.ExitOK {
		t.Fatalf("delete bob: %d %s", code, out)
	}
	if code, out := admin(t, "", "users", "delete", d, "--username", "admin"); code != cli.ExitFailure || !strings.Contains(out, "last admin") {
		t.Fatalf("delete the last admin: %d %s", code, out)
	}
	if signIn(t, s, "admin", testenv.AdminPassword) == nil {
		t.Fatal("the last admin was deleted")
	}
}

// TestAdminUsersNeedsAStartedServer: the command never creates a store,
// which would leave `pairgate serve` unable to make its master key.
func TestAdminUsersNeedsAStartedServer(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out := admin(t, "a good password\n", "users", "create", "--data-dir", data, "--username", "x", "--password-stdin")
	if code != cli.ExitFailure || !strings.Contains(out, "no pairgate database") {
		t.Fatalf("create on an empty data dir: %d %s", code, out)
	}
	if _, err := os.Stat(data); !os.IsNotExist(err) {
		t.Fatalf("the command created %s", data)
	}
	code, out = admin(t, "", "users")
	if code != cli.ExitUsage || !strings.Contains(out, "set-password") {
		t.Fatalf("usage of admin users: %d %s", code, out)
	}
}

// TestBreakGlassWithLocalSignInOff: with passwords turned off on the
// server (people sign in upstream only), the host's command line, which
// holds the store, still manages accounts.
func TestBreakGlassWithLocalSignInOff(t *testing.T) {
	p := testenv.StartOIDCProvider(t)
	s := testenv.StartServer(t, testenv.WithOIDC(p, "*:user"), testenv.WithConfig(func(c *app.Config) { c.LocalSignIn = false }))
	d := "--data-dir=" + s.DataDir
	if signIn(t, s, "admin", testenv.AdminPassword) != nil {
		t.Fatal("a password signed in with local sign-in off")
	}
	if code, out := admin(t, "", "users", "create", d, "--username", "rescue", "--role", "admin"); code != cli.ExitOK || !printedPassword.MatchString(out) {
		t.Fatalf("create an admin on the host: %d %s", code, out)
	}
	if code, out := admin(t, "", "users", "set-role", d, "--username", "rescue", "--role", "auditor"); code != cli.ExitOK {
		t.Fatalf("set a role on the host: %d %s", code, out)
	}
	if code, out := admin(t, "", "users", "list", d); code != cli.ExitOK || !strings.Contains(out, "rescue") || !strings.Contains(out, "auditor") {
		t.Fatalf("list on the host: %d %s", code, out)
	}
}
