package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"math"
	mrand "math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/secret"
)

// The fleet after an outage (issue 17): N devices, each a goroutine with
// its own client.TokenSource, keep their tokens fresh against one server
// on loopback. The server's refresh capacity is measured first, in the
// same run; then the server is stopped for a while and started again on
// the same data and port, and the run prints, second by second, the
// refresh requests the server answered, how many it refused (503) and how
// many devices held no valid token, with the peak after the restart
// against the measured capacity and the devices that ended logged out.
// The same outage is then played to a naive fleet: each device refreshes
// a fixed time before expiry (the old client's one minute in an hour,
// scaled), retries as soon as an answer comes back and once a second
// while the server is unreachable, and ignores Retry-After.
//
// Everything is scaled from an hour's access token: with -fleet-ttl 3m
// (a twentieth), the 30 s outage stands for ten minutes, the devices'
// minimum validity and the naive margin for one minute (3 s), the
// back-off cap for five minutes (15 s) and the server's 503 spread for
// one minute (3 s).
var (
	herdN      = flag.Int("fleet", 0, "simulate a fleet of this many devices through a server outage, instead of the endpoint runs (fleet.go)")
	herdOutage = flag.Duration("fleet-outage", 30*time.Second, "fleet: how long the server is down")
	herdTTL    = flag.Duration("fleet-ttl", 3*time.Minute, "fleet: access token lifetime, standing for an hour (the other times scale with it)")
	herdBefore = flag.Duration("fleet-before", 15*time.Second, "fleet: how long the devices run before the outage")
	herdAfter  = flag.Duration("fleet-after", 45*time.Second, "fleet: how long they run after the restart")
	herdNaive  = flag.Bool("fleet-naive", true, "fleet: play the same outage to a naive fleet too (fixed refresh time, no jitter, immediate retries)")
)

// fleetOnly runs the fleet simulation and exits, when -fleet asks for it.
func fleetOnly(dbURL, alg string, d time.Duration, conc int) {
	if *herdN == 0 {
		return
	}
	code := fleetMain(dbURL, alg, d, conc)
	pprof.StopCPUProfile()
	os.Exit(code)
}

func fleetMain(dbURL, alg string, d time.Duration, conc int) int {
	if *herdN < 1 || *herdN > 200000 || *herdTTL < time.Minute || *herdOutage < 0 || *herdBefore < time.Second || *herdAfter < time.Second ||
		*herdBefore+*herdOutage+*herdAfter > 10*time.Minute {
		fmt.Fprintln(os.Stderr, "pairgate-bench: -fleet in [1, 200000], -fleet-ttl at least 1m, before, outage and after at most 10m together")
		return 2
	}
	if err := runFleet(dbURL, alg, d, conc); err != nil {
		fmt.Fprintln(os.Stderr, "pairgate-bench:", err)
		return 1
	}
	return 0
}

// herdServer is one run of the server on the fleet's data and port.
type herdServer struct {
	a    *app.App
	stop context.CancelFunc
	done chan error
}

