package printing

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/pairgate/pairgate"
)

// Sender sends released jobs to printers over IPP: Print-Job with the
// document streamed behind the request's attributes, then
// Get-Job-Attributes to follow the job to its end. Like Prober it speaks
// only IPP, to ipp:// and ipps:// URIs an administrator set, never
// through a proxy, never to link-local, multicast or unspecified
// addresses, with no redirects. Unlike Prober it verifies an ipps
// printer's certificate: what it sends is a person's document.
type Sender struct {
	timeout time.Duration
	hc      *http.Client
}

// NewSender returns a Sender whose connections, and each wait for an
// answer, give up after timeout. A document may take longer to send:
// its request is bounded by the caller's context.
func NewSender(timeout time.Duration) *Sender {
	if timeout <= 0 {
		panic("printing.NewSender: a timeout is required")
	}
	dialer := &net.Dialer{Timeout: timeout, Control: refuseSpecial}
	tr := &http.Transport{
		Proxy:                 nil,
		DialContext:           dialer.DialContext,
		TLSClientConfig:       &tls.Config{MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConnsPerHost:   2,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
	}
	return &Sender{timeout: timeout, hc: &http.Client{Transport: tr, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// Releasable reports whether released jobs can be sent to a printer of
// this URI: IPP only (socket and LPD printers take documents that were
// rendered for them, which a held job is not).
func Releasable(uri string) bool { return Probable(uri) }

// Document is a job as the Sender sends it.
type Document struct {
	JobName  string
	UserName string // requesting-user-name: whose job it is
	Format   string // document-format
	Copies   int
	Size     int64 // bytes Body will yield, for Content-Length
	Body     io.Reader
}

// Job states of RFC 8011 §5.3.7.
const (
	JobStatePending           = 3
	JobStatePendingHeld       = 4
	JobStateProcessing        = 5
	JobStateProcessingStopped = 6
	JobStateCanceled          = 7
	JobStateAborted           = 8
	JobStateCompleted         = 9
)

// JobStatus is what a printer says of a job.
type JobStatus struct {
	State   int      // job-state
	Reasons []string // job-state-reasons other than none
	Message string   // job-state-message
}

// Final reports whether the job will not change any more.
func (s JobStatus) Final() bool {
	return s.State == JobStateCanceled || s.State == JobStateAborted || s.State == JobStateCompleted
}

// Why is the printer's reason, in its words: the message and the reasons.
func (s JobStatus) Why() string {
	var parts []string
	if s.Message != "" {
		parts = append(parts, s.Message)
	}
	if len(s.Reasons) > 0 {
		parts = append(parts, strings.Join(s.Reasons, ", "))
	}
	switch {
	case len(parts) > 0:
		return strings.Join(parts, ": ")
	case s.State == JobStateCanceled:
		return "canceled at the printer"
	case s.State == JobStateAborted:
		return "aborted by the printer"
	}
	return ""
}

// ippTarget is the http(s) URL an ipp(s) URI is reached at (RFC 8010 §4,
// RFC 7472): port 631 unless the URI says otherwise.
func ippTarget(uri string) (string, *pairgate.Error) {
	if !Probable(uri) {
		return "", pairgate.Errorf(pairgate.EINVALID, "only ipp:// and ipps:// printers take released jobs")
	}
	u, err := pairgate.ParsePrinterURI(uri)
	if err != nil {
		return "", &pairgate.Error{Code: pairgate.EINVALID, Message: pairgate.ErrorMessage(err)}
	}
	t := *u
	t.Scheme = "http"
	if u.Scheme == pairgate.SchemeIPPS {
		t.Scheme = "https"
	}
	if u.Port() == "" {
		t.Host = net.JoinHostPort(u.Hostname(), "631")
	}
	if t.Path == "" {
		t.Path = "/"
	}
	return t.String(), nil
}

func operation(op goipp.Op, uri string) *goipp.Message {
	m := goipp.NewRequest(goipp.MakeVersion(1, 1), op, 1)
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
	m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(uri)))
	return m
}

// failure is an error whose message is safe to show the job's owner.
func failure(format string, args ...any) error {
	return &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: pairgate.Printable(fmt.Sprintf(format, args...), 300)}
}

// call sends an IPP request (its attributes, then body) and decodes the
// answer.
func (s *Sender) call(ctx context.Context, uri string, m *goipp.Message, body io.Reader, bodySize int64) (*printerAnswer, error) {
	target, perr := ippTarget(uri)
	if perr != nil {
		return nil, perr
	}
	head, err := m.EncodeBytes()
	if err != nil {
		return nil, pairgate.Internal(err, "encode IPP request")
	}
	var r io.Reader = bytes.NewReader(head)
	if body != nil {
		r = io.MultiReader(r, body)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, r)
	if err != nil {
		return nil, failure("%v", err)
	}
	// The exact length: a printer need not take a chunked request body.
	req.ContentLength = int64(len(head)) + bodySize
	req.Header.Set("Content-Type", goipp.ContentType)
	req.Header.Set("User-Agent", "pairgate release")
	resp, err := s.hc.Do(req)
	if err != nil {
		return nil, failure("the printer could not be reached: %s", dialError(err, s.timeout))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, failure("the printer answered HTTP %d, not IPP", resp.StatusCode)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxIPPResponseLength+1))
	if err != nil {
		return nil, failure("the printer's answer broke off: %s", dialError(err, s.timeout))
	}
	if len(raw) > maxIPPResponseLength {
		return nil, failure("the printer's answer is larger than 1 MiB")
	}
	a, err := decodePrinterAnswer(raw)
	if err != nil {
		return nil, failure("the printer's answer is not IPP")
	}
	return a, nil
}

