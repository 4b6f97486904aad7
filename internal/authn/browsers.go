package authn

import (
	"context"
	"net/http"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Cookies of a browser authorized as a device. They are separate from the
// person's session cookie: a device authorization lasts long and needs no
// password (the portal), a person's session is short.
const (
	// DeviceCookie holds the device session: a pgb_ token whose keyed hash
	// is a Session row carrying the device's ID.
	DeviceCookie = "pairgate_device"
	// BrowserCookie holds the browser's own random id, the hardware id of
	// its device, so that authorizing the browser again updates its row in
	// the inventory (docs/design.md 2.1). It is an identifier, not a secret.
	BrowserCookie = "pairgate_browser"
)

// browserCookieAge is how long browsers keep both cookies: the most they
// allow (400 days); the device session's own expiry is the server's.
const browserCookieAge = 400 * 24 * 60 * 60

// deviceTouchEvery limits how often a browser's visits are written to its
// device's last-seen time.
const deviceTouchEvery = time.Minute

var errNoBrowserDevice = &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "this browser is not an authorized device"}

// Browsers finds the device a browser is authorized as.
type Browsers struct {
	store pairgate.Store
	keys  *secret.Keys
	seen  *LastSeen
	now   func() time.Time
	// secure marks the cookies Secure (the issuer is https).
	secure bool
}

// NewBrowsers returns the finder of browsers' devices; seen records their
// visits. secure marks the cookies Secure: the issuer is https.
func NewBrowsers(store pairgate.Store, keys *secret.Keys, seen *LastSeen, now func() time.Time, secure bool) *Browsers {
	if store == nil || keys == nil || seen == nil || now == nil {
		panic("authn.NewBrowsers: store, keys, last-seen recorder and clock are required")
	}
	return &Browsers{store: store, keys: keys, seen: seen, now: now, secure: secure}
}

// Device returns the device the request's browser is authorized as, and
// records the visit (at most once a minute, or when the address changed).
// EUNAUTHORIZED when the browser has no device session, or its device was
// deleted.
func (b *Browsers) Device(ctx context.Context, r *http.Request, ip string) (*pairgate.Device, error) {
	c, err := r.Cookie(DeviceCookie)
	if err != nil || !secret.LooksLike(c.Value, secret.PrefixBrowser) {
		return nil, errNoBrowserDevice
	}
	now := b.now()
	h := b.keys.Hash(secret.KindSession, c.Value)
	sess, err := b.store.GetSession(ctx, h, now)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND || (err == nil && sess.DeviceID == "") {
		return nil, errNoBrowserDevice
	}
	if err != nil {
		return nil, err
	}
	d, err := b.store.GetDevice(ctx, sess.DeviceID)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		// The device went without its session (its client was deleted):
		// the session is worthless, and goes too.
		if err := b.store.DeleteSession(ctx, h); err != nil {
			return nil, err
		}
		return nil, errNoBrowserDevice
	}
	if err != nil {
		return nil, err
	}
	if now.Sub(d.LastSeenAt) >= deviceTouchEvery || (ip != "" && ip != d.LastIP) {
		b.seen.Seen(pairgate.DeviceSeen{ID: d.ID, IP: ip, At: now})
		d.LastSeenAt, d.LastIP = now, ip
	}
	return d, nil
}

// BrowserID returns the browser's id from its cookie, or a new one when it
// has none (or a malformed one); SetCookies keeps it.
func (b *Browsers) BrowserID(r *http.Request) string {
	if c, err := r.Cookie(BrowserCookie); err == nil && ValidBrowserID(c.Value) {
		return c.Value
	}
	// Random, not time-ordered: another browser must not be able to guess
	// this one's id and take over its inventory entry.
	return secret.RandomID("br_")
}

// ValidBrowserID reports whether s has the shape of an id BrowserID makes.
func ValidBrowserID(s string) bool {
	if len(s) != 3+26 || s[:3] != "br_" {
		return false
	}
	for i := 3; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

// SetCookies gives the browser its device session token and keeps its id.
// SameSite=Lax: the portal opens from a link in a mail or chat.
func (b *Browsers) SetCookies(w http.ResponseWriter, token, browserID string) {
	for _, c := range []struct{ name, value string }{{DeviceCookie, token}, {BrowserCookie, browserID}} {
		http.SetCookie(w, &http.Cookie{Name: c.name, Value: c.value, Path: "/", MaxAge: browserCookieAge,
			HttpOnly: true, Secure: b.secure, SameSite: http.SameSiteLaxMode})
	}
}
