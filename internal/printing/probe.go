package printing

import (
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/pairgate/pairgate"
)

// Status is what a printer said about itself when it was asked (IPP
// Get-Printer-Attributes), or why it could not be asked.
type Status struct {
	URI          string
	Reachable    bool
	MakeAndModel string   // printer-make-and-model
	State        string   // idle, processing or stopped (printer-state)
	Reasons      []string // printer-state-reasons other than none
	Error        string   // why it is not reachable; safe to show
	CheckedAt    time.Time
}

// Summary is the status in the console's words: "reachable: MODEL, idle"
// or "not reachable: why".
func (s Status) Summary() string {
	if !s.Reachable {
		return "not reachable: " + s.Error
	}
	parts := []string{}
	if s.MakeAndModel != "" {
		parts = append(parts, s.MakeAndModel)
	}
	if s.State != "" {
		st := s.State
		if len(s.Reasons) > 0 {
			st += " (" + strings.Join(s.Reasons, ", ") + ")"
		}
		parts = append(parts, st)
	}
	if len(parts) == 0 {
		return "reachable"
	}
	return "reachable: " + strings.Join(parts, ", ")
}

// Prober asks printers about themselves. It is not a general HTTP client:
// it speaks IPP to the ipp:// and ipps:// URIs it is given and nothing
// else, with a short timeout, no redirects, no proxy, at most 1 MiB of
// answer, and never to link-local, multicast or unspecified addresses
// (cloud metadata services live at 169.254.169.254). Who may make it ask
// is the admin service's to decide (printers.write). It remembers the
// last answer per printer for the console, on this replica only: a hint
// for people, never a rule.
type Prober struct {
	timeout time.Duration
	now     func() time.Time
	hc      *http.Client

	mu   sync.Mutex
	last map[string]Status // by printer ID
}

// maxRemembered bounds the statuses kept; the oldest go first.
const maxRemembered = 10000

// NewProber returns a Prober whose requests give up after timeout.
func NewProber(timeout time.Duration, now func() time.Time) *Prober {
	if timeout <= 0 || now == nil {
		panic("printing.NewProber: a timeout and a clock are required")
	}
	dialer := &net.Dialer{Timeout: timeout, Control: refuseSpecial}
	tr := &http.Transport{
		Proxy:       nil, // a printer is asked directly, never through a proxy of the environment
		DialContext: dialer.DialContext,
		// Printers almost always present a self-signed certificate, and
		// the probe sends nothing secret: it only asks what the printer
		// is. The device's own CUPS or Windows decides whom it trusts.
		TLSClientConfig:       &tls.Config{InsecureSkipVerify: true, MinVersion: tls.VersionTLS12},
		TLSHandshakeTimeout:   timeout,
		ResponseHeaderTimeout: timeout,
		MaxIdleConns:          4,
		IdleConnTimeout:       30 * time.Second,
		DisableCompression:    true,
	}
	return &Prober{timeout: timeout, now: now, last: map[string]Status{},
		hc: &http.Client{Transport: tr, Timeout: timeout, CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		}}}
}

// refuseSpecial keeps the probe off addresses that are no printer's.
func refuseSpecial(network, address string, _ syscall.RawConn) error {
	ap, err := netip.ParseAddrPort(address)
	if err != nil {
		return err
	}
	a := ap.Addr().Unmap()
	if a.IsLinkLocalUnicast() || a.IsLinkLocalMulticast() || a.IsMulticast() || a.IsUnspecified() || a.IsInterfaceLocalMulticast() {
		return fmt.Errorf("address %s is not one a printer can have", a)
	}
	return nil
}

// Probable reports whether a URI can be asked: ipp:// and ipps:// only.
func Probable(uri string) bool {
	return strings.HasPrefix(uri, "ipp://") || strings.HasPrefix(uri, "ipps://")
}

// requested are the printer attributes a probe asks for.

