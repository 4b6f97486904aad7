package ipp

import (
	"bufio"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/release"
)

// Path is where the held queue is: its printer-uri is
// ipp://HOST:PORT/ipp/print (ipps with TLS); a job's job-uri is that
// followed by /jobs/ID.
const Path = "/ipp/print"

// maxHeader bounds the attributes of a request: what precedes the
// document. A real request's are a few hundred bytes.
const maxHeader = 64 << 10

// DocumentFormats are the formats the queue holds: what printers take
// without a driver (PDF, PWG and Apple raster, JPEG, plain text), what
// drivers produce (PostScript, PCL), and octet-stream, which the printer
// is left to recognize.
var DocumentFormats = []string{"application/octet-stream", "application/pdf", "application/postscript", "application/vnd.hp-pcl",
	"image/pwg-raster", "image/urf", "image/jpeg", "text/plain"}

// Deps are what the endpoint works with. Every field but TLS is required.
type Deps struct {
	Jobs    *release.Service
	Devices *authn.Devices
	IP      httpx.ClientIP
	Log     *slog.Logger
	Now     func() time.Time
	// ReleaseURL is the Release Portal's page, for printer-more-info and
	// the message of a held job.
	ReleaseURL string
	// TLS says the listener serves TLS: URIs are ipps, and a DPoP proof
	// names an https URL.
	TLS bool
}

// Handler serves the IPP endpoint.
type Handler struct {
	d     Deps
	start time.Time
}

// New returns the IPP endpoint.
func New(d Deps) (*Handler, error) {
	if d.Jobs == nil || d.Devices == nil || d.Log == nil || d.Now == nil || d.ReleaseURL == "" {
		return nil, errors.New("ipp: every dependency is required")
	}
	return &Handler{d: d, start: d.Now()}, nil
}

// request is one IPP request being answered.
type request struct {
	r       *http.Request
	msg     goipp.Message
	doc     io.Reader // what follows the attributes: the document
	header  int64     // bytes of the attributes
	printer string    // our printer-uri, as the client reached us
	claims  *accesstoken.Claims
	device  *pairgate.Device
	ip      string
}

// ipError is an answer that is not successful-ok: an IPP status, a
// message for the client, and the attributes it could not take.
type ipError struct {
	status      goipp.Status
	msg         string
	unsupported goipp.Attributes
}

func (e *ipError) Error() string { return e.status.String() + ": " + e.msg }

func fail(status goipp.Status, msg string) *ipError { return &ipError{status: status, msg: msg} }

// statusOf is the one mapping from pairgate's error codes to IPP
// statuses (RFC 8011 §13.1).
func statusOf(err error) goipp.Status {
	var ie *ipError
	if errors.As(err, &ie) {
		return ie.status
	}
	switch pairgate.ErrorCode(err) {
	case pairgate.EINVALID:
		return goipp.StatusErrorBadRequest
	case pairgate.ETOOLARGE:
		return goipp.StatusErrorRequestEntity
	case pairgate.EFORBIDDEN:
		return goipp.StatusErrorNotAuthorized
	case pairgate.EUNAUTHORIZED, pairgate.EDPOPPROOF, pairgate.EDPOPNONCE:
		return goipp.StatusErrorNotAuthenticated
	case pairgate.ENOTFOUND:
		return goipp.StatusErrorNotFound
	case pairgate.ECONFLICT:
		return goipp.StatusErrorNotPossible
	case pairgate.EUNAVAILABLE, pairgate.ERATELIMITED:
		return goipp.StatusErrorServiceUnavailable
	}
	return goipp.StatusErrorInternal
}

func messageOf(err error) string {
	var ie *ipError
	if errors.As(err, &ie) {
		return ie.msg
	}
	return pairgate.ErrorMessage(err)
}

