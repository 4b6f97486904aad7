package cli

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/api"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/authn"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/metrics"
	"github.com/pairgate/pairgate/internal/oauth"
	"github.com/pairgate/pairgate/internal/ratelimit"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/server"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/web"
)

// Config is the configuration of `pairgate serve`.
type Config struct {
	Addr              string
	Issuer            string
	DataDir           string
	DB                string
	MasterKeyFile     string
	MasterKey         string // PAIRGATE_MASTER_KEY: the key itself, base64
	AdminPassword     string // PAIRGATE_ADMIN_PASSWORD: the first admin's password
	AccessTokenTTL    time.Duration
	DeviceCodeTTL     time.Duration
	PollInterval      time.Duration
	RefreshTokenTTL   time.Duration
	RefreshGrace      time.Duration
	SigningAlg        string
	KeyRotationPeriod time.Duration
	Audience          string
	TrustedProxies    string
	LogLevel          string
	LogFormat         string
	TLSCert           string
	TLSKey            string
	AuditStdout       bool
	RatePerSource     float64
	RatePerClient     float64

	// AuditLines receives audit events as JSON lines when AuditStdout is set.
	AuditLines io.Writer

	// Now is the clock; tests move it. Nil means time.Now.
	Now func() time.Time
}

// DefaultConfig returns the defaults of every flag.
func DefaultConfig() Config {
	return Config{
		Addr:              ":8080",
		Issuer:            "http://localhost:8080",
		DataDir:           "./pairgate-data",
		AccessTokenTTL:    time.Hour,
		DeviceCodeTTL:     10 * time.Minute,
		PollInterval:      5 * time.Second,
		RefreshTokenTTL:   90 * 24 * time.Hour,
		RefreshGrace:      30 * time.Second,
		SigningAlg:        "RS256",
		KeyRotationPeriod: 30 * 24 * time.Hour,
		RatePerSource:     100,
		RatePerClient:     2000,
		LogLevel:          "info",
		LogFormat:         "text",
	}
}

func (c *Config) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "public base URL of the server (the OAuth issuer); may differ from --addr behind a proxy")
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite database and the master key")
	fs.StringVar(&c.DB, "db", c.DB, "database: a postgres:// URL, or a SQLite file path (default: pairgate.db in the data dir)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", c.MasterKeyFile, "file holding the master key (default: master.key in the data dir); PAIRGATE_MASTER_KEY gives the key itself")
	fs.DurationVar(&c.AccessTokenTTL, "access-token-ttl", c.AccessTokenTTL, "lifetime of access tokens")
	fs.DurationVar(&c.DeviceCodeTTL, "device-code-ttl", c.DeviceCodeTTL, "lifetime of device, user and pairing codes")
	fs.DurationVar(&c.PollInterval, "poll-interval", c.PollInterval, "minimum interval between polls of a device code")
	fs.DurationVar(&c.RefreshTokenTTL, "refresh-token-ttl", c.RefreshTokenTTL, "a refresh token unused for this long expires")
	fs.DurationVar(&c.RefreshGrace, "refresh-grace", c.RefreshGrace, "window in which the previous refresh token may be retried after a lost response (0 disables)")
	fs.StringVar(&c.SigningAlg, "signing-alg", c.SigningAlg, "access token signing algorithm: RS256, ES256 or EdDSA")
	fs.DurationVar(&c.KeyRotationPeriod, "key-rotation-period", c.KeyRotationPeriod, "rotate the signing key when it is this old (0 disables)")
	fs.StringVar(&c.Audience, "audience", c.Audience, "aud claim of access tokens (default: the issuer)")
	fs.StringVar(&c.TrustedProxies, "trusted-proxies", c.TrustedProxies, "comma-separated addresses or CIDRs of proxies whose X-Forwarded-For is believed (default: none)")
	fs.StringVar(&c.TLSCert, "tls-cert", c.TLSCert, "PEM certificate (chain) to serve HTTPS with; reloaded when the file changes")
	fs.StringVar(&c.TLSKey, "tls-key", c.TLSKey, "PEM private key of --tls-cert")
	fs.Float64Var(&c.RatePerSource, "rate-limit-per-source", c.RatePerSource, "OAuth requests per second from one address (bursts of twice that); 0 disables. Behind a proxy, set --trusted-proxies or every client shares the proxy's budget")
	fs.Float64Var(&c.RatePerClient, "rate-limit-per-client", c.RatePerClient, "token endpoint requests per second for one client_id, over all its devices; 0 disables")
	fs.BoolVar(&c.AuditStdout, "audit-stdout", c.AuditStdout, "also write every audit event to stdout as a JSON line")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
}

