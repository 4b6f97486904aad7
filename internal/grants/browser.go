package grants

import (
	"context"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Browsers authorized as devices: an admin signing in to the console from
// a browser that is not a device yet, and the Self-service Portal, where a
// person types an admin-issued code. The browser gets a long-lived device
// session (a cookie the pages set), not tokens; it is a Device of the
// built-in browser client like any other, so it shows in the inventory and
// deleting it ends the session at once (docs/design.md 2.1, 2.2).

// BrowserSessionTTL is how long a browser stays authorized as a device
// before it must be authorized again. Browsers keep cookies for at most
// 400 days; a year stays within that.
const BrowserSessionTTL = 365 * 24 * time.Hour

// Browser is the browser being authorized.
type Browser struct {
	// ID is the browser's own random id, kept in a cookie of its own: the
	// device's hardware id, so that authorizing the same browser again
	// updates its row instead of adding one. Unlike a device's hardware
	// id, which is a claim anyone can read off the device and never
	// updates a device (docs/design.md 2.1), this id is 128 random bits that
	// only the browser holds: presenting it proves possession of the
	// browser's current authorization, as the identity rule asks.
	ID        string
	Name      string // the device name
	IP        string
	UserAgent string
}

// BrowserAuthorization is what a browser gets when it is authorized.
type BrowserAuthorization struct {
	// Token is the device session's cookie value, the only plaintext copy;
	// the store keeps its keyed hash.
	Token     string
	Device    *pairgate.Device
	ExpiresAt time.Time
}

// AuthorizeBrowserForAdmin authorizes the browser an admin has just signed
// in with (AuthByAdminSignIn, approved by that admin).
func (s *Service) AuthorizeBrowserForAdmin(ctx context.Context, u *pairgate.User, b Browser) (*BrowserAuthorization, error) {
	if u.Role != pairgate.RoleAdmin {
		return nil, pairgate.Errorf(pairgate.EFORBIDDEN, "only an admin's sign-in authorizes a browser")
	}
	ba, err := s.authorizeBrowser(ctx, b, pairgate.AuthByAdminSignIn, nil, u.ID)
	if err != nil {
		return nil, err
	}
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditDeviceAuthorized, ActorType: pairgate.ActorUser,
		ActorID: u.ID, ActorName: u.Username, Target: ba.Device.ID, IP: b.IP, Details: browserDetails(ba.Device)})
	return ba, nil
}

var errNoAuthCode = pairgate.Errorf(pairgate.EINVALID, "enter the authorization code your administrator gave you")

// AuthorizeBrowserWithCode authorizes a browser with an admin-issued code,
// typed into the Self-service Portal. Wrong codes count against the same
// per-source limit as wrong codes at the token endpoint (docs/design.md 2.6):
// one budget for one secret space. An empty code is EINVALID and counts
// nothing; a wrong, expired or deleted one is EINVALIDGRANT.
func (s *Service) AuthorizeBrowserWithCode(ctx context.Context, code string, b Browser) (*BrowserAuthorization, error) {
	if code == "" {
		return nil, errNoAuthCode
	}
	// A bad name is refused before the code is looked at, so that it is
	// never mistaken for a wrong code.
	if err := b.valid(); err != nil {
		return nil, err
	}
	ac, guess, err := s.lookUpAuthorizationCode(ctx, code, b.IP, pairgate.ActorAnon, "", "portal")
	if err != nil {
		return nil, err
	}
	// The store checks the code again in the transaction that authorizes,
	// so a code deleted or expiring since the lookup authorizes nothing.
	ba, err := s.authorizeBrowser(ctx, b, pairgate.AuthByAuthorizationCode, ac, "")
	if pairgate.ErrorCode(err) == pairgate.EINVALIDGRANT {
		s.codeFailed(ctx, b.IP, pairgate.ActorAnon, "", "portal", "deleted or expired while redeeming")
		return nil, errWrongAuthCode
	}
	if err != nil {
		return nil, err
	}
	s.codeRight(ctx, guess)
	d := ba.Device
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditCodeRedeemed, ActorType: pairgate.ActorAnon, Target: ac.ID,
		IP: b.IP, Details: map[string]string{"device_id": d.ID, "device_name": d.Name, "hardware_id": d.HardwareID, "via": "portal"}})
	s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditDeviceAuthorized, ActorType: pairgate.ActorAnon,
		Target: d.ID, IP: b.IP, Details: browserDetails(d)})
	s.log.Info("browser authorized with an authorization code", "code_id", ac.ID, "device_id", d.ID, "ip", b.IP)
	return ba, nil
}

func browserDetails(d *pairgate.Device) map[string]string {
	return map[string]string{"method": d.AuthMethod, "client_id": d.ClientID, "device_name": d.Name, "mode": string(d.Mode),
		"hardware_id": d.HardwareID, "code_id": d.AuthCodeID, "approved_by": d.UserID, "scope": d.Scopes.String()}
}

func (b Browser) valid() error {
	if b.ID == "" || b.Name == "" {
		return pairgate.Errorf(pairgate.EINVALID, "a browser needs an id and a name")
	}
	if err := validText("device name", b.Name, 128); err != nil {
		return err
	}
	return validText("browser id", b.ID, 64)
}

// authorizeBrowser authorizes a browser by an admin's code (ac) or by a
// person's approval (userID).
func (s *Service) authorizeBrowser(ctx context.Context, b Browser, method string, ac *pairgate.AuthorizationCode, userID string) (*BrowserAuthorization, error) {
	if err := b.valid(); err != nil {
		return nil, err
	}
	c, err := s.browserClient(ctx)
	if err != nil {
		return nil, err
	}
	now := s.now()
	ua := pairgate.Shorten(b.UserAgent, 256)
	d := &pairgate.Device{
		ID: secret.NewID("dev_", now), ClientID: c.ID, Name: b.Name, HardwareID: b.ID, Mode: pairgate.ModeDevice,
		AuthMethod: method, UserID: userID, Scopes: c.Scopes, AuthorizedAt: now, LastSeenAt: now, LastIP: b.IP,
	}
	if ac != nil {
		d.AuthCodeID, d.EphemeralIdle = ac.ID, ac.EphemeralIdle
	}
	tok := secret.Token(secret.PrefixBrowser)
	expires := now.Add(BrowserSessionTTL)
	sess := &pairgate.Session{IDHash: s.keys.Hash(secret.KindSession, tok), CreatedAt: now, LastSeenAt: now,
		ExpiresAt: expires, IP: b.IP, UserAgent: ua}
	dev, err := s.store.AuthorizeBrowser(ctx, d, sess)
	if err != nil {
		return nil, err
	}
	return &BrowserAuthorization{Token: tok, Device: dev, ExpiresAt: expires}, nil
}

// browserClient returns the built-in browser client, creating it when it
// is missing: on first use, and again if an admin deleted it (which
// deleted the browsers it held).
func (s *Service) browserClient(ctx context.Context) (*pairgate.Client, error) {
	c, err := s.store.GetClient(ctx, pairgate.BrowserClientID)
	if pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		return c, err
	}
	c = pairgate.BrowserClient(s.now())
	// Replicas creating it at once: one wins, the others read its row.
	if err := s.store.CreateClient(ctx, c); err != nil && pairgate.ErrorCode(err) != pairgate.ECONFLICT {
		return nil, err
	}
	return s.store.GetClient(ctx, pairgate.BrowserClientID)
}
