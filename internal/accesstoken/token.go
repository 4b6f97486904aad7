package accesstoken

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/statuslist"
	"github.com/pairgate/pairgate/verify"
)

// Claims are an access token's claims (docs/design.md section 1, RFC 9068).
type Claims struct {
	Issuer    string `json:"iss"`
	Subject   string `json:"sub"`
	Audience  string `json:"aud"`
	ClientID  string `json:"client_id"`
	Scope     string `json:"scope"`
	IssuedAt  int64  `json:"iat"`
	ExpiresAt int64  `json:"exp"`
	ID        string `json:"jti"`
	DeviceID  string `json:"device_id"`
	// FamilyID is the refresh family the token was issued with: the
	// device's authorization, as OpenID Connect's sid names a session.
	FamilyID string `json:"sid,omitempty"`
	// Status points into the token status lists (draft-ietf-oauth-status-list):
	// resource servers learn there that the authorization was revoked.
	Status *statuslist.Ref `json:"status,omitempty"`
	// Confirmation binds the token to a key (RFC 9449 §6.1): only a
	// request with a proof by that key may use it.
	Confirmation *Confirmation `json:"cnf,omitempty"`
}

// Confirmation is the cnf claim (RFC 7800) of a DPoP-bound token.
type Confirmation struct {
	JKT string `json:"jkt"`
}

// BoundTo returns the thumbprint of the key the token is bound to, "" for
// a Bearer token.
func (c *Claims) BoundTo() string {
	if c.Confirmation == nil {
		return ""
	}
	return c.Confirmation.JKT
}

// Issuer mints and verifies access tokens.
type Issuer struct {
	Keyring  *Keyring
	Issuer   string
	Audience string
	TTL      time.Duration
	Now      func() time.Time

	verifierOnce sync.Once
	verifier     *verify.Verifier
	verifierErr  error
}

// Grant says whom a token is for.
type Grant struct {
	Subject  string
	ClientID string
	Scopes   pairgate.Scopes
	DeviceID string
	FamilyID string // the refresh family (Device.FamilyID), the sid claim
	// StatusIndex is the family's index in the token status lists; -1
	// for a family from before them, whose tokens carry no status.
	StatusIndex int64
	JKT         string // the key the token is bound to (cnf.jkt); "" for Bearer
}

// Mint signs a new access token.
func (i *Issuer) Mint(ctx context.Context, g Grant) (string, *Claims, error) {
	i.Keyring.fresh(ctx, reloadEvery)
	now := i.Now()
	c := &Claims{
		Issuer: i.Issuer, Subject: g.Subject, Audience: i.Audience, ClientID: g.ClientID, Scope: g.Scopes.String(),
		IssuedAt: now.Unix(), ExpiresAt: now.Add(i.TTL).Unix(), ID: secret.NewID("at_", now), DeviceID: g.DeviceID,
		FamilyID: g.FamilyID,
	}
	if g.StatusIndex >= 0 {
		c.Status = statuslist.NewRef(i.Issuer, g.StatusIndex)
	}
	if g.JKT != "" {
		c.Confirmation = &Confirmation{JKT: g.JKT}
	}
	payload, err := json.Marshal(c)
	if err != nil {
		return "", nil, pairgate.Internal(err, "marshal claims")
	}
	i.Keyring.mu.RLock()
	s := i.Keyring.current
	i.Keyring.mu.RUnlock()
	jws, err := s.s.Sign(payload)
	if err != nil {
		return "", nil, pairgate.Internal(err, "sign access token")
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", nil, pairgate.Internal(err, "serialize access token")
	}
	return tok, c, nil
}

var errInvalid = pairgate.Errorf(pairgate.EUNAUTHORIZED, "the access token is invalid or expired")

// Verify checks an access token's signature, typ, issuer, audience and
// expiry, through the same public package resource servers use (verify),
// so that its code runs on every request pairgate serves. It does not ask
// the store whether the device still exists or the token was revoked:
// callers that need that (introspection, the device API) ask next; nor
// does it check a DPoP proof: the device API does.
func (i *Issuer) Verify(ctx context.Context, token string) (*Claims, error) {
	i.verifierOnce.Do(func() {
		i.verifier, i.verifierErr = verify.New(verify.Config{Issuer: i.Issuer, Audience: i.Audience, Keys: keySet{i.Keyring},
			SkipStatus: true, Leeway: -1, Now: i.Now})
	})
	if i.verifierErr != nil {
		return nil, pairgate.Internal(i.verifierErr, "access token verifier")
	}
	t, err := i.verifier.Check(ctx, token)
	if err != nil {
		return nil, errInvalid
	}
	c := &Claims{Issuer: t.Issuer, Subject: t.Subject, Audience: t.Audience, ClientID: t.ClientID, Scope: strings.Join(t.Scopes, " "),
		IssuedAt: t.IssuedAt.Unix(), ExpiresAt: t.ExpiresAt.Unix(), ID: t.ID, DeviceID: t.DeviceID, FamilyID: t.SessionID}
	if t.JKT != "" {
		c.Confirmation = &Confirmation{JKT: t.JKT}
	}
	return c, nil
}