func startHerdServer(cfg app.Config) (*herdServer, error) {
	var ln net.Listener
	var err error
	// The port was ours a moment ago; give the kernel a moment to agree.
	for i := 0; i < 50; i++ {
		if ln, err = net.Listen("tcp", cfg.Addr); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err != nil {
		return nil, err
	}
	a, err := app.New(context.Background(), cfg, app.Options{Log: app.NewLogger(os.Stderr, "warn", "text")})
	if err != nil {
		ln.Close()
		return nil, err
	}
	ctx, stop := context.WithCancel(context.Background())
	s := &herdServer{a: a, stop: stop, done: make(chan error, 1)}
	go func() { s.done <- a.Serve(ctx, ln) }()
	return s, nil
}

// Stop shuts the server down as SIGTERM does: in-flight requests finish,
// new connections are refused.
func (s *herdServer) Stop() {
	s.stop()
	<-s.done
	s.a.Close()
}

func runFleet(dbURL, alg string, d time.Duration, conc int) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pairgate-fleet-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	scale := float64(*herdTTL) / float64(time.Hour)
	scaled := func(d time.Duration) time.Duration { return time.Duration(float64(d) * scale) }

	cfg := app.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.AdminPassword = "bench password, not for use"
	cfg.MetricsAddr, cfg.IPPAddr = "", ""
	cfg.SigningAlg = alg
	cfg.LogLevel = "warn"
	cfg.RatePerSource, cfg.RatePerClient = 1e9, 1e9 // one address is the whole fleet
	cfg.AccessTokenTTL = *herdTTL
	cfg.OverloadRetrySpread = max(scaled(cfg.OverloadRetrySpread), time.Second)
	backend := "SQLite"
	if dbURL != "" {
		dsn, drop, err := throwawayDB(ctx, dbURL)
		if err != nil {
			return err
		}
		defer drop()
		cfg.DB, backend = dsn, "PostgreSQL"
	}
	cfg.Addr = "127.0.0.1:0"
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		return err
	}
	cfg.Addr = ln.Addr().String()
	ln.Close()
	cfg.Issuer = "http://" + cfg.Addr
	srv, err := startHerdServer(cfg)
	if err != nil {
		return err
	}
	defer func() { srv.Stop() }()

	p := herdParams{
		n: *herdN, ttl: *herdTTL, minValid: max(scaled(client.DefaultMinValidity), time.Second),
		backoffCap: max(scaled(client.DefaultBackoffCap), time.Second),
		before:     *herdBefore, outage: *herdOutage, after: *herdAfter,
		base: cfg.Issuer,
	}
	fmt.Printf("pairgate-bench -fleet: %d devices, %s, %s, GOMAXPROCS=%d, %s\n", p.n, backend, alg, runtime.GOMAXPROCS(0), runtime.Version())
	fmt.Printf("scale: access tokens of %v stand for 1h; outage %v; min validity %v; back-off %v doubling to %v; server: --max-concurrent-writes %d, --overload-wait %v, --overload-retry-spread %v\n\n",
		p.ttl, p.outage, p.minValid, client.DefaultBackoffBase, p.backoffCap, cfg.MaxConcurrentWrites, cfg.OverloadWait, cfg.OverloadRetrySpread)

	// The server's refresh capacity, measured in this run: as many
	// keep-alive clients as it works on at once (--max-concurrent-writes),
	// rotating as fast as it answers.
	conc, d = cfg.MaxConcurrentWrites, max(d, 5*time.Second)
	b := &bench{base: cfg.Issuer, app: srv.a, d: d, conc: conc, client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, IdleConnTimeout: time.Minute}}}
	r, err := b.refresh()
	if err != nil {
		return fmt.Errorf("capacity: %w", err)
	}
	p.capacity = r.rps()
	fmt.Printf("capacity: %.0f refreshes/s (%d clients for %v, p50 %s, p99 %s, %d errors)\n", p.capacity, conc, d, ms(r.p50), ms(r.p99), r.errors)
	b.client.CloseIdleConnections()

	kinds := []bool{false}
	if *herdNaive {
		kinds = append(kinds, true)
	}
	var results []herdResult
	for _, naive := range kinds {
		creds, err := makeHerd(ctx, srv.a, cfg, p, naive)
		if err != nil {
			return err
		}
		res, next, err := playOutage(p, creds, naive, srv, cfg)
		srv = next
		if err != nil {
			return err
		}
		res.print(p)
		results = append(results, res)
	}
	fmt.Println()
	fmt.Printf("summary (capacity %.0f refreshes/s, outage %v, %d devices each):\n", p.capacity, p.outage, p.n)
	for _, res := range results {
		fmt.Printf("  %-7s peak %5d answered/s (%.2f × capacity) %s; %6d refused (503); all devices valid again %s; logged out: %d\n",
			res.name, res.peak, float64(res.peak)/p.capacity, fmt.Sprintf("at +%ds", res.peakAt), res.refused, res.recoveredText(), res.loggedOut)
	}
	for _, res := range results {
		if !res.naive && res.loggedOut > 0 {
			return fmt.Errorf("%d devices of the fleet were logged out", res.loggedOut)
		}
	}
	return nil
}

type herdParams struct {
	n                     int
	ttl, minValid         time.Duration
	backoffCap            time.Duration
	before, outage, after time.Duration
	base                  string
	capacity              float64
}

