package client_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

// exchange is one token request as the device's HTTP client saw it.
type exchange struct {
	sent, answered time.Time
	status         int
	retryAfter     string
	err            error
}

// exchanges records the token requests a TokenSource sends, passing
// them on to the real server unchanged.
type exchanges struct {
	mu   sync.Mutex
	list []exchange
	seen chan exchange // every exchange, as it completes (buffered)
}

func newExchanges() *exchanges { return &exchanges{seen: make(chan exchange, 100)} }

func (x *exchanges) RoundTrip(req *http.Request) (*http.Response, error) {
	e := exchange{sent: time.Now()}
	resp, err := http.DefaultTransport.RoundTrip(req)
	e.answered, e.err = time.Now(), err
	if resp != nil {
		e.status, e.retryAfter = resp.StatusCode, resp.Header.Get("Retry-After")
	}
	x.mu.Lock()
	x.list = append(x.list, e)
	x.mu.Unlock()
	x.seen <- e
	return resp, err
}

func (x *exchanges) all() []exchange {
	x.mu.Lock()
	defer x.mu.Unlock()
	return append([]exchange(nil), x.list...)
}

// overloaded is a server that works on one write at a time and refuses
// the rest after 100 ms with a Retry-After of 1 to 3 s.
func overloaded(t *testing.T) *testenv.Server {
	return testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) {
		c.MaxConcurrentWrites, c.OverloadWait, c.OverloadRetrySpread = 1, 100*time.Millisecond, 2*time.Second
	}))
}

func expire(t *testing.T, fs *client.FileStore) *client.Credentials {
	t.Helper()
	c := mustLoad(t, fs)
	c.Expiry = time.Now().Add(-time.Minute)
	if err := fs.Save(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	return c
}

// TestOverloadedServerRetryAfterIsHonoured: a real server at capacity
// answers the refresh 503 with Retry-After. Without MaxWait the caller
// learns it at once (ErrUnavailable, and when to come back), and the
// server is not asked again before then; with MaxWait the TokenSource
// waits at least the Retry-After, asks again, and succeeds, with the
// rotation saved and exactly one live refresh token.
func TestOverloadedServerRetryAfterIsHonoured(t *testing.T) {
	s := overloaded(t)
	fs, creds := authorized(t, s)
	expire(t, fs)
	release := s.HoldWriteSlot(t)

	x := newExchanges()
	hc := &http.Client{Transport: x}
	impatient := &client.TokenSource{Store: fs, HTTPClient: hc}
	start := time.Now()
	_, err := impatient.Credentials(ctx(t))
	ra := client.RetryAfter(err)
	if !errors.Is(err, client.ErrUnavailable) || ra < time.Second || ra > 3*time.Second {
		t.Fatalf("refresh refused for overload: %v (retry after %v), want ErrUnavailable after 1-3 s", err, ra)
	}
	if d := time.Since(start); d > 2*time.Second {
		t.Fatalf("without MaxWait the refusal took %v", d)
	}
	if _, err := impatient.Credentials(ctx(t)); !errors.Is(err, client.ErrUnavailable) || client.RetryAfter(err) > ra {
		t.Fatalf("asked again during the Retry-After: %v", err)
	}
	if n := len(x.all()); n != 1 {
		t.Fatalf("%d requests sent; within the Retry-After the server must not be asked again", n)
	}

	// A token that still works is handed out through the overload, and
	// the server is left alone after the refusal.
	valid := &client.TokenSource{Store: fs, HTTPClient: hc}
	still := *creds
	still.Expiry = time.Now().Add(30 * time.Second)
	if err := fs.Save(ctx(t), &still); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		c, err := valid.Credentials(ctx(t))
		if err != nil || c.AccessToken != creds.AccessToken {
			t.Fatalf("a working token during the overload: %v", err)
		}
	}
	if n := len(x.all()); n != 2 {
		t.Fatalf("%d requests sent, want 2: one refusal per TokenSource, then it waits", n)
	}
	expire(t, fs)

	// Patient: waits out the Retry-After. The overload ends just after
	// the refusal, so the next attempt is the one that succeeds.
	patient := &client.TokenSource{Store: fs, HTTPClient: hc, MaxWait: 20 * time.Second}
	go func() {
		for e := range x.seen {
			if e.status == http.StatusServiceUnavailable && len(x.all()) == 3 {
				release()
				return
			}
		}
	}()
	got, err := patient.Credentials(ctx(t))
	if err != nil {
		t.Fatalf("with MaxWait: %v", err)
	}
	all := x.all()
	if len(all) != 4 || all[2].status != http.StatusServiceUnavailable || all[3].status != http.StatusOK {
		t.Fatalf("exchanges %+v, want a 503 then a 200", all)
	}
	secs, err := strconv.Atoi(all[2].retryAfter)
	if err != nil || secs < 1 || secs > 3 {
		t.Fatalf("Retry-After %q", all[2].retryAfter)
	}
	if gap := all[3].sent.Sub(all[2].answered); gap < time.Duration(secs)*time.Second {
		t.Fatalf("asked again %v after Retry-After: %d", gap, secs)
	} else {
		t.Logf("Retry-After: %d, asked again after %v", secs, gap.Round(time.Millisecond))
	}
	if got.RefreshToken == creds.RefreshToken || mustLoad(t, fs).RefreshToken != got.RefreshToken {
		t.Fatal("the refresh was not saved")
	}
	if ok, fam := live(t, s, got.RefreshToken); !ok || fam.Generation != 2 {
		t.Fatalf("after the overload: live %v, family %+v; want one rotation", ok, fam)
	}
}

