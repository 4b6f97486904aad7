package pairgate

import "time"

// Mode says whom a token speaks for. In user mode the token's subject is the
// person who approved; in device mode it is the device itself.
type Mode string

const (
	ModeUser   Mode = "user"
	ModeDevice Mode = "device"
)

// Valid reports whether m is one of the two modes.
func (m Mode) Valid() bool { return m == ModeUser || m == ModeDevice }

// How a device came to be authorized, shown in the inventory.
const (
	AuthByDeviceCode        = "device_code"
	AuthByPairing           = "pairing"
	AuthByAuthorizationCode = "authorization_code"
	AuthByAdminSignIn       = "admin_signin"
)

// Device is one entry of the inventory. Every authorization creates or
// updates exactly one Device (DESIGN.md 2.1); deleting it revokes everything
// that was issued to it (2.2).
type Device struct {
	ID           string
	ClientID     string
	Name         string
	HardwareID   string // "" when the device did not say; then every authorization is a new device
	Mode         Mode
	AuthMethod   string // one of the AuthBy* constants
	AuthCodeID   string // the authorization code it redeemed, if any
	UserID       string // the person who approved it, if any
	Scopes       Scopes
	AuthorizedAt time.Time // the latest authorization
	LastSeenAt   time.Time
	LastIP       string
}

// DeviceFilter selects a page of the inventory.
type DeviceFilter struct {
	Search   string // matches name, hardware id, client or id, case-insensitively
	ClientID string
	After    string // cursor: the ID of the last device of the previous page
	Limit    int
}
