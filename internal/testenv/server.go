package testenv

import (
	"bytes"
	"context"
	"errors"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/grants"
)

// Clock is a clock tests can move forward. It starts at the real time, so
// that tokens it stamps also make sense to libraries that read the wall
// clock.
type Clock struct {
	mu  sync.Mutex
	off time.Duration
}

// Now returns the real time plus every Advance so far.
func (c *Clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return time.Now().Add(c.off)
}

// Advance moves the clock forward.
func (c *Clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.off += d
	c.mu.Unlock()
}

// Server is a real pairgate server on a loopback port.
type Server struct {
	URL     string
	App     *cli.App
	Clock   *Clock
	DataDir string
	DB      string
	logs    *Buffer
}

// AdminPassword is the password of the "admin" account of test servers.
const AdminPassword = "correct horse battery staple"

// Option changes a test server's configuration.
type Option func(*cli.Config)

// WithPostgres stores everything in a fresh PostgreSQL database.
func WithPostgres(t testing.TB) Option {
	t.Helper()
	dsn := PostgresDSN(t)
	return func(c *cli.Config) { c.DB = dsn }
}

// WithDB uses the given database (to share one between servers).
func WithDB(dsn string) Option { return func(c *cli.Config) { c.DB = dsn } }

// WithConfig applies any change to the configuration.
func WithConfig(f func(*cli.Config)) Option { return Option(f) }

// StartServer starts pairgate on 127.0.0.1 with a fresh data directory and
// stops it when the test ends. Polling is fast (1 s) so that flows finish
// quickly.
func StartServer(t testing.TB, opts ...Option) *Server {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatalf("listen: %v", err)
	}
	dir := t.TempDir()
	clock := &Clock{}
	cfg := cli.DefaultConfig()
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + ln.Addr().String()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.PollInterval = time.Second
	cfg.AdminPassword = AdminPassword
	cfg.LogLevel = "debug"
	cfg.Now = clock.Now
	// Tests fire requests from one address far faster than any device;
	// the capacity limits are tested on their own (TestCapacityLimits).
	cfg.RatePerSource, cfg.RatePerClient = 0, 0
	for _, o := range opts {
		o(&cfg)
	}
	logs := &Buffer{}
	log := cli.NewLogger(logs, cfg.LogLevel, "json")
	ctx, cancel := context.WithCancel(context.Background())
	app, err := cli.NewApp(ctx, cfg, log, logs)
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("start pairgate: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- app.Serve(ctx, ln) }()
	s := &Server{URL: cfg.Issuer, App: app, Clock: clock, DataDir: cfg.DataDir, DB: app.Config.DB, logs: logs}
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
			t.Errorf("server: %v", err)
		}
		app.Close()
	})
	return s
}

// Logs returns everything the server logged so far.
func (s *Server) Logs() []byte { return s.logs.Bytes() }

// Admin returns the bootstrap admin account.
func (s *Server) Admin(t testing.TB) *pairgate.User {
	t.Helper()
	u, err := s.App.Store.GetUserByUsername(context.Background(), "admin")
	if err != nil {
		t.Fatalf("admin account: %v", err)
	}
	return u
}

// ApproveUserCode approves a device flow the way the consent page does.
func (s *Server) ApproveUserCode(t testing.TB, userCode string) *pairgate.DeviceAuthorization {
	t.Helper()
	p, err := s.App.Grants.FindUserCode(context.Background(), userCode)
	if err != nil {
		t.Fatalf("find user code %s: %v", userCode, err)
	}
	return s.approve(t, p)
}

// ApprovePairingCode approves a pairing the way the consent page does.
func (s *Server) ApprovePairingCode(t testing.TB, code string) *pairgate.DeviceAuthorization {
	t.Helper()
	p, err := s.App.Grants.FindPairingCode(context.Background(), code)
	if err != nil {
		t.Fatalf("find pairing code %s: %v", code, err)
	}
	return s.approve(t, p)
}

func (s *Server) approve(t testing.TB, p *grants.Pending) *pairgate.DeviceAuthorization {
	a, err := s.App.Grants.Approve(context.Background(), p, s.Admin(t), "")
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	return a
}

// DenyUserCode denies a device flow the way the consent page does.
func (s *Server) DenyUserCode(t testing.TB, userCode string) {
	t.Helper()
	p, err := s.App.Grants.FindUserCode(context.Background(), userCode)
	if err != nil {
		t.Fatalf("find user code %s: %v", userCode, err)
	}
	if err := s.App.Grants.Deny(context.Background(), p, s.Admin(t)); err != nil {
		t.Fatalf("deny: %v", err)
	}
}

// Buffer is a bytes.Buffer that goroutines may write to at once, for the
// output of servers under test.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *Buffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

// Bytes returns a copy of what was written so far.
func (s *Buffer) Bytes() []byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return bytes.Clone(s.b.Bytes())
}

// String returns what was written so far.
func (s *Buffer) String() string { return string(s.Bytes()) }
