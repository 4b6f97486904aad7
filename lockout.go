package pairgate

import (
	"encoding/hex"
	"time"
)

// RateLimitCounter is one counter of a guessing limit (docs/design.md
// 2.6), as HitRateLimit counts against it.
type RateLimitCounter struct {
	// Key is the keyed hash of the rule and the subject: what identifies
	// the counter. Never attacker input.
	Key    []byte
	Limit  int
	Window time.Duration
	// Rule names the rule ("signin-account"), and Subject what it counts
	// ("203.0.113.7", "alice"), for an administrator who lists the
	// lock-outs. Subject is "" when what is counted is a secret (a code
	// someone typed, a browser's token): it is never stored.
	Rule    string
	Subject string
}

// Lockout is a counter that refuses its subject's next attempt: its hits
// in the running window reached its limit.
type Lockout struct {
	Key     []byte
	Rule    string
	Subject string // "" when what it counts is a secret
	Hits    int
	Limit   int
	Until   time.Time // when the window ends and the lock-out lifts by itself
}

// ID names a lock-out in the admin API and the console: its key in hex.
func (l *Lockout) ID() string { return hex.EncodeToString(l.Key) }

// ParseLockoutID is the inverse of Lockout.ID. EINVALID for anything that
// is not one.
func ParseLockoutID(id string) ([]byte, error) {
	k, err := hex.DecodeString(id)
	if err != nil || len(k) == 0 || len(k) > 64 {
		return nil, Errorf(EINVALID, "'%s' is not a lock-out id", Printable(id, 80))
	}
	return k, nil
}
