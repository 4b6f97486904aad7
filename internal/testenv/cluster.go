package testenv

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib"
)

// Cluster is a throwaway PostgreSQL server that belongs to one test
// process: initdb into a fresh temporary directory, its own port on
// 127.0.0.1 and its own socket directory, run as a child of the test
// process. Nothing of the machine's own PostgreSQL is used or changed.
//
// Over TCP the superuser needs the cluster's random password (in URL):
// trust would hand the superuser, and with it COPY … TO PROGRAM as the
// account running the server, to every local process for as long as the
// tests run. The Unix socket trusts, but it lives in a directory only that
// account can enter.
type Cluster struct {
	Dir       string // everything of the cluster; removed by Stop
	DataDir   string // Dir/data
	SocketDir string // Dir/sock
	Port      int    // on 127.0.0.1, never 5432
	URL       string // the postgres superuser, database postgres, over TCP

	cmd      *exec.Cmd
	log      string // the server's output, in Dir
	done     chan struct{}
	stopOnce sync.Once
	stopErr  error
}

// clusterPrefix names the temporary directories of clusters, so that the
// leftovers of killed test processes can be found (sweepStale).
const clusterPrefix = "pairgate-pg-"

// StartCluster initializes and starts a new private cluster and waits
// until it accepts connections. The caller must Stop it. Most tests want
// PostgresDSN instead, which shares one cluster per test process.
//
// When the test runs as root (as CI does), PostgreSQL, which refuses to run
// as root, runs as the postgres account, or nobody when there is none.
func StartCluster() (*Cluster, error) {
	initdb, postgres, err := findPostgres()
	if err != nil {
		return nil, err
	}
	cred, err := clusterCredential()
	if err != nil {
		return nil, err
	}
	owner := os.Geteuid()
	if cred != nil {
		owner = int(cred.Uid)
	}
	sweepStale(owner)

	dir, err := os.MkdirTemp("", clusterPrefix)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Dir: dir, DataDir: filepath.Join(dir, "data"), SocketDir: filepath.Join(dir, "sock"),
		log: filepath.Join(dir, "postgres.log"), done: make(chan struct{})}
	ok := false
	defer func() {
		if !ok {
			c.Stop()
		}
	}()
	// Written first, so that sweepStale never takes a directory that is
	// still being set up for one whose owner died.
	if err := os.WriteFile(filepath.Join(dir, "owner"), []byte(strconv.Itoa(os.Getpid())+"\n"), 0o644); err != nil {
		return nil, err
	}
	if err := os.Mkdir(c.SocketDir, 0o700); err != nil {
		return nil, err
	}
	password := randomHex(16)
	pwfile := filepath.Join(dir, "pwfile")
	if err := os.WriteFile(pwfile, []byte(password+"\n"), 0o600); err != nil {
		return nil, err
	}
	if cred != nil {
		for _, p := range []string{dir, c.SocketDir, pwfile} {
			if err := os.Chown(p, int(cred.Uid), int(cred.Gid)); err != nil {
				return nil, err
			}
		}
	}
	if err := c.initdb(initdb, pwfile, cred); err != nil {
		return nil, err
	}
	os.Remove(pwfile)

	// The free port may be taken between our probe and the server's bind:
	// then the server exits at once, and another port is tried.
	for attempt := 0; ; attempt++ {
		c.Port, err = freePort()
		if err != nil {
			return nil, err
		}
		c.URL = (&url.URL{Scheme: "postgres", User: url.UserPassword("postgres", password),
			Host: net.JoinHostPort("127.0.0.1", strconv.Itoa(c.Port)), Path: "/postgres", RawQuery: "sslmode=disable"}).String()
		err = c.serve(postgres, cred)
		if err == nil {
			ok = true
			return c, nil
		}
		if attempt == 4 || !strings.Contains(c.logTail(), "could not bind") {
			return nil, err
		}
		c.done = make(chan struct{})
	}
}

