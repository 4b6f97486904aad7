package authn

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
)

// Devices authenticates devices by their Bearer access tokens.
type Devices struct {
	store  pairgate.Store
	tokens *accesstoken.Issuer
	now    func() time.Time
}

// NewDevices returns the device authenticator.
func NewDevices(store pairgate.Store, tokens *accesstoken.Issuer, now func() time.Time) *Devices {
	if store == nil || tokens == nil || now == nil {
		panic("authn.NewDevices: store, token issuer and clock are required")
	}
	return &Devices{store: store, tokens: tokens, now: now}
}

// touchEvery limits how often a device's last-seen time is written: once a
// minute is enough for an inventory, and keeps reads from becoming writes.
const touchEvery = time.Minute

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "Bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(h[7:])
	return tok, tok != ""
}

// Authenticate returns the device and claims of a request's access token.
// The store is asked every time, so that a deleted device is refused from
// the next request on (DESIGN.md 2.2).
func (d *Devices) Authenticate(ctx context.Context, r *http.Request, ip string) (*accesstoken.Claims, *pairgate.Device, error) {
	tok, ok := BearerToken(r)
	if !ok {
		return nil, nil, &pairgate.Error{Code: pairgate.EUNAUTHORIZED, Message: "a Bearer access token is required"}
	}
	c, dev, err := d.tokens.Active(ctx, d.store, tok)
	if err != nil {
		return nil, nil, err
	}
	if now := d.now(); now.Sub(dev.LastSeenAt) > touchEvery {
		if err := d.store.TouchDevice(ctx, dev.ID, ip, now); err != nil {
			return nil, nil, err
		}
		dev.LastSeenAt, dev.LastIP = now, ip
	}
	return c, dev, nil
}