func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != Path && !strings.HasPrefix(r.URL.Path, Path+"/jobs/") {
		http.Error(w, "not found: the held queue is at "+Path, http.StatusNotFound)
		return
	}
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		http.Error(w, "IPP is sent with POST (RFC 8010 §4)", http.StatusMethodNotAllowed)
		return
	}
	if ct, _, _ := strings.Cut(r.Header.Get("Content-Type"), ";"); !strings.EqualFold(strings.TrimSpace(ct), goipp.ContentType) {
		http.Error(w, "Content-Type must be application/ipp", http.StatusUnsupportedMediaType)
		return
	}
	scheme, hs := "ipp", "http"
	if h.d.TLS {
		scheme, hs = "ipps", "https"
	}
	q := &request{r: r, printer: scheme + "://" + r.Host + Path, ip: h.d.IP.Of(r)}
	ctx := audit.WithIP(r.Context(), q.ip)
	h.d.Devices.SetHeaders(w.Header())
	_, hasAuth := r.Header["Authorization"]
	if !hasAuth {
		// Answered before the body is read, as cupsd does: a client
		// that sent Expect: 100-continue learns it must authenticate
		// before it uploads a document, and libcups then asks for a
		// token and sends the request again.
		h.unauthenticated(w, 0, pairgate.Errorf(pairgate.EUNAUTHORIZED, "an access token is required: Authorization: Bearer, or DPoP for a key-bound device"), false)
		return
	}
	br := bufio.NewReaderSize(r.Body, 32<<10)
	cr := &capped{r: br, n: maxHeader}
	decodeErr := q.msg.Decode(cr)
	q.header, q.doc = maxHeader-cr.n, br
	var err error
	q.claims, q.device, err = h.d.Devices.AuthenticateAt(ctx, r, q.ip, hs+"://"+r.Host+r.URL.Path)
	if err != nil {
		id := uint32(0)
		if decodeErr == nil {
			id = q.msg.RequestID
		}
		if c := pairgate.ErrorCode(err); c == pairgate.EINTERNAL || c == pairgate.EUNAVAILABLE {
			h.answer(w, q, nil, err)
			return
		}
		h.unauthenticated(w, id, err, true)
		return
	}
	if decodeErr != nil {
		// Nothing was understood: a well-formed answer all the same.
		msg := "the request is not IPP (RFC 8010): " + pairgate.Printable(decodeErr.Error(), 120)
		if errors.Is(decodeErr, errHeaderTooLarge) {
			msg = "the request's attributes are larger than 64 KiB"
		}
		resp := goipp.NewResponse(goipp.MakeVersion(1, 1), goipp.StatusErrorBadRequest, 0)
		addCharset(resp)
		resp.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String(msg)))
		h.write(w, http.StatusBadRequest, resp)
		return
	}
	resp, err := h.serve(ctx, q)
	h.answer(w, q, resp, err)
}

// dpopChallenge is the DPoP challenge of RFC 9449 §7.1.
var dpopChallenge = `DPoP realm="pairgate", algs="` + strings.Join(dpop.Algorithms, " ") + `"`

// unauthenticated answers 401 with a challenge and an IPP body that says
// why. A request without credentials gets the Bearer challenge alone
// (RFC 6750 §3), which libcups turns into a request for a token; a
// refused token gets invalid_token, a refused DPoP proof the DPoP
// challenge with its error (RFC 9449 §7.1, §8), as the device API
// answers, so that a DPoP client can retry with a nonce or a corrected
// clock.
func (h *Handler) unauthenticated(w http.ResponseWriter, requestID uint32, err error, hadToken bool) {
	hd := w.Header()
	switch pairgate.ErrorCode(err) {
	case pairgate.EDPOPPROOF:
		hd.Set("WWW-Authenticate", dpopChallenge+`, error="invalid_dpop_proof"`)
	case pairgate.EDPOPNONCE:
		hd.Set("WWW-Authenticate", dpopChallenge+`, error="use_dpop_nonce"`)
	default:
		if hadToken {
			hd.Set("WWW-Authenticate", `Bearer realm="pairgate", error="invalid_token"`)
		} else {
			hd.Set("WWW-Authenticate", `Bearer realm="pairgate"`)
		}
	}
	resp := goipp.NewResponse(goipp.MakeVersion(1, 1), goipp.StatusErrorNotAuthenticated, requestID)
	addCharset(resp)
	resp.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String(pairgate.Shorten(pairgate.ErrorMessage(err), 255))))
	h.write(w, http.StatusUnauthorized, resp)
}

var errHeaderTooLarge = errors.New("the attributes are too large")

// capped reads at most n bytes, then fails: it bounds the attributes.
type capped struct {
	r io.Reader
	n int64
}

func (c *capped) Read(p []byte) (int, error) {
	if c.n <= 0 {
		return 0, errHeaderTooLarge
	}
	if int64(len(p)) > c.n {
		p = p[:c.n]
	}
	n, err := c.r.Read(p)
	c.n -= int64(n)
	return n, err
}

func addCharset(m *goipp.Message) {
	m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
	m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
}

