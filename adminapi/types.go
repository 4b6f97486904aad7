package adminapi

import "time"

// MaxPageSize is the largest page any list answers with.
const MaxPageSize = 1000

// --- Authorization codes ---

// NewCode is POST /api/v1/authorization-codes.
type NewCode struct {
	// TTL is one of "30m", "60m", "6h", "24h", "48h" or "never".
	TTL string `json:"ttl"`
	// Label says what the code is for ("Lab PCs, 2nd floor").
	Label string `json:"label,omitempty"`
	// EphemeralIdleSeconds, when set, makes the devices the code brings in
	// ephemeral: removed as soon as they sign out, or when not seen for
	// this long (300 to 604800: five minutes to a week).
	EphemeralIdleSeconds int64 `json:"ephemeral_idle_seconds,omitempty"`
}

// Code is an admin-issued authorization code.
type Code struct {
	ID         string     `json:"id"`
	Code       string     `json:"code"`
	TTL        string     `json:"ttl"`
	TTLLabel   string     `json:"ttl_label"`
	CreatedAt  time.Time  `json:"created_at"`
	ExpiresAt  *time.Time `json:"expires_at"`
	CreatedBy  string     `json:"created_by,omitempty"`
	Uses       int        `json:"uses"`
	LastUsedAt *time.Time `json:"last_used_at"`
	Label      string     `json:"label"`
	// EphemeralIdleSeconds is 0 for a code whose devices are not
	// ephemeral.
	EphemeralIdleSeconds int64 `json:"ephemeral_idle_seconds"`
}

// CodeList is GET /api/v1/authorization-codes: the codes that have not
// expired, newest first.
type CodeList struct {
	Codes []Code `json:"authorization_codes"`
}

// CodeDevices is GET /api/v1/authorization-codes/{id}/devices: what
// revoking everything a code brought in would touch. It answers for a
// deleted code too, whose devices keep its id.
type CodeDevices struct {
	CodeID string `json:"code_id"`
	// Active counts the active devices whose current authorization came
	// from the code (not those re-authorized since by another way).
	Active int `json:"active"`
	// Networks are the networks (IPv4 /24, IPv6 /64) the code's devices
	// were authorized from.
	Networks []string `json:"networks"`
	// Suspicious are the active devices seen in the last hour from a
	// network none of the code's devices was authorized from.
	Suspicious []Device `json:"suspicious"`
	// Summary says it in a sentence, for a confirmation prompt.
	Summary string `json:"summary"`
}

// RevokeCodeDevices is POST /api/v1/authorization-codes/{id}/revoke-devices.
type RevokeCodeDevices struct {
	// KeepCode leaves the code redeemable; by default it is deleted in
	// the same transaction, since a code whose devices are revoked has
	// usually leaked.
	KeepCode bool `json:"keep_code,omitempty"`
}

// RevokedCodeDevices answers RevokeCodeDevices.
type RevokedCodeDevices struct {
	SignedOut   int  `json:"signed_out"`
	CodeDeleted bool `json:"code_deleted"`
}

// --- Devices ---

// Device is one entry of the inventory.
type Device struct {
	ID                  string     `json:"id"`
	Name                string     `json:"name"`
	ClientID            string     `json:"client_id"`
	Mode                string     `json:"mode"`
	HardwareID          string     `json:"hardware_id"`
	State               string     `json:"state"`
	StateChangedAt      *time.Time `json:"state_changed_at"`
	AuthorizedBy        string     `json:"authorized_by"`
	AuthorizationCodeID string     `json:"authorization_code_id,omitempty"`
	ApprovedBy          string     `json:"approved_by,omitempty"`
	Scopes              []string   `json:"scopes"`
	AuthorizedAt        time.Time  `json:"authorized_at"`
	LastSeenAt          *time.Time `json:"last_seen_at"`
	LastIP              string     `json:"last_ip"`
	// AuthorizedIP is where the device's current authorization came from.
	AuthorizedIP string `json:"authorized_ip,omitempty"`
	// EphemeralIdleSeconds, for a device an ephemeral code brought in,
	// is how long it may stay unseen before it is removed; it is removed
	// at its sign-out too.
	EphemeralIdleSeconds int64 `json:"ephemeral_idle_seconds,omitempty"`
	// DPoPJKT is the thumbprint of the key the device proves its
	// identity with (DPoP, RFC 9449); empty for a Bearer device.
	DPoPJKT string `json:"dpop_jkt,omitempty"`
	// SameHardwareAs names another device of the same client that claims
	// the same hardware id: one of them may be stale, or an impostor, for
	// an administrator to delete. A hardware id is a claim, never a
	// reason to merge devices (docs/design.md 2.1).
	SameHardwareAs string `json:"same_hardware_as,omitempty"`
}

