package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/base64"
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
	"runtime/debug"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"text/tabwriter"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/secret"
)

// The inventory's size (issues 16 and 17): at each size, a fresh store is
// filled through Store.ImportDevices (every device with a live refresh
// family, a rotated-out token and an authorization event; a tenth of them
// came in with one of ten codes), and the main endpoints are measured on
// it beside the bare handler, with the process's RSS and the database's
// size. Then, in the same run, the expiry cleanup of 100,000 lapsed
// authorizations and an inactivity sweep of 100,000 devices each run
// beside the device-facing requests, whose p99 is compared with a run
// without them.
//
//	go run ./cmd/pairgate-bench -population 1000,100000,1000000 [-db postgres://…]

var populationFlag = flag.String("population", "", "comma-separated inventory sizes (e.g. 1000,100000,1000000): measure the main endpoints, memory and database size at each, and the expiry cleanup and inactivity sweep beside the requests")

const (
	popBatch   = 5000   // devices per ImportDevices call
	popSample  = 2000   // devices the bench holds tokens for
	sweepRows  = 100000 // lapsed authorizations for the cleanup; devices for the inactivity sweep
	fleetCodes = 30000  // pending device codes of the fleet poll
)

// popRow is one line of the summary: an endpoint at one size.
type popRow struct {
	n   int
	res result
}

func runPopulation(d time.Duration, conc int, dbURL, only, _ string) error {
	var sizes []int
	for _, f := range strings.Split(*populationFlag, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1000 || n > 10_000_000 {
			return fmt.Errorf("-population: %q is not a size from 1,000 to 10,000,000", f)
		}
		sizes = append(sizes, n)
	}
	backend := "SQLite (embedded, WAL)"
	if dbURL != "" {
		backend = "PostgreSQL"
	}
	fmt.Printf("pairgate-bench -population: %s, %d clients, %v per endpoint, GOMAXPROCS=%d, %s\n", backend, conc, d, runtime.GOMAXPROCS(0), runtime.Version())
	var rows []popRow
	var sizing []string
	for _, n := range sizes {
		p := &population{n: n, d: d, conc: conc, dbURL: dbURL, only: only}
		rs, line, err := p.run()
		if err != nil {
			return fmt.Errorf("population %d: %w", n, err)
		}
		for _, r := range rs {
			rows = append(rows, popRow{n, r})
		}
		sizing = append(sizing, line)
	}
	// The summary: each endpoint's p99 at every size against the first.
	fmt.Printf("\np99 by inventory size (ratio to %d devices):\n", sizes[0])
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	hdr := "endpoint\t"
	for _, n := range sizes {
		hdr += fmt.Sprintf("%d req/s\t%d p99\t", n, n)
	}
	fmt.Fprintln(tw, hdr)
	var names []string
	for _, r := range rows {
		if !slices.Contains(names, r.res.name) {
			names = append(names, r.res.name)
		}
	}
	for _, name := range names {
		line := name + "\t"
		var first time.Duration
		for _, n := range sizes {
			var got *result
			for i := range rows {
				if rows[i].n == n && rows[i].res.name == name {
					got = &rows[i].res
				}
			}
			if got == nil {
				line += "-\t-\t"
				continue
			}
			if first == 0 {
				first = got.p99
			}
			line += fmt.Sprintf("%.0f\t%s (%.2f×)\t", got.rps(), ms(got.p99), float64(got.p99)/float64(first))
		}
		fmt.Fprintln(tw, line)
	}
	tw.Flush()
	fmt.Println()
	for _, s := range sizing {
		fmt.Println(s)
	}
	return nil
}

// population is one size's server and what the bench holds of it.
type population struct {
	n       int
	d       time.Duration
	conc    int
	dbURL   string
	only    string
	dir     string
	dsn     string // the database the app opened
	drop    func()
	a       *app.App
	b       *bench
	stop    func()
	bare    string
	adminID string
	codes   []*pairgate.AuthorizationCode
	kiosks  *pairgate.AuthorizationCode // a code of a few devices
	now     time.Time

	pending []string // device codes handed out, polled by the fleet poll
	refresh []string // the sample's refresh tokens (each worker rotates its own chain)
	access  []string // the sample's access tokens
	apiKey  string
	cookie  string
	rsSec   string
	rss     int64 // the largest RSS seen after a measured step, bytes
}

func (p *population) want(step string) bool {
	if p.only == "" {
		return true
	}
	return slices.Contains(strings.Split(p.only, ","), step)
}

// populationConfig is the server of a population run, in this process or
// on its own (alone.go).
func populationConfig(dataDir, dsn, alg string) app.Config {
	cfg := app.Default()
	cfg.DataDir = dataDir
	cfg.DB = dsn
	cfg.AdminPassword = "bench password, not for use"
	cfg.MetricsAddr = ""
	cfg.SigningAlg = alg
	cfg.LogLevel = "warn"
	cfg.PollInterval = time.Second
	cfg.RatePerSource, cfg.RatePerClient = 1e9, 1e9
	// The cleanup and the sweep run when the bench says, beside the
	// requests it measures.
	cfg.GCInterval = 24 * time.Hour
	return cfg
}

