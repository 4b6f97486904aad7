package grants

import (
	"context"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Admin-issued authorization codes: an admin generates a code with one of
// the console's lifetimes; any number of devices (install scripts) redeem
// it at the token endpoint until it expires or is deleted. The console
// shows active codes, so the code is sealed, not only hashed (DESIGN.md
// 2.5); it is found by the keyed hash of its canonical form.

// ActiveCode is an authorization code as the console and the admin API
// show it.
type ActiveCode struct {
	*pairgate.AuthorizationCode
	Code string // the code itself, opened from the sealed column
}

// sealContext binds a sealed code to its row, so that a sealed value
// copied into another row does not open there.
func sealContext(id string) string { return secret.KindAuthCode + ":" + id }

// CreateAuthorizationCode generates a code that lives for ttl and returns
// it with what was stored. A code whose hash collides with a stored one is
// regenerated (DESIGN.md 2.6).
func (s *Service) CreateAuthorizationCode(ctx context.Context, ttl pairgate.CodeTTL, createdBy string) (string, *pairgate.AuthorizationCode, error) {
	if !ttl.Valid() {
		return "", nil, pairgate.Errorf(pairgate.EINVALID, "ttl must be one of 30m, 60m, 6h, 24h, 48h or never")
	}
	now := s.now()
	for range maxCodeAttempts {
		code := s.authCode()
		id := secret.NewID("ac_", now)
		ac := &pairgate.AuthorizationCode{
			ID: id, CodeHash: s.keys.Hash(secret.KindAuthCode, code), SealedCode: s.keys.Seal([]byte(code), sealContext(id)),
			TTL: ttl, CreatedAt: now, ExpiresAt: ttl.ExpiresAt(now), CreatedBy: createdBy,
		}
		err := s.store.CreateAuthorizationCode(ctx, ac)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		s.log.Info("authorization code created", "code_id", id, "ttl", string(ttl), "created_by", createdBy)
		return code, ac, nil
	}
	return "", nil, pairgate.Internal(errCollisions, "authorization code")
}

// ListAuthorizationCodes returns the codes that have not expired, newest
// first, with the codes themselves for the console.
func (s *Service) ListAuthorizationCodes(ctx context.Context) ([]ActiveCode, error) {
	list, err := s.store.ListAuthorizationCodes(ctx, s.now())
	if err != nil {
		return nil, err
	}
	out := make([]ActiveCode, 0, len(list))
	for _, ac := range list {
		code, err := s.keys.Open(ac.SealedCode, sealContext(ac.ID))
		if err != nil {
			return nil, pairgate.Internal(err, "open authorization code "+ac.ID)
		}
		out = append(out, ActiveCode{AuthorizationCode: ac, Code: string(code)})
	}
	return out, nil
}

// DeleteAuthorizationCode deletes a code: from the moment this returns, no
// device can redeem it. Devices it already authorized stay authorized.
func (s *Service) DeleteAuthorizationCode(ctx context.Context, id string) error {
	if err := s.store.DeleteAuthorizationCode(ctx, id); err != nil {
		return err
	}
	s.log.Info("authorization code deleted", "code_id", id)
	return nil
}

var errWrongAuthCode = pairgate.Errorf(pairgate.EINVALIDGRANT, "the authorization code is wrong, expired or deleted")

// RedeemAuthorizationCode answers the urn:pairgate:grant-type:authorization-code
// grant: a device presents an admin-issued code and is authorized in device
// mode (the token's subject is the device). The same client and hardware
// id redeeming again updates its device (DESIGN.md 2.1). scope defaults to
// the client's scopes.
func (s *Service) RedeemAuthorizationCode(ctx context.Context, c *pairgate.Client, code, deviceName, hardwareID, scope, ip string) (*TokenResponse, error) {
	if !c.AllowsGrant(pairgate.GrantAuthorizationCode) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "client %q may not redeem authorization codes", c.ID)
	}
	if code == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "code is required")
	}
	if deviceName == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "device_name is required")
	}
	if err := validText("device_name", deviceName, 128); err != nil {
		return nil, err
	}
	if err := validText("hardware_id", hardwareID, 256); err != nil {
		return nil, err
	}
	scopes, err := resolveScopes(scope, c.Scopes, c.Scopes)
	if err != nil {
		return nil, err
	}
	canonical, ok := secret.NormalizeAuthorizationCode(code)
	var key []byte
	if ok {
		key = s.keys.Hash(secret.KindAuthCode, canonical)
	}
	if err := s.guessAllowed(ctx, ip, key); err != nil {
		return nil, err
	}
	if !ok {
		s.codeFailed(ctx, c, ip, key, "not a code")
		return nil, errWrongAuthCode
	}
	now := s.now()
	ac, err := s.store.GetAuthorizationCodeByHash(ctx, key, now)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		s.codeFailed(ctx, c, ip, key, "wrong, expired or deleted")
		return nil, errWrongAuthCode
	}
	if err != nil {
		return nil, err
	}
	d := &pairgate.Device{
		ID: secret.NewID("dev_", now), ClientID: c.ID, Name: deviceName, HardwareID: hardwareID, Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, AuthCodeID: ac.ID, Scopes: scopes,
		AuthorizedAt: now, LastSeenAt: now, LastIP: ip,
	}
	// An empty subject is filled in with the stored device's ID, which is
	// an existing row's when this hardware was authorized before.
	fam := &pairgate.RefreshFamily{ID: secret.NewID("fam_", now), ClientID: c.ID, Scopes: scopes, CreatedAt: now}
	refresh, first := s.newRefreshToken(now)
	// The store re-checks the code in the transaction that issues, so a
	// code deleted or expiring since the lookup issues nothing.
	dev, err := s.store.IssueRefreshFamily(ctx, d, fam, first)
	if pairgate.ErrorCode(err) == pairgate.EINVALIDGRANT {
		s.codeFailed(ctx, c, ip, key, "deleted or expired while redeeming")
		return nil, errWrongAuthCode
	}
	if err != nil {
		return nil, err
	}
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditCodeRedeemed, ActorType: pairgate.ActorClient, ActorID: c.ID,
		Target: ac.ID, IP: ip, Details: map[string]string{"device_id": dev.ID, "device_name": dev.Name, "hardware_id": dev.HardwareID}})
	s.log.Info("device authorized with an authorization code", "code_id", ac.ID, "client_id", c.ID, "device_id", dev.ID, "ip", ip)
	return s.respond(ctx, pairgate.GrantAuthorizationCode, dev, fam.Subject, c.ID, scopes, refresh)
}

