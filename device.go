package pairgate

import (
	"encoding/base64"
	"slices"
	"strconv"
	"strings"
	"time"
)

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

// States of a device (docs/design.md section 3). Only an active device's
// access tokens work; the others must authorize again.
const (
	DeviceActive    = "active"     // holds a live authorization
	DeviceSignedOut = "signed_out" // its refresh token was revoked (RFC 7009: the device logged out)
	DeviceRevoked   = "revoked"    // a rotated-out refresh token was presented (reuse detection)
	DeviceExpired   = "expired"    // its refresh token went unused until it expired
)

// InactivityPolicy says when devices that are no longer seen leave the
// inventory: signed out (DeviceExpired) when not seen for SignOutAfter,
// removed when not seen for RemoveAfter more. Zero: never. A client may
// override either (Client.InactiveSignOutDays, InactiveRemoveDays).
type InactivityPolicy struct {
	SignOutAfter time.Duration
	RemoveAfter  time.Duration
}

// Day is the unit in which inactivity is counted.
const Day = 24 * time.Hour

// ValidDeviceState reports whether s is one of the Device* states.
func ValidDeviceState(s string) bool {
	switch s {
	case DeviceActive, DeviceSignedOut, DeviceRevoked, DeviceExpired:
		return true
	}
	return false
}

// DeviceSeen is a request of a device: when it came, and from where.
type DeviceSeen struct {
	ID string
	IP string
	At time.Time
}

// Device is one entry of the inventory. Every authorization creates or
// updates exactly one Device (docs/design.md 2.1); deleting it revokes everything
// that was issued to it (2.2).
type Device struct {
	ID       string
	ClientID string
	Name     string
	// HardwareID is what the device says it is (a serial number, a
	// machine id): a claim, not a proof. It never makes two
	// authorizations one device (docs/design.md 2.1); devices of one client
	// that claim the same one are marked (SameHardwareAs).
	HardwareID string
	// DPoPJKT is the RFC 7638 SHA-256 thumbprint (base64url) of the key
	// the device holds (DPoP, RFC 9449), "" for a Bearer device. Only a
	// request that proves possession of this key updates the device.
	DPoPJKT      string
	Mode         Mode
	AuthMethod   string // one of the AuthBy* constants
	AuthCodeID   string // the authorization code it redeemed, if any
	UserID       string // the person who approved it, if any
	Scopes       Scopes
	AuthorizedAt time.Time // the latest authorization
	LastSeenAt   time.Time
	LastIP       string
	// AuthorizedIP is where the latest authorization came from.
	AuthorizedIP string
	// EphemeralIdle, when positive, makes the device ephemeral (it came
	// in with an ephemeral code): removed as soon as it signs out, or when
	// not seen for this long.
	EphemeralIdle time.Duration

	State          string    // one of the Device* states
	StateChangedAt time.Time // when it entered State
	// FamilyID is the refresh family of the device's latest authorization;
	// its access tokens carry it (the sid claim), and only those whose
	// sid is the device's FamilyID work: a superseded authorization's
	// tokens stop at once. "" for a device that never got a refresh token.
	FamilyID string

	// SameHardwareAs is, on reading, the ID of another device of the same
	// client that claims the same hardware ID (the oldest, by ID), "" when
	// there is none: one of them may be stale, or an impostor, for an
	// administrator to remove (docs/design.md 2.1).
	SameHardwareAs string
}

// DeviceFilter selects a page of the inventory.
type DeviceFilter struct {
	Search   string // matches name, hardware id, client or id, case-insensitively
	ClientID string
	State    string // one of the Device* states; "" for any
	// AuthCodeID selects the devices whose latest authorization came
	// from this authorization code.
	AuthCodeID string
	// AuthMethod selects the devices authorized this way (an AuthBy*
	// constant).
	AuthMethod string
	// Sort orders the page by one of DeviceSorts ("" or SortByID: by ID),
	// with ties broken by ID; Desc reverses both.
	Sort string
	Desc bool
	// After is the cursor: the DeviceCursor of the last device of the
	// previous page in the same order (for the ID order, its ID).
	After string
	Limit int
}

// Orders of the inventory (DeviceFilter.Sort).
const (
	SortByID         = "id"
	SortByName       = "name"
	SortByState      = "state"
	SortByClient     = "client"
	SortByMethod     = "method" // how it was authorized
	SortByIP         = "ip"     // last seen from
	SortByAuthorized = "authorized"
	SortByLastSeen   = "last_seen"
)

// DeviceSorts lists the orders of the inventory.
var DeviceSorts = []string{SortByName, SortByState, SortByClient, SortByMethod, SortByIP, SortByAuthorized, SortByLastSeen, SortByID}

// ValidDeviceSort reports whether s is an order of the inventory ("" is
// the ID order).
func ValidDeviceSort(s string) bool {
	return s == "" || slices.Contains(DeviceSorts, s)
}

// DeviceSortKey is d's value in an order, as a cursor carries it: text
// as it is, a time as Unix nanoseconds (0 for none). Stores compare it
// with the column the order reads.
func DeviceSortKey(d *Device, sort string) string {
	unix := func(t time.Time) string {
		if t.IsZero() {
			return "0"
		}
		return strconv.FormatInt(t.UnixNano(), 10)
	}
	switch sort {
	case SortByName:
		return d.Name
	case SortByState:
		return d.State
	case SortByClient:
		return d.ClientID
	case SortByMethod:
		return d.AuthMethod
	case SortByIP:
		return d.LastIP
	case SortByAuthorized:
		return unix(d.AuthorizedAt)
	case SortByLastSeen:
		return unix(d.LastSeenAt)
	}
	return d.ID
}

// DeviceCursor is the cursor (DeviceFilter.After) of the page that
// follows d in an order: its ID in the ID order, else its sort key and ID
// in URL-safe base64, so that the next page starts after d even when
// devices share d's value, and even when d was deleted or seen again
// meanwhile.
func DeviceCursor(d *Device, sort string) string {
	if sort == "" || sort == SortByID {
		return d.ID
	}
	return base64.RawURLEncoding.EncodeToString([]byte(DeviceSortKey(d, sort) + "\x00" + d.ID))
}

// ParseDeviceCursor splits a cursor of an order into the sort key and the
// ID. EINVALID for one that is not a cursor of that order.
func ParseDeviceCursor(sort, cursor string) (key, id string, err error) {
	if sort == "" || sort == SortByID {
		return cursor, cursor, nil
	}
	b, err := base64.RawURLEncoding.DecodeString(cursor)
	key, id, ok := strings.Cut(string(b), "\x00")
	if err != nil || !ok || id == "" {
		return "", "", Errorf(EINVALID, "after: not a cursor of the %s order (use the next of the previous page)", sort)
	}
	if sort == SortByAuthorized || sort == SortByLastSeen {
		if _, err := strconv.ParseInt(key, 10, 64); err != nil {
			return "", "", Errorf(EINVALID, "after: not a cursor of the %s order (use the next of the previous page)", sort)
		}
	}
	return key, id, nil
}
