package grants

import (
	"context"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/secret"
)

// RevokeRequest is an RFC 7009 request. The hint is only a hint (§2.1):
// pairgate tells its tokens apart by their form.
type RevokeRequest struct {
	Client        *pairgate.Client // authenticated
	Token         string
	TokenTypeHint string
}

// Revoke implements RFC 7009. Revoking a refresh token revokes its whole
// family; revoking an access token revokes its jti. A token that is
// unknown, malformed, expired or another client's is left alone and the
// call still succeeds (§2.2), so that the answer tells nothing about it.
func (s *Service) Revoke(ctx context.Context, r RevokeRequest) error {
	c, token := r.Client, r.Token
	if token == "" {
		return pairgate.Errorf(pairgate.EINVALID, "token is required")
	}
	if strings.HasPrefix(token, secret.PrefixRefreshToken) {
		if !secret.LooksLike(token, secret.PrefixRefreshToken) {
			return nil
		}
		fam, _, err := s.store.LookupRefreshToken(ctx, s.keys.Hash(secret.KindRefresh, token), s.now())
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			return nil
		}
		if err != nil {
			return err
		}
		if fam.ClientID != c.ID {
			return nil
		}
		if err := s.store.RevokeRefreshFamily(ctx, fam.ID, s.now(), pairgate.DeviceSignedOut); err != nil {
			return err
		}
		if fam.RevokedAt.IsZero() {
			s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditDeviceSignedOut, ActorType: pairgate.ActorClient,
				ActorID: c.ID, Target: fam.DeviceID, Details: map[string]string{"family_id": fam.ID}})
		}
		return nil
	}
	claims, err := s.tokens.Verify(ctx, token)
	if err != nil || claims.ClientID != c.ID {
		return nil
	}
	return s.store.RevokeAccessToken(ctx, claims.ID, time.Unix(claims.ExpiresAt, 0))
}

// Introspection is an RFC 7662 §2.2 response.
type Introspection struct {
	Active    bool   `json:"active"`
	Scope     string `json:"scope,omitempty"`
	ClientID  string `json:"client_id,omitempty"`
	Subject   string `json:"sub,omitempty"`
	TokenType string `json:"token_type,omitempty"`
	ExpiresAt int64  `json:"exp,omitempty"`
	IssuedAt  int64  `json:"iat,omitempty"`
	Issuer    string `json:"iss,omitempty"`
	Audience  string `json:"aud,omitempty"`
	JTI       string `json:"jti,omitempty"`
	DeviceID  string `json:"device_id,omitempty"`
	// Confirmation is the key a DPoP token is bound to (RFC 9449 §6.2):
	// the resource server checks the request's proof against it.
	Confirmation *accesstoken.Confirmation `json:"cnf,omitempty"`
}

// Introspect says whether a token is active right now, asking the store, so
// that a deleted device's tokens are inactive from the next request on.
func (s *Service) Introspect(ctx context.Context, token string) (*Introspection, error) {
	if token == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "token is required")
	}
	if strings.HasPrefix(token, secret.PrefixRefreshToken) {
		if !secret.LooksLike(token, secret.PrefixRefreshToken) {
			return &Introspection{}, nil
		}
		fam, live, err := s.store.LookupRefreshToken(ctx, s.keys.Hash(secret.KindRefresh, token), s.now())
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND || (err == nil && !live) {
			return &Introspection{}, nil
		}
		if err != nil {
			return nil, err
		}
		return &Introspection{Active: true, Scope: fam.Scopes.String(), ClientID: fam.ClientID, Subject: fam.Subject,
			TokenType: "refresh_token", IssuedAt: fam.CreatedAt.Unix(), Issuer: s.cfg.Issuer, DeviceID: fam.DeviceID}, nil
	}
	c, _, err := s.tokens.Active(ctx, s.store, token)
	if err != nil {
		if pairgate.ErrorCode(err) == pairgate.EUNAUTHORIZED {
			return &Introspection{}, nil
		}
		return nil, err
	}
	typ := "Bearer"
	if c.BoundTo() != "" {
		typ = "DPoP"
	}
	return &Introspection{Active: true, Scope: c.Scope, ClientID: c.ClientID, Subject: c.Subject, TokenType: typ,
		ExpiresAt: c.ExpiresAt, IssuedAt: c.IssuedAt, Issuer: c.Issuer, Audience: c.Audience, JTI: c.ID, DeviceID: c.DeviceID,
		Confirmation: c.Confirmation}, nil
}
