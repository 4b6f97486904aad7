package authn

import (
	"context"
	"net/http"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// SessionCookie is the name of the browser session cookie. Its value is a
// pgx_ token; the store holds only its keyed hash (docs/design.md 2.5).
const SessionCookie = "pairgate_session"

// Default session lifetimes: a phone left on a consent page for half an
// hour signs out, and no session outlives a working day.
const (
	DefaultIdleTimeout     = 30 * time.Minute
	DefaultAbsoluteTimeout = 12 * time.Hour
)

// sessionTouchEvery limits how often activity is written: the idle limit
// needs minutes, not milliseconds, and reads should not all become writes.
const sessionTouchEvery = time.Minute

// Sessions manages browser sessions: server-side rows found by the keyed
// hash of an HttpOnly, SameSite=Lax cookie.
type Sessions struct {
	store pairgate.Store
	keys  *secret.Keys
	now   func() time.Time
	// secure marks the cookie Secure: the issuer is https, so the cookie
	// never travels in the clear.
	secure   bool
	idle     time.Duration
	absolute time.Duration
}

// NewSessions returns the session manager. idle and absolute are the
// session limits (DefaultIdleTimeout, DefaultAbsoluteTimeout).
func NewSessions(store pairgate.Store, keys *secret.Keys, now func() time.Time, secure bool, idle, absolute time.Duration) *Sessions {
	if store == nil || keys == nil || now == nil || idle <= 0 || absolute <= 0 {
		panic("authn.NewSessions: store, keys, clock and positive timeouts are required")
	}
	return &Sessions{store: store, keys: keys, now: now, secure: secure, idle: idle, absolute: absolute}
}

var errNoSession = &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "not signed in"}

// cookieValue returns the session token a request carries, if it has the
// shape of one; anything else is not looked up.
func cookieValue(r *http.Request) (string, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil || !secret.LooksLike(c.Value, secret.PrefixSession) {
		return "", false
	}
	return c.Value, true
}

// Get returns the live session of a request. A session idle for longer
// than the idle timeout is deleted and treated as absent; the absolute
// expiry is the store's to enforce. EUNAUTHORIZED when there is none.
func (s *Sessions) Get(ctx context.Context, r *http.Request) (*pairgate.Session, error) {
	tok, ok := cookieValue(r)
	if !ok {
		return nil, errNoSession
	}
	h := s.keys.Hash(secret.KindSession, tok)
	now := s.now()
	sess, err := s.store.GetSession(ctx, h, now)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return nil, errNoSession
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(sess.LastSeenAt) > s.idle {
		if err := s.store.DeleteSession(ctx, h); err != nil {
			return nil, err
		}
		return nil, errNoSession
	}
	if now.Sub(sess.LastSeenAt) >= sessionTouchEvery {
		if err := s.store.TouchSession(ctx, h, now); err != nil {
			return nil, err
		}
		sess.LastSeenAt = now
	}
	return sess, nil
}

// User returns the signed-in person of a request and their session.
// EUNAUTHORIZED when nobody is signed in (a session may carry only a
// browser's device authorization) or the account is gone.
func (s *Sessions) User(ctx context.Context, r *http.Request) (*pairgate.User, *pairgate.Session, error) {
	sess, err := s.Get(ctx, r)
	if err != nil {
		return nil, nil, err
	}
	if sess.UserID == "" {
		return nil, nil, errNoSession
	}
	u, err := s.store.GetUser(ctx, sess.UserID)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return nil, nil, errNoSession
	}
	if err != nil {
		return nil, nil, err
	}
	return u, sess, nil
}

// SignIn starts a session for u and sets its cookie. The session the
// browser had before is deleted and a new id issued, so that an id planted
// before sign-in is worthless after it (session fixation); a device
// authorization the old session carried moves to the new one, since it
// belongs to the browser, not to the person.
func (s *Sessions) SignIn(ctx context.Context, w http.ResponseWriter, r *http.Request, u *pairgate.User, ip string) error {
	var deviceID string
	if old, err := s.Get(ctx, r); err == nil {
		deviceID = old.DeviceID
	}
	if err := s.end(ctx, r); err != nil {
		return err
	}
	tok := secret.Token(secret.PrefixSession)
	now := s.now()
	ua := pairgate.Shorten(r.UserAgent(), 256)
	if err := s.store.CreateSession(ctx, &pairgate.Session{
		IDHash: s.keys.Hash(secret.KindSession, tok), UserID: u.ID, DeviceID: deviceID,
		CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(s.absolute), IP: ip, UserAgent: ua,
	}); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie(tok, 0))
	return nil
}

// SignOut deletes the request's session and clears its cookie.
func (s *Sessions) SignOut(ctx context.Context, w http.ResponseWriter, r *http.Request) error {
	if err := s.end(ctx, r); err != nil {
		return err
	}
	http.SetCookie(w, s.cookie("", -1))
	return nil
}

func (s *Sessions) end(ctx context.Context, r *http.Request) error {
	tok, ok := cookieValue(r)
	if !ok {
		return nil
	}
	return s.store.DeleteSession(ctx, s.keys.Hash(secret.KindSession, tok))
}

// cookie is the session cookie: a browser-session cookie (no Max-Age), so
// that closing the browser forgets it; the server's limits apply anyway.
// SameSite=Lax sends it on top-level navigations from other sites (a link
// in a chat to the consent page) but not on their POSTs.
func (s *Sessions) cookie(value string, maxAge int) *http.Cookie {
	return &http.Cookie{Name: SessionCookie, Value: value, Path: "/", MaxAge: maxAge,
		HttpOnly: true, Secure: s.secure, SameSite: http.SameSiteLaxMode}
}
