// Command pairgate-bench measures pairgate on loopback: it starts a server
// with a fresh store, drives each endpoint with N concurrent keep-alive
// clients for a bounded time, and prints requests per second and p50/p99
// latency next to a bare net/http handler measured in the same run.
//
//	go run ./cmd/pairgate-bench                       # SQLite, 3 s per endpoint
//	go run ./cmd/pairgate-bench -db postgres://postgres@127.0.0.1:5432/postgres?sslmode=disable
//
// With -db postgres://…, a throw-away database is created on that server
// and dropped afterwards.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"runtime/pprof"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/secret"
)

func main() {
	duration := flag.Duration("duration", 3*time.Second, "how long to drive each endpoint (and each of its two bare baselines)")
	conc := flag.Int("c", 32, "concurrent clients")
	dbURL := flag.String("db", "", "postgres:// URL of a server to benchmark on (default: embedded SQLite)")
	only := flag.String("only", "", "comma-separated endpoints to run (default: all)")
	alg := flag.String("signing-alg", "RS256", "access token signing algorithm: RS256, ES256 or EdDSA")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the whole run to this file")
	flag.Parse()
	if *cpuprofile != "" {
		f, err := os.Create(*cpuprofile)
		if err != nil {
			fmt.Fprintln(os.Stderr, "pairgate-bench:", err)
			os.Exit(1)
		}
		pprof.StartCPUProfile(f)
		defer pprof.StopCPUProfile()
	}
	if *duration <= 0 || *duration > 5*time.Minute || *conc < 1 || *conc > 1024 {
		fmt.Fprintln(os.Stderr, "pairgate-bench: -duration must be in (0, 5m] and -c in [1, 1024]")
		os.Exit(2)
	}
	if *serveAlone != "" {
		serveAloneMain() // alone.go
	}
	fleetOnly(*dbURL, *alg, *duration, *conc) // -fleet: fleet.go
	runner := run
	if *populationFlag != "" {
		runner = runPopulation // population.go
	}
	if err := runner(*duration, *conc, *dbURL, *only, *alg); err != nil {
		fmt.Fprintln(os.Stderr, "pairgate-bench:", err)
		pprof.StopCPUProfile()
		os.Exit(1)
	}
}

type result struct {
	name     string
	n        int
	errors   int
	elapsed  time.Duration
	p50, p99 time.Duration
	note     string
}

func (r result) rps() float64 { return float64(r.n) / r.elapsed.Seconds() }

