package pairgate

import "time"

// Roles of local accounts (DESIGN.md section 3). A role is a string in
// the store and on the wire; what each may do is decided above the store.
// The store keeps one rule about roles: at least one admin remains.
const (
	RoleAdmin         = "admin"          // everything
	RoleDeviceManager = "device-manager" // codes, devices, printers
	RoleAuditor       = "auditor"        // read-only
	RoleUser          = "user"           // approve pairings, use the portal
)

// User is a local account. PasswordHash is an argon2id PHC string.
type User struct {
	ID                string
	Username          string
	PasswordHash      string
	Role              string
	CreatedAt         time.Time
	PasswordChangedAt time.Time
}

// Session is a browser session. It may belong to a signed-in person, to a
// browser that was authorized as a device, or to both. Only the keyed hash
// of its cookie value is stored.
type Session struct {
	IDHash     []byte
	UserID     string
	DeviceID   string
	CreatedAt  time.Time
	LastSeenAt time.Time
	ExpiresAt  time.Time // absolute; the idle limit is checked against LastSeenAt
	IP         string
	UserAgent  string
}

// NormalizeUsername lower-cases a username and checks that it is 1 to 64
// characters of a-z, 0-9, '.', '_', '-' and '@'. Usernames are ASCII so
// that look-alike names cannot be registered and both stores compare them
// the same way.
func NormalizeUsername(s string) (string, bool) {
	if len(s) == 0 || len(s) > 64 {
		return "", false
	}
	b := []byte(s)
	for i, c := range b {
		switch {
		case c >= 'A' && c <= 'Z':
			b[i] = c + 'a' - 'A'
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9', c == '.', c == '_', c == '-', c == '@':
		default:
			return "", false
		}
	}
	return string(b), true
}
