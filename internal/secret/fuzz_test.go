package secret_test

import (
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/secret"
)

// FuzzNormalizeUserCode: what a person types either is refused or becomes
// the canonical XXXX-XXXX form, and normalizing that again changes nothing.
func FuzzNormalizeUserCode(f *testing.F) {
	for _, s := range []string{"BCDF-GHJK", "bcdfghjk", " bcdf ghjk ", "BCDF-GHJA", "ÄBCD-FGHJ", "", strings.Repeat("B", 40)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := secret.NormalizeUserCode(in)
		if !ok {
			return
		}
		if len(out) != 9 || out[4] != '-' || strings.Trim(strings.ReplaceAll(out, "-", ""), secret.UserCodeAlphabet) != "" {
			t.Fatalf("%q normalized to %q", in, out)
		}
		if again, ok := secret.NormalizeUserCode(out); !ok || again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
	})
}

// FuzzNormalizeAuthorizationCode: the same for admin-issued codes.
func FuzzNormalizeAuthorizationCode(f *testing.F) {
	for _, s := range []string{"0123-4567-89AB-CDEF", "o123 4567 89ab cdef", "IL00-0000-0000-0000", "U000-0000-0000-0000", ""} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		out, ok := secret.NormalizeAuthorizationCode(in)
		if !ok {
			return
		}
		if len(out) != 19 || strings.Trim(strings.ReplaceAll(out, "-", ""), secret.AuthCodeAlphabet) != "" {
			t.Fatalf("%q normalized to %q", in, out)
		}
		if again, ok := secret.NormalizeAuthorizationCode(out); !ok || again != out {
			t.Fatalf("not idempotent: %q → %q → %q", in, out, again)
		}
	})
}

// FuzzTokenShapes: the shape checks that guard lookups accept only what
// the generators make.
func FuzzTokenShapes(f *testing.F) {
	f.Add(secret.Token(secret.PrefixRefreshToken))
	f.Add(secret.PairingCode())
	f.Add("pgr_" + strings.Repeat("/", 43))
	f.Add("")
	f.Fuzz(func(t *testing.T, in string) {
		if secret.LooksLike(in, secret.PrefixRefreshToken) {
			if len(in) != 47 || strings.ContainsAny(in[4:], "/+=. \x00") {
				t.Fatalf("accepted %q as a refresh token", in)
			}
		}
		if secret.ValidPairingCode(in) && (len(in) != 10 || strings.ContainsAny(in, "-_ /")) {
			t.Fatalf("accepted %q as a pairing code", in)
		}
	})
}