// Validate checks the configuration and fills in derived defaults.
func (c *Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("--issuer %q: want an absolute http(s) URL", c.Issuer))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("--issuer %q: must not have a query, fragment or user info", c.Issuer))
	}
	c.Issuer = strings.TrimRight(c.Issuer, "/")
	if c.Audience == "" {
		c.Audience = c.Issuer
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.DB == "" {
		c.DB = filepath.Join(c.DataDir, "pairgate.db")
	}
	if c.MasterKeyFile == "" {
		c.MasterKeyFile = filepath.Join(c.DataDir, "master.key")
	}
	for _, d := range []struct {
		name string
		v    time.Duration
		min  time.Duration
	}{
		{"--access-token-ttl", c.AccessTokenTTL, time.Minute},
		{"--device-code-ttl", c.DeviceCodeTTL, 30 * time.Second},
		{"--poll-interval", c.PollInterval, time.Second},
		{"--refresh-token-ttl", c.RefreshTokenTTL, time.Hour},
	} {
		if d.v < d.min {
			errs = append(errs, fmt.Errorf("%s %v: must be at least %v", d.name, d.v, d.min))
		}
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > 5*time.Minute {
		errs = append(errs, fmt.Errorf("--refresh-grace %v: must be between 0 and 5m", c.RefreshGrace))
	}
	if c.KeyRotationPeriod != 0 && c.KeyRotationPeriod < time.Hour {
		errs = append(errs, fmt.Errorf("--key-rotation-period %v: must be 0 or at least 1h", c.KeyRotationPeriod))
	}
	if !accesstoken.ValidAlgorithm(c.SigningAlg) {
		errs = append(errs, fmt.Errorf("--signing-alg %q: want one of %v", c.SigningAlg, accesstoken.Algorithms))
	}
	if _, err := httpx.ParseTrusted(c.TrustedProxies); err != nil {
		errs = append(errs, fmt.Errorf("--trusted-proxies: %v", err))
	}
	if c.RatePerSource < 0 || c.RatePerClient < 0 {
		errs = append(errs, errors.New("--rate-limit-per-source and --rate-limit-per-client must not be negative"))
	}
	if (c.TLSCert == "") != (c.TLSKey == "") {
		errs = append(errs, errors.New("--tls-cert and --tls-key go together"))
	}
	if _, err := parseLevel(c.LogLevel); err != nil {
		errs = append(errs, err)
	}
	if c.LogFormat != "text" && c.LogFormat != "json" {
		errs = append(errs, fmt.Errorf("--log-format %q: want text or json", c.LogFormat))
	}
	return errors.Join(errs...)
}

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}

// NewLogger builds the structured logger the configuration asks for.
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

// App is a wired pairgate server: its store, its parts, its HTTP handler.
type App struct {
	Config   Config
	Store    *sqlstore.Store
	Keys     *secret.Keys
	Keyring  *accesstoken.Keyring
	Tokens   *accesstoken.Issuer
	Clients  *authn.Clients
	Grants   *grants.Service
	Audit    *audit.Recorder
	Admin    *admin.Service
	Sessions *authn.Sessions
	Server   *server.Server
	Log      *slog.Logger
}

// NewApp opens the store, bootstraps it on first start, and wires the
// server. out receives the one-time messages of the first start (the
// generated admin password), which never go to the log.
func NewApp(ctx context.Context, cfg Config, log *slog.Logger, out io.Writer) (*App, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if !sqlstore.IsPostgres(cfg.DB) || cfg.MasterKey == "" {
		if err := os.MkdirAll(cfg.DataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create data dir: %w", err)
		}
	}
	store, err := sqlstore.Open(ctx, cfg.DB, log)
	if err != nil {
		return nil, fmt.Errorf("open store %s: %w", redactDSN(cfg.DB), err)
	}
	app, err := wire(ctx, cfg, store, log, out)
	if err != nil {
		store.Close()
		return nil, err
	}
	return app, nil
}