// statusMessage is the printer's status-message, if it gave one.
func (a *printerAnswer) statusMessage() string {
	if v := a.attrs["status-message"]; len(v) > 0 {
		return pairgate.Printable(text(v[0].V), 200)
	}
	return ""
}

// Print sends a document to the printer at uri with Print-Job and
// returns the job-id the printer gave it. An error's message says why in
// the printer's words (its IPP status and status-message), safe to show.
func (s *Sender) Print(ctx context.Context, uri string, d Document) (int, error) {
	m := operation(goipp.OpPrintJob, uri)
	user := d.UserName
	if user == "" {
		user = "pairgate"
	}
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(pairgate.Shorten(user, 255))))
	if d.JobName != "" {
		m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(pairgate.Shorten(d.JobName, 255))))
	}
	format := d.Format
	if format == "" {
		format = "application/octet-stream"
	}
	m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
	if d.Copies > 1 {
		m.Job.Add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(d.Copies)))
	}
	a, err := s.call(ctx, uri, m, d.Body, d.Size)
	if err != nil {
		return 0, err
	}
	if a.status >= 0x0100 {
		why := a.status.String()
		if msg := a.statusMessage(); msg != "" {
			why += ": " + msg
		}
		return 0, failure("the printer refused the job (%s)", why)
	}
	v := a.attrs["job-id"]
	if len(v) == 0 {
		return 0, failure("the printer took the job but gave it no job-id")
	}
	id, ok := integer(v[0].V)
	if !ok || id < 1 {
		return 0, failure("the printer gave the job a job-id that is not a number")
	}
	return id, nil
}

// JobStatus asks the printer at uri about its job jobID
// (Get-Job-Attributes).
func (s *Sender) JobStatus(ctx context.Context, uri string, jobID int) (JobStatus, error) {
	m := operation(goipp.OpGetJobAttributes, uri)
	m.Operation.Add(goipp.MakeAttribute("job-id", goipp.TagInteger, goipp.Integer(jobID)))
	m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String("pairgate")))
	req := goipp.MakeAttribute("requested-attributes", goipp.TagKeyword, goipp.String("job-state"))
	req.Values.Add(goipp.TagKeyword, goipp.String("job-state-reasons"))
	req.Values.Add(goipp.TagKeyword, goipp.String("job-state-message"))
	m.Operation.Add(req)
	ctx, cancel := context.WithTimeout(ctx, s.timeout)
	defer cancel()
	a, err := s.call(ctx, uri, m, nil, 0)
	if err != nil {
		return JobStatus{}, err
	}
	if a.status >= 0x0100 {
		return JobStatus{}, failure("the printer does not say how the job is (%s)", a.status)
	}
	var st JobStatus
	if v := a.attrs["job-state"]; len(v) > 0 {
		st.State, _ = integer(v[0].V)
	}
	for _, v := range a.attrs["job-state-reasons"] {
		if r := text(v.V); r != "" && r != "none" && len(st.Reasons) < 8 {
			st.Reasons = append(st.Reasons, pairgate.Printable(r, 64))
		}
	}
	if v := a.attrs["job-state-message"]; len(v) > 0 {
		st.Message = pairgate.Printable(text(v[0].V), 200)
	}
	return st, nil
}