// startApp serves the population's store in this process, at addr
// ("" for a new port): the bench's access tokens name the address they
// were minted at as their issuer, so a server started again must listen
// where the first one did.
func (p *population) startApp(alg, addr string) error {
	ctx := context.Background()
	cfg := populationConfig(filepath.Join(p.dir, "data"), p.dsn, alg)
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + cfg.Addr
	a, err := app.New(ctx, cfg, app.Options{Log: app.NewLogger(os.Stderr, "warn", "text")})
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan struct{})
	go func() { a.Serve(sctx, ln); close(served) }()
	p.a = a
	p.stop = func() { stop(); <-served; a.Close() }
	p.b = &bench{base: cfg.Issuer, app: a, d: p.d, conc: p.conc, client: &http.Client{Transport: &http.Transport{
		MaxIdleConns: p.conc * 2, MaxIdleConnsPerHost: p.conc * 2, IdleConnTimeout: time.Minute,
	}}}
	return nil
}

func (p *population) run() ([]result, string, error) {
	ctx := context.Background()
	dir, err := os.MkdirTemp("", "pairgate-population-")
	if err != nil {
		return nil, "", err
	}
	p.dir = dir
	defer os.RemoveAll(dir)
	p.dsn = ""
	if p.dbURL != "" {
		dsn, drop, err := throwawayDB(ctx, p.dbURL)
		if err != nil {
			return nil, "", err
		}
		defer drop()
		p.dsn = dsn
	}
	if err := p.startApp("RS256", ""); err != nil {
		return nil, "", err
	}
	defer func() { p.stop() }()
	if p.dsn == "" {
		p.dsn = filepath.Join(p.dir, "data", "pairgate.db")
		if _, err := os.Stat(p.dsn); err != nil {
			return nil, "", fmt.Errorf("the SQLite database is not where the bench looks: %w", err)
		}
	}
	bare, err := startBare()
	if err != nil {
		return nil, "", err
	}
	defer bare.Close()
	p.bare = "http://" + bare.Addr().String() + "/"

	fmt.Printf("\n== %d devices ==\n", p.n)
	start := time.Now()
	if err := p.fill(ctx); err != nil {
		return nil, "", err
	}
	fmt.Fprintf(os.Stderr, "  imported %d devices in %v\n", p.n, time.Since(start).Round(time.Millisecond))
	importTime := time.Since(start)
	debug.FreeOSMemory()
	if err := p.tokens(ctx); err != nil {
		return nil, "", err
	}

	b := p.b
	type step struct {
		name string
		fn   func() (result, error)
	}
	steps := []step{
		{"device_authorization", p.deviceAuthorization},
		{"fleet_poll", p.fleetPoll},
		{"pairing", b.pairing},
		{"refresh", func() (result, error) { return p.refreshRun("refresh (RS256)") }},
		{"introspection", p.introspection},
		{"device_api", func() (result, error) { return p.deviceGet("device API (GET /api/v1/device)", "/api/v1/device") }},
		{"device_printers", func() (result, error) {
			return p.deviceGet("device printers (GET /api/v1/device/printers)", "/api/v1/device/printers")
		}},
		{"admin_list", func() (result, error) { return p.adminGet("admin device list (100)", "/api/v1/devices?limit=100") }},
		{"admin_list_code", func() (result, error) {
			return p.adminGet("admin device list, one code's (100)", "/api/v1/devices?limit=100&state=active&code_id="+p.codes[0].ID)
		}},
		{"admin_list_code_sorted", func() (result, error) {
			return p.adminGet("admin device list, one code's by last seen (100)", "/api/v1/devices?limit=100&state=active&sort=last_seen&order=desc&code_id="+p.codes[0].ID)
		}},
		{"audit_target", func() (result, error) {
			// One device's history: its one event among a million.
			return p.adminGetOf("audit log, one device's events", "/api/v1/audit-events?limit=50&target=dev_pop_"+fmt.Sprintf("%08d", p.n/2+7), `{"audit_events":`)
		}},
		{"audit_actor", func() (result, error) {
			// What one administrator did: none of the population's events.
			return p.adminGetOf("audit log, one administrator's events", "/api/v1/audit-events?limit=50&actor="+p.adminID, `{"audit_events":`)
		}},
		{"admin_list_kiosks_by_name", func() (result, error) {
			return p.adminGet("admin device list, a code of few by name (100)", "/api/v1/devices?limit=100&state=active&sort=name&code_id="+p.kiosks.ID)
		}},
		{"search_rare_by_name", func() (result, error) {
			return p.adminGet("search, rare term, by name", "/api/v1/devices?limit=100&sort=name&q="+url.QueryEscape(rareTerm(p.n)))
		}},
		{"search_rare", func() (result, error) {
			return p.adminGet("search, rare term (1 device)", "/api/v1/devices?limit=100&q="+url.QueryEscape(rareTerm(p.n)))
		}},
		{"search_missing", func() (result, error) {
			return p.adminGet("search, missing term", "/api/v1/devices?limit=100&q=zqxj-none")
		}},
		{"search_common", func() (result, error) {
			return p.adminGet("search, common term (every device)", "/api/v1/devices?limit=100&q=printer")
		}},
		{"console", p.console},
		{"code_preview", func() (result, error) {
			// A code of every tenth device's: 10 at 1 k, 10,000 at 1 M.
			return p.adminGetOf("a code's sign-out preview",
				"/api/v1/authorization-codes/"+p.codes[0].ID+"/devices", `{"code_id":`)
		}},
	}
	// An administrator's requests come one at a time: they are measured
	// with one client, as the latency a person waits for.
	for i, s := range steps {
		if strings.HasPrefix(s.name, "admin_") || strings.HasPrefix(s.name, "search_") || strings.HasPrefix(s.name, "audit_") || s.name == "console" || s.name == "code_preview" {
			fn := s.fn
			steps[i].fn = func() (result, error) {
				b.conc = 1
				defer func() { b.conc = p.conc }()
				r, err := fn()
				r.name += ", 1 client"
				return r, err
			}
		}
	}
	var out []result
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "endpoint\treq/s\tp50\tp99\tvs bare\terrors\t")
	baseline, err := b.bare(p.bare)
	if err != nil {
		return nil, "", err
	}
	fmt.Fprintf(tw, "bare net/http\t%.0f\t%s\t%s\t\t\t\n", baseline.rps(), ms(baseline.p50), ms(baseline.p99))
	for _, s := range steps {
		if !p.want(s.name) {
			continue
		}
		r, err := s.fn()
		if err != nil {
			return nil, "", fmt.Errorf("%s: %w", s.name, err)
		}
		p.sampleRSS()
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%s\t%.2f\t%d\t%s\n", r.name, r.rps(), ms(r.p50), ms(r.p99), r.rps()/baseline.rps(), r.errors, r.note)
		fmt.Fprintf(os.Stderr, "  measured %s\n", r.name)
		out = append(out, r)
	}
	tw.Flush()
	size, err := p.dbSize(ctx)
	if err != nil {
		return nil, "", err
	}
	rss := p.rss
	line := fmt.Sprintf("%d devices: imported in %v; database %.0f MB; RSS %.0f MB (largest after a step; bench client included)",
		p.n, importTime.Round(time.Second), float64(size)/1e6, float64(rss)/1e6)
	fmt.Println(line)

	if p.want("server_alone") {
		alone, err := p.serverAlone() // alone.go
		if err != nil {
			return nil, "", fmt.Errorf("server alone: %w", err)
		}
		fmt.Println(alone)
		line += "\n" + alone
	}

	if p.want("sweeps") {
		if err := p.cleanupBeside(ctx); err != nil {
			return nil, "", fmt.Errorf("cleanup: %w", err)
		}
		if err := p.inactivityBeside(ctx); err != nil {
			return nil, "", fmt.Errorf("inactivity sweep: %w", err)
		}
	}

	if p.want("refresh_es256") {
		// The signing algorithm is the server's: the same store, served
		// again with ES256 (the keyring rotates to an ES256 key).
		addr := strings.TrimPrefix(p.b.base, "http://")
		p.stop()
		if err := p.startApp("ES256", addr); err != nil {
			return nil, "", err
		}
		r, err := p.refreshRun("refresh (ES256)")
		if err != nil {
			return nil, "", err
		}
		fmt.Printf("%s: %.0f req/s, p50 %s, p99 %s, %d errors %s\n", r.name, r.rps(), ms(r.p50), ms(r.p99), r.errors, r.note)
		out = append(out, r)
	}
	return out, line, nil
}

