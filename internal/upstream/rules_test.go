package upstream

import (
	"strings"
	"testing"
)

func TestRoleRules(t *testing.T) {
	rules, err := ParseRoleRules("group=admins:admin, group=helpdesk:device-manager, roles=Pairgate.Audit:auditor, email_verified=true:user")
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		claims map[string]any
		want   string
	}{
		{map[string]any{"groups": []any{"staff", "admins"}}, "admin"},
		{map[string]any{"groups": []any{"helpdesk", "admins"}}, "admin"}, // the first rule that matches
		{map[string]any{"groups": "helpdesk"}, "device-manager"},
		{map[string]any{"roles": []any{"Pairgate.Audit"}}, "auditor"},
		{map[string]any{"email_verified": true}, "user"},
		{map[string]any{"email_verified": false}, ""},
		{map[string]any{"groups": []any{"Admins"}}, ""}, // values match exactly
		{map[string]any{}, ""},
	} {
		if got, _ := roleFor(rules, "groups", c.claims); got != c.want {
			t.Errorf("%v: role %q, want %q", c.claims, got, c.want)
		}
	}
	if got, _ := roleFor(rules, "memberOf", map[string]any{"memberOf": []any{"admins"}}); got != "admin" {
		t.Errorf("group= does not follow the groups claim: %q", got)
	}
	for _, bad := range []string{"admins", "group=admins", "group=:admin", "group=admins:root", "*:", "=x:user"} {
		if _, err := ParseRoleRules(bad); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

func TestUsernames(t *testing.T) {
	got := usernames("Jane Doe <jane@Example.com>", "corp")
	if got[0] != "jane-doe--jane@example.com" || got[1] != "jane-doe--jane@example.com-corp" || got[2] != "jane-doe--jane@example.com-corp-2" {
		t.Fatalf("candidates: %v", got[:3])
	}
	long := usernames(strings.Repeat("a", 100), "corp")
	for _, n := range long {
		if len(n) > 64 {
			t.Fatalf("candidate longer than 64: %q", n)
		}
	}
	if !strings.HasSuffix(long[1], "-corp") {
		t.Fatalf("the provider suffix was cut: %q", long[1])
	}
	if got := usernames("", "corp")[0]; got != "user" {
		t.Fatalf("empty claim: %q", got)
	}
	seen := map[string]bool{}
	for _, n := range usernames("x", "corp") {
		if seen[n] {
			t.Fatalf("candidate %q twice", n)
		}
		seen[n] = true
	}
}
