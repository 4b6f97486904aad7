package web

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// ConsentPages are where a person approves or denies a device: the RFC
// 8628 user-code page (/device) and the pairing dialect's page.
type ConsentPages struct {
	*site
	grants *grants.Service
}

// codeFlow is what differs between the two ways a device asks for a
// person: the RFC 8628 user code (/device) and the pairing dialect's code
// (/oauth/authorize/pairing/). The pages and their rules are the same.
type codeFlow struct {
	Path        string
	Field       string
	Heading     string
	Intro       string
	Label       string
	Placeholder string
	MaxLength   int
	// ShowCode: the person typed or saw this code; the consent page asks
	// them to compare it with the device's display (RFC 8628 §5.4).
	ShowCode bool
	// shape reports whether a code could be one at all: a link carrying
	// one that cannot is refused before sign-in, not after. It looks
	// nothing up, so it tells a guesser nothing.
	shape func(string) bool
	find  func(context.Context, grants.CodeEntry) (*grants.Pending, error)
}

func (h *ConsentPages) deviceFlow() *codeFlow {
	return &codeFlow{
		Path: "/device", Field: "user_code", Heading: "Connect a device",
		Intro: "Enter the code that your printer or device shows.",
		Label: "Code from your device", Placeholder: "BCDF-GHJK", MaxLength: 32, ShowCode: true,
		shape: func(c string) bool { _, ok := secret.NormalizeUserCode(c); return ok },
		find:  h.grants.FindUserCode,
	}
}

func (h *ConsentPages) pairingFlow() *codeFlow {
	return &codeFlow{
		Path: "/oauth/authorize/pairing/", Field: "pairing_code", Heading: "Pair a device",
		Intro: "Enter the pairing code that your printer or device shows. Upper and lower case matter.",
		Label: "Pairing code", Placeholder: "aB3dE5fG7h", MaxLength: 16, ShowCode: true,
		shape: secret.ValidPairingCode,
		find:  h.grants.FindPairingCode,
	}
}

// Device is GET /device.
func (h *ConsentPages) Device(w http.ResponseWriter, r *http.Request) error {
	return h.codeGet(w, r, h.deviceFlow())
}

// DevicePost is POST /device: a code typed in, or a decision on one.
func (h *ConsentPages) DevicePost(w http.ResponseWriter, r *http.Request) error {
	return h.codePost(w, r, h.deviceFlow())
}

// Pairing is GET /oauth/authorize/pairing/, where the pairing dialect's
// auth_url leads after sign-in.
func (h *ConsentPages) Pairing(w http.ResponseWriter, r *http.Request) error {
	return h.codeGet(w, r, h.pairingFlow())
}

// PairingPost is POST /oauth/authorize/pairing/.
func (h *ConsentPages) PairingPost(w http.ResponseWriter, r *http.Request) error {
	return h.codePost(w, r, h.pairingFlow())
}

type codeView struct {
	base
	Flow  *codeFlow
	Code  string
	Error string
}

func (h *ConsentPages) entry(w http.ResponseWriter, status int, f *codeFlow, u *pairgate.User, code, msg string) error {
	return h.render(w, status, "code", codeView{base: h.base(f.Heading, u), Flow: f, Code: code, Error: msg})
}

// codeURL is the page that shows the consent for a code, for returning to
// after sign-in.
func codeURL(f *codeFlow, code string) string {
	return f.Path + "?" + f.Field + "=" + url.QueryEscape(code)
}

// codeGet shows the entry form, or, for a signed-in person following a
// link that carries the code (verification_uri_complete, auth_url), the
// consent page. Someone not signed in signs in first and comes back.
func (h *ConsentPages) codeGet(w http.ResponseWriter, r *http.Request, f *codeFlow) error {
	code := strings.TrimSpace(r.URL.Query().Get(f.Field))
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if code == "" {
		return h.entry(w, http.StatusOK, f, u, "", "")
	}
	if len(code) > f.MaxLength || !f.shape(code) {
		return h.entry(w, http.StatusBadRequest, f, u, "", "That is not a valid code. Check it and try again.")
	}
	if u == nil {
		return redirect(w, r, signInURL(codeURL(f, code)))
	}
	p, err := h.lookup(r, f, code)
	if err != nil {
		return h.codeError(w, r, f, u, code, err)
	}
	return h.consent(w, r, http.StatusOK, f, u, p, "")
}

