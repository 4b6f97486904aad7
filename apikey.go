package pairgate

import "time"

// APIKey lets admin tooling call the admin API. The key itself (pgk_…) is
// shown once when it is made; the store keeps its keyed hash.
type APIKey struct {
	ID         string
	Name       string
	KeyHash    []byte
	CreatedBy  string // user ID of the admin who made it
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used
}