func run(d time.Duration, conc int, dbURL, only, alg string) error {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pairgate-bench-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)

	cfg := app.Default()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.AdminPassword = "bench password, not for use"
	cfg.MetricsAddr = ""
	cfg.IPPAddr = "127.0.0.1:0" // the held queue (release.go)
	cfg.SigningAlg = alg
	cfg.LogLevel = "warn"
	// Each pending code is polled about once a second below; the shortest
	// interval the server allows keeps those polls from being slow_down.
	cfg.PollInterval = time.Second
	// All load comes from one address: keep the capacity limits in the
	// path (their cost is measured) but out of the way.
	cfg.RatePerSource, cfg.RatePerClient = 1e9, 1e9
	backend := "SQLite (embedded, WAL)"
	if dbURL != "" {
		dsn, drop, err := throwawayDB(ctx, dbURL)
		if err != nil {
			return err
		}
		defer drop()
		cfg.DB = dsn
		backend = "PostgreSQL"
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + cfg.Addr
	a, err := app.New(ctx, cfg, app.Options{Log: app.NewLogger(os.Stderr, "warn", "text")})
	if err != nil {
		return err
	}
	defer a.Close()
	sctx, stop := context.WithCancel(ctx)
	defer stop()
	go a.Serve(sctx, ln)

	bare, err := startBare()
	if err != nil {
		return err
	}
	defer bare.Close()

	b := &bench{base: cfg.Issuer, app: a, d: d, conc: conc, client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: conc * 2, MaxIdleConnsPerHost: conc * 2, IdleConnTimeout: time.Minute,
	}}}
	want := map[string]bool{}
	for _, e := range strings.Split(only, ",") {
		if e = strings.TrimSpace(e); e != "" {
			want[e] = true
		}
	}
	bareRun := func() (result, error) { return b.bare("http://" + bare.Addr().String() + "/") }
	steps := []struct {
		name string
		fn   func() (result, error)
	}{
		{"device_authorization", b.deviceAuthorization},
		{"pending_poll", b.pendingPoll},
		{"pairing", b.pairing},
		{"refresh", b.refresh},
		{"refresh_dpop", b.refreshDPoP},
		{"introspection", b.introspection},
		{"device_printers_first_poll", b.printersFirstPoll},
		{"device_printers", b.printers},
		{"device_printers_304", b.printersNotModified},
		{"status_list", b.statusList},
		{"status_list_304", b.statusListRevalidate},
	}
	fmt.Printf("pairgate-bench: %s, %s, %d clients, %v per endpoint, GOMAXPROCS=%d, %s\n\n", backend, alg, conc, d, runtime.GOMAXPROCS(0), runtime.Version())
	steps = append(steps, heldQueueSteps(b)...) // release.go
	// Each endpoint is measured between two bare runs of its own and
	// compared with their mean: on a shared machine the bare baseline
	// drifts by a third from one run to the next, and a ratio against a
	// single, stale baseline would measure the drift.
	// The refresh is measured between two runs of its signature bound
	// too, for the same reason.
	signing, stopSigning, err := b.signatureBound()
	if err != nil {
		return err
	}
	defer stopSigning()
	var refreshed, sigBefore, sigAfter result // the refresh run and its signature bound
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\treq/s\tp50\tp99\tbare req/s\tvs bare\terrors\t")
	for _, s := range steps {
		if len(want) > 0 && !want[s.name] {
			continue
		}
		base, err := bareRun()
		if err != nil {
			return fmt.Errorf("bare: %w", err)
		}
		if s.name == "refresh" {
			if sigBefore, err = signing(); err != nil {
				return fmt.Errorf("signature bound: %w", err)
			}
		}
		r, err := s.fn()
		if err != nil {
			return fmt.Errorf("%s: %w", s.name, err)
		}
		if s.name == "refresh" {
			refreshed = r
			if sigAfter, err = signing(); err != nil {
				return fmt.Errorf("signature bound: %w", err)
			}
		}
		after, err := bareRun()
		if err != nil {
			return fmt.Errorf("bare: %w", err)
		}
		baseRPS := (base.rps() + after.rps()) / 2
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.0f\t%.2f\t%d\t%s\n", r.name, r.rps(), ms(r.p50), ms(r.p99), baseRPS, r.rps()/baseRPS, r.errors, r.note)
		fmt.Fprintf(os.Stderr, "  measured %s\n", r.name)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if refreshed.n > 0 {
		bound := (sigBefore.rps() + sigAfter.rps()) / 2
		fmt.Printf("\nsignature bound: a bare handler signing one %s access token a request: %.0f req/s (%.0f before the refresh run, %.0f after; p99 %s, %s);\n"+
			"refresh (rotation) %.0f req/s = %.2f× its signature bound\n", alg, bound, sigBefore.rps(), sigAfter.rps(), ms(sigBefore.p99), ms(sigAfter.p99),
			refreshed.rps(), refreshed.rps()/bound)
	}
	if len(want) == 0 || want["refresh_dpop"] || want["dpop_cost"] {
		return b.dpopCost()
	}
	return nil
}

// signatureBound starts the most a refresh could do on this machine if it
// cost nothing but its signature: a bare net/http handler that reads the
// same form and signs one access token a request with the server's own
// key and claims (Issuer.Mint). It returns a run of it and its stop.
func (b *bench) signatureBound() (func() (result, error), func(), error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, nil, err
	}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if err := r.ParseForm(); err != nil {
			http.Error(w, err.Error(), 400)
			return
		}
		tok, _, err := b.app.Tokens.Mint(r.Context(), accesstoken.Grant{Subject: "dev_x", ClientID: r.PostForm.Get("client_id"),
			Scopes: pairgate.Scopes{"printing"}, DeviceID: "dev_x", FamilyID: "fam_x", StatusIndex: 1})
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Cache-Control", "no-store")
		json.NewEncoder(w).Encode(map[string]any{"access_token": tok, "token_type": "Bearer", "expires_in": 3600})
	})}
	go srv.Serve(ln)
	u := "http://" + ln.Addr().String() + "/oauth/token"
	run := func() (result, error) {
		return b.drive("bare net/http signing", func(int) (*http.Request, func(int, []byte) bool) {
			return form(u, "grant_type=refresh_token&client_id=print-client&refresh_token=x"), func(s int, _ []byte) bool { return s == 200 }
		})
	}
	return run, func() { srv.Close() }, nil
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d.Microseconds())/1000) }