// makeHerd gives n devices an authorization each, straight through the
// store (a refresh family with a real refresh token, stored as its keyed
// hash as the grants store it), and credentials as a device would hold
// them in steady state: each access token somewhere in its life. The
// access tokens themselves are placeholders: the fleet only ever
// refreshes, and the server mints real ones at the first refresh.
func makeHerd(ctx context.Context, a *app.App, cfg app.Config, p herdParams, naive bool) ([]*client.Credentials, error) {
	start := time.Now()
	tag := "jit"
	if naive {
		tag = "nai"
	}
	out := make([]*client.Credentials, p.n)
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= p.n {
					return
				}
				now := time.Now()
				rt := secret.Token(secret.PrefixRefreshToken)
				d := &pairgate.Device{ID: fmt.Sprintf("dev_%s_%06d", tag, i), ClientID: pairgate.DefaultClientID, Name: fmt.Sprintf("%s-%06d", tag, i),
					Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByDeviceCode, Scopes: pairgate.Scopes{"printing"},
					AuthorizedAt: now, LastSeenAt: now, LastIP: "127.0.0.1"}
				fam := &pairgate.RefreshFamily{ID: fmt.Sprintf("fam_%s_%06d", tag, i), ClientID: d.ClientID, Scopes: d.Scopes, CreatedAt: now}
				dev, err := a.Store.IssueRefreshFamily(ctx, d, fam, pairgate.NewRefreshToken{Hash: a.Keys.Hash(secret.KindRefresh, rt),
					IssuedAt: now, ExpiresAt: now.Add(cfg.RefreshTokenTTL)})
				if err != nil {
					errs <- err
					return
				}
				out[i] = &client.Credentials{Issuer: p.base, ClientID: pairgate.DefaultClientID, TokenEndpoint: p.base + "/oauth/token",
					AccessToken: "placeholder-" + randHex(16), TokenType: "Bearer", RefreshToken: rt,
					DeviceID: dev.ID, Mode: "device", Method: "device_code"}
			}
		}()
	}
	wg.Wait()
	close(errs)
	if err := <-errs; err != nil {
		return nil, fmt.Errorf("making the fleet: %w", err)
	}
	// Steady state from the moment the fleet starts: each token is
	// somewhere between its issue and the refresh its device will make
	// of it.
	now := time.Now()
	for _, c := range out {
		c.Expiry, c.AuthorizedAt, c.RefreshedAt = now.Add(p.ttl), now, now
		life := p.ttl - p.minValid
		if !naive {
			life = (&client.TokenSource{MinValidity: p.minValid}).RefreshPoint(c).Sub(now)
		}
		age := time.Duration(mrand.Float64() * float64(life))
		c.Expiry, c.AuthorizedAt, c.RefreshedAt = c.Expiry.Add(-age), now.Add(-age), now.Add(-age)
	}
	fmt.Fprintf(os.Stderr, "  made %d devices in %v\n", p.n, time.Since(start).Round(time.Millisecond))
	return out, nil
}

func randHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}

// memStore keeps one device's credentials in memory.
type memStore struct {
	mu sync.Mutex
	c  client.Credentials
}

func (m *memStore) Load(context.Context) (*client.Credentials, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	c := m.c
	return &c, nil
}

func (m *memStore) Save(_ context.Context, c *client.Credentials) error {
	m.mu.Lock()
	m.c = *c
	m.mu.Unlock()
	return nil
}

// herdSecond is what happened in one second of a fleet run.
type herdSecond struct {
	ok, refused, other, failed atomic.Int64 // answers 200, 503/429, other; requests that reached no server
	noToken                    atomic.Int64 // devices without a valid access token, sampled
}

// herdCounter counts the fleet's token requests by the second their
// answer came (or their failure).
type herdCounter struct {
	base  http.RoundTripper
	start time.Time
	secs  []herdSecond
}

func (c *herdCounter) at(t time.Time) *herdSecond {
	i := int(t.Sub(c.start) / time.Second)
	if i < 0 || i >= len(c.secs) {
		return &herdSecond{}
	}
	return &c.secs[i]
}

func (c *herdCounter) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := c.base.RoundTrip(req)
	s := c.at(time.Now())
	switch {
	case err != nil:
		s.failed.Add(1)
	case resp.StatusCode == http.StatusOK:
		s.ok.Add(1)
	case resp.StatusCode == http.StatusServiceUnavailable || resp.StatusCode == http.StatusTooManyRequests:
		s.refused.Add(1)
	default:
		s.other.Add(1)
	}
	return resp, err
}

type herdResult struct {
	name                 string
	naive                bool
	secs                 []herdSecond
	downAt, upAt         int // seconds
	peak, peakAt         int
	refused              int64
	recovered            int // seconds after the restart until every device held a valid token; -1: never
	loggedOut, otherErrs int64
	firstErr             string
	steady               float64
	maxNoToken           int64
}

