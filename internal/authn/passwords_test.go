package authn

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

func TestPasswordChecksAreBoundedAndSayNothing(t *testing.T) {
	ctx := context.Background()
	store, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "pairgate.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer store.Close()
	now := time.Now()
	if err := store.CreateUser(ctx, &pairgate.User{ID: "usr_1", Username: "alice", PasswordHash: secret.HashPassword("alice's password"),
		Role: pairgate.RoleUser, CreatedAt: now, PasswordChangedAt: now}); err != nil {
		t.Fatal(err)
	}
	p := NewPasswords(store, 1)
	if u, err := p.Check(ctx, "ALICE", "alice's password"); err != nil || u.ID != "usr_1" {
		t.Fatalf("right password: %v %v", u, err)
	}
	for _, c := range [][2]string{{"alice", "wrong"}, {"bob", "wrong"}, {"not a name!", "wrong"}, {"alice", string(make([]byte, secret.MaxPasswordBytes+1))}} {
		if _, err := p.Check(ctx, c[0], c[1]); err != ErrWrongPassword {
			t.Errorf("Check(%q): %v, want the one wrong-password error", c[0], err)
		}
	}
	// With every slot taken, a check waits, and gives up as unavailable
	// rather than hashing beyond the bound.
	p.wait = 50 * time.Millisecond
	p.sem <- struct{}{}
	start := time.Now()
	_, err = p.Check(ctx, "alice", "alice's password")
	if pairgate.ErrorCode(err) != pairgate.EUNAVAILABLE || pairgate.RetryAfter(err) == 0 {
		t.Fatalf("check with no free slot: %v", err)
	}
	if d := time.Since(start); d < 50*time.Millisecond {
		t.Fatalf("gave up after %v without waiting", d)
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := p.Check(cancelled, "alice", "alice's password"); pairgate.ErrorCode(err) != pairgate.EUNAVAILABLE {
		t.Fatalf("cancelled check: %v", err)
	}
	<-p.sem
	if _, err := p.Check(ctx, "alice", "alice's password"); err != nil {
		t.Fatalf("after the slot freed: %v", err)
	}
}