// DeviceQuery selects a page of GET /api/v1/devices.
type DeviceQuery struct {
	Search   string // q: name, hardware id, client, id or last IP contains it
	ClientID string
	State    string // "active", "signed_out", "revoked", "expired"; "" for any
	// Sort orders the page by one of DeviceSorts ("" by ID), ties broken
	// by ID; Desc reverses it (order=desc).
	Sort  string
	Desc  bool
	After string // the Next of the previous page
	Limit int    // 1 to MaxPageSize; 0 for the server's default
}

// The orders of GET /api/v1/devices?sort=: name, state, client, method
// (how it was authorized), ip (last seen from), authorized (when), last_seen, id.
var DeviceSorts = []string{"name", "state", "client", "method", "ip", "authorized", "last_seen", "id"}

// DeviceList is a page of the inventory. Next, when set, is the cursor of
// the following page; it is empty on the last.
type DeviceList struct {
	Devices []Device `json:"devices"`
	Next    string   `json:"next,omitempty"`
}

// --- Printers ---

// Models of a printer: ModelEverywhere for an IPP Everywhere (driverless)
// printer, or a make-and-model ("HP LaserJet 4250") that names a driver.
const ModelEverywhere = "everywhere"

// PrinterOptions are the defaults a printer's queue is set up with.
type PrinterOptions struct {
	Duplex bool `json:"duplex"`
	Color  bool `json:"color"`
	// PaperSize is "A4", "Letter", "Legal", "A3", "A5", "Tabloid", or ""
	// for the printer's own default.
	PaperSize string `json:"paper_size"`
}

// NewPrinter is POST /api/v1/printers. URI is ipp://, ipps://, socket://
// or lpd://; a malformed or unsupported one is a 400 whose message starts
// with "uri:". Model defaults to ModelEverywhere.
type NewPrinter struct {
	Name        string         `json:"name"`
	URI         string         `json:"uri"`
	Location    string         `json:"location,omitempty"`
	Description string         `json:"description,omitempty"`
	Model       string         `json:"model,omitempty"`
	Options     PrinterOptions `json:"options"`
}

// PrinterPatch is PATCH /api/v1/printers/{id}: the fields it holds change,
// the others stay.
type PrinterPatch struct {
	Name        *string              `json:"name,omitempty"`
	URI         *string              `json:"uri,omitempty"`
	Location    *string              `json:"location,omitempty"`
	Description *string              `json:"description,omitempty"`
	Model       *string              `json:"model,omitempty"`
	Options     *PrinterOptionsPatch `json:"options,omitempty"`
}

// PrinterOptionsPatch changes the options it holds.
type PrinterOptionsPatch struct {
	Duplex    *bool   `json:"duplex,omitempty"`
	Color     *bool   `json:"color,omitempty"`
	PaperSize *string `json:"paper_size,omitempty"`
}

// Printer is a printer that can be deployed to devices.
type Printer struct {
	ID          string         `json:"id"`
	Name        string         `json:"name"`
	URI         string         `json:"uri"`
	Location    string         `json:"location"`
	Description string         `json:"description"`
	Model       string         `json:"model"`
	Driverless  bool           `json:"driverless"`
	Options     PrinterOptions `json:"options"`
	CreatedAt   time.Time      `json:"created_at"`
	UpdatedAt   time.Time      `json:"updated_at"`
	// Status is the printer's last check on the server that answers,
	// when there was one since its URI last changed.
	Status *PrinterStatus `json:"status,omitempty"`
}

// PrinterStatus is what a printer said when it was asked over IPP
// (POST /api/v1/printers/{id}/check), or why it could not be asked.
type PrinterStatus struct {
	Reachable    bool      `json:"reachable"`
	Summary      string    `json:"summary"` // "reachable: MODEL, idle" or "not reachable: why"
	MakeAndModel string    `json:"make_and_model,omitempty"`
	State        string    `json:"state,omitempty"` // idle, processing, stopped
	Reasons      []string  `json:"state_reasons,omitempty"`
	Error        string    `json:"error,omitempty"`
	CheckedAt    time.Time `json:"checked_at"`
}

// PrinterList is GET /api/v1/printers?q=: by name.
type PrinterList struct {
	Printers []Printer `json:"printers"`
}

// DeploymentTarget says which devices a deployment gives its printers to:
// exactly one field is set.
type DeploymentTarget struct {
	All bool `json:"all,omitempty"`
	// AuthorizationCode is a code's id: every device installed with it.
	AuthorizationCode string `json:"authorization_code,omitempty"`
	// NamePattern is a glob (*, ?, [a-z]) matched against device names,
	// ignoring case.
	NamePattern string   `json:"name_pattern,omitempty"`
	Devices     []string `json:"devices,omitempty"`
}

