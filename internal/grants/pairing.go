package grants

import (
	"context"
	"net/url"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// PairingResponse is the pairing dialect's answer.
type PairingResponse struct {
	PairingCode string `json:"pairing_code"`
	AuthURL     string `json:"auth_url"`
	ExpiresIn   int64  `json:"expires_in"`
	Interval    int64  `json:"interval"`
}

// StartPairing begins a pairing: one code that the device polls with and
// the person enters (or follows in auth_url).
func (s *Service) StartPairing(ctx context.Context, r DeviceRequest) (*PairingResponse, error) {
	if !r.Client.AllowsGrant(pairgate.GrantPairingCode) {
		return nil, pairgate.Errorf(pairgate.EUNAUTHCLIENT, "this client may not use pairing")
	}
	if r.Mode == "" {
		return nil, pairgate.Errorf(pairgate.EINVALID, "mode is required: 'user' or 'device'")
	}
	if r.HardwareID != "" && r.Mode == string(pairgate.ModeUser) {
		return nil, pairgate.Errorf(pairgate.EINVALID, "hardware_id binds a token to a device; it is only allowed with mode=device")
	}
	a, err := s.newAuthorization(ctx, pairgate.KindPairing, "", r)
	if err != nil {
		return nil, err
	}
	for range maxCodeAttempts {
		code := s.pairingCode()
		h := s.keys.Hash(secret.KindPairingCode, code)
		a.DeviceCodeHash, a.UserCodeHash = h, h
		err := s.store.CreateDeviceAuthorization(ctx, a)
		if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
			continue
		}
		if err != nil {
			return nil, err
		}
		return &PairingResponse{
			PairingCode: code,
			AuthURL:     s.AuthURL(code),
			ExpiresIn:   int64(s.cfg.DeviceCodeTTL.Seconds()),
			Interval:    int64(s.cfg.PollInterval.Seconds()),
		}, nil
	}
	return nil, pairgate.Internal(errCollisions, "pairing")
}

// AuthURL is where a person approves a pairing: the sign-in page, which
// continues to the pairing consent page.
func (s *Service) AuthURL(code string) string {
	next := "/oauth/authorize/pairing/?pairing_code=" + url.QueryEscape(code)
	return s.cfg.Issuer + "/auth/signin/?next=" + url.QueryEscape(next) + "&device=generic"
}
