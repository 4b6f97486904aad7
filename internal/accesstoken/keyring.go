package accesstoken

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Algorithms pairgate signs with. RS256 is the default because every JWT
// library verifies it.
var Algorithms = []string{"RS256", "ES256", "EdDSA"}

// ValidAlgorithm reports whether alg is one of Algorithms.
func ValidAlgorithm(alg string) bool {
	for _, a := range Algorithms {
		if a == alg {
			return true
		}
	}
	return false
}

// How often a replica re-reads the key set: it signs with a key at most
// this old, and a retired key stays published for longer than that plus the
// token lifetime.
const reloadEvery = 5 * time.Second

// Keyring is one replica's view of the signing keys.
type Keyring struct {
	store     pairgate.Store
	keys      *secret.Keys
	alg       string
	retireFor time.Duration // how long a retired key stays in the JWKS
	now       func() time.Time
	log       *slog.Logger

	reload sync.Mutex // one reload at a time

	mu       sync.RWMutex
	current  *signer
	public   map[string]*jose.JSONWebKey
	jwks     []byte
	loadedAt time.Time
	lastMiss time.Time // when an unknown kid last forced a reload
}

type signer struct {
	kid     string
	alg     string
	created time.Time
	s       jose.Signer // access tokens (typ at+jwt)
	list    jose.Signer // token status lists (typ statuslist+jwt)
}

// Config configures a Keyring.
type Config struct {
	Algorithm string        // RS256, ES256 or EdDSA
	TokenTTL  time.Duration // access token lifetime: a retired key is published this long, plus a margin
	Now       func() time.Time
	Log       *slog.Logger
}

// NewKeyring loads the keys from the store, creating the first key when
// there is none. When the current key's algorithm differs from the
// configured one, it rotates to a key of the configured algorithm.
func NewKeyring(ctx context.Context, store pairgate.Store, keys *secret.Keys, cfg Config) (*Keyring, error) {
	if !ValidAlgorithm(cfg.Algorithm) {
		return nil, fmt.Errorf("signing algorithm %q: want one of %v", cfg.Algorithm, Algorithms)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	k := &Keyring{store: store, keys: keys, alg: cfg.Algorithm, now: cfg.Now, log: cfg.Log,
		retireFor: cfg.TokenTTL + 5*time.Minute}
	if err := k.load(ctx); err != nil {
		return nil, err
	}
	if k.Current() == "" {
		first, err := k.generate(cfg.Algorithm)
		if err != nil {
			return nil, err
		}
		if _, err := store.CreateFirstSigningKey(ctx, first); err != nil {
			return nil, fmt.Errorf("create first signing key: %w", err)
		}
		if err := k.load(ctx); err != nil {
			return nil, err
		}
	}
	if k.currentAlg() != cfg.Algorithm {
		if err := k.Rotate(ctx); err != nil && pairgate.ErrorCode(err) != pairgate.ECONFLICT {
			return nil, err
		}
	}
	return k, nil
}

// generate makes a new key of the given algorithm, sealed for the store.
func (k *Keyring) generate(alg string) (*pairgate.SigningKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case "RS256":
		// 2048-bit RSA: the strength NIST asks for until 2030 at a quarter
		// of the signing cost of the 4096-bit keys that slow peers down.
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case "ES256":
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case "EdDSA":
		_, priv, err = ed25519.GenerateKey(rand.Reader)
	default:
		err = fmt.Errorf("unknown algorithm %q", alg)
	}
	if err != nil {
		return nil, fmt.Errorf("generate %s key: %w", alg, err)
	}
	pub := jose.JSONWebKey{Key: priv.Public(), Algorithm: alg, Use: "sig"}
	thumb, err := pub.Thumbprint(crypto.SHA256)
	if err != nil {
		return nil, fmt.Errorf("key thumbprint: %w", err)
	}
	// RFC 7638 thumbprint as kid: stable, and unique without coordination.
	pub.KeyID = base64.RawURLEncoding.EncodeToString(thumb[:16])
	pubJSON, err := pub.MarshalJSON()
	if err != nil {
		return nil, fmt.Errorf("marshal public key: %w", err)
	}
	der, err := x509.MarshalPKCS8PrivateKey(priv)
	if err != nil {
		return nil, fmt.Errorf("marshal private key: %w", err)
	}
	return &pairgate.SigningKey{ID: pub.KeyID, Algorithm: alg, SealedPrivate: k.keys.Seal(der, sealContext(pub.KeyID)),
		PublicJWK: pubJSON, CreatedAt: k.now()}, nil
}

func sealContext(kid string) string { return "pairgate signing key " + kid }