// NewDeployment is POST /api/v1/deployments.
type NewDeployment struct {
	Printers []string         `json:"printers"`
	Default  string           `json:"default,omitempty"`
	Target   DeploymentTarget `json:"target"`
}

// Deployment gives printers to the devices its target selects.
type Deployment struct {
	ID        string           `json:"id"`
	Printers  []string         `json:"printers"`
	Default   string           `json:"default,omitempty"`
	Target    DeploymentTarget `json:"target"`
	CreatedBy string           `json:"created_by,omitempty"`
	CreatedAt time.Time        `json:"created_at"`
}

// DeploymentList is GET /api/v1/deployments: newest first.
type DeploymentList struct {
	Deployments []Deployment `json:"deployments"`
}

// --- Clients ---

// NewClient is POST /api/v1/clients.
type NewClient struct {
	ClientID   string   `json:"client_id"`
	Name       string   `json:"name"`
	Public     bool     `json:"public"`
	GrantTypes []string `json:"grant_types"`
	Scopes     []string `json:"scopes"`
	// The client's own inactivity policy, in days; 0 keeps the server's.
	InactiveSignOutDays int `json:"inactive_sign_out_days,omitempty"`
	InactiveRemoveDays  int `json:"inactive_remove_days,omitempty"`
	// RequireDPoP refuses the client's requests that carry no DPoP proof
	// (RFC 9449) at the device authorization, pairing and token endpoints.
	RequireDPoP bool `json:"require_dpop,omitempty"`
	DeviceFlowPolicy
}

// DeviceFlowPolicy is a client's defences against cross-device phishing
// (draft-ietf-oauth-cross-device-security §6), part of NewClient and
// OAuthClient, and PUT /api/v1/clients/{id}/device-flow.
type DeviceFlowPolicy struct {
	// DeviceFlowDisabled turns the device flow and pairing off for the
	// client.
	DeviceFlowDisabled bool `json:"device_flow_disabled"`
	// DeviceFlowNetworks are the addresses or CIDR prefixes from which a
	// device authorization may start; empty: anywhere.
	DeviceFlowNetworks []string `json:"device_flow_networks"`
	// ApprovalNetworkPrefix refuses an approval from an IPv4 address
	// outside the requester's network of this many bits (24: the same
	// /24); ApprovalNetworkPrefixV6 the same for IPv6 (64). 0: no check;
	// one of them alone sets the other to its default.
	ApprovalNetworkPrefix   int `json:"approval_network_prefix"`
	ApprovalNetworkPrefixV6 int `json:"approval_network_prefix_v6"`
}

// OAuthClient is an OAuth client registered with pairgate. ClientSecret is
// set only in the answer that created a confidential client.
type OAuthClient struct {
	ClientID     string    `json:"client_id"`
	Name         string    `json:"name"`
	Public       bool      `json:"public"`
	GrantTypes   []string  `json:"grant_types"`
	Scopes       []string  `json:"scopes"`
	RequireDPoP  bool      `json:"require_dpop"`
	CreatedAt    time.Time `json:"created_at"`
	ClientSecret string    `json:"client_secret,omitempty"`
	// The client's own inactivity policy, in days; 0: the server's.
	InactiveSignOutDays int `json:"inactive_sign_out_days"`
	InactiveRemoveDays  int `json:"inactive_remove_days"`
	DeviceFlowPolicy
}

// ClientPatch is PATCH /api/v1/clients/{id}: the fields it holds
// change, the others stay. A field that is not valid is a 400 whose
// message starts with its name ("grant_types: …"), and nothing changes.
type ClientPatch struct {
	Name       *string   `json:"name,omitempty"`
	GrantTypes *[]string `json:"grant_types,omitempty"`
	Scopes     *[]string `json:"scopes,omitempty"`
}

// ClientList is GET /api/v1/clients.
type ClientList struct {
	Clients []OAuthClient `json:"clients"`
}

// --- API keys ---

// API key scopes: what a key may be used for. A key reaches what both its
// scopes and its owner's current role allow; none of them lets a key make
// keys or manage accounts.
const (
	ScopeRead          = "read"
	ScopeCodesWrite    = "codes:write"
	ScopeDevicesWrite  = "devices:write"
	ScopePrintersWrite = "printers:write"
	ScopeClientsWrite  = "clients:write"
	ScopeLockoutsWrite = "lockouts:write"
)

