package upstream

import (
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strings"

	"github.com/pairgate/pairgate"
)

// Config is one upstream OpenID Connect provider.
type Config struct {
	// ID names the provider in URLs (/auth/oidc/{id}, the callback) and
	// in the audit log: 1 to 32 of a-z, 0-9 and '-'.
	ID           string
	Issuer       string
	ClientID     string
	ClientSecret string
	// Scopes are asked for besides openid (which is always asked for).
	Scopes []string
	// Label is the button's text: "Sign in with {Label}".
	Label string
	// UsernameClaim is the claim that names the person in pairgate
	// (email, preferred_username, upn, …). It is a name for people to
	// read, never what the account is found by.
	UsernameClaim string
	// GroupsClaim is the claim that "group=" rules look in.
	GroupsClaim string
	// Rules map claims to a role; the first that matches decides.
	Rules []RoleRule
}

// Defaults of a provider's settings.
const (
	DefaultUsernameClaim = "email"
	DefaultGroupsClaim   = "groups"
)

// DefaultScopes are asked for when a provider names none.
var DefaultScopes = []string{"profile", "email"}

// DefaultRules give everyone the user role: no one becomes an admin
// unless a rule says so.
var DefaultRules = []RoleRule{{Role: pairgate.RoleUser}}

// RoleRule maps a claim to a role. A rule with no claim ("*") matches
// everyone.
type RoleRule struct {
	// Claim is a claim name, or "group" for the provider's GroupsClaim.
	Claim string
	Value string
	Role  string
}

func (r RoleRule) String() string {
	if r.Claim == "" {
		return "*:" + r.Role
	}
	return r.Claim + "=" + r.Value + ":" + r.Role
}

// ParseRoleRules reads rules written as "group=admins:admin,
// group=helpdesk:device-manager, *:user": CLAIM=VALUE:ROLE or *:ROLE,
// separated by commas, the first that matches deciding. CLAIM is "group"
// (the groups claim) or any claim name; a claim holding a list matches
// when VALUE is in it.
func ParseRoleRules(s string) ([]RoleRule, error) {
	var out []RoleRule
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		r, err := ParseRoleRule(f)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// ParseRoleRule reads one rule: CLAIM=VALUE:ROLE or *:ROLE.
func ParseRoleRule(f string) (RoleRule, error) {
	i := strings.LastIndex(f, ":")
	if i < 0 {
		return RoleRule{}, fmt.Errorf("role rule %q: want CLAIM=VALUE:ROLE or *:ROLE", f)
	}
	match, role := strings.TrimSpace(f[:i]), strings.TrimSpace(f[i+1:])
	if !pairgate.ValidRole(role) {
		return RoleRule{}, fmt.Errorf("role rule %q: role %q is not one of %s", f, role, strings.Join(pairgate.Roles, ", "))
	}
	if match == "*" {
		return RoleRule{Role: role}, nil
	}
	claim, value, ok := strings.Cut(match, "=")
	claim, value = strings.TrimSpace(claim), strings.TrimSpace(value)
	if !ok || claim == "" || value == "" {
		return RoleRule{}, fmt.Errorf("role rule %q: want CLAIM=VALUE:ROLE or *:ROLE", f)
	}
	return RoleRule{Claim: claim, Value: value, Role: role}, nil
}

// roleFor returns the role of the first rule that claims match, or "".
func roleFor(rules []RoleRule, groupsClaim string, claims map[string]any) (role string, rule RoleRule) {
	for _, r := range rules {
		if r.Claim == "" {
			return r.Role, r
		}
		name := r.Claim
		if name == "group" {
			name = groupsClaim
		}
		if claimHas(claims[name], r.Value) {
			return r.Role, r
		}
	}
	return "", RoleRule{}
}

// claimHas reports whether a claim's value is v, or holds v when it is a
// list. Booleans and numbers compare in their JSON form ("true", "42").
func claimHas(c any, v string) bool {
	switch c := c.(type) {
	case string:
		return c == v
	case bool, float64:
		return fmt.Sprint(c) == v
	case []any:
		for _, x := range c {
			if claimHas(x, v) {
				return true
			}
		}
	}
	return false
}

// Validate says what is wrong with a provider's configuration, and
// fills in nothing: the defaults are applied by New.
func (c Config) Validate() error {
	var errs []error
	if !validID(c.ID) {
		errs = append(errs, fmt.Errorf("provider id %q: use 1 to 32 of a-z, 0-9 and '-'", c.ID))
	}
	u, err := url.Parse(c.Issuer)
	switch {
	case c.Issuer == "":
		errs = append(errs, fmt.Errorf("provider %s: the issuer URL is required", c.ID))
	case err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "":
		errs = append(errs, fmt.Errorf("provider %s: issuer %q: want an absolute https URL without query or fragment", c.ID, c.Issuer))
	case u.Scheme == "http" && !loopback(u.Hostname()):
		// Discovery, keys and the code exchange travel to the issuer:
		// in the clear, anyone on the way could sign people in.
		errs = append(errs, fmt.Errorf("provider %s: issuer %q: want https (plain http only on loopback, for tests)", c.ID, c.Issuer))
	}
	if c.ClientID == "" {
		errs = append(errs, fmt.Errorf("provider %s: the client id is required", c.ID))
	}
	for _, s := range c.Scopes {
		if !pairgate.ValidScopeToken(s) {
			errs = append(errs, fmt.Errorf("provider %s: scope %q is malformed", c.ID, s))
		}
	}
	if len(c.Label) > 64 {
		errs = append(errs, fmt.Errorf("provider %s: the label is longer than 64 bytes", c.ID))
	}
	for _, r := range c.Rules {
		if !pairgate.ValidRole(r.Role) {
			errs = append(errs, fmt.Errorf("provider %s: rule %s: %q is not a role", c.ID, r, r.Role))
		}
	}
	return errors.Join(errs...)
}

func loopback(host string) bool {
	if host == "localhost" {
		return true
	}
	a, err := netip.ParseAddr(host)
	return err == nil && a.IsLoopback()
}

func validID(id string) bool {
	if id == "" || len(id) > 32 {
		return false
	}
	for _, c := range id {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

// withDefaults is c with the defaults applied.
func (c Config) withDefaults() Config {
	if len(c.Scopes) == 0 {
		c.Scopes = DefaultScopes
	}
	if !slices.Contains(c.Scopes, "openid") {
		c.Scopes = append([]string{"openid"}, c.Scopes...)
	}
	if c.Label == "" {
		c.Label = c.ID
	}
	if c.UsernameClaim == "" {
		c.UsernameClaim = DefaultUsernameClaim
	}
	if c.GroupsClaim == "" {
		c.GroupsClaim = DefaultGroupsClaim
	}
	if len(c.Rules) == 0 {
		c.Rules = DefaultRules
	}
	return c
}
