package grants

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/pairgate/pairgate"
)

// Defences against cross-device phishing (draft-ietf-oauth-cross-device-
// security §6): an attacker starts a device flow on their own device and
// persuades someone elsewhere (by mail, chat, a QR code on a poster) to
// approve it. A client may allow the flow to start only from its own
// networks (§6.1.2), require the approver to be on the requester's network
// (§6.1.1, proximity), or switch the flow off; the server may keep roles
// that are worth phishing — admins — from approving at all. Every refusal
// is explained to whoever was refused and recorded as pairing.refused.

// Reasons of a refusal, as the audit log records them.
const (
	RefusedFlowDisabled    = "device_flow_disabled"
	RefusedStartNetwork    = "start_network_not_allowed"
	RefusedApproverRole    = "approver_role"
	RefusedApproverNetwork = "approver_network"
	refusalStageStart      = "start"
	refusalStageApproval   = "approval"
)

// checkStart applies the client's policy to a device authorization
// request before anything is stored.
func (s *Service) checkStart(ctx context.Context, kind string, r DeviceRequest) error {
	p := r.Client.DeviceFlow
	switch {
	case p.Disabled:
		s.refusedStart(ctx, kind, r, RefusedFlowDisabled)
		return pairgate.Errorf(pairgate.EUNAUTHCLIENT, "the device flow is turned off for this client")
	case !p.StartAllowedFrom(r.IP):
		s.refusedStart(ctx, kind, r, RefusedStartNetwork)
		return pairgate.Errorf(pairgate.EDENIED, "device authorization may not start from this network; ask an administrator which networks this client may use")
	}
	return nil
}

func (s *Service) refusedStart(ctx context.Context, kind string, r DeviceRequest, reason string) {
	s.log.Info("device authorization refused", "client_id", r.Client.ID, "reason", reason, "ip", r.IP)
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditPairingRefused, ActorType: pairgate.ActorClient,
		ActorID: r.Client.ID, ActorName: r.Client.Name, Target: r.Client.ID, IP: r.IP, Details: map[string]string{
			"stage": refusalStageStart, "reason": reason, "kind": kind, "mode": r.Mode, "hardware_id": r.HardwareID}})
}

// CheckApproval says whether the person of dec may approve its request,
// and why not: the consent page asks before it offers Allow, and Approve
// asks again. A refusal is an EFORBIDDEN error whose message tells the
// person what happened and what to do, and is recorded in the audit log
// each time a person meets it.
func (s *Service) CheckApproval(ctx context.Context, dec Decision) error {
	p, u := dec.Pending, dec.User
	a, policy := p.Authorization, p.Client.DeviceFlow
	var reason string
	var err error
	switch {
	case policy.Disabled:
		reason = RefusedFlowDisabled
		err = pairgate.Errorf(pairgate.EFORBIDDEN, "connecting devices to %s has been turned off by your administrator; choose Deny", p.Client.Name)
	case !slices.Contains(s.cfg.ApprovalRoles, u.Role):
		reason = RefusedApproverRole
		err = pairgate.Errorf(pairgate.EFORBIDDEN, "accounts with the %s role may not approve device requests here, so that a phishing message "+
			"cannot make them do it; choose Deny, and ask someone with an ordinary account to connect the device", u.Role)
	case !policy.SameNetwork(a.RequestIP, dec.IP):
		reason = RefusedApproverNetwork
		err = pairgate.Errorf(pairgate.EFORBIDDEN, "this device asked from another network (%s) than the one you are on (%s); "+
			"approve a device only when you are next to it: connect to the same network as the device and open the code again. "+
			"If you did not start this yourself, choose Deny", orUnknown(a.RequestIP), orUnknown(dec.IP))
	default:
		return nil
	}
	s.log.Info("device approval refused", "authorization_id", a.ID, "client_id", a.ClientID, "user_id", u.ID, "reason", reason,
		"requested_from", a.RequestIP, "ip", dec.IP)
	details := decisionDetails(p)
	details["stage"], details["reason"], details["role"] = refusalStageApproval, reason, u.Role
	if reason == RefusedApproverNetwork {
		details["prefix"] = fmt.Sprintf("/%d, /%d", policy.ApprovalPrefixV4, policy.ApprovalPrefixV6)
	}
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditPairingRefused, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, Target: a.ID, IP: dec.IP, Details: details})
	return err
}

func orUnknown(ip string) string {
	if ip == "" {
		return "unknown"
	}
	return ip
}

// ParseApprovalRoles reads a comma-separated list of roles.
func ParseApprovalRoles(s string) ([]string, error) {
	var out []string
	for _, r := range strings.Split(s, ",") {
		r = strings.TrimSpace(r)
		if r == "" {
			continue
		}
		if !pairgate.ValidRole(r) {
			return nil, fmt.Errorf("role %q: want any of %s", r, strings.Join(pairgate.Roles, ", "))
		}
		if !slices.Contains(out, r) {
			out = append(out, r)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("name at least one role: any of %s", strings.Join(pairgate.Roles, ", "))
	}
	return out, nil
}