func startBare() (net.Listener, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	body := []byte(`{"error":"authorization_pending","error_description":"the user has not yet approved the request"}` + "\n")
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.Copy(io.Discard, r.Body)
		w.Header().Set("Content-Type", "application/json")
		w.Write(body)
	})}
	go srv.Serve(ln)
	return ln, nil
}

type bench struct {
	base   string
	app    *app.App
	d      time.Duration
	conc   int
	client *http.Client

	fleet *fleet // the device printers runs' devices, made once
}

// request is one request a worker sends; check says whether the answer is
// the expected one and may return what the worker needs next.
type request func(worker int) (*http.Request, func(status int, body []byte) bool)

// drive runs conc workers for the bench duration.
func (b *bench) drive(name string, mk request) (result, error) {
	var n, errs atomic.Int64
	lat := make([][]time.Duration, b.conc)
	deadline := time.Now().Add(b.d)
	start := time.Now()
	var wg sync.WaitGroup
	var firstErr atomic.Value
	for w := range b.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			buf := make([]byte, 0, 4096)
			for time.Now().Before(deadline) {
				req, check := mk(w)
				t0 := time.Now()
				resp, err := b.client.Do(req)
				if err != nil {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
					continue
				}
				bb := bytes.NewBuffer(buf[:0])
				io.Copy(bb, resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				n.Add(1)
				if !check(resp.StatusCode, bb.Bytes()) {
					errs.Add(1)
					firstErr.CompareAndSwap(nil, fmt.Sprintf("%d %s", resp.StatusCode, bb.String()))
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	var all []time.Duration
	for _, l := range lat {
		all = append(all, l...)
	}
	if len(all) == 0 {
		return result{}, fmt.Errorf("no request completed")
	}
	slices.Sort(all)
	r := result{name: name, n: int(n.Load()), errors: int(errs.Load()), elapsed: elapsed,
		p50: all[len(all)/2], p99: all[len(all)*99/100]}
	if e := firstErr.Load(); e != nil {
		r.note = "first error: " + truncate(e.(string), 120)
	}
	return r, nil
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

func form(u, body string, header ...string) *http.Request {
	req, _ := http.NewRequest("POST", u, strings.NewReader(body))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return req
}

func (b *bench) bare(u string) (result, error) {
	return b.drive("bare net/http", func(int) (*http.Request, func(int, []byte) bool) {
		return form(u, "grant_type=x"), func(s int, _ []byte) bool { return s == 200 }
	})
}

// deviceCodes collects the device codes handed out during the device
// authorization run; the poll run polls them.
var deviceCodes struct {
	sync.Mutex
	codes []string
}

func (b *bench) deviceAuthorization() (result, error) {
	return b.drive("device authorization", func(int) (*http.Request, func(int, []byte) bool) {
		return form(b.base+"/oauth/device/code", "client_id=print-client&scope=printing"), func(s int, body []byte) bool {
			var r struct {
				DeviceCode string `json:"device_code"`
			}
			if s != 200 || json.Unmarshal(body, &r) != nil || r.DeviceCode == "" {
				return false
			}
			deviceCodes.Lock()
			deviceCodes.codes = append(deviceCodes.codes, r.DeviceCode)
			deviceCodes.Unlock()
			return true
		}
	})
}

func (b *bench) pendingPoll() (result, error) {
	deviceCodes.Lock()
	codes := deviceCodes.codes
	deviceCodes.Unlock()
	if len(codes) < 1000 {
		// Run alone (-only pending_poll): make codes first.
		for len(codes) < 20000 {
			resp, err := b.client.Do(form(b.base+"/oauth/device/code", "client_id=print-client"))
			if err != nil {
				return result{}, err
			}
			var r struct {
				DeviceCode string `json:"device_code"`
			}
			json.NewDecoder(resp.Body).Decode(&r)
			resp.Body.Close()
			codes = append(codes, r.DeviceCode)
		}
	}
	var next atomic.Uint64
	var slow atomic.Int64
	prefix := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code="
	r, err := b.drive("pending poll", func(int) (*http.Request, func(int, []byte) bool) {
		code := codes[next.Add(1)%uint64(len(codes))]
		return form(b.base+"/oauth/token", prefix+code), func(s int, body []byte) bool {
			if bytes.Contains(body, []byte(`"slow_down"`)) {
				slow.Add(1)
				return true
			}
			return s == 400 && bytes.Contains(body, []byte(`"authorization_pending"`))
		}
	})
	if n := slow.Load(); n > 0 {
		r.note = fmt.Sprintf("%d of the answers were slow_down (codes polled faster than their interval)", n)
	}
	return r, err
}

func (b *bench) pairing() (result, error) {
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("print-client:"))
	return b.drive("pairing request", func(int) (*http.Request, func(int, []byte) bool) {
		return form(b.base+"/oauth/pair/", `{"scope":"printing","mode":"device"}`, "Authorization", auth),
			func(s int, body []byte) bool { return s == 200 && bytes.Contains(body, []byte("pairing_code")) }
	})
}

// authorize gives each worker its own device with a refresh token chain.
func (b *bench) authorize(n int) ([]map[string]any, error) {
	return b.authorizeWith(n, nil)
}

// authorizeWith is authorize for devices that hold keys[i] (DPoP), when
// keys is not nil.
// approvers numbers the bench's approvals.
var approvers atomic.Int64

func (b *bench) authorizeWith(n int, keys []*client.DeviceKey) ([]map[string]any, error) {
	out := make([]map[string]any, n)
	admin, err := b.app.Store.GetUserByUsername(context.Background(), "admin")
	if err != nil {
		return nil, err
	}
	for i := range n {
		var h []string
		if keys != nil {
			h = []string{"DPoP", mustProof(keys[i], b.base+"/oauth/device/code")}
		}
		resp, err := b.client.Do(form(b.base+"/oauth/device/code", fmt.Sprintf("client_id=print-client&mode=device&hardware_id=bench-%d", i), h...))
		if err != nil {
			return nil, err
		}
		var da map[string]string
		json.NewDecoder(resp.Body).Decode(&da)
		resp.Body.Close()
		// Each approver from an address of its own: the guessing limit
		// counts every code entry, and the bench enters hundreds.
		n := approvers.Add(1)
		p, err := b.app.Grants.FindUserCode(context.Background(), grants.CodeEntry{Code: da["user_code"], IP: fmt.Sprintf("10.%d.%d.%d", n>>16&255, n>>8&255, n&255)})
		if err != nil {
			return nil, err
		}
		if _, err := b.app.Grants.Approve(context.Background(), grants.Decision{Pending: p, User: admin}); err != nil {
			return nil, err
		}
		if keys != nil {
			h = []string{"DPoP", mustProof(keys[i], b.base+"/oauth/token")}
		}
		resp, err = b.client.Do(form(b.base+"/oauth/token", "grant_type="+url.QueryEscape(pairgate.GrantDeviceCode)+"&client_id=print-client&device_code="+da["device_code"], h...))
		if err != nil {
			return nil, err
		}
		json.NewDecoder(resp.Body).Decode(&out[i])
		resp.Body.Close()
		if out[i]["refresh_token"] == nil {
			return nil, fmt.Errorf("no tokens for bench device %d: %v", i, out[i])
		}
	}
	return out, nil
}

func (b *bench) refresh() (result, error) {
	toks, err := b.authorize(b.conc)
	if err != nil {
		return result{}, err
	}
	rts := make([]string, b.conc)
	for i, t := range toks {
		rts[i] = t["refresh_token"].(string)
	}
	return b.drive("refresh (rotation)", func(w int) (*http.Request, func(int, []byte) bool) {
		return form(b.base+"/oauth/token", "grant_type=refresh_token&client_id=print-client&refresh_token="+rts[w]),
			func(s int, body []byte) bool {
				var r struct {
					RefreshToken string `json:"refresh_token"`
				}
				if s != 200 || json.Unmarshal(body, &r) != nil || r.RefreshToken == "" {
					return false
				}
				rts[w] = r.RefreshToken
				return true
			}
	})
}

// refreshDPoP is refresh for key-bound devices: every refresh carries a
// fresh proof, which the server verifies, records in the replay cache and
// checks against the family's key.
func (b *bench) refreshDPoP() (result, error) {
	keys := make([]*client.DeviceKey, b.conc)
	for i := range keys {
		k, err := client.NewDeviceKey(client.KeyES256)
		if err != nil {
			return result{}, err
		}
		keys[i] = k
	}
	toks, err := b.authorizeWith(b.conc, keys)
	if err != nil {
		return result{}, err
	}
	rts := make([]string, b.conc)
	for i, t := range toks {
		rts[i] = t["refresh_token"].(string)
	}
	// Proofs are signed ahead: a device signs on its own processor, and
	// the bench's client shares this machine's with the server.
	pool := make([][]string, b.conc)
	for w := range pool {
		for range 600 {
			pool[w] = append(pool[w], mustProof(keys[w], b.base+"/oauth/token"))
		}
	}
	next := func(w int) string {
		if len(pool[w]) == 0 {
			return mustProof(keys[w], b.base+"/oauth/token")
		}
		p := pool[w][0]
		pool[w] = pool[w][1:]
		return p
	}
	return b.drive("refresh (rotation, DPoP)", func(w int) (*http.Request, func(int, []byte) bool) {
		return form(b.base+"/oauth/token", "grant_type=refresh_token&client_id=print-client&refresh_token="+rts[w],
				"DPoP", next(w)),
			func(s int, body []byte) bool {
				var r struct {
					RefreshToken string `json:"refresh_token"`
					TokenType    string `json:"token_type"`
				}
				if s != 200 || json.Unmarshal(body, &r) != nil || r.RefreshToken == "" || r.TokenType != "DPoP" {
					return false
				}
				rts[w] = r.RefreshToken
				return true
			}
	})
}

func mustProof(k *client.DeviceKey, target string) string {
	p, err := k.Proof("POST", target, "", "")
	if err != nil {
		panic(err)
	}
	return p
}

// dpopCost compares, in this process and one goroutine, what the server
// spends on a proof with what it spends signing the access token the
// proof comes with.
func (b *bench) dpopCost() error {
	ctx := context.Background()
	const n = 2000
	proofs, err := dpop.New(dpop.Config{Issuer: b.base, Window: time.Minute}, dpop.Deps{Store: b.app.Store, Keys: b.app.Keys, Now: time.Now})
	if err != nil {
		return err
	}
	key, err := client.NewDeviceKey(client.KeyES256)
	if err != nil {
		return err
	}
	target := b.base + "/oauth/token"
	ps := make([]string, n)
	for i := range ps {
		ps[i] = mustProof(key, target)
	}
	timeit := func(f func(i int) error) (time.Duration, error) {
		t0 := time.Now()
		for i := range n {
			if err := f(i); err != nil {
				return 0, err
			}
		}
		return time.Since(t0) / n, nil
	}
	mint, err := timeit(func(int) error {
		_, _, err := b.app.Tokens.Mint(ctx, accesstoken.Grant{Subject: "dev_x", ClientID: "print-client", Scopes: pairgate.Scopes{"printing"},
			DeviceID: "dev_x", FamilyID: "fam_x", JKT: key.Thumbprint()})
		return err
	})
	if err != nil {
		return err
	}
	check, err := timeit(func(i int) error {
		_, err := proofs.Verify(ctx, dpop.Request{Proofs: []string{ps[i]}, Method: "POST", Path: "/oauth/token"})
		return err
	})
	if err != nil {
		return err
	}
	sigOnly, err := timeit(func(i int) error {
		jws, err := jose.ParseSignedCompact(ps[i], []jose.SignatureAlgorithm{jose.ES256})
		if err != nil {
			return err
		}
		_, err = jws.Verify(jws.Signatures[0].Protected.JSONWebKey)
		return err
	})
	if err != nil {
		return err
	}
	us := func(d time.Duration) string { return fmt.Sprintf("%.0fµs", float64(d.Nanoseconds())/1000) }
	fmt.Printf("\nper request, one goroutine, %d each:\n", n)
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "access token signature (%s, Mint)\t%s\t\n", b.app.Config.SigningAlg, us(mint))
	fmt.Fprintf(tw, "DPoP proof check (ES256 verify, claims, thumbprint, replay-cache insert)\t%s\t\n", us(check))
	fmt.Fprintf(tw, "  of which the ES256 signature verification\t%s\t\n", us(sigOnly))
	fmt.Fprintf(tw, "proof check / token signature\t%.2f\t\n", float64(check)/float64(mint))
	return tw.Flush()
}

func (b *bench) introspection() (result, error) {
	sec := secret.Token(secret.PrefixClientSecret)
	err := b.app.Store.CreateClient(context.Background(), &pairgate.Client{ID: "bench-rs", Name: "Bench resource server",
		SecretHash: b.app.Keys.Hash(secret.KindClientSecret, sec), GrantTypes: []string{pairgate.GrantRefreshToken},
		Scopes: pairgate.Scopes{"printing"}, CreatedAt: time.Now()})
	if err != nil {
		return result{}, err
	}
	toks, err := b.authorize(8)
	if err != nil {
		return result{}, err
	}
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("bench-rs:"+sec))
	return b.drive("introspection", func(w int) (*http.Request, func(int, []byte) bool) {
		at := toks[w%len(toks)]["access_token"].(string)
		return form(b.base+"/oauth/introspect", "token="+at, "Authorization", auth),
			func(s int, body []byte) bool { return s == 200 && bytes.Contains(body, []byte(`"active":true`)) }
	})
}

// throwawayDB creates a fresh database on the server dbURL names.
func throwawayDB(ctx context.Context, dbURL string) (string, func(), error) {
	admin, err := sql.Open("pgx", dbURL)
	if err != nil {
		return "", nil, err
	}
	var b [6]byte
	rand.Read(b[:])
	name := "pairgate_bench_" + hex.EncodeToString(b[:])
	if _, err := admin.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		admin.Close()
		return "", nil, fmt.Errorf("create database: %w", err)
	}
	u, err := url.Parse(dbURL)
	if err != nil {
		admin.Close()
		return "", nil, err
	}
	u.Path = "/" + name
	return u.String(), func() {
		admin.ExecContext(context.Background(), "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)")
		admin.Close()
	}, nil
}

