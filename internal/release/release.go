package release

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"mime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/secret"
)

// Config is the queue's policy.
type Config struct {
	// TTL is how long a job waits to be released before it is deleted.
	TTL time.Duration
	// MaxJobBytes bounds one document.
	MaxJobBytes int64
	// Quota bounds what one person (or device-mode device) holds at once.
	Quota pairgate.HeldJobQuota
	// SendTimeout bounds sending one document to a printer.
	SendTimeout time.Duration
	// FollowFor is how long a released job is followed at the printer
	// (Get-Job-Attributes, soon after it was sent, then less often, at
	// least every PollEvery) before pairgate stops asking.
	FollowFor time.Duration
	PollEvery time.Duration
	// KeepReleased is how long a released job stays in its owner's list
	// at least, to show how it went.
	KeepReleased time.Duration
}

// Deps are what the queue works with. Every field is required.
type Deps struct {
	Store  pairgate.Store
	Keys   *secret.Keys
	Audit  *audit.Recorder
	Sender *printing.Sender
	Log    *slog.Logger
	Now    func() time.Time
}

// Service is the held-job queue.
type Service struct {
	cfg    Config
	store  pairgate.Store
	keys   *secret.Keys
	audit  *audit.Recorder
	sender *printing.Sender
	log    *slog.Logger
	now    func() time.Time

	// Releases run in the background, past the request that started
	// them; Close stops and waits for them.
	bg   context.Context
	stop context.CancelFunc
	wg   sync.WaitGroup
}

// New returns the queue.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Keys == nil || d.Audit == nil || d.Sender == nil || d.Log == nil || d.Now == nil {
		return nil, errors.New("release: every dependency is required")
	}
	if cfg.TTL <= 0 || cfg.MaxJobBytes <= 0 || cfg.Quota.MaxBytes <= 0 || cfg.Quota.MaxJobs <= 0 || cfg.SendTimeout <= 0 ||
		cfg.FollowFor <= 0 || cfg.PollEvery <= 0 || cfg.KeepReleased < 0 {
		return nil, errors.New("release: the TTL, the limits and the timeouts must be positive")
	}
	bg, stop := context.WithCancel(context.Background())
	return &Service{cfg: cfg, store: d.Store, keys: d.Keys, audit: d.Audit, sender: d.Sender, log: d.Log, now: d.Now, bg: bg, stop: stop}, nil
}

// Close stops following released jobs and waits for the releases in
// flight to stop. A job cut off while being sent is failed by the next
// Expire, with its document kept.
func (s *Service) Close() {
	s.stop()
	s.wg.Wait()
}

// Config returns the queue's policy.
func (s *Service) Config() Config { return s.cfg }

// JobTarget is how a job is named in the audit log.
func JobTarget(id int64) string { return "job_" + strconv.FormatInt(id, 10) }

// ScopePrinting is the scope a device's token needs to submit jobs.
const ScopePrinting = printing.ScopePrinting

var errScope = &pairgate.Error{Code: pairgate.EFORBIDDEN,
	Message: "the access token's scope does not include printing: authorize the device with scope printing"}

// Submission is a job as a device sends it, before its document.
type Submission struct {
	Device *pairgate.Device
	Scopes pairgate.Scopes // of the access token
	// UserName is the requesting-user-name the client sent: whose job
	// it is for a device-mode token, a claim recorded as such; ignored
	// for a user-mode token, which says whose job it is itself.
	UserName string
	JobName  string
	Format   string // document-format; "" for application/octet-stream
	Pages    int    // job-impressions, 0 when unknown
	Copies   int    // 0 for 1
	// Printer is the name of the printer the person asked for
	// (output-device-requested), "" for none.
	Printer string
	IP      string
}

// owner is whose job a submission is.
type owner struct {
	userID, name, quotaKey string
}

func invalid(format string, args ...any) error {
	return pairgate.Errorf(pairgate.EINVALID, format, args...)
}

// Check judges a submission without its document (IPP Validate-Job): the
// token's scope, the owner, the attributes. It returns the submission
// as it would be stored.
func (s *Service) Check(ctx context.Context, sub Submission) (Submission, error) {
	_, sub, err := s.check(ctx, sub)
	return sub, err
}

