package web

import (
	"net/http"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/upstream"
)

// knownCookie marks a browser that signed in to an account before (see
// authn.Passwords.SignIn): its sign-ins are not held by that account's
// lock-out. It is a proof of a past sign-in, not a credential.
const knownCookie = "pairgate_known"

func (h *SignInPages) setKnownCookie(w http.ResponseWriter, token string) {
	http.SetCookie(w, &http.Cookie{Name: knownCookie, Value: token, Path: "/", MaxAge: 400 * 24 * 60 * 60,
		HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
}

// SignInPages are sign-in and sign-out with a local account, and the home
// page.
type SignInPages struct {
	*site
	passwords *authn.Passwords
	upstream  *upstream.Service
	grants    *grants.Service
	audit     *audit.Recorder
}

type signInView struct {
	base
	Next       string
	Username   string
	Error      string
	Notice     string
	Expired    string // the session ended under a form
	ForDevice  bool   // signing in to approve a device: say so
	ForConsole bool   // signing in to the Admin Console
	// Providers are the upstream providers, a button each.
	Providers []upstream.Provider
	// Local: the username and password form is on.
	Local bool
}

// renderSignIn shows the sign-in page: the local form when it is on, a
// button per upstream provider, whose forms may lead to the providers.
func (h *SignInPages) renderSignIn(w http.ResponseWriter, status int, v signInView) error {
	v.Providers, v.Local = h.upstream.Providers(), h.passwords.Enabled()
	w.Header().Set("Content-Security-Policy", formCSP(h.upstream.FormOrigins()))
	return h.render(w, status, "signin", v)
}

// nextParam returns next if it is a local path, else "".
func nextParam(v string) string {
	if LocalPath(v) {
		return v
	}
	return ""
}

func forDevice(next string) bool {
	return strings.HasPrefix(next, "/device") || strings.HasPrefix(next, "/oauth/authorize/")
}

// forConsole reports whether a sign-in leads to the Admin Console.
func forConsole(next string) bool {
	return next == "/admin" || strings.HasPrefix(next, "/admin/") || strings.HasPrefix(next, "/admin?")
}

// SignIn is GET /auth/signin/. Someone already signed in goes straight on
// to next: the pairing dialect's auth_url always passes through here.
func (h *SignInPages) SignIn(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	next := nextParam(q.Get("next"))
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if u != nil {
		if next == "" {
			next = "/"
		}
		return redirect(w, r, next)
	}
	v := signInView{base: h.base("Sign in", nil), Next: next, ForDevice: forDevice(next), ForConsole: forConsole(next)}
	if q.Get("signed_out") != "" {
		v.Notice = "You are signed out."
	}
	if q.Get("password_changed") != "" {
		v.Notice = "Your password was changed, and you were signed out everywhere. Sign in with the new one."
	}
	if q.Get("expired") != "" {
		v.Expired = "Your session had ended, so your last change was not made. Sign in again: you go back to the page you were on, with what could be kept filled in, to make it again."
	}
	return h.renderSignIn(w, http.StatusOK, v)
}

// SignInPost is POST /auth/signin/.
func (h *SignInPages) SignInPost(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	next := nextParam(p.Get("next"))
	username, password := strings.TrimSpace(p.Get("username")), p.Get("password")
	v := signInView{base: h.base("Sign in", nil), Next: next, Username: username, ForDevice: forDevice(next), ForConsole: forConsole(next)}
	if !h.passwords.Enabled() {
		// The service refuses too (and records the attempt); this only
		// spares the form's fields their checks.
		username = "-"
	}
	if username == "" || password == "" {
		v.Error = "Enter your username and your password."
		return h.renderSignIn(w, http.StatusBadRequest, v)
	}
	if len(username) > 256 {
		v.Username = ""
	}
	ip := h.cfg.IP.Of(r)
	attempt := authn.Attempt{Username: username, Password: password, IP: ip, Via: "sign-in page"}
	if c, err := r.Cookie(knownCookie); err == nil {
		attempt.Known = c.Value
	}
	if d, err := h.cfg.Browsers.Device(r.Context(), r, ip); err == nil {
		attempt.DeviceUserID = d.UserID
	} else if pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
		return err
	}
	in, err := h.passwords.SignIn(r.Context(), attempt)
	switch {
	case pairgate.ErrorCode(err) == pairgate.ERATELIMITED:
		setRetryAfter(w, err)
		v.Error = "Too many sign-in attempts. For your safety, wait and try again " + ratelimit.In(pairgate.RetryAfter(err)) + "."
		return h.renderSignIn(w, http.StatusTooManyRequests, v)
	case err == authn.ErrWrongPassword:
		h.cfg.Log.InfoContext(r.Context(), "sign-in failed", "ip", ip)
		v.Error = "Wrong username or password."
		return h.renderSignIn(w, http.StatusBadRequest, v)
	case err == authn.ErrLocalSignInOff:
		v.Username, v.Error = "", sentence(authn.ErrLocalSignInOff.Message)
		return h.renderSignIn(w, http.StatusForbidden, v)
	case err != nil:
		return err
	}
	h.setKnownCookie(w, in.Known)
	return h.signedIn(w, r, in.User, ip, next)
}

// signedIn starts the session of a person who signed in, however they
// did, and sends them on to next.
func (h *SignInPages) signedIn(w http.ResponseWriter, r *http.Request, u *pairgate.User, ip, next string) error {
	if err := h.cfg.Sessions.SignIn(r.Context(), w, r, u, ip); err != nil {
		return err
	}
	h.cfg.Log.InfoContext(r.Context(), "signed in", "user_id", u.ID, "ip", ip)
	if u.Role == pairgate.RoleAdmin && forConsole(next) {
		if err := h.authorizeAdminBrowser(w, r, u, ip); err != nil {
			return err
		}
	}
	if next == "" {
		next = "/"
	}
	return redirect(w, r, next)
}

// upstreamCookiePath scopes the cookie that binds an upstream sign-in to
// its browser: only the callback ever reads it.
const upstreamCookiePath = "/auth/oidc/"

// UpstreamStart is POST /auth/oidc/{provider}: a provider's button. It is
// a form, not a link, so that another site cannot start sign-ins in a
// person's browser (its POST is refused as cross-origin).
func (h *SignInPages) UpstreamStart(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	next := nextParam(p.Get("next"))
	st, err := h.upstream.Start(r.Context(), upstream.StartRequest{Provider: r.PathValue("provider"), Next: next, IP: h.cfg.IP.Of(r)})
	if err != nil {
		return h.upstreamError(w, r, err, next)
	}
	http.SetCookie(w, &http.Cookie{Name: st.CookieName, Value: st.CookieValue, Path: upstreamCookiePath,
		MaxAge: int(pairgate.UpstreamStateTTL.Seconds()), HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
	return redirect(w, r, st.AuthURL)
}

// UpstreamStartPage is GET /auth/oidc/{provider}: a link cannot start a
// sign-in; it leads to the sign-in page and its buttons.
func (h *SignInPages) UpstreamStartPage(w http.ResponseWriter, r *http.Request) error {
	if next := nextParam(r.URL.Query().Get("next")); next != "" {
		return redirect(w, r, signInURL(next))
	}
	return redirect(w, r, "/auth/signin/")
}

// UpstreamCallback is GET /auth/oidc/{provider}/callback, where the
// provider sends the browser back. The cookie that bound the sign-in to
// this browser goes, whatever happens.
func (h *SignInPages) UpstreamCallback(w http.ResponseWriter, r *http.Request) error {
	q := r.URL.Query()
	ip := h.cfg.IP.Of(r)
	cb := upstream.Callback{Provider: r.PathValue("provider"), Query: q, IP: ip}
	if state := q.Get("state"); state != "" && len(state) <= 512 {
		name := h.upstream.CookieName(state)
		if c, err := r.Cookie(name); err == nil {
			cb.Binding = c.Value
		}
		http.SetCookie(w, &http.Cookie{Name: name, Value: "", Path: upstreamCookiePath, MaxAge: -1,
			HttpOnly: true, Secure: h.cfg.Secure, SameSite: http.SameSiteLaxMode})
	}
	in, err := h.upstream.Finish(r.Context(), cb)
	if err != nil {
		return h.upstreamError(w, r, err, "")
	}
	return h.signedIn(w, r, in.User, ip, in.Next)
}

// upstreamError explains why an upstream sign-in did not happen, with a
// way back to the sign-in page. The cause is in the log.
func (h *SignInPages) upstreamError(w http.ResponseWriter, r *http.Request, err error, next string) error {
	back := "/auth/signin/"
	if next != "" {
		back = signInURL(next)
	}
	status, text, detail := httpx.StatusOf(err), sentence(pairgate.ErrorMessage(err)), ""
	switch pairgate.ErrorCode(err) {
	case pairgate.ERATELIMITED:
		setRetryAfter(w, err)
		text = limitedText(err)
	case pairgate.EUNAVAILABLE:
		w.Header().Set("Retry-After", "30")
	case pairgate.EINTERNAL:
		h.cfg.Log.ErrorContext(r.Context(), "upstream sign-in", "err", err)
		text = "The server could not finish this sign-in. Try again; if it keeps happening, tell your administrator."
		detail = "Request id: " + w.Header().Get("X-Request-Id")
	}
	u, _ := h.user(r)
	return h.render(w, status, "message", messageView{base: h.base("Sign-in did not finish", u), Heading: "Sign-in did not finish",
		Text: text, Detail: detail, Link: "Back to sign-in", LinkTo: back})
}

// SignOutPage is GET /auth/signout: a button, because signing out by a
// mere link would let any site sign people out.
func (h *SignInPages) SignOutPage(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if u == nil {
		return redirect(w, r, "/auth/signin/")
	}
	return h.render(w, http.StatusOK, "signout", h.base("Sign out", u))
}

// SignOut is POST /auth/signout: the session ends on the server, not only
// in this browser.
func (h *SignInPages) SignOut(w http.ResponseWriter, r *http.Request) error {
	if _, err := form(w, r); err != nil {
		return err
	}
	u, err := h.user(r)
	if err != nil {
		return err
	}
	if err := h.cfg.Sessions.SignOut(r.Context(), w, r); err != nil {
		return err
	}
	if u != nil {
		h.audit.Record(r.Context(), pairgate.AuditEvent{Action: pairgate.AuditSignOut, ActorType: pairgate.ActorUser,
			ActorID: u.ID, ActorName: u.Username})
	}
	return redirect(w, r, "/auth/signin/?signed_out=1")
}

// authorizeAdminBrowser makes the browser an admin signs in to the
// console with an authorized device (docs/design.md: "An administrator who
// signs in to the console from a browser that is not yet authorized
// authorizes that browser as a device."). A browser that already is one
// stays as it is. It happens at sign-in, not on every console page, so
// that an admin who deletes this browser from the inventory sees it stay
// deleted.
func (h *SignInPages) authorizeAdminBrowser(w http.ResponseWriter, r *http.Request, u *pairgate.User, ip string) error {
	_, err := h.cfg.Browsers.Device(r.Context(), r, ip)
	if pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
		return err
	}
	b := h.browserFor(r, "")
	ba, err := h.grants.AuthorizeBrowserForAdmin(r.Context(), u, b)
	if err != nil {
		return err
	}
	h.cfg.Browsers.SetCookies(w, ba.Token, b.ID)
	h.cfg.Log.InfoContext(r.Context(), "browser authorized by an admin's sign-in", "device_id", ba.Device.ID, "user_id", u.ID, "ip", ip)
	return nil
}

type homeView struct{ base }

// Home is GET /.
func (h *SignInPages) Home(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "home", homeView{h.base("Connect a device", u)})
}

// AddSlash redirects a page's path without its trailing slash to the path
// with it, keeping the query (next, pairing_code).
func (h *SignInPages) AddSlash(w http.ResponseWriter, r *http.Request) error {
	to := r.URL.Path + "/"
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, to, http.StatusMovedPermanently)
	return nil
}