// answer writes the response to an understood request: resp, or the
// error as an IPP status with its message and unsupported attributes.
func (h *Handler) answer(w http.ResponseWriter, q *request, resp *goipp.Message, err error) {
	version := q.msg.Version
	if version.Major() < 1 || version.Major() > 2 {
		version = goipp.MakeVersion(1, 1)
	}
	if err != nil {
		st := statusOf(err)
		if st == goipp.StatusErrorInternal || st == goipp.StatusErrorServiceUnavailable {
			h.d.Log.ErrorContext(q.r.Context(), "ipp request failed", "op", goipp.Op(q.msg.Code).String(), "err", err)
		} else {
			h.d.Log.InfoContext(q.r.Context(), "ipp request refused", "op", goipp.Op(q.msg.Code).String(), "status", st.String(),
				"message", messageOf(err))
		}
		resp = goipp.NewResponse(version, st, q.msg.RequestID)
		addCharset(resp)
		resp.Operation.Add(goipp.MakeAttribute("status-message", goipp.TagText, goipp.String(pairgate.Shorten(messageOf(err), 255))))
		var ie *ipError
		if errors.As(err, &ie) {
			resp.Unsupported = ie.unsupported
		}
		if st == goipp.StatusErrorNotAuthenticated {
			h.unauthenticated(w, q.msg.RequestID, err, true)
			return
		}
	}
	resp.Version = version
	h.write(w, http.StatusOK, resp)
}

func (h *Handler) write(w http.ResponseWriter, status int, m *goipp.Message) {
	b, err := m.EncodeBytes()
	if err != nil {
		h.d.Log.Error("ipp: encode a response", "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", goipp.ContentType)
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

// serve checks what every request must hold (RFC 8011 §4.1) and runs
// the operation.
func (h *Handler) serve(ctx context.Context, q *request) (*goipp.Message, error) {
	switch v := q.msg.Version; v.Major() {
	case 1, 2:
	default:
		return nil, fail(goipp.StatusErrorVersionNotSupported, "IPP version "+v.String()+" is not supported: use 1.1 or 2.0")
	}
	ops := q.msg.Operation
	if len(ops) < 2 || ops[0].Name != "attributes-charset" || ops[1].Name != "attributes-natural-language" {
		return nil, fail(goipp.StatusErrorBadRequest, "the first operation attributes must be attributes-charset and attributes-natural-language")
	}
	if cs := strings.ToLower(str(ops[0])); cs != "utf-8" && cs != "us-ascii" {
		return nil, fail(goipp.StatusErrorCharset, "attributes-charset '"+pairgate.Printable(cs, 40)+"' is not supported: use utf-8")
	}
	switch op := goipp.Op(q.msg.Code); op {
	case goipp.OpPrintJob:
		return h.printJob(ctx, q, true)
	case goipp.OpValidateJob:
		return h.printJob(ctx, q, false)
	case goipp.OpGetJobs:
		return h.getJobs(ctx, q)
	case goipp.OpGetJobAttributes:
		return h.getJobAttributes(ctx, q)
	case goipp.OpCancelJob:
		return h.cancelJob(ctx, q)
	case goipp.OpGetPrinterAttributes:
		return h.getPrinterAttributes(ctx, q)
	default:
		return nil, fail(goipp.StatusErrorOperationNotSupported, "operation "+pairgate.Printable(op.String(), 60)+
			" is not supported: the held queue takes Print-Job, Validate-Job, Get-Jobs, Get-Job-Attributes, Cancel-Job and Get-Printer-Attributes")
	}
}

// operationsSupported is what Get-Printer-Attributes says the queue does.
var operationsSupported = []goipp.Op{goipp.OpPrintJob, goipp.OpValidateJob, goipp.OpCancelJob, goipp.OpGetJobAttributes,
	goipp.OpGetJobs, goipp.OpGetPrinterAttributes}

// --- attribute helpers ---

func find(attrs goipp.Attributes, name string) (goipp.Attribute, bool) {
	for _, a := range attrs {
		if a.Name == name {
			return a, true
		}
	}
	return goipp.Attribute{}, false
}

// str is the first value of an attribute as text.
func str(a goipp.Attribute) string {
	if len(a.Values) == 0 {
		return ""
	}
	switch v := a.Values[0].V.(type) {
	case goipp.String:
		return string(v)
	case goipp.TextWithLang:
		return v.Text
	}
	return a.Values[0].V.String()
}

// integer is the first value of an integer attribute.
func integer(a goipp.Attribute) (int, bool) {
	if len(a.Values) != 1 {
		return 0, false
	}
	n, ok := a.Values[0].V.(goipp.Integer)
	return int(n), ok
}

// textual reports whether an attribute has one value of a text-like tag.
func textual(a goipp.Attribute, tags ...goipp.Tag) bool {
	return len(a.Values) == 1 && slices.Contains(tags, a.Values[0].T)
}

func badValue(a goipp.Attribute, why string) *ipError {
	e := fail(goipp.StatusErrorAttributesOrValues, a.Name+": "+why)
	e.unsupported = goipp.Attributes{a}
	return e
}