func (s *Service) check(ctx context.Context, sub Submission) (owner, Submission, error) {
	if !sub.Scopes.Contains(ScopePrinting) {
		return owner{}, sub, errScope
	}
	var o owner
	d := sub.Device
	if d.Mode == pairgate.ModeUser && d.UserID != "" {
		u, err := s.store.GetUser(ctx, d.UserID)
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			return owner{}, sub, pairgate.Errorf(pairgate.EFORBIDDEN, "the person who approved this device has no account any more")
		}
		if err != nil {
			return owner{}, sub, err
		}
		o = owner{userID: u.ID, name: u.Username, quotaKey: pairgate.QuotaKeyUser(u.ID)}
	} else {
		name := strings.TrimSpace(sub.UserName)
		if name == "" {
			return owner{}, sub, invalid("requesting-user-name is required: a device-mode token does not say whose job this is")
		}
		if err := pairgate.ValidText("requesting-user-name", name, pairgate.MaxJobName); err != nil {
			return owner{}, sub, err
		}
		o = owner{name: name, quotaKey: pairgate.QuotaKeyDevice(d.ID)}
	}
	sub.JobName = strings.TrimSpace(sub.JobName)
	if sub.JobName == "" {
		sub.JobName = "Untitled"
	}
	if err := pairgate.ValidText("job-name", sub.JobName, pairgate.MaxJobName); err != nil {
		return owner{}, sub, err
	}
	if sub.Format == "" {
		sub.Format = "application/octet-stream"
	}
	if mt, params, err := mime.ParseMediaType(sub.Format); err != nil || len(sub.Format) > pairgate.MaxJobFormat || !strings.Contains(mt, "/") ||
		len(params) > 2 || pairgate.Printable(sub.Format, pairgate.MaxJobFormat) != sub.Format {
		return owner{}, sub, invalid("document-format '%s' is not a MIME media type", pairgate.Printable(sub.Format, 64))
	}
	switch {
	case sub.Copies == 0:
		sub.Copies = 1
	case sub.Copies < 1 || sub.Copies > pairgate.MaxJobCopies:
		return owner{}, sub, invalid("copies must be from 1 to %d", pairgate.MaxJobCopies)
	}
	if sub.Pages < 0 {
		sub.Pages = 0
	}
	sub.Printer = strings.TrimSpace(sub.Printer)
	if err := pairgate.ValidText("output-device-requested", sub.Printer, pairgate.MaxJobName); err != nil {
		return owner{}, sub, err
	}
	return o, sub, nil
}

// TooLarge is the error of a document over the per-job limit.
func (s *Service) TooLarge() error {
	return pairgate.Errorf(pairgate.ETOOLARGE, "the document is larger than the %s a held job may be", bytesText(s.cfg.MaxJobBytes))
}

// Submit holds a job: the submission is checked as Check does, the
// document read to its end (at most MaxJobBytes), sealed chunk by
// chunk, and stored with the job in one transaction within the owner's
// quota. Nothing is printed. ETOOLARGE when the document or the quota is
// over its limit, EINVALID for an empty document, with nothing stored.
func (s *Service) Submit(ctx context.Context, sub Submission, doc io.Reader) (*pairgate.HeldJob, error) {
	o, sub, err := s.check(ctx, sub)
	if err != nil {
		return nil, err
	}
	dataID := secret.RandomID("hd_")
	var sp spool
	defer sp.close()
	size, err := sealDocument(s.keys, dataID, doc, s.cfg.MaxJobBytes, &sp)
	switch {
	case errors.Is(err, errTooLarge):
		return nil, s.TooLarge()
	case err != nil:
		return nil, &pairgate.Error{Code: pairgate.EINVALID, Message: "the document could not be read to its end", Err: err}
	case size == 0:
		return nil, invalid("the job has no document")
	}
	now := s.now()
	d := sub.Device
	j := &pairgate.HeldJob{OwnerUserID: o.userID, OwnerName: o.name, QuotaKey: o.quotaKey, DeviceID: d.ID, DeviceName: d.Name,
		Name: sub.JobName, Format: sub.Format, Size: size, Pages: sub.Pages, Copies: sub.Copies, Requested: sub.Printer, State: pairgate.JobHeld,
		CreatedAt: now, ExpiresAt: now.Add(s.cfg.TTL), DataID: dataID}
	err = s.store.CreateHeldJob(ctx, j, sp.chunks(), s.cfg.Quota)
	if pairgate.ErrorCode(err) == pairgate.ETOOLARGE {
		who := "your"
		if o.userID == "" {
			who = "this device's"
		}
		return nil, pairgate.Errorf(pairgate.ETOOLARGE, "%s held jobs would pass the quota of %d jobs and %s: release or delete some first",
			who, s.cfg.Quota.MaxJobs, bytesText(s.cfg.Quota.MaxBytes))
	}
	if err != nil {
		return nil, err
	}
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditJobSubmitted, ActorType: pairgate.ActorDevice, ActorID: d.ID,
		ActorName: d.Name, Target: JobTarget(j.ID), IP: sub.IP, Details: jobDetails(j)})
	return j, nil
}

