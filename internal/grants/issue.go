package grants

import (
	"context"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/secret"
)

// newRefreshToken makes a refresh token and what the store keeps of it.
func (s *Service) newRefreshToken(now time.Time) (string, pairgate.NewRefreshToken) {
	tok := secret.Token(secret.PrefixRefreshToken)
	return tok, pairgate.NewRefreshToken{Hash: s.keys.Hash(secret.KindRefresh, tok), IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
}

// successor is the refresh token that replaces tok when it rotates:
// derived from it, so that a retry or a concurrent duplicate of the same
// refresh gets the same one (docs/design.md 2.4).
func (s *Service) successor(tok string, now time.Time) (string, pairgate.NewRefreshToken) {
	next := s.keys.Successor(tok)
	return next, pairgate.NewRefreshToken{Hash: s.keys.Hash(secret.KindRefresh, next), IssuedAt: now, ExpiresAt: now.Add(s.cfg.RefreshTTL)}
}

// authorized answers a grant that has just authorized device d: the
// event is audited, then the tokens are issued.
func (s *Service) authorized(ctx context.Context, grantType string, d *pairgate.Device, fam *pairgate.RefreshFamily, clientID string, scopes pairgate.Scopes, refresh, jkt string) (*TokenResponse, error) {
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditDeviceAuthorized, ActorType: pairgate.ActorClient,
		ActorID: clientID, Target: d.ID, Details: map[string]string{
			"grant_type": grantType, "device_name": d.Name, "mode": string(d.Mode), "approved_by": d.UserID,
			"hardware_id": d.HardwareID, "scope": scopes.String(), "dpop_jkt": d.DPoPJKT}})
	return s.respond(ctx, fam, clientID, scopes, refresh, jkt)
}

// respond mints the access token of fam's device and builds the token
// response, once a grant has committed to issuing. jkt, when set, is the
// key the request proved: the access token is bound to it (cnf.jkt, RFC
// 9449 §6) and is a DPoP token.
func (s *Service) respond(ctx context.Context, fam *pairgate.RefreshFamily, clientID string, scopes pairgate.Scopes, refresh, jkt string) (*TokenResponse, error) {
	at, claims, err := s.tokens.Mint(ctx, accesstoken.Grant{Subject: fam.Subject, ClientID: clientID, Scopes: scopes, DeviceID: fam.DeviceID, FamilyID: fam.ID, JKT: jkt, StatusIndex: fam.StatusIndex})
	if err != nil {
		return nil, err
	}
	tokenType := "Bearer"
	if jkt != "" {
		tokenType = "DPoP"
	}
	return &TokenResponse{
		AccessToken:  at,
		TokenType:    tokenType,
		ExpiresIn:    claims.ExpiresAt - claims.IssuedAt,
		Scope:        claims.Scope,
		RefreshToken: refresh,
	}, nil
}
