package admin

import (
	"context"
	"strings"

	"github.com/pairgate/pairgate"
)

// CountDevices returns how many devices the inventory holds.
func (s *Service) CountDevices(ctx context.Context, a Actor) (int, error) {
	if err := a.need(pairgate.PermDevicesRead); err != nil {
		return 0, err
	}
	return s.store.CountDevices(ctx)
}

// Usernames maps the user IDs that devices and codes name (who approved,
// who generated) to usernames, for people reading the inventory. An ID
// whose account was deleted is left out.
func (s *Service) Usernames(ctx context.Context, ids []string) (map[string]string, error) {
	out := map[string]string{}
	seen := map[string]bool{"": true}
	var keys map[string]*pairgate.APIKey
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
		// What an API key made is named by the key and the account it
		// acts for: people read names, not key ids.
		if strings.HasPrefix(id, "key_") {
			if keys == nil {
				all, err := s.store.ListAPIKeys(ctx)
				if err != nil {
					return nil, err
				}
				keys = map[string]*pairgate.APIKey{}
				for _, k := range all {
					keys[k.ID] = k
				}
			}
			if k, ok := keys[id]; ok {
				owner := k.OwnerName
				if owner == "" {
					owner = "a deleted account"
				}
				out[id] = "API key " + k.Name + " of " + owner
			} else {
				out[id] = "a revoked API key"
			}
			continue
		}
		u, err := s.store.GetUser(ctx, id)
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		out[id] = u.Username
	}
	return out, nil
}