// TestMaxWaitShorterThanRetryAfterReturnsAtOnce: a caller that may wait
// less than the server asks is told so at once, not after its MaxWait.
func TestMaxWaitShorterThanRetryAfterReturnsAtOnce(t *testing.T) {
	s := overloaded(t)
	fs, _ := authorized(t, s)
	expire(t, fs)
	s.HoldWriteSlot(t)
	start := time.Now()
	_, err := (&client.TokenSource{Store: fs, MaxWait: 500 * time.Millisecond}).Credentials(ctx(t))
	if !errors.Is(err, client.ErrUnavailable) || client.RetryAfter(err) < time.Second {
		t.Fatalf("%v, want ErrUnavailable with a Retry-After of at least 1 s", err)
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("returned after %v: it waited although the Retry-After was longer than MaxWait", d)
	}
}

// claims reads a JWT's iat and exp, as the test's own check of the
// TokenSource's arithmetic.
func claims(t *testing.T, jwt string) (iat, exp time.Time) {
	t.Helper()
	parts := strings.Split(jwt, ".")
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var c struct{ IAT, EXP int64 }
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	return time.Unix(c.IAT, 0), time.Unix(c.EXP, 0)
}

// TestRefreshPointsSpreadOverTheWindow: for real tokens from a real
// server, the refresh point lies between 70 % and 90 % of each token's
// lifetime, is the same on every call and for every TokenSource (so a
// device does not reroll it on each call, nor each process), and differs
// from token to token, spread over the whole window. Before the point
// Credentials hands out the token as it is; after it, it refreshes.
func TestRefreshPointsSpreadOverTheWindow(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.AccessTokenTTL = 10 * time.Minute }))
	fs, _ := authorized(t, s)
	var clock atomic.Pointer[time.Time]
	now := func() time.Time {
		if p := clock.Load(); p != nil {
			return *p
		}
		return time.Now()
	}
	ts := &client.TokenSource{Store: fs, Now: now}
	const n = 200
	var quarters [4]int
	for i := range n {
		clock.Store(nil)
		c, err := ts.Refresh(ctx(t))
		if err != nil {
			t.Fatal(err)
		}
		iat, exp := claims(t, c.AccessToken)
		life := exp.Sub(iat)
		at := ts.RefreshPoint(c)
		f := float64(at.Sub(iat)) / float64(life)
		// The point is computed from exp − iat and placed before the
		// client's expiry; the client's expiry is within a second of
		// exp (iat and exp are whole seconds).
		if f < 0.7-0.002 || f > 0.9+0.002 || c.Expiry.Sub(exp).Abs() > 2*time.Second {
			t.Fatalf("token %d: refresh point at %.3f of its lifetime", i, f)
		}
		quarters[min(int((f-0.7)/0.05), 3)]++
		if again := (&client.TokenSource{Store: fs}).RefreshPoint(c); !again.Equal(at) || !ts.RefreshPoint(c).Equal(at) {
			t.Fatalf("token %d: the refresh point moved between calls: %v, %v", i, at, again)
		}
		if i%50 == 0 {
			// Just before the point: the token as it is, no request.
			before := at.Add(-time.Second)
			clock.Store(&before)
			same, err := ts.Credentials(ctx(t))
			if err != nil || same.AccessToken != c.AccessToken {
				t.Fatalf("before the refresh point: %v", err)
			}
			after := at.Add(time.Second)
			clock.Store(&after)
			next, err := ts.Credentials(ctx(t))
			if err != nil || next.AccessToken == c.AccessToken {
				t.Fatalf("after the refresh point, no refresh: %v", err)
			}
		}
	}
	for q, c := range quarters {
		if c < n/8 {
			t.Fatalf("refresh points in the quarters of [70%%, 90%%]: %v; quarter %d is nearly empty", quarters, q)
		}
	}
	t.Logf("refresh points of %d tokens by part of the window: 70-75%% %d, 75-80%% %d, 80-85%% %d, 85-90%% %d", n, quarters[0], quarters[1], quarters[2], quarters[3])
	// MinValidity still wins when it asks for more.
	c := mustLoad(t, fs)
	_, exp := claims(t, c.AccessToken)
	long := &client.TokenSource{Store: fs, MinValidity: 5 * time.Minute}
	if at := long.RefreshPoint(c); at.After(c.Expiry.Add(-5*time.Minute)) || at.Before(exp.Add(-6*time.Minute)) {
		t.Fatalf("with MinValidity 5m the refresh point is %v before expiry", c.Expiry.Sub(at))
	}
}