// rareTerm names one device of a population of n: a serial number.
func rareTerm(n int) string { return fmt.Sprintf("SN%08d", n/2+7) }

var sites = []string{"Lab", "Office", "Warehouse", "Reception", "Clinic", "Library", "Studio", "Depot"}

// popDevice is device i of the population, as the inventory of a real
// site would hold it; every name contains "Printer".
func (p *population) popDevice(i int, id string) pairgate.Device {
	seen := p.now.Add(-time.Duration(i%(80*24*60)) * time.Minute) // within 80 days: active under the default policy
	d := pairgate.Device{ID: id, ClientID: pairgate.DefaultClientID,
		Name:       fmt.Sprintf("%s Printer %d-%04d", sites[i%len(sites)], i%97, i%10000),
		HardwareID: fmt.Sprintf("SN%08d-%04x", i, (i*7919)&0xffff), Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByDeviceCode,
		Scopes: pairgate.Scopes{"printing"}, AuthorizedAt: p.now.Add(-100 * pairgate.Day), LastSeenAt: seen,
		LastIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}
	if i%10 == 0 {
		d.AuthMethod, d.AuthCodeID = pairgate.AuthByAuthorizationCode, p.codes[(i/10)%len(p.codes)].ID
	}
	if i%100_000 == 5 {
		d.AuthMethod, d.AuthCodeID = pairgate.AuthByAuthorizationCode, p.kiosks.ID
	}
	return d
}

