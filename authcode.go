package pairgate

import "time"

// CodeTTL is how long an admin-issued authorization code lives: one of the
// choices the console offers, and nothing else.
type CodeTTL string

const (
	TTL30Minutes CodeTTL = "30m"
	TTL60Minutes CodeTTL = "60m"
	TTL6Hours    CodeTTL = "6h"
	TTL24Hours   CodeTTL = "24h"
	TTL48Hours   CodeTTL = "48h"
	TTLNever     CodeTTL = "never"
)

// CodeTTLs lists the choices in the order the console shows them.
var CodeTTLs = []CodeTTL{TTL30Minutes, TTL60Minutes, TTL6Hours, TTL24Hours, TTL48Hours, TTLNever}

var codeTTLs = map[CodeTTL]struct {
	d     time.Duration
	label string
}{
	TTL30Minutes: {30 * time.Minute, "30 minutes"},
	TTL60Minutes: {60 * time.Minute, "60 minutes"},
	TTL6Hours:    {6 * time.Hour, "6 hours"},
	TTL24Hours:   {24 * time.Hour, "24 hours"},
	TTL48Hours:   {48 * time.Hour, "48 hours"},
	TTLNever:     {0, "No Expiration"},
}

// ParseCodeTTL accepts exactly one of the CodeTTLs. Nothing is guessed
// ("1h", "30", "NEVER" are refused) so that an admin script that asks for
// an unsupported lifetime learns it, instead of getting some other one.
func ParseCodeTTL(s string) (CodeTTL, error) {
	t := CodeTTL(s)
	if !t.Valid() {
		return "", Errorf(EINVALID, "ttl must be one of 30m, 60m, 6h, 24h, 48h or never")
	}
	return t, nil
}

// Valid reports whether t is one of the CodeTTLs.
func (t CodeTTL) Valid() bool {
	_, ok := codeTTLs[t]
	return ok
}

// Duration is the code's lifetime; 0 for TTLNever (and for invalid values).
func (t CodeTTL) Duration() time.Duration { return codeTTLs[t].d }

// Label is how the console names the choice: "30 minutes", "No Expiration".
func (t CodeTTL) Label() string { return codeTTLs[t].label }

// ExpiresAt is when a code created at created stops working; the zero time
// for a code that never expires.
func (t CodeTTL) ExpiresAt(created time.Time) time.Time {
	d := t.Duration()
	if d == 0 {
		return time.Time{}
	}
	return created.Add(d)
}

// AuthorizationCode is an admin-issued code that any number of devices may
// redeem until it expires or is deleted. The console shows it, so it is
// stored sealed (encrypted, bound to its ID) rather than only hashed; it is
// looked up by the keyed hash of its canonical form.
type AuthorizationCode struct {
	ID         string
	CodeHash   []byte
	SealedCode []byte
	TTL        CodeTTL
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: never expires
	CreatedBy  string    // the user ID of the admin who generated it
	Uses       int       // devices authorized with it so far
	LastUsedAt time.Time // zero until first used
	// Label says what the code is for ("Lab PCs, 2nd floor").
	Label string
	// EphemeralIdle, when positive, makes the devices the code brings in
	// ephemeral: removed as soon as they sign out, or when not seen for
	// this long (kiosks, classrooms, CI runners).
	EphemeralIdle time.Duration
}

// Bounds of a code's ephemeral idle time: minutes to hours.
const (
	MinEphemeralIdle = 5 * time.Minute
	MaxEphemeralIdle = 7 * 24 * time.Hour
)

// Expired reports whether the code can no longer be redeemed at now.
func (c *AuthorizationCode) Expired(now time.Time) bool {
	return !c.ExpiresAt.IsZero() && !now.Before(c.ExpiresAt)
}
