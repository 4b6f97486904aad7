package admin

import (
	"context"
	"slices"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// The checks of a client's fields, shared by CreateClient and
// UpdateClient. Each error names the field as the admin API spells it.

func clientName(name string) error {
	if strings.TrimSpace(name) == "" {
		return pairgate.Errorf(pairgate.EINVALID, "name is required, at most 128 bytes")
	}
	return pairgate.ValidText("name", name, 128)
}

// clientGrantTypes checks grant types and returns them sorted, without
// duplicates.
func clientGrantTypes(gts []string) ([]string, error) {
	if len(gts) == 0 {
		return nil, pairgate.Errorf(pairgate.EINVALID, "grant_types is required: any of %s", strings.Join(pairgate.AllGrantTypes, ", "))
	}
	for _, g := range gts {
		if !slices.Contains(pairgate.AllGrantTypes, g) {
			return nil, pairgate.Errorf(pairgate.EINVALID, "grant_types: '%s' is not supported; use any of %s", pairgate.Printable(g, 80), strings.Join(pairgate.AllGrantTypes, ", "))
		}
	}
	return slices.Compact(slices.Sorted(slices.Values(gts))), nil
}

func clientScopes(in []string) (pairgate.Scopes, error) {
	scopes := pairgate.ParseScopes(pairgate.Scopes(in).String())
	for _, sc := range scopes {
		if !pairgate.ValidScopeToken(sc) {
			return nil, pairgate.Errorf(pairgate.EINVALID, "scopes: '%s' is malformed", pairgate.Printable(sc, 80))
		}
	}
	if len(scopes) == 0 {
		return nil, pairgate.Errorf(pairgate.EINVALID, "scopes is required")
	}
	return scopes, nil
}

// ClientPatch is what an admin changes of a client: the fields that are
// set; the others stay.
type ClientPatch struct {
	Name       *string
	GrantTypes *[]string
	Scopes     *[]string
}

// UpdateClient changes a client's name, grant types or scopes. They
// apply from the client's next request: devices keep the scopes they
// were given until they authorize again. Nothing changes unless every
// field given is valid.
func (s *Service) UpdateClient(ctx context.Context, a Actor, id string, p ClientPatch) (*pairgate.Client, error) {
	if err := a.need(pairgate.PermClientsWrite); err != nil {
		return nil, err
	}
	if id == pairgate.BrowserClientID {
		return nil, pairgate.Errorf(pairgate.ECONFLICT, "%s is built in: it holds the browsers authorized as devices and is not edited", id)
	}
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return nil, err
	}
	details := map[string]string{}
	if p.Name != nil {
		if err := clientName(*p.Name); err != nil {
			return nil, err
		}
		if *p.Name != c.Name {
			details["name"] = c.Name + " -> " + *p.Name
			c.Name = *p.Name
		}
	}
	if p.GrantTypes != nil {
		gts, err := clientGrantTypes(*p.GrantTypes)
		if err != nil {
			return nil, err
		}
		if !slices.Equal(gts, c.GrantTypes) {
			details["grant_types"] = strings.Join(c.GrantTypes, " ") + " -> " + strings.Join(gts, " ")
			c.GrantTypes = gts
		}
	}
	if p.Scopes != nil {
		sc, err := clientScopes(*p.Scopes)
		if err != nil {
			return nil, err
		}
		if sc.String() != c.Scopes.String() {
			details["scope"] = c.Scopes.String() + " -> " + sc.String()
			c.Scopes = sc
		}
	}
	if len(details) == 0 {
		return c, nil
	}
	if err := s.store.UpdateClient(ctx, c); err != nil {
		return nil, err
	}
	s.changed(id)
	s.record(ctx, a, pairgate.AuditClientUpdated, id, details)
	return c, nil
}

// RotateClientSecret gives a confidential client a new secret, returned
// this once; the old one stops working at once on this replica (its
// cache forgets the client) and within seconds on the others.
func (s *Service) RotateClientSecret(ctx context.Context, a Actor, id string) (*pairgate.Client, string, error) {
	if err := a.need(pairgate.PermClientsWrite); err != nil {
		return nil, "", err
	}
	sec := secret.Token(secret.PrefixClientSecret)
	if err := s.store.SetClientSecret(ctx, id, s.keys.Hash(secret.KindClientSecret, sec)); err != nil {
		return nil, "", err
	}
	s.changed(id)
	s.record(ctx, a, pairgate.AuditClientSecret, id, nil)
	c, err := s.store.GetClient(ctx, id)
	if err != nil {
		return nil, "", err
	}
	return c, sec, nil
}
