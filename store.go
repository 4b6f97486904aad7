package pairgate

import (
	"context"
	"iter"
	"time"
)

// Store keeps everything pairgate knows. Its methods are atomic domain
// operations, not generic updaters: each one either happens entirely or not
// at all, and the ones that must have a single winner under concurrency
// (redeeming a code, rotating a refresh token) say so. Every backend passes
// the conformance suite in internal/storetest.
//
// Secrets never cross this interface in plaintext: codes and tokens arrive as
// keyed hashes, private keys and authorization codes sealed.
//
// The identity rule (docs/design.md 2.1), which every method that records a
// device follows: d.DPoPJKT is the key the request proved, "" for none. A
// device of the same client that holds that key is updated in place (name,
// hardware ID, mode, scopes, approver, authorization time and method); in
// every other case a new row is inserted, whatever hardware ID it claims,
// so that a request without the key never changes, renames or revokes a
// device. Reads mark the devices of one client that claim one hardware ID
// (Device.SameHardwareAs). Browsers are the one exception, documented on
// AuthorizeBrowser.
//
// Errors are *Error values: ENOTFOUND, ECONFLICT, EINVALIDGRANT and the
// others documented per method; EINVALID when the database refuses input
// (text that is not valid UTF-8, which PostgreSQL cannot store: the
// caller's error, not an internal one); EUNAVAILABLE when the database
// cannot be reached; EINTERNAL otherwise.
type Store interface {
	// CreateClient stores a new client. ECONFLICT if the ID is taken.
	CreateClient(ctx context.Context, c *Client) error
	// GetClient returns a client. ENOTFOUND if there is none.
	GetClient(ctx context.Context, id string) (*Client, error)
	// ListClients returns every client, ordered by ID.
	ListClients(ctx context.Context) ([]*Client, error)
	// SetClientDeviceFlowPolicy replaces a client's device flow policy
	// (stored as given: the caller normalizes it). ENOTFOUND if there is
	// no such client.
	SetClientDeviceFlowPolicy(ctx context.Context, id string, p DeviceFlowPolicy) error
	// UpdateClient replaces the name, grant types and scopes of client
	// c.ID; its other fields stay. ENOTFOUND if there is none.
	UpdateClient(ctx context.Context, c *Client) error
	// SetClientSecret replaces a confidential client's secret hash: the
	// old secret stops working from the next lookup. ENOTFOUND if there is
	// no such client, ECONFLICT for a public client, which has no secret.
	SetClientSecret(ctx context.Context, id string, hash []byte) error
	// DeleteClient deletes a client and, in the same transaction, its
	// devices, pending authorizations and refresh tokens. ENOTFOUND if there
	// is none.
	DeleteClient(ctx context.Context, id string, now time.Time) error

	// CreateUser stores a new account. ECONFLICT if the username is taken.
	CreateUser(ctx context.Context, u *User) error
	// GetUser returns an account by ID. ENOTFOUND if there is none.
	GetUser(ctx context.Context, id string) (*User, error)
	// GetUserByUsername returns an account by its (case-insensitive) name.
	GetUserByUsername(ctx context.Context, username string) (*User, error)
	// ListUsers returns every account, ordered by username.
	ListUsers(ctx context.Context) ([]*User, error)
	// CountUsers returns how many accounts exist.
	CountUsers(ctx context.Context) (int, error)
	// SetUserPassword replaces an account's password hash and ends all of
	// its browser sessions. ENOTFOUND if there is none.
	SetUserPassword(ctx context.Context, id, passwordHash string, now time.Time) error
	// SetUserRole gives an account a new role and, when that changes its
	// role, ends its browser sessions in the same transaction (a demoted
	// admin's console sessions end at once). ECONFLICT when it would leave
	// no admin, checked in the same transaction with the admin accounts
	// locked: of any number of concurrent demotions and deletions, on any
	// replica, those that would take the last admin fail. ENOTFOUND if
	// there is no such account.
	SetUserRole(ctx context.Context, id, role string, now time.Time) error
	// DeleteUser deletes an account, its sessions, and the user-mode devices
	// it approved (their tokens speak for the account). ECONFLICT if it is
	// the last admin, under the same rule as SetUserRole. ENOTFOUND if none.
	DeleteUser(ctx context.Context, id string, now time.Time) error

	// SignInUpstream finds the account linked to the upstream identity
	// (ident.Issuer, ident.Subject) and records the sign-in at
	// ident.LastSignInAt; when none is linked, it creates newUser and links
	// it, in one transaction. created reports which. Of any number of
	// concurrent first sign-ins of one identity, on any replica, exactly
	// one creates an account and the others return it. ECONFLICT when
	// newUser's username is taken by another account: the caller picks
	// another name and tries again. An existing account is never linked:
	// a provider's person never takes over a local account.
	SignInUpstream(ctx context.Context, ident *UserIdentity, newUser *User) (u *User, created bool, err error)
	// ListUserIdentities returns the upstream identities linked to an
	// account, oldest first (none for a local account).
	ListUserIdentities(ctx context.Context, userID string) ([]*UserIdentity, error)
	// CreateUpstreamState records an upstream sign-in in progress.
	// ECONFLICT if its state hash collides with a stored one.
	CreateUpstreamState(ctx context.Context, st *UpstreamState) error
	// TakeUpstreamState deletes and returns the sign-in in progress whose
	// state hash is stateHash: a state is used once. Of concurrent callers
	// with one state exactly one gets it. EEXPIRED (and deleted) if it
	// expired at now, ENOTFOUND if there is none: never started, or
	// already used.
	TakeUpstreamState(ctx context.Context, stateHash []byte, now time.Time) (*UpstreamState, error)

	// CreateSession stores a new browser session.
	CreateSession(ctx context.Context, sess *Session) error
	// GetSession returns a session that has not reached its absolute
	// expiry at now. ENOTFOUND otherwise.
	GetSession(ctx context.Context, idHash []byte, now time.Time) (*Session, error)
	// TouchSession records activity on a session (for the idle limit).
	TouchSession(ctx context.Context, idHash []byte, now time.Time) error
	// DeleteSession ends a session. Ending an unknown session is not an error.
	DeleteSession(ctx context.Context, idHash []byte) error

	// CreateDeviceAuthorization stores a pending grant. ECONFLICT if its
	// device or user code hash collides with a stored one: the caller
	// generates new codes and tries again (docs/design.md 2.6).
	CreateDeviceAuthorization(ctx context.Context, a *DeviceAuthorization) error
	// GetDeviceAuthorizationByDeviceCode finds a grant by the hash of the code
	// the device polls with. ENOTFOUND if there is none.
	GetDeviceAuthorizationByDeviceCode(ctx context.Context, hash []byte) (*DeviceAuthorization, error)
	// PollDeviceAuthorization is GetDeviceAuthorizationByDeviceCode for a
	// poll, which is the request a fleet sends most: it fills in only ID,
	// Kind, DeviceCodeHash, ClientID, Scopes, Mode, ExpiresAt, Interval,
	// State, UserID and DeviceID.
	PollDeviceAuthorization(ctx context.Context, hash []byte) (*DeviceAuthorization, error)
	// GetDeviceAuthorizationByUserCode finds a grant by the hash of the code a
	// person typed. ENOTFOUND if there is none.
	GetDeviceAuthorizationByUserCode(ctx context.Context, hash []byte) (*DeviceAuthorization, error)
	// CountPendingDeviceAuthorizations counts the grants still waiting for a
	// person at now.
	CountPendingDeviceAuthorizations(ctx context.Context, now time.Time) (int, error)
	// ApproveDeviceAuthorization moves a pending, unexpired grant to approved
	// and records its Device in the same transaction, under the identity
	// rule of docs/design.md 2.1 (see Store). It returns the grant
	// as approved.
	// EEXPIRED if the grant expired, ECONFLICT if it was already decided,
	// ENOTFOUND if there is none.
	ApproveDeviceAuthorization(ctx context.Context, id string, d *Device, now time.Time) (*DeviceAuthorization, error)
	// DenyDeviceAuthorization moves a pending, unexpired grant to denied.
	// Errors as for ApproveDeviceAuthorization.
	DenyDeviceAuthorization(ctx context.Context, id, userID string, now time.Time) error
	// RedeemDeviceAuthorization moves an approved, unexpired grant to
	// redeemed and, in the same transaction, creates the refresh family fam
	// with its first token and revokes the device's other families. Exactly
	// one of any number of concurrent callers succeeds (docs/design.md 2.3); the
	// others get EINVALIDGRANT. It returns the device, active, with fam as
	// its FamilyID: the access tokens of the families it revoked stop
	// working. An empty fam.Subject is filled in with the device's ID.
	//
	// fam.DPoPJKT is the key the redeeming poll proved, "" for none; the
	// caller has checked it against a bound grant's. A proof redeeming an
	// unbound grant binds the device the approval recorded (a new row:
	// an unbound approval never updates one) to that key; when the key
	// is already another device's of the client, the poll proved that
	// device's key, so that device is updated with the approval and
	// takes the grant over, and the approval's own, unused row goes.
	RedeemDeviceAuthorization(ctx context.Context, id string, fam *RefreshFamily, first NewRefreshToken, now time.Time) (*Device, error)

	// IssueRefreshFamily records a Device (under the identity rule, as
	// ApproveDeviceAuthorization) and a new refresh family with its first
	// token for it, revoking the device's other families: the grants that
	// authorize in one step use it. fam.DeviceID is set from the stored
	// device, and so is fam.Subject when it is empty (device mode: the
	// token speaks for the device, whose ID may be an existing row's). The
	// device returned is active, with fam as its FamilyID, as in
	// RedeemDeviceAuthorization.
	//
	// When d.AuthCodeID is set, the authorization code with that ID must
	// exist and be unexpired at d.AuthorizedAt; the check is a guarded
	// update of the code (counting the use) in the same transaction, so a
	// code deleted or expiring concurrently issues nothing: once
	// DeleteAuthorizationCode has returned, no redemption of the code can
	// succeed. EINVALIDGRANT otherwise, with nothing written.
	IssueRefreshFamily(ctx context.Context, d *Device, fam *RefreshFamily, first NewRefreshToken) (*Device, error)

	// AuthorizeBrowser records a browser as a Device (created, or updated
	// when the same browser client and hardware ID, the browser's own
	// random id, is known: that id is a secret the browser holds in a
	// cookie, 128 random bits, not a serial number anyone can read, so
	// presenting it proves possession as docs/design.md 2.1 asks) and starts
	// sess as its device
	// session, in one transaction. sess.DeviceID is set from the stored
	// device. The device's other sessions that carry no person end: a
	// browser holds one device authorization at a time, as a device holds
	// one refresh family. When d.AuthCodeID is set, the code is checked and
	// counted exactly as in IssueRefreshFamily; EINVALIDGRANT otherwise,
	// with nothing written.
	AuthorizeBrowser(ctx context.Context, d *Device, sess *Session) (*Device, error)

	// CreateAuthorizationCode stores an admin-issued code. ECONFLICT if its
	// hash (or ID) collides with a stored one: the caller generates a new
	// code and tries again (docs/design.md 2.6).
	CreateAuthorizationCode(ctx context.Context, c *AuthorizationCode) error
	// GetAuthorizationCodeByHash finds a code by the keyed hash of its
	// canonical form. ENOTFOUND if there is none or it has expired at now.
	GetAuthorizationCodeByHash(ctx context.Context, hash []byte, now time.Time) (*AuthorizationCode, error)
	// ListAuthorizationCodes returns the codes that have not expired at
	// now, newest first (docs/design.md 2.7: expired codes leave the lists at
	// once, whether or not GarbageCollect has run).
	ListAuthorizationCodes(ctx context.Context, now time.Time) ([]*AuthorizationCode, error)
	// DeleteAuthorizationCode deletes a code; devices it authorized stay.
	// ENOTFOUND if there is none.
	DeleteAuthorizationCode(ctx context.Context, id string) error

	// GetDevice returns a device. ENOTFOUND if there is none.
	GetDevice(ctx context.Context, id string) (*Device, error)
	// ListDevices returns a page of the devices that match f, ordered by
	// ID: f.Limit of them (MaxPageSize when 0) or all that are left. A
	// Limit up to MaxPageSize+1 is honoured, so that a caller can ask for
	// one more than it shows to learn whether a next page exists; a larger
	// or negative one is EINVALID, never silently cut.
	ListDevices(ctx context.Context, f DeviceFilter) ([]*Device, error)
	// CountDevices returns how many devices exist.
	CountDevices(ctx context.Context) (int, error)
	// RenameDevice sets a device's name, as an administrator calls it.
	// The device's next authorization under the identity rule may name
	// it again. ENOTFOUND if there is none.
	RenameDevice(ctx context.Context, id, name string) error
	// DeleteDevice deletes a device and, in the same transaction, every
	// refresh token and session issued to it (docs/design.md 2.2). ENOTFOUND if
	// there is none.
	DeleteDevice(ctx context.Context, id string, now time.Time) error
	// SignOutInactiveDevices signs out at most limit active devices that
	// were last seen before their cutoff — their client's
	// InactiveSignOutDays, else p.SignOutAfter; neither: never — oldest
	// first: their authorizations are revoked (status indexes set) and
	// they move to DeviceExpired, in one transaction. It returns them.
	// Guarded by state, so that replicas sweeping at once move each device
	// once.
	SignOutInactiveDevices(ctx context.Context, p InactivityPolicy, now time.Time, limit int) ([]*Device, error)
	// RemoveInactiveDevices deletes at most limit devices that ended
	// (expired, signed out or revoked) and were not seen since, for longer
	// than their client's InactiveRemoveDays, else p.RemoveAfter, as
	// DeleteDevice does. It returns them as they were.
	RemoveInactiveDevices(ctx context.Context, p InactivityPolicy, now time.Time, limit int) ([]*Device, error)
	// RemoveEphemeralDevices deletes at most limit ephemeral devices (those
	// with an EphemeralIdle) that ended or were not seen for their
	// EphemeralIdle at now, with their authorizations (published as
	// revoked in the status lists in the same transaction), least recently
	// seen first, and returns them.
	RemoveEphemeralDevices(ctx context.Context, now time.Time, limit int) ([]*Device, error)

	// CodeDevices previews what revoking a code's devices would touch:
	// the active devices whose current authorization came from
	// authorization code codeID (whether or not the code still exists),
	// where they were authorized from, and those seen since seenSince
	// from another address than that.
	CodeDevices(ctx context.Context, codeID string, seenSince time.Time) (*CodeDevices, error)
	// SignOutCodeDevices signs out, in one transaction, every active
	// device whose current authorization came from code codeID: their
	// refresh families revoked (and published so in the status lists),
	// their browser sessions ended, state DeviceSignedOut. A device
	// re-authorized since by another way is not touched. With
	// deleteCode, the code is deleted in the same transaction, so that
	// nothing new arrives with it. It returns the devices signed out.
	SignOutCodeDevices(ctx context.Context, codeID string, deleteCode bool, now time.Time) ([]*Device, error)
	// ImportDevices stores a batch of devices with their refresh
	// families, tokens and audit history, and the authorization codes
	// they came in with (see ImportBatch), in one transaction, with
	// multi-row inserts: for moving from another server and for building
	// a large inventory (a million devices in a thousand batches of a
	// thousand take minutes, where the grants' methods take hours). It is
	// not a request's path: nothing it stores passes the checks of the
	// methods that issue grants. ECONFLICT, with nothing written, when an
	// ID or a hash is taken; EINVALID for a batch that contradicts itself
	// (an event or token without its ID or hash, two live families).
	ImportDevices(ctx context.Context, b *ImportBatch) error
	// TouchDevices records when and from which address each device was
	// last seen, unless the device records a later time already; devices
	// that no longer exist are skipped. Replicas touching the same devices
	// at once do not deadlock.
	TouchDevices(ctx context.Context, seen []DeviceSeen) error

	// CreatePrinter stores a new printer. ECONFLICT if the ID is taken or
	// another printer has the same name, compared case-insensitively
	// (devices install printers as queues named after them).
	CreatePrinter(ctx context.Context, p *Printer) error
	// GetPrinter returns a printer. ENOTFOUND if there is none.
	GetPrinter(ctx context.Context, id string) (*Printer, error)
	// ListPrinters returns the printers that match f, ordered by name.
	ListPrinters(ctx context.Context, f PrinterFilter) ([]*Printer, error)
	// UpdatePrinter replaces every field of the printer p.ID but its
	// CreatedAt. ENOTFOUND if there is none, ECONFLICT for a name another
	// printer has.
	UpdatePrinter(ctx context.Context, p *Printer) error
	// DeletePrinter deletes a printer and, in the same transaction,
	// removes it from every deployment: a deployment whose default it was
	// keeps no default, and a deployment left without printers is deleted
	// (it would give nothing to anyone, and deployments are not edited).
	// It returns the IDs of the deployments deleted. ENOTFOUND if there
	// is none.
	DeletePrinter(ctx context.Context, id string) (deletedDeployments []string, err error)

	// CreateDeployment stores a deployment checked by NormalizeDeployment.
	// In the same transaction it checks that every printer exists, that
	// the devices of a devices target exist, and that the code of an
	// authorization code target exists and has not expired at now:
	// EINVALID naming the field otherwise, with nothing written. A printer
	// or device deleted concurrently leaves either the deployment without
	// it or no deployment. ECONFLICT if the ID is taken.
	CreateDeployment(ctx context.Context, d *Deployment, now time.Time) error
	// ListDeployments returns every deployment, newest first.
	ListDeployments(ctx context.Context) ([]*Deployment, error)
	// DeleteDeployment deletes a deployment. ENOTFOUND if there is none.
	DeleteDeployment(ctx context.Context, id string) error
	// PrintersForDevice returns the printers deployed to d, computed as
	// ResolveDevicePrinters does: the union over every deployment whose
	// target matches d (all; d.AuthCodeID; d.Name against a name pattern;
	// d.ID among the devices), ordered by name, at most one the default.
	// A device deleted meanwhile gets what its last known row selects:
	// callers authenticate the device first. It is the request a fleet
	// polls with: one indexed read, whatever the size of the inventory.
	PrintersForDevice(ctx context.Context, d *Device) ([]DevicePrinter, error)

	// CreateHeldJob stores a held job (j.State JobHeld) and its sealed
	// document chunks, in order, in one transaction, and sets j.ID and
	// j.Chunks. The job's Size counts against its QuotaKey: ETOOLARGE,
	// with nothing written, when the bytes already held under that key
	// plus j.Size would pass q.MaxBytes, or its jobs q.MaxJobs. The check
	// and the count are one guarded statement, so that concurrent
	// submissions on any replica never pass the quota together. An error
	// from chunks aborts the transaction and is returned.
	CreateHeldJob(ctx context.Context, j *HeldJob, chunks iter.Seq2[[]byte, error], q HeldJobQuota) error
	// GetHeldJob returns a held job. ENOTFOUND if there is none.
	GetHeldJob(ctx context.Context, id int64) (*HeldJob, error)
	// ListHeldJobs returns the jobs f selects, oldest first, f.Limit of
	// them as for ListDevices.
	ListHeldJobs(ctx context.Context, f HeldJobFilter) ([]*HeldJob, error)
	// HeldJobChunk returns the sealed chunk seq (from 0) of a job's
	// document. ENOTFOUND when the job or its document is gone.
	HeldJobChunk(ctx context.Context, id int64, seq int) ([]byte, error)
	// ClaimHeldJob moves a job that may be released (JobHeld, or
	// JobFailed with its document) to JobReleasing for c, and returns it.
	// Exactly one of any number of concurrent claims of a job, on any
	// replica, succeeds: the others get ECONFLICT (two clicks, two
	// replicas, one print). ENOTFOUND if there is no such job.
	ClaimHeldJob(ctx context.Context, id int64, c JobClaim, now time.Time) (*HeldJob, error)
	// HeldJobSent records that the printer accepted a releasing job as
	// its job printerJobID: the job moves to JobSent and, in the same
	// transaction, its document is deleted and its bytes leave its
	// quota. ECONFLICT unless the job is JobReleasing.
	HeldJobSent(ctx context.Context, id int64, printerJobID int, now time.Time) error
	// HeldJobProgress records what the printer says of a sent job: state
	// JobPrinting, JobDone or JobFailed (with reason). ECONFLICT unless the
	// job is JobSent or JobPrinting; EINVALID for another state.
	HeldJobProgress(ctx context.Context, id int64, state, reason string, now time.Time) error
	// HeldJobReleaseFailed records that a releasing job never reached the
	// printer: it moves to JobFailed with reason, keeping its document,
	// so that it may be released again. ECONFLICT unless JobReleasing.
	HeldJobReleaseFailed(ctx context.Context, id int64, reason string, now time.Time) error
	// DeleteHeldJob deletes a job and its document, and gives its bytes
	// back to its quota, in one transaction, and returns the job as it
	// was. ECONFLICT while it is JobReleasing (a release is sending it).
	// ENOTFOUND if there is none.
	DeleteHeldJob(ctx context.Context, id int64) (*HeldJob, error)
	// ExpireHeldJobs first fails the jobs left JobReleasing since before
	// stuckBefore (the release that claimed them died: the document stays,
	// to be released again), then deletes at most limit jobs whose
	// ExpiresAt has passed at now, with their documents and quota, as
	// DeleteHeldJob does, and returns them. Replicas sweeping at once
	// delete each job once (SKIP LOCKED on PostgreSQL).
	ExpireHeldJobs(ctx context.Context, now, stuckBefore time.Time, limit int) ([]*HeldJob, error)

	// RotateRefreshToken exchanges the live refresh token whose hash is old
	// for next (docs/design.md 2.4). The caller derives next from the token
	// itself (secret.Keys.Successor), so that every duplicate of one
	// refresh presents the same next. Exactly one of concurrent callers
	// presenting the same live token rotates it. The others, and any
	// retry of it within grace of its rotation, get the same answer with
	// Grace set and change nothing, provided the token is the immediately
	// previous one and its successor — the token whose hash is next.Hash —
	// is still live: any number of duplicates leave one live token. Any
	// other rotated-out token (older, retried after grace, or presented
	// with another next) revokes the whole family and returns
	// EREUSEDETECTED. Unknown, expired or revoked tokens are
	// EINVALIDGRANT. The device is touched with ip in the same transaction.
	//
	// check, when not nil, judges the request against the token's family
	// (its client, key binding, scopes) once the token is known and its
	// family not revoked, before anything else: its error is returned as
	// it is and nothing changes, so that a request that is not the
	// family's to make can neither rotate it nor revoke it by reuse.
	RotateRefreshToken(ctx context.Context, old []byte, next NewRefreshToken, ip string, now time.Time, grace time.Duration, check func(*RefreshFamily) error) (*Rotation, error)
	// LookupRefreshToken returns the family of a refresh token and whether the
	// token is the family's live one. ENOTFOUND for unknown tokens.
	LookupRefreshToken(ctx context.Context, hash []byte, now time.Time) (fam *RefreshFamily, live bool, err error)
	// RevokeRefreshFamily revokes every token of a family and, when it is
	// its device's live family (Device.FamilyID), moves the device to state
	// (DeviceSignedOut for RFC 7009, DeviceRevoked for reuse detection) in
	// the same transaction, so that the device's access tokens stop working
	// at pairgate at once (docs/design.md 2.2). Revoking a revoked or unknown
	// family is not an error and changes nothing (RFC 7009 §2.2). EINVALID
	// for a state that is not one of a revoked device.
	RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time, state string) error

	// RevokedStatusIndexes returns, in order, the token status indexes in
	// [from, to) whose authorization was revoked — a family revoked, its
	// device or client or user-mode account deleted — and whose tokens may
	// not all have expired yet: the set bits of a token status list. Every
	// operation that revokes an authorization records its index in the
	// same transaction.
	RevokedStatusIndexes(ctx context.Context, from, to int64) ([]int64, error)
	// StatusIndexHighWater is the first token status index not yet given
	// to a family: how far the status lists reach.
	StatusIndexHighWater(ctx context.Context) (int64, error)

	// RevokeAccessToken records that the JWT with this jti is revoked until it
	// expires anyway.
	RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error
	// AccessTokenRevoked reports whether a jti was revoked.
	AccessTokenRevoked(ctx context.Context, jti string) (bool, error)

	// UseDPoPProof records the use of a DPoP proof, by the keyed hash of
	// its key and jti, until expiresAt (when its iat leaves the accepted
	// window), and reports whether this was its first use (RFC 9449
	// §11.1). Exactly one of any number of concurrent callers presenting
	// the same hash, on any replica, gets true; a hash recorded before and
	// not yet collected is false.
	UseDPoPProof(ctx context.Context, hash []byte, expiresAt time.Time) (bool, error)

	// ListSigningKeys returns the current key and the retired keys that have
	// not yet expired, newest first.
	ListSigningKeys(ctx context.Context, now time.Time) ([]*SigningKey, error)
	// CreateFirstSigningKey stores k as the current key if there is none yet,
	// and reports whether it did. Replicas starting together race here; one
	// wins.
	CreateFirstSigningKey(ctx context.Context, k *SigningKey) (bool, error)
	// RotateSigningKey retires the current key currentID, to leave the JWKS
	// at retiredUntil, and makes next current, in one transaction. ECONFLICT
	// if currentID is no longer current (another replica rotated first).
	RotateSigningKey(ctx context.Context, currentID string, retiredUntil time.Time, next *SigningKey) error

	// CreateAPIKey stores a new admin API key. ECONFLICT on a hash collision.
	CreateAPIKey(ctx context.Context, k *APIKey) error
	// GetAPIKeyByHash finds a key by the keyed hash of its value, if its
	// creator still exists, with the creator's current role and name.
	// ENOTFOUND otherwise.
	GetAPIKeyByHash(ctx context.Context, hash []byte) (*APIKey, error)
	// ListAPIKeys returns every key, newest first.
	ListAPIKeys(ctx context.Context) ([]*APIKey, error)
	// DeleteAPIKey revokes a key at once. ENOTFOUND if there is none.
	DeleteAPIKey(ctx context.Context, id string) error
	// TouchAPIKey records that a key was used.
	TouchAPIKey(ctx context.Context, id string, now time.Time) error

	// AppendAuditEvent adds an event to the audit log. Events are never
	// changed; GarbageCollect removes them after AuditRetention.
	AppendAuditEvent(ctx context.Context, e *AuditEvent) error
	// AppendAuditEvents adds events in one transaction: the events of a
	// sweep's batch.
	AppendAuditEvents(ctx context.Context, es []*AuditEvent) error
	// ListAuditEvents returns a page of the audit log, newest first, with
	// f.Limit as for ListDevices.
	ListAuditEvents(ctx context.Context, f AuditFilter) ([]*AuditEvent, error)

	// HitRateLimit counts one attempt against the counter c.Key (a keyed
	// hash, never attacker input) and reports whether it is within c.Limit
	// attempts per fixed window c.Window. c.Rule, c.Subject and c.Limit
	// are kept with the counter for ListLockouts. The first attempt at or after the end of a
	// key's window starts a new window of length window at now. Every
	// attempt counts, refused ones included. Concurrent attempts are counted
	// atomically: of any number arriving at once on any replica, exactly as
	// many as the window has room for are allowed. retryAfter is how long
	// until the window ends, when the attempt is refused.
	HitRateLimit(ctx context.Context, c RateLimitCounter, now time.Time) (allowed bool, retryAfter time.Duration, err error)
	// RateLimitHits returns the attempts counted against key in its current
	// window and when that window ends, without counting one; 0 and the zero
	// time when there is no running window.
	RateLimitHits(ctx context.Context, key []byte, now time.Time) (hits int, windowEnd time.Time, err error)
	// RefundRateLimit gives back one attempt counted against key in its
	// running window, never going below zero: an attempt counted before a
	// secret was looked up that turned out to be right (a fleet behind one
	// address redeeming one right code is never refused). A window that
	// has ended, or an unknown key, is left alone.
	RefundRateLimit(ctx context.Context, key []byte, now time.Time) error
	// ResetRateLimit forgets a counter: an admin lifting a lock-out.
	ResetRateLimit(ctx context.Context, key []byte) error
	// ListLockouts returns at most limit counters whose window runs at now
	// and whose hits reached their limit (the next attempt is refused),
	// the latest to lift first.
	ListLockouts(ctx context.Context, now time.Time, limit int) ([]*Lockout, error)
	// LiftLockout forgets the counter key, when its window runs at now,
	// and returns it as it was. ENOTFOUND when there is no running window
	// (it lifted by itself, or someone lifted it first: of concurrent
	// lifts one gets the lock-out).
	LiftLockout(ctx context.Context, key []byte, now time.Time) (*Lockout, error)

	// GarbageCollect deletes expired grants, authorization codes, refresh
	// tokens, revocations, keys, rate-limit windows, old audit events and
	// anything else whose time has passed, and moves active devices whose
	// live family has no unexpired token left to DeviceExpired.
	// Safe to run on every replica at once.
	GarbageCollect(ctx context.Context, now time.Time) (GCResult, error)
	// Ping checks that the database answers.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// MaxPageSize is the largest page of a paged list (devices, audit events).
// Stores accept a Limit of MaxPageSize+1: a caller asks for one more than
// it shows, and the extra one says that there is a next page.
const MaxPageSize = 1000

// GCResult counts what GarbageCollect deleted.
type GCResult struct {
	DeviceAuthorizations int64
	AuthorizationCodes   int64
	RefreshTokens        int64
	RefreshFamilies      int64
	RevokedAccessTokens  int64
	SigningKeys          int64
	Sessions             int64
	AuditEvents          int64
	RateLimits           int64
	TokenStatuses        int64
	DPoPProofs           int64
	UpstreamStates       int64
	DevicesExpired       int64 // devices moved to DeviceExpired; not deleted, not in Total
}

// Total is the number of rows deleted.
func (r GCResult) Total() int64 {
	return r.DeviceAuthorizations + r.AuthorizationCodes + r.RefreshTokens + r.RefreshFamilies + r.RevokedAccessTokens + r.SigningKeys + r.Sessions + r.AuditEvents + r.RateLimits + r.TokenStatuses + r.DPoPProofs + r.UpstreamStates
}