func (c *Cluster) initdb(initdb, pwfile string, cred *syscall.Credential) error {
	// C.UTF-8 so that character classes know letters beyond ASCII (pg_trgm
	// and lower() depend on it); plain C where the system lacks it.
	var out []byte
	for _, locale := range []string{"C.UTF-8", "C"} {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		cmd := exec.CommandContext(ctx, initdb, "-D", c.DataDir, "-U", "postgres", "--pwfile", pwfile,
			"--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale", locale, "--no-sync")
		cmd.Dir = c.Dir
		cmd.Env = clusterEnv()
		cmd.SysProcAttr = clusterProcAttr(cred, 0)
		cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
		start := time.Now()
		var err error
		out, err = cmd.CombinedOutput()
		cancel()
		if err == nil {
			return nil
		}
		err = fmt.Errorf("%s (as %s) failed after %v: %v\n%s", initdb, clusterAccount(cred), time.Since(start).Round(time.Millisecond), err, out)
		if cred != nil {
			err = fmt.Errorf("%w\n(the tests run as root, which PostgreSQL refuses, so it runs as %s, who must be able to reach %s: TMPDIR chooses another place)",
				err, clusterAccount(cred), c.Dir)
		}
		if !strings.Contains(string(out), "locale") || locale == "C" {
			return err
		}
		if err := os.RemoveAll(c.DataDir); err != nil {
			return err
		}
	}
	return fmt.Errorf("initdb: %s", out)
}

// serve starts the server, not through pg_ctl, so that it is our child:
// its own process group (a terminal's ^C goes to the test process, which
// stops it), and on Linux a parent-death signal for when the test process
// is killed outright.
func (c *Cluster) serve(postgres string, cred *syscall.Credential) error {
	logf, err := os.OpenFile(c.log, os.O_CREATE|os.O_WRONLY|os.O_TRUNC, 0o644)
	if err != nil {
		return err
	}
	defer logf.Close()
	cmd := exec.Command(postgres, "-D", c.DataDir, "-p", strconv.Itoa(c.Port), "-k", c.SocketDir,
		"-c", "listen_addresses=127.0.0.1",
		// Throwaway data: durability only costs time.
		"-c", "fsync=off", "-c", "full_page_writes=off", "-c", "synchronous_commit=off",
		// Every package's tests open pools of their own at once.
		"-c", "max_connections=300")
	cmd.Dir = c.Dir
	cmd.Env = clusterEnv()
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.SysProcAttr = clusterProcAttr(cred, syscall.SIGINT)
	c.cmd = cmd
	// The parent-death signal goes out when the thread that forked the
	// child ends (go.dev/issue/27505), not the process: fork from a thread
	// that lives exactly as long as the server.
	started := make(chan error)
	go func() {
		runtime.LockOSThread()
		// Never unlocked: the thread ends with this goroutine, after the
		// server has exited.
		if err := cmd.Start(); err != nil {
			started <- err
			return
		}
		started <- nil
		cmd.Wait()
		close(c.done)
	}()
	if err := <-started; err != nil {
		c.cmd = nil
		return fmt.Errorf("start %s: %v", postgres, err)
	}

	db, err := sql.Open("pgx", c.URL)
	if err != nil {
		return err
	}
	defer db.Close()
	deadline := time.Now().Add(time.Minute)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		err := db.PingContext(ctx)
		cancel()
		if err == nil {
			return nil
		}
		select {
		case <-c.done:
			return fmt.Errorf("%s exited at start (%v):\n%s", postgres, cmd.ProcessState, c.logTail())
		default:
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s does not accept connections on 127.0.0.1:%d after a minute (%v):\n%s", postgres, c.Port, err, c.logTail())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop shuts the server down (SIGINT, PostgreSQL's fast shutdown), waits
// for it, and removes its directory. It reports a server that died
// before it was asked to.
func (c *Cluster) Stop() error {
	c.stopOnce.Do(func() { c.stopErr = c.stop() })
	return c.stopErr
}

func (c *Cluster) stop() error {
	var errs []error
	if c.cmd != nil {
		select {
		case <-c.done:
			errs = append(errs, fmt.Errorf("postgres exited before it was stopped (%v):\n%s", c.cmd.ProcessState, c.logTail()))
		default:
			c.cmd.Process.Signal(os.Interrupt)
			select {
			case <-c.done:
			case <-time.After(30 * time.Second):
				// Not yet reaped, so the group id is still the server's.
				syscall.Kill(-c.cmd.Process.Pid, syscall.SIGKILL)
				<-c.done
				errs = append(errs, fmt.Errorf("postgres did not stop within 30 s of SIGINT and was killed:\n%s", c.logTail()))
			}
		}
	}
	if err := os.RemoveAll(c.Dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

func (c *Cluster) logTail() string {
	f, err := os.Open(c.log)
	if err != nil {
		return ""
	}
	defer f.Close()
	const max = 4096
	if fi, err := f.Stat(); err == nil && fi.Size() > max {
		f.Seek(fi.Size()-max, io.SeekStart)
	}
	b, _ := io.ReadAll(f)
	return string(b)
}

// debianPostgres is where Debian installs each major version of
// PostgreSQL side by side (initdb is not on PATH there).
var debianPostgres = "/usr/lib/postgresql/*/bin/initdb"

// findPostgres returns initdb and the postgres server beside it: the first
// initdb on PATH, else the newest of Debian's /usr/lib/postgresql/N/bin.
func findPostgres() (initdb, postgres string, err error) {
	var candidates []string
	if p, err := exec.LookPath("initdb"); err == nil {
		candidates = append(candidates, p)
	}
	debian, _ := filepath.Glob(debianPostgres)
	version := func(p string) float64 {
		v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(filepath.Dir(p))), 64)
		return v
	}
	slices.SortFunc(debian, func(a, b string) int { return -cmpFloat(version(a), version(b)) })
	candidates = append(candidates, debian...)
	for _, p := range candidates {
		// initdb runs the postgres of its own directory, symlinks resolved.
		real, err := filepath.EvalSymlinks(p)
		if err != nil {
			continue
		}
		server := filepath.Join(filepath.Dir(real), "postgres")
		if fi, err := os.Stat(server); err == nil && fi.Mode()&0o111 != 0 {
			return real, server, nil
		}
	}
	return "", "", errors.New("PostgreSQL's initdb and postgres were found neither on PATH nor in /usr/lib/postgresql/*/bin: " +
		"install Debian's package postgresql (`apt-get install postgresql`, or run `make test`, which does), " +
		"or set PAIRGATE_TEST_DATABASE_URL to a server the tests may create databases on")
}

func cmpFloat(a, b float64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// clusterCredential is the account PostgreSQL runs as: nil (the test's
// own) unless the test runs as root, which PostgreSQL refuses.
func clusterCredential() (*syscall.Credential, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 != nil || err2 != nil || uid == 0 {
			continue
		}
		return &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid), Groups: []uint32{}}, nil
	}
	return nil, errors.New("the tests run as root, which PostgreSQL refuses, and there is neither a postgres nor a nobody account to run it as")
}

