package pairgate

import (
	"testing"
	"time"
)

func TestCodeTTLChoices(t *testing.T) {
	want := []struct {
		s     string
		d     time.Duration
		label string
	}{
		{"30m", 30 * time.Minute, "30 minutes"},
		{"60m", time.Hour, "60 minutes"},
		{"6h", 6 * time.Hour, "6 hours"},
		{"24h", 24 * time.Hour, "24 hours"},
		{"48h", 48 * time.Hour, "48 hours"},
		{"never", 0, "No Expiration"},
	}
	if len(CodeTTLs) != len(want) {
		t.Fatalf("%d choices, want %d", len(CodeTTLs), len(want))
	}
	created := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	for i, w := range want {
		ttl, err := ParseCodeTTL(w.s)
		if err != nil || ttl != CodeTTLs[i] || ttl.Duration() != w.d || ttl.Label() != w.label {
			t.Errorf("%q: %q %v %v %q", w.s, ttl, err, ttl.Duration(), ttl.Label())
		}
		exp := ttl.ExpiresAt(created)
		if (w.d == 0) != exp.IsZero() || (w.d != 0 && !exp.Equal(created.Add(w.d))) {
			t.Errorf("%q: expires at %v", w.s, exp)
		}
	}
	for _, bad := range []string{"", "1h", "30", "NEVER", "30M", " 6h", "0", "-30m", "1m"} {
		if _, err := ParseCodeTTL(bad); ErrorCode(err) != EINVALID {
			t.Errorf("ParseCodeTTL(%q) = %v, want EINVALID", bad, err)
		}
	}
}

func TestAuthorizationCodeExpired(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	never := &AuthorizationCode{TTL: TTLNever}
	if never.Expired(now.AddDate(100, 0, 0)) {
		t.Fatal("a never-expiring code expired")
	}
	c := &AuthorizationCode{TTL: TTL30Minutes, ExpiresAt: now.Add(30 * time.Minute)}
	if c.Expired(now.Add(30*time.Minute-1)) || !c.Expired(now.Add(30*time.Minute)) {
		t.Fatal("expiry is not exactly at ExpiresAt")
	}
}
