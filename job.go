package pairgate

import (
	"strings"
	"time"
)

// Held jobs: the Release Portal's queue ("secure release", "pull
// printing"). A device submits a job with its access token; nothing is
// printed until the job's owner, at a printer deployed to them, releases
// it. The document is kept sealed with the master key, in chunks, until
// it is sent, and is removed as soon as the printer has accepted it.

// States of a held job. held and failed (with the document still kept)
// may be released; releasing belongs to the one release that claimed
// the job; sent, printing and done follow the printer's word.
const (
	JobHeld      = "held"      // waiting for its owner
	JobReleasing = "releasing" // claimed by a release, being sent to the printer
	JobSent      = "sent"      // the printer accepted it; the document is gone
	JobPrinting  = "printing"  // the printer says it is processing it
	JobDone      = "done"      // the printer says it completed
	JobFailed    = "failed"    // sending failed, or the printer aborted or canceled it; Reason says why
)

// HeldJob is one job in the held queue.
type HeldJob struct {
	// ID is assigned by the store, in order of submission: the IPP
	// job-id (1 to 2^31-1).
	ID int64
	// OwnerUserID is the person the job belongs to when that is known:
	// the approving user of a user-mode token. "" when the owner is only
	// a name the client claimed (a device-mode token).
	OwnerUserID string
	// OwnerName is the owner's username, or, for a device-mode token,
	// the requesting-user-name the client sent: a claim, recorded as
	// such (Verified is false).
	OwnerName string
	// QuotaKey is whose storage the document counts against:
	// QuotaKeyUser for a person, QuotaKeyDevice for a device-mode
	// device, whose user names are claims and so cannot be the account.
	QuotaKey   string
	DeviceID   string // the device that submitted it; it may since have been deleted
	DeviceName string // its name at submission, for the portal
	Name       string // job-name
	Format     string // document-format, a MIME type
	Size       int64  // bytes of the document
	Pages      int    // job-impressions as the client said, 0 when unknown
	Copies     int    // 1 to MaxJobCopies
	// Requested is the printer the person asked for when printing
	// (output-device-requested, PWG 5100.18): the Release Portal offers
	// it first when it is deployed to them. A wish, not a destination.
	Requested string
	State     string // one of the Job* states
	Reason    string // why it failed, in the printer's words; "" otherwise
	// The printer it was released to, and its job-id there.
	PrinterID    string
	PrinterName  string
	PrinterJobID int
	ReleasedBy   string // who released it, as an audit actor "type:id"
	CreatedAt    time.Time
	ExpiresAt    time.Time // an unreleased job is deleted then; a released one leaves the list then
	ReleasedAt   time.Time
	UpdatedAt    time.Time
	// DataID binds the sealed chunks to this job (their associated data
	// names it): a chunk moved to another job does not open there.
	DataID string
	// Chunks is how many sealed chunks the document has; 0 once it has
	// been removed.
	Chunks int
}

// Verified reports whether the owner is a person pairgate knows, rather
// than a name a client claimed.
func (j *HeldJob) Verified() bool { return j.OwnerUserID != "" }

// HasDocument reports whether the document is still kept.
func (j *HeldJob) HasDocument() bool { return j.Chunks > 0 }

// Releasable reports whether the job may be released now.
func (j *HeldJob) Releasable() bool {
	return (j.State == JobHeld || j.State == JobFailed) && j.HasDocument()
}

// Finished reports whether the printer has had its last word.
func (j *HeldJob) Finished() bool {
	return j.State == JobDone || j.State == JobFailed && !j.HasDocument()
}

// QuotaKeyUser and QuotaKeyDevice name whose storage a job counts against.
func QuotaKeyUser(userID string) string     { return "user:" + userID }
func QuotaKeyDevice(deviceID string) string { return "device:" + deviceID }

// OwnerKey is how a claimed owner name is compared: case-insensitively,
// as usernames are.
func OwnerKey(name string) string { return strings.ToLower(name) }

// Limits of a job's text fields, in bytes, and of its copies.
const (
	MaxJobName   = 255 // IPP name(MAX)
	MaxJobFormat = 255 // IPP mimeMediaType
	MaxJobCopies = 100
)

// HeldJobQuota bounds what one QuotaKey may hold at once.
type HeldJobQuota struct {
	MaxBytes int64 // documents held, in bytes
	MaxJobs  int   // jobs held
}

// HeldJobFilter selects held jobs. A job matches when any of the set
// fields selects it; All selects every job (an admin's view).
type HeldJobFilter struct {
	// UserID selects the jobs whose verified owner is this person.
	UserID string
	// Username selects the jobs whose claimed owner name is this one,
	// compared with OwnerKey: a person sees the jobs a shared device sent
	// in their name, marked as claimed.
	Username string
	// DeviceID selects the jobs this device submitted.
	DeviceID string
	All      bool
	Limit    int // 0: MaxPageSize
}

// JobClaim is a release taking a job: where it goes and who sends it.
type JobClaim struct {
	PrinterID   string
	PrinterName string
	By          string // an audit actor, "type:id"
	// KeepUntil is the earliest the job may leave its owner's list, so
	// that a job released just before it would have expired can still
	// be followed to the printer.
	KeepUntil time.Time
}

// HeldJobChunkSize is how much of a document one sealed chunk holds:
// large enough that a 64 MiB document is 256 rows, small enough that a
// chunk is read, opened and sent without holding much memory.
const HeldJobChunkSize = 256 << 10