// Rotate makes a new key current and keeps the old one published until the
// tokens it signed have expired. When another replica rotated first it
// returns ECONFLICT and the keyring shows that replica's rotation.
func (k *Keyring) Rotate(ctx context.Context) error {
	if err := k.load(ctx); err != nil {
		return err
	}
	cur := k.Current()
	next, err := k.generate(k.alg)
	if err != nil {
		return err
	}
	err = k.store.RotateSigningKey(ctx, cur, k.now().Add(k.retireFor), next)
	if lerr := k.load(ctx); err == nil {
		err = lerr
	}
	if err == nil {
		k.log.Info("signing key rotated", "previous_kid", cur, "kid", next.ID, "alg", next.Algorithm)
	}
	return err
}

// RotateIfOlder rotates when the current key is older than age. Replicas
// doing this together rotate once.
func (k *Keyring) RotateIfOlder(ctx context.Context, age time.Duration) (bool, error) {
	k.mu.RLock()
	created := k.current.created
	k.mu.RUnlock()
	if age <= 0 || k.now().Sub(created) < age {
		return false, nil
	}
	err := k.Rotate(ctx)
	if pairgate.ErrorCode(err) == pairgate.ECONFLICT {
		return false, nil
	}
	return err == nil, err
}

// load reads the key set from the store and rebuilds the signer, the
// verification keys and the JWKS document.
func (k *Keyring) load(ctx context.Context) error {
	k.reload.Lock()
	defer k.reload.Unlock()
	stored, err := k.store.ListSigningKeys(ctx, k.now())
	if err != nil {
		return fmt.Errorf("load signing keys: %w", err)
	}
	public := make(map[string]*jose.JSONWebKey, len(stored))
	set := jose.JSONWebKeySet{}
	var current *signer
	k.mu.RLock()
	old := k.current
	k.mu.RUnlock()
	for _, sk := range stored {
		var jwk jose.JSONWebKey
		if err := jwk.UnmarshalJSON(sk.PublicJWK); err != nil {
			return fmt.Errorf("signing key %s: public key: %w", sk.ID, err)
		}
		public[sk.ID] = &jwk
		set.Keys = append(set.Keys, jwk)
		if sk.RetiredAt.IsZero() && current == nil {
			if old != nil && old.kid == sk.ID {
				current = old // unsealing and parsing again would only cost time
				continue
			}
			if current, err = k.newSigner(sk); err != nil {
				return err
			}
		}
	}
	doc, err := json.Marshal(set)
	if err != nil {
		return fmt.Errorf("marshal JWKS: %w", err)
	}
	k.mu.Lock()
	k.current, k.public, k.jwks, k.loadedAt = current, public, doc, k.now()
	k.mu.Unlock()
	return nil
}

func (k *Keyring) newSigner(sk *pairgate.SigningKey) (*signer, error) {
	der, err := k.keys.Open(sk.SealedPrivate, sealContext(sk.ID))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w (is this the master key the keys were made with?)", sk.ID, err)
	}
	priv, err := x509.ParsePKCS8PrivateKey(der)
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	if r, ok := priv.(*rsa.PrivateKey); ok {
		r.Precompute()
	}
	key := jose.JSONWebKey{Key: priv, KeyID: sk.ID, Algorithm: sk.Algorithm}
	sig := jose.SigningKey{Algorithm: jose.SignatureAlgorithm(sk.Algorithm), Key: key}
	s, err := jose.NewSigner(sig, (&jose.SignerOptions{}).WithType("at+jwt"))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	list, err := jose.NewSigner(sig, (&jose.SignerOptions{}).WithType("statuslist+jwt"))
	if err != nil {
		return nil, fmt.Errorf("signing key %s: %w", sk.ID, err)
	}
	return &signer{kid: sk.ID, alg: sk.Algorithm, created: sk.CreatedAt, s: s, list: list}, nil
}

// fresh re-reads the keys when the copy is older than maxAge. A failing
// store leaves the old copy in place: tokens keep being signed and verified
// while the database is away.
func (k *Keyring) fresh(ctx context.Context, maxAge time.Duration) {
	k.mu.RLock()
	age := k.now().Sub(k.loadedAt)
	k.mu.RUnlock()
	if age < maxAge {
		return
	}
	if err := k.load(ctx); err != nil {
		k.log.Warn("reload signing keys", "err", err)
	}
}

// Current returns the kid of the key new tokens are signed with.
func (k *Keyring) Current() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.current == nil {
		return ""
	}
	return k.current.kid
}

func (k *Keyring) currentAlg() string {
	k.mu.RLock()
	defer k.mu.RUnlock()
	if k.current == nil {
		return ""
	}
	return k.current.alg
}

// JWKS returns the public key set document: the current key and the retired
// keys whose tokens may still be alive.
func (k *Keyring) JWKS(ctx context.Context) []byte {
	// Fresh to the second, so that a key rotated on one replica is
	// published by all before tokens signed with it get far.
	k.fresh(ctx, time.Second)
	k.mu.RLock()
	defer k.mu.RUnlock()
	return k.jwks
}

// Reload re-reads the key set now.
func (k *Keyring) Reload(ctx context.Context) error { return k.load(ctx) }