func jobDetails(j *pairgate.HeldJob) map[string]string {
	m := map[string]string{"owner": j.OwnerName, "owner_verified": strconv.FormatBool(j.Verified()), "device_id": j.DeviceID,
		"job_name": j.Name, "format": j.Format, "size": strconv.FormatInt(j.Size, 10)}
	if j.OwnerUserID != "" {
		m["owner_id"] = j.OwnerUserID
	}
	return m
}

// bytesText says a size as people read it.
func bytesText(n int64) string {
	switch {
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%d MiB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%d KiB", n>>10)
	}
	return fmt.Sprintf("%d bytes", n)
}

// BytesText says a size as people read it, for pages.
func BytesText(n int64) string {
	switch {
	case n >= 10<<20:
		return fmt.Sprintf("%d MB", n/1e6)
	case n >= 1e6:
		return fmt.Sprintf("%.1f MB", float64(n)/1e6)
	case n >= 1e3:
		return fmt.Sprintf("%d kB", n/1e3)
	}
	return fmt.Sprintf("%d bytes", n)
}

// --- The device's own jobs (IPP Get-Jobs, Get-Job-Attributes, Cancel-Job) ---

// deviceFilter is what a device sees of the queue: a user-mode device,
// its person's jobs; a device-mode one, the jobs it submitted.
func deviceFilter(d *pairgate.Device) pairgate.HeldJobFilter {
	if d.Mode == pairgate.ModeUser && d.UserID != "" {
		return pairgate.HeldJobFilter{UserID: d.UserID}
	}
	return pairgate.HeldJobFilter{DeviceID: d.ID}
}

func deviceOwns(d *pairgate.Device, j *pairgate.HeldJob) bool {
	if d.Mode == pairgate.ModeUser && d.UserID != "" {
		return j.OwnerUserID == d.UserID
	}
	return j.DeviceID == d.ID
}

var errNoJob = pairgate.Errorf(pairgate.ENOTFOUND, "no such job")

// DeviceJobs returns the jobs a device sees, oldest first.
func (s *Service) DeviceJobs(ctx context.Context, d *pairgate.Device) ([]*pairgate.HeldJob, error) {
	return s.store.ListHeldJobs(ctx, deviceFilter(d))
}

// DeviceJob returns one of the jobs a device sees; ENOTFOUND for any
// other, whether or not it exists.
func (s *Service) DeviceJob(ctx context.Context, d *pairgate.Device, id int64) (*pairgate.HeldJob, error) {
	j, err := s.store.GetHeldJob(ctx, id)
	if err != nil {
		return nil, err
	}
	if !deviceOwns(d, j) {
		return nil, errNoJob
	}
	return j, nil
}

// Cancel deletes a job the device sees that is still held (IPP
// Cancel-Job). ECONFLICT once it was released.
func (s *Service) Cancel(ctx context.Context, d *pairgate.Device, id int64, ip string) error {
	j, err := s.DeviceJob(ctx, d, id)
	if err != nil {
		return err
	}
	if !j.Releasable() {
		return pairgate.Errorf(pairgate.ECONFLICT, "the job was released already: it is %s", j.State)
	}
	gone, err := s.store.DeleteHeldJob(ctx, id)
	if err != nil {
		return err
	}
	s.recordDelete(ctx, gone, pairgate.AuditEvent{ActorType: pairgate.ActorDevice, ActorID: d.ID, ActorName: d.Name, IP: ip}, "device")
	return nil
}

