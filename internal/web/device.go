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
	find     func(context.Context, string) (*grants.Pending, error)
	// canonical returns the form of a typed code that identifies it (for
	// the per-code limit), or false when it cannot be a code at all.
	canonical func(string) (string, bool)
}

func (h *Handlers) deviceFlow() *codeFlow {
	return &codeFlow{
		Path: "/device", Field: "user_code", Heading: "Connect a device",
		Intro: "Enter the code that your printer or device shows.",
		Label: "Code from your device", Placeholder: "BCDF-GHJK", MaxLength: 32, ShowCode: true,
		find: h.cfg.Grants.FindUserCode, canonical: secret.NormalizeUserCode,
	}
}

func (h *Handlers) pairingFlow() *codeFlow {
	return &codeFlow{
		Path: "/oauth/authorize/pairing/", Field: "pairing_code", Heading: "Pair a device",
		Intro: "Enter the pairing code that your printer or device shows. Upper and lower case matter.",
		Label: "Pairing code", Placeholder: "aB3dE5fG7h", MaxLength: 16, ShowCode: true,
		find: h.cfg.Grants.FindPairingCode,
		canonical: func(s string) (string, bool) {
			return s, secret.ValidPairingCode(s)
		},
	}
}

// Device is GET /device.
func (h *Handlers) Device(w http.ResponseWriter, r *http.Request) error {
	return h.codeGet(w, r, h.deviceFlow())
}

// DevicePost is POST /device: a code typed in, or a decision on one.
func (h *Handlers) DevicePost(w http.ResponseWriter, r *http.Request) error {
	return h.codePost(w, r, h.deviceFlow())
}

// Pairing is GET /oauth/authorize/pairing/, where the pairing dialect's
// auth_url leads after sign-in.
func (h *Handlers) Pairing(w http.ResponseWriter, r *http.Request) error {
	return h.codeGet(w, r, h.pairingFlow())
}

// PairingPost is POST /oauth/authorize/pairing/.
func (h *Handlers) PairingPost(w http.ResponseWriter, r *http.Request) error {
	return h.codePost(w, r, h.pairingFlow())
}

type codeView struct {
	base
	Flow  *codeFlow
	Code  string
	Error string
}

func (h *Handlers) entry(w http.ResponseWriter, status int, f *codeFlow, u *pairgate.User, code, msg string) error {
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
func (h *Handlers) codeGet(w http.ResponseWriter, r *http.Request, f *codeFlow) error {
	code := strings.TrimSpace(r.URL.Query().Get(f.Field))
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if code == "" {
		return h.entry(w, http.StatusOK, f, u, "", "")
	}
	if len(code) > f.MaxLength {
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

func (h *Handlers) codePost(w http.ResponseWriter, r *http.Request, f *codeFlow) error {
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
		a, err := h.cfg.Grants.Approve(r.Context(), p, u, name)
		if pairgate.ErrorCode(err) == pairgate.EINVALID {
			return h.consent(w, r, http.StatusBadRequest, f, u, p, sentence(pairgate.ErrorMessage(err)))
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
		if err := h.cfg.Grants.Deny(r.Context(), p, u); err != nil {
			return h.codeError(w, r, f, u, code, err)
		}
		return h.render(w, http.StatusOK, "result", resultView{base: h.base("Request denied", u),
			DeviceName: grants.DefaultDeviceName(p.Authorization.DeviceName, p.Authorization.HardwareID, p.Client.Name),
			ClientName: p.Client.Name})
	default:
		return h.consent(w, r, http.StatusBadRequest, f, u, p, "Choose Allow or Deny.")
	}
}

// lookup finds a code, counting the attempt against the source address
// and against the code (DESIGN.md 2.6) before the store is asked.
func (h *Handlers) lookup(r *http.Request, f *codeFlow, code string) (*grants.Pending, error) {
	hits := []ratelimit.Hit{{Rule: h.cfg.Limits.CodePerIP, Subject: h.cfg.IP.Of(r)}}
	if c, ok := f.canonical(code); ok {
		hits = append(hits, ratelimit.Hit{Rule: h.cfg.Limits.CodePerCode, Subject: f.Field + ":" + c})
	}
	if err := h.cfg.Limiter.Allow(r.Context(), hits...); err != nil {
		return nil, err
	}
	return f.find(r.Context(), code)
}

// codeError shows what went wrong with a code on the entry page, where the
// person can correct it; anything unexpected goes to the error page.
func (h *Handlers) codeError(w http.ResponseWriter, r *http.Request, f *codeFlow, u *pairgate.User, code string, err error) error {
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
}

func (h *Handlers) consent(w http.ResponseWriter, r *http.Request, status int, f *codeFlow, u *pairgate.User, p *grants.Pending, msg string) error {
	a, c := p.Authorization, p.Client
	now := h.cfg.Now()
	v := consentView{
		base: h.base("Allow this device?", u), Flow: f, Code: p.Code, ClientName: c.Name, ClientID: c.ID,
		Mode: string(a.Mode), DeviceName: grants.DefaultDeviceName(a.DeviceName, a.HardwareID, c.Name),
		HardwareID: a.HardwareID, RequestIP: a.RequestIP, SameNetwork: a.RequestIP != "" && a.RequestIP == h.cfg.IP.Of(r),
		RequestedAt: a.CreatedAt.UTC().Format("15:04 UTC, 2 Jan 2006"), RequestedAgo: ago(now.Sub(a.CreatedAt)),
		ExpiresIn: ratelimit.In(a.ExpiresAt.Sub(now)), Error: msg,
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
	return h.render(w, status, "consent", v)
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