// The device printers endpoint (GET /api/v1/device/printers), as a fleet
// polls it: 10,000 devices and 50 printers, made in bulk through the
// store, and deployments of every kind (all devices, two codes' devices,
// a name pattern, single devices) so that each device's answer is a union
// of several.
const (
	fleetDevices  = 10000
	fleetPrinters = 50
)

type fleet struct {
	tokens []string // each device's access token
	etags  []string // the ETag of each device's last answer
	next   atomic.Uint64
}

func (b *bench) setupFleet() (*fleet, error) {
	if b.fleet != nil {
		return b.fleet, nil
	}
	ctx := context.Background()
	start := time.Now()
	st, a := b.app.Store, admin.HostActor("pairgate-bench")
	var codes []*pairgate.AuthorizationCode
	for range 2 {
		_, ac, err := b.app.Admin.CreateCode(ctx, a, admin.NewCode{TTL: pairgate.TTLNever})
		if err != nil {
			return nil, err
		}
		codes = append(codes, ac)
	}
	now := time.Now()
	var printers []string
	for i := range fleetPrinters {
		p := &pairgate.Printer{ID: fmt.Sprintf("prn_bench_%02d", i), Name: fmt.Sprintf("Bench Printer %02d", i),
			URI: fmt.Sprintf("ipp://printer-%02d.bench.example/ipp/print", i), Location: fmt.Sprintf("Floor %d", i%5),
			Description: "A printer of the benchmark", Model: pairgate.ModelEverywhere,
			Options: pairgate.PrinterOptions{Duplex: i%2 == 0, PaperSize: "A4"}, CreatedAt: now, UpdatedAt: now}
		if err := st.CreatePrinter(ctx, p); err != nil {
			return nil, err
		}
		printers = append(printers, p.ID)
	}
	f := &fleet{tokens: make([]string, fleetDevices), etags: make([]string, fleetDevices)}
	var ids []string
	for i := range fleetDevices {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_bench_%05d", i), ClientID: pairgate.DefaultClientID, Name: fmt.Sprintf("bench-%05d", i),
			Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode, AuthCodeID: codes[i%2].ID,
			Scopes: pairgate.Scopes{"printing"}, AuthorizedAt: now, LastSeenAt: now.Add(-time.Hour), LastIP: "127.0.0.1"}
		fam := &pairgate.RefreshFamily{ID: fmt.Sprintf("fam_bench_%05d", i), ClientID: d.ClientID, Scopes: d.Scopes, CreatedAt: now}
		dev, err := st.IssueRefreshFamily(ctx, d, fam, pairgate.NewRefreshToken{Hash: []byte(fam.ID), IssuedAt: now, ExpiresAt: now.Add(24 * time.Hour)})
		if err != nil {
			return nil, err
		}
		tok, _, err := b.app.Tokens.Mint(ctx, accesstoken.Grant{Subject: dev.ID, ClientID: dev.ClientID, Scopes: dev.Scopes,
			DeviceID: dev.ID, FamilyID: dev.FamilyID})
		if err != nil {
			return nil, err
		}
		f.tokens[i] = tok
		ids = append(ids, dev.ID)
	}
	deps := []pairgate.Deployment{
		{PrinterIDs: printers[0:5], DefaultPrinterID: printers[0], Target: pairgate.DeploymentTarget{All: true}},
		{PrinterIDs: printers[5:15], DefaultPrinterID: printers[5], Target: pairgate.DeploymentTarget{AuthCodeID: codes[0].ID}},
		{PrinterIDs: printers[15:25], Target: pairgate.DeploymentTarget{AuthCodeID: codes[1].ID}},
		{PrinterIDs: printers[25:30], DefaultPrinterID: printers[25], Target: pairgate.DeploymentTarget{NamePattern: "bench-0*"}},
		{PrinterIDs: printers[30:50], Target: pairgate.DeploymentTarget{DeviceIDs: ids[:pairgate.MaxDeploymentDevices]}},
	}
	for i := range deps {
		d := &deps[i]
		d.ID, d.CreatedBy, d.CreatedAt = fmt.Sprintf("dep_bench_%d", i), "pairgate-bench", now.Add(time.Duration(i)*time.Second)
		if err := pairgate.NormalizeDeployment(d); err != nil {
			return nil, err
		}
		if err := st.CreateDeployment(ctx, d, now); err != nil {
			return nil, err
		}
	}
	fmt.Fprintf(os.Stderr, "  made %d devices, %d printers and %d deployments in %v\n", fleetDevices, fleetPrinters, len(deps), time.Since(start).Round(time.Millisecond))
	b.fleet = f
	return f, nil
}

