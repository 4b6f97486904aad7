package grants

import (
	"context"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// Pending is a request waiting for a person, with what the consent page
// shows about it.
type Pending struct {
	Authorization *pairgate.DeviceAuthorization
	Client        *pairgate.Client
	// Code is the code in canonical form, for the consent form to post back.
	Code string
}

var errNoSuchCode = pairgate.Errorf(pairgate.ENOTFOUND, "that code is not valid; check it and try again")

// CodeEntry is a code a person typed (or followed in a link), with where
// they are.
type CodeEntry struct {
	Code string
	IP   string
}

// FindUserCode finds the pending request for a user code as a person typed
// it (case-insensitive, dash optional). Every attempt is counted against
// its source and against the code before the code is looked up
// (docs/design.md 2.6); a normal flow uses three (entry, consent after
// sign-in, decision).
func (s *Service) FindUserCode(ctx context.Context, e CodeEntry) (*Pending, error) {
	code, ok := secret.NormalizeUserCode(e.Code)
	if err := s.countCodeEntry(ctx, e.IP, "user_code:"+code, ok); err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoSuchCode
	}
	return s.find(ctx, pairgate.KindDeviceCode, code, s.keys.Hash(secret.KindUserCode, code))
}

// FindPairingCode finds the pending request for a pairing code, counted as
// FindUserCode counts.
func (s *Service) FindPairingCode(ctx context.Context, e CodeEntry) (*Pending, error) {
	ok := secret.ValidPairingCode(e.Code)
	if err := s.countCodeEntry(ctx, e.IP, "pairing_code:"+e.Code, ok); err != nil {
		return nil, err
	}
	if !ok {
		return nil, errNoSuchCode
	}
	return s.find(ctx, pairgate.KindPairing, e.Code, s.keys.Hash(secret.KindPairingCode, e.Code))
}

// countCodeEntry counts an attempt at a typed code: per source always, per
// code when the input can be one (what cannot be a code has no budget of
// its own to spend).
func (s *Service) countCodeEntry(ctx context.Context, ip, code string, valid bool) error {
	hits := []ratelimit.Hit{{Rule: ratelimit.CodeEntryPerIP, Subject: ratelimit.Source(ip)}}
	if valid {
		hits = append(hits, ratelimit.Hit{Rule: ratelimit.CodeEntryPerCode, Subject: code})
	}
	return s.limiter.Allow(ctx, hits...)
}

func (s *Service) find(ctx context.Context, kind, code string, hash []byte) (*Pending, error) {
	a, err := s.store.GetDeviceAuthorizationByUserCode(ctx, hash)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND || (err == nil && a.Kind != kind) {
		return nil, errNoSuchCode
	}
	if err != nil {
		return nil, err
	}
	if a.Expired(s.now()) {
		return nil, pairgate.Errorf(pairgate.EEXPIRED, "that code has expired; start again on the device to get a new one")
	}
	if a.State != pairgate.StatePending {
		return nil, pairgate.Errorf(pairgate.ECONFLICT, "that code was already used")
	}
	c, err := s.store.GetClient(ctx, a.ClientID)
	if err != nil {
		return nil, err
	}
	return &Pending{Authorization: a, Client: c, Code: code}, nil
}

// Decision is what a person decided on the consent page about a request
// found by FindUserCode or FindPairingCode.
type Decision struct {
	Pending    *Pending
	User       *pairgate.User
	DeviceName string // when approving: overrides the name the device proposed, if set
	IP         string // where the person decided
}

// Approve lets the device have its tokens, recording it in the inventory
// (docs/design.md 2.1). deviceName, when set, names the device. The phishing
// defences of CheckApproval are applied first.
func (s *Service) Approve(ctx context.Context, dec Decision) (*pairgate.DeviceAuthorization, error) {
	p, u, deviceName := dec.Pending, dec.User, dec.DeviceName
	if err := validText("device name", deviceName, 128); err != nil {
		return nil, err
	}
	if err := s.CheckApproval(ctx, dec); err != nil {
		return nil, err
	}
	a := p.Authorization
	name := deviceName
	if name == "" {
		name = DefaultDeviceName(a.DeviceName, a.HardwareID, p.Client.Name)
	}
	method := pairgate.AuthByDeviceCode
	if a.Kind == pairgate.KindPairing {
		method = pairgate.AuthByPairing
	}
	now := s.now()
	d := &pairgate.Device{
		ID: secret.NewID("dev_", now), ClientID: a.ClientID, Name: name, HardwareID: a.HardwareID, Mode: a.Mode,
		AuthMethod: method, UserID: u.ID, Scopes: a.Scopes, AuthorizedAt: now, LastSeenAt: a.CreatedAt, LastIP: a.RequestIP,
		// The device authorization request proved this key: the approval
		// may update the device that holds it (docs/design.md 2.1).
		DPoPJKT: a.DPoPJKT,
	}
	approved, err := s.store.ApproveDeviceAuthorization(ctx, a.ID, d, now)
	if err != nil {
		return nil, err
	}
	s.polls.decided(string(a.DeviceCodeHash))
	s.log.Info("device authorization approved", "authorization_id", a.ID, "client_id", a.ClientID, "device_id", approved.DeviceID, "user_id", u.ID)
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditPairingApproved, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, Target: approved.DeviceID, IP: dec.IP, Details: decisionDetails(p)})
	return approved, nil
}

// Deny refuses the request; the device's next poll gets access_denied.
func (s *Service) Deny(ctx context.Context, dec Decision) error {
	p, u := dec.Pending, dec.User
	if err := s.store.DenyDeviceAuthorization(ctx, p.Authorization.ID, u.ID, s.now()); err != nil {
		return err
	}
	s.polls.decided(string(p.Authorization.DeviceCodeHash))
	s.log.Info("device authorization denied", "authorization_id", p.Authorization.ID, "client_id", p.Authorization.ClientID, "user_id", u.ID)
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditPairingDenied, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, Target: p.Authorization.ID, IP: dec.IP, Details: decisionDetails(p)})
	return nil
}

func decisionDetails(p *Pending) map[string]string {
	a := p.Authorization
	return map[string]string{"authorization_id": a.ID, "kind": a.Kind, "client_id": a.ClientID, "mode": string(a.Mode),
		"hardware_id": a.HardwareID, "scope": a.Scopes.String(), "requested_from": a.RequestIP, "dpop_jkt": a.DPoPJKT}
}

// DefaultDeviceName names a device that did not name itself.
func DefaultDeviceName(proposed, hardwareID, clientName string) string {
	switch {
	case proposed != "":
		return proposed
	case hardwareID != "":
		return clientName + " " + pairgate.Shorten(hardwareID, 40)
	default:
		return clientName + " device"
	}
}