func wire(ctx context.Context, cfg Config, store *sqlstore.Store, log *slog.Logger, out io.Writer) (*App, error) {
	fresh, err := isFresh(ctx, store, cfg.Now())
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
		Algorithm: cfg.SigningAlg, TokenTTL: cfg.AccessTokenTTL, Now: cfg.Now, Log: log,
	})
	if err != nil {
		return nil, err
	}
	if err := bootstrap(ctx, cfg, store, log, out); err != nil {
		return nil, err
	}
	var lines io.Writer
	if cfg.AuditStdout {
		lines = cfg.AuditLines
	}
	rec := audit.New(store, cfg.Now, log, lines)
	m := metrics.New()
	store.OnError(m.StoreError)
	m.Gauge("pairgate_devices", "Devices in the inventory.", func(ctx context.Context) (float64, error) {
		n, err := store.CountDevices(ctx)
		return float64(n), err
	})
	m.Gauge("pairgate_pending_grants", "Device authorizations waiting for a person.", func(ctx context.Context) (float64, error) {
		n, err := store.CountPendingDeviceAuthorizations(ctx, cfg.Now())
		return float64(n), err
	})
	trusted, _ := httpx.ParseTrusted(cfg.TrustedProxies)
	ip := httpx.ClientIP{Trusted: trusted}
	// An https issuer means browsers reach pairgate over TLS, even when a
	// proxy terminates it: cookies are Secure and HSTS is sent.
	https := strings.HasPrefix(cfg.Issuer, "https://")
	tokens := &accesstoken.Issuer{Keyring: keyring, Issuer: cfg.Issuer, Audience: cfg.Audience, TTL: cfg.AccessTokenTTL, Now: cfg.Now}
	clients := authn.NewClients(store, keys, cfg.Now)
	limiter := ratelimit.New(store, keys, cfg.Now)
	limiter.OnRefused = m.RateLimited
	g := grants.New(store, keys, tokens, grants.Config{
		Issuer: cfg.Issuer, DeviceCodeTTL: cfg.DeviceCodeTTL, PollInterval: cfg.PollInterval,
		RefreshTTL: cfg.RefreshTokenTTL, RefreshGrace: cfg.RefreshGrace,
	}, cfg.Now, log, rec)
	oh := &oauth.Handlers{Grants: g, Clients: clients, Keyring: keyring, Store: store, Issuer: cfg.Issuer, IP: ip, Log: log, Metrics: m,
		PerSource: ratelimit.NewLocal(cfg.RatePerSource, 100000, cfg.Now), PerClient: ratelimit.NewLocal(cfg.RatePerClient, 10000, cfg.Now)}
	g.LimitGuessing(authCodeGuessLimit(limiter))
	adm := admin.New(store, keys, g, rec, cfg.Now, log)
	adm.ClientChanged = clients.Forget
	adm.Limiter = limiter
	sessions := &authn.Sessions{Store: store, Keys: keys, Now: cfg.Now, Secure: https}
	passwords := authn.NewPasswords(store, 0)
	ah := &api.Handlers{Store: store, Devices: &authn.Devices{Store: store, Tokens: tokens, Now: cfg.Now}, IP: ip, Log: log,
		Admin: adm, APIKeys: &authn.APIKeys{Store: store, Keys: keys, Now: cfg.Now}, Sessions: sessions,
		Passwords: passwords, Limiter: limiter, Audit: rec}
	browsers := &authn.Browsers{Store: store, Keys: keys, Now: cfg.Now, Secure: https}
	wh, err := web.New(web.Config{
		Issuer: cfg.Issuer, Grants: g, Sessions: sessions, Passwords: passwords,
		Limiter: limiter, Admin: adm, Browsers: browsers, Audit: rec, IP: ip, Now: cfg.Now, Log: log,
	})
	if err != nil {
		return nil, err
	}
	srv := server.New(server.Parts{Store: store, Grants: g, Keyring: keyring, OAuth: oh, API: ah, Web: wh, Metrics: m, Audit: rec,
		IP: ip, Log: log, Now: cfg.Now},
		server.Config{KeyRotationPeriod: cfg.KeyRotationPeriod, HTTPS: https})
	return &App{Config: cfg, Store: store, Keys: keys, Keyring: keyring, Tokens: tokens, Clients: clients, Grants: g,
		Audit: rec, Admin: adm, Sessions: sessions, Server: srv, Log: log}, nil
}