// NewAPIKey is POST /api/v1/api-keys. Without scopes a key gets "read".
type NewAPIKey struct {
	Name   string   `json:"name"`
	Scopes []string `json:"scopes,omitempty"`
}

// APIKey is an admin API key. Key is set only in the answer that created
// it.
type APIKey struct {
	ID            string     `json:"id"`
	Name          string     `json:"name"`
	Scopes        []string   `json:"scopes"`
	Key           string     `json:"key,omitempty"`
	CreatedBy     string     `json:"created_by"`
	CreatedByName string     `json:"created_by_name,omitempty"`
	CreatedAt     time.Time  `json:"created_at"`
	LastUsedAt    *time.Time `json:"last_used_at"`
}

// APIKeyList is GET /api/v1/api-keys.
type APIKeyList struct {
	Keys []APIKey `json:"api_keys"`
}

// --- Accounts ---

// Roles of accounts.
const (
	RoleAdmin         = "admin"
	RoleDeviceManager = "device-manager"
	RoleAuditor       = "auditor"
	RoleUser          = "user"
)

// NewUser is POST /api/v1/users. Without a password, one is generated
// and returned (once) in User.Password.
type NewUser struct {
	Username string `json:"username"`
	Role     string `json:"role"`
	Password string `json:"password,omitempty"`
}

// User is an account. Password is set only when the server generated it.
type User struct {
	ID                string    `json:"id"`
	Username          string    `json:"username"`
	Role              string    `json:"role"`
	CreatedAt         time.Time `json:"created_at"`
	PasswordChangedAt time.Time `json:"password_changed_at"`
	Password          string    `json:"password,omitempty"`
}

// UserList is GET /api/v1/users.
type UserList struct {
	Users []User `json:"users"`
}

// NewPassword is PUT /api/v1/users/{id}/password. Without a password, one
// is generated and returned (once).
type NewPassword struct {
	Password string `json:"password,omitempty"`
	// CurrentPassword is required when the account is the caller's own:
	// a borrowed session must not be enough to take the account over.
	CurrentPassword string `json:"current_password,omitempty"`
}

// NewRole is PUT /api/v1/users/{id}/role. The account's sessions end.
type NewRole struct {
	Role string `json:"role"`
}

// PasswordSet is the answer to NewPassword.
type PasswordSet struct {
	ID       string `json:"id"`
	Password string `json:"password,omitempty"`
}

// --- Audit log ---

// AuditEvent is one entry of the audit log.
type AuditEvent struct {
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Action    string            `json:"action"`
	ActorType string            `json:"actor_type"`
	ActorID   string            `json:"actor_id,omitempty"`
	ActorName string            `json:"actor_name,omitempty"`
	Target    string            `json:"target,omitempty"`
	IP        string            `json:"ip,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
}

// AuditQuery selects a page of GET /api/v1/audit-events, newest first.
type AuditQuery struct {
	Action string // an action, or a prefix ending in "." ("signin.")
	Actor  string
	Target string
	Since  time.Time
	Until  time.Time
	Before string // the Next of the previous page
	Limit  int
}

// AuditList is a page of the audit log.
type AuditList struct {
	Events []AuditEvent `json:"audit_events"`
	Next   string       `json:"next,omitempty"`
}

// --- Lock-outs ---

// Lockout is POST /api/v1/lockouts/clear: an address, an account, or both.
type Lockout struct {
	IP       string `json:"ip,omitempty"`
	Username string `json:"username,omitempty"`
}

// LockoutCleared names the limits that were lifted.
type LockoutCleared struct {
	Cleared []string `json:"cleared"`
}

// LockoutEntry is one guessing limit that refuses its subject's next
// attempt (GET /api/v1/lockouts): POST /api/v1/lockouts/{id}/lift lifts it.
type LockoutEntry struct {
	ID string `json:"id"`
	// Rule is what is counted: "signin-ip" and "signin-account" (password
	// sign-in from an address, at an account), "code-ip" and "code" (user
	// and pairing codes typed from an address, or at one code),
	// "authcode-failures-ip" (wrong authorization codes from an address),
	// "upstream-start-ip", "signin-known" (a browser that signed in before).
	Rule string `json:"rule"`
	// Subject is the address (an IPv6 one as its /64) or the account;
	// empty when it is a secret, such as a code.
	Subject string    `json:"subject"`
	Hits    int       `json:"hits"`
	Limit   int       `json:"limit"`
	Until   time.Time `json:"until"`
}

// LockoutList is GET /api/v1/lockouts, the latest to lift first.
type LockoutList struct {
	Lockouts []LockoutEntry `json:"lockouts"`
}

// --- Errors ---

// ErrorBody is every error answer of the admin API.
type ErrorBody struct {
	Error struct {
		Code    string `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}
