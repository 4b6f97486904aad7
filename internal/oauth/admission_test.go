package oauth_test

import (
	"net/url"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestOverloadIsAnswered503WithSpreadRetries: writes beyond what the
// replica works on at once are refused at once with 503 and a Retry-After
// spread over the window, never a 500, never a partial write; polls are
// not held back.
func TestOverloadIsAnswered503WithSpreadRetries(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) {
		c.MaxConcurrentWrites, c.OverloadWait, c.OverloadRetrySpread = 1, time.Millisecond, 30*time.Second
	}))
	code, _ := s.CreateCode(t, pairgate.TTL6Hours)
	const n = 40
	var wg sync.WaitGroup
	replies := make([]reply, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = post(t, s.URL+"/oauth/token", formType, url.Values{"grant_type": {pairgate.GrantAuthorizationCode},
				"client_id": {"print-client"}, "code": {code}, "device_name": {"Printer " + strconv.Itoa(i)}}.Encode())
		}()
	}
	close(start)
	wg.Wait()
	ok, refused := 0, 0
	retries := map[string]bool{}
	for _, r := range replies {
		switch r.status {
		case 200:
			ok++
		case 503:
			refused++
			retry, _ := strconv.Atoi(r.header.Get("Retry-After"))
			if r.body["error"] != "temporarily_unavailable" || retry < 1 || retry > 31 {
				t.Fatalf("a refusal: %s, Retry-After %q", r.raw, r.header.Get("Retry-After"))
			}
			retries[r.header.Get("Retry-After")] = true
		default:
			t.Fatalf("under overload: %d %s", r.status, r.raw)
		}
	}
	if ok == 0 || refused == 0 {
		t.Fatalf("%d admitted, %d refused: the admission did not bound the writes", ok, refused)
	}
	if refused > 3 && len(retries) < 2 {
		t.Fatalf("every refusal says the same Retry-After: %v", retries)
	}
	if n, _ := s.App.Store.CountDevices(t.Context()); n != ok {
		t.Fatalf("%d devices for %d admitted redemptions", n, ok)
	}
	t.Logf("%d admitted, %d refused with %d different Retry-After values", ok, refused, len(retries))
}
