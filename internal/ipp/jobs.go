package ipp

import (
	"context"
	"slices"
	"strconv"
	"strings"

	"github.com/OpenPrinting/goipp"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/release"
)

// The operations. Every job a device sees is its own (a user-mode
// device: its person's), whatever it asks (RFC 8011 my-jobs is implied).

// response starts a successful answer with its operation attributes;
// groups follow in RFC 8011's order: operation, unsupported, then job
// or printer groups.
func response(q *request, status goipp.Status, unsupported goipp.Attributes, msg string) *goipp.Message {
	resp := goipp.NewResponse(q.msg.Version, status, q.msg.RequestID)
	ops := goipp.Attributes{}
	ops.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	ops.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	if msg != "" {
		ops.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String(pairgate.Shorten(msg, 255))))
	}
	resp.Groups = goipp.Groups{{Tag: goipp.TagOperationGroup, Attrs: ops}}
	if len(unsupported) > 0 {
		resp.Groups = append(resp.Groups, goipp.Group{Tag: goipp.TagUnsupportedGroup, Attrs: unsupported})
	}
	return resp
}

// printJob is Print-Job (withDoc) and Validate-Job: the job is checked
// as it would be held; with a document it is held.
func (h *Handler) printJob(ctx context.Context, q *request, withDoc bool) (*goipp.Message, error) {
	sub := release.Submission{Device: q.device, Scopes: pairgate.ParseScopes(q.claims.Scope), IP: q.ip}
	var ignored goipp.Attributes
	fidelity, hasURI := false, false
	documentName := ""
	for _, a := range q.msg.Operation[2:] {
		switch a.Name {
		case "printer-uri":
			if !textual(a, goipp.TagURI) {
				return nil, badValue(a, "must be one uri")
			}
			hasURI = true
		case "requesting-user-name":
			if !textual(a, goipp.TagName, goipp.TagNameLang) {
				return nil, badValue(a, "must be one name")
			}
			sub.UserName = str(a)
		case "job-name", "document-name":
			if !textual(a, goipp.TagName, goipp.TagNameLang) {
				return nil, badValue(a, "must be one name")
			}
			if a.Name == "job-name" {
				sub.JobName = str(a)
			} else {
				documentName = str(a)
			}
		case "document-format":
			if !textual(a, goipp.TagMimeType) {
				return nil, badValue(a, "must be one mimeMediaType")
			}
			f := strings.ToLower(str(a))
			if !slices.Contains(DocumentFormats, f) {
				e := fail(goipp.StatusErrorDocumentFormatNotSupported, "document-format '"+pairgate.Printable(f, 60)+
					"' is not held: send one of "+strings.Join(DocumentFormats, ", "))
				e.unsupported = goipp.Attributes{a}
				return nil, e
			}
			sub.Format = f
		case "job-impressions":
			n, ok := integer(a)
			if !ok || n < 0 {
				return nil, badValue(a, "must be one integer, 0 or more")
			}
			sub.Pages = n
		case "ipp-attribute-fidelity":
			if len(a.Values) != 1 || a.Values[0].T != goipp.TagBoolean {
				return nil, badValue(a, "must be one boolean")
			}
			fidelity = bool(a.Values[0].V.(goipp.Boolean))
		case "compression":
			if c := str(a); c != "none" {
				e := fail(goipp.StatusErrorCompressionNotSupported, "compression '"+pairgate.Printable(c, 30)+"' is not supported: send the document as it is")
				e.unsupported = goipp.Attributes{a}
				return nil, e
			}
		case "job-k-octets", "document-natural-language":
			// The size is counted as the document arrives; the language
			// changes nothing held.
		default:
			ignored = append(ignored, a)
		}
	}
	if !hasURI {
		return nil, fail(goipp.StatusErrorBadRequest, "printer-uri is required")
	}
	if sub.JobName == "" {
		sub.JobName = documentName
	}
	for _, a := range q.msg.Job {
		switch a.Name {
		case "copies":
			n, ok := integer(a)
			if !ok || n < 1 || n > pairgate.MaxJobCopies {
				return nil, badValue(a, "must be one integer from 1 to "+strconv.Itoa(pairgate.MaxJobCopies))
			}
			sub.Copies = n
		case "output-device-requested":
			// PWG 5100.18: the printer the person wants; the Release
			// Portal offers it first.
			if !textual(a, goipp.TagName, goipp.TagNameLang) {
				return nil, badValue(a, "must be one name")
			}
			sub.Printer = str(a)
		default:
			ignored = append(ignored, a)
		}
	}
	if fidelity && len(ignored) > 0 {
		e := fail(goipp.StatusErrorAttributesOrValues, "ipp-attribute-fidelity is true and these attributes are not supported")
		e.unsupported = ignored
		return nil, e
	}
	status := goipp.StatusOk
	if len(ignored) > 0 {
		status = goipp.StatusOkIgnoredOrSubstituted
	}
	if !withDoc {
		if _, err := h.d.Jobs.Check(ctx, sub); err != nil {
			return nil, err
		}
		return response(q, status, ignored, ""), nil
	}
	// A declared length over the limit is refused before the document
	// is read at all.
	if max := h.d.Jobs.Config().MaxJobBytes; q.r.ContentLength > 0 && q.r.ContentLength-q.header > max {
		if _, err := h.d.Jobs.Check(ctx, sub); err != nil {
			return nil, err
		}
		return nil, h.d.Jobs.TooLarge()
	}
	j, err := h.d.Jobs.Submit(ctx, sub, q.doc)
	if err != nil {
		return nil, err
	}
	resp := response(q, status, ignored, "held: release it at "+h.d.ReleaseURL)
	resp.Groups = append(resp.Groups, goipp.Group{Tag: goipp.TagJobGroup, Attrs: h.jobAttrs(q, j, nil)})
	return resp, nil
}

