package web

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/release"
	"github.com/pairgate/pairgate/internal/upstream"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed assets/style.css
var stylesheet []byte

//go:embed assets/copy.js
var copyScript []byte

// copyScriptPath is the portal's one script, versioned like the
// stylesheet.
var copyScriptPath = func() string {
	sum := sha256.Sum256(copyScript)
	return "/assets/copy.js?v=" + hex.EncodeToString(sum[:6])
}()

// portalScriptCSP is pageCSP for the one page that has a script, the
// portal's copy buttons: its own script file, still nothing inline.
const portalScriptCSP = "default-src 'none'; style-src 'self'; script-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// stylesheetPath carries a hash of the stylesheet, so that it can be cached
// for long and a new release is still fetched at once.
var stylesheetPath = func() string {
	sum := sha256.Sum256(stylesheet)
	return "/assets/style.css?v=" + hex.EncodeToString(sum[:6])
}()

// pageCSP replaces the server's default policy (which allows nothing) on
// HTML pages: they need their own stylesheet and nothing else, no script at
// all, and forms may only post back here.
const pageCSP = "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"

// formCSP is pageCSP with forms also allowed to lead to origins: a
// browser holds a form's redirects to form-action too, and a sign-in
// button's form is answered with a redirect to the provider.
func formCSP(origins []string) string {
	if len(origins) == 0 {
		return pageCSP
	}
	return strings.Replace(pageCSP, "form-action 'self'", "form-action 'self' "+strings.Join(origins, " "), 1)
}

// Deps are what the pages work with. Every field is required.
type Deps struct {
	Issuer    string
	Grants    *grants.Service
	Admin     *admin.Service
	Sessions  *authn.Sessions
	Passwords *authn.Passwords
	Upstream  *upstream.Service
	Browsers  *authn.Browsers
	Printers  *printing.Service // the printers the portal shows a browser
	Jobs      *release.Service  // the Release Portal's held jobs
	// Inactivity is the server's inactivity policy, which the console
	// states (its zero value, the policy off, is a valid one).
	Inactivity pairgate.InactivityPolicy
	Audit      *audit.Recorder
	IP         httpx.ClientIP
	Now        func() time.Time
	Log        *slog.Logger
}

// Pages are the browser pages, by family: each family is a type of its
// own with only the services its pages use, and the server's route table
// maps paths to their methods through Page.
type Pages struct {
	SignIn  *SignInPages  // sign-in, sign-out, the home page
	Consent *ConsentPages // /device and the pairing page: a person approves a device
	Portal  *PortalPages  // the Self-service Portal
	Console *ConsolePages // the Admin Console
	Release *ReleasePages // the Release Portal

	site *site
}

// siteConfig is what every page family shares.
type siteConfig struct {
	Issuer   string
	Sessions *authn.Sessions
	Browsers *authn.Browsers
	IP       httpx.ClientIP
	Now      func() time.Time
	Log      *slog.Logger
	// Secure marks the cookies the pages set Secure: the issuer is https.
	Secure bool
}

// site is what the page families share: templates, the error page, the
// cross-origin guard, who is signed in.
type site struct {
	cfg  siteConfig
	cop  *http.CrossOriginProtection
	tmpl map[string]*template.Template
}

