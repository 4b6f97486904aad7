package grants

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
)

// storeCode puts an admin-issued code in the store, as the admin service
// does, and returns it.
func storeCode(t *testing.T, s *Service) string {
	t.Helper()
	code := secret.AuthorizationCode()
	now := time.Now()
	id := secret.NewID("ac_", now)
	if err := s.store.CreateAuthorizationCode(context.Background(), &pairgate.AuthorizationCode{ID: id,
		CodeHash: s.keys.Hash(secret.KindAuthCode, code), SealedCode: s.keys.Seal([]byte(code), "x"),
		TTL: pairgate.TTL6Hours, CreatedAt: now, ExpiresAt: now.Add(6 * time.Hour)}); err != nil {
		t.Fatal(err)
	}
	return code
}

// TestConcurrentWrongCodesAreCountedBeforeTheLookup: docs/design.md 2.6. Wrong
// authorization codes arriving at the same instant from one address are
// counted one by one before any is looked up: exactly the limit of them is
// judged, the others are refused. (Counting after the lookup let all 150
// through against a limit of 30.)
func TestConcurrentWrongCodesAreCountedBeforeTheLookup(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	const n = 150
	limit := ratelimit.AuthCodeFailuresPerIP.Limit
	var wg sync.WaitGroup
	codes := make([]string, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: secret.AuthorizationCode(), DeviceName: "x", IP: "203.0.113.9"})
			codes[i] = pairgate.ErrorCode(err)
		}()
	}
	close(start)
	wg.Wait()
	counts := map[string]int{}
	for _, c := range codes {
		counts[c]++
	}
	if counts[pairgate.EINVALIDGRANT] != limit || counts[pairgate.ERATELIMITED] != n-limit {
		t.Fatalf("%d concurrent wrong codes from one address: %v; want %d judged wrong and the rest refused", n, counts, limit)
	}
	// Another address has its own budget, and an IPv6 /64 is one address.
	if _, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: secret.AuthorizationCode(), DeviceName: "x", IP: "203.0.113.10"}); pairgate.ErrorCode(err) != pairgate.EINVALIDGRANT {
		t.Fatalf("another address: %v", err)
	}
	for i := range limit {
		ip := "2001:db8:7:7::" + string(rune('a'+i%6))
		if _, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: secret.AuthorizationCode(), DeviceName: "x", IP: ip}); pairgate.ErrorCode(err) != pairgate.EINVALIDGRANT {
			t.Fatalf("wrong code %d from the /64: %v", i+1, err)
		}
	}
	if _, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: secret.AuthorizationCode(), DeviceName: "x", IP: "2001:db8:7:7:1:2:3:4"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("another address of the same /64 after the limit: %v", err)
	}
}

// TestRightCodesDoNotUseTheBudget: one code enrolls a fleet from behind
// one NAT address; only wrong codes count.
func TestRightCodesDoNotUseTheBudget(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	code := storeCode(t, s)
	limit := ratelimit.AuthCodeFailuresPerIP.Limit
	for i := range 2 * limit {
		if _, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: code, DeviceName: "Printer", IP: "198.51.100.1"}); err != nil {
			t.Fatalf("redemption %d of a right code: %v", i+1, err)
		}
	}
	for i := range limit {
		if _, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: "0000-0000-0000-0000", DeviceName: "x", IP: "198.51.100.1"}); pairgate.ErrorCode(err) != pairgate.EINVALIDGRANT {
			t.Fatalf("wrong code %d after %d right ones: %v", i+1, 2*limit, err)
		}
	}
	if _, err := s.RedeemAuthorizationCode(ctx, TokenRequest{Client: c, Code: code, DeviceName: "Printer", IP: "198.51.100.1"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("an address over its limit of wrong codes: %v", err)
	}
	if n, _ := s.store.CountDevices(ctx); n != 2*limit {
		t.Fatalf("%d devices, want %d", n, 2*limit)
	}
}

// TestCodeEntryIsCountedInsideTheLookup: user and pairing codes typed on
// a page are counted by the service that looks them up, per address and
// per code, whoever calls it.
func TestCodeEntryIsCountedInsideTheLookup(t *testing.T) {
	s, c := newService(t)
	ctx := context.Background()
	d, err := s.StartDeviceAuthorization(ctx, DeviceRequest{Client: c})
	if err != nil {
		t.Fatal(err)
	}
	perCode := ratelimit.CodeEntryPerCode.Limit
	for i := range perCode {
		if _, err := s.FindUserCode(ctx, CodeEntry{Code: d.UserCode, IP: "192.0.2." + string(rune('1'+i%9))}); err != nil {
			t.Fatalf("attempt %d at a right code: %v", i+1, err)
		}
	}
	if _, err := s.FindUserCode(ctx, CodeEntry{Code: d.UserCode, IP: "192.0.2.200"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("attempt %d at one code: %v", perCode+1, err)
	}
	perIP := ratelimit.CodeEntryPerIP.Limit
	for i := range perIP {
		if _, err := s.FindPairingCode(ctx, CodeEntry{Code: "not-a-code", IP: "192.0.2.77"}); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("attempt %d from one address: %v", i+1, err)
		}
	}
	if _, err := s.FindUserCode(ctx, CodeEntry{Code: "BCDF-GHJK", IP: "192.0.2.77"}); pairgate.ErrorCode(err) != pairgate.ERATELIMITED {
		t.Fatalf("attempt %d from one address: %v", perIP+1, err)
	}
}
