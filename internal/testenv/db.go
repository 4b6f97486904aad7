package testenv

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// DatabaseURLEnv names the variable that points the tests at an existing
// PostgreSQL server instead of a private one; the URL's user must be
// allowed to create databases.
const DatabaseURLEnv = "PAIRGATE_TEST_DATABASE_URL"

// SQLiteDSN returns the path of a new SQLite file in the test's temp dir.
func SQLiteDSN(t testing.TB) string {
	return filepath.Join(t.TempDir(), "pairgate.db")
}

// PostgresDSN creates a fresh database for this test and drops it when the
// test ends. The server is the one $PAIRGATE_TEST_DATABASE_URL names or,
// without it, a private Cluster that the first test to ask starts and
// Main stops when the tests end. It fails the test (never skips) when there
// is no PostgreSQL to be had.
func PostgresDSN(t testing.TB) string {
	t.Helper()
	srv := postgresServer(t)
	name := "pairgate_test_" + randomHex(6)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := srv.db.ExecContext(ctx, "CREATE DATABASE "+name); err != nil {
		t.Fatalf("postgres: create database: %v", err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		if _, err := srv.db.ExecContext(ctx, "DROP DATABASE IF EXISTS "+name+" WITH (FORCE)"); err != nil {
			t.Errorf("postgres: drop database %s: %v", name, err)
		}
	})
	u := *srv.url
	u.Path = "/" + name
	return u.String()
}

// PostgresURL is a superuser URL of the server PostgresDSN makes databases
// on, for tests that act on the server itself (ending sessions).
func PostgresURL(t testing.TB) string {
	t.Helper()
	return postgresServer(t).url.String()
}

// Main runs the package's tests and then stops the private PostgreSQL they
// started, if any. A package whose tests use PostgreSQL must call it:
//
//	func TestMain(m *testing.M) { testenv.Main(m) }
func Main(m *testing.M) {
	mainRunning.Store(true)
	code := m.Run()
	if interrupted.Load() {
		// stopOnSignal is stopping the server, whose end may have
		// failed the tests; the process dies of the signal, not of that.
		select {}
	}
	if err := stopPostgres(); err != nil {
		fmt.Fprintf(os.Stderr, "testenv: %v\n", err)
		if code == 0 {
			code = 1
		}
	}
	os.Exit(code)
}

// interrupted is set once a signal ends the test process.
var interrupted atomic.Bool

// mainRunning says whether the test binary runs under Main, which alone
// can stop a cluster when the tests end: without it, PostgresDSN fails
// rather than leave a server behind.
var mainRunning atomic.Bool

type pgServer struct {
	url     *url.URL
	db      *sql.DB  // the superuser's pool, for CREATE and DROP DATABASE
	cluster *Cluster // nil for PAIRGATE_TEST_DATABASE_URL
}

var shared struct {
	mu      sync.Mutex
	tried   bool
	stopped bool
	srv     *pgServer
	err     error
}

func postgresServer(t testing.TB) *pgServer {
	t.Helper()
	if !mainRunning.Load() {
		t.Fatalf("testenv: the tests of %s use PostgreSQL but do not run under testenv.Main, which stops the private "+
			"PostgreSQL server when they end: add to one of the package's _test.go files\n\n"+
			"\tfunc TestMain(m *testing.M) { testenv.Main(m) }", testPackage())
	}
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.stopped {
		t.Fatal("testenv: PostgreSQL asked for after testenv.Main stopped it")
	}
	if !shared.tried {
		shared.tried = true
		start := time.Now()
		shared.srv, shared.err = openPostgres()
		if shared.err == nil && shared.srv.cluster != nil {
			t.Logf("testenv: private PostgreSQL on 127.0.0.1:%d in %s, started in %v",
				shared.srv.cluster.Port, shared.srv.cluster.Dir, time.Since(start).Round(time.Millisecond))
		}
	}
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.srv
}

func openPostgres() (*pgServer, error) {
	if raw := os.Getenv(DatabaseURLEnv); raw != "" {
		u, err := url.Parse(raw)
		if err != nil {
			return nil, fmt.Errorf("testenv: %s: %v", DatabaseURLEnv, err)
		}
		db, err := sql.Open("pgx", raw)
		if err == nil {
			ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
			err = db.PingContext(ctx)
			cancel()
		}
		if err != nil {
			return nil, fmt.Errorf("testenv: PostgreSQL at %s=%s is not reachable: %v (unset it to have the tests start their own)",
				DatabaseURLEnv, u.Redacted(), err)
		}
		return &pgServer{url: u, db: db}, nil
	}
	c, err := StartCluster()
	if err != nil {
		return nil, fmt.Errorf("testenv: cannot start a private PostgreSQL for the tests: %v", err)
	}
	u, _ := url.Parse(c.URL)
	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		c.Stop()
		return nil, err
	}
	stopOnSignal()
	return &pgServer{url: u, db: db, cluster: c}, nil
}

// stopPostgres stops the private cluster, if this process started one.
func stopPostgres() error {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.stopped = true
	if shared.srv == nil {
		return nil
	}
	shared.srv.db.Close()
	if shared.srv.cluster == nil {
		return nil
	}
	return shared.srv.cluster.Stop()
}

// stopOnSignal stops the cluster when the test process is interrupted (^C
// in a terminal reaches the test process, not the server in its own
// process group), then dies of the same signal, as it would have.
func stopOnSignal() {
	var sigs []os.Signal
	for _, s := range []os.Signal{os.Interrupt, syscall.SIGTERM, syscall.SIGHUP} {
		if !signal.Ignored(s) {
			sigs = append(sigs, s)
		}
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, sigs...)
	go func() {
		s := <-ch
		interrupted.Store(true)
		stopPostgres()
		signal.Reset(sigs...)
		syscall.Kill(os.Getpid(), s.(syscall.Signal))
		time.Sleep(time.Second)
		os.Exit(2)
	}()
}

// testPackage names the package of the running test binary.
func testPackage() string {
	name := strings.TrimSuffix(filepath.Base(os.Args[0]), ".test")
	if wd, err := os.Getwd(); err == nil {
		return fmt.Sprintf("package %s (%s)", name, wd)
	}
	return "package " + name
}
