package secret

import (
	"crypto/rand"
	"encoding/base32"
	"encoding/base64"
	"encoding/binary"
	"strings"
	"sync"
	"time"
)

// Prefixes make pairgate's secrets recognisable to people and to secret
// scanners.
const (
	PrefixDeviceCode   = "pgd_"
	PrefixRefreshToken = "pgr_"
	PrefixAPIKey       = "pgk_"
	PrefixClientSecret = "pgs_"
	PrefixSession      = "pgx_"
	// PrefixBrowser marks the device session of a browser authorized as a
	// device: a cookie of its own, never accepted as a person's session.
	PrefixBrowser = "pgb_"
)

// Hash kinds, one per kind of secret.
const (
	KindDeviceCode   = "device_code"
	KindUserCode     = "user_code"
	KindPairingCode  = "pairing_code"
	KindRefresh      = "refresh_token"
	KindClientSecret = "client_secret"
	KindAPIKey       = "api_key"
	KindSession      = "session"
	KindAuthCode     = "authorization_code"
	KindRateLimit    = "rate_limit"
	// KindKnownBrowser signs the cookie that marks a browser as one that
	// has signed in to an account before (see authn.Passwords).
	KindKnownBrowser = "known_browser"
	// An upstream sign-in: the state parameter, and the cookie that binds
	// the sign-in to its browser. The PKCE verifier and the nonce are
	// derived from that cookie's value with kinds of their own, so that
	// the database holds neither; the cookie's name from the state.
	KindUpstreamState    = "upstream_state"
	KindUpstreamBinding  = "upstream_binding"
	KindUpstreamVerifier = "upstream_pkce_verifier"
	KindUpstreamNonce    = "upstream_nonce"
	KindUpstreamCookie   = "upstream_cookie_name"
)

// Token returns prefix followed by 256 random bits in unpadded base64url.
func Token(prefix string) string {
	b := make([]byte, 32)
	rand.Read(b)
	return prefix + base64.RawURLEncoding.EncodeToString(b)
}

// LooksLike reports whether s has the shape of a Token with this prefix,
// so that obviously malformed input is refused before any lookup.
func LooksLike(s, prefix string) bool {
	if len(s) != len(prefix)+43 || !strings.HasPrefix(s, prefix) {
		return false
	}
	for i := len(prefix); i < len(s); i++ {
		c := s[i]
		if !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

var idEncoding = base32.NewEncoding("0123456789abcdefghjkmnpqrstvwxyz").WithPadding(base32.NoPadding)

// NewID returns prefix followed by 48 bits of milliseconds and 80 random
// bits, so that IDs sort by creation time and pages of a list are stable.
//
// Within one process, IDs made in the same millisecond still sort in the
// order they were made (the random part of the previous one plus one, as
// ULID's monotonic mode does), so that lists ordered by ID — the audit
// log — keep events in order.
func NewID(prefix string, now time.Time) string {
	var b [16]byte
	ms := now.UnixMilli()
	lastID.Lock()
	if ms <= lastID.ms {
		// Same (or, after a clock step back, an earlier) millisecond:
		// continue from the last ID.
		ms = lastID.ms
		b = lastID.b
		for i := 15; i >= 6; i-- {
			b[i]++
			if b[i] != 0 {
				break
			}
		}
	} else {
		binary.BigEndian.PutUint64(b[:8], uint64(ms)<<16)
		rand.Read(b[6:])
	}
	lastID.ms, lastID.b = ms, b
	lastID.Unlock()
	return prefix + idEncoding.EncodeToString(b[:])
}

// RandomID returns prefix followed by 128 random bits in NewID's alphabet
// and length: an identifier that must not be guessable (a browser's id,
// which names its device), unlike NewID's, which are ordered.
func RandomID(prefix string) string {
	var b [16]byte
	rand.Read(b[:])
	return prefix + idEncoding.EncodeToString(b[:])
}

var lastID struct {
	sync.Mutex
	ms int64
	b  [16]byte
}

// randomString draws n characters uniformly from alphabet.
func randomString(alphabet string, n int) string {
	out := make([]byte, n)
	// Rejection sampling keeps the distribution uniform for alphabets whose
	// size does not divide 256.
	limit := 256 - 256%len(alphabet)
	buf := make([]byte, n*2)
	for i := 0; i < n; {
		rand.Read(buf)
		for _, c := range buf {
			if int(c) < limit {
				out[i] = alphabet[int(c)%len(alphabet)]
				i++
				if i == n {
					break
				}
			}
		}
	}
	return string(out)
}

// UserCodeAlphabet is RFC 8628 §6.1's recommendation: consonants only, so
// no code spells a word, and no characters that look alike.
const UserCodeAlphabet = "BCDFGHJKLMNPQRSTVWXZ"

// UserCode returns a new user code in its display form XXXX-XXXX
// (20^8 ≈ 2^34.6; guessing is limited by rate limits and expiry).
func UserCode() string {
	s := randomString(UserCodeAlphabet, 8)
	return s[:4] + "-" + s[4:]
}

// NormalizeUserCode turns what a person typed into the display form: case
// is ignored, and dashes and spaces are optional. It reports false when
// the input cannot be a user code.
func NormalizeUserCode(in string) (string, bool) {
	if len(in) > 32 {
		return "", false
	}
	var b strings.Builder
	for _, r := range in {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		if !strings.ContainsRune(UserCodeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) != 8 {
		return "", false
	}
	return s[:4] + "-" + s[4:], true
}

const pairingAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

// PairingCode returns a 10-character pairing code ([A-Za-z0-9], ~59.5 bits).
func PairingCode() string { return randomString(pairingAlphabet, 10) }

// ValidPairingCode reports whether s has the shape of a pairing code.
// Pairing codes are case-sensitive: they are copied, not read aloud.
func ValidPairingCode(s string) bool {
	if len(s) != 10 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !strings.ContainsRune(pairingAlphabet, rune(s[i])) {
			return false
		}
	}
	return true
}

// AuthCodeAlphabet is Crockford's base32 alphabet: no I, L, O or U, so a code
// read aloud or typed from paper has no ambiguous characters.
const AuthCodeAlphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

// AuthorizationCode returns an admin-issued code: 16 characters of 5 bits
// (80 bits), grouped XXXX-XXXX-XXXX-XXXX for reading.
func AuthorizationCode() string {
	s := randomString(AuthCodeAlphabet, 16)
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16]
}

// NormalizeAuthorizationCode turns typed input into the canonical grouped
// form. Case, dashes and spaces are ignored, and the letters people confuse
// with digits are read as Crockford's base32 reads them (O→0, I and L→1).
func NormalizeAuthorizationCode(in string) (string, bool) {
	if len(in) > 64 {
		return "", false
	}
	var b strings.Builder
	for _, r := range in {
		switch {
		case r == '-' || r == ' ' || r == '\t':
			continue
		case r >= 'a' && r <= 'z':
			r -= 'a' - 'A'
		}
		switch r {
		case 'O':
			r = '0'
		case 'I', 'L':
			r = '1'
		}
		if !strings.ContainsRune(AuthCodeAlphabet, r) {
			return "", false
		}
		b.WriteRune(r)
	}
	s := b.String()
	if len(s) != 16 {
		return "", false
	}
	return s[0:4] + "-" + s[4:8] + "-" + s[8:12] + "-" + s[12:16], true
}