// imported is device d with a live family whose live token is hash
// (expiring at expires, revoked at revoked when not zero), a rotated-out
// token before it, and its authorization event.
func imported(d pairgate.Device, hash []byte, expires, revoked time.Time) pairgate.ImportedDevice {
	fam := pairgate.RefreshFamily{ID: "fam_" + d.ID[4:], ClientID: d.ClientID, Scopes: d.Scopes, CreatedAt: d.AuthorizedAt, RevokedAt: revoked}
	old := make([]byte, 32)
	copy(old, hash)
	old[31] ^= 0xff
	return pairgate.ImportedDevice{Device: d, Families: []pairgate.ImportedFamily{{Family: fam, Tokens: []pairgate.ImportedRefreshToken{
		{Hash: old, Generation: 1, IssuedAt: d.AuthorizedAt, ExpiresAt: expires, RotatedAt: d.AuthorizedAt.Add(time.Hour)},
		{Hash: hash, Generation: 2, IssuedAt: d.AuthorizedAt.Add(time.Hour), ExpiresAt: expires},
	}}}, Audit: []pairgate.AuditEvent{{ID: secret.NewID("ev_", d.AuthorizedAt), Time: d.AuthorizedAt, Action: pairgate.AuditDeviceAuthorized,
		ActorType: pairgate.ActorDevice, ActorID: d.ID, Target: d.ID, IP: d.LastIP,
		Details: map[string]string{"client_id": d.ClientID, "name": d.Name, "hardware_id": d.HardwareID}}}}
}

// settle lets the database take in an import before anything is
// measured, as it would between a migration and the first requests:
// SQLite's write-ahead log copied into the database (the writer does it
// at a commit, and the first requests after an import would wait for
// it), PostgreSQL's statistics and visibility map brought up to date and
// the import's dirty pages written out. Without the CHECKPOINT,
// PostgreSQL spreads the writing of gigabytes of imported pages over the
// next minutes (checkpoint_completion_target), under the first steps'
// requests: at a million devices their p99 doubled, and the same requests
// a few minutes later ran as at a thousand.
func (p *population) settle(ctx context.Context) error {
	qs, driver, dsn := []string{`PRAGMA wal_checkpoint(TRUNCATE)`}, "sqlite", "file:"+p.dsn+"?_pragma=busy_timeout(60000)"
	if strings.HasPrefix(p.dsn, "postgres") {
		qs, driver, dsn = []string{`VACUUM ANALYZE`, `CHECKPOINT`}, "pgx", p.dsn
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		return err
	}
	defer db.Close()
	for _, q := range qs {
		start := time.Now()
		if _, err := db.ExecContext(ctx, q); err != nil {
			return fmt.Errorf("%s: %w", q, err)
		}
		fmt.Fprintf(os.Stderr, "  %s in %v\n", q, time.Since(start).Round(time.Millisecond))
	}
	return nil
}

// importAll imports n devices made by mk in batches, and lets the
// database settle.
func (p *population) importAll(ctx context.Context, n int, codes []*pairgate.AuthorizationCode, mk func(i int) pairgate.ImportedDevice) error {
	for from := 0; from < n; from += popBatch {
		batch := &pairgate.ImportBatch{}
		if from == 0 {
			batch.Codes = codes
		}
		for i := from; i < min(n, from+popBatch); i++ {
			batch.Devices = append(batch.Devices, mk(i))
		}
		if err := p.a.Store.ImportDevices(ctx, batch); err != nil {
			return err
		}
	}
	return p.settle(ctx)
}

