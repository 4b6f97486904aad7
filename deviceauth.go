package pairgate

import "time"

// Kinds of pending device authorization.
const (
	KindDeviceCode = "device_code" // RFC 8628: the device polls with device_code, the person enters user_code
	KindPairing    = "pairing"     // pairing dialect: one pairing_code serves both
)

// States of a DeviceAuthorization. The only transitions are
// pending→approved, pending→denied and approved→redeemed; each is a guarded
// update in the store, so that concurrent callers cannot both win.
const (
	StatePending  = "pending"
	StateApproved = "approved"
	StateDenied   = "denied"
	StateRedeemed = "redeemed"
)

// DeviceAuthorization is a pending grant: a device asked for a code and waits
// for a person to approve it. The codes themselves are never stored; the
// store sees only their keyed hashes.
type DeviceAuthorization struct {
	ID             string
	Kind           string
	DeviceCodeHash []byte // what the device polls with
	UserCodeHash   []byte // what the person types
	ClientID       string
	Scopes         Scopes
	Mode           Mode
	HardwareID     string
	DeviceName     string
	RequestIP      string
	UserAgent      string
	CreatedAt      time.Time
	ExpiresAt      time.Time
	Interval       time.Duration // minimum polling interval
	State          string
	UserID         string // who approved or denied
	DeviceID       string // the Device recorded at approval
	DecidedAt      time.Time
	// DPoPJKT binds the code to a key (RFC 9449 §10, as dpop_jkt binds an
	// authorization code): the device authorization request carried a
	// proof by that key, and only a poll with a proof by the same key
	// redeems the code. "" for an unbound code.
	DPoPJKT string
}

// Expired reports whether the authorization can no longer be used at now.
func (a *DeviceAuthorization) Expired(now time.Time) bool { return !now.Before(a.ExpiresAt) }

// Approval is what a person decided on the consent page.
type Approval struct {
	UserID     string
	DeviceName string // overrides the name the device proposed, if set
	IP         string
}

// Retention after expiry. An expired grant is kept for a while so that a
// late poll is told expired_token (RFC 8628 §3.5) rather than invalid_grant;
// lists never show it. A rotated-out refresh token is kept so that its reuse
// is recognised and revokes its family (RFC 9700 §4.14.2).
const (
	ExpiredGrantRetention = time.Hour
	RotatedTokenRetention = 14 * 24 * time.Hour
)
