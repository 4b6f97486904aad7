package sqlstore

import (
	"context"
	"time"

	"github.com/pairgate/pairgate"
)

func (s *Store) GarbageCollect(ctx context.Context, now time.Time) (pairgate.GCResult, error) {
	var r pairgate.GCResult
	n := ns(now)
	// Before the expired tokens go: a device whose live family has no
	// unexpired token left can never refresh again. Guarded by state, so
	// that replicas running this at once move each device once.
	expired, err := affected(s.exec(ctx, `UPDATE devices SET state = 'expired', state_changed_at = $1
		WHERE state = 'active' AND family_id <> '' AND NOT EXISTS (SELECT 1 FROM refresh_tokens t
			WHERE t.family_id = devices.family_id AND t.rotated_at = 0 AND t.expires_at > $1)`, n))
	if err != nil {
		return r, s.fail(err, "garbage collect: expire devices")
	}
	r.DevicesExpired = expired
	// Every statement deletes only rows whose time has passed, so replicas
	// running this at once delete each row once and disagree about nothing.
	steps := []struct {
		count *int64
		q     string
		arg   int64
	}{
		{&r.DeviceAuthorizations, `DELETE FROM device_authorizations WHERE expires_at <= $1`, n - int64(pairgate.ExpiredGrantRetention)},
		{&r.AuthorizationCodes, `DELETE FROM authorization_codes WHERE expires_at <> 0 AND expires_at <= $1`, n},
		{&r.RefreshTokens, `DELETE FROM refresh_tokens WHERE expires_at <= $1`, n},
		{&r.RefreshTokens, `DELETE FROM refresh_tokens WHERE rotated_at <> 0 AND rotated_at <= $1`, n - int64(pairgate.RotatedTokenRetention)},
		{&r.RefreshFamilies, `DELETE FROM refresh_families WHERE revoked_at <> 0 AND revoked_at <= $1`, n - int64(pairgate.RotatedTokenRetention)},
		{&r.RefreshFamilies, `DELETE FROM refresh_families WHERE created_at <= $1 AND NOT EXISTS
			(SELECT 1 FROM refresh_tokens t WHERE t.family_id = refresh_families.id AND t.rotated_at = 0)`, n},
		{&r.RevokedAccessTokens, `DELETE FROM revoked_access_tokens WHERE expires_at <= $1`, n},
		{&r.SigningKeys, `DELETE FROM signing_keys WHERE retired_at <> 0 AND expires_at <= $1`, n},
		{&r.Sessions, `DELETE FROM sessions WHERE expires_at <= $1`, n},
		{&r.AuditEvents, `DELETE FROM audit_events WHERE time <= $1`, n - int64(pairgate.AuditRetention)},
		{&r.RateLimits, `DELETE FROM rate_limits WHERE window_end <= $1`, n},
		{&r.UpstreamStates, `DELETE FROM upstream_states WHERE expires_at <= $1`, n},
	}
	for _, st := range steps {
		c, err := affected(s.exec(ctx, st.q, st.arg))
		if err != nil {
			return r, s.fail(err, "garbage collect")
		}
		*st.count += c
	}
	return r, nil
}
