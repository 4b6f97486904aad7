package grants

import (
	"context"
	"net/url"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/secret"
)

// DeviceRequest is a device authorization request: RFC 8628 §3.1 with
// pairgate's extensions, or the pairing dialect's POST /oauth/pair/.
type DeviceRequest struct {
	Client     *pairgate.Client // authenticated
	Scope      string
	Mode       string // user or device; RFC 8628 defaults to user, pairing requires it
	HardwareID string
	DeviceName string
	IP         string
	UserAgent  string
	// DPoP is the request's proof, if any: it binds the code to its key
	// (RFC 9449 §10's dpop_jkt, for device codes), so that only a poll
	// with a proof by the same key redeems it.
	DPoP dpop.Request
}

// DeviceResponse is RFC 8628 §3.2's response.
type DeviceResponse struct {
	DeviceCode              string `json:"device_code"`
	UserCode                string `json:"user_code"`
	VerificationURI         string `json:"verification_uri"`
	VerificationURIComplete string `json:"verification_uri_complete"`
	ExpiresIn               int64  `json:"expires_in"`
	Interval                int64  `json:"interval"`
}

// maxCodeAttempts bounds the retries after a code collision. With 20^8 user
// codes, a second collision in a row means something else is wrong.
const maxCodeAttempts = 8

// StartDeviceAuthorization begins an RFC 8628 device flow.
func (s *Service) StartDeviceAuthorization(ctx context.Context, r DeviceRequest) (*DeviceResponse, error) {
	if !r.Client.AllowsGrant(pairgate.GrantDeviceCode) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "this client may not use the device code grant")
	}
	if err := s.checkStart(ctx, pairgate.KindDeviceCode, r); err != nil {
		return nil, err
	}
	a, err := s.newAuthorization(ctx, pairgate.KindDeviceCode, pairgate.ModeUser, r)
	if err != nil {
		return nil, err
	}
	for range maxCodeAttempts {
		deviceCode, userCode := secret.Token(secret.PrefixDeviceCode), s.userCode()
		a.DeviceCodeHash = s.keys.Hash(secret.KindDeviceCode, deviceCode)
		a.UserCodeHash = s.keys.Hash(secret.KindUserCode, userCode)
		err := s.store.CreateDeviceAuthorization(ctx, a)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue // docs/design.md 2.6: a colliding code is regenerated, never a 500
		}
		if err != nil {
			return nil, err
		}
		verify := s.cfg.Issuer + "/device"
		return &DeviceResponse{
			DeviceCode:              deviceCode,
			UserCode:                userCode,
			VerificationURI:         verify,
			VerificationURIComplete: verify + "?user_code=" + url.QueryEscape(userCode),
			ExpiresIn:               int64(s.cfg.DeviceCodeTTL.Seconds()),
			Interval:                int64(s.cfg.PollInterval.Seconds()),
		}, nil
	}
	return nil, pairgate.Internal(errCollisions, "device authorization")
}

var errCollisions = pairgate.Errorf(pairgate.EINTERNAL, "could not generate a unique code")

// newAuthorization validates what both dialects share and builds the
// pending grant, codes not yet set.
func (s *Service) newAuthorization(ctx context.Context, kind string, defMode pairgate.Mode, r DeviceRequest) (*pairgate.DeviceAuthorization, error) {
	m := pairgate.Mode(r.Mode)
	if r.Mode == "" {
		m = defMode
	}
	if !m.Valid() {
		return nil, pairgate.Errorf(pairgate.EINVALID, "mode must be 'user' or 'device'")
	}
	c := r.Client
	def := c.Scopes
	if kind == pairgate.KindPairing {
		def = pairgate.Scopes{"printing"}
	}
	sc, err := resolveScopes(r.Scope, c.Scopes, def)
	if err != nil {
		return nil, err
	}
	if err := validText("hardware_id", r.HardwareID, 256); err != nil {
		return nil, err
	}
	if err := validText("device_name", r.DeviceName, 128); err != nil {
		return nil, err
	}
	// Checked last: the proof's jti is used up only by a request that is
	// otherwise good.
	jkt, err := s.proof(ctx, c, r.DPoP)
	if err != nil {
		return nil, err
	}
	now := s.now()
	return &pairgate.DeviceAuthorization{DPoPJKT: jkt,
		ID: secret.NewID("da_", now), Kind: kind, ClientID: c.ID, Scopes: sc, Mode: m, HardwareID: r.HardwareID,
		DeviceName: r.DeviceName, RequestIP: r.IP, UserAgent: pairgate.Shorten(r.UserAgent, 256), CreatedAt: now,
		ExpiresAt: now.Add(s.cfg.DeviceCodeTTL), Interval: s.cfg.PollInterval, State: pairgate.StatePending,
	}, nil
}
