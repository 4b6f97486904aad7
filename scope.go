package pairgate

import (
	"slices"
	"strings"
)

// Scopes is a set of OAuth scopes, kept sorted and free of duplicates so that
// two equal sets compare equal and serialise identically.
type Scopes []string

// ParseScopes splits a space-delimited scope parameter (RFC 6749 §3.3).
func ParseScopes(s string) Scopes {
	f := strings.Fields(s)
	slices.Sort(f)
	return Scopes(slices.Compact(f))
}

// String joins the scopes with single spaces, the wire format.
func (s Scopes) String() string { return strings.Join(s, " ") }

// Contains reports whether scope is in s.
func (s Scopes) Contains(scope string) bool {
	_, ok := slices.BinarySearch(s, scope)
	return ok
}

// SubsetOf reports whether every scope of s is in other.
func (s Scopes) SubsetOf(other Scopes) bool {
	for _, x := range s {
		if !other.Contains(x) {
			return false
		}
	}
	return true
}

// ValidScopeToken reports whether s is a scope-token of RFC 6749 §3.3:
// printable ASCII except space, double quote and backslash.
func ValidScopeToken(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < 0x21 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

// ScopeDescriptions are the plain words consent pages show for the scopes a
// print platform knows. Unknown scopes are shown as they are.
var ScopeDescriptions = map[string]string{
	"printing":    "Send print jobs and see their status",
	"deployments": "Receive printer deployments (drivers and queues) for this device",
	"portal":      "Open the Self-service Portal without a password",
	"offline":     "Stay signed in while offline",
}