// New prepares the pages.
func New(d Deps) (*Pages, error) {
	if d.Issuer == "" || d.Grants == nil || d.Admin == nil || d.Sessions == nil || d.Passwords == nil || d.Upstream == nil || d.Browsers == nil || d.Printers == nil ||
		d.Jobs == nil || d.Audit == nil || d.Now == nil || d.Log == nil {
		return nil, fmt.Errorf("web: every dependency is required")
	}
	tmpl, err := parseTemplates()
	if err != nil {
		return nil, err
	}
	st := &site{cfg: siteConfig{Issuer: d.Issuer, Sessions: d.Sessions, Browsers: d.Browsers, IP: d.IP, Now: d.Now, Log: d.Log,
		Secure: strings.HasPrefix(d.Issuer, "https://")}, cop: http.NewCrossOriginProtection(), tmpl: tmpl}
	// Behind a proxy that rewrites Host, the Origin of an older browser's
	// same-site POST is the issuer's; trust exactly that one.
	if u, err := url.Parse(d.Issuer); err == nil && u.Scheme != "" && u.Host != "" {
		if err := st.cop.AddTrustedOrigin(u.Scheme + "://" + u.Host); err != nil {
			return nil, fmt.Errorf("web: %w", err)
		}
	}
	st.cop.SetDenyHandler(http.HandlerFunc(st.crossOrigin))
	return &Pages{
		SignIn:  &SignInPages{site: st, passwords: d.Passwords, upstream: d.Upstream, grants: d.Grants, audit: d.Audit},
		Consent: &ConsentPages{site: st, grants: d.Grants},
		Portal:  &PortalPages{site: st, grants: d.Grants, printers: d.Printers},
		Console: &ConsolePages{site: st, admin: d.Admin, inactivity: d.Inactivity},
		Release: &ReleasePages{site: st, jobs: d.Jobs},
		site:    st,
	}, nil
}

// Page adapts a page handler of any family: HTML security headers,
// cross-origin protection for every method that changes state, and errors
// rendered as pages.
func (p *Pages) Page(fn httpx.HandlerFunc) http.Handler { return p.site.page(fn) }

// NotFound is the page for every unknown path.
func (p *Pages) NotFound() http.Handler { return p.site.notFound() }

// MethodNotAllowed answers a known page requested with the wrong method.
func (p *Pages) MethodNotAllowed(allow string) http.Handler { return p.site.methodNotAllowed(allow) }

// Stylesheet serves the one stylesheet.
func (p *Pages) Stylesheet() http.Handler { return assetHandler("text/css; charset=utf-8", stylesheet) }

// CopyScript serves the portal's copy-button script.
func (p *Pages) CopyScript() http.Handler {
	return assetHandler("text/javascript; charset=utf-8", copyScript)
}

func parseTemplates() (map[string]*template.Template, error) {
	layout, err := template.New("layout.html").ParseFS(templateFS, "templates/layout.html")
	if err != nil {
		return nil, fmt.Errorf("web: layout template: %w", err)
	}
	pages, err := fs.Glob(templateFS, "templates/*.html")
	if err != nil {
		return nil, err
	}
	out := map[string]*template.Template{}
	for _, p := range pages {
		name := strings.TrimSuffix(strings.TrimPrefix(p, "templates/"), ".html")
		if name == "layout" {
			continue
		}
		t, err := template.Must(layout.Clone()).ParseFS(templateFS, p)
		if err != nil {
			return nil, fmt.Errorf("web: template %s: %w", name, err)
		}
		out[name] = t
	}
	return out, nil
}

func (h *site) page(fn httpx.HandlerFunc) http.Handler {
	return h.cop.Handler(pageHeaders(httpx.Handle(fn, h.writeError, h.cfg.Log)))
}

// pageHeaders sets what every HTML response carries. Pages show codes,
// names and addresses: no cache may keep them.
func pageHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Security-Policy", pageCSP)
		hd.Set("Cache-Control", "no-store")
		next.ServeHTTP(w, r)
	})
}

func assetHandler(contentType string, body []byte) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hd := w.Header()
		hd.Set("Content-Type", contentType)
		hd.Set("Cache-Control", "public, max-age=604800")
		hd.Set("Content-Length", strconv.Itoa(len(body)))
		if r.Method != http.MethodHead {
			w.Write(body)
		}
	})
}

func (h *site) notFound() http.Handler {
	return h.page(func(w http.ResponseWriter, r *http.Request) error {
		return pairgate.Errorf(pairgate.ENOTFOUND, "there is no page at this address")
	})
}

func (h *site) methodNotAllowed(allow string) http.Handler {
	return h.page(func(w http.ResponseWriter, r *http.Request) error {
		w.Header().Set("Allow", allow)
		return h.message(w, r, http.StatusMethodNotAllowed, "Not allowed",
			"This page cannot be used that way ("+pairgate.Printable(r.Method, 16)+").", "")
	})
}