func (s *Service) recordDelete(ctx context.Context, j *pairgate.HeldJob, e pairgate.AuditEvent, via string) {
	e.Action, e.Target, e.Details = pairgate.AuditJobDeleted, JobTarget(j.ID), jobDetails(j)
	e.Details["state"] = j.State
	e.Details["via"] = via
	s.audit.Record(ctx, e)
}

// --- The Release Portal ---

// Viewer is who opens the Release Portal.
type Viewer struct {
	// User is the person: signed in, or the one who authorized the
	// browser. nil for a browser authorized with a code alone, which sees
	// no jobs (it is asked to sign in).
	User *pairgate.User
	// Browser is the authorized browser the page is opened on, if any:
	// the printers deployed to it are printers the person may release to.
	Browser *pairgate.Device
	IP      string
}

// ViewerFor is who opens the Release Portal: the signed-in person u, or
// else the person who authorized the browser, and the browser itself
// (either may be nil).
func (s *Service) ViewerFor(ctx context.Context, u *pairgate.User, browser *pairgate.Device, ip string) (Viewer, error) {
	v := Viewer{User: u, Browser: browser, IP: ip}
	if u == nil && browser != nil && browser.UserID != "" {
		p, err := s.store.GetUser(ctx, browser.UserID)
		switch pairgate.ErrorCode(err) {
		case "":
			v.User = p
		case pairgate.ENOTFOUND:
		default:
			return v, err
		}
	}
	return v, nil
}

func (v Viewer) filter() (pairgate.HeldJobFilter, bool) {
	if v.User == nil {
		return pairgate.HeldJobFilter{}, false
	}
	return pairgate.HeldJobFilter{UserID: v.User.ID, Username: v.User.Username}, true
}

// Owns reports whether the job is the viewer's: theirs for certain, or
// sent in their name by a device-mode device.
func (v Viewer) Owns(j *pairgate.HeldJob) bool {
	if v.User == nil {
		return false
	}
	if j.OwnerUserID != "" {
		return j.OwnerUserID == v.User.ID
	}
	return pairgate.OwnerKey(j.OwnerName) == pairgate.OwnerKey(v.User.Username)
}

func (v Viewer) actor() pairgate.AuditEvent {
	if v.User != nil {
		return pairgate.AuditEvent{ActorType: pairgate.ActorUser, ActorID: v.User.ID, ActorName: v.User.Username, IP: v.IP}
	}
	if v.Browser != nil {
		return pairgate.AuditEvent{ActorType: pairgate.ActorDevice, ActorID: v.Browser.ID, ActorName: v.Browser.Name, IP: v.IP}
	}
	return pairgate.AuditEvent{ActorType: pairgate.ActorAnon, IP: v.IP}
}

// Jobs returns the viewer's jobs, oldest first.
func (s *Service) Jobs(ctx context.Context, v Viewer) ([]*pairgate.HeldJob, error) {
	f, ok := v.filter()
	if !ok {
		return nil, nil
	}
	return s.store.ListHeldJobs(ctx, f)
}

// Printers returns the printers the viewer may release to, by name: the
// IPP printers deployed to the browser the page is opened on, and to the
// devices that submitted the viewer's jobs (the person's own devices).
// A deleted device deploys nothing.
func (s *Service) Printers(ctx context.Context, v Viewer, jobs []*pairgate.HeldJob) ([]pairgate.DevicePrinter, error) {
	var devices []*pairgate.Device
	if v.Browser != nil {
		devices = append(devices, v.Browser)
	}
	seen := map[string]bool{}
	for _, j := range jobs {
		if seen[j.DeviceID] || !v.Owns(j) {
			continue
		}
		seen[j.DeviceID] = true
		d, err := s.store.GetDevice(ctx, j.DeviceID)
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			continue
		}
		if err != nil {
			return nil, err
		}
		if d.State == pairgate.DeviceActive {
			devices = append(devices, d)
		}
	}
	byID := map[string]pairgate.DevicePrinter{}
	for _, d := range devices {
		ps, err := s.store.PrintersForDevice(ctx, d)
		if err != nil {
			return nil, err
		}
		for _, p := range ps {
			if !printing.Releasable(p.URI) {
				continue
			}
			if prev, ok := byID[p.ID]; !ok || (p.Default && !prev.Default && d == v.Browser) {
				byID[p.ID] = p
			}
		}
	}
	out := make([]pairgate.DevicePrinter, 0, len(byID))
	for _, p := range byID {
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b pairgate.DevicePrinter) int {
		if c := strings.Compare(strings.ToLower(a.Name), strings.ToLower(b.Name)); c != 0 {
			return c
		}
		return strings.Compare(a.ID, b.ID)
	})
	return out, nil
}

