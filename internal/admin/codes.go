package admin

import (
	"context"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Admin-issued authorization codes: an admin generates a code with one of
// the console's lifetimes; any number of devices (install scripts) redeem
// it at the token endpoint (internal/grants) until it expires or is
// deleted. The console shows active codes, so the code is sealed, not only
// hashed (DESIGN.md 2.5); it is found by the keyed hash of its canonical
// form.

// ActiveCode is an authorization code as the console and the admin API
// show it.
type ActiveCode struct {
	*pairgate.AuthorizationCode
	Code string // the code itself, opened from the sealed column
}

// sealContext binds a sealed code to its row, so that a sealed value
// copied into another row does not open there.
func sealContext(id string) string { return secret.KindAuthCode + ":" + id }

// maxCodeAttempts bounds the retries after a code collision: at 80 bits a
// second collision in a row means something else is wrong.
const maxCodeAttempts = 8

// CreateCode generates a code that lives for ttl and returns it with what
// was stored. A code whose hash collides with a stored one is regenerated
// (DESIGN.md 2.6).
func (s *Service) CreateCode(ctx context.Context, a Actor, ttl pairgate.CodeTTL) (string, *pairgate.AuthorizationCode, error) {
	if err := a.need(pairgate.PermCodesWrite); err != nil {
		return "", nil, err
	}
	if !ttl.Valid() {
		return "", nil, pairgate.Errorf(pairgate.EINVALID, "ttl must be one of 30m, 60m, 6h, 24h, 48h or never")
	}
	now := s.now()
	for range maxCodeAttempts {
		code := s.authCode()
		id := secret.NewID("ac_", now)
		ac := &pairgate.AuthorizationCode{
			ID: id, CodeHash: s.keys.Hash(secret.KindAuthCode, code), SealedCode: s.keys.Seal([]byte(code), sealContext(id)),
			TTL: ttl, CreatedAt: now, ExpiresAt: ttl.ExpiresAt(now), CreatedBy: a.ID,
		}
		err := s.store.CreateAuthorizationCode(ctx, ac)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return "", nil, err
		}
		s.log.Info("authorization code created", "code_id", id, "ttl", string(ttl), "created_by", a.ID)
		s.record(ctx, a, pairgate.AuditCodeGenerated, ac.ID, map[string]string{"ttl": string(ttl)})
		return code, ac, nil
	}
	return "", nil, pairgate.Internal(errCodeCollisions, "authorization code")
}

var errCodeCollisions = pairgate.Errorf(pairgate.EINTERNAL, "could not generate a unique code")

// ListCodes returns the codes that have not expired, newest first, with
// the codes themselves for the console.
func (s *Service) ListCodes(ctx context.Context, a Actor) ([]ActiveCode, error) {
	if err := a.need(pairgate.PermCodesRead); err != nil {
		return nil, err
	}
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

// DeleteCode deletes a code: from the moment this returns, no device can
// redeem it. Devices it already authorized stay authorized.
func (s *Service) DeleteCode(ctx context.Context, a Actor, id string) error {
	if err := a.need(pairgate.PermCodesWrite); err != nil {
		return err
	}
	if err := s.store.DeleteAuthorizationCode(ctx, id); err != nil {
		return err
	}
	s.log.Info("authorization code deleted", "code_id", id)
	s.record(ctx, a, pairgate.AuditCodeDeleted, id, nil)
	return nil
}
