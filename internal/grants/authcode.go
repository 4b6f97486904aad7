package grants

import (
	"context"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Admin-issued authorization codes, redeemed: any number of devices
// (install scripts) present a code an admin generated (internal/admin)
// until it expires or is deleted.

var errWrongAuthCode = pairgate.Errorf(pairgate.EINVALIDGRANT, "the authorization code is wrong, expired or deleted")

// RedeemAuthorizationCode answers the urn:pairgate:grant-type:authorization-code
// grant: a device presents an admin-issued code and is authorized in device
// mode (the token's subject is the device). A request with a DPoP proof
// binds the device to its key, and one proving a device's key updates
// that device; any other is a new device, whatever hardware id it claims
// (docs/design.md 2.1). scope defaults to the client's scopes.
func (s *Service) RedeemAuthorizationCode(ctx context.Context, r TokenRequest) (*TokenResponse, error) {
	c := r.Client
	if !c.AllowsGrant(pairgate.GrantAuthorizationCode) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "this client may not redeem authorization codes")
	}
	if r.Code == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "code is required")
	}
	if r.DeviceName == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "device_name is required")
	}
	if err := validText("device_name", r.DeviceName, 128); err != nil {
		return nil, err
	}
	if err := validText("hardware_id", r.HardwareID, 256); err != nil {
		return nil, err
	}
	scopes, err := resolveScopes(r.Scope, c.Scopes, c.Scopes)
	if err != nil {
		return nil, err
	}
	// The proof before the code: a request refused for its proof spends
	// none of its source's guessing budget.
	jkt, err := s.proof(ctx, c, r.DPoP)
	if err != nil {
		return nil, err
	}
	ac, guess, err := s.lookUpAuthorizationCode(ctx, r.Code, r.IP, pairgate.ActorClient, c.ID, "token endpoint")
	if err != nil {
		return nil, err
	}
	now := s.now()
	d := &pairgate.Device{
		ID: secret.NewID("dev_", now), ClientID: c.ID, Name: r.DeviceName, HardwareID: r.HardwareID, Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, AuthCodeID: ac.ID, Scopes: scopes,
		AuthorizedAt: now, LastSeenAt: now, LastIP: r.IP, DPoPJKT: jkt, EphemeralIdle: ac.EphemeralIdle,
	}
	// An empty subject is filled in with the stored device's ID, which is
	// an existing row's when the request proved that device's key.
	fam := &pairgate.RefreshFamily{ID: secret.NewID("fam_", now), ClientID: c.ID, Scopes: scopes, CreatedAt: now, DPoPJKT: jkt}
	refresh, first := s.newRefreshToken(now)
	// The store re-checks the code in the transaction that issues, so a
	// code deleted or expiring since the lookup issues nothing.
	dev, err := s.store.IssueRefreshFamily(ctx, d, fam, first)
	if pairgate.ErrorCode(err) == pairgate.EINVALIDGRANT {
		s.codeFailed(ctx, r.IP, pairgate.ActorClient, c.ID, "token endpoint", "deleted or expired while redeeming")
		return nil, errWrongAuthCode
	}
	if err != nil {
		return nil, err
	}
	s.codeRight(ctx, guess)
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditCodeRedeemed, ActorType: pairgate.ActorClient, ActorID: c.ID,
		Target: ac.ID, IP: r.IP, Details: map[string]string{"device_id": dev.ID, "device_name": dev.Name, "hardware_id": dev.HardwareID}})
	s.log.Info("device authorized with an authorization code", "code_id", ac.ID, "client_id", c.ID, "device_id", dev.ID, "ip", r.IP)
	return s.authorized(ctx, pairgate.GrantAuthorizationCode, dev, fam, c.ID, scopes, refresh, jkt)
}

// lookUpAuthorizationCode finds an admin-issued code as typed, at the token
// endpoint or in the Self-service Portal. The attempt is counted against
// its source address before the code is looked up — atomically in the
// store, so that concurrent wrong guesses on any replica can never all be
// judged against the same count (docs/design.md 2.6) — and the reservation it
// returns is given back once the code has authorized a device: one right
// code legitimately enrolls hundreds of devices from behind one NAT
// address, so only wrong codes use up the budget.
func (s *Service) lookUpAuthorizationCode(ctx context.Context, typed, ip, actorType, actorID, via string) (*pairgate.AuthorizationCode, *ratelimit.Reservation, error) {
	guess, err := s.limiter.Take(ctx, ratelimit.Hit{Rule: ratelimit.AuthCodeFailuresPerIP, Subject: ratelimit.Source(ip)})
	if err != nil {
		return nil, nil, err
	}
	canonical, ok := secret.NormalizeAuthorizationCode(typed)
	if !ok {
		s.codeFailed(ctx, ip, actorType, actorID, via, "not a code")
		return nil, nil, errWrongAuthCode
	}
	ac, err := s.store.GetAuthorizationCodeByHash(ctx, s.keys.Hash(secret.KindAuthCode, canonical), s.now())
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		s.codeFailed(ctx, ip, actorType, actorID, via, "wrong, expired or deleted")
		return nil, nil, errWrongAuthCode
	}
	if err != nil {
		// Not the caller's fault: the attempt does not count.
		s.codeRight(ctx, guess)
		return nil, nil, err
	}
	return ac, guess, nil
}

// codeRight gives back the attempt a right code was counted as.
func (s *Service) codeRight(ctx context.Context, guess *ratelimit.Reservation) {
	if err := guess.Refund(ctx); err != nil {
		s.log.Warn("could not give back a guessing-limit attempt", "err", err)
	}
}

// codeFailed records a wrong code; the code itself never reaches the audit
// log.
func (s *Service) codeFailed(ctx context.Context, ip, actorType, actorID, via, why string) {
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditCodeFailed, ActorType: actorType, ActorID: actorID,
		IP: ip, Details: map[string]string{"reason": why, "via": via}})
}
