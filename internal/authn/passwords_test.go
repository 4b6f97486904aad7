package authn

import (
	"context"
	"log/slog"
	"path/filepath"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

func newPasswords(t *testing.T, concurrency int) (*Passwords, pairgate.Store) {
	t.Helper()
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "pairgate.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { store.Close() })
	now := time.Now()
	if err := store.CreateUser(ctx, &pairgate.User{ID: "usr_1", Username: "alice", PasswordHash: secret.HashPassword("alice's password"),
		Role: pairgate.RoleUser, CreatedAt: now, PasswordChangedAt: now}); err != nil {
		t.Fatal(err)
	}
	keys, _ := secret.NewKeys(secret.NewMasterKey())
	log := slog.New(slog.DiscardHandler)
	return NewPasswords(store, keys, ratelimit.New(store, keys, time.Now, func(string) {}), audit.New(store, time.Now, log, nil), time.Now, concurrency, true), store
}

func TestPasswordChecksAreBoundedAndSayNothing(t *testing.T) {
	ctx := context.Background()
	p, _ := newPasswords(t, 1)
	in, err := p.SignIn(ctx, Attempt{Username: "ALICE", Password: "alice's password", IP: "192.0.2.1"})
	if err != nil || in.User.ID != "usr_1" || in.Known == "" {
		t.Fatalf("right password: %+v %v", in, err)
	}
	for _, c := range [][2]string{{"alice", "wrong"}, {"bob", "wrong"}, {"not a name!", "wrong"}, {"alice", string(make([]byte, secret.MaxPasswordBytes+1))}} {
		if _, err := p.SignIn(ctx, Attempt{Username: c[0], Password: c[1], IP: "192.0.2.1"}); err != ErrWrongPassword {
			t.Errorf("SignIn(%q): %v, want the one wrong-password error", c[0], err)
		}
	}
	// With every slot taken, a check waits, and gives up as unavailable
	// rather than hashing beyond the bound.
	p.wait = 50 * time.Millisecond
	p.sem <- struct{}{}
	start := time.Now()
	_, err = p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.2"})
	if pairgate.ErrorCode(err) != pairgate.EUNAVAILABLE || pairgate.RetryAfter(err) == 0 {
		t.Fatalf("check with no free slot: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v without waiting", d)
	}
	<-p.sem
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.2"}); err != nil {
		t.Fatalf("after the slot freed: %v", err)
	}
}

// TestNobodyCanLockTheOwnerOut: case 5 of issue 11. Twenty wrong
// passwords from twenty addresses lock the account for unknown browsers,
// never for a browser that signed in to it before, nor for one that is a
// device the account approved.
func TestNobodyCanLockTheOwnerOut(t *testing.T) {
	ctx := context.Background()
	p, _ := newPasswords(t, 4)
	in, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.1"})
	if err != nil {
		t.Fatal(err)
	}
	known := in.Known
	limit := ratelimit.SignInPerAccount.Limit
	// The sign-in above counted against the account too.
	for i := range limit - 1 {
		ip := "198.51.100." + string(rune('a'+i))
		if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "guess", IP: ip}); err != ErrWrongPassword {
			t.Fatalf("guess %d: %v", i+1, err)
		}
	}
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.3"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("an unknown browser after %d guesses: %v, want rate limited", limit, err)
	}
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.4", Known: known}); err != nil {
		t.Fatalf("the owner's browser, which signed in before, is locked out: %v", err)
	}
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.5", DeviceUserID: "usr_1"}); err != nil {
		t.Fatalf("a device the owner approved is locked out: %v", err)
	}
	// The proof is bound to the account: it opens no other account's
	// budget, and a forged one is just an unknown browser.
	if p.knownBrowser(known, "bob") {
		t.Fatal("a known-browser token for alice counts for bob")
	}
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.6", Known: "forged.token"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("a forged known-browser token: %v", err)
	}
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.7", DeviceUserID: "usr_other"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("a device of another account: %v", err)
	}
	// A known browser has a budget of its own, not an unlimited one.
	for i := range ratelimit.SignInKnownBrowser.Limit {
		p.SignIn(ctx, Attempt{Username: "alice", Password: "guess", IP: "192.0.2.8", Known: known})
		_ = i
	}
	if _, err := p.SignIn(ctx, Attempt{Username: "alice", Password: "alice's password", IP: "192.0.2.9", Known: known}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("a known browser guessing without end: %v", err)
	}
}