// printersRequest polls as the fleet's devices do, one after another;
// with tags, each sends the ETag of its last answer.
func (b *bench) printersRequest(f *fleet, tags bool, notModified *atomic.Int64) request {
	return func(int) (*http.Request, func(int, []byte) bool) {
		i := int(f.next.Add(1) % fleetDevices)
		req, _ := http.NewRequest("GET", b.base+"/api/v1/device/printers", nil)
		req.Header.Set("Authorization", "Bearer "+f.tokens[i])
		if tags && f.etags[i] != "" {
			req.Header.Set("If-None-Match", f.etags[i])
		}
		return req, func(s int, body []byte) bool {
			if s == http.StatusNotModified {
				notModified.Add(1)
				return tags
			}
			return s == 200 && bytes.Contains(body, []byte(`"printers":[{`))
		}
	}
}

// printersFirstPoll is each device's first poll in a minute, which also
// records when the device was last seen (a write): what a fleet polling
// every few minutes costs.
func (b *bench) printersFirstPoll() (result, error) {
	f, err := b.setupFleet()
	if err != nil {
		return result{}, err
	}
	var nm atomic.Int64
	r, err := b.drive("device printers, first poll in a minute (notes last seen)", b.printersRequest(f, false, &nm))
	r.note = fmt.Sprintf("%d distinct devices", min(r.n, fleetDevices))
	return r, err
}