func (h *ConsentPages) codePost(w http.ResponseWriter, r *http.Request, f *codeFlow) error {
	params, err := form(w, r)
	if err != nil {
		return err
	}
	u, err := h.user(r)
	if err != nil {
		return err
	}
	code := strings.TrimSpace(params.Get(f.Field))
	if code == "" {
		return h.entry(w, http.StatusBadRequest, f, u, "", "Enter the code that your device shows.")
	}
	if len(code) > f.MaxLength {
		return h.entry(w, http.StatusBadRequest, f, u, "", "That is not a valid code. Check it and try again.")
	}
	action := params.Get("action")
	if action == "" {
		p, err := h.lookup(r, f, code)
		if err != nil {
			return h.codeError(w, r, f, u, code, err)
		}
		if u == nil {
			return redirect(w, r, signInURL(codeURL(f, p.Code)))
		}
		return h.consent(w, r, http.StatusOK, f, u, p, "")
	}
	if u == nil {
		// The session ended while the consent page was open: nothing is
		// decided; sign in and decide again.
		return redirect(w, r, signInURL(codeURL(f, code)))
	}
	// The code is looked up again: the form carries the code itself, never
	// an id the browser could swap.
	p, err := h.lookup(r, f, code)
	if err != nil {
		return h.codeError(w, r, f, u, code, err)
	}
	switch action {
	case "approve":
		name := strings.TrimSpace(params.Get("device_name"))
		a, err := h.grants.Approve(r.Context(), grants.Decision{Pending: p, User: u, DeviceName: name, IP: h.cfg.IP.Of(r)})
		switch pairgate.ErrorCode(err) {
		case pairgate.EINVALID:
			return h.consent(w, r, http.StatusBadRequest, f, u, p, sentence(pairgate.ErrorMessage(err)))
		case pairgate.EFORBIDDEN:
			// A phishing defence refused it (and recorded why): the page
			// says why and offers Deny only.
			return h.render(w, http.StatusForbidden, "consent", h.consentView(r, f, u, p, "", err))
		}
		if err != nil {
			return h.codeError(w, r, f, u, code, err)
		}
		if name == "" {
			name = grants.DefaultDeviceName(a.DeviceName, a.HardwareID, p.Client.Name)
		}
		return h.render(w, http.StatusOK, "result", resultView{base: h.base("Device connected", u), Approved: true,
			DeviceName: name, ClientName: p.Client.Name})
	case "deny":
		if err := h.grants.Deny(r.Context(), grants.Decision{Pending: p, User: u, IP: h.cfg.IP.Of(r)}); err != nil {
			return h.codeError(w, r, f, u, code, err)
		}
		return h.render(w, http.StatusOK, "result", resultView{base: h.base("Request denied", u),
			DeviceName: grants.DefaultDeviceName(p.Authorization.DeviceName, p.Authorization.HardwareID, p.Client.Name),
			ClientName: p.Client.Name})
	default:
		return h.consent(w, r, http.StatusBadRequest, f, u, p, "Choose Allow or Deny.")
	}
}

// lookup finds a code; the grants count the attempt against the source
// address and the code (docs/design.md 2.6) before they look it up.
func (h *ConsentPages) lookup(r *http.Request, f *codeFlow, code string) (*grants.Pending, error) {
	return f.find(r.Context(), grants.CodeEntry{Code: code, IP: h.cfg.IP.Of(r)})
}

// codeError shows what went wrong with a code on the entry page, where the
// person can correct it; anything unexpected goes to the error page.
func (h *ConsentPages) codeError(w http.ResponseWriter, r *http.Request, f *codeFlow, u *pairgate.User, code string, err error) error {
	switch pairgate.ErrorCode(err) {
	case pairgate.ERATELIMITED:
		setRetryAfter(w, err)
		return h.entry(w, http.StatusTooManyRequests, f, u, code, limitedText(err))
	case pairgate.ECONFLICT:
		return h.entry(w, statusOfCode(err), f, u, code, sentence(pairgate.ErrorMessage(err))+
			" To connect the device again, start over on the device to get a new code.")
	case pairgate.ENOTFOUND, pairgate.EEXPIRED, pairgate.EINVALID:
		return h.entry(w, statusOfCode(err), f, u, code, sentence(pairgate.ErrorMessage(err)))
	}
	return err
}