// Serve serves on ln until ctx ends, then shuts down gracefully: in-flight
// requests finish (for up to 30 s), new connections are refused.
func (a *App) Serve(ctx context.Context, ln net.Listener) error {
	hs := a.Server.HTTPServer(ln.Addr().String())
	if a.Config.TLSCert != "" {
		certs, err := server.NewCertReloader(a.Config.TLSCert, a.Config.TLSKey)
		if err != nil {
			return err
		}
		hs.TLSConfig = certs.TLSConfig()
	}
	jobs, stopJobs := context.WithCancel(context.WithoutCancel(ctx))
	defer stopJobs()
	go a.Server.RunJobs(jobs)
	errc := make(chan error, 1)
	go func() {
		if hs.TLSConfig != nil {
			errc <- hs.ServeTLS(ln, "", "") // certificates come from TLSConfig.GetCertificate
			return
		}
		errc <- hs.Serve(ln)
	}()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	a.Log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := hs.Shutdown(sctx)
	if e := <-errc; !errors.Is(e, http.ErrServerClosed) && err == nil {
		err = e
	}
	return err
}

// Close releases the store.
func (a *App) Close() error { return a.Store.Close() }

func runServe(ctx context.Context, env Env, args []string) int {
	cfg := DefaultConfig()
	fs := flag.NewFlagSet("pairgate serve", flag.ContinueOnError)
	cfg.flags(fs)
	if err := parseFlags(fs, env, args); err != nil {
		return flagStatus(err)
	}
	cfg.MasterKey = env.Getenv("PAIRGATE_MASTER_KEY")
	cfg.AdminPassword = env.Getenv("PAIRGATE_ADMIN_PASSWORD")
	cfg.AuditLines = env.Stdout
	if err := cfg.Validate(); err != nil {
		fmt.Fprintf(env.Stderr, "pairgate serve: %v\n", err)
		return ExitUsage
	}
	log := NewLogger(env.Stderr, cfg.LogLevel, cfg.LogFormat)
	app, err := NewApp(ctx, cfg, log, env.Stderr)
	if err != nil {
		log.Error("cannot start", "err", err)
		return ExitFailure
	}
	defer app.Close()
	ln, err := net.Listen("tcp", cfg.Addr)
	if err != nil {
		log.Error("cannot listen", "addr", cfg.Addr, "err", err)
		return ExitFailure
	}
	log.Info("pairgate serving", "addr", ln.Addr().String(), "issuer", cfg.Issuer, "store", redactDSN(cfg.DB),
		"signing_alg", cfg.SigningAlg, "kid", app.Keyring.Current(), "version", Version)
	if err := app.Serve(ctx, ln); err != nil {
		log.Error("server stopped", "err", err)
		return ExitFailure
	}
	log.Info("stopped")
	return ExitOK
}

// redactDSN hides a password in a database URL before it is logged.
func redactDSN(dsn string) string {
	if !sqlstore.IsPostgres(dsn) {
		return dsn
	}
	u, err := url.Parse(dsn)
	if err != nil {
		return "postgres://…"
	}
	return u.Redacted()
}

// authCodeGuessLimit limits wrong admin-issued codes per source address
// (DESIGN.md 2.6). At 80 bits a code cannot be guessed anyway; the limit
// keeps a scripted attacker from trying.
func authCodeGuessLimit(l *ratelimit.Limiter) grants.GuessLimit {
	return grants.GuessLimit{
		Allow: func(ctx context.Context, kind, source string, key []byte) error {
			return l.Over(ctx, ratelimit.Hit{Rule: ratelimit.AuthCodeFailuresPerIP, Subject: source})
		},
		Failed: func(ctx context.Context, kind, source string, key []byte) {
			l.Count(ctx, ratelimit.Hit{Rule: ratelimit.AuthCodeFailuresPerIP, Subject: source})
		},
	}
}