func (r herdResult) recoveredText() string {
	if r.recovered < 0 {
		return "never"
	}
	return fmt.Sprintf("%ds after the restart", r.recovered)
}

// playOutage runs the devices, stops the server after p.before, starts
// it again on the same data and port after p.outage, and runs p.after
// more. It returns the server now running.
func playOutage(p herdParams, creds []*client.Credentials, naive bool, srv *herdServer, cfg app.Config) (herdResult, *herdServer, error) {
	res := herdResult{name: "jitter", naive: naive}
	if naive {
		res.name = "naive"
	}
	total := p.before + p.outage + p.after
	cnt := &herdCounter{base: &http.Transport{MaxIdleConns: 1024, MaxIdleConnsPerHost: 1024, MaxConnsPerHost: 1024, IdleConnTimeout: time.Minute},
		start: time.Now(), secs: make([]herdSecond, int(total/time.Second)+2)}
	hc := &http.Client{Transport: cnt, Timeout: 30 * time.Second}
	valid := make([]atomic.Int64, len(creds)) // each device's token expiry, unix ns
	for i, c := range creds {
		valid[i].Store(c.Expiry.UnixNano())
	}
	var loggedOut, otherErrs atomic.Int64
	var firstErr atomic.Value
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for i, c := range creds {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if naive {
				err = naiveDevice(ctx, hc, c, p.minValid, &valid[i])
			} else {
				err = jitterDevice(ctx, hc, c, p, &valid[i])
			}
			switch {
			case err == nil || ctx.Err() != nil:
			case errors.Is(err, client.ErrNotAuthorized):
				loggedOut.Add(1)
			default:
				otherErrs.Add(1)
				firstErr.CompareAndSwap(nil, err.Error())
			}
		}()
	}
	// The sampler: devices without a valid token, once a second.
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case now := <-t.C:
				var n int64
				for i := range valid {
					if valid[i].Load() < now.UnixNano() {
						n++
					}
				}
				cnt.at(now.Add(-time.Millisecond)).noToken.Store(n)
			}
		}
	}()
	fmt.Fprintf(os.Stderr, "  %s fleet running\n", res.name)
	time.Sleep(time.Until(cnt.start.Add(p.before)))
	srv.Stop()
	res.downAt = int(time.Since(cnt.start) / time.Second)
	fmt.Fprintf(os.Stderr, "  server stopped at +%ds\n", res.downAt)
	time.Sleep(time.Until(cnt.start.Add(p.before + p.outage)))
	next, err := startHerdServer(cfg)
	if err != nil {
		cancel()
		wg.Wait()
		return res, nil, fmt.Errorf("restart: %w", err)
	}
	res.upAt = int(time.Since(cnt.start) / time.Second)
	fmt.Fprintf(os.Stderr, "  server started again at +%ds\n", res.upAt)
	time.Sleep(time.Until(cnt.start.Add(total)))
	cancel()
	wg.Wait()

	res.secs, res.loggedOut, res.otherErrs = cnt.secs, loggedOut.Load(), otherErrs.Load()
	if e := firstErr.Load(); e != nil {
		res.firstErr = e.(string)
	}
	res.recovered = -1
	var steadyN int64
	for i := range res.secs[:int(total/time.Second)] {
		s := &res.secs[i]
		answered := int(s.ok.Load() + s.refused.Load() + s.other.Load())
		res.refused += s.refused.Load()
		res.maxNoToken = max(res.maxNoToken, s.noToken.Load())
		if i >= 2 && i < res.downAt {
			steadyN += int64(answered)
		}
		if i >= res.upAt {
			if answered > res.peak {
				res.peak, res.peakAt = answered, i-res.upAt
			}
			if res.recovered < 0 && s.noToken.Load() == 0 && i > res.upAt {
				res.recovered = i - res.upAt
			}
		}
	}
	if res.downAt > 2 {
		res.steady = float64(steadyN) / float64(res.downAt-2)
	}
	return res, next, nil
}

