package pairgate

import "time"

// RefreshFamily groups the refresh tokens that descend from one
// authorization. Exactly one token of a live family is usable at a time
// (docs/design.md 2.4); revoking the family kills them all.
type RefreshFamily struct {
	ID         string
	DeviceID   string
	ClientID   string
	Subject    string // the access token's sub
	Scopes     Scopes
	CreatedAt  time.Time
	Generation int // the generation of the live token
	RevokedAt  time.Time
	// StatusIndex is the family's index in the token status lists, which
	// its access tokens carry; -1 for a family from before status lists.
	StatusIndex int64
	// DPoPJKT binds the family to the key of its device (RFC 9449 §5):
	// only a refresh with a proof by that key rotates it. "" for a Bearer
	// family, which stays Bearer.
	DPoPJKT string
}

// NewRefreshToken is a refresh token about to be stored. Only its keyed hash
// reaches the store.
type NewRefreshToken struct {
	Hash      []byte
	IssuedAt  time.Time
	ExpiresAt time.Time // idle expiry: a token unused until then is dead
}

// Rotation is the result of a successful refresh.
type Rotation struct {
	Family *RefreshFamily
	Grace  bool // a duplicate within the grace window: the successor the first rotation made
}

// SigningKey is a JWT signing key. The private half is sealed with the master
// key before it reaches the store.
type SigningKey struct {
	ID            string // kid
	Algorithm     string // RS256, ES256 or EdDSA
	SealedPrivate []byte
	PublicJWK     []byte // JSON
	CreatedAt     time.Time
	RetiredAt     time.Time // zero while current
	ExpiresAt     time.Time // when a retired key leaves the JWKS; zero while current
}

// MaxAccessTokenTTL bounds the lifetime of access tokens: a revoked
// authorization's index stays set in the token status lists for
// StatusRetention, which must outlast every token that carries it.
const MaxAccessTokenTTL = 24 * time.Hour

// StatusRetention is how long a revoked status index stays set.
const StatusRetention = MaxAccessTokenTTL + time.Hour
