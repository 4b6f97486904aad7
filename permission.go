package pairgate

import (
	"slices"
	"strings"
)

// Permission is one thing an administrative caller may do. Roles grant
// permissions to people; API key scopes grant them to keys, and a key
// reaches only what both its scopes and its owner's current role allow.
type Permission string

const (
	PermCodesRead     Permission = "codes.read"
	PermCodesWrite    Permission = "codes.write"
	PermDevicesRead   Permission = "devices.read"
	PermDevicesWrite  Permission = "devices.write"
	PermPrintersRead  Permission = "printers.read"
	PermPrintersWrite Permission = "printers.write"
	PermClientsRead   Permission = "clients.read"
	PermClientsWrite  Permission = "clients.write"
	PermUsersRead     Permission = "users.read"
	PermAPIKeysRead   Permission = "apikeys.read"
	PermAuditRead     Permission = "audit.read"
	PermLockoutsRead  Permission = "lockouts.read"
	PermLockoutsWrite Permission = "lockouts.write"
	// PermUsersWrite (accounts, roles, passwords) is interactive only: a
	// person signed in with a password or an upstream provider, never an
	// API key, so that a leaked key cannot make itself an admin.
	PermUsersWrite Permission = "users.write"
	// PermJobsManage sees every held job of the Release Portal and
	// deletes or purges them. A person's own jobs need no permission.
	// There is no API key scope for it: documents are people's.
	PermJobsManage Permission = "jobs.manage"
)

// Roles of accounts (docs/design.md section 3).
const (
	RoleAdmin         = "admin"          // everything
	RoleDeviceManager = "device-manager" // codes, devices, printers
	RoleAuditor       = "auditor"        // read-only console and audit log
	RoleUser          = "user"           // approves their own device requests, uses the portals
)

// Roles lists the roles, most powerful first.
var Roles = []string{RoleAdmin, RoleDeviceManager, RoleAuditor, RoleUser}

var rolePermissions = map[string][]Permission{
	RoleAdmin: {PermCodesRead, PermCodesWrite, PermDevicesRead, PermDevicesWrite, PermPrintersRead, PermPrintersWrite,
		PermClientsRead, PermClientsWrite, PermUsersRead, PermUsersWrite, PermAPIKeysRead, PermAuditRead, PermLockoutsRead,
		PermLockoutsWrite, PermJobsManage},
	RoleDeviceManager: {PermCodesRead, PermCodesWrite, PermDevicesRead, PermDevicesWrite, PermPrintersRead, PermPrintersWrite},
	RoleAuditor: {PermCodesRead, PermDevicesRead, PermPrintersRead, PermClientsRead, PermUsersRead, PermAPIKeysRead,
		PermAuditRead, PermLockoutsRead},
	RoleUser: nil,
}

// ValidRole reports whether r is one of Roles.
func ValidRole(r string) bool { return slices.Contains(Roles, r) }

// RolePermissions returns what a role may do.
func RolePermissions(role string) Permissions { return newPermissions(rolePermissions[role]...) }

// API key scopes: what an admin chooses when making a key. A key made
// without scopes gets ScopeRead, the least privilege that is still useful.
const (
	ScopeRead          = "read"
	ScopeCodesWrite    = "codes:write"
	ScopeDevicesWrite  = "devices:write"
	ScopePrintersWrite = "printers:write"
	ScopeClientsWrite  = "clients:write"
	ScopeLockoutsWrite = "lockouts:write"
)

var scopePermissions = map[string][]Permission{
	ScopeRead: {PermCodesRead, PermDevicesRead, PermPrintersRead, PermClientsRead, PermUsersRead, PermAPIKeysRead,
		PermAuditRead, PermLockoutsRead},
	ScopeCodesWrite:    {PermCodesWrite},
	ScopeDevicesWrite:  {PermDevicesWrite},
	ScopePrintersWrite: {PermPrintersWrite},
	ScopeClientsWrite:  {PermClientsWrite},
	ScopeLockoutsWrite: {PermLockoutsWrite},
}

// APIKeyScopes lists the scopes a key may have.
var APIKeyScopes = []string{ScopeRead, ScopeCodesWrite, ScopeDevicesWrite, ScopePrintersWrite, ScopeClientsWrite, ScopeLockoutsWrite}

// ParseAPIKeyScopes checks a key's scopes and returns them sorted; none
// means ScopeRead.
func ParseAPIKeyScopes(scopes []string) (Scopes, error) {
	if len(scopes) == 0 {
		return Scopes{ScopeRead}, nil
	}
	for _, s := range scopes {
		if _, ok := scopePermissions[s]; !ok {
			return nil, Errorf(EINVALID, "scope '%s' is not an API key scope; use any of %s", Printable(s, 40), strings.Join(APIKeyScopes, ", "))
		}
	}
	return ParseScopes(strings.Join(scopes, " ")), nil
}

// APIKeyPermissions is what a key with these scopes, owned by an account
// with this role, may do: the intersection, never users.write.
func APIKeyPermissions(scopes Scopes, ownerRole string) Permissions {
	role := RolePermissions(ownerRole)
	var ps []Permission
	for _, s := range scopes {
		for _, p := range scopePermissions[s] {
			if role.Has(p) && p != PermUsersWrite {
				ps = append(ps, p)
			}
		}
	}
	return newPermissions(ps...)
}

// Permissions is a set of permissions.
type Permissions struct{ m map[Permission]bool }

func newPermissions(ps ...Permission) Permissions {
	m := make(map[Permission]bool, len(ps))
	for _, p := range ps {
		m[p] = true
	}
	return Permissions{m: m}
}

// AllPermissions is what the host's own command line may do: it holds the
// store, so nothing could stop it anyway.
func AllPermissions() Permissions { return RolePermissions(RoleAdmin) }

// Has reports whether p is in the set.
func (ps Permissions) Has(p Permission) bool { return ps.m[p] }

// Any reports whether the set holds any permission at all: whether the
// caller may use the admin side at all.
func (ps Permissions) Any() bool { return len(ps.m) > 0 }

// Printable returns s cut to n bytes with everything but printable ASCII
// other than '"' and '\' replaced by '?', so that it can be quoted in an
// error message of any format (RFC 6749 §5.2 allows nothing else in an
// error_description).
func Printable(s string, n int) string {
	b := make([]byte, 0, min(len(s), n))
	for i := 0; i < len(s) && len(b) < n; i++ {
		c := s[i]
		if c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			c = '?'
		}
		b = append(b, c)
	}
	return string(b)
}

// ValidText checks a short text a client or an admin supplies (a device
// name, a code's label): at most max bytes, no control characters, and
// no U+FFFD, which only invalid UTF-8 decodes to on its way in. name says
// which field, for the error.
func ValidText(name, v string, max int) error {
	if len(v) > max {
		return Errorf(EINVALID, "%s is longer than %d bytes", name, max)
	}
	for _, r := range v {
		if r < 0x20 || r == 0x7f || r == '\uFFFD' {
			return Errorf(EINVALID, "%s contains control or invalid characters", name)
		}
	}
	return nil
}