// jobState is a held job's job-state and job-state-reasons, as the queue
// sees it: held until released, processing while it goes to the printer
// and the printer prints it, then completed or aborted.
func jobState(j *pairgate.HeldJob) (int, []string) {
	switch j.State {
	case pairgate.JobHeld:
		return 4, []string{"job-hold-until-specified"}
	case pairgate.JobReleasing:
		return 5, []string{"job-transforming"}
	case pairgate.JobSent, pairgate.JobPrinting:
		return 5, []string{"job-printing"}
	case pairgate.JobDone:
		return 9, []string{"job-completed-successfully"}
	case pairgate.JobFailed:
		if j.HasDocument() {
			return 4, []string{"job-hold-until-specified", "job-completed-with-errors"}
		}
		return 8, []string{"aborted-by-system"}
	}
	return 3, []string{"none"}
}

func (h *Handler) jobURI(q *request, id int64) string {
	return q.printer + "/jobs/" + strconv.FormatInt(id, 10)
}

// jobAttrs are a job's attributes, those in want (all when want is nil).
func (h *Handler) jobAttrs(q *request, j *pairgate.HeldJob, want map[string]bool) goipp.Attributes {
	state, reasons := jobState(j)
	var out goipp.Attributes
	add := func(a goipp.Attribute) {
		if want == nil || want[a.Name] {
			out.Add(a)
		}
	}
	add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(j.ID)))
	add(goipp.MakeAttribute("job-uri", goipp.TagURI, goipp.String(h.jobURI(q, j.ID))))
	add(goipp.MakeAttribute("job-printer-uri", goipp.TagURI, goipp.String(q.printer)))
	add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(j.Name)))
	add(goipp.MakeAttribute("job-originating-user-name", goipp.TagName, goipp.String(j.OwnerName)))
	add(goipp.MakeAttribute("job-state", goipp.TagEnum, goipp.Integer(state)))
	r := goipp.MakeAttribute("job-state-reasons", goipp.TagKeyword, goipp.String(reasons[0]))
	for _, x := range reasons[1:] {
		r.Values.Add(goipp.TagKeyword, goipp.String(x))
	}
	add(r)
	msg := "held: release it at " + h.d.ReleaseURL
	if j.State != pairgate.JobHeld {
		msg = j.State
		if j.PrinterName != "" {
			msg += " at " + j.PrinterName
		}
		if j.Reason != "" {
			msg += ": " + j.Reason
		}
	}
	add(goipp.MakeAttribute("job-state-message", goipp.TagText, goipp.String(pairgate.Shorten(msg, 255))))
	add(goipp.MakeAttribute("job-k-octets", goipp.TagInteger, goipp.Integer((j.Size+1023)/1024)))
	if j.Pages > 0 {
		add(goipp.MakeAttribute("job-impressions", goipp.TagInteger, goipp.Integer(j.Pages)))
	}
	add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(j.Copies)))
	if j.Requested != "" {
		add(goipp.MakeAttribute("output-device-requested", goipp.TagName, goipp.String(j.Requested)))
	}
	add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(j.Format)))
	add(goipp.MakeAttribute("time-at-creation", goipp.TagInteger, goipp.Integer(j.CreatedAt.Unix())))
	return out
}