// jitterDevice is a device with this package's TokenSource: it sleeps
// until NextRefresh, asks for its credentials, and starts over.
func jitterDevice(ctx context.Context, hc *http.Client, c *client.Credentials, p herdParams, valid *atomic.Int64) error {
	ts := &client.TokenSource{Store: &memStore{c: *c}, HTTPClient: hc, MinValidity: p.minValid, BackoffCap: p.backoffCap}
	for {
		got, err := ts.Credentials(ctx)
		switch {
		case err == nil:
			valid.Store(got.Expiry.UnixNano())
		case ctx.Err() != nil:
			return nil
		case !errors.Is(err, client.ErrUnavailable):
			return err
		}
		wait := max(time.Until(ts.NextRefresh()), 10*time.Millisecond)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil
		case <-t.C:
		}
	}
}

// naiveDevice refreshes minValid before expiry, every device the same,
// and retries at once after any answer (the server's 503 comes after its
// --overload-wait) and every second while nothing answers; Retry-After
// is not read.
func naiveDevice(ctx context.Context, hc *http.Client, c *client.Credentials, minValid time.Duration, valid *atomic.Int64) error {
	rt, exp := c.RefreshToken, c.Expiry
	form := func() string {
		return url.Values{"grant_type": {"refresh_token"}, "client_id": {c.ClientID}, "refresh_token": {rt}}.Encode()
	}
	sleep := func(d time.Duration) bool {
		t := time.NewTimer(max(d, 0))
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	for {
		if !sleep(time.Until(exp.Add(-minValid))) {
			return nil
		}
		for {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.TokenEndpoint, strings.NewReader(form()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			resp, err := hc.Do(req)
			if ctx.Err() != nil {
				return nil
			}
			if err != nil {
				if !sleep(time.Second) {
					return nil
				}
				continue
			}
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				var tok struct {
					RefreshToken string `json:"refresh_token"`
					ExpiresIn    int64  `json:"expires_in"`
				}
				if err := json.Unmarshal(body, &tok); err != nil || tok.RefreshToken == "" {
					return fmt.Errorf("a token answer without a refresh token: %s", body)
				}
				rt, exp = tok.RefreshToken, time.Now().Add(time.Duration(tok.ExpiresIn)*time.Second)
				valid.Store(exp.UnixNano())
				break
			}
			if resp.StatusCode == http.StatusBadRequest && strings.Contains(string(body), "invalid_grant") {
				return fmt.Errorf("%w: %s", client.ErrNotAuthorized, body)
			}
		}
	}
}

func (r herdResult) print(p herdParams) {
	title := "Fleet with jitter (client.TokenSource: refresh at 70-90% of the lifetime, Retry-After, full-jitter back-off)"
	if r.naive {
		title = "Naive fleet (refresh " + p.minValid.String() + " before expiry, no jitter, retry at once, Retry-After ignored)"
	}
	fmt.Printf("\n%s\n", title)
	fmt.Printf("%6s  %-7s  %8s  %6s  %6s  %6s  %8s  %s\n", "second", "server", "answered", "200", "503", "other", "no conn", "devices without a valid token")
	for i := range r.secs[:len(r.secs)-2] {
		s := &r.secs[i]
		state := "up"
		switch {
		case i == r.downAt:
			state = "STOP"
		case i > r.downAt && i < r.upAt:
			state = "down"
		case i == r.upAt:
			state = "START"
		}
		answered := s.ok.Load() + s.refused.Load() + s.other.Load()
		bar := ""
		if p.capacity > 0 {
			bar = strings.Repeat("#", int(math.Min(60, math.Round(float64(answered)/p.capacity*20))))
		}
		fmt.Printf("%6d  %-7s  %8d  %6d  %6d  %6d  %8d  %6d  %s\n", i, state, answered, s.ok.Load(), s.refused.Load(), s.other.Load(), s.failed.Load(), s.noToken.Load(), bar)
	}
	verdict := "within"
	if float64(r.peak) > p.capacity {
		verdict = "ABOVE"
	}
	fmt.Printf("steady state before the outage: %.0f refreshes/s; peak after the restart: %d answered/s at +%ds, %s the measured capacity of %.0f/s (%.2f×)\n",
		r.steady, r.peak, r.peakAt, verdict, p.capacity, float64(r.peak)/p.capacity)
	fmt.Printf("refused (503): %d; most devices without a valid token at once: %d; all valid again: %s; logged out: %d; other errors: %d %s\n",
		r.refused, r.maxNoToken, r.recoveredText(), r.loggedOut, r.otherErrs, r.firstErr)
	fmt.Printf("(the bar: answered requests/s, 20 # = the measured capacity)\n")
}