func statusOfCode(err error) int {
	switch pairgate.ErrorCode(err) {
	case pairgate.ENOTFOUND:
		return http.StatusNotFound
	case pairgate.ECONFLICT:
		return http.StatusConflict
	default:
		return http.StatusBadRequest
	}
}

type scopeView struct{ Name, Text string }

type consentView struct {
	base
	Flow         *codeFlow
	Code         string
	ClientName   string
	ClientID     string
	Mode         string
	ModeText     string
	Scopes       []scopeView
	DeviceName   string
	HardwareID   string
	RequestIP    string
	SameNetwork  bool
	RequestedAt  string
	RequestedAgo string
	ExpiresIn    string
	Error        string
	// KeyBound: the device asked with a DPoP proof; the code is bound to
	// its key, and only that device can collect what is approved.
	KeyBound bool
	// Refusal says why this person may not approve the request (a
	// phishing defence): the page offers Deny only.
	Refusal string
}

// consent shows the consent page. The grants are asked first whether the
// person may approve at all, so that a refusal is explained before
// anyone clicks Allow.
func (h *ConsentPages) consent(w http.ResponseWriter, r *http.Request, status int, f *codeFlow, u *pairgate.User, p *grants.Pending, msg string) error {
	err := h.grants.CheckApproval(r.Context(), grants.Decision{Pending: p, User: u, IP: h.cfg.IP.Of(r)})
	if pairgate.ErrorCode(err) == pairgate.EFORBIDDEN {
		status = http.StatusForbidden
	} else if err != nil {
		return err
	}
	return h.render(w, status, "consent", h.consentView(r, f, u, p, msg, err))
}

func (h *ConsentPages) consentView(r *http.Request, f *codeFlow, u *pairgate.User, p *grants.Pending, msg string, refused error) consentView {
	a, c := p.Authorization, p.Client
	now := h.cfg.Now()
	v := consentView{
		base: h.base("Allow this device?", u), Flow: f, Code: p.Code, ClientName: c.Name, ClientID: c.ID,
		Mode: string(a.Mode), DeviceName: grants.DefaultDeviceName(a.DeviceName, a.HardwareID, c.Name),
		HardwareID: a.HardwareID, RequestIP: a.RequestIP, SameNetwork: sameNetwork(c.DeviceFlow, a.RequestIP, h.cfg.IP.Of(r)),
		RequestedAt: a.CreatedAt.UTC().Format("15:04 UTC, 2 Jan 2006"), RequestedAgo: ago(now.Sub(a.CreatedAt)),
		ExpiresIn: ratelimit.In(a.ExpiresAt.Sub(now)), Error: msg, KeyBound: a.DPoPJKT != "",
	}
	if refused != nil {
		v.Refusal = sentence(pairgate.ErrorMessage(refused))
	}
	if a.Mode == pairgate.ModeDevice {
		v.ModeText = "As the device itself. It gets its own access, not yours."
	} else {
		v.ModeText = "As you (" + u.Username + "). It can act in your name."
	}
	for _, s := range a.Scopes {
		text, ok := pairgate.ScopeDescriptions[s]
		if !ok {
			text = s
		}
		v.Scopes = append(v.Scopes, scopeView{Name: s, Text: text})
	}
	if v.RequestIP == "" {
		v.RequestIP = "unknown"
	}
	return v
}

// sameNetwork says whether the consent page calls the requester's
// address the person's network: the client's network prefix when it has
// one (what approval is checked against), else the same address.
func sameNetwork(p pairgate.DeviceFlowPolicy, requester, approver string) bool {
	if requester == "" {
		return false
	}
	if p.SameNetworkRequired() {
		return p.SameNetwork(requester, approver)
	}
	return requester == approver
}

type resultView struct {
	base
	Approved   bool
	DeviceName string
	ClientName string
}

// ago says how long ago something happened, in the words a person uses.
func ago(d time.Duration) string {
	switch {
	case d < time.Minute:
		return "just now"
	case d < 2*time.Minute:
		return "1 minute ago"
	case d < time.Hour:
		return fmt.Sprintf("%d minutes ago", int(d/time.Minute))
	case d < 2*time.Hour:
		return "1 hour ago"
	default:
		return fmt.Sprintf("%d hours ago", int(d/time.Hour))
	}
}