// requested reads requested-attributes: nil for all, else the names
// (job-id and job-uri always).
func requested(q *request, defaults ...string) map[string]bool {
	a, ok := find(q.msg.Operation, "requested-attributes")
	if !ok {
		if len(defaults) == 0 {
			return nil
		}
		a.Values = nil
		for _, d := range defaults {
			a.Values.Add(goipp.TagKeyword, goipp.String(d))
		}
	}
	want := map[string]bool{"job-id": true, "job-uri": true}
	for _, v := range a.Values {
		s := v.V.String()
		if s == "all" || s == "job-description" || s == "job-template" || s == "job-status" {
			return nil
		}
		want[s] = true
	}
	return want
}

// jobID reads the job a request is about: job-id with printer-uri, or
// job-uri (RFC 8011 §4.3.3).
func (h *Handler) jobID(q *request) (int64, error) {
	if a, ok := find(q.msg.Operation, "job-id"); ok {
		n, ok := integer(a)
		if !ok || n < 1 {
			return 0, badValue(a, "must be one positive integer")
		}
		return int64(n), nil
	}
	if a, ok := find(q.msg.Operation, "job-uri"); ok {
		s := str(a)
		if i := strings.LastIndex(s, "/jobs/"); i >= 0 {
			if n, err := strconv.ParseInt(s[i+len("/jobs/"):], 10, 32); err == nil && n > 0 {
				return n, nil
			}
		}
		return 0, badValue(a, "is not a job of this queue")
	}
	if i := strings.LastIndex(q.r.URL.Path, "/jobs/"); i >= 0 {
		if n, err := strconv.ParseInt(q.r.URL.Path[i+len("/jobs/"):], 10, 32); err == nil && n > 0 {
			return n, nil
		}
	}
	return 0, fail(goipp.StatusErrorBadRequest, "job-id (with printer-uri) or job-uri is required")
}

func (h *Handler) getJobAttributes(ctx context.Context, q *request) (*goipp.Message, error) {
	id, err := h.jobID(q)
	if err != nil {
		return nil, err
	}
	j, err := h.d.Jobs.DeviceJob(ctx, q.device, id)
	if err != nil {
		return nil, err
	}
	resp := response(q, goipp.StatusOk, nil, "")
	resp.Groups = append(resp.Groups, goipp.Group{Tag: goipp.TagJobGroup, Attrs: h.jobAttrs(q, j, requested(q))})
	return resp, nil
}

func (h *Handler) getJobs(ctx context.Context, q *request) (*goipp.Message, error) {
	which := "not-completed"
	if a, ok := find(q.msg.Operation, "which-jobs"); ok {
		which = str(a)
		if which != "not-completed" && which != "completed" && which != "all" {
			return nil, badValue(a, "must be not-completed, completed or all")
		}
	}
	limit := 0
	if a, ok := find(q.msg.Operation, "limit"); ok {
		n, ok := integer(a)
		if !ok || n < 1 {
			return nil, badValue(a, "must be one positive integer")
		}
		limit = n
	}
	js, err := h.d.Jobs.DeviceJobs(ctx, q.device)
	if err != nil {
		return nil, err
	}
	want := requested(q, "job-id", "job-uri")
	resp := response(q, goipp.StatusOk, nil, "")
	n := 0
	for _, j := range js {
		state, _ := jobState(j)
		done := state >= 7
		if which == "not-completed" && done || which == "completed" && !done {
			continue
		}
		if limit > 0 && n == limit {
			break
		}
		resp.Groups = append(resp.Groups, goipp.Group{Tag: goipp.TagJobGroup, Attrs: h.jobAttrs(q, j, want)})
		n++
	}
	return resp, nil
}

func (h *Handler) cancelJob(ctx context.Context, q *request) (*goipp.Message, error) {
	id, err := h.jobID(q)
	if err != nil {
		return nil, err
	}
	if err := h.d.Jobs.Cancel(ctx, q.device, id, q.ip); err != nil {
		return nil, err
	}
	return response(q, goipp.StatusOk, nil, "deleted"), nil
}

