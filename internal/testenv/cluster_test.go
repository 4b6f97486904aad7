package testenv

import (
	"context"
	"database/sql"
	"net"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// childEnv makes the test binary, run again by a test below, a child with
// something taken away.
const childEnv = "PAIRGATE_TESTENV_CHILD"

func TestMain(m *testing.M) {
	switch os.Getenv(childEnv) {
	case "without-main":
		os.Exit(m.Run())
	case "without-postgres":
		debianPostgres = filepath.Join(os.TempDir(), "no-such-postgresql", "*", "bin", "initdb")
	}
	Main(m)
}

// TestClusterIsPrivate starts a cluster of its own and checks that it is
// the test's alone: its data under the OS temp dir, its socket there too,
// 127.0.0.1 only, not the default port, no trust over TCP; and that Stop
// leaves nothing behind.
func TestClusterIsPrivate(t *testing.T) {
	start := time.Now()
	c, err := StartCluster()
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("initdb and start took %v", time.Since(start).Round(time.Millisecond))
	defer c.Stop()

	tmp, err := filepath.EvalSymlinks(os.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	dir, err := filepath.EvalSymlinks(c.Dir)
	if err != nil {
		t.Fatal(err)
	}
	if rel, err := filepath.Rel(tmp, dir); err != nil || rel == "." || strings.HasPrefix(rel, "..") {
		t.Fatalf("cluster directory %s is not under the temp dir %s", c.Dir, tmp)
	}
	if c.Port == 5432 {
		t.Fatal("the private cluster took PostgreSQL's default port")
	}
	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var dataDir, sockets, listen, addr string
	var port int
	err = db.QueryRowContext(t.Context(), `SELECT current_setting('data_directory'), current_setting('unix_socket_directories'),
		current_setting('listen_addresses'), host(inet_server_addr()), inet_server_port()`).Scan(&dataDir, &sockets, &listen, &addr, &port)
	if err != nil {
		t.Fatal(err)
	}
	if dataDir != c.DataDir || sockets != c.SocketDir {
		t.Errorf("the server's data directory is %s and its sockets in %s, want %s and %s", dataDir, sockets, c.DataDir, c.SocketDir)
	}
	if listen != "127.0.0.1" || addr != "127.0.0.1" || port != c.Port {
		t.Errorf("the server listens on %q, answered on %s:%d, want 127.0.0.1:%d only", listen, addr, port, c.Port)
	}
	// Over TCP the superuser needs the cluster's password.
	u, _ := url.Parse(c.URL)
	u.User = url.UserPassword("postgres", "guess")
	wrong, _ := sql.Open("pgx", u.String())
	defer wrong.Close()
	if err := wrong.PingContext(t.Context()); err == nil {
		t.Error("a wrong password got in over TCP")
	}
	u.User = url.User("postgres")
	none, _ := sql.Open("pgx", u.String())
	defer none.Close()
	if err := none.PingContext(t.Context()); err == nil {
		t.Error("no password got in over TCP")
	}
	db.Close()

	pid := c.cmd.Process.Pid
	if err := c.Stop(); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(c.Dir); !os.IsNotExist(err) {
		t.Errorf("after Stop, %s is still there (%v)", c.Dir, err)
	}
	if conn, err := net.DialTimeout("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), time.Second); err == nil {
		conn.Close()
		t.Errorf("after Stop, 127.0.0.1:%d still accepts connections", c.Port)
	}
	if alive(pid) {
		t.Errorf("after Stop, the server (pid %d) still runs", pid)
	}
}

// TestPostgresDSN: every call is a new empty database on the shared
// server, gone when its test ends, with the extensions later schema
// needs.
func TestPostgresDSN(t *testing.T) {
	var names []string
	for i := range 2 {
		t.Run(strconv.Itoa(i), func(t *testing.T) {
			dsn := PostgresDSN(t)
			u, err := url.Parse(dsn)
			if err != nil {
				t.Fatal(err)
			}
			names = append(names, strings.TrimPrefix(u.Path, "/"))
			db, err := sql.Open("pgx", dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			var tables int
			if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_tables WHERE schemaname = 'public'`).Scan(&tables); err != nil {
				t.Fatal(err)
			}
			if tables != 0 {
				t.Errorf("a fresh database has %d tables", tables)
			}
			if _, err := db.ExecContext(t.Context(), `CREATE TABLE t (x int)`); err != nil {
				t.Fatal(err)
			}
			if _, err := db.ExecContext(t.Context(), `CREATE EXTENSION IF NOT EXISTS pg_trgm`); err != nil {
				t.Fatalf("pg_trgm: %v", err)
			}
			var sim float64
			if err := db.QueryRowContext(t.Context(), `SELECT similarity('Büro Drucker', 'büro drucker 2')`).Scan(&sim); err != nil {
				t.Fatal(err)
			}
			if sim < 0.5 {
				t.Errorf("pg_trgm similarity of near-identical names is %v", sim)
			}
		})
	}
	if len(names) != 2 || names[0] == names[1] {
		t.Fatalf("databases %v", names)
	}
	db, err := sql.Open("pgx", PostgresURL(t))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var left int
	if err := db.QueryRowContext(t.Context(), `SELECT count(*) FROM pg_database WHERE datname = ANY($1)`, names).Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 0 {
		t.Errorf("%d of the tests' databases outlived their tests", left)
	}
}

// runChild runs TestPostgresDSN again in a child test process with
// something taken away, and returns its output once it failed.
func runChild(t *testing.T, what string, env ...string) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^TestPostgresDSN$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), childEnv+"="+what, DatabaseURLEnv+"=")
	cmd.Env = append(cmd.Env, env...)
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("the tests passed %s:\n%s", what, out)
	}
	if strings.Contains(string(out), "--- SKIP") {
		t.Fatalf("the tests skipped %s instead of failing:\n%s", what, out)
	}
	if !strings.Contains(string(out), "--- FAIL: TestPostgresDSN") {
		t.Fatalf("the tests did not fail %s as expected (%v):\n%s", what, err, out)
	}
	return string(out)
}

// TestWithoutMainFailsClearly: a package that asks for PostgreSQL without
// running under Main fails, naming the TestMain to add, and starts nothing
// it could not stop.
func TestWithoutMainFailsClearly(t *testing.T) {
	out := runChild(t, "without-main")
	if !strings.Contains(out, "func TestMain(m *testing.M) { testenv.Main(m) }") {
		t.Fatalf("the failure does not say what to add:\n%s", out)
	}
	if strings.Contains(out, "private PostgreSQL on") {
		t.Fatalf("a cluster was started anyway:\n%s", out)
	}
}

// TestWithoutPostgresFailsClearly: no initdb to be found fails the tests,
// saying what to install.
func TestWithoutPostgresFailsClearly(t *testing.T) {
	out := runChild(t, "without-postgres", "PATH="+t.TempDir())
	if !strings.Contains(out, "apt-get install postgresql") || !strings.Contains(out, DatabaseURLEnv) {
		t.Fatalf("the failure does not say what to install:\n%s", out)
	}
}

// TestSweepStale removes what killed test processes left, and only that.
func TestSweepStale(t *testing.T) {
	dead := exec.Command("true")
	if err := dead.Run(); err != nil {
		t.Fatal(err)
	}
	mk := func(owner string) string {
		dir, err := os.MkdirTemp("", clusterPrefix)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { os.RemoveAll(dir) })
		if owner != "" {
			if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(owner+"\n"), 0o644); err != nil {
				t.Fatal(err)
			}
		}
		return dir
	}
	stale := mk(strconv.Itoa(dead.Process.Pid))
	live := mk(strconv.Itoa(os.Getpid()))
	settingUp := mk("")
	serverLives := mk(strconv.Itoa(dead.Process.Pid))
	os.MkdirAll(filepath.Join(serverLives, "data"), 0o700)
	os.WriteFile(filepath.Join(serverLives, "data", "postmaster.pid"), []byte(strconv.Itoa(os.Getpid())+"\n/some/dir\n"), 0o600)

	sweepStale(os.Geteuid())
	if _, err := os.Stat(stale); !os.IsNotExist(err) {
		t.Errorf("the directory of a dead test process is still there (%v)", err)
	}
	for _, dir := range []string{live, settingUp, serverLives} {
		if _, err := os.Stat(dir); err != nil {
			t.Errorf("%s was removed: %v", dir, err)
		}
	}
}
