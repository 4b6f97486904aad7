package authn

import (
	"context"
	"net/http"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/dpop"
)

// Devices authenticates devices by their access tokens: Bearer, or DPoP
// (RFC 9449 §7) for a token bound to a key.
type Devices struct {
	store  pairgate.Store
	tokens *accesstoken.Issuer
	dpop   *dpop.Verifier
	seen   *LastSeen
	now    func() time.Time
}

// NewDevices returns the device authenticator; seen records the requests.
func NewDevices(store pairgate.Store, tokens *accesstoken.Issuer, proofs *dpop.Verifier, seen *LastSeen, now func() time.Time) *Devices {
	if store == nil || tokens == nil || proofs == nil || seen == nil || now == nil {
		panic("authn.NewDevices: store, token issuer, DPoP verifier, last-seen recorder and clock are required")
	}
	return &Devices{store: store, tokens: tokens, dpop: proofs, seen: seen, now: now}
}

// touchEvery limits how often a device's last-seen time is written: once a
// minute is enough for an inventory, and keeps reads from becoming writes.
const touchEvery = time.Minute

// BearerToken returns the token of an "Authorization: Bearer" header.
func BearerToken(r *http.Request) (string, bool) {
	return schemeToken(r, "Bearer")
}

// schemeToken returns the token of an Authorization header of the given
// scheme (case-insensitive, RFC 9110 §11.1).
func schemeToken(r *http.Request, scheme string) (string, bool) {
	h := r.Header.Get("Authorization")
	n := len(scheme) + 1
	if len(h) < n || !strings.EqualFold(h[:n], scheme+" ") {
		return "", false
	}
	tok := strings.TrimSpace(h[n:])
	return tok, tok != ""
}

var (
	errNoToken = &pairgate.Error{Code: pairgate.EUNAUTHORIZED,
		Message: "an access token is required: Authorization: Bearer, or DPoP with a DPoP proof for a key-bound token"}
	errBoundAsBearer = pairgate.Errorf(pairgate.EDPOPPROOF,
		"this access token is bound to a key: present it as Authorization: DPoP, with a DPoP proof (RFC 9449)")
	errNoProof     = pairgate.Errorf(pairgate.EDPOPPROOF, "a DPoP proof is required with a DPoP access token")
	errWrongKey    = pairgate.Errorf(pairgate.EDPOPPROOF, "the DPoP proof is not signed by the key the access token is bound to")
	errUnboundDPoP = &pairgate.Error{Code: pairgate.EUNAUTHORIZED,
		Message: "this access token is not bound to a key: present it as Authorization: Bearer"}
)

// SetHeaders sets what a device API answer tells a DPoP client about its
// next proof: the nonce, when nonces are on, and the server's time.
func (d *Devices) SetHeaders(h http.Header) { d.dpop.SetHeaders(h) }

// Authenticate returns the device and claims of a request's access token.
// The store is asked every time, so that a deleted device is refused from
// the next request on (docs/design.md 2.2). A token bound to a key (cnf.jkt)
// is accepted only as Authorization: DPoP with a valid proof by that key
// whose ath is the token's hash (RFC 9449 §7): a copied token alone gets
// nothing. A Bearer token presented as DPoP is refused too (§7.2 asks a
// resource to tell the schemes apart).
func (d *Devices) Authenticate(ctx context.Context, r *http.Request, ip string) (*accesstoken.Claims, *pairgate.Device, error) {
	return d.AuthenticateAt(ctx, r, ip, "")
}

// AuthenticateAt is Authenticate for a request to a listener of its own
// (the IPP endpoint), whose absolute URL, which a DPoP proof names, is
// url rather than the issuer's with the request's path.
func (d *Devices) AuthenticateAt(ctx context.Context, r *http.Request, ip, url string) (*accesstoken.Claims, *pairgate.Device, error) {
	tok, asDPoP := schemeToken(r, "DPoP")
	if !asDPoP {
		var ok bool
		if tok, ok = BearerToken(r); !ok {
			return nil, nil, errNoToken
		}
	}
	c, dev, err := d.tokens.Active(ctx, d.store, tok)
	if err != nil {
		return nil, nil, err
	}
	switch jkt := c.BoundTo(); {
	case jkt != "" && !asDPoP:
		return nil, nil, errBoundAsBearer
	case jkt != "":
		p, err := d.dpop.Verify(ctx, dpop.Request{Proofs: r.Header.Values(dpop.Header), Method: r.Method, Path: r.URL.Path, URL: url, AccessToken: tok})
		if err != nil {
			return nil, nil, err
		}
		if p == nil {
			return nil, nil, errNoProof
		}
		if p.JKT != jkt {
			return nil, nil, errWrongKey
		}
	case asDPoP:
		return nil, nil, errUnboundDPoP
	}
	if now := d.now(); now.Sub(dev.LastSeenAt) > touchEvery {
		d.seen.Seen(pairgate.DeviceSeen{ID: dev.ID, IP: ip, At: now})
		dev.LastSeenAt, dev.LastIP = now, ip
	}
	return c, dev, nil
}
