package app

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"os"
	"sync/atomic"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/api"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/dpop"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/ipp"
	"github.com/pairgate/pairgate/internal/lifecycle"
	"github.com/pairgate/pairgate/internal/metrics"
	"github.com/pairgate/pairgate/internal/oauth"
	"github.com/pairgate/pairgate/internal/printing"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/release"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/server"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/upstream"
	"github.com/pairgate/pairgate/internal/web"
)

// The held queue's timings: how long one document may take to reach a
// printer, how long a released job is followed there and how often it is
// asked about, how long a released job stays in its owner's list at
// least, how long pairgate waits for a printer to connect or answer.
const (
	ReleaseSendTimeout  = 5 * time.Minute
	ReleaseFollowFor    = 10 * time.Minute
	ReleasePollEvery    = time.Second
	ReleaseKeepReleased = time.Hour
	ReleaseIPPTimeout   = 10 * time.Second
	// MaxHeldJobs bounds the jobs one person (or device-mode device)
	// holds at once, whatever their size.
	MaxHeldJobs = 500
)

// ProbeTimeout bounds the IPP check of a printer (admin.CheckPrinter):
// long enough for a printer waking up, short enough for a console page.
const ProbeTimeout = 3 * time.Second

// Options are what a server gets besides its configuration: where it
// writes, and its clock.
type Options struct {
	// Log receives the structured log.
	Log *slog.Logger
	// Out receives the one-time messages of the first start (where the
	// generated admin password is), which never go to the log.
	Out io.Writer
	// AuditLines receives audit events as JSON lines when AuditStdout is
	// set.
	AuditLines io.Writer
	// Now is the clock; tests move it. Nil means time.Now.
	Now func() time.Time
}

// DPoPNonceStep is how long one DPoP nonce is handed out; each is
// accepted for its step and the next.
const DPoPNonceStep = 2 * time.Minute

// App is a wired pairgate server: its store, its parts, its HTTP handler.
type App struct {
	Config    Config
	Store     *sqlstore.Store
	Keys      *secret.Keys
	Keyring   *accesstoken.Keyring
	Tokens    *accesstoken.Issuer
	Clients   *authn.Clients
	Grants    *grants.Service
	Audit     *audit.Recorder
	Admin     *admin.Service
	Sessions  *authn.Sessions
	Lifecycle *lifecycle.Service
	Jobs      *release.Service
	// LastSeen writes devices' last-seen times a second after their
	// requests.
	LastSeen *authn.LastSeen
	// IPP is the held queue's IPP endpoint, for its own listener.
	IPP    http.Handler
	Server *server.Server
	Log    *slog.Logger
	Now    func() time.Time

	out             io.Writer
	metricsListener atomic.Pointer[string] // the metrics address, once listening
	ippListener     atomic.Pointer[string] // the IPP address, once listening
}

// New opens the store, sets it up on first start, and wires the server.
func New(ctx context.Context, cfg Config, o Options) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Out == nil {
		o.Out = io.Discard
	}
	dsn := cfg.DBPath()
	if !sqlstore.IsPostgres(dsn) || cfg.MasterKey == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	m := metrics.New()
	store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Log: o.Log, OnError: m.StoreError, OnCommit: m.StoreCommit})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", RedactDSN(dsn), err)
	}
	a, err := wire(ctx, cfg, o, store, m)
	if err != nil {
		store.Close()
		return nil, err
	}
	return a, nil
}

