package pairgate

import "time"

// APIKey lets admin tooling call the admin API as the account that made it,
// within the key's scopes. The key itself (pgk_…) is
// shown once when it is made; the store keeps its keyed hash.
type APIKey struct {
	ID         string
	Name       string
	KeyHash    []byte
	Scopes     Scopes // what the key may be used for (ScopeRead, ScopeCodesWrite, …)
	CreatedBy  string // user ID of the account that made it, whose role bounds what the key reaches
	CreatedAt  time.Time
	LastUsedAt time.Time // zero until first used

	// Read with the key: its owner's current role and name ("" when the
	// account is gone).
	OwnerRole string
	OwnerName string
}