// printers is the answer without If-None-Match; it records each device's
// ETag for the next run.
func (b *bench) printers() (result, error) {
	f, err := b.setupFleet()
	if err != nil {
		return result{}, err
	}
	// Every device polls once first, so that the run is of devices seen
	// within the minute (no last-seen write) and each has an ETag.
	f.next.Store(0)
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range b.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < fleetDevices; i += b.conc {
				req, _ := http.NewRequest("GET", b.base+"/api/v1/device/printers", nil)
				req.Header.Set("Authorization", "Bearer "+f.tokens[i])
				resp, err := b.client.Do(req)
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				f.etags[i] = resp.Header.Get("ETag")
			}
		}()
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return result{}, e.(error)
	}
	var nm atomic.Int64
	return b.drive("device printers (200, full list)", b.printersRequest(f, false, &nm))
}

func (b *bench) printersNotModified() (result, error) {
	f, err := b.setupFleet()
	if err != nil {
		return result{}, err
	}
	if f.etags[0] == "" {
		if _, err := b.printers(); err != nil {
			return result{}, err
		}
	}
	var nm atomic.Int64
	r, err := b.drive("device printers, If-None-Match (304)", b.printersRequest(f, true, &nm))
	if r.n > 0 && int(nm.Load()) != r.n {
		r.note = fmt.Sprintf("only %d of %d answers were 304", nm.Load(), r.n)
	}
	return r, err
}
