package pairgate

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// Grant type identifiers as they appear in the grant_type parameter.
const (
	GrantDeviceCode        = "urn:ietf:params:oauth:grant-type:device_code"
	GrantPairingCode       = "pairing_code"
	GrantRefreshToken      = "refresh_token"
	GrantAuthorizationCode = "urn:pairgate:grant-type:authorization-code"
)

// AllGrantTypes lists every grant the token endpoint implements.
var AllGrantTypes = []string{GrantDeviceCode, GrantPairingCode, GrantRefreshToken, GrantAuthorizationCode}

// DefaultClientID is the public client created on first start.
const DefaultClientID = "print-client"

// Client is an OAuth client. A public client has no secret and identifies
// itself by client_id alone; a confidential client's secret is stored only
// as a keyed hash.
type Client struct {
	ID         string
	Name       string
	Public     bool
	SecretHash []byte // nil for public clients
	GrantTypes []string
	Scopes     Scopes // what the client may ask for; also its default scope
	// RequireDPoP refuses every device authorization, pairing and token
	// request of the client that carries no DPoP proof (RFC 9449).
	RequireDPoP bool
	CreatedAt   time.Time
	// InactiveSignOutDays and InactiveRemoveDays override the server's
	// inactivity policy for the client's devices; 0 keeps the server's.
	InactiveSignOutDays int
	InactiveRemoveDays  int
	DeviceFlow          DeviceFlowPolicy
}

// AllowsGrant reports whether the client may use grant type gt.
func (c *Client) AllowsGrant(gt string) bool { return slices.Contains(c.GrantTypes, gt) }

// BrowserClientID is the built-in client of browsers authorized as devices
// (an admin signing in to the console, the Self-service Portal). It has no
// grant types, so nobody can use it at the token endpoint; its devices hold
// browser sessions, not tokens.
const BrowserClientID = "pairgate-browser"

// BrowserClient is the built-in client as it is created when first needed.
func BrowserClient(now time.Time) *Client {
	return &Client{ID: BrowserClientID, Name: "Web browser", Public: true, Scopes: Scopes{"portal"}, CreatedAt: now}
}

// DeviceFlowPolicy is a client's defences against cross-device phishing
// (draft-ietf-oauth-cross-device-security §6): an attacker starts a
// device flow and persuades someone elsewhere to approve it. The zero
// policy allows the device flow from anywhere, approved from anywhere.
type DeviceFlowPolicy struct {
	// Disabled turns the device flow and pairing off for the client.
	Disabled bool
	// Networks are where a device authorization may start; empty:
	// anywhere.
	Networks []netip.Prefix
	// ApprovalPrefixV4 and ApprovalPrefixV6, when set, refuse an approval
	// from an address that does not share that many leading bits with
	// the address the request came from (a request and an approval in
	// different address families never match). Both are set or neither.
	ApprovalPrefixV4 int
	ApprovalPrefixV6 int
}

// Default approval network prefixes: one IPv4 /24, one IPv6 /64 (a site's
// LAN, as RFC 6177 assigns).
const (
	DefaultApprovalPrefixV4 = 24
	DefaultApprovalPrefixV6 = 64
)

// SameNetworkRequired reports whether approvals must come from the
// requester's network.
func (p DeviceFlowPolicy) SameNetworkRequired() bool {
	return p.ApprovalPrefixV4 > 0 || p.ApprovalPrefixV6 > 0
}

// StartAllowedFrom reports whether a device authorization may start from
// ip. An address that cannot be parsed is outside every network.
func (p DeviceFlowPolicy) StartAllowedFrom(ip string) bool {
	if len(p.Networks) == 0 {
		return true
	}
	a, err := netip.ParseAddr(ip)
	if err != nil {
		return false
	}
	a = a.Unmap()
	for _, n := range p.Networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// SameNetwork reports whether approver is in the network of requester
// under the policy's prefixes. It is true when no check is required, and
// false when either address is unknown.
func (p DeviceFlowPolicy) SameNetwork(requester, approver string) bool {
	if !p.SameNetworkRequired() {
		return true
	}
	r, err1 := netip.ParseAddr(requester)
	a, err2 := netip.ParseAddr(approver)
	if err1 != nil || err2 != nil {
		return false
	}
	r, a = r.Unmap(), a.Unmap()
	if r.Is4() != a.Is4() {
		return false
	}
	bits := p.ApprovalPrefixV6
	if r.Is4() {
		bits = p.ApprovalPrefixV4
	}
	pr, err := r.Prefix(bits)
	return err == nil && pr.Contains(a)
}

// Normalize checks a policy and returns it in its stored form: networks
// masked, sorted and without duplicates, and an approval prefix given for
// one address family completed with the other's default.
func (p DeviceFlowPolicy) Normalize() (DeviceFlowPolicy, error) {
	if p.ApprovalPrefixV4 < 0 || p.ApprovalPrefixV4 > 32 {
		return p, Errorf(EINVALID, "approval_network_prefix must be from 0 (off) to 32 bits")
	}
	if p.ApprovalPrefixV6 < 0 || p.ApprovalPrefixV6 > 128 {
		return p, Errorf(EINVALID, "approval_network_prefix_v6 must be from 0 (off) to 128 bits")
	}
	if p.ApprovalPrefixV4 > 0 && p.ApprovalPrefixV6 == 0 {
		p.ApprovalPrefixV6 = DefaultApprovalPrefixV6
	}
	if p.ApprovalPrefixV6 > 0 && p.ApprovalPrefixV4 == 0 {
		p.ApprovalPrefixV4 = DefaultApprovalPrefixV4
	}
	if len(p.Networks) > 64 {
		return p, Errorf(EINVALID, "device_flow_networks may list at most 64 networks")
	}
	nets := make([]netip.Prefix, 0, len(p.Networks))
	for _, n := range p.Networks {
		if !n.IsValid() {
			return p, Errorf(EINVALID, "device_flow_networks holds an invalid network")
		}
		n = netip.PrefixFrom(n.Addr().Unmap(), min(n.Bits(), n.Addr().Unmap().BitLen())).Masked()
		nets = append(nets, n)
	}
	slices.SortFunc(nets, func(a, b netip.Prefix) int {
		if c := a.Addr().Compare(b.Addr()); c != 0 {
			return c
		}
		return a.Bits() - b.Bits()
	})
	p.Networks = slices.Compact(nets)
	if len(p.Networks) == 0 {
		p.Networks = nil
	}
	return p, nil
}

// ParseNetworks parses CIDR prefixes or single addresses, as an admin
// types them.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, Errorf(EINVALID, "'%s' is not a network: write it as an address or a CIDR prefix such as 192.0.2.0/24", Printable(s, 64))
			}
			out = append(out, netip.PrefixFrom(a.Unmap(), a.Unmap().BitLen()))
			continue
		}
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, Errorf(EINVALID, "'%s' is not a network: write it as an address or a CIDR prefix such as 192.0.2.0/24", Printable(s, 64))
		}
		out = append(out, p)
	}
	return out, nil
}