// base is what the layout needs on every page.
type base struct {
	Title string
	CSS   string
	User  *pairgate.User // signed in, if anyone
	// Wide pages (the console's tables) use the width of a desktop
	// screen; the others stay a phone-sized card.
	Wide bool
	// Console: the person may use the Admin Console (their role has an
	// administrative permission), so pages may link to it.
	Console bool
	// Help is the documentation of what the page does (a README
	// section).
	Help string
	// Script is the page's one script, if it has one (same origin, no
	// inline code: see scriptCSP).
	Script string
}

func (b base) pageScript() string { return b.Script }

// helpBase is where the pages' help links lead: the project's README
// and docs/, on the public repository.
const helpBase = "https://github.com/pairgate/pairgate/blob/main/"

// helpURL is the README section with this anchor.
func helpURL(anchor string) string {
	if anchor == "" {
		return helpBase + "README.md"
	}
	return helpBase + "README.md#" + anchor
}

// inConsole reports whether a path belongs to the Admin Console.
func inConsole(path string) bool { return path == "/admin" || strings.HasPrefix(path, "/admin/") }

// render executes a page into a buffer first, so that a template error is
// a clean 500 rather than half a page.
func (h *site) render(w http.ResponseWriter, status int, name string, data any) error {
	t, ok := h.tmpl[name]
	if !ok {
		return pairgate.Internal(fmt.Errorf("no template %q", name), "render")
	}
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", data); err != nil {
		return pairgate.Internal(err, "render "+name)
	}
	if sp, ok := data.(interface{ pageScript() string }); ok && sp.pageScript() != "" {
		// The page's one script, from this server only; nothing inline.
		w.Header().Set("Content-Security-Policy", portalScriptCSP)
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	_, err := w.Write(buf.Bytes())
	return err
}

func (h *site) base(title string, u *pairgate.User) base {
	return base{Title: title, CSS: stylesheetPath, User: u, Console: u != nil && pairgate.RolePermissions(u.Role).Any(), Help: helpURL(pageHelp[title])}
}

// pageHelp is the README section that explains the pages a person meets
// outside the console (the console's pages set their own); a title not
// named here leads to the README's start.
var pageHelp = map[string]string{
	"Connect a device":    "pairing-a-device",
	"Allow this device?":  "pairing-a-device",
	"Device connected":    "pairing-a-device",
	"Request denied":      "pairing-a-device",
	"Self-service Portal": "administration", // the portal is explained with the console
	"Release Portal":      "release-portal-held-jobs",
	"Sign in":             "signing-in-with-your-organisations-identity-provider",
}

type messageView struct {
	base
	Heading string
	Text    string
	Detail  string
	Link    string
	LinkTo  string
}

// message renders a page that only says something.
func (h *site) message(w http.ResponseWriter, r *http.Request, status int, heading, text, detail string) error {
	u, _ := h.user(r)
	v := messageView{base: h.base(heading, u), Heading: heading, Text: text, Detail: detail, Link: "Connect a device", LinkTo: "/device"}
	// A page of the console or the portal leads back there, not to a
	// device's page.
	switch {
	case inConsole(r.URL.Path):
		v.Link, v.LinkTo, v.Help = "Back to the Admin Console", "/admin", helpURL("administration")
	case r.URL.Path == "/portal" || strings.HasPrefix(r.URL.Path, "/portal/"):
		v.Link, v.LinkTo = "Back to the portal", "/portal"
	}
	return h.render(w, status, "message", v)
}

// writeError renders an error that reached the top of a page handler.
// Errors a page expects (a wrong code, a wrong password) are shown on the
// page itself; what arrives here gets a page of its own.
func (h *site) writeError(w http.ResponseWriter, r *http.Request, err error) {
	status := httpx.StatusOf(err)
	var heading, text, detail string
	switch pairgate.ErrorCode(err) {
	case pairgate.ENOTFOUND:
		heading, text = "Page not found", "There is no page at this address. Check the link, or start again on your device."
		if inConsole(r.URL.Path) {
			text = "The Admin Console has no page at this address. Check the link, or go back to the console."
		}
	case pairgate.ERATELIMITED:
		setRetryAfter(w, err)
		heading, text = "Too many attempts", limitedText(err)
	case pairgate.EUNAVAILABLE:
		w.Header().Set("Retry-After", "5")
		heading, text = "Try again in a moment", "The server cannot reach its database right now. Wait a few seconds and try again."
	case pairgate.ETOOLARGE:
		heading, text = "Too much data", "The form sent more data than a page of this site ever needs."
	case pairgate.EINTERNAL:
		heading, text = "Something went wrong", "The server could not finish this request. Try again; if it keeps happening, tell your administrator."
		detail = "Request id: " + w.Header().Get("X-Request-Id")
	default:
		heading, text = "That did not work", sentence(pairgate.ErrorMessage(err))
	}
	if rerr := h.message(w, r, status, heading, text, detail); rerr != nil {
		h.cfg.Log.ErrorContext(r.Context(), "render error page", "err", rerr)
		http.Error(w, text, status)
	}
}

