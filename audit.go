package pairgate

import "time"

// Audit actions: what happened. A name says its outcome, so that a filter
// on "signin." shows successes and failures together.
const (
	AuditCodeGenerated = "code.generated"
	AuditCodeDeleted   = "code.deleted"
	AuditCodeRedeemed  = "code.redeemed"
	AuditCodeFailed    = "code.failed"
	// AuditCodeDevicesSignedOut: every device a code brought in was
	// signed out at once (a leaked code, contained).
	AuditCodeDevicesSignedOut = "code.devices_signed_out"
	AuditDeviceAuthorized     = "device.authorized"
	AuditDeviceDeleted        = "device.deleted"
	AuditDeviceRenamed        = "device.renamed"    // by an administrator
	AuditDeviceExpired        = "device.expired"    // signed out after a time unseen
	AuditDeviceRemoved        = "device.removed"    // removed by the lifecycle policy or as ephemeral
	AuditDeviceSignedOut      = "device.signed_out" // its refresh token was revoked (RFC 7009)
	AuditDeviceRevoked        = "device.revoked"    // by reuse detection
	AuditPairingApproved      = "pairing.approved"
	AuditPairingDenied        = "pairing.denied"
	// AuditPairingRefused: a cross-device phishing defence refused a
	// device authorization, at its start or at its approval.
	AuditPairingRefused    = "pairing.refused"
	AuditRefreshReuse      = "refresh.reuse_detected"
	AuditSignInSucceeded   = "signin.succeeded"
	AuditSignInFailed      = "signin.failed"
	AuditSignOut           = "signin.signed_out"
	AuditAPIKeyUsed        = "apikey.used"
	AuditAPIKeyCreated     = "apikey.created"
	AuditAPIKeyDeleted     = "apikey.deleted"
	AuditKeyRotated        = "signing_key.rotated"
	AuditClientCreated     = "client.created"
	AuditClientDeleted     = "client.deleted"
	AuditClientUpdated     = "client.updated"
	AuditClientSecret      = "client.secret_rotated"
	AuditClientDeviceFlow  = "client.device_flow_changed"
	AuditUserCreated       = "user.created"
	AuditUserDeleted       = "user.deleted"
	AuditPasswordChanged   = "user.password_changed"
	AuditRoleChanged       = "user.role_changed"
	AuditRateLimitUnlocked = "ratelimit.unlocked"
	AuditPrinterCreated    = "printer.created"
	AuditPrinterUpdated    = "printer.updated"
	AuditPrinterDeleted    = "printer.deleted"
	AuditDeploymentCreated = "deployment.created"
	AuditDeploymentDeleted = "deployment.deleted" // by an admin, or with the last printer it deployed
	// Held jobs (the Release Portal): submitted by a device, released by
	// their owner, deleted by the owner or an admin, expired unreleased.
	AuditJobSubmitted = "job.submitted"
	AuditJobReleased  = "job.released"  // sent to a printer, which accepted it
	AuditJobCompleted = "job.completed" // the printer says it is done
	AuditJobFailed    = "job.failed"    // sending failed, or the printer aborted it
	AuditJobDeleted   = "job.deleted"
	AuditJobExpired   = "job.expired"
)

// Kinds of actor.
const (
	ActorUser   = "user"
	ActorDevice = "device"
	ActorClient = "client"
	ActorAPIKey = "api_key"
	ActorSystem = "system"
	ActorAnon   = "anonymous"
)

// AuditEvent is one entry of the append-only audit log: who did what to
// what, when, and from where. It never holds a secret: codes appear by
// their ID, tokens not at all.
type AuditEvent struct {
	ID        string
	Time      time.Time
	Action    string
	ActorType string
	ActorID   string
	ActorName string // a username or client name, for people reading the log
	Target    string // the ID of what was acted on
	IP        string
	Details   map[string]string
}

// AuditRetention is how long the audit log keeps an event: thirteen
// months, so that a year can always be compared with the one before.
const AuditRetention = 396 * 24 * time.Hour

// AuditFilter selects a page of the audit log, newest first.
type AuditFilter struct {
	Action  string // an action, or a prefix ending in "." such as "signin."
	ActorID string
	Target  string
	Since   time.Time
	Until   time.Time
	Before  string // cursor: the ID of the last event of the previous page
	Limit   int
}