// fill makes the population: ten codes, twenty printers and three
// deployments, and n devices; the first popSample with refresh tokens the
// bench knows.
func (p *population) fill(ctx context.Context) error {
	st := p.a.Store
	p.now = time.Now()
	u, err := st.GetUserByUsername(ctx, "admin")
	if err != nil {
		return err
	}
	p.adminID = u.ID
	for i := range 10 {
		code := secret.Token("pgc_")
		c := &pairgate.AuthorizationCode{ID: fmt.Sprintf("ac_pop_%02d", i), CodeHash: p.a.Keys.Hash(secret.KindAuthCode, code),
			SealedCode: p.a.Keys.Seal([]byte(code), secret.KindAuthCode+":"+fmt.Sprintf("ac_pop_%02d", i)), TTL: pairgate.TTLNever, CreatedAt: p.now.Add(-200 * pairgate.Day), CreatedBy: u.ID,
			Label: fmt.Sprintf("Site %d", i)}
		// Every tenth device came with a code (popDevice): the codes
		// have been used, and the console offers to sign out their
		// devices, with a preview of them, as it does in a real fleet.
		c.Uses = (p.n/10 - i + 9) / 10
		c.LastUsedAt = p.now.Add(-100 * pairgate.Day)
		p.codes = append(p.codes, c)
	}
	// And a code of a few kiosks: one device in 100,000.
	code := secret.Token("pgc_")
	p.kiosks = &pairgate.AuthorizationCode{ID: "ac_pop_kiosks", CodeHash: p.a.Keys.Hash(secret.KindAuthCode, code),
		SealedCode: p.a.Keys.Seal([]byte(code), secret.KindAuthCode+":ac_pop_kiosks"), TTL: pairgate.TTLNever,
		CreatedAt: p.now.Add(-200 * pairgate.Day), CreatedBy: u.ID, Label: "Kiosks", Uses: (p.n + 99_994) / 100_000, LastUsedAt: p.now.Add(-100 * pairgate.Day)}
	p.refresh = make([]string, min(p.n, popSample))
	err = p.importAll(ctx, p.n, append(slices.Clone(p.codes), p.kiosks), func(i int) pairgate.ImportedDevice {
		var hash []byte
		if i < len(p.refresh) {
			p.refresh[i] = secret.Token(secret.PrefixRefreshToken)
			hash = p.a.Keys.Hash(secret.KindRefresh, p.refresh[i])
		} else {
			hash = randomHash(i)
		}
		d := p.popDevice(i, fmt.Sprintf("dev_pop_%08d", i))
		if i < len(p.refresh) {
			// The sample's requests come from loopback: recorded as
			// their address already, as a real device's usually is, so
			// that a request does not count an address change (which
			// rewrites the device's search entry) that a fleet rarely has.
			d.LastIP = "127.0.0.1"
		}
		return imported(d, hash, p.now.Add(60*pairgate.Day), time.Time{})
	})
	if err != nil {
		return err
	}
	var printers []string
	for i := range 20 {
		pr := &pairgate.Printer{ID: fmt.Sprintf("prn_pop_%02d", i), Name: fmt.Sprintf("Population Printer %02d", i),
			URI: fmt.Sprintf("ipp://printer-%02d.bench.example/ipp/print", i), Location: fmt.Sprintf("Floor %d", i%5),
			Model: pairgate.ModelEverywhere, CreatedAt: p.now, UpdatedAt: p.now}
		if err := st.CreatePrinter(ctx, pr); err != nil {
			return err
		}
		printers = append(printers, pr.ID)
	}
	deps := []pairgate.Deployment{
		{PrinterIDs: printers[0:5], DefaultPrinterID: printers[0], Target: pairgate.DeploymentTarget{All: true}},
		{PrinterIDs: printers[5:15], Target: pairgate.DeploymentTarget{AuthCodeID: p.codes[0].ID}},
		{PrinterIDs: printers[15:20], Target: pairgate.DeploymentTarget{NamePattern: "Lab *"}},
	}
	for i := range deps {
		dp := &deps[i]
		dp.ID, dp.CreatedBy, dp.CreatedAt = fmt.Sprintf("dep_pop_%d", i), "pairgate-bench", p.now.Add(time.Duration(i)*time.Second)
		if err := pairgate.NormalizeDeployment(dp); err != nil {
			return err
		}
		if err := st.CreateDeployment(ctx, dp, p.now); err != nil {
			return err
		}
	}
	return nil
}

// randomHash is a token hash nobody holds, distinct for every i.
func randomHash(i int) []byte {
	h := make([]byte, 32)
	copy(h, fmt.Sprintf("nobody holds %019d", i))
	return h
}

// tokens gives the bench what a device, a resource server, an admin tool
// and a browser hold.
func (p *population) tokens(ctx context.Context) error {
	st := p.a.Store
	p.access = make([]string, len(p.refresh))
	for i := range p.access {
		id := fmt.Sprintf("dev_pop_%08d", i)
		tok, _, err := p.a.Tokens.Mint(ctx, accesstoken.Grant{Subject: id, ClientID: pairgate.DefaultClientID, Scopes: pairgate.Scopes{"printing"},
			DeviceID: id, FamilyID: "fam_pop_" + id[8:]})
		if err != nil {
			return err
		}
		p.access[i] = tok
	}
	p.rsSec = secret.Token(secret.PrefixClientSecret)
	if err := st.CreateClient(ctx, &pairgate.Client{ID: "bench-rs", Name: "Bench resource server",
		SecretHash: p.a.Keys.Hash(secret.KindClientSecret, p.rsSec), GrantTypes: []string{pairgate.GrantRefreshToken},
		Scopes: pairgate.Scopes{"printing"}, CreatedAt: p.now}); err != nil {
		return err
	}
	u, err := st.GetUser(ctx, p.adminID)
	if err != nil {
		return err
	}
	_, key, err := p.a.Admin.CreateAPIKey(ctx, admin.UserActor(u), "population bench", []string{pairgate.ScopeRead})
	if err != nil {
		return err
	}
	p.apiKey = key
	p.cookie = secret.Token(secret.PrefixSession)
	return st.CreateSession(ctx, &pairgate.Session{IDHash: p.a.Keys.Hash(secret.KindSession, p.cookie), UserID: u.ID,
		CreatedAt: time.Now(), LastSeenAt: time.Now(), ExpiresAt: time.Now().Add(12 * time.Hour), IP: "127.0.0.1", UserAgent: "pairgate-bench"})
}