func clusterAccount(cred *syscall.Credential) string {
	if cred == nil {
		return "this user"
	}
	if u, err := user.LookupId(strconv.Itoa(int(cred.Uid))); err == nil {
		return u.Username
	}
	return "uid " + strconv.Itoa(int(cred.Uid))
}

// clusterEnv is the test's environment without the PG* variables that
// would point the server's tools elsewhere, in the C locale so that its
// messages read the same everywhere.
func clusterEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "PG") && !strings.HasPrefix(kv, "LC_") && !strings.HasPrefix(kv, "LANG") {
			env = append(env, kv)
		}
	}
	return append(env, "LC_ALL=C")
}

// freePort is a port on 127.0.0.1 that nothing listens on now.
func freePort() (int, error) {
	for {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			return 0, err
		}
		port := ln.Addr().(*net.TCPAddr).Port
		ln.Close()
		if port != 5432 {
			return port, nil
		}
	}
}

// sweepStale removes the directories of clusters whose test process was
// killed before it could stop them (SIGKILL, a test timeout's panic). Such
// a leftover is harmless meanwhile: its server has exited with its parent
// (Linux's parent-death signal) or sits on its own port behind its own
// random password, and nothing else reads its directory. A directory is
// taken only when it is owned by the account the cluster runs as, and both
// the process that made it and its postmaster are gone.
func sweepStale(uid int) {
	dirs, _ := filepath.Glob(filepath.Join(os.TempDir(), clusterPrefix+"*"))
	for _, dir := range dirs {
		fi, err := os.Lstat(dir)
		if err != nil || !fi.IsDir() {
			continue
		}
		if st, ok := fi.Sys().(*syscall.Stat_t); !ok || int(st.Uid) != uid {
			continue
		}
		owner := pidIn(filepath.Join(dir, "owner"))
		if owner <= 0 || alive(owner) {
			continue
		}
		if pm := pidIn(filepath.Join(dir, "data", "postmaster.pid")); pm > 0 && alive(pm) {
			continue
		}
		os.RemoveAll(dir)
	}
}

// pidIn reads the process id on the first line of a file; 0 when there is
// none.
func pidIn(path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	line, _, _ := strings.Cut(string(b), "\n")
	pid, err := strconv.Atoi(strings.TrimSpace(line))
	if err != nil {
		return 0
	}
	return pid
}

func alive(pid int) bool {
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
