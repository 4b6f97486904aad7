package web

import (
	"net/http"
	"strings"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/ratelimit"
)

type signInView struct {
	base
	Next       string
	Username   string
	Error      string
	Notice     string
	ForDevice  bool // signing in to approve a device: say so
	ForConsole bool // signing in to the Admin Console
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
func (h *Handlers) SignIn(w http.ResponseWriter, r *http.Request) error {
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
	return h.render(w, http.StatusOK, "signin", v)
}

// SignInPost is POST /auth/signin/.
func (h *Handlers) SignInPost(w http.ResponseWriter, r *http.Request) error {
	p, err := form(w, r)
	if err != nil {
		return err
	}
	next := nextParam(p.Get("next"))
	username, password := strings.TrimSpace(p.Get("username")), p.Get("password")
	v := signInView{base: h.base("Sign in", nil), Next: next, Username: username, ForDevice: forDevice(next), ForConsole: forConsole(next)}
	if username == "" || password == "" {
		v.Error = "Enter your username and your password."
		return h.render(w, http.StatusBadRequest, "signin", v)
	}
	if len(username) > 256 {
		username = username[:256]
		v.Username = ""
	}
	ip := h.cfg.IP.Of(r)
	account := ratelimit.AccountSubject(username)
	if err := h.cfg.Limiter.Allow(r.Context(),
		ratelimit.Hit{Rule: h.cfg.Limits.SignInPerIP, Subject: ip},
		ratelimit.Hit{Rule: h.cfg.Limits.SignInPerAccount, Subject: account}); err != nil {
		if pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
			return err
		}
		setRetryAfter(w, err)
		v.Error = "Too many sign-in attempts. For your safety, wait and try again " + ratelimit.In(pairgate.RetryAfter(err)) + "."
		return h.render(w, http.StatusTooManyRequests, "signin", v)
	}
	u, err := h.cfg.Passwords.Check(r.Context(), username, password)
	if err == authn.ErrWrongPassword {
		h.cfg.Log.InfoContext(r.Context(), "sign-in failed", "ip", ip)
		// Who tried is anonymous; the name they typed is kept (shortened),
		// the password never.
		name := username
		if len(name) > 64 {
			name = name[:64]
		}
		h.cfg.Audit.Record(r.Context(), pairgate.AuditEvent{Action: pairgate.AuditSignInFailed, ActorType: pairgate.ActorAnon,
			IP: ip, Details: map[string]string{"username": name, "via": "sign-in page"}})
		v.Error = "Wrong username or password."
		return h.render(w, http.StatusBadRequest, "signin", v)
	}
	if err != nil {
		return err
	}
	if err := h.cfg.Sessions.SignIn(r.Context(), w, r, u, ip); err != nil {
		return err
	}
	h.cfg.Log.InfoContext(r.Context(), "signed in", "user_id", u.ID, "ip", ip)
	h.cfg.Audit.Record(r.Context(), pairgate.AuditEvent{Action: pairgate.AuditSignInSucceeded, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, IP: ip, Details: map[string]string{"via": "sign-in page"}})
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

// SignOutPage is GET /auth/signout: a button, because signing out by a
// mere link would let any site sign people out.
func (h *Handlers) SignOutPage(w http.ResponseWriter, r *http.Request) error {
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
func (h *Handlers) SignOut(w http.ResponseWriter, r *http.Request) error {
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
		h.cfg.Audit.Record(r.Context(), pairgate.AuditEvent{Action: pairgate.AuditSignOut, ActorType: pairgate.ActorUser,
			ActorID: u.ID, ActorName: u.Username})
	}
	return redirect(w, r, "/auth/signin/?signed_out=1")
}

// authorizeAdminBrowser makes the browser an admin signs in to the
// console with an authorized device (DESIGN.md: "An administrator who
// signs in to the console from a browser that is not yet authorized
// authorizes that browser as a device."). A browser that already is one
// stays as it is. It happens at sign-in, not on every console page, so
// that an admin who deletes this browser from the inventory sees it stay
// deleted.
func (h *Handlers) authorizeAdminBrowser(w http.ResponseWriter, r *http.Request, u *pairgate.User, ip string) error {
	_, err := h.cfg.Browsers.Device(r.Context(), r, ip)
	if pairgate.ErrorCode(err) != pairgate.EUNAUTHORIZED {
		return err
	}
	b := h.browserFor(r, "")
	ba, err := h.cfg.Grants.AuthorizeBrowserForAdmin(r.Context(), u, b)
	if err != nil {
		return err
	}
	h.cfg.Browsers.SetCookies(w, ba.Token, b.ID)
	h.cfg.Log.InfoContext(r.Context(), "browser authorized by an admin's sign-in", "device_id", ba.Device.ID, "user_id", u.ID, "ip", ip)
	return nil
}

type homeView struct{ base }

// Home is GET /.
func (h *Handlers) Home(w http.ResponseWriter, r *http.Request) error {
	u, err := h.user(r)
	if err != nil {
		return err
	}
	return h.render(w, http.StatusOK, "home", homeView{h.base("Connect a device", u)})
}

// AddSlash redirects a page's path without its trailing slash to the path
// with it, keeping the query (next, pairing_code).
func (h *Handlers) AddSlash(w http.ResponseWriter, r *http.Request) error {
	to := r.URL.Path + "/"
	if r.URL.RawQuery != "" {
		to += "?" + r.URL.RawQuery
	}
	http.Redirect(w, r, to, http.StatusMovedPermanently)
	return nil
}
