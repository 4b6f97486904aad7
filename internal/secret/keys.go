package secret

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"hash"
	"strings"
	"sync"
)

// MasterKeySize is the length of the master key in bytes.
const MasterKeySize = 32

// Keys holds the keys derived from the master key. Keeping derived keys
// separate means a key used for hashing is never also used for encryption.
type Keys struct {
	hashKey      []byte
	successorKey []byte
	aead         cipher.AEAD
	macs         sync.Pool // of hash.Hash keyed with hashKey; hmac.New allocates
}

// NewKeys derives the working keys from a 32-byte master key with HKDF.
func NewKeys(master []byte) (*Keys, error) {
	if len(master) != MasterKeySize {
		return nil, fmt.Errorf("master key must be %d bytes, got %d", MasterKeySize, len(master))
	}
	hk, err := hkdf.Key(sha256.New, master, nil, "pairgate v1 keyed hash", 32)
	if err != nil {
		return nil, fmt.Errorf("derive hash key: %w", err)
	}
	// A key of its own: a successor is handed out as a token, so it must
	// not be computable from anything else (a stored hash above all).
	succ, err := hkdf.Key(sha256.New, master, nil, "pairgate v1 refresh successor", 32)
	if err != nil {
		return nil, fmt.Errorf("derive successor key: %w", err)
	}
	sk, err := hkdf.Key(sha256.New, master, nil, "pairgate v1 seal", 32)
	if err != nil {
		return nil, fmt.Errorf("derive seal key: %w", err)
	}
	block, err := aes.NewCipher(sk)
	if err != nil {
		return nil, fmt.Errorf("seal cipher: %w", err)
	}
	aead, err := cipher.NewGCM(block)
	if err != nil {
		return nil, fmt.Errorf("seal cipher: %w", err)
	}
	k := &Keys{hashKey: hk, successorKey: succ, aead: aead}
	k.macs.New = func() any { return hmac.New(sha256.New, k.hashKey) }
	return k, nil
}

// NewMasterKey returns 32 random bytes.
func NewMasterKey() []byte {
	b := make([]byte, MasterKeySize)
	rand.Read(b)
	return b
}

// ParseMasterKey decodes a base64 (standard or URL, padded or not) master key.
func ParseMasterKey(s string) ([]byte, error) {
	s = strings.TrimSpace(s)
	for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
		if b, err := enc.DecodeString(s); err == nil {
			if len(b) != MasterKeySize {
				return nil, fmt.Errorf("master key must decode to %d bytes, got %d", MasterKeySize, len(b))
			}
			return b, nil
		}
	}
	return nil, errors.New("master key is not valid base64")
}

// Hash returns the keyed hash (HMAC-SHA256) of a secret of the given kind.
// The kind separates domains, so that a user code can never match a
// refresh token's hash.
func (k *Keys) Hash(kind, value string) []byte {
	m := k.macs.Get().(hash.Hash)
	m.Reset()
	m.Write([]byte(kind))
	m.Write([]byte{0})
	m.Write([]byte(value))
	sum := m.Sum(nil)
	k.macs.Put(m)
	return sum
}

// Successor returns the refresh token that replaces refreshToken when it
// is rotated: PrefixRefreshToken and the HMAC-SHA256 of the token under a
// key of its own, in unpadded base64url — the shape of Token, so LooksLike
// holds. Deriving it, instead of drawing a random one, makes rotation
// idempotent (docs/design.md 2.4): every retry or concurrent duplicate of a
// refresh gets the same successor, and nothing more is stored to remember
// it. Only a holder of the master key can compute it, and only from the
// token itself, which the store never sees.
func (k *Keys) Successor(refreshToken string) string {
	m := hmac.New(sha256.New, k.successorKey)
	m.Write([]byte(refreshToken))
	return PrefixRefreshToken + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

// Seal encrypts plaintext with AES-256-GCM. The associated data binds the
// ciphertext to its purpose (for example a key ID), so a sealed value cannot
// be moved to another row and opened there.
func (k *Keys) Seal(plaintext []byte, associated string) []byte {
	nonce := make([]byte, k.aead.NonceSize(), k.aead.NonceSize()+len(plaintext)+k.aead.Overhead())
	rand.Read(nonce)
	return k.aead.Seal(nonce, nonce, plaintext, []byte(associated))
}

// Open decrypts what Seal produced with the same associated data.
func (k *Keys) Open(sealed []byte, associated string) ([]byte, error) {
	n := k.aead.NonceSize()
	if len(sealed) < n+k.aead.Overhead() {
		return nil, errors.New("sealed value too short")
	}
	pt, err := k.aead.Open(nil, sealed[:n], sealed[n:], []byte(associated))
	if err != nil {
		return nil, errors.New("sealed value does not open with this master key")
	}
	return pt, nil
}