// TestLostRefreshAnswerRetriedWithinGrace: the refresh request reaches
// the server, which rotates, and the connection breaks before the answer
// arrives. The TokenSource sends the same refresh token once more at
// once; within the server's grace window that is answered with the same
// successor, so the device stays authorized with one live token.
func TestLostRefreshAnswerRetriedWithinGrace(t *testing.T) {
	s := testenv.StartServer(t)
	// A Bearer device: a DPoP proof names the URL it was sent to, and
	// the proxy's is not the server's.
	cl, err := client.New(ctx(t), client.Config{Server: s.URL, NoDPoP: true})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := cl.Authorize(ctx(t), newCode(t, s), client.AuthorizeOptions{DeviceName: "Kiosk", HardwareID: "SN-2"})
	if err != nil {
		t.Fatal(err)
	}
	fs := &client.FileStore{Path: filepath.Join(t.TempDir(), "device.json")}
	var forwarded, dropped atomic.Int32
	var dropAll atomic.Bool
	dropAll.Store(false)
	target := s.Addr + "/oauth/token"
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		req, _ := http.NewRequestWithContext(r.Context(), r.Method, target, r.Body)
		req.Header = r.Header.Clone()
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Errorf("proxy: %v", err)
			return
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		forwarded.Add(1)
		if dropped.Load() == 0 || dropAll.Load() {
			// The server answered; the device never hears it.
			dropped.Add(1)
			conn, _, _ := w.(http.Hijacker).Hijack()
			conn.(*net.TCPConn).SetLinger(0)
			conn.Close()
			return
		}
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		w.Write(body)
	}))
	defer proxy.Close()
	c := *creds
	c.TokenEndpoint = proxy.URL + "/oauth/token"
	c.Expiry = time.Now().Add(-time.Minute)
	if err := fs.Save(ctx(t), &c); err != nil {
		t.Fatal(err)
	}
	got, err := (&client.TokenSource{Store: fs}).Credentials(ctx(t))
	if err != nil {
		t.Fatalf("after a lost answer: %v", err)
	}
	if forwarded.Load() != 2 || dropped.Load() != 1 {
		t.Fatalf("%d requests reached the server, %d answers lost; want the lost one retried once", forwarded.Load(), dropped.Load())
	}
	if ok, fam := live(t, s, got.RefreshToken); !ok || fam.Generation != 2 || !fam.RevokedAt.IsZero() {
		t.Fatalf("after the retry: live %v, family %+v; want one rotation and no reuse detected", ok, fam)
	}
	if info, err := client.Whoami(ctx(t), nil, mustLoad(t, fs)); err != nil || info.DeviceID != creds.DeviceID {
		t.Fatalf("the device after the lost answer: %+v %v", info, err)
	}

	// Only one quick retry: when that answer is lost too, the device
	// backs off, keeps its credentials, and recovers later (within the
	// grace window) with the same successor.
	dropAll.Store(true)
	forwarded.Store(0)
	before := mustLoad(t, fs)
	_, err = (&client.TokenSource{Store: fs}).Refresh(ctx(t))
	if !errors.Is(err, client.ErrUnavailable) || forwarded.Load() != 2 {
		t.Fatalf("both answers lost: %v after %d requests; want ErrUnavailable after 2", err, forwarded.Load())
	}
	if mustLoad(t, fs).RefreshToken != before.RefreshToken {
		t.Fatal("the credentials changed although no answer arrived")
	}
	dropAll.Store(false)
	if _, err := (&client.TokenSource{Store: fs}).Refresh(ctx(t)); err != nil {
		t.Fatalf("recovery after two lost answers, within the grace window: %v", err)
	}
	if ok, fam := live(t, s, mustLoad(t, fs).RefreshToken); !ok || fam.Generation != 3 || !fam.RevokedAt.IsZero() {
		t.Fatalf("after recovery: live %v, family %+v", ok, fam)
	}
}
