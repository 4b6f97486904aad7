package app

import (
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/upstream"
)

// Config is the configuration of a pairgate server: the flags of
// `pairgate serve`, each also PAIRGATE_<FLAG>.
type Config struct {
	Addr              string
	MetricsAddr       string // "" serves no metrics
	Issuer            string
	DataDir           string
	DB                string // "" is pairgate.db in DataDir
	MasterKeyFile     string // "" is master.key in DataDir
	MasterKey         string // PAIRGATE_MASTER_KEY: the key itself, base64
	AdminPassword     string // PAIRGATE_ADMIN_PASSWORD: the first admin's password
	AccessTokenTTL    time.Duration
	DeviceCodeTTL     time.Duration
	PollInterval      time.Duration
	RefreshTokenTTL   time.Duration
	RefreshGrace      time.Duration
	SigningAlg        string
	KeyRotationPeriod time.Duration
	Audience          string // "" is the issuer
	TrustedProxies    string
	LogLevel          string
	LogFormat         string
	TLSCert           string
	TLSKey            string
	AuditStdout       bool
	RatePerSource     float64
	RatePerClient     float64
	GCInterval        time.Duration
	StatusListTTL     time.Duration
	// Admission control of the write path.
	MaxConcurrentWrites int
	OverloadWait        time.Duration
	OverloadRetrySpread time.Duration
	// The inactivity policy, in days (0: never).
	InactiveSignOutDays int
	InactiveRemoveDays  int
	DPoPNonce           bool          // RFC 9449 §8: proofs must carry a server nonce
	DPoPWindow          time.Duration // how far a DPoP proof's iat may be from the clock
	// The held queue of the Release Portal: its IPP listener ("" serves
	// none), how long a job waits to be released, and the limits of one
	// document and of what one person (or device-mode device) holds.
	IPPAddr    string
	JobTTL     time.Duration
	JobMaxMB   int
	JobQuotaMB int
	// DeviceApprovalRoles are the roles that may approve device requests,
	// comma-separated (the per-role switch of the phishing defences).
	DeviceApprovalRoles string

	// LocalSignIn allows local accounts to sign in with a password (the
	// sign-in form, HTTP Basic at the admin API). Turned off, people sign
	// in at an upstream provider only; the host's command line (`pairgate
	// admin users` with the store) still works, the break-glass way in.
	LocalSignIn bool
	// OIDCConfig is a JSON file of upstream providers (see OIDCFile).
	OIDCConfig string
	// One upstream provider from flags: --oidc-issuer and the others.
	OIDCID            string
	OIDCIssuer        string
	OIDCClientID      string
	OIDCClientSecret  string // PAIRGATE_OIDC_CLIENT_SECRET only: never on a command line
	OIDCScopes        string
	OIDCLabel         string
	OIDCUsernameClaim string
	OIDCGroupsClaim   string
	OIDCRoleRules     string
}

// Default returns the defaults of every setting: the only place they are
// written down.
func Default() Config {
	return Config{
		Addr:              ":8080",
		MetricsAddr:       "127.0.0.1:9464",
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
		GCInterval:        time.Minute,
		StatusListTTL:     5 * time.Minute,
		// A device unseen for a quarter is gone from the fleet; another
		// quarter later nobody will miss its row.
		MaxConcurrentWrites: 64,
		OverloadWait:        time.Second,
		OverloadRetrySpread: time.Minute,
		InactiveSignOutDays: 90,
		InactiveRemoveDays:  90,
		DPoPWindow:          time.Minute,
		// A held job waits a working day and a night; a document is a
		// large PDF at most, and a person holds a few.
		JobTTL:              24 * time.Hour,
		JobMaxMB:            64,
		JobQuotaMB:          256,
		DeviceApprovalRoles: strings.Join(pairgate.Roles, ","),
		LocalSignIn:         true,
		OIDCID:              "oidc",
		OIDCUsernameClaim:   upstream.DefaultUsernameClaim,
		OIDCGroupsClaim:     upstream.DefaultGroupsClaim,
		OIDCScopes:          strings.Join(upstream.DefaultScopes, ","),
		OIDCRoleRules:       "*:" + pairgate.RoleUser,
	}
}

