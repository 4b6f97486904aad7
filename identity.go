package pairgate

import "time"

// UserIdentity links an account to a person at an upstream OpenID Connect
// provider by the provider's issuer and the person's subject there: the
// only pair that identifies a person at a provider for good (OpenID
// Connect Core §5.7). An account is never found or linked by e-mail
// address or username, which a provider may let people choose or change.
type UserIdentity struct {
	Issuer       string
	Subject      string
	UserID       string
	Provider     string // the configured provider's id, for people reading
	CreatedAt    time.Time
	LastSignInAt time.Time
}

// UpstreamState is a sign-in at an upstream provider that has been
// started and not yet finished: what the callback needs to finish it.
// The state parameter and the cookie that binds the sign-in to the
// browser that started it are stored as keyed hashes only; the PKCE
// verifier and the nonce are derived from the cookie and never stored.
type UpstreamState struct {
	StateHash   []byte
	Provider    string
	BindingHash []byte
	Next        string // where the browser goes afterwards: a local path, or ""
	CreatedAt   time.Time
	ExpiresAt   time.Time
}

// UpstreamStateTTL is how long a person has at their provider before a
// sign-in they started can no longer finish.
const UpstreamStateTTL = 10 * time.Minute
