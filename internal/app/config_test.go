package app_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/app"
)

func valid() app.Config {
	c := app.Default()
	c.DataDir = "/tmp/pairgate-test"
	return c
}

// TestUpstreamAndPhishingConfig: the settings of upstream sign-in and
// of the phishing defences are checked all at once, and Validate changes
// nothing.
func TestUpstreamAndPhishingConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "oidc.json")
	os.WriteFile(file, []byte(`{"providers": [
		{"id": "keycloak", "issuer": "https://sso.example.com/realms/corp", "client_id": "pairgate", "client_secret": "s",
		 "scopes": ["profile", "email", "groups"], "label": "Example SSO", "username_claim": "preferred_username",
		 "role_rules": ["group=/pairgate-admins:admin", "group=/helpdesk:device-manager", "*:user"]},
		{"id": "google", "issuer": "https://accounts.google.com", "client_id": "x.apps.googleusercontent.com", "client_secret": "s",
		 "role_rules": ["hd=example.com:user"]}]}`), 0o600)
	c := valid()
	c.OIDCConfig = file
	c.OIDCIssuer, c.OIDCClientID, c.OIDCID = "https://login.microsoftonline.com/tenant/v2.0", "app-id", "entra"
	c.OIDCRoleRules = "roles=Pairgate.Admin:admin,*:user"
	before := c
	if err := c.Validate(); err != nil {
		t.Fatal(err)
	}
	if c != before {
		t.Fatal("Validate changed the configuration")
	}
	ps, err := c.Providers()
	if err != nil || len(ps) != 3 || ps[0].ID != "keycloak" || ps[1].ID != "google" || ps[2].ID != "entra" {
		t.Fatalf("providers: %+v %v", ps, err)
	}
	if got := ps[0].Rules[0]; got.Claim != "group" || got.Value != "/pairgate-admins" || got.Role != "admin" {
		t.Fatalf("first rule: %+v", got)
	}
	if got := ps[2].Rules; len(got) != 2 || got[0].Claim != "roles" || got[0].Value != "Pairgate.Admin" || got[1].Claim != "" {
		t.Fatalf("flag rules: %+v", got)
	}

	for _, bad := range []struct {
		change func(*app.Config)
		says   string
	}{
		{func(c *app.Config) { c.LocalSignIn = false }, "--local-signin=false needs an upstream provider"},
		{func(c *app.Config) { c.OIDCIssuer, c.OIDCClientID = "https://idp.example.com", "" }, "client id is required"},
		{func(c *app.Config) { c.OIDCIssuer, c.OIDCClientID = "http://idp.example.com", "x" }, "want https"},
		{func(c *app.Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCRoleRules = "https://idp.example.com", "x", "group=admins:root"
		}, `role "root" is not one of`},
		{func(c *app.Config) {
			c.OIDCIssuer, c.OIDCClientID, c.OIDCRoleRules = "https://idp.example.com", "x", "admins"
		}, "want CLAIM=VALUE:ROLE"},
		{func(c *app.Config) { c.OIDCIssuer, c.OIDCClientID, c.OIDCID = "https://idp.example.com", "x", "Bad ID" }, "provider id"},
		{func(c *app.Config) { c.OIDCConfig = filepath.Join(dir, "missing.json") }, "--oidc-config"},
		{func(c *app.Config) { c.DeviceApprovalRoles = "user,superuser" }, "--device-approval-roles"},
		{func(c *app.Config) { c.DeviceApprovalRoles = "" }, "--device-approval-roles"},
	} {
		c := valid()
		bad.change(&c)
		err := c.Validate()
		if err == nil || !strings.Contains(err.Error(), bad.says) {
			t.Errorf("want an error saying %q, got %v", bad.says, err)
		}
	}
	for _, body := range []string{`{"providers": []}`, `{"providers": [{"id": "x", "issuer": "https://a", "client_id": "c", "secret": "typo"}]}`,
		`{"providers": [{"id": "x", "issuer": "https://a", "client_id": "c"}, {"id": "x", "issuer": "https://b", "client_id": "c"}]}`} {
		os.WriteFile(file, []byte(body), 0o600)
		c := valid()
		c.OIDCConfig = file
		if err := c.Validate(); err == nil {
			t.Errorf("config file %s: no error", body)
		}
	}
}
