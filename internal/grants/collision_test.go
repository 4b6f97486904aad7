package grants

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

func newService(t *testing.T) (*Service, *pairgate.Client) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	kr, err := accesstoken.NewKeyring(ctx, store, keys, accesstoken.Config{Algorithm: "EdDSA", TokenTTL: time.Hour})
	if err != nil {
		t.Fatal(err)
	}
	c := &pairgate.Client{ID: "c", Name: "C", Public: true, GrantTypes: pairgate.AllGrantTypes, Scopes: pairgate.Scopes{"printing"}, CreatedAt: time.Now()}
	if err := store.CreateClient(ctx, c); err != nil {
		t.Fatal(err)
	}
	tokens := &accesstoken.Issuer{Keyring: kr, Issuer: "http://x", TTL: time.Hour, Now: time.Now}
	log := slog.New(slog.DiscardHandler)
	proofs, err := dpop.New(dpop.Config{Issuer: "http://x", Window: time.Minute}, dpop.Deps{Store: store, Keys: keys, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	s, err := New(Config{Issuer: "http://x", DeviceCodeTTL: 10 * time.Minute, PollInterval: 5 * time.Second, RefreshTTL: 24 * time.Hour,
		RefreshGrace: 30 * time.Second, ApprovalRoles: pairgate.Roles}, Deps{Store: store, Keys: keys, Tokens: tokens, Audit: audit.New(store, time.Now, log, nil),
		Limiter: ratelimit.New(store, keys, time.Now, func(string) {}), DPoP: proofs, Log: log, Now: time.Now})
	if err != nil {
		t.Fatal(err)
	}
	return s, c
}

// sequence returns a generator that yields the given codes, then fresh ones.
func sequence(codes []string, fresh func() string) func() string {
	return func() string {
		if len(codes) > 0 {
			c := codes[0]
			codes = codes[1:]
			return c
		}
		return fresh()
	}
}

// TestCollidingCodeIsRegenerated: docs/design.md 2.6. A user or pairing code that
// collides with a stored one is replaced by a new one, never a 500.
func TestCollidingCodeIsRegenerated(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	s.userCode = sequence([]string{"BBBB-BBBB", "BBBB-BBBB", "BBBB-BBBB"}, secret.UserCode)
	first, err := s.StartDeviceAuthorization(ctx, DeviceRequest{Client: c})
	if err != nil || first.UserCode != "BBBB-BBBB" {
		t.Fatalf("first: %+v %v", first, err)
	}
	second, err := s.StartDeviceAuthorization(ctx, DeviceRequest{Client: c})
	if err != nil {
		t.Fatalf("a colliding user code failed the request: %v", err)
	}
	if second.UserCode == "BBBB-BBBB" {
		t.Fatal("the colliding user code was handed out twice")
	}
	s.pairingCode = sequence([]string{"AAAAAAAAAA", "AAAAAAAAAA"}, secret.PairingCode)
	if _, err := s.StartPairing(ctx, DeviceRequest{Client: c, Mode: "device"}); err != nil {
		t.Fatal(err)
	}
	p, err := s.StartPairing(ctx, DeviceRequest{Client: c, Mode: "device"})
	if err != nil || p.PairingCode == "AAAAAAAAAA" {
		t.Fatalf("colliding pairing code: %+v %v", p, err)
	}
	// A generator stuck on one code ends in a clean internal error, not a loop.
	s.userCode = func() string { return "BBBB-BBBB" }
	if _, err := s.StartDeviceAuthorization(ctx, DeviceRequest{Client: c}); pairgate.ErrorCode(err) != pairgate.EINTERNAL {
		t.Fatalf("stuck generator: %v", err)
	}
}
