package web

import (
	"html/template"
	"net/http"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/printing"
)

// The Self-service Portal (/portal): a browser that is an authorized
// device opens it without a password; any other browser is asked for an
// authorization code, and a right one authorizes it (docs/design.md section 1).

// PortalPages are the Self-service Portal.
type PortalPages struct {
	*site
	grants   *grants.Service
	printers *printing.Service
}

// portalPrinter is a printer deployed to the browser, with how to install
// it on the computer the browser says it runs on.
type portalPrinter struct {
	ID, Name, Location, Description, URI, Model, Options string
	Default                                              bool
	IPPLink                                              template.URL // ipp:// or ipps://, for a system that handles them
	Commands                                             string       // lpadmin lines or PowerShell
	Shell                                                string       // what runs them: "Terminal", "PowerShell"
	Phone                                                bool         // a phone or tablet: add it in the system's settings
}

type portalView struct {
	base
	// The authorized browser's device.
	Device       *pairgate.Device
	How          string
	AuthorizedAt string
	Scopes       []scopeView
	Printers     []portalPrinter
	System       string // the computer's system, as the User-Agent says
	CopyScript   string // the copy buttons' script, when there is something to copy
	// The code form.
	Code        string
	DeviceName  string
	DefaultName string
	Dialog      string // why the code was refused; shown as a dialog
	Error       string // anything else wrong with the form
	Limited     bool
}

// Portal is GET /portal.
func (h *PortalPages) Portal(w http.ResponseWriter, r *http.Request) error {
	d, err := h.cfg.Browsers.Device(r.Context(), r, h.cfg.IP.Of(r))
	switch pairgate.ErrorCode(err) {
	case "":
		return h.portalDevice(w, r, d)
	case pairgate.EUNAUTHORIZED:
		return h.portalForm(w, r, http.StatusOK, portalView{})
	}
	return err
}

func (h *PortalPages) portalDevice(w http.ResponseWriter, r *http.Request, d *pairgate.Device) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	v := portalView{base: h.base("Self-service Portal", u), Device: d, AuthorizedAt: consoleTime(d.AuthorizedAt)}
	switch d.AuthMethod {
	case pairgate.AuthByAuthorizationCode:
		v.How = "With an authorization code from your administrator"
	case pairgate.AuthByAdminSignIn:
		v.How = "An administrator signed in on it"
	default:
		v.How = authMethodText(d)
	}
	for _, s := range d.Scopes {
		text, ok := pairgate.ScopeDescriptions[s]
		if !ok {
			text = s
		}
		v.Scopes = append(v.Scopes, scopeView{Name: s, Text: text})
	}
	ps, err := h.printers.ForBrowser(r.Context(), d)
	if err != nil && pairgate.ErrorCode(err) != pairgate.EFORBIDDEN {
		return err
	}
	v.System = systemOf(r.UserAgent())
	for _, p := range ps {
		v.Printers = append(v.Printers, portalPrinterFor(p, v.System))
	}
	if len(v.Printers) > 0 {
		// The copy buttons' script, from this server only; nothing inline.
		w.Header().Set("Content-Security-Policy", portalScriptCSP)
		v.CopyScript = copyScriptPath
	}
	return h.render(w, http.StatusOK, "portal", v)
}

func (h *PortalPages) portalForm(w http.ResponseWriter, r *http.Request, status int, v portalView) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	v.base = h.base("Self-service Portal", u)
	v.DefaultName = browserName(r.UserAgent())
	if v.Dialog != "" {
		// The site's script makes the server-rendered dialog modal;
		// without it, the dialog still closes by its form.
		v.Script = copyScriptPath
	}
	return h.render(w, status, "portal", v)
}

// PortalPost is POST /portal: a code typed in. A wrong or missing code
// shows the "Authorization Code Incorrect/Missing" dialog and changes
// nothing but the count of wrong codes from this address; a right one
// authorizes the browser and opens the portal.
func (h *PortalPages) PortalPost(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	ip := h.cfg.IP.Of(r)
	if _, err := h.cfg.Browsers.Device(r.Context(), r, ip); err == nil {
		return redirect(w, r, "/portal") // already authorized: nothing to do
	} else if pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
		return err
	}
	code := strings.TrimSpace(p.Get("code"))
	name := strings.TrimSpace(p.Get("device_name"))
	v := portalView{Code: code, DeviceName: name}
	if len(code) > 64 {
		v.Code = ""
	}
	b := h.browserFor(r, name)
	ba, err := h.grants.AuthorizeBrowserWithCode(r.Context(), code, b)
	switch pairgate.ErrorCode(err) {
	case "":
		h.cfg.Browsers.SetCookies(w, ba.Token, b.ID)
		return redirect(w, r, "/portal")
	case pairgate.EINVALID:
		if code == "" {
			v.Dialog = "Enter the authorization code your administrator gave you."
		} else {
			v.Error = sentence(pairgate.ErrorMessage(err)) // the device name
		}
		return h.portalForm(w, r, http.StatusBadRequest, v)
	case pairgate.EINVALIDGRANT:
		v.Dialog = "That code is not right: it may be mistyped, expired or deleted. Check it with your administrator and try again."
		return h.portalForm(w, r, http.StatusBadRequest, v)
	case pairgate.ERATELIMITED:
		setRetryAfter(w, err)
		v.Dialog, v.Limited = limitedText(err), true
		return h.portalForm(w, r, http.StatusTooManyRequests, v)
	}
	return err
}

// portalPrinterFor is how the portal shows a printer to a browser on sys.
func portalPrinterFor(p pairgate.DevicePrinter, sys string) portalPrinter {
	pp := portalPrinter{ID: p.ID, Name: p.Name, Location: p.Location, Description: p.Description, URI: p.URI, Model: p.Model,
		Options: optionsText(p.Options), Default: p.Default}
	if p.Driverless() {
		pp.Model = "IPP Everywhere (no driver needed)"
	}
	// Only a URI the domain accepts, and only its IPP schemes, becomes a
	// link: html/template would refuse ipp:// as an unsafe URL otherwise.
	if u, err := pairgate.ParsePrinterURI(p.URI); err == nil && (u.Scheme == pairgate.SchemeIPP || u.Scheme == pairgate.SchemeIPPS) {
		pp.IPPLink = template.URL(u.String())
	}
	q := []printing.Queue{printing.QueueFor(p)}
	switch sys {
	case "Windows":
		pp.Commands, pp.Shell = printing.PowerShell(q), "PowerShell, run as administrator"
	case "iPhone", "iPad", "Android":
		pp.Phone = true
	default:
		pp.Commands, pp.Shell = printing.Lpadmin(q), "a terminal, as root (sudo sh)"
	}
	return pp
}

// systemOf names the operating system a User-Agent says it runs on, as
// browserName does.
func systemOf(ua string) string {
	has := func(s string) bool { return strings.Contains(ua, s) }
	switch {
	case has("iPhone"):
		return "iPhone"
	case has("iPad"):
		return "iPad"
	case has("Android"):
		return "Android"
	case has("CrOS"):
		return "ChromeOS"
	case has("Windows"):
		return "Windows"
	case has("Mac OS X"), has("Macintosh"):
		return "macOS"
	case has("Linux"):
		return "Linux"
	}
	return ""
}
