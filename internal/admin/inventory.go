package admin

import (
	"context"

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
	for _, id := range ids {
		if seen[id] {
			continue
		}
		seen[id] = true
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
