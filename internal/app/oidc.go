package app

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"github.com/pairgate/pairgate/internal/upstream"
)

// OIDCFile is the --oidc-config file: upstream providers, each with the
// settings of the single-provider flags.
//
//	{"providers": [{"id": "corp", "issuer": "https://login.example.com/realms/corp",
//	  "client_id": "pairgate", "client_secret": "…", "scopes": ["profile", "email", "groups"],
//	  "label": "Example Corp", "username_claim": "preferred_username", "groups_claim": "groups",
//	  "role_rules": ["group=pairgate-admins:admin", "group=helpdesk:device-manager", "*:user"]}]}
type OIDCFile struct {
	Providers []OIDCFileProvider `json:"providers"`
}

// OIDCFileProvider is one provider of an OIDCFile.
type OIDCFileProvider struct {
	ID            string   `json:"id"`
	Issuer        string   `json:"issuer"`
	ClientID      string   `json:"client_id"`
	ClientSecret  string   `json:"client_secret"`
	Scopes        []string `json:"scopes"`
	Label         string   `json:"label"`
	UsernameClaim string   `json:"username_claim"`
	GroupsClaim   string   `json:"groups_claim"`
	RoleRules     []string `json:"role_rules"`
}

// maxOIDCFile bounds the config file: a few providers fit in a kilobyte.
const maxOIDCFile = 1 << 20

// Providers are the upstream providers the configuration names: those of
// --oidc-config, then the one of --oidc-issuer. It reads the file and
// changes nothing.
func (c Config) Providers() ([]upstream.Config, error) {
	var out []upstream.Config
	if c.OIDCConfig != "" {
		ps, err := readOIDCFile(c.OIDCConfig)
		if err != nil {
			return nil, fmt.Errorf("--oidc-config %s: %w", c.OIDCConfig, err)
		}
		out = ps
	}
	if c.OIDCIssuer != "" || c.OIDCClientID != "" {
		rules, err := upstream.ParseRoleRules(c.OIDCRoleRules)
		if err != nil {
			return nil, fmt.Errorf("--oidc-role-rules: %w", err)
		}
		p := upstream.Config{ID: c.OIDCID, Issuer: c.OIDCIssuer, ClientID: c.OIDCClientID, ClientSecret: c.OIDCClientSecret,
			Scopes: splitList(c.OIDCScopes), Label: c.OIDCLabel, UsernameClaim: c.OIDCUsernameClaim, GroupsClaim: c.OIDCGroupsClaim,
			Rules: rules}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("--oidc-issuer: %w", err)
		}
		out = append(out, p)
	}
	seen := map[string]bool{}
	for _, p := range out {
		if seen[p.ID] {
			return nil, fmt.Errorf("two upstream providers have the id %q", p.ID)
		}
		seen[p.ID] = true
	}
	return out, nil
}

func readOIDCFile(path string) ([]upstream.Config, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	var buf bytes.Buffer
	if _, err := buf.ReadFrom(io.LimitReader(f, maxOIDCFile+1)); err != nil {
		return nil, err
	}
	if buf.Len() > maxOIDCFile {
		return nil, errors.New("larger than 1 MiB")
	}
	dec := json.NewDecoder(&buf)
	dec.DisallowUnknownFields()
	var file OIDCFile
	if err := dec.Decode(&file); err != nil {
		return nil, err
	}
	if len(file.Providers) == 0 {
		return nil, errors.New(`names no provider: want {"providers": [{"id": …, "issuer": …, "client_id": …}]}`)
	}
	var out []upstream.Config
	for i, fp := range file.Providers {
		var rules []upstream.RoleRule
		for _, s := range fp.RoleRules {
			r, err := upstream.ParseRoleRule(s)
			if err != nil {
				return nil, fmt.Errorf("provider %d: %w", i+1, err)
			}
			rules = append(rules, r)
		}
		p := upstream.Config{ID: fp.ID, Issuer: fp.Issuer, ClientID: fp.ClientID, ClientSecret: fp.ClientSecret, Scopes: fp.Scopes,
			Label: fp.Label, UsernameClaim: fp.UsernameClaim, GroupsClaim: fp.GroupsClaim, Rules: rules}
		if err := p.Validate(); err != nil {
			return nil, fmt.Errorf("provider %d: %w", i+1, err)
		}
		out = append(out, p)
	}
	return out, nil
}

func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' })
}