// Flags defines a flag for every setting on fs, with c's values as
// defaults, writing into c.
func (c *Config) Flags(fs *flag.FlagSet) {
	fs.StringVar(&c.Addr, "addr", c.Addr, "address to listen on")
	fs.StringVar(&c.MetricsAddr, "metrics-addr", c.MetricsAddr, "address of the Prometheus metrics listener, kept off the public one (empty: no metrics)")
	fs.StringVar(&c.IPPAddr, "ipp-addr", c.IPPAddr, "address of the held queue's IPP listener (ipp://HOST:PORT/ipp/print, ipps with --tls-cert) for the Release Portal, e.g. :8631 (empty: none)")
	fs.DurationVar(&c.JobTTL, "job-ttl", c.JobTTL, "a held job not released within this is deleted")
	fs.IntVar(&c.JobMaxMB, "job-max-mb", c.JobMaxMB, "largest document a held job may have, in MiB")
	fs.IntVar(&c.JobQuotaMB, "job-quota-mb", c.JobQuotaMB, "what one person (or device-mode device) may hold at once, in MiB")
	fs.StringVar(&c.Issuer, "issuer", c.Issuer, "public base URL of the server (the OAuth issuer); may differ from --addr behind a proxy")
	c.StoreFlags(fs)
	fs.DurationVar(&c.AccessTokenTTL, "access-token-ttl", c.AccessTokenTTL, "lifetime of access tokens (at most 24h)")
	fs.DurationVar(&c.StatusListTTL, "status-list-ttl", c.StatusListTTL, "how long resource servers may keep a token status list: a revocation reaches them within this")
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
	fs.Float64Var(&c.RatePerSource, "rate-limit-per-source", c.RatePerSource, "OAuth requests per second from one address (an IPv6 /64), bursts of twice that; 0 disables. Behind a proxy, set --trusted-proxies or every client shares the proxy's budget")
	fs.Float64Var(&c.RatePerClient, "rate-limit-per-client", c.RatePerClient, "token endpoint requests per second for one client_id, over all its devices; 0 disables")
	fs.IntVar(&c.InactiveSignOutDays, "inactive-sign-out-days", c.InactiveSignOutDays, "sign out devices not seen for this many days (state expired; 0: never); a client may set its own")
	fs.IntVar(&c.InactiveRemoveDays, "inactive-remove-days", c.InactiveRemoveDays, "remove devices that ended and were not seen for this many more days (0: never); a client may set its own")
	fs.IntVar(&c.MaxConcurrentWrites, "max-concurrent-writes", c.MaxConcurrentWrites, "refreshes, redemptions and new device authorizations worked on at once; more wait a second, then get 503 with Retry-After (0: no limit)")
	fs.DurationVar(&c.OverloadWait, "overload-wait", c.OverloadWait, "how long a write waits for one of --max-concurrent-writes before it is refused")
	fs.DurationVar(&c.OverloadRetrySpread, "overload-retry-spread", c.OverloadRetrySpread, "a 503 for overload says to retry after 1s plus a random part of this, so that a fleet does not come back in lockstep")
	fs.BoolVar(&c.DPoPNonce, "dpop-nonce", c.DPoPNonce, "require a server nonce in every DPoP proof (RFC 9449 §8); stateless, so replicas need only share the master key")
	fs.DurationVar(&c.DPoPWindow, "dpop-iat-window", c.DPoPWindow, "how far a DPoP proof's iat may be from the server's clock, either way")
	fs.StringVar(&c.DeviceApprovalRoles, "device-approval-roles", c.DeviceApprovalRoles, "comma-separated roles whose people may approve device requests (e.g. user,device-manager: admins, a phisher's best catch, may not)")
	fs.BoolVar(&c.LocalSignIn, "local-signin", c.LocalSignIn, "let local accounts sign in with a password; false: upstream providers only (the host's `pairgate admin users` still works)")
	fs.StringVar(&c.OIDCConfig, "oidc-config", c.OIDCConfig, "JSON file of upstream OpenID Connect providers (see README)")
	fs.StringVar(&c.OIDCID, "oidc-id", c.OIDCID, "id of the --oidc-issuer provider, in its callback URL {issuer}/auth/oidc/{id}/callback")
	fs.StringVar(&c.OIDCIssuer, "oidc-issuer", c.OIDCIssuer, "issuer URL of an upstream OpenID Connect provider to sign people in with (client secret in PAIRGATE_OIDC_CLIENT_SECRET)")
	fs.StringVar(&c.OIDCClientID, "oidc-client-id", c.OIDCClientID, "pairgate's client id at the --oidc-issuer provider")
	fs.StringVar(&c.OIDCScopes, "oidc-scopes", c.OIDCScopes, "comma-separated scopes to ask the provider for besides openid")
	fs.StringVar(&c.OIDCLabel, "oidc-label", c.OIDCLabel, "the sign-in button says \"Sign in with LABEL\" (default: the id)")
	fs.StringVar(&c.OIDCUsernameClaim, "oidc-username-claim", c.OIDCUsernameClaim, "claim that names the person in pairgate: email, preferred_username, upn…")
	fs.StringVar(&c.OIDCGroupsClaim, "oidc-groups-claim", c.OIDCGroupsClaim, "claim that group= role rules look in")
	fs.StringVar(&c.OIDCRoleRules, "oidc-role-rules", c.OIDCRoleRules, "roles from claims, first match wins: 'group=admins:admin,group=helpdesk:device-manager,*:user'; no match: no sign-in")
	fs.BoolVar(&c.AuditStdout, "audit-stdout", c.AuditStdout, "also write every audit event to stdout as a JSON line")
	fs.StringVar(&c.LogLevel, "log-level", c.LogLevel, "debug, info, warn or error")
	fs.StringVar(&c.LogFormat, "log-format", c.LogFormat, "text or json")
}