func wire(ctx context.Context, cfg Config, o Options, store *sqlstore.Store, m *metrics.Metrics) (_ *App, err error) {
	log, now := o.Log, o.Now
	fresh, err := IsFresh(ctx, store, now())
	if err != nil {
		return nil, err
	}
	master, err := loadMasterKey(cfg, fresh)
	if err != nil {
		return nil, err
	}
	keys, err := secret.NewKeys(master)
	if err != nil {
		return nil, err
	}
	keyring, err := accesstoken.NewKeyring(ctx, store, keys, accesstoken.Config{
		Algorithm: cfg.SigningAlg, TokenTTL: cfg.AccessTokenTTL, Now: now, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if err := bootstrap(ctx, cfg, store, now(), log, o.Out); err != nil {
		return nil, err
	}
	var lines io.Writer
	if cfg.AuditStdout && o.AuditLines != nil {
		lines = o.AuditLines
	}
	rec := audit.New(store, now, log, lines)
	m.Gauge("pairgate_devices", "Devices in the inventory.", func(ctx context.Context) (float64, error) {
		n, err := store.CountDevices(ctx)
		return float64(n), err
	})
	m.Gauge("pairgate_pending_grants", "Device authorizations waiting for a person.", func(ctx context.Context) (float64, error) {
		n, err := store.CountPendingDeviceAuthorizations(ctx, now())
		return float64(n), err
	})
	trusted, _ := httpx.ParseTrusted(cfg.TrustedProxies)
	ip := httpx.ClientIP{Trusted: trusted}
	issuer := cfg.IssuerURL()
	tokens := &accesstoken.Issuer{Keyring: keyring, Issuer: issuer, Audience: cfg.AudienceOrIssuer(), TTL: cfg.AccessTokenTTL, Now: now}
	clients := authn.NewClients(store, keys, now)
	limiter := ratelimit.New(store, keys, now, m.RateLimited)
	proofs, err := dpop.New(dpop.Config{Issuer: issuer, Window: cfg.DPoPWindow, Nonces: cfg.DPoPNonce, NonceStep: DPoPNonceStep},
		dpop.Deps{Store: store, Keys: keys, Now: now})
	if err != nil {
		return nil, err
	}
	g, err := grants.New(grants.Config{
		Issuer: issuer, DeviceCodeTTL: cfg.DeviceCodeTTL, PollInterval: cfg.PollInterval,
		RefreshTTL: cfg.RefreshTokenTTL, RefreshGrace: cfg.RefreshGrace, ApprovalRoles: cfg.ApprovalRoles(),
	}, grants.Deps{Store: store, Keys: keys, Tokens: tokens, Limiter: limiter, DPoP: proofs, Audit: rec, Log: log, Now: now})
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Store: store, Keys: keys, Keyring: keyring, Tokens: tokens, Clients: clients, Grants: g,
		Audit: rec, Log: log, Now: now, out: o.Out}
	adm, err := admin.New(admin.Deps{Store: store, Keys: keys, Audit: rec, Limiter: limiter, Prober: printing.NewProber(ProbeTimeout, now), Log: log, Now: now,
		ClientChanged: clients.Forget, PasswordChanged: a.passwordChanged})
	if err != nil {
		return nil, err
	}
	a.Admin = adm
	oh, err := oauth.New(oauth.Deps{Grants: g, Clients: clients, Keyring: keyring, DPoP: proofs, Store: store, Issuer: issuer, IP: ip, Log: log,
		Metrics: m, PerSource: ratelimit.NewLocal(cfg.RatePerSource, 100000, now), PerClient: ratelimit.NewLocal(cfg.RatePerClient, 10000, now),
		Tokens: tokens, StatusListTTL: cfg.StatusListTTL, HeldQueue: a.HeldQueueURI,
		Admission: ratelimit.NewAdmission(cfg.MaxConcurrentWrites, cfg.OverloadWait, cfg.OverloadRetrySpread, func() { m.RateLimited("admission") })})
	if err != nil {
		return nil, err
	}
	sessions := authn.NewSessions(store, keys, now, cfg.HTTPS(), authn.DefaultIdleTimeout, authn.DefaultAbsoluteTimeout)
	a.Sessions = sessions
	passwords := authn.NewPasswords(store, keys, limiter, rec, now, 0, cfg.LocalSignIn)
	a.LastSeen = authn.NewLastSeen(store, log)
	defer func() {
		if err != nil {
			a.LastSeen.Close() // its goroutine; New closes the store
		}
	}()
	browsers := authn.NewBrowsers(store, keys, a.LastSeen, now, cfg.HTTPS())
	printers, err := printing.NewService(store)
	if err != nil {
		return nil, err
	}
	devices := authn.NewDevices(store, tokens, proofs, a.LastSeen, now)
	ah, err := api.New(api.Deps{Admin: adm, Devices: devices, Printers: printers, APIKeys: authn.NewAPIKeys(store, keys, now),
		Sessions: sessions, Passwords: passwords, Audit: rec, IP: ip, Log: log})
	if err != nil {
		return nil, err
	}
	providers, err := cfg.Providers()
	if err != nil {
		return nil, err
	}
	up, err := upstream.New(issuer, providers, upstream.Deps{Store: store, Keys: keys, Limiter: limiter, Audit: rec, Log: log,
		Now: now, HTTP: &http.Client{Timeout: 15 * time.Second}})
	if err != nil {
		return nil, err
	}
	for _, p := range up.Providers() {
		log.Info("upstream sign-in provider", "id", p.ID, "label", p.Label, "redirect_uri", up.CallbackURL(p.ID))
	}
	inactivity := pairgate.InactivityPolicy{SignOutAfter: time.Duration(cfg.InactiveSignOutDays) * pairgate.Day,
		RemoveAfter: time.Duration(cfg.InactiveRemoveDays) * pairgate.Day}
	jobs, err := release.New(release.Config{TTL: cfg.JobTTL, MaxJobBytes: int64(cfg.JobMaxMB) << 20,
		Quota:       pairgate.HeldJobQuota{MaxBytes: int64(cfg.JobQuotaMB) << 20, MaxJobs: MaxHeldJobs},
		SendTimeout: ReleaseSendTimeout, FollowFor: ReleaseFollowFor, PollEvery: ReleasePollEvery, KeepReleased: ReleaseKeepReleased},
		release.Deps{Store: store, Keys: keys, Audit: rec, Sender: printing.NewSender(ReleaseIPPTimeout), Log: log, Now: now})
	if err != nil {
		return nil, err
	}
	a.Jobs = jobs
	ippHandler, err := ipp.New(ipp.Deps{Jobs: jobs, Devices: devices, IP: ip, Log: log, Now: now, ReleaseURL: issuer + "/release",
		TLS: cfg.TLSCert != ""})
	if err != nil {
		return nil, err
	}
	a.IPP = ippHandler
	pages, err := web.New(web.Deps{Issuer: issuer, Grants: g, Admin: adm, Sessions: sessions, Passwords: passwords,
		Upstream: up, Browsers: browsers, Printers: printers, Jobs: jobs, Inactivity: inactivity, Audit: rec, IP: ip, Now: now, Log: log})
	if err != nil {
		return nil, err
	}
	sweeper, err := lifecycle.New(lifecycle.Config{Policy: inactivity,
		Batch: 500, Pause: 20 * time.Millisecond}, lifecycle.Deps{Store: store, Audit: rec, Log: log, Now: now})
	if err != nil {
		return nil, err
	}
	a.Lifecycle = sweeper
	srv, err := server.New(server.Config{GCInterval: cfg.GCInterval, KeyRotationPeriod: cfg.KeyRotationPeriod, HTTPS: cfg.HTTPS()},
		server.Deps{Store: store, Grants: g, Keyring: keyring, OAuth: oh, API: ah, Pages: pages, Metrics: m, Audit: rec,
			Lifecycle: sweeper, Jobs: jobs, IP: ip, Log: log, Now: now})
	if err != nil {
		return nil, err
	}
	a.Server = srv
	a.removeStalePasswordFile(ctx)
	return a, nil
}

// Close stops the releases in flight and releases the store.
func (a *App) Close() error {
	if a.Jobs != nil {
		a.Jobs.Close()
	}
	if a.LastSeen != nil {
		a.LastSeen.Close()
	}
	return a.Store.Close()
}

// RedactDSN hides a password in a database URL before it is logged.
func RedactDSN(dsn string) string {
	if !sqlstore.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// IsFresh reports whether the store has never been started: no signing key
// and no account.
func IsFresh(ctx context.Context, store pairgate.Store, now time.Time) (bool, error) {
	keys, err := store.ListSigningKeys(ctx, now)
	if err != nil {
		return false, err
	}
	n, err := store.CountUsers(ctx)
	if err != nil {
		return false, err
	}
	return len(keys) == 0 && n == 0, nil
}

// NewLogger builds the structured logger a configuration asks for; every
// record logged with a request's context carries its request id.
func NewLogger(w io.Writer, level, format string) *slog.Logger {
	l, _ := parseLevel(level)
	opts := &slog.HandlerOptions{Level: l}
	var h slog.Handler
	if format == "json" {
		h = slog.NewJSONHandler(w, opts)
	} else {
		h = slog.NewTextHandler(w, opts)
	}
	return slog.New(server.LogHandler{Handler: h})
}

// Host is the administrative side of a store that has been started at
// least once, for the commands that work on a host's store (`pairgate
// admin users` without --server): the same admin service, with the same
// rules and audit events, as the console and the API.
type Host struct {
	Store *sqlstore.Store
	Admin *admin.Service
}

// Close releases the store.
func (h *Host) Close() error { return h.Store.Close() }

// OpenHost opens the store of a server that has been started at least
// once. It never creates a store, a data directory or a key: an account
// made in a new, empty store would make the next `pairgate serve` believe
// the store is set up and refuse to create its master key.
func OpenHost(ctx context.Context, cfg Config, o Options) (*Host, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	dsn := cfg.DBPath()
	if !sqlstore.IsPostgres(dsn) {
		if _, err := os.Stat(dsn); err != nil {
			return nil, fmt.Errorf("no pairgate database at %s: pass the server's --data-dir or --db, or start `pairgate serve` once first", dsn)
		}
	}
	store, err := sqlstore.Open(ctx, dsn, sqlstore.Options{Log: o.Log})
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", RedactDSN(dsn), err)
	}
	h, err := openHost(ctx, cfg, o, store)
	if err != nil {
		store.Close()
		return nil, err
	}
	return h, nil
}

func openHost(ctx context.Context, cfg Config, o Options, store *sqlstore.Store) (*Host, error) {
	fresh, err := IsFresh(ctx, store, o.Now())
	if err != nil {
		return nil, err
	}
	if fresh {
		return nil, fmt.Errorf("the store %s has not been set up yet: start `pairgate serve` once first", RedactDSN(cfg.DBPath()))
	}
	master, err := loadMasterKey(cfg, false)
	if err != nil {
		return nil, err
	}
	keys, err := secret.NewKeys(master)
	if err != nil {
		return nil, err
	}
	a := &App{Config: cfg, Store: store, Log: o.Log}
	rec := audit.New(store, o.Now, o.Log, nil)
	adm, err := admin.New(admin.Deps{Store: store, Keys: keys, Audit: rec, Limiter: ratelimit.New(store, keys, o.Now, func(string) {}),
		Prober: printing.NewProber(ProbeTimeout, o.Now),
		Log:    o.Log, Now: o.Now, ClientChanged: func(string) {}, PasswordChanged: a.passwordChanged})
	if err != nil {
		return nil, err
	}
	return &Host{Store: store, Admin: adm}, nil
}
