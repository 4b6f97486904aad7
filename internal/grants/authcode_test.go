package grants

import (
	"bytes"
	"context"
	"sync"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// TestCollidingAuthorizationCodeIsRegenerated: DESIGN.md 2.6 for
// admin-issued codes.
func TestCollidingAuthorizationCodeIsRegenerated(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	const fixed = "ABCD-EFGH-JKMN-PQRS"
	s.authCode = sequence([]string{fixed, fixed, fixed}, secret.AuthorizationCode)
	first, _, err := s.CreateAuthorizationCode(ctx, pairgate.TTL6Hours, "usr_a")
	if err != nil || first != fixed {
		t.Fatalf("first: %q %v", first, err)
	}
	second, _, err := s.CreateAuthorizationCode(ctx, pairgate.TTL6Hours, "usr_a")
	if err != nil {
		t.Fatalf("a colliding code failed the request: %v", err)
	}
	if second == fixed {
		t.Fatal("the colliding code was handed out twice")
	}
	s.authCode = func() string { return fixed }
	if _, _, err := s.CreateAuthorizationCode(ctx, pairgate.TTL6Hours, "usr_a"); pairgate.ErrorCode(err) != pairgate.EINTERNAL {
		t.Fatalf("stuck generator: %v", err)
	}
	if _, _, err := s.CreateAuthorizationCode(ctx, pairgate.CodeTTL("1h"), "usr_a"); pairgate.ErrorCode(err) != pairgate.EINVALID {
		t.Fatalf("invalid ttl: %v", err)
	}
}

// TestAuthorizationCodeIsSealedAndBoundToItsRow: DESIGN.md 2.5. The store
// holds the code neither in plaintext nor in a form that opens under
// another row's ID; the console gets it back.
func TestAuthorizationCodeIsSealedAndBoundToItsRow(t *testing.T) {
	s, _ := newService(t)
	ctx := context.Background()
	code, ac, err := s.CreateAuthorizationCode(ctx, pairgate.TTLNever, "usr_a")
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := secret.NormalizeAuthorizationCode(code); !ok || len(code) != 19 {
		t.Fatalf("generated code %q is not XXXX-XXXX-XXXX-XXXX in Crockford base32", code)
	}
	if bytes.Contains(ac.SealedCode, []byte(code)) || bytes.Contains(ac.SealedCode, []byte(code[:4])) {
		t.Fatal("the sealed column holds the code in plaintext")
	}
	if !bytes.Equal(ac.CodeHash, s.keys.Hash(secret.KindAuthCode, code)) {
		t.Fatal("code hash is not the keyed hash of the canonical code")
	}
	if _, err := s.keys.Open(ac.SealedCode, sealContext("ac_other")); err == nil {
		t.Fatal("a sealed code opens under another row's ID")
	}
	list, err := s.ListAuthorizationCodes(ctx)
	if err != nil || len(list) != 1 || list[0].Code != code || list[0].ID != ac.ID {
		t.Fatalf("list: %+v %v", list, err)
	}
}

// TestGuessLimitSeam: the grant asks the limiter before every lookup,
// reports wrong codes, and does not report successes.
func TestGuessLimitSeam(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	code, _, err := s.CreateAuthorizationCode(ctx, pairgate.TTL30Minutes, "usr_a")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var allowed, failed []string
	refuse := false
	s.LimitGuessing(GuessLimit{
		Allow: func(ctx context.Context, kind, source string, key []byte) error {
			mu.Lock()
			defer mu.Unlock()
			allowed = append(allowed, kind+"/"+source)
			if refuse {
				return &pairgate.Error{Code: pairgate.ERATELIMITED, Message: "too many attempts"}
			}
			return nil
		},
		Failed: func(ctx context.Context, kind, source string, key []byte) {
			mu.Lock()
			defer mu.Unlock()
			failed = append(failed, kind+"/"+source)
		},
	})
	if _, err := s.RedeemAuthorizationCode(ctx, c, "0000-0000-0000-0000", "Printer", "", "", "192.0.2.1"); pairgate.ErrorCode(err) != pairgate.EINVALIDGRANT {
		t.Fatalf("wrong code: %v", err)
	}
	if _, err := s.RedeemAuthorizationCode(ctx, c, "not a code", "Printer", "", "", "192.0.2.1"); pairgate.ErrorCode(err) != pairgate.EINVALIDGRANT {
		t.Fatalf("malformed code: %v", err)
	}
	if _, err := s.RedeemAuthorizationCode(ctx, c, code, "Printer", "", "", "192.0.2.2"); err != nil {
		t.Fatalf("right code: %v", err)
	}
	if len(allowed) != 3 || len(failed) != 2 || failed[0] != "authorization_code/192.0.2.1" {
		t.Fatalf("allowed %v, failed %v", allowed, failed)
	}
	refuse = true
	if _, err := s.RedeemAuthorizationCode(ctx, c, code, "Printer", "", "", "192.0.2.2"); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("refused by the limiter: %v", err)
	}
	if n, _ := s.store.CountDevices(ctx); n != 1 {
		t.Fatalf("devices = %d, want 1", n)
	}
}