func (p *population) sampleRSS() { p.rss = max(p.rss, procRSS(os.Getpid(), "VmRSS:")) }

func (p *population) dbSize(ctx context.Context) (int64, error) {
	if !strings.HasPrefix(p.dsn, "postgres") {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(p.dsn + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n, nil
	}
	db, err := sql.Open("pgx", p.dsn)
	if err != nil {
		return 0, err
	}
	defer db.Close()
	var n int64
	err = db.QueryRowContext(ctx, `SELECT pg_database_size(current_database())`).Scan(&n)
	return n, err
}

// pendingCodes are the device codes of this size's device authorization
// run; the fleet poll polls them.
func (p *population) deviceAuthorization() (result, error) {
	var mu sync.Mutex
	r, err := p.b.drive("device authorization", func(int) (*http.Request, func(int, []byte) bool) {
		return form(p.b.base+"/oauth/device/code", "client_id=print-client&scope=printing"), func(s int, body []byte) bool {
			var r struct {
				DeviceCode string `json:"device_code"`
			}
			if s != 200 || json.Unmarshal(body, &r) != nil || r.DeviceCode == "" {
				return false
			}
			mu.Lock()
			p.pending = append(p.pending, r.DeviceCode)
			mu.Unlock()
			return true
		}
	})
	return r, err
}

// fleetPoll polls fleetCodes pending codes, each no sooner than 1.1 s
// after its last poll (the server's interval is 1 s): every answer is an
// honest authorization_pending, and a slow_down counts as an error.
func (p *population) fleetPoll() (result, error) {
	for len(p.pending) < fleetCodes {
		var mu sync.Mutex
		var wg sync.WaitGroup
		var failed atomic.Value
		need := fleetCodes - len(p.pending)
		for w := range p.conc {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < need; i += p.conc {
					resp, err := p.b.client.Do(form(p.b.base+"/oauth/device/code", "client_id=print-client&scope=printing"))
					if err != nil {
						failed.CompareAndSwap(nil, err)
						return
					}
					var r struct {
						DeviceCode string `json:"device_code"`
					}
					json.NewDecoder(resp.Body).Decode(&r)
					resp.Body.Close()
					mu.Lock()
					p.pending = append(p.pending, r.DeviceCode)
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if e := failed.Load(); e != nil {
			return result{}, e.(error)
		}
	}
	codes := p.pending[:fleetCodes]
	last := make([]atomic.Int64, len(codes))
	var next atomic.Uint64
	const gap = 1100 * time.Millisecond
	prefix := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code="
	return p.b.drive(fmt.Sprintf("fleet poll (%d pending codes, each ≥1.1 s apart)", len(codes)), func(int) (*http.Request, func(int, []byte) bool) {
		i := next.Add(1) % uint64(len(codes))
		if prev := last[i].Load(); prev != 0 {
			if wait := time.Duration(prev) + gap - time.Duration(time.Now().UnixNano()); wait > 0 {
				time.Sleep(wait)
			}
		}
		last[i].Store(time.Now().UnixNano())
		return form(p.b.base+"/oauth/token", prefix+codes[i]), func(s int, body []byte) bool {
			return s == 400 && bytes.Contains(body, []byte(`"authorization_pending"`))
		}
	})
}

// refreshRun rotates the sample's refresh tokens, one chain per worker.
func (p *population) refreshRun(name string) (result, error) {
	return p.b.drive(name, p.refreshReq)
}

func (p *population) refreshReq(w int) (*http.Request, func(int, []byte) bool) {
	return form(p.b.base+"/oauth/token", "grant_type=refresh_token&client_id=print-client&refresh_token="+p.refresh[w]),
		func(s int, body []byte) bool {
			var r struct {
				RefreshToken string `json:"refresh_token"`
			}
			if s != 200 || json.Unmarshal(body, &r) != nil || r.RefreshToken == "" {
				return false
			}
			p.refresh[w] = r.RefreshToken
			return true
		}
}

func (p *population) introspection() (result, error) {
	return p.b.drive("introspection", p.introspectReq())
}

func (p *population) introspectReq() request {
	var next atomic.Uint64
	auth := "Basic " + base64.StdEncoding.EncodeToString([]byte("bench-rs:"+p.rsSec))
	return func(int) (*http.Request, func(int, []byte) bool) {
		at := p.access[next.Add(1)%uint64(len(p.access))]
		return form(p.b.base+"/oauth/introspect", "token="+at, "Authorization", auth),
			func(s int, body []byte) bool { return s == 200 && bytes.Contains(body, []byte(`"active":true`)) }
	}
}

// deviceGet is a device's own request with its access token, the sample
// in turn: each device's first request in a minute writes when it was
// last seen.
func (p *population) deviceGet(name, path string) (result, error) {
	return p.b.drive(name, p.deviceReq(path))
}

func (p *population) deviceReq(path string) request {
	var next atomic.Uint64
	return func(int) (*http.Request, func(int, []byte) bool) {
		req, _ := http.NewRequest("GET", p.b.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+p.access[next.Add(1)%uint64(len(p.access))])
		return req, func(s int, _ []byte) bool { return s == 200 }
	}
}

func (p *population) adminGet(name, path string) (result, error) {
	return p.adminGetOf(name, path, `{"devices":`)
}

// adminGetOf drives GET path with the admin's API key; an answer counts
// when it is a 200 whose body starts with prefix.
func (p *population) adminGetOf(name, path, prefix string) (result, error) {
	return p.b.drive(name, func(int) (*http.Request, func(int, []byte) bool) {
		req, _ := http.NewRequest("GET", p.b.base+path, nil)
		req.Header.Set("Authorization", "Bearer "+p.apiKey)
		return req, func(s int, body []byte) bool { return s == 200 && bytes.HasPrefix(body, []byte(prefix)) }
	})
}

func (p *population) console() (result, error) {
	return p.b.drive("console page /admin", func(int) (*http.Request, func(int, []byte) bool) {
		req, _ := http.NewRequest("GET", p.b.base+"/admin", nil)
		req.AddCookie(&http.Cookie{Name: authn.SessionCookie, Value: p.cookie})
		return req, func(s int, body []byte) bool { return s == 200 && bytes.Contains(body, []byte("Printer")) }
	})
}

// kind is one of the requests of a mixed run.
type kind struct {
	name string
	mk   request
}

// warm sends one device API request for every device of the sample, so
// that none of them is a device's first request in a minute (which
// writes when it was last seen) in the run that follows: the runs with
// and without background work then ask the same of the store.
func (p *population) warm() error {
	var wg sync.WaitGroup
	var failed atomic.Value
	for w := range p.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := w; i < len(p.access); i += p.conc {
				req, _ := http.NewRequest("GET", p.b.base+"/api/v1/device", nil)
				req.Header.Set("Authorization", "Bearer "+p.access[i])
				resp, err := p.b.client.Do(req)
				if err != nil {
					failed.CompareAndSwap(nil, err)
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	if e := failed.Load(); e != nil {
		return e.(error)
	}
	return nil
}

// driveMix runs conc workers, worker w sending kinds[w%len(kinds)], for
// at least min and until done is closed (or max has passed), and returns
// each kind's result.
func (p *population) driveMix(kinds []kind, minD, maxD time.Duration, done <-chan struct{}) []result {
	lat := make([][]time.Duration, p.conc)
	errs := make([]int, p.conc)
	firstErr := make([]string, p.conc)
	start := time.Now()
	var stopped atomic.Bool
	go func() {
		t := time.NewTimer(minD)
		<-t.C
		select {
		case <-done:
		case <-time.After(maxD - minD):
		}
		stopped.Store(true)
	}()
	var wg sync.WaitGroup
	for w := range p.conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			k := kinds[w%len(kinds)]
			for !stopped.Load() {
				req, check := k.mk(w)
				t0 := time.Now()
				resp, err := p.b.client.Do(req)
				if err != nil {
					errs[w]++
					if firstErr[w] == "" {
						firstErr[w] = err.Error()
					}
					continue
				}
				body, _ := io.ReadAll(resp.Body)
				resp.Body.Close()
				lat[w] = append(lat[w], time.Since(t0))
				if !check(resp.StatusCode, body) {
					errs[w]++
					if firstErr[w] == "" {
						firstErr[w] = fmt.Sprintf("%d %s", resp.StatusCode, body)
					}
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)
	out := make([]result, len(kinds))
	for i, k := range kinds {
		var all []time.Duration
		e, note := 0, ""
		for w := i; w < p.conc; w += len(kinds) {
			all = append(all, lat[w]...)
			e += errs[w]
			if note == "" && firstErr[w] != "" {
				note = "first error: " + truncate(firstErr[w], 120)
			}
		}
		slices.Sort(all)
		out[i] = result{name: k.name, n: len(all), errors: e, elapsed: elapsed, note: note}
		if len(all) > 0 {
			out[i].p50, out[i].p99 = all[len(all)/2], all[len(all)*99/100]
		}
	}
	return out
}

// compare prints each kind's p99 without and with the background work.
func compare(title string, took time.Duration, without, with []result) {
	fmt.Printf("\n%s (took %v):\n", title, took.Round(time.Millisecond))
	tw := tabwriter.NewWriter(os.Stdout, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "request\twithout: req/s\tp99\twith: req/s\tp99\tp99 ratio\terrors\t")
	for i := range without {
		a, b := without[i], with[i]
		note := a.note
		if note == "" {
			note = b.note
		}
		fmt.Fprintf(tw, "%s\t%.0f\t%s\t%.0f\t%s\t%.2f\t%d\t%s\n", a.name, a.rps(), ms(a.p99), b.rps(), ms(b.p99), float64(b.p99)/float64(a.p99), a.errors+b.errors, note)
	}
	tw.Flush()
}

// cleanupBeside (issue 17): 100,000 devices whose live refresh token
// expired an hour ago are imported; the expiry cleanup deletes their
// tokens and families and expires the devices, while refresh and device
// authorization run beside it, compared with the same mix without it.
func (p *population) cleanupBeside(ctx context.Context) error {
	lapsed := p.now.Add(-time.Hour)
	if err := p.importAll(ctx, sweepRows, nil, func(i int) pairgate.ImportedDevice {
		d := p.popDevice(i, fmt.Sprintf("dev_lap_%08d", i))
		d.HardwareID = fmt.Sprintf("LAP%08d", i)
		return imported(d, randomHash(p.n+i), lapsed, time.Time{})
	}); err != nil {
		return err
	}
	kinds := func() []kind {
		return []kind{{"refresh", p.refreshReq}, {"device authorization", func(int) (*http.Request, func(int, []byte) bool) {
			return form(p.b.base+"/oauth/device/code", "client_id=print-client&scope=printing"), func(s int, _ []byte) bool { return s == 200 }
		}}}
	}
	min := max(p.d, 3*time.Second)
	without := p.driveMix(kinds(), min, min, nil)
	done := make(chan struct{})
	var gc pairgate.GCResult
	var gcErr error
	start := time.Now()
	var took time.Duration
	go func() {
		gc, gcErr = p.a.Store.GarbageCollect(ctx, time.Now())
		took = time.Since(start)
		close(done)
	}()
	with := p.driveMix(kinds(), min, 10*time.Minute, done)
	<-done
	if gcErr != nil {
		return gcErr
	}
	compare(fmt.Sprintf("%d devices: expiry cleanup of %d lapsed authorizations (%d devices expired, %d families, %d tokens deleted) beside refresh and device authorization",
		p.n, sweepRows, gc.DevicesExpired, gc.RefreshFamilies, gc.RefreshTokens), took, without, with)
	return nil
}

// inactivityBeside (issue 16): 50,000 active devices unseen for 200 days
// (to be signed out) and 50,000 expired for 100 days (to be removed) are
// imported; the inactivity sweep of the default policy (90 + 90 days)
// runs while the device-facing requests run beside it, compared with the
// same mix without it.
func (p *population) inactivityBeside(ctx context.Context) error {
	half := sweepRows / 2
	if err := p.importAll(ctx, sweepRows, nil, func(i int) pairgate.ImportedDevice {
		d := p.popDevice(i, fmt.Sprintf("dev_ina_%08d", i))
		d.HardwareID = fmt.Sprintf("INA%08d", i)
		d.LastSeenAt = p.now.Add(-200 * pairgate.Day)
		var revoked time.Time
		if i >= half {
			d.State, d.StateChangedAt = pairgate.DeviceExpired, p.now.Add(-100*pairgate.Day)
			revoked = d.StateChangedAt
		}
		return imported(d, randomHash(2*p.n+i), p.now.Add(30*pairgate.Day), revoked)
	}); err != nil {
		return err
	}
	kinds := func() []kind {
		return []kind{{"refresh", p.refreshReq}, {"device API", p.deviceReq("/api/v1/device")},
			{"device printers", p.deviceReq("/api/v1/device/printers")}, {"introspection", p.introspectReq()}}
	}
	min := max(p.d, 3*time.Second)
	if err := p.warm(); err != nil {
		return err
	}
	without := p.driveMix(kinds(), min, min, nil)
	if err := p.warm(); err != nil {
		return err
	}
	done := make(chan struct{})
	var res struct {
		signedOut, removed int
		err                error
	}
	start := time.Now()
	var took time.Duration
	go func() {
		r, err := p.a.Lifecycle.Sweep(ctx)
		res.signedOut, res.removed, res.err = r.SignedOut, r.Removed, err
		took = time.Since(start)
		close(done)
	}()
	with := p.driveMix(kinds(), min, 10*time.Minute, done)
	<-done
	if res.err != nil {
		return res.err
	}
	compare(fmt.Sprintf("%d devices: inactivity sweep (%d signed out, %d removed) beside the device-facing requests", p.n, res.signedOut, res.removed),
		took, without, with)
	return nil
}