// keySet lets the verifier find pairgate's own keys in its key ring, not
// over HTTP.
type keySet struct{ k *Keyring }

func (s keySet) Key(ctx context.Context, kid string) (*jose.JSONWebKey, error) {
	if key := s.k.publicKey(ctx, kid); key != nil {
		return key, nil
	}
	return nil, verify.ErrInvalidToken
}

// publicKey finds a verification key by kid, re-reading the store (at most
// once a second) when the kid is unknown: another replica may have rotated.
func (k *Keyring) publicKey(ctx context.Context, kid string) *jose.JSONWebKey {
	k.mu.RLock()
	key := k.public[kid]
	recent := k.now().Sub(k.lastMiss) < time.Second
	k.mu.RUnlock()
	if key != nil || recent || kid == "" || len(kid) > 64 {
		return key
	}
	k.mu.Lock()
	k.lastMiss = k.now()
	k.mu.Unlock()
	if err := k.load(ctx); err != nil {
		k.log.Warn("reload signing keys", "err", err)
	}
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.public[kid]
}

// String describes the issuer for logs.
func (i *Issuer) String() string {
	return fmt.Sprintf("issuer %s, alg %s, kid %s", i.Issuer, i.Keyring.currentAlg(), i.Keyring.Current())
}

// Active verifies a token and asks the store whether it is still good
// (docs/design.md 2.2): its device exists (deleting a device revokes its tokens
// at once), is active (signing out and reuse detection revoke them too),
// and still holds the authorization the token was issued with (a new
// authorization supersedes the old one's tokens); and its jti was not
// revoked (RFC 7009).
func (i *Issuer) Active(ctx context.Context, store pairgate.Store, token string) (*Claims, *pairgate.Device, error) {
	c, err := i.Verify(ctx, token)
	if err != nil {
		return nil, nil, err
	}
	d, err := store.GetDevice(ctx, c.DeviceID)
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return nil, nil, errInvalid
	}
	if err != nil {
		return nil, nil, err
	}
	if d.State != pairgate.DeviceActive || !ofLiveFamily(c, d) {
		return nil, nil, errInvalid
	}
	revoked, err := store.AccessTokenRevoked(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	if revoked {
		return nil, nil, errInvalid
	}
	return c, d, nil
}

// ofLiveFamily reports whether a token belongs to the device's live
// authorization. A token without sid was minted before tokens carried one
// (by this version's predecessor, during an upgrade or a rolling restart of
// replicas; it expires within the access-token lifetime): it is taken as
// the live family's when the device still has one and the token is not
// older than the device's latest authorization.
func ofLiveFamily(c *Claims, d *pairgate.Device) bool {
	if c.FamilyID == "" {
		return d.FamilyID != "" && c.IssuedAt >= d.AuthorizedAt.Unix()
	}
	return c.FamilyID == d.FamilyID
}

// StatusListToken signs list n of the token status lists, whose bits are
// lst (statuslist.Encode): a JWT of type statuslist+jwt with the same keys
// as access tokens, so that resource servers verify both with the JWKS.
// ttl says how long a consumer may keep it before it fetches a fresh one.
func (i *Issuer) StatusListToken(ctx context.Context, n int64, lst string, ttl time.Duration) (string, error) {
	i.Keyring.fresh(ctx, reloadEvery)
	now := i.Now()
	payload, err := json.Marshal(map[string]any{
		"iss": i.Issuer, "sub": i.Issuer + statuslist.Path(n), "iat": now.Unix(),
		// The list never outlives a day: a consumer holding an older one
		// fetches it again, whatever its ttl said.
		"exp": now.Add(24 * time.Hour).Unix(), "ttl": int64(ttl / time.Second),
		"status_list": map[string]any{"bits": statuslist.Bits, "lst": lst},
	})
	if err != nil {
		return "", pairgate.Internal(err, "marshal status list")
	}
	i.Keyring.mu.RLock()
	s := i.Keyring.current
	i.Keyring.mu.RUnlock()
	jws, err := s.list.Sign(payload)
	if err != nil {
		return "", pairgate.Internal(err, "sign status list")
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", pairgate.Internal(err, "serialize status list")
	}
	return tok, nil
}
