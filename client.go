package pairgate

import (
	"slices"
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