func (h *Handler) getPrinterAttributes(ctx context.Context, q *request) (*goipp.Message, error) {
	js, err := h.d.Jobs.DeviceJobs(ctx, q.device)
	if err != nil {
		return nil, err
	}
	queued := 0
	for _, j := range js {
		if s, _ := jobState(j); s < 7 {
			queued++
		}
	}
	security, auth := "none", "oauth"
	if h.d.TLS {
		security = "tls"
	}
	ops := goipp.MakeAttribute("operations-supported", goipp.TagEnum, goipp.Integer(operationsSupported[0]))
	for _, op := range operationsSupported[1:] {
		ops.Values.Add(goipp.TagEnum, goipp.Integer(op))
	}
	formats := goipp.MakeAttribute("document-format-supported", goipp.TagMimeType, goipp.String(DocumentFormats[0]))
	for _, f := range DocumentFormats[1:] {
		formats.Values.Add(goipp.TagMimeType, goipp.String(f))
	}
	versions := goipp.MakeAttribute("ipp-versions-supported", goipp.TagKeyword, goipp.String("1.1"))
	versions.Values.Add(goipp.TagKeyword, goipp.String("2.0"))
	maxK := int(h.d.Jobs.Config().MaxJobBytes / 1024)
	var attrs goipp.Attributes
	for _, a := range []goipp.Attribute{
		goipp.MakeAttribute("printer-uri-supported", goipp.TagURI, goipp.String(q.printer)),
		goipp.MakeAttribute("uri-security-supported", goipp.TagKeyword, goipp.String(security)),
		goipp.MakeAttribute("uri-authentication-supported", goipp.TagKeyword, goipp.String(auth)),
		goipp.MakeAttribute("printer-name", goipp.TagName, goipp.String("pairgate-held")),
		goipp.MakeAttribute("printer-info", goipp.TagText, goipp.String("pairgate held queue: jobs wait until their owner releases them")),
		goipp.MakeAttribute("printer-make-and-model", goipp.TagText, goipp.String("pairgate held queue")),
		goipp.MakeAttribute("printer-more-info", goipp.TagURI, goipp.String(h.d.ReleaseURL)),
		goipp.MakeAttribute("printer-state", goipp.TagEnum, goipp.Integer(3)),
		goipp.MakeAttribute("printer-state-reasons", goipp.TagKeyword, goipp.String("none")),
		goipp.MakeAttribute("printer-is-accepting-jobs", goipp.TagBoolean, goipp.Boolean(true)),
		goipp.MakeAttribute("queued-job-count", goipp.TagInteger, goipp.Integer(queued)),
		goipp.MakeAttribute("printer-up-time", goipp.TagInteger, goipp.Integer(h.d.Now().Unix())),
		versions,
		ops,
		goipp.MakeAttribute("charset-configured", goipp.TagCharset, goipp.String("utf-8")),
		goipp.MakeAttribute("charset-supported", goipp.TagCharset, goipp.String("utf-8")),
		goipp.MakeAttribute("natural-language-configured", goipp.TagLanguage, goipp.String("en")),
		goipp.MakeAttribute("generated-natural-language-supported", goipp.TagLanguage, goipp.String("en")),
		goipp.MakeAttribute("document-format-default", goipp.TagMimeType, goipp.String(DocumentFormats[0])),
		formats,
		goipp.MakeAttribute("pdl-override-supported", goipp.TagKeyword, goipp.String("not-attempted")),
		goipp.MakeAttribute("compression-supported", goipp.TagKeyword, goipp.String("none")),
		goipp.MakeAttribute("multiple-document-jobs-supported", goipp.TagBoolean, goipp.Boolean(false)),
		goipp.MakeAttribute("copies-default", goipp.TagInteger, goipp.Integer(1)),
		goipp.MakeAttribute("copies-supported", goipp.TagRange, goipp.Range{Lower: 1, Upper: pairgate.MaxJobCopies}),
		goipp.MakeAttribute("job-k-octets-supported", goipp.TagRange, goipp.Range{Lower: 0, Upper: maxK}),
	} {
		if want := requestedPrinter(q); want == nil || want[a.Name] {
			attrs.Add(a)
		}
	}
	resp := response(q, goipp.StatusOk, nil, "")
	resp.Groups = append(resp.Groups, goipp.Group{Tag: goipp.TagPrinterGroup, Attrs: attrs})
	return resp, nil
}

// requestedPrinter reads requested-attributes of Get-Printer-Attributes:
// nil for all.
func requestedPrinter(q *request) map[string]bool {
	a, ok := find(q.msg.Operation, "requested-attributes")
	if !ok {
		return nil
	}
	want := map[string]bool{}
	for _, v := range a.Values {
		s := v.V.String()
		if s == "all" || s == "printer-description" || s == "job-template" {
			return nil
		}
		want[s] = true
	}
	return want
}
