package cli_test

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestAdminCLIClientsAndLockouts: clients update and rotate-secret,
// lockouts list and lift, and devices list --sort, through the real
// command line and the admin API.
func TestAdminCLIClientsAndLockouts(t *testing.T) {
	s := testenv.StartServer(t)
	a := &adminCLI{t: t, home: t.TempDir()}
	a.ok(testenv.AdminPassword+"\n", "login", "--server", s.URL)
	introspect := func(id, secret string) int {
		req, _ := http.NewRequest("POST", s.URL+"/oauth/introspect", strings.NewReader("token=x"))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth(id, secret)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp.StatusCode
	}

	out := a.ok("", "clients", "create", "--id", "svc", "--name", "Service", "--grant-types", "refresh_token", "--scopes", "printing")
	old := strings.Fields(strings.Split(out, "\n")[1])[2]
	out = a.ok("", "clients", "update", "svc", "--scopes", "printing,portal")
	if !strings.Contains(out, "portal printing") || !strings.Contains(out, "Service") {
		t.Fatalf("clients update: %q", out)
	}
	if code, _, errs := a.run("", "clients", "update", "svc", "--grant-types", "password"); code != cli.ExitFailure || !strings.Contains(errs, "grant_types") {
		t.Fatalf("a bad grant type: %d %s", code, errs)
	}
	if code, _, _ := a.run("", "clients", "update", "svc"); code != cli.ExitUsage {
		t.Fatalf("nothing to change: %d", code)
	}
	out = a.ok("", "clients", "rotate-secret", "svc")
	next := strings.Fields(strings.Split(out, "\n")[1])[2]
	if !strings.HasPrefix(next, "pgs_") || next == old {
		t.Fatalf("rotate-secret: %q", out)
	}
	if introspect("svc", old) != 401 || introspect("svc", next) != 200 {
		t.Fatalf("after the rotation: old %d, new %d", introspect("svc", old), introspect("svc", next))
	}

	// A lock-out made by wrong passwords, listed and lifted by its ID.
	for range 21 {
		req, _ := http.NewRequest("POST", s.URL+"/api/v1/api-keys", strings.NewReader(`{"name":"k"}`))
		req.SetBasicAuth("victim", "guess")
		if resp, err := http.DefaultClient.Do(req); err == nil {
			resp.Body.Close()
		}
	}
	out = a.ok("", "lockouts", "list")
	var id string
	for _, line := range strings.Split(out, "\n") {
		if f := strings.Fields(line); len(f) > 3 && f[1] == "signin-account" && f[2] == "victim" {
			id = f[0]
		}
	}
	if id == "" {
		t.Fatalf("lockouts list does not show the account:\n%s", out)
	}
	if out = a.ok("", "lockouts", "lift", id); !strings.Contains(out, "lifted: signin-account victim") {
		t.Fatalf("lockouts lift: %q", out)
	}
	if strings.Contains(a.ok("", "lockouts", "list"), id) {
		t.Fatal("a lifted lock-out is still listed")
	}
	if code, _, _ := a.run("", "lockouts", "lift", id); code != cli.ExitFailure {
		t.Fatalf("lifting it again: %d", code)
	}

	// Devices by last seen, newest first, two pages.
	now := s.Clock.Now()
	for i := range 3 {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_cli_%d", i), ClientID: pairgate.DefaultClientID, Name: fmt.Sprintf("P%d", i),
			Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: now, LastSeenAt: now.Add(time.Duration(i) * time.Minute)}
		fam := &pairgate.RefreshFamily{ID: fmt.Sprintf("fam_cli_%d", i), ClientID: d.ClientID, Scopes: pairgate.Scopes{"printing"}, CreatedAt: now}
		if _, err := s.App.Store.IssueRefreshFamily(context.Background(), d, fam, pairgate.NewRefreshToken{Hash: []byte(d.ID), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}); err != nil {
			t.Fatal(err)
		}
	}
	code, out, errs := a.run("", "devices", "list", "--sort", "last_seen", "--desc", "--limit", "2")
	if code != 0 || strings.Index(out, "dev_cli_2") > strings.Index(out, "dev_cli_1") || strings.Contains(out, "dev_cli_0") || !strings.Contains(errs, "--after ") {
		t.Fatalf("first page: %d\n%s%s", code, out, errs)
	}
	cursor := strings.Fields(strings.TrimPrefix(errs, "more devices: add --after "))[0]
	out = a.ok("", "devices", "list", "--sort", "last_seen", "--desc", "--limit", "2", "--after", cursor)
	if !strings.Contains(out, "dev_cli_0") || strings.Contains(out, "dev_cli_1") {
		t.Fatalf("second page:\n%s", out)
	}
	if code, _, errs := a.run("", "devices", "list", "--sort", "colour"); code != cli.ExitFailure || !strings.Contains(errs, "sort") {
		t.Fatalf("an unknown column: %d %s", code, errs)
	}
}