// crossOrigin refuses a state-changing request that another site's page
// sent (cross-site request forgery).
func (h *site) crossOrigin(w http.ResponseWriter, r *http.Request) {
	h.cfg.Log.InfoContext(r.Context(), "cross-origin form post refused", "path", r.URL.Path,
		"sec_fetch_site", r.Header.Get("Sec-Fetch-Site"), "origin", r.Header.Get("Origin"))
	if err := h.message(w, r, http.StatusForbidden, "Request refused",
		"This form was sent from another website, so pairgate ignored it. Nothing was changed.",
		"If you were following a link, open "+h.cfg.Issuer+"/device yourself and start there."); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
	}
}

func setRetryAfter(w http.ResponseWriter, err error) {
	if d := pairgate.RetryAfter(err); d > 0 {
		w.Header().Set("Retry-After", strconv.Itoa(int((d+time.Second-1)/time.Second)))
	}
}

// limitedText says in words when a rate-limited person may try again.
func limitedText(err error) string {
	return "There have been too many attempts from your network. For your safety, wait and try again " +
		ratelimit.In(pairgate.RetryAfter(err)) + "."
}

// user returns the signed-in person, or nil.
func (h *site) user(r *http.Request) (*pairgate.User, error) {
	u, _, err := h.cfg.Sessions.User(r.Context(), r)
	if pairgate.ErrorCode(err) == pairgate.EUNAUTHORIZED {
		return nil, nil
	}
	return u, err
}

// form reads a POSTed form: url-encoded, within the body limit, each field
// at most once.
func form(w http.ResponseWriter, r *http.Request) (url.Values, error) {
	return httpx.Params(w, r, false)
}

// sentence turns a domain message ("that code has expired; …") into a
// sentence for a page.
func sentence(s string) string {
	parts := strings.Split(s, "; ")
	for i, p := range parts {
		if p == "" {
			continue
		}
		r, n := utf8.DecodeRuneInString(p)
		p = string(unicode.ToUpper(r)) + p[n:]
		if !strings.HasSuffix(p, ".") && !strings.HasSuffix(p, "?") && !strings.HasSuffix(p, "!") {
			p += "."
		}
		parts[i] = p
	}
	return strings.Join(parts, " ")
}

// LocalPath reports whether next may be redirected to after sign-in: a
// path on this server, never another site. It refuses what browsers read
// as a host ("//evil", "/\evil", and the same with tabs or newlines in
// between, which browsers drop), schemes, and anything with control
// characters or backslashes.
func LocalPath(next string) bool {
	if next == "" || len(next) > 2048 || next[0] != '/' {
		return false
	}
	for i := 0; i < len(next); i++ {
		if c := next[i]; c < 0x20 || c == 0x7f || c == '\\' {
			return false
		}
	}
	if len(next) > 1 && next[1] == '/' {
		return false
	}
	u, err := url.Parse(next)
	return err == nil && u.Scheme == "" && u.Host == "" && u.User == nil && u.Opaque == "" && strings.HasPrefix(u.Path, "/")
}

// redirect sends the browser on with 303, so that a POST becomes a GET.
func redirect(w http.ResponseWriter, r *http.Request, to string) error {
	http.Redirect(w, r, to, http.StatusSeeOther)
	return nil
}

// signInURL is the sign-in page that returns to next afterwards.
func signInURL(next string) string {
	return "/auth/signin/?next=" + url.QueryEscape(next)
}