// GuessLimit is the seam for the guessing limits of DESIGN.md 2.6 on typed
// authorization codes. The limiter lives in internal/ratelimit (kept in the
// store, so that it holds across replicas) and is wired in cli; the grant
// only says when an attempt begins and when it failed. Either field may be
// nil, which allows everything.
type GuessLimit struct {
	// Allow is asked before a typed code is looked up. source is the
	// client's IP; key is the keyed hash of the code in canonical form
	// (never the code), nil when the input cannot be a code at all, so that
	// limits can be per source and per code. It refuses with an
	// ERATELIMITED *pairgate.Error carrying RetryAfter.
	Allow func(ctx context.Context, kind, source string, key []byte) error
	// Failed records an attempt with a wrong, expired or deleted code.
	// Successful redemptions are not reported: one code legitimately
	// enrolls hundreds of devices from behind one NAT address.
	Failed func(ctx context.Context, kind, source string, key []byte)
}

// LimitGuessing installs the guessing limits. Call it before the service
// handles requests.
func (s *Service) LimitGuessing(g GuessLimit) { s.guess = g }

func (s *Service) guessAllowed(ctx context.Context, ip string, key []byte) error {
	if s.guess.Allow == nil {
		return nil
	}
	return s.guess.Allow(ctx, secret.KindAuthCode, ip, key)
}

// codeFailed counts a wrong code against its source and records it; the
// code itself never reaches the audit log.
func (s *Service) codeFailed(ctx context.Context, c *pairgate.Client, ip string, key []byte, why string) {
	s.guessFailed(ctx, ip, key)
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditCodeFailed, ActorType: pairgate.ActorClient, ActorID: c.ID,
		IP: ip, Details: map[string]string{"reason": why}})
}

func (s *Service) guessFailed(ctx context.Context, ip string, key []byte) {
	if s.guess.Failed != nil {
		s.guess.Failed(ctx, secret.KindAuthCode, ip, key)
	}
}
