package server

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/api"
	"github.com/pairgate/pairgate/internal/audit"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/httpx"
	"github.com/pairgate/pairgate/internal/lifecycle"
	"github.com/pairgate/pairgate/internal/metrics"
	"github.com/pairgate/pairgate/internal/oauth"
	"github.com/pairgate/pairgate/internal/release"
	"github.com/pairgate/pairgate/internal/web"
)

// Config is what the server needs besides its parts.
type Config struct {
	GCInterval        time.Duration // how often expired rows are deleted
	KeyRotationPeriod time.Duration // rotate the signing key when it is this old; 0 = never
	HTTPS             bool          // the issuer is https: send HSTS even when a proxy terminates TLS
}

// Server is the pairgate HTTP server.
type Server struct {
	store   pairgate.Store
	grants  *grants.Service
	keyring *accesstoken.Keyring
	oauth   *oauth.Handlers
	api     *api.Handlers
	pages   *web.Pages
	metrics *metrics.Metrics
	audit   *audit.Recorder
	sweep   *lifecycle.Service
	jobs    *release.Service
	ip      httpx.ClientIP
	log     *slog.Logger
	now     func() time.Time
	cfg     Config
	handler http.Handler
}

// Deps are the ready-made pieces the server routes to. Every field is
// required.
type Deps struct {
	Store     pairgate.Store
	Grants    *grants.Service
	Keyring   *accesstoken.Keyring
	OAuth     *oauth.Handlers
	API       *api.Handlers
	Pages     *web.Pages
	Metrics   *metrics.Metrics
	Audit     *audit.Recorder
	Lifecycle *lifecycle.Service
	Jobs      *release.Service
	IP        httpx.ClientIP
	Log       *slog.Logger
	Now       func() time.Time
}

// New builds the server.
func New(cfg Config, d Deps) (*Server, error) {
	if d.Store == nil || d.Grants == nil || d.Keyring == nil || d.OAuth == nil || d.API == nil || d.Pages == nil ||
		d.Metrics == nil || d.Audit == nil || d.Lifecycle == nil || d.Jobs == nil || d.Log == nil || d.Now == nil || cfg.GCInterval <= 0 {
		return nil, errors.New("server: every dependency and a GC interval are required")
	}
	s := &Server{store: d.Store, grants: d.Grants, keyring: d.Keyring, oauth: d.OAuth, api: d.API, pages: d.Pages,
		metrics: d.Metrics, audit: d.Audit, sweep: d.Lifecycle, jobs: d.Jobs, ip: d.IP, log: d.Log, now: d.Now, cfg: cfg}
	s.handler = s.middleware(s.routes())
	return s, nil
}

// Handler returns the root handler.
func (s *Server) Handler() http.Handler { return s.handler }

// MetricsHandler serves the Prometheus metrics, for a listener of their
// own (--metrics-addr): never on the public one.
func (s *Server) MetricsHandler() http.Handler { return s.metrics.Handler() }

// HTTPServer returns an http.Server with the timeouts and limits a public
// service needs: slow clients cannot hold connections or memory.
func (s *Server) HTTPServer(addr string, h http.Handler) *http.Server {
	return &http.Server{
		Addr:              addr,
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		ReadTimeout:       30 * time.Second,
		WriteTimeout:      30 * time.Second,
		IdleTimeout:       120 * time.Second,
		MaxHeaderBytes:    32 << 10,
		ErrorLog:          slog.NewLogLogger(s.log.Handler(), slog.LevelDebug),
	}
}

// RunJobs runs the background jobs until ctx ends. Every replica runs them;
// each job is safe to run on all at once.
func (s *Server) RunJobs(ctx context.Context) {
	t := time.NewTicker(s.cfg.GCInterval)
	defer t.Stop()
	for {
		s.runJobsOnce(ctx)
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

func (s *Server) runJobsOnce(ctx context.Context) {
	now := s.now()
	r, err := s.store.GarbageCollect(ctx, now)
	if ctx.Err() != nil {
		return // shutting down: what was left is done at the next start
	}
	if err != nil {
		s.log.Warn("garbage collection failed", "err", err)
	} else if r.Total() > 0 {
		s.log.Info("garbage collected", "device_authorizations", r.DeviceAuthorizations, "authorization_codes", r.AuthorizationCodes, "refresh_tokens", r.RefreshTokens,
			"refresh_families", r.RefreshFamilies, "revoked_access_tokens", r.RevokedAccessTokens, "signing_keys", r.SigningKeys,
			"sessions", r.Sessions, "rate_limits", r.RateLimits, "authorization_codes", r.AuthorizationCodes, "audit_events", r.AuditEvents)
	}
	if _, err := s.sweep.Sweep(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("inactivity sweep failed", "err", err)
	}
	if ctx.Err() != nil {
		return
	}
	if n, err := s.jobs.Expire(ctx); err != nil && ctx.Err() == nil {
		s.log.Warn("held job expiry failed", "err", err)
	} else if n > 0 {
		s.log.Info("held jobs expired", "jobs", n)
	}
	s.grants.Sweep()
	if s.cfg.KeyRotationPeriod > 0 {
		prev := s.keyring.Current()
		rotated, err := s.keyring.RotateIfOlder(ctx, s.cfg.KeyRotationPeriod)
		if err != nil {
			s.log.Warn("scheduled key rotation failed", "err", err)
		}
		if rotated {
			s.audit.Record(ctx, pairgate.AuditEvent{Action: pairgate.AuditKeyRotated, ActorType: pairgate.ActorSystem,
				Target: s.keyring.Current(), Details: map[string]string{"previous_kid": prev, "reason": "scheduled"}})
		}
	}
}
