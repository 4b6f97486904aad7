package admin

import (
	"bytes"
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

func newService(t *testing.T) *Service {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	log := slog.New(slog.DiscardHandler)
	s, err := New(Deps{Store: store, Keys: keys, Audit: audit.New(store, time.Now, log, nil),
		Limiter: ratelimit.New(store, keys, time.Now, func(string) {}), Log: log, Now: time.Now,
		Prober: printing.NewProber(time.Second, time.Now), ClientChanged: func(string) {}, PasswordChanged: func(*pairgate.User) {}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

var host = HostActor("test")

// sequence returns a generator that yields the given codes, then fresh ones.
func sequence(codes []string, fresh func() string) func() string {
	return func() string {
		if len(codes) > 0 {
			c := codes[0]
			codes = codes[1:]
			return c
		}
		return fresh()
	}
}

// TestCollidingAuthorizationCodeIsRegenerated: docs/design.md 2.6 for
// admin-issued codes.
func TestCollidingAuthorizationCodeIsRegenerated(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	const fixed = "ABCD-EFGH-JKMN-PQRS"
	s.authCode = sequence([]string{fixed, fixed, fixed}, secret.AuthorizationCode)
	first, _, err := s.CreateCode(ctx, host, NewCode{TTL: pairgate.TTL6Hours})
	if err != nil || first != fixed {
		t.Fatalf("first: %q %v", first, err)
	}
	second, _, err := s.CreateCode(ctx, host, NewCode{TTL: pairgate.TTL6Hours})
	if err != nil {
		t.Fatalf("a colliding code failed the request: %v", err)
	}
	if second == fixed {
		t.Fatal("the colliding code was handed out twice")
	}
	s.authCode = func() string { return fixed }
	if _, _, err := s.CreateCode(ctx, host, NewCode{TTL: pairgate.TTL6Hours}); pairgate.ErrorCode(err) != pairgate.EINTERNAL {
		t.Fatalf("stuck generator: %v", err)
	}
	if _, _, err := s.CreateCode(ctx, host, NewCode{TTL: pairgate.CodeTTL("1h")}); pairgate.ErrorCode(err) != pairgate.EINVALID {
		t.Fatalf("invalid ttl: %v", err)
	}
}

// TestAuthorizationCodeIsSealedAndBoundToItsRow: docs/design.md 2.5. The store
// holds the code neither in plaintext nor in a form that opens under
// another row's ID; the console gets it back.
func TestAuthorizationCodeIsSealedAndBoundToItsRow(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	code, ac, err := s.CreateCode(ctx, host, NewCode{TTL: pairgate.TTLNever})
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := secret.NormalizeAuthorizationCode(code); !ok || len(code) != 19 {
		t.Fatalf("generated code %q is not XXXX-XXXX-XXXX-XXXX in Crockford base32", code)
	}
	if bytes.Contains(ac.SealedCode, []byte(code)) || bytes.Contains(ac.SealedCode, []byte(code[:4])) {
		t.Fatal("the sealed column holds the code in plaintext")
	}
	if !bytes.Equal(ac.CodeHash, s.keys.Hash(secret.KindAuthCode, code)) {
		t.Fatal("code hash is not the keyed hash of the canonical code")
	}
	if _, err := s.keys.Open(ac.SealedCode, sealContext("ac_other")); err == nil {
		t.Fatal("a sealed code opens under another row's ID")
	}
	list, err := s.ListCodes(ctx, host)
	if err != nil || len(list) != 1 || list[0].Code != code || list[0].ID != ac.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
}

// TestActorsReachWhatTheirPermissionsAllow: the service, not its callers,
// decides; a key reaches what both its scopes and its owner's role allow,
// and never accounts or keys.
func TestActorsReachWhatTheirPermissionsAllow(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	admin, _, err := s.CreateUser(ctx, host, "root", pairgate.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	manager, managerPassword, err := s.CreateUser(ctx, host, "manager", pairgate.RoleDeviceManager, "")
	if err != nil {
		t.Fatal(err)
	}
	readKey := KeyActor(&pairgate.APIKey{ID: "key_r", Scopes: pairgate.Scopes{"read"}, CreatedBy: admin.ID, OwnerRole: admin.Role})
	allKey := KeyActor(&pairgate.APIKey{ID: "key_a", Scopes: pairgate.Scopes{"clients:write", "codes:write", "devices:write", "lockouts:write", "printers:write", "read"},
		CreatedBy: admin.ID, OwnerRole: admin.Role})
	managersKey := KeyActor(&pairgate.APIKey{ID: "key_m", Scopes: pairgate.Scopes{"clients:write", "read"}, CreatedBy: manager.ID, OwnerRole: manager.Role})

	forbidden := func(what string, err error) {
		t.Helper()
		if pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
			t.Errorf("%s: %v, want forbidden", what, err)
		}
	}
	_, _, err = s.CreateCode(ctx, readKey, NewCode{TTL: pairgate.TTL6Hours})
	forbidden("a read key creates a code", err)
	if _, _, err := s.CreateCode(ctx, allKey, NewCode{TTL: pairgate.TTL6Hours}); err != nil {
		t.Errorf("a codes:write key creates a code: %v", err)
	}
	_, _, err = s.CreateUser(ctx, allKey, "mallory", pairgate.RoleAdmin, "")
	forbidden("a key creates an admin", err)
	_, err = s.SetPassword(ctx, allKey, admin.ID, "")
	forbidden("a key resets an admin's password", err)
	forbidden("a key deletes an account", s.DeleteUser(ctx, allKey, manager.ID))
	_, _, err = s.CreateAPIKey(ctx, allKey, "another", nil)
	forbidden("a key makes a key", err)
	_, _, err = s.CreateClient(ctx, managersKey, NewClient{ID: "x", Name: "X", Public: true, GrantTypes: pairgate.AllGrantTypes, Scopes: []string{"printing"}})
	forbidden("a device manager's clients:write key creates a client", err)
	_, err = s.ListUsers(ctx, UserActor(manager))
	forbidden("a device manager lists accounts", err)
	if _, err := s.ListDevices(ctx, UserActor(manager), pairgate.DeviceFilter{Limit: 10}); err != nil {
		t.Errorf("a device manager lists devices: %v", err)
	}
	// A person changes their own password, with the current one; not
	// someone else's.
	if _, err := s.SetPassword(ctx, UserActor(manager), manager.ID, "a new long passphrase"); pairgate.ErrorCode(err) != pairgate.EINVALID {
		t.Errorf("own password without the current one: %v, want invalid", err)
	}
	if err := s.ChangeOwnPassword(ctx, UserActor(manager), managerPassword, "a new long passphrase"); err != nil {
		t.Errorf("own password: %v", err)
	}
	_, err = s.SetPassword(ctx, UserActor(manager), admin.ID, "a new long passphrase")
	forbidden("a device manager resets an admin's password", err)
	// Keys default to read.
	k, _, err := s.CreateAPIKey(ctx, UserActor(manager), "mine", nil)
	if err != nil || k.Scopes.String() != "read" {
		t.Fatalf("a key made without scopes: %+v %v", k, err)
	}
	if _, _, err := s.CreateAPIKey(ctx, UserActor(manager), "bad", []string{"admin"}); pairgate.ErrorCode(err) != pairgate.EINVALID {
		t.Fatalf("unknown scope: %v", err)
	}
}

// TestPrinterPermissions: reading printers needs printers.read, changing
// them or making the server ask a printer needs printers.write; an
// auditor reads, a device manager and a printers:write key change.
func TestPrinterPermissions(t *testing.T) {
	s := newService(t)
	ctx := context.Background()
	admin, _, err := s.CreateUser(ctx, host, "root", pairgate.RoleAdmin, "")
	if err != nil {
		t.Fatal(err)
	}
	auditor, _, err := s.CreateUser(ctx, host, "eve", pairgate.RoleAuditor, "")
	if err != nil {
		t.Fatal(err)
	}
	manager, _, err := s.CreateUser(ctx, host, "manager", pairgate.RoleDeviceManager, "")
	if err != nil {
		t.Fatal(err)
	}
	user, _, err := s.CreateUser(ctx, host, "pat", pairgate.RoleUser, "")
	if err != nil {
		t.Fatal(err)
	}
	readKey := KeyActor(&pairgate.APIKey{ID: "key_r", Scopes: pairgate.Scopes{"read"}, CreatedBy: admin.ID, OwnerRole: admin.Role})
	printersKey := KeyActor(&pairgate.APIKey{ID: "key_p", Scopes: pairgate.Scopes{"printers:write", "read"}, CreatedBy: admin.ID, OwnerRole: admin.Role})
	name, uri := "Lab", "ipp://127.0.0.1:1/ipp/print"
	change := PrinterChange{Name: &name, URI: &uri}
	p, err := s.CreatePrinter(ctx, UserActor(manager), change)
	if err != nil {
		t.Fatalf("a device manager adds a printer: %v", err)
	}
	for _, a := range []Actor{UserActor(auditor), readKey, UserActor(user)} {
		other := "Other " + a.ID
		c := PrinterChange{Name: &other, URI: &uri}
		if _, err := s.CreatePrinter(ctx, a, c); pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
			t.Errorf("%s adds a printer: %v", a.Name, err)
		}
		if _, err := s.CheckPrinter(ctx, a, p.ID); pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
			t.Errorf("%s makes the server ask a printer: %v", a.Name, err)
		}
		if err := s.DeletePrinter(ctx, a, p.ID); pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
			t.Errorf("%s deletes a printer: %v", a.Name, err)
		}
		if _, err := s.CreateDeployment(ctx, a, NewDeployment{PrinterIDs: []string{p.ID}, Target: pairgate.DeploymentTarget{All: true}}); pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
			t.Errorf("%s deploys: %v", a.Name, err)
		}
	}
	if _, err := s.ListPrinters(ctx, UserActor(user), ""); pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
		t.Errorf("a user lists printers: %v", err)
	}
	for _, a := range []Actor{UserActor(auditor), readKey} {
		if l, err := s.ListPrinters(ctx, a, ""); err != nil || len(l) != 1 {
			t.Errorf("%s lists printers: %d %v", a.Name, len(l), err)
		}
	}
	st, err := s.CheckPrinter(ctx, printersKey, p.ID)
	if err != nil || st.Reachable {
		t.Errorf("a printers:write key checks a printer: %+v %v", st, err)
	}
	if _, err := s.CreateDeployment(ctx, printersKey, NewDeployment{PrinterIDs: []string{p.ID}, Target: pairgate.DeploymentTarget{All: true}}); err != nil {
		t.Errorf("a printers:write key deploys: %v", err)
	}
}
