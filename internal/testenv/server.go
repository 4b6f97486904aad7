package testenv

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"path/filepath"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
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
	URL  string // the issuer: the server's address unless a test configured another
	Addr string // http:// and the address it listens on
	// IPP is the held queue's printer-uri, ipp://127.0.0.1:PORT/ipp/print.
	IPP string

	App     *app.App
	Clock   *Clock
	DataDir string
	DB      string
	logs    *Buffer
	stop    func()
}

// Stop shuts the server down before the test ends: pairgate unreachable.
func (s *Server) Stop() { s.stop() }

// AdminPassword is the password of the "admin" account of test servers.
const AdminPassword = "correct horse battery staple"

// Option changes a test server's configuration.
type Option func(*app.Config)

// WithPostgres stores everything in a fresh PostgreSQL database.
func WithPostgres(t testing.TB) Option {
	t.Helper()
	dsn := PostgresDSN(t)
	return func(c *app.Config) { c.DB = dsn }
}

// WithDB uses the given database (to share one between servers).
func WithDB(dsn string) Option { return func(c *app.Config) { c.DB = dsn } }

// WithConfig applies any change to the configuration.
func WithConfig(f func(*app.Config)) Option { return Option(f) }

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
	cfg := app.Default()
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + ln.Addr().String()
	cfg.DataDir = filepath.Join(dir, "data")
	cfg.PollInterval = time.Second
	cfg.AdminPassword = AdminPassword
	cfg.LogLevel = "debug"
	// Many servers run at once: each gets its own metrics and IPP ports.
	cfg.MetricsAddr = "127.0.0.1:0"
	cfg.IPPAddr = "127.0.0.1:0"
	// Tests fire requests from one address far faster than any device;
	// the capacity limits are tested on their own (TestCapacityLimits).
	cfg.RatePerSource, cfg.RatePerClient = 0, 0
	for _, o := range opts {
		o(&cfg)
	}
	logs := &Buffer{}
	log := app.NewLogger(logs, cfg.LogLevel, "json")
	ctx, cancel := context.WithCancel(context.Background())
	a, err := app.New(ctx, cfg, app.Options{Log: log, Out: logs, AuditLines: logs, Now: clock.Now})
	if err != nil {
		cancel()
		ln.Close()
		t.Fatalf("start pairgate: %v", err)
	}
	done := make(chan error, 1)
	go func() { done <- a.Serve(ctx, ln) }()
	s := &Server{URL: cfg.Issuer, Addr: "http://" + ln.Addr().String(), App: a, Clock: clock, DataDir: cfg.DataDir, DB: a.Config.DBPath(), logs: logs}
	var once sync.Once
	s.stop = func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil && !errors.Is(err, http.ErrServerClosed) {
				t.Errorf("server: %v", err)
			}
			a.Close()
		})
	}
	t.Cleanup(s.stop)
	if cfg.IPPAddr != "" {
		for i := 0; a.IPPAddr() == ""; i++ {
			if i > 500 {
				t.Fatal("the IPP listener did not start")
			}
			time.Sleep(10 * time.Millisecond)
		}
		s.IPP = a.HeldQueueURI()
	}
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

// PersonIP gives each approval the tests make an address of its own, as
// people approving devices on their phones have: many approvals from one
// address would meet the per-address guessing limit.
var personIP atomic.Uint32

func PersonIP() string {
	n := personIP.Add(1)
	return fmt.Sprintf("10.%d.%d.%d", n>>16&0xff, n>>8&0xff, n&0xff)
}

// ApproveUserCode approves a device flow the way the consent page does.
func (s *Server) ApproveUserCode(t testing.TB, userCode string) *pairgate.DeviceAuthorization {
	t.Helper()
	p, err := s.App.Grants.FindUserCode(context.Background(), grants.CodeEntry{Code: userCode, IP: PersonIP()})
	if err != nil {
		t.Fatalf("find user code %s: %v", userCode, err)
	}
	return s.approve(t, p)
}

// ApprovePairingCode approves a pairing the way the consent page does.
func (s *Server) ApprovePairingCode(t testing.TB, code string) *pairgate.DeviceAuthorization {
	t.Helper()
	p, err := s.App.Grants.FindPairingCode(context.Background(), grants.CodeEntry{Code: code, IP: PersonIP()})
	if err != nil {
		t.Fatalf("find pairing code %s: %v", code, err)
	}
	return s.approve(t, p)
}

func (s *Server) approve(t testing.TB, p *grants.Pending) *pairgate.DeviceAuthorization {
	a, err := s.App.Grants.Approve(context.Background(), grants.Decision{Pending: p, User: s.Admin(t), IP: "127.0.0.1"})
	if err != nil {
		t.Fatalf("approve: %v", err)
	}
	return a
}

// DenyUserCode denies a device flow the way the consent page does.
func (s *Server) DenyUserCode(t testing.TB, userCode string) {
	t.Helper()
	p, err := s.App.Grants.FindUserCode(context.Background(), grants.CodeEntry{Code: userCode, IP: PersonIP()})
	if err != nil {
		t.Fatalf("find user code %s: %v", userCode, err)
	}
	if err := s.App.Grants.Deny(context.Background(), grants.Decision{Pending: p, User: s.Admin(t), IP: "127.0.0.1"}); err != nil {
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

// AdminActor is the bootstrap admin acting in the console.
func (s *Server) AdminActor(t testing.TB) admin.Actor { return admin.UserActor(s.Admin(t)) }

// CreateCode generates an authorization code as the bootstrap admin.
func (s *Server) CreateCode(t testing.TB, ttl pairgate.CodeTTL) (string, *pairgate.AuthorizationCode) {
	t.Helper()
	code, ac, err := s.App.Admin.CreateCode(context.Background(), s.AdminActor(t), admin.NewCode{TTL: ttl})
	if err != nil {
		t.Fatalf("create authorization code: %v", err)
	}
	return code, ac
}
