package web

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/release"
)

// The Release Portal (/release): a person's held jobs, from an authorized
// browser (the person who authorized it) or signed in. They pick jobs and
// a printer deployed to them and release; pairgate sends the jobs there
// and the page shows how each went. Every form works without JavaScript;
// deleting asks for confirmation in a dialog the server renders, as the
// console does. Admins also see every held job and may purge them.

// ReleasePages are the Release Portal.
type ReleasePages struct {
	*site
	jobs *release.Service
}

// settleWithin is how long a release waits for its jobs to reach the
// printer before the page shows them, sent or still on their way.
const settleWithin = 5 * time.Second

type jobRow struct {
	ID                     int64
	Name, Size, Pages      string
	Device, Submitted      string
	Owner                  string
	Claimed                bool // the owner is a name a device claimed
	State, StateText       string
	Reason, Printer        string
	Releasable, InProgress bool
	Deletable              bool
	Selected               bool
	DeleteURL              string
}

type releaseView struct {
	base
	Signed     bool // someone is known: the person's jobs are shown
	Browser    *pairgate.Device
	Jobs       []jobRow
	Printers   []choice
	NoPrinters bool
	InProgress bool
	// AnyReleasable: some job may be released now (the form is shown).
	AnyReleasable bool
	Notice        string
	Error         string
	TTL           string

	Admin   bool
	AllJobs []jobRow

	Confirm      *jobRow
	ConfirmPurge bool
	PurgeCount   int
}

var stateText = map[string]string{
	pairgate.JobHeld:      "Held",
	pairgate.JobReleasing: "Sending to the printer",
	pairgate.JobSent:      "Sent",
	pairgate.JobPrinting:  "Printing",
	pairgate.JobDone:      "Done",
	pairgate.JobFailed:    "Failed",
}

func (h *ReleasePages) row(j *pairgate.HeldJob, v release.Viewer, selected map[int64]bool) jobRow {
	r := jobRow{ID: j.ID, Name: j.Name, Size: release.BytesText(j.Size), Device: j.DeviceName, Submitted: consoleTime(j.CreatedAt),
		Owner: j.OwnerName, Claimed: !j.Verified(), State: j.State, StateText: stateText[j.State], Reason: j.Reason,
		Printer: j.PrinterName, Releasable: j.Releasable() && v.Owns(j),
		InProgress: j.State == pairgate.JobReleasing || j.State == pairgate.JobSent || j.State == pairgate.JobPrinting,
		Deletable:  j.State != pairgate.JobReleasing, Selected: selected[j.ID],
		DeleteURL: "/release?delete=" + strconv.FormatInt(j.ID, 10) + "#confirm"}
	if j.Pages > 0 {
		r.Pages = strconv.Itoa(j.Pages)
	}
	return r
}

// viewer says who opened the page: the signed-in person, the authorized
// browser and the person behind it.
func (h *ReleasePages) viewer(r *http.Request) (release.Viewer, error) {
	u, err := h.user(r)
	if err != nil {
		return release.Viewer{}, err
	}
	ip := h.cfg.IP.Of(r)
	b, err := h.cfg.Browsers.Device(r.Context(), r, ip)
	if err != nil && pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
		return release.Viewer{}, err
	}
	return h.jobs.ViewerFor(r.Context(), u, b, ip)
}

// Release is GET /release.
func (h *ReleasePages) Release(w http.ResponseWriter, r *http.Request) error {
	v, err := h.viewer(r)
	if err != nil {
		return err
	}
	if v.User == nil && v.Browser == nil {
		return redirect(w, r, signInURL("/release"))
	}
	q := r.URL.Query()
	view := releaseView{}
	switch {
	case q.Get("released") != "":
		n, _ := strconv.Atoi(q.Get("released"))
		view.Notice = releasedText(n, q.Get("to"))
	case q.Get("deleted") != "":
		view.Notice = "The job was deleted."
	case q.Get("purged") != "":
		n, _ := strconv.Atoi(q.Get("purged"))
		view.Notice = strconv.Itoa(n) + " held jobs were deleted."
	}
	return h.show(w, r, v, http.StatusOK, view, nil)
}

func releasedText(n int, printer string) string {
	jobs := "1 job"
	if n != 1 {
		jobs = strconv.Itoa(n) + " jobs"
	}
	if printer == "" {
		return jobs + " released."
	}
	return jobs + " released to " + printer + "."
}

