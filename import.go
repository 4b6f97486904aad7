package pairgate

import "time"

// ImportBatch is a part of an inventory brought in whole by
// Store.ImportDevices: devices as they stand (state, last seen, family),
// each with its refresh families and their tokens and its audit history,
// and the authorization codes the devices came in with. It is for moving
// from another server and for the benchmark, which builds an inventory of
// a million devices this way in minutes: the grants' own methods write a
// device at a time, with every check a live request needs.
//
// Nothing is checked against what the rows claim (the source server
// enforced its rules when it issued them); what the schema enforces is
// (unique IDs and hashes, a device's client must exist).
type ImportBatch struct {
	// Codes are authorization codes, stored as given (sealed by the
	// caller with this server's keys).
	Codes   []*AuthorizationCode
	Devices []ImportedDevice
}

// ImportedDevice is one device of an ImportBatch.
type ImportedDevice struct {
	// Device is stored as given, with these defaults: State active,
	// StateChangedAt its AuthorizedAt, FamilyID its last family not
	// revoked. SameHardwareAs is computed when read, as always.
	Device Device
	// Families are its authorizations, oldest first: at most one not
	// revoked. A family's DeviceID is the device's; its Subject, when
	// empty, the device's ID; its StatusIndex is allocated (a revoked
	// family's index is published as revoked, as a revocation here would).
	Families []ImportedFamily
	// Audit is its history; every event needs its ID (secret.NewID gives
	// one ordered by its time) and is stored as given.
	Audit []AuditEvent
}

// ImportedFamily is a refresh family with its tokens, oldest first; the
// family's Generation is its last token's, and that token, unless
// rotated, is its live one.
type ImportedFamily struct {
	Family RefreshFamily
	Tokens []ImportedRefreshToken
}

// ImportedRefreshToken is one refresh token of a family, by its keyed
// hash.
type ImportedRefreshToken struct {
	Hash       []byte
	Generation int
	IssuedAt   time.Time
	ExpiresAt  time.Time
	RotatedAt  time.Time // zero for the live token
}