// StoreFlags defines the flags that say where the store is: the commands
// that work on a host's store (keys rotate, admin users) share them.
func (c *Config) StoreFlags(fs *flag.FlagSet) {
	fs.StringVar(&c.DataDir, "data-dir", c.DataDir, "directory for the SQLite database and the master key")
	fs.StringVar(&c.DB, "db", c.DB, "database: a postgres:// URL, or a SQLite file path (default: pairgate.db in the data dir)")
	fs.StringVar(&c.MasterKeyFile, "master-key-file", c.MasterKeyFile, "file holding the master key (default: master.key in the data dir); PAIRGATE_MASTER_KEY gives the key itself")
}

// Validate says everything that is wrong with c, at once. It changes
// nothing: the values derived from others (the database path, the
// audience) are read through the methods below.
func (c Config) Validate() error {
	var errs []error
	u, err := url.Parse(c.Issuer)
	switch {
	case err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "":
		errs = append(errs, fmt.Errorf("--issuer %q: want an absolute http(s) URL", c.Issuer))
	case u.RawQuery != "" || u.Fragment != "" || u.User != nil:
		errs = append(errs, fmt.Errorf("--issuer %q: must not have a query, fragment or user info", c.Issuer))
	}
	if c.DataDir == "" {
		errs = append(errs, errors.New("--data-dir must not be empty"))
	}
	if c.MetricsAddr != "" {
		if _, _, err := net.SplitHostPort(c.MetricsAddr); err != nil {
			errs = append(errs, fmt.Errorf("--metrics-addr %q: want host:port", c.MetricsAddr))
		}
	}
	if c.IPPAddr != "" {
		if _, _, err := net.SplitHostPort(c.IPPAddr); err != nil {
			errs = append(errs, fmt.Errorf("--ipp-addr %q: want host:port", c.IPPAddr))
		}
	}
	if c.JobTTL < time.Minute || c.JobTTL > 30*24*time.Hour {
		errs = append(errs, fmt.Errorf("--job-ttl %v: must be between 1m and 720h", c.JobTTL))
	}
	if c.JobMaxMB < 1 || c.JobMaxMB > 1024 {
		errs = append(errs, fmt.Errorf("--job-max-mb %d: must be from 1 to 1024", c.JobMaxMB))
	}
	if c.JobQuotaMB < c.JobMaxMB || c.JobQuotaMB > 1<<20 {
		errs = append(errs, fmt.Errorf("--job-quota-mb %d: must be at least --job-max-mb (%d) and at most %d", c.JobQuotaMB, c.JobMaxMB, 1<<20))
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
	if c.AccessTokenTTL > pairgate.MaxAccessTokenTTL {
		errs = append(errs, fmt.Errorf("--access-token-ttl %v: must be at most %v (revocations stay published that long)", c.AccessTokenTTL, pairgate.MaxAccessTokenTTL))
	}
	if c.StatusListTTL < time.Second || c.StatusListTTL > time.Hour {
		errs = append(errs, fmt.Errorf("--status-list-ttl %v: must be between 1s and 1h", c.StatusListTTL))
	}
	if c.MaxConcurrentWrites < 0 || c.OverloadRetrySpread < 0 || c.OverloadWait < 0 {
		errs = append(errs, errors.New("--max-concurrent-writes, --overload-wait and --overload-retry-spread must not be negative"))
	}
	if c.InactiveSignOutDays < 0 || c.InactiveSignOutDays > 3650 || c.InactiveRemoveDays < 0 || c.InactiveRemoveDays > 3650 {
		errs = append(errs, errors.New("--inactive-sign-out-days and --inactive-remove-days: 0 (never) to 3650"))
	}
	if c.RefreshGrace < 0 || c.RefreshGrace > 5*time.Minute {
		errs = append(errs, fmt.Errorf("--refresh-grace %v: must be between 0 and 5m", c.RefreshGrace))
	}
	if c.KeyRotationPeriod != 0 && c.KeyRotationPeriod < time.Hour {
		errs = append(errs, fmt.Errorf("--key-rotation-period %v: must be 0 or at least 1h", c.KeyRotationPeriod))
	}
	if c.DPoPWindow < 5*time.Second || c.DPoPWindow > 10*time.Minute {
		errs = append(errs, fmt.Errorf("--dpop-iat-window %v: must be between 5s and 10m", c.DPoPWindow))
	}
	if c.GCInterval < time.Second {
		errs = append(errs, fmt.Errorf("GC interval %v: must be at least 1s", c.GCInterval))
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
	if ps, err := c.Providers(); err != nil {
		errs = append(errs, err)
	} else if !c.LocalSignIn && len(ps) == 0 {
		errs = append(errs, errors.New("--local-signin=false needs an upstream provider (--oidc-issuer or --oidc-config), or nobody could sign in"))
	}
	if _, err := grants.ParseApprovalRoles(c.DeviceApprovalRoles); err != nil {
		errs = append(errs, fmt.Errorf("--device-approval-roles: %v", err))
	}
	if c.AdminPassword != "" {
		if err := secret.CheckNewPassword(c.AdminPassword); err != nil {
			errs = append(errs, fmt.Errorf("PAIRGATE_ADMIN_PASSWORD: %v", err))
		}
	}
	return errors.Join(errs...)
}

// ApprovalRoles are the roles that may approve device requests.
func (c Config) ApprovalRoles() []string {
	r, _ := grants.ParseApprovalRoles(c.DeviceApprovalRoles)
	return r
}

// IssuerURL is the issuer without a trailing slash, as tokens carry it.
func (c Config) IssuerURL() string { return strings.TrimRight(c.Issuer, "/") }

// AudienceOrIssuer is the aud claim of access tokens.
func (c Config) AudienceOrIssuer() string {
	if c.Audience != "" {
		return c.Audience
	}
	return c.IssuerURL()
}

// DBPath is the database: --db, or pairgate.db in the data dir.
func (c Config) DBPath() string {
	if c.DB != "" {
		return c.DB
	}
	return filepath.Join(c.DataDir, "pairgate.db")
}

// MasterKeyPath is the master key file: --master-key-file, or master.key
// in the data dir.
func (c Config) MasterKeyPath() string {
	if c.MasterKeyFile != "" {
		return c.MasterKeyFile
	}
	return filepath.Join(c.DataDir, "master.key")
}

// HTTPS reports whether browsers reach the server over TLS (an https
// issuer, even when a proxy terminates TLS): cookies are Secure and HSTS
// is sent.
func (c Config) HTTPS() bool { return strings.HasPrefix(c.Issuer, "https://") }

func parseLevel(s string) (slog.Level, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(s)); err != nil {
		return 0, fmt.Errorf("--log-level %q: want debug, info, warn or error", s)
	}
	return l, nil
}