// show renders the page for v, with view's notice or error, selected
// the jobs to keep ticked.
func (h *ReleasePages) show(w http.ResponseWriter, r *http.Request, v release.Viewer, status int, view releaseView, selected map[int64]bool) error {
	ctx := r.Context()
	view.base = h.base("Release Portal", v.User)
	view.Signed, view.Browser = v.User != nil, v.Browser
	view.TTL = durationText(h.jobs.Config().TTL)
	js, err := h.jobs.Jobs(ctx, v)
	if err != nil {
		return err
	}
	for _, j := range js {
		row := h.row(j, v, selected)
		view.InProgress = view.InProgress || row.InProgress
		view.AnyReleasable = view.AnyReleasable || row.Releasable
		view.Jobs = append(view.Jobs, row)
	}
	ps, err := h.jobs.Printers(ctx, v, js)
	if err != nil {
		return err
	}
	// The printer the person asked for when printing comes first, then
	// the default.
	want := ""
	for _, j := range js {
		if j.Releasable() && j.Requested != "" {
			want = j.Requested
			break
		}
	}
	pick := -1
	for i, p := range ps {
		if strings.EqualFold(p.Name, want) || pick < 0 && p.Default {
			pick = i
		}
	}
	for i, p := range ps {
		label := p.Name
		if p.Location != "" {
			label += " (" + p.Location + ")"
		}
		view.Printers = append(view.Printers, choice{Value: p.ID, Label: label, Selected: i == pick})
	}
	view.NoPrinters = len(ps) == 0
	if v.MaySeeAll() {
		view.Admin = true
		all, err := h.jobs.AllJobs(ctx, v)
		if err != nil {
			return err
		}
		for _, j := range all {
			view.AllJobs = append(view.AllJobs, h.row(j, v, nil))
		}
		view.PurgeCount = len(all)
		view.ConfirmPurge = r.URL.Query().Get("purge") != "" && len(all) > 0
	}
	if id, err := strconv.ParseInt(r.URL.Query().Get("delete"), 10, 64); err == nil {
		for _, rows := range [][]jobRow{view.Jobs, view.AllJobs} {
			for i := range rows {
				if rows[i].ID == id && rows[i].Deletable && view.Confirm == nil {
					view.Confirm = &rows[i]
				}
			}
		}
	}
	return h.render(w, status, "release", view)
}

func durationText(d time.Duration) string {
	if d%time.Hour == 0 {
		h := int(d / time.Hour)
		if h == 1 {
			return "1 hour"
		}
		return strconv.Itoa(h) + " hours"
	}
	return d.String()
}

// ReleasePost is POST /release: the ticked jobs (job_ID=1) to the printer
// chosen (printer). A job that is not the person's, or a printer not
// deployed to them, releases nothing and says why.
func (h *ReleasePages) ReleasePost(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	v, err := h.viewer(r)
	if err != nil {
		return err
	}
	if v.User == nil {
		return redirect(w, r, signInURL("/release"))
	}
	var ids []int64
	selected := map[int64]bool{}
	for k := range p {
		if rest, ok := strings.CutPrefix(k, "job_"); ok {
			id, err := strconv.ParseInt(rest, 10, 64)
			if err != nil || id < 1 {
				return pairgate.Errorf(pairgate.EINVALID, "the form names a job that is not one")
			}
			ids = append(ids, id)
			selected[id] = true
		}
	}
	out, err := h.jobs.Release(r.Context(), v, ids, p.Get("printer"))
	switch pairgate.ErrorCode(err) {
	case "":
	case pairgate.EINVALID, pairgate.EFORBIDDEN, pairgate.ENOTFOUND:
		return h.show(w, r, v, httpStatusOf(err), releaseView{Error: sentence(pairgate.ErrorMessage(err))}, selected)
	default:
		return err
	}
	var taken []int64
	var refused []string
	printer := ""
	for _, x := range out {
		if x.Err != nil {
			refused = append(refused, x.Job.Name+": "+pairgate.ErrorMessage(x.Err))
			continue
		}
		taken = append(taken, x.Job.ID)
		printer = x.Job.PrinterName
	}
	if len(refused) > 0 {
		return h.show(w, r, v, http.StatusConflict, releaseView{Notice: releasedText(len(taken), printer),
			Error: sentence("Not released: " + strings.Join(refused, "; "))}, nil)
	}
	// The jobs go to the printer in the background; the page waits a
	// moment so that it usually shows them there.
	if _, err := h.jobs.Settle(r.Context(), taken, settleWithin); err != nil {
		return err
	}
	q := url.Values{"released": {strconv.Itoa(len(taken))}, "to": {printer}}
	return redirect(w, r, "/release?"+q.Encode())
}

func httpStatusOf(err error) int {
	switch pairgate.ErrorCode(err) {
	case pairgate.EFORBIDDEN:
		return http.StatusForbidden
	case pairgate.ENOTFOUND:
		return http.StatusNotFound
	}
	return http.StatusBadRequest
}

// DeleteJob is POST /release/jobs/{id}/delete: the person's own job, or,
// for an admin, anyone's.
func (h *ReleasePages) DeleteJob(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	id, err := strconv.ParseInt(r.PathValue("id"), 10, 64)
	if err != nil || id < 1 {
		return pairgate.Errorf(pairgate.ENOTFOUND, "no such job")
	}
	v, err := h.viewer(r)
	if err != nil {
		return err
	}
	if v.User == nil {
		return redirect(w, r, signInURL("/release"))
	}
	err = h.jobs.Delete(r.Context(), v, id)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND && v.MaySeeAll() {
		err = h.jobs.AdminDelete(r.Context(), v, id)
	}
	switch pairgate.ErrorCode(err) {
	case "":
		return redirect(w, r, "/release?deleted=1")
	case pairgate.ECONFLICT, pairgate.ENOTFOUND:
		return h.show(w, r, v, httpStatusOf(err), releaseView{Error: sentence(pairgate.ErrorMessage(err))}, nil)
	}
	return err
}

// Purge is POST /release/purge: an admin deletes every held job that is
// not being sent.
func (h *ReleasePages) Purge(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	v, err := h.viewer(r)
	if err != nil {
		return err
	}
	n, err := h.jobs.Purge(r.Context(), v)
	if err != nil {
		return err
	}
	return redirect(w, r, "/release?purged="+strconv.Itoa(n))
}
