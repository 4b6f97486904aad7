package web_test

import (
	"net/url"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/internal/web"
)

// FuzzLocalPath: whatever `next` an attacker crafts, a value the sign-in
// page accepts stays on this server when a browser resolves it (no open
// redirect), and has no characters a browser would read differently.
func FuzzLocalPath(f *testing.F) {
	for _, s := range []string{"/device?user_code=BCDF-GHJK", "//evil.example", "/\\evil.example", "/\t/evil.example",
		"https://evil.example/", "/%2F%2Fevil.example", "javascript:alert(1)", "/oauth/authorize/pairing/?pairing_code=x", "", "/"} {
		f.Add(s)
	}
	base, _ := url.Parse("https://pairgate.example/auth/signin/")
	f.Fuzz(func(t *testing.T, next string) {
		if !web.LocalPath(next) {
			return
		}
		ref, err := url.Parse(next)
		if err != nil {
			t.Fatalf("accepted %q, which does not parse: %v", next, err)
		}
		if got := base.ResolveReference(ref); got.Host != "pairgate.example" || got.Scheme != "https" {
			t.Fatalf("accepted %q, which leads to %s", next, got)
		}
		if strings.ContainsAny(next, "\\\x00\r\n\t") || strings.HasPrefix(next, "//") {
			t.Fatalf("accepted %q", next)
		}
	})
}
