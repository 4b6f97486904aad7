package testenv

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/gofrs/flock"
)

// Real printing parts for tests (shared/PRINTING.md): an IPP Everywhere
// printer (Debian's ippeveprinter, from cups-ipp-utils) and a private
// CUPS (cupsd from cups, with the clients from cups-client), each on a
// loopback port of its own, stopped when the test ends. They fail the
// test, never skip it, when the programs are missing.

const printingInstall = "install Debian's packages with `apt-get install cups cups-client cups-ipp-utils avahi-daemon dbus`, or run `make test`, which does"

func needPrograms(t testing.TB, names ...string) {
	t.Helper()
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			t.Fatalf("%s is not installed (%v): %s", n, err, printingInstall)
		}
	}
}

// loopbackPort returns a loopback port nobody listens on right now.
func loopbackPort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// waitPort waits until something accepts connections on addr.
func waitPort(addr string, exited <-chan struct{}, within time.Duration) error {
	deadline := time.Now().Add(within)
	for time.Now().Before(deadline) {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-exited:
			return fmt.Errorf("it exited")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("nothing listens on %s after %v", addr, within)
}

// --- DNS-SD: the system D-Bus and Avahi that ippeveprinter needs ---

// dnssd counts this process's users of D-Bus and Avahi. Test processes
// (one per package) run at once: each holds a shared lock on a file in
// the temporary directory while it uses them, and the last one to stop
// using them, the one that can take the lock exclusively, stops the
// daemons the tests started (never ones that were running before).
var dnssd struct {
	sync.Mutex
	users int
	lock  *flock.Flock
}

var (
	dnssdUsers   = filepath.Join(os.TempDir(), "pairgate-test-dnssd.users")
	dnssdStarted = filepath.Join(os.TempDir(), "pairgate-test-dnssd.started")
)

func useDNSSD(t testing.TB) {
	t.Helper()
	needPrograms(t, "dbus-daemon", "avahi-daemon")
	dnssd.Lock()
	defer dnssd.Unlock()
	if dnssd.users == 0 {
		l := flock.New(dnssdUsers)
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		ok, err := l.TryRLockContext(ctx, 50*time.Millisecond)
		cancel()
		if err != nil || !ok {
			t.Fatalf("DNS-SD: lock %s: %v", dnssdUsers, err)
		}
		if err := startDNSSD(); err != nil {
			l.Unlock()
			t.Fatalf("DNS-SD (D-Bus and Avahi, which ippeveprinter needs): %v; %s", err, printingInstall)
		}
		dnssd.lock = l
	}
	dnssd.users++
	t.Cleanup(func() {
		dnssd.Lock()
		defer dnssd.Unlock()
		dnssd.users--
		if dnssd.users > 0 {
			return
		}
		dnssd.lock.Unlock()
		if ok, err := dnssd.lock.TryLock(); err == nil && ok {
			stopDNSSD()
			dnssd.lock.Unlock()
		}
		dnssd.lock = nil
	})
}

func avahiRunning() bool { return exec.Command("avahi-daemon", "--check").Run() == nil }

func dbusRunning() bool {
	c, err := net.DialTimeout("unix", "/run/dbus/system_bus_socket", time.Second)
	if err != nil {
		return false
	}
	c.Close()
	return true
}

// startDNSSD starts what is not running, and notes what it started.
func startDNSSD() error {
	var started []string
	if !dbusRunning() {
		if err := os.MkdirAll("/run/dbus", 0o755); err != nil {
			return err
		}
		os.Remove("/run/dbus/pid") // left by a daemon that died
		if out, err := exec.Command("dbus-daemon", "--system", "--fork").CombinedOutput(); err != nil {
			return fmt.Errorf("dbus-daemon --system --fork: %v: %s", err, out)
		}
		started = append(started, "dbus")
	}
	if !avahiRunning() {
		if out, err := exec.Command("avahi-daemon", "-D", "--no-chroot").CombinedOutput(); err != nil {
			return fmt.Errorf("avahi-daemon -D --no-chroot: %v: %s", err, out)
		}
		started = append(started, "avahi")
	}
	for i := 0; !avahiRunning(); i++ {
		if i > 100 {
			return fmt.Errorf("avahi-daemon did not come up")
		}
		time.Sleep(50 * time.Millisecond)
	}
	if len(started) > 0 {
		prev, _ := os.ReadFile(dnssdStarted)
		all := strings.Fields(string(prev) + " " + strings.Join(started, " "))
		return os.WriteFile(dnssdStarted, []byte(strings.Join(all, " ")+"\n"), 0o644)
	}
	return nil
}

// stopDNSSD stops the daemons the tests started, by their pid files.
func stopDNSSD() {
	b, err := os.ReadFile(dnssdStarted)
	if err != nil {
		return
	}
	started := strings.Fields(string(b))
	for _, s := range started {
		if s == "avahi" {
			exec.Command("avahi-daemon", "-k").Run()
		}
	}
	for _, s := range started {
		if s == "dbus" {
			if pb, err := os.ReadFile("/run/dbus/pid"); err == nil {
				if pid, err := strconv.Atoi(strings.TrimSpace(string(pb))); err == nil && pid > 1 {
					syscall.Kill(pid, syscall.SIGTERM)
				}
			}
		}
	}
	os.Remove(dnssdStarted)
}

// --- ippeveprinter ---

// IPPPrinter is an IPP Everywhere printer: ippeveprinter on a loopback
// port, keeping every job it is sent as a file in SpoolDir.
type IPPPrinter struct {
	URI      string // ipp://127.0.0.1:PORT/ipp/print
	Addr     string
	SpoolDir string
	Name     string
	out      *Buffer
}

// IPPPrinterMakeAndModel is what the test printers say they are.
const IPPPrinterMakeAndModel = "pairgate Test Printer"

// PrinterOption changes how a test printer behaves.
type PrinterOption func(*[]string)

// PrintsAtOnce makes the printer finish each job as soon as it has it
// (it runs true(1) as its print command), instead of ippeveprinter's
// simulated 5 to 15 seconds of printing: for tests and benchmarks that
// follow jobs to the end.
func PrintsAtOnce() PrinterOption {
	return func(args *[]string) {
		if p, err := exec.LookPath("true"); err == nil {
			*args = append(*args, "-c", p)
		}
	}
}

// StartIPPPrinter starts an IPP Everywhere printer named name for this
// test and stops it when the test ends.
func StartIPPPrinter(t testing.TB, name string, opts ...PrinterOption) *IPPPrinter {
	t.Helper()
	needPrograms(t, "ippeveprinter")
	useDNSSD(t)
	port := loopbackPort(t)
	spool, err := os.MkdirTemp("", "pairgate-ipp-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(spool) })
	p := &IPPPrinter{Addr: fmt.Sprintf("127.0.0.1:%d", port), SpoolDir: spool, Name: name, out: &Buffer{}}
	p.URI = "ipp://" + p.Addr + "/ipp/print"
	args := []string{"-p", strconv.Itoa(port), "-n", "localhost", "-d", spool, "-k",
		"-M", "pairgate", "-m", "Test Printer", "-2",
		"-f", "application/pdf,image/pwg-raster,image/urf,text/plain,application/octet-stream"}
	for _, o := range opts {
		o(&args)
	}
	cmd := exec.Command("ippeveprinter", append(args, name)...)
	cmd.Stdout, cmd.Stderr = p.out, p.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start ippeveprinter: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	if err := waitPort(p.Addr, exited, 15*time.Second); err != nil {
		t.Fatalf("ippeveprinter did not start: %v\n%s", err, p.out.Bytes())
	}
	return p
}

// Jobs returns the names of the job files the printer has kept so far,
// in the order it received them.
func (p *IPPPrinter) Jobs(t testing.TB) []string {
	t.Helper()
	es, err := os.ReadDir(p.SpoolDir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, e := range es {
		// .prn is what a print command (PrintsAtOnce) wrote, not a job.
		if !e.IsDir() && !strings.HasSuffix(e.Name(), ".prn") {
			out = append(out, e.Name())
		}
	}
	// In the order the printer numbered them ("10-" after "9-").
	sort.Slice(out, func(i, j int) bool {
		a, _ := strconv.Atoi(strings.SplitN(out[i], "-", 2)[0])
		b, _ := strconv.Atoi(strings.SplitN(out[j], "-", 2)[0])
		return a < b || a == b && out[i] < out[j]
	})
	return out
}

// Output is what ippeveprinter logged.
func (p *IPPPrinter) Output() string { return p.out.String() }

// --- a private cupsd ---

// CUPS is a cupsd of the test's own, on a loopback port, with its own
// configuration, spool and state: the CUPS clients reach it through Env
// (CUPS_SERVER).
type CUPS struct {
	Server string // 127.0.0.1:PORT
	Dir    string
	out    *Buffer
}

// CUPSOption changes a test cupsd's configuration.
type CUPSOption func(files *strings.Builder)

// WithServerBin makes cupsd take its backends, filters and helpers from
// dir (see PrivateServerBin) instead of /usr/lib/cups.
func WithServerBin(dir string) CUPSOption {
	return func(files *strings.Builder) { fmt.Fprintf(files, "ServerBin %s\n", dir) }
}

// PrivateServerBin makes a CUPS ServerBin of the test's own: every part
// of the system's /usr/lib/cups, linked, and a backend directory of its
// own (DIR/backend, with the system's backends linked) that a test can
// install a backend into without touching the system's.
func PrivateServerBin(t testing.TB) string {
	t.Helper()
	const sys = "/usr/lib/cups"
	dir, err := os.MkdirTemp("", "pairgate-serverbin-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	es, err := os.ReadDir(sys)
	if err != nil {
		t.Fatalf("%s: %v; %s", sys, err, printingInstall)
	}
	for _, e := range es {
		if e.Name() != "backend" {
			if err := os.Symlink(filepath.Join(sys, e.Name()), filepath.Join(dir, e.Name())); err != nil {
				t.Fatal(err)
			}
		}
	}
	be := filepath.Join(dir, "backend")
	if err := os.Mkdir(be, 0o755); err != nil {
		t.Fatal(err)
	}
	bs, _ := os.ReadDir(filepath.Join(sys, "backend"))
	for _, b := range bs {
		if err := os.Symlink(filepath.Join(sys, "backend", b.Name()), filepath.Join(be, b.Name())); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// StartCUPS starts a private cupsd for this test and stops it when the
// test ends. cupsd refuses to run its filters as root, so they run as lp,
// which owns the directories they write.
func StartCUPS(t testing.TB, opts ...CUPSOption) *CUPS {
	t.Helper()
	needPrograms(t, "cupsd", "lpadmin", "lpstat", "lp")
	lp, err := user.Lookup("lp")
	if err != nil {
		t.Fatalf("there is no lp user, which CUPS's filters run as: %v; %s", err, printingInstall)
	}
	uid, _ := strconv.Atoi(lp.Uid)
	gid, _ := strconv.Atoi(lp.Gid)
	// Not t.TempDir(): its parents are private to root, and the filters,
	// which run as lp, must reach the spool.
	dir, err := os.MkdirTemp("", "pairgate-cups-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	if err := os.Chmod(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, d := range []string{"spool", "spool/tmp", "cache", "state", "log", "ppd", "ssl"} {
		p := filepath.Join(dir, d)
		if err := os.MkdirAll(p, 0o755); err != nil {
			t.Fatal(err)
		}
		if d != "ppd" && d != "ssl" {
			if err := os.Chown(p, uid, gid); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := os.Chmod(filepath.Join(dir, "spool/tmp"), 0o1777); err != nil {
		t.Fatal(err)
	}
	port := loopbackPort(t)
	c := &CUPS{Server: fmt.Sprintf("127.0.0.1:%d", port), Dir: dir, out: &Buffer{}}
	conf := fmt.Sprintf(`LogLevel info
Listen %s
Listen %s
Browsing No
WebInterface No
DefaultShared No
MaxJobs 100
<Location />
  Order allow,deny
  Allow from 127.0.0.1
</Location>
<Policy default>
  <Limit All>
    Order deny,allow
  </Limit>
</Policy>
`, c.Server, filepath.Join(dir, "cups.sock"))
	files := fmt.Sprintf(`User lp
Group lp
SystemGroup root
ServerRoot %[1]s
RequestRoot %[1]s/spool
TempDir %[1]s/spool/tmp
CacheDir %[1]s/cache
StateDir %[1]s/state
ServerKeychain %[1]s/ssl
ErrorLog %[1]s/log/error_log
AccessLog %[1]s/log/access_log
PageLog %[1]s/log/page_log
FileDevice No
`, dir)
	var extra strings.Builder
	for _, o := range opts {
		o(&extra)
	}
	files += extra.String()
	for name, body := range map[string]string{"cupsd.conf": conf, "cups-files.conf": files} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("cupsd", "-f", "-c", filepath.Join(dir, "cupsd.conf"), "-s", filepath.Join(dir, "cups-files.conf"))
	cmd.Stdout, cmd.Stderr = c.out, c.out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start cupsd: %v", err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(15 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
	})
	if err := waitPort(c.Server, exited, 20*time.Second); err != nil {
		t.Fatalf("cupsd did not start: %v\n%s\n%s", err, c.out.Bytes(), c.ErrorLog())
	}
	return c
}

// Env is the environment of a CUPS client command that uses this cupsd.
func (c *CUPS) Env() []string {
	return append(os.Environ(), "CUPS_SERVER="+c.Server, "LANG=C", "LC_ALL=C")
}

// Run runs a CUPS client command (or a shell script: name "sh") against
// this cupsd and returns its output; a failure fails the test.
func (c *CUPS) Run(t testing.TB, stdin string, name string, args ...string) string {
	t.Helper()
	out, err := c.Try(stdin, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s\ncupsd error_log:\n%s", name, strings.Join(args, " "), err, out, c.ErrorLog())
	}
	return out
}

// Try is Run that returns the error instead of failing the test.
func (c *CUPS) Try(stdin string, name string, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = c.Env()
	cmd.Stdin = strings.NewReader(stdin)
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	return out.String(), err
}

// ErrorLog is cupsd's error log so far.
func (c *CUPS) ErrorLog() string {
	b, _ := os.ReadFile(filepath.Join(c.Dir, "log", "error_log"))
	return string(b)
}

// WaitJobs waits until the printer has kept n job files (at most
// within) and returns their names.
func (p *IPPPrinter) WaitJobs(t testing.TB, n int, within time.Duration) []string {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		js := p.Jobs(t)
		if len(js) >= n {
			return js
		}
		if time.Now().After(deadline) {
			t.Fatalf("the printer kept %d job files, want %d, within %v: %v\n%s", len(js), n, within, js, p.Output())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// JobFile returns the bytes of a job file the printer kept.
func (p *IPPPrinter) JobFile(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(p.SpoolDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}