// Probe asks the printer at uri what it is and how it is. It never fails:
// a printer that cannot be asked is a Status that says why.
func (p *Prober) Probe(ctx context.Context, uri string) Status {
	st := Status{URI: uri, CheckedAt: p.now()}
	fail := func(format string, args ...any) Status {
		st.Error = pairgate.Printable(fmt.Sprintf(format, args...), 200)
		return st
	}
	if !Probable(uri) {
		return fail("only ipp:// and ipps:// printers answer a status")
	}
	u, err := pairgate.ParsePrinterURI(uri)
	if err != nil {
		return fail("%s", pairgate.ErrorMessage(err))
	}
	// IPP rides on HTTP (RFC 8010 §4, RFC 7472): ipp is http on port
	// 631 unless the URI says otherwise, ipps is https.
	target := *u
	target.Scheme = "http"
	if u.Scheme == pairgate.SchemeIPPS {
		target.Scheme = "https"
	}
	if u.Port() == "" {
		target.Host = net.JoinHostPort(u.Hostname(), "631")
	}
	if target.Path == "" {
		target.Path = "/"
	}
	body, err := getPrinterAttributes(u.String())
	if err != nil {
		return fail("%v", err)
	}
	ctx, cancel := context.WithTimeout(ctx, p.timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target.String(), bytes.NewReader(body))
	if err != nil {
		return fail("%v", err)
	}
	req.Header.Set("Content-Type", "application/ipp")
	req.Header.Set("User-Agent", "pairgate printer check")
	resp, err := p.hc.Do(req)
	if err != nil {
		return fail("%s", dialError(err, p.timeout))
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fail("it answered HTTP %d, not IPP", resp.StatusCode)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/ipp") {
		return fail("it answered %s, not IPP", pairgate.Printable(ct, 60))
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxIPPResponseLength+1))
	if err != nil {
		return fail("%s", dialError(err, p.timeout))
	}
	if len(raw) > maxIPPResponseLength {
		return fail("its answer is larger than 1 MiB")
	}
	r, err := decodePrinterAnswer(raw)
	if err != nil {
		return fail("%v", err)
	}
	if r.status >= 0x0100 {
		return fail("it answered IPP status 0x%04x (%s)", uint16(r.status), r.status)
	}
	st.Reachable = true
	if v := r.attrs["printer-make-and-model"]; len(v) > 0 {
		st.MakeAndModel = pairgate.Printable(text(v[0].V), 128)
	}
	if v := r.attrs["printer-state"]; len(v) > 0 {
		if n, ok := integer(v[0].V); ok {
			switch n {
			case 3:
				st.State = "idle"
			case 4:
				st.State = "processing"
			case 5:
				st.State = "stopped"
			default:
				st.State = fmt.Sprintf("state %d", n)
			}
		}
	}
	for _, v := range r.attrs["printer-state-reasons"] {
		if s := text(v.V); s != "" && s != "none" && len(st.Reasons) < 8 {
			st.Reasons = append(st.Reasons, pairgate.Printable(s, 64))
		}
	}
	return st
}

// dialError says in a few words why a printer could not be reached.
func dialError(err error, timeout time.Duration) string {
	var ne net.Error
	switch {
	case errors.Is(err, context.DeadlineExceeded), errors.As(err, &ne) && ne.Timeout():
		return fmt.Sprintf("no answer within %v", timeout)
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	}
	var dnsErr *net.DNSError
	if errors.As(err, &dnsErr) {
		return "host name not found"
	}
	var oe *net.OpError
	if errors.As(err, &oe) && oe.Err != nil {
		return oe.Err.Error()
	}
	return err.Error()
}

// Check probes a printer and remembers the answer under its ID.
func (p *Prober) Check(ctx context.Context, printerID, uri string) Status {
	st := p.Probe(ctx, uri)
	p.mu.Lock()
	defer p.mu.Unlock()
	if len(p.last) >= maxRemembered {
		var oldest string
		for id, s := range p.last {
			if oldest == "" || s.CheckedAt.Before(p.last[oldest].CheckedAt) {
				oldest = id
			}
		}
		delete(p.last, oldest)
	}
	p.last[printerID] = st
	return st
}

// Last returns the last status remembered for a printer, when it was for
// the URI the printer has now.
func (p *Prober) Last(printerID, uri string) (Status, bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	st, ok := p.last[printerID]
	if !ok || st.URI != uri {
		return Status{}, false
	}
	return st, true
}

// Forget drops what is remembered about a printer.
func (p *Prober) Forget(printerID string) {
	p.mu.Lock()
	delete(p.last, printerID)
	p.mu.Unlock()
}