// Released is one job a Release call took.
type Released struct {
	Job *pairgate.HeldJob
	Err error // why it was not taken; nil when it is on its way
}

// Release claims the viewer's jobs ids for the printer printerID and
// sends them there, in order, in the background; the answer says which
// were taken. Every job must be the viewer's and releasable, and the
// printer one the viewer may release to (see Printers), or nothing is
// released: ENOTFOUND for a job that is not the viewer's (whether or
// not it exists), EFORBIDDEN for a printer that is not deployed to them.
// A job another release claimed first is refused alone (ECONFLICT in its
// Released).
func (s *Service) Release(ctx context.Context, v Viewer, ids []int64, printerID string) ([]Released, error) {
	if v.User == nil {
		return nil, pairgate.Errorf(pairgate.EUNAUTHORIZED, "sign in to release your jobs")
	}
	if len(ids) == 0 {
		return nil, invalid("select the jobs to release")
	}
	if len(ids) > 100 {
		return nil, invalid("release at most 100 jobs at once")
	}
	ids = slices.Compact(slices.Sorted(slices.Values(ids)))
	jobs := make([]*pairgate.HeldJob, 0, len(ids))
	for _, id := range ids {
		j, err := s.store.GetHeldJob(ctx, id)
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND || err == nil && !v.Owns(j) {
			return nil, errNoJob
		}
		if err != nil {
			return nil, err
		}
		jobs = append(jobs, j)
	}
	ps, err := s.Printers(ctx, v, jobs)
	if err != nil {
		return nil, err
	}
	i := slices.IndexFunc(ps, func(p pairgate.DevicePrinter) bool { return p.ID == printerID })
	if i < 0 {
		return nil, pairgate.Errorf(pairgate.EFORBIDDEN, "that printer is not deployed to you: choose one of yours")
	}
	p := ps[i].Printer
	now := s.now()
	claim := pairgate.JobClaim{PrinterID: p.ID, PrinterName: p.Name, By: v.actor().ActorType + ":" + v.actor().ActorID,
		KeepUntil: now.Add(s.cfg.KeepReleased)}
	out := make([]Released, 0, len(jobs))
	var taken []*pairgate.HeldJob
	for _, j := range jobs {
		c, err := s.store.ClaimHeldJob(ctx, j.ID, claim, now)
		if err != nil {
			out = append(out, Released{Job: j, Err: err})
			continue
		}
		taken = append(taken, c)
		out = append(out, Released{Job: c})
	}
	if len(taken) > 0 {
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.send(taken, p, v.actor())
		}()
	}
	return out, nil
}

// send sends claimed jobs to p, one after another, and follows them.
func (s *Service) send(jobs []*pairgate.HeldJob, p *pairgate.Printer, by pairgate.AuditEvent) {
	ctx := audit.WithIP(s.bg, by.IP)
	var sent []*pairgate.HeldJob
	for _, j := range jobs {
		printerJob, err := s.sendOne(ctx, j, p)
		if err != nil {
			reason := pairgate.ErrorMessage(err)
			if ctx.Err() != nil {
				reason = "pairgate stopped while sending the job; release it again"
			}
			if ferr := s.store.HeldJobReleaseFailed(context.WithoutCancel(ctx), j.ID, reason, s.now()); ferr != nil {
				s.log.Warn("release: recording a failed send", "job", j.ID, "err", ferr)
			}
			s.log.Info("release: job not sent", "job", j.ID, "printer", p.ID, "reason", reason)
			s.record(ctx, by, pairgate.AuditJobFailed, j, p, map[string]string{"reason": reason, "stage": "send"})
			continue
		}
		if err := s.store.HeldJobSent(context.WithoutCancel(ctx), j.ID, printerJob, s.now()); err != nil {
			s.log.Error("release: recording a sent job", "job", j.ID, "err", err)
			continue
		}
		j.PrinterJobID = printerJob
		s.record(ctx, by, pairgate.AuditJobReleased, j, p, map[string]string{"printer_job_id": strconv.Itoa(printerJob)})
		sent = append(sent, j)
	}
	s.follow(ctx, sent, p, by)
}

