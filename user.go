package pairgate

import "time"

// Roles of local accounts.
const (
	RoleAdmin = "admin" // everything
	RoleUser  = "user"  // approve pairings, use the portal
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
