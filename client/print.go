package client

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/OpenPrinting/goipp"
)

// The held queue (the Release Portal): a job printed there waits until
// its owner releases it at a printer. Jobs are sent over IPP (RFC 8010),
// encoded by OpenPrinting's goipp, with the device's access token.

// Job is a document to hold.
type Job struct {
	// Name is the job-name people see in the Release Portal.
	Name string
	// UserName is the requesting-user-name: whose job it is, for a
	// device-mode device (the server records it as a claim). A user-mode
	// device's token says whose it is, and this is ignored.
	UserName string
	// Format is the document's MIME type: application/pdf, text/plain,
	// application/postscript, image/jpeg…; "" for
	// application/octet-stream, which the printer recognizes.
	Format string
	// Copies, 0 for 1.
	Copies int
	// Printer is the name of the printer (one deployed to the device)
	// the person means to release it at: the Release Portal offers it
	// first (output-device-requested). "" for none.
	Printer string
	// Document is read to its end.
	Document io.Reader
	// Size is the document's length in bytes, -1 when unknown (it is
	// then sent chunked).
	Size int64
}

// HeldJob is what the held queue says of a job it took.
type HeldJob struct {
	ID      int    // the job-id
	URI     string // the job-uri
	State   int    // job-state: 4, pending-held
	Message string // the server's word: where to release it
}

// IPPError is a refusal by the held queue: its IPP status and message.
// It wraps ErrRejected for a client error (0x04xx), ErrNotAuthorized when
// the device's token is not accepted, ErrUnavailable for a server error.
type IPPError struct {
	Status  int    // the IPP status code, e.g. 0x0408
	Name    string // its keyword, e.g. client-error-request-entity-too-large
	Message string // the server's status-message
	kind    error
}

func (e *IPPError) Error() string {
	if e.Message != "" {
		return fmt.Sprintf("%v: the held queue answered %s: %s", e.kind, e.Name, e.Message)
	}
	return fmt.Sprintf("%v: the held queue answered %s", e.kind, e.Name)
}

func (e *IPPError) Unwrap() error { return e.kind }

// Metadata extension: where the server's held queue is.
type heldQueueMeta struct {
	Issuer    string `json:"issuer"`
	HeldQueue string `json:"pairgate_held_queue_uri"`
}

// HeldQueue returns the IPP URI of the held queue of the server at
// issuer, from its metadata (pairgate_held_queue_uri). ErrRejected when
// the server has none (it was started without --ipp-addr).
func HeldQueue(ctx context.Context, hc *http.Client, issuer string) (string, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	issuer = strings.TrimRight(issuer, "/")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, issuer+"/.well-known/oauth-authorization-server", nil)
	if err != nil {
		return "", fmt.Errorf("held queue: %w", err)
	}
	resp, err := hc.Do(req)
	if err != nil {
		return "", unavailable(ctx, "held queue", err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%w: held queue: the metadata answered HTTP %d", ErrUnavailable, resp.StatusCode)
	}
	var m heldQueueMeta
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(&m); err != nil {
		return "", unavailable(ctx, "held queue", err)
	}
	if strings.TrimRight(m.Issuer, "/") != issuer {
		return "", fmt.Errorf("%w: held queue: the server calls itself %q, not %q", ErrRejected, m.Issuer, issuer)
	}
	if m.HeldQueue == "" {
		return "", fmt.Errorf("%w: the server has no held queue (it runs without --ipp-addr)", ErrRejected)
	}
	return m.HeldQueue, nil
}