// sendOne sends one job's document with Print-Job and returns the
// printer's job-id. An error's message is for the job's owner.
func (s *Service) sendOne(ctx context.Context, j *pairgate.HeldJob, p *pairgate.Printer) (int, error) {
	ctx, cancel := context.WithTimeout(ctx, s.cfg.SendTimeout)
	defer cancel()
	doc := &documentReader{ctx: ctx, store: s.store, keys: s.keys, job: j}
	id, err := s.sender.Print(ctx, p.URI, printing.Document{JobName: j.Name, UserName: j.OwnerName, Format: j.Format, Copies: j.Copies,
		Size: j.Size, Body: doc})
	if doc.err != nil {
		// The document, not the printer: say so, and log why.
		s.log.Error("release: the held document could not be read back", "job", j.ID, "err", doc.err)
		return 0, pairgate.Errorf(pairgate.EINTERNAL, "the held document could not be read back")
	}
	return id, err
}

// follow asks the printer about the sent jobs until each is done or
// failed, or FollowFor has passed.
func (s *Service) follow(ctx context.Context, jobs []*pairgate.HeldJob, p *pairgate.Printer, by pairgate.AuditEvent) {
	deadline := s.now().Add(s.cfg.FollowFor)
	processing := map[int64]bool{}
	// A printer often finishes a short job within a moment: ask soon,
	// then less and less often, up to PollEvery.
	wait := min(100*time.Millisecond, s.cfg.PollEvery)
	for len(jobs) > 0 && s.now().Before(deadline) {
		var left []*pairgate.HeldJob
		for _, j := range jobs {
			st, err := s.sender.JobStatus(ctx, p.URI, j.PrinterJobID)
			if err != nil {
				// A printer busy printing may not answer at once: ask again.
				s.log.Debug("release: job status", "job", j.ID, "err", err)
				left = append(left, j)
				continue
			}
			wctx := context.WithoutCancel(ctx)
			switch {
			case st.State == printing.JobStateCompleted:
				if err := s.store.HeldJobProgress(wctx, j.ID, pairgate.JobDone, "", s.now()); err != nil {
					s.log.Warn("release: recording progress", "job", j.ID, "err", err)
				}
				s.record(ctx, by, pairgate.AuditJobCompleted, j, p, nil)
			case st.Final():
				reason := st.Why()
				if err := s.store.HeldJobProgress(wctx, j.ID, pairgate.JobFailed, reason, s.now()); err != nil {
					s.log.Warn("release: recording progress", "job", j.ID, "err", err)
				}
				s.record(ctx, by, pairgate.AuditJobFailed, j, p, map[string]string{"reason": reason, "stage": "printer"})
			default:
				if st.State == printing.JobStateProcessing && !processing[j.ID] {
					processing[j.ID] = true
					if err := s.store.HeldJobProgress(wctx, j.ID, pairgate.JobPrinting, "", s.now()); err != nil {
						s.log.Warn("release: recording progress", "job", j.ID, "err", err)
					}
				}
				left = append(left, j)
			}
		}
		jobs = left
		if len(jobs) == 0 {
			return
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, s.cfg.PollEvery)
	}
}

func (s *Service) record(ctx context.Context, by pairgate.AuditEvent, action string, j *pairgate.HeldJob, p *pairgate.Printer, extra map[string]string) {
	e := by
	e.Action, e.Target, e.Details = action, JobTarget(j.ID), jobDetails(j)
	e.Details["printer_id"], e.Details["printer_name"] = p.ID, p.Name
	for k, v := range extra {
		e.Details[k] = v
	}
	s.audit.Record(ctx, e)
}

