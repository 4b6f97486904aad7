package grants

import (
	"context"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Refresh answers a refresh_token grant request: it rotates the refresh
// token (docs/design.md 2.4) and mints a new access token. A narrower scope
// applies to the new access token only (RFC 6749 §6); a wider one is
// refused.
func (s *Service) Refresh(ctx context.Context, r TokenRequest) (*TokenResponse, error) {
	c, token, scope, ip := r.Client, r.RefreshToken, r.Scope, r.IP
	var err error
	if !c.AllowsGrant(pairgate.GrantRefreshToken) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "this client may not use refresh tokens")
	}
	if token == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "refresh_token is required")
	}
	if !secret.LooksLike(token, secret.PrefixRefreshToken) {
		return nil, errInvalidRefresh
	}
	jkt, err := s.proof(ctx, c, r.DPoP)
	if err != nil {
		return nil, err
	}
	hash := s.keys.Hash(secret.KindRefresh, token)
	now := s.now()
	var fam *pairgate.RefreshFamily // as the check saw it, for the reuse log
	var scopes pairgate.Scopes
	// Judged inside the rotation, on the family the store reads anyway: a
	// refusal there changes nothing, as a refusal before it would.
	check := func(f *pairgate.RefreshFamily) error {
		fam = f
		// A token presented by another client is not that client's to
		// rotate; refusing before rotating keeps the owner's token alive.
		if fam.ClientID != c.ID {
			return errInvalidRefresh
		}
		// RFC 9449 §5: a bound family is rotated only with a proof by its
		// key. Refused before rotating, so that a thief holding the token
		// but not the key cannot revoke the family by reuse either. A
		// Bearer family stays Bearer: binding it to the first key that
		// comes along would hand the device's identity (docs/design.md
		// 2.1) to whoever holds the refresh token; the access token,
		// though, is bound to a presented key, as §5 asks, and only that
		// key can use it.
		if fam.DPoPJKT != "" && jkt != fam.DPoPJKT {
			return errBoundRefresh
		}
		scopes = fam.Scopes
		if scope != "" {
			req := pairgate.ParseScopes(scope)
			if !req.SubsetOf(fam.Scopes) {
				return pairgate.Errorf(pairgate.EINVALIDSCOPE, "the requested scope exceeds the original grant ('%s')", fam.Scopes.String())
			}
			scopes = req
		}
		return nil
	}
	next, stored := s.successor(token, now)
	rot, err := s.store.RotateRefreshToken(ctx, hash, stored, ip, now, s.cfg.RefreshGrace, check)
	if pairgate.ErrorCode(err) == pairgate.EREUSEDETECTED {
		s.log.Warn("refresh token reuse detected; family revoked", "client_id", c.ID, "family_id", fam.ID, "device_id", fam.DeviceID, "ip", ip)
		s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditRefreshReuse, ActorType: pairgate.ActorClient,
			ActorID: c.ID, Target: fam.DeviceID, IP: ip, Details: map[string]string{"family_id": fam.ID}})
		s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditDeviceRevoked, ActorType: pairgate.ActorClient,
			ActorID: c.ID, Target: fam.DeviceID, IP: ip, Details: map[string]string{"family_id": fam.ID}})
		return nil, errInvalidRefresh
	}
	if err != nil {
		return nil, err
	}
	return s.respond(ctx, rot.Family, c.ID, scopes, next, jkt)
}

var errBoundRefresh = pairgate.Errorf(pairgate.EINVALIDGRANT, "the refresh token is bound to a DPoP key; refresh with a proof by that key")

var errInvalidRefresh = pairgate.Errorf(pairgate.EINVALIDGRANT, "the refresh token is invalid, expired or revoked")