// Print sends a job to the held queue at queue (an ipp:// or ipps://
// URI, see HeldQueue) with the access token of c, which must be valid
// (take it from a TokenSource), and returns the held job. A key-bound
// device's job goes with a DPoP proof: first a Validate-Job through the
// signing transport, which learns the server's nonce and clock, then the
// Print-Job itself, its document streamed. The error is an *IPPError
// when the queue refused the job.
func Print(ctx context.Context, hc *http.Client, c *Credentials, queue string, j Job) (*HeldJob, error) {
	if hc == nil {
		hc = http.DefaultClient
	}
	if j.Document == nil {
		return nil, errors.New("print: no document")
	}
	target, err := ippTarget(queue)
	if err != nil {
		return nil, err
	}
	format := j.Format
	if format == "" {
		format = "application/octet-stream"
	}
	build := func(op goipp.Op) *goipp.Message {
		m := goipp.NewRequest(goipp.MakeVersion(2, 0), op, 1)
		m.Operation.Add(goipp.MakeAttribute("attributes-charset", goipp.TagCharset, goipp.String("utf-8")))
		m.Operation.Add(goipp.MakeAttribute("attributes-natural-language", goipp.TagLanguage, goipp.String("en")))
		m.Operation.Add(goipp.MakeAttribute("printer-uri", goipp.TagURI, goipp.String(queue)))
		if j.UserName != "" {
			m.Operation.Add(goipp.MakeAttribute("requesting-user-name", goipp.TagName, goipp.String(j.UserName)))
		}
		if j.Name != "" {
			m.Operation.Add(goipp.MakeAttribute("job-name", goipp.TagName, goipp.String(j.Name)))
		}
		m.Operation.Add(goipp.MakeAttribute("document-format", goipp.TagMimeType, goipp.String(format)))
		if j.Copies > 1 {
			m.Job.Add(goipp.MakeAttribute("copies", goipp.TagInteger, goipp.Integer(j.Copies)))
		}
		if j.Printer != "" {
			m.Job.Add(goipp.MakeAttribute("output-device-requested", goipp.TagName, goipp.String(j.Printer)))
		}
		return m
	}
	dpop := c.Key != nil && strings.EqualFold(c.TokenType, "DPoP")
	if dpop {
		// The validation is small, so the signing transport may send it
		// again with a nonce or a corrected clock; the document is
		// streamed once, with what it learnt.
		if _, err := ippCall(ctx, dpopClient(hc, c.Key, c.AccessToken), target, "DPoP "+c.AccessToken, build(goipp.OpValidateJob), nil, 0, nil); err != nil {
			return nil, err
		}
	}
	var sign func(*http.Request) error
	scheme := "Bearer "
	if dpop {
		scheme = "DPoP "
		sign = func(r *http.Request) error {
			st := knownServers.get(r.URL.Scheme + "://" + r.URL.Host)
			proof, err := c.Key.proofAt(r.Method, r.URL.String(), c.AccessToken, st.nonce, time.Now().Add(st.skew))
			if err != nil {
				return err
			}
			r.Header.Set("DPoP", proof)
			return nil
		}
	}
	a, err := ippCall(ctx, hc, target, scheme+c.AccessToken, build(goipp.OpPrintJob), j.Document, j.Size, sign)
	if err != nil {
		return nil, err
	}
	out := &HeldJob{}
	for _, g := range a.AttrGroups() {
		for _, at := range g.Attrs {
			if len(at.Values) == 0 {
				continue
			}
			v := at.Values[0].V
			switch at.Name {
			case "job-id":
				if n, ok := v.(goipp.Integer); ok {
					out.ID = int(n)
				}
			case "job-uri":
				out.URI = v.String()
			case "job-state":
				if n, ok := v.(goipp.Integer); ok {
					out.State = int(n)
				}
			case "status-message":
				out.Message = v.String()
			}
		}
	}
	if out.ID == 0 {
		return nil, fmt.Errorf("%w: the held queue gave the job no job-id", ErrUnavailable)
	}
	return out, nil
}

// ippTarget is the http(s) URL of an ipp(s) URI (RFC 8010 §4, RFC 7472).
func ippTarget(uri string) (string, error) {
	u, err := url.Parse(uri)
	if err != nil || (u.Scheme != "ipp" && u.Scheme != "ipps") || u.Host == "" {
		return "", fmt.Errorf("%w: %q is not an ipp:// or ipps:// URI", ErrRejected, uri)
	}
	t := *u
	t.Scheme = "http"
	if u.Scheme == "ipps" {
		t.Scheme = "https"
	}
	if u.Port() == "" {
		t.Host = u.Host + ":631"
	}
	return t.String(), nil
}

// ippCall sends an IPP request (and a document after it) and decodes the
// answer; any status but successful-ok(-ignored…) is an *IPPError.
func ippCall(ctx context.Context, hc *http.Client, target, auth string, m *goipp.Message, doc io.Reader, size int64,
	sign func(*http.Request) error) (*goipp.Message, error) {
	head, err := m.EncodeBytes()
	if err != nil {
		return nil, fmt.Errorf("print: %w", err)
	}
	var body io.Reader = bytes.NewReader(head)
	length := int64(len(head))
	if doc != nil {
		body = io.MultiReader(body, doc)
		if size >= 0 {
			length += size
		} else {
			length = -1
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, body)
	if err != nil {
		return nil, fmt.Errorf("print: %w", err)
	}
	if length >= 0 {
		req.ContentLength = length
	}
	req.Header.Set("Content-Type", goipp.ContentType)
	req.Header.Set("Authorization", auth)
	if sign != nil {
		if err := sign(req); err != nil {
			return nil, fmt.Errorf("print: %w", err)
		}
	}
	resp, err := hc.Do(req)
	if err != nil {
		return nil, unavailable(ctx, "print", err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, unavailable(ctx, "print", err)
	}
	var a goipp.Message
	if !strings.HasPrefix(resp.Header.Get("Content-Type"), goipp.ContentType) || a.DecodeBytes(raw) != nil {
		switch {
		case resp.StatusCode == http.StatusUnauthorized:
			return nil, fmt.Errorf("%w: the held queue does not accept the device's access token", ErrNotAuthorized)
		case resp.StatusCode >= 500:
			return nil, fmt.Errorf("%w: print: HTTP %d", ErrUnavailable, resp.StatusCode)
		}
		return nil, fmt.Errorf("%w: print: HTTP %d, not IPP: %.200s", ErrRejected, resp.StatusCode, raw)
	}
	st := goipp.Status(a.Code)
	if st <= goipp.StatusOkEventsComplete {
		return &a, nil
	}
	e := &IPPError{Status: int(st), Name: st.String(), kind: ErrRejected}
	for _, at := range a.Operation {
		if at.Name == "status-message" && len(at.Values) > 0 {
			e.Message = at.Values[0].V.String()
		}
	}
	switch {
	case resp.StatusCode == http.StatusUnauthorized || st == goipp.StatusErrorNotAuthenticated:
		e.kind = ErrNotAuthorized
	case st >= 0x0500:
		e.kind = ErrUnavailable
	}
	return nil, e
}