// Settle waits until none of the jobs ids is still being sent, or
// within has passed, and returns them as they are then.
func (s *Service) Settle(ctx context.Context, ids []int64, within time.Duration) ([]*pairgate.HeldJob, error) {
	deadline := time.Now().Add(within)
	for {
		var out []*pairgate.HeldJob
		busy := false
		for _, id := range ids {
			j, err := s.store.GetHeldJob(ctx, id)
			if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
				continue
			}
			if err != nil {
				return nil, err
			}
			busy = busy || j.State == pairgate.JobReleasing
			out = append(out, j)
		}
		if !busy || time.Now().After(deadline) {
			return out, nil
		}
		select {
		case <-ctx.Done():
			return out, nil
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// Delete deletes one of the viewer's jobs that is not being sent.
func (s *Service) Delete(ctx context.Context, v Viewer, id int64) error {
	j, err := s.store.GetHeldJob(ctx, id)
	if err == nil && !v.Owns(j) {
		err = errNoJob
	}
	if err != nil {
		return err
	}
	gone, err := s.store.DeleteHeldJob(ctx, id)
	if err != nil {
		return err
	}
	s.recordDelete(ctx, gone, v.actor(), "release portal")
	return nil
}

// --- Administration ---

var errNotAdmin = pairgate.Errorf(pairgate.EFORBIDDEN, "only an administrator sees every held job")

// MaySeeAll reports whether the viewer administers the queue.
func (v Viewer) MaySeeAll() bool {
	return v.User != nil && pairgate.RolePermissions(v.User.Role).Has(pairgate.PermJobsManage)
}

// AllJobs returns every job in the queue, oldest first, at most
// pairgate.MaxPageSize: an administrator's view.
func (s *Service) AllJobs(ctx context.Context, v Viewer) ([]*pairgate.HeldJob, error) {
	if !v.MaySeeAll() {
		return nil, errNotAdmin
	}
	return s.store.ListHeldJobs(ctx, pairgate.HeldJobFilter{All: true})
}

// AdminDelete deletes any job that is not being sent.
func (s *Service) AdminDelete(ctx context.Context, v Viewer, id int64) error {
	if !v.MaySeeAll() {
		return errNotAdmin
	}
	gone, err := s.store.DeleteHeldJob(ctx, id)
	if err != nil {
		return err
	}
	s.recordDelete(ctx, gone, v.actor(), "admin")
	return nil
}

// Purge deletes every job that is not being sent, and returns how many.
func (s *Service) Purge(ctx context.Context, v Viewer) (int, error) {
	if !v.MaySeeAll() {
		return 0, errNotAdmin
	}
	n := 0
	for {
		js, err := s.store.ListHeldJobs(ctx, pairgate.HeldJobFilter{All: true})
		if err != nil {
			return n, err
		}
		progress := false
		for _, j := range js {
			gone, err := s.store.DeleteHeldJob(ctx, j.ID)
			switch pairgate.ErrorCode(err) {
			case "":
				n++
				progress = true
				s.recordDelete(ctx, gone, v.actor(), "purge")
			case pairgate.ENOTFOUND, pairgate.ECONFLICT:
			default:
				return n, err
			}
		}
		if !progress || len(js) < pairgate.MaxPageSize {
			return n, nil
		}
	}
}

// --- Expiry ---

// expireBatch is how many jobs one transaction of the sweep deletes.
const expireBatch = 200

// Expire deletes the jobs whose time has passed, batch by batch, and
// fails the releases that were interrupted (their replica stopped):
// every replica runs it every minute, safely at once. An unreleased job
// that expires is an audit event; a released one leaves quietly, its
// release recorded already.
func (s *Service) Expire(ctx context.Context) (int, error) {
	n := 0
	for {
		now := s.now()
		js, err := s.store.ExpireHeldJobs(ctx, now, now.Add(-2*s.cfg.SendTimeout), expireBatch)
		if err != nil {
			return n, err
		}
		for _, j := range js {
			if j.HasDocument() {
				e := pairgate.AuditEvent{Action: pairgate.AuditJobExpired, ActorType: pairgate.ActorSystem, Target: JobTarget(j.ID),
					Details: jobDetails(j)}
				e.Details["reason"] = "not released within " + s.cfg.TTL.String()
				s.audit.Record(ctx, e)
				n++
			}
		}
		if len(js) < expireBatch || ctx.Err() != nil {
			return n, nil
		}
	}
}
