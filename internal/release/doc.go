// Package release is the Release Portal's held-job queue and its rules:
// a device submits a job with its access token (Submit; the IPP endpoint
// in internal/ipp takes it off the wire), the job waits, its document
// sealed with the master key; its owner, from an authorized browser or
// signed in, releases it to a printer deployed to them (Release), which
// claims it once across replicas, sends it over IPP and follows it to
// the printer's last word; the document is removed as soon as the
// printer has it. Jobs not released in time expire (Expire, run by every
// replica's background jobs). Every submission, release, deletion and
// expiry is an audit event. It has no net/http handlers: the IPP
// endpoint and the pages use it.
package release
