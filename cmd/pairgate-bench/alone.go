package main

import (
	"bufio"
	"context"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/pairgate/pairgate/internal/app"
)

// The server's memory on its own. The population runs measure the bench's
// process, which holds the load generator and its clients too; this step
// serves the same database from a process of its own, as `pairgate serve`
// does, drives the device-facing requests and the admin's at it from this
// one, and reads the server's resident set from /proc.

var serveAlone = flag.String("serve-alone", "", "internal: serve this data directory's database as a process of its own (the population's server_alone step)")

// What the child is started with besides -serve-alone.
var (
	serveAloneDB  = flag.String("serve-alone-db", "", "internal: the database of -serve-alone (default: the data directory's SQLite file)")
	serveAloneAlg = flag.String("serve-alone-alg", "RS256", "internal: the signing algorithm of -serve-alone")
	// The address the bench's own server had: its tokens name it as their
	// issuer and audience.
	serveAloneAddr = flag.String("serve-alone-addr", "127.0.0.1:0", "internal: the loopback address of -serve-alone")
)

// serveAloneMain is the child: the server the population step configures,
// on a loopback port it prints, until its standard input closes or it is
// told to stop.
func serveAloneMain() {
	cfg := populationConfig(*serveAlone, *serveAloneDB, *serveAloneAlg)
	ln, err := net.Listen("tcp", *serveAloneAddr)
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve-alone:", err)
		os.Exit(1)
	}
	cfg.Addr = ln.Addr().String()
	cfg.Issuer = "http://" + cfg.Addr
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	a, err := app.New(ctx, cfg, app.Options{Log: app.NewLogger(os.Stderr, "warn", "text")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "serve-alone:", err)
		os.Exit(1)
	}
	go func() {
		io.Copy(io.Discard, os.Stdin)
		stop()
	}()
	fmt.Printf("listening %s\n", cfg.Issuer)
	a.Serve(ctx, ln)
	a.Close()
	os.Exit(0)
}

// serverAlone stops the bench's in-process server, serves the database
// from a child process, drives the requests of this size at it and
// reports its memory; the in-process server is started again afterwards.
func (p *population) serverAlone() (string, error) {
	addr := strings.TrimPrefix(p.b.base, "http://")
	p.stop()
	defer func() {
		if err := p.startApp("RS256", addr); err != nil {
			panic(err) // the next steps need it; startApp succeeded before
		}
	}()
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	args := []string{"-serve-alone", p.dir + "/data", "-serve-alone-alg", "RS256", "-serve-alone-addr", addr}
	if p.dbURL != "" {
		args = append(args, "-serve-alone-db", p.dsn)
	}
	cmd := exec.Command(exe, args...)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return "", err
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		return "", err
	}
	cmd.Stderr = os.Stderr
	start := time.Now()
	if err := cmd.Start(); err != nil {
		return "", err
	}
	defer func() {
		stdin.Close()
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	}()
	line, err := bufio.NewReader(out).ReadString('\n')
	base, ok := strings.CutPrefix(strings.TrimSpace(line), "listening ")
	if err != nil || !ok {
		return "", fmt.Errorf("the server did not start: %q %v", line, err)
	}
	started := time.Since(start)
	startRSS := procRSS(cmd.Process.Pid, "VmRSS:")
	saved := p.b.base
	p.b.base = base
	defer func() { p.b.base = saved }()
	var summary []string
	for _, s := range []struct {
		name string
		run  func() (result, error)
	}{
		{"device API", func() (result, error) { return p.deviceGet("device API", "/api/v1/device") }},
		{"introspection", p.introspection},
		{"refresh", func() (result, error) { return p.refreshRun("refresh (RS256)") }},
		{"device printers", func() (result, error) { return p.deviceGet("device printers", "/api/v1/device/printers") }},
		{"admin list", func() (result, error) { return p.adminGet("admin device list (100)", "/api/v1/devices?limit=100") }},
		{"search", func() (result, error) { return p.adminGet("search", "/api/v1/devices?limit=100&q=printer") }},
	} {
		r, err := s.run()
		if err != nil {
			return "", fmt.Errorf("%s: %w", s.name, err)
		}
		if r.errors > 0 {
			return "", fmt.Errorf("%s: %d errors (%s)", s.name, r.errors, r.note)
		}
		summary = append(summary, fmt.Sprintf("%s %.0f/s", s.name, r.rps()))
	}
	rss, peak := procRSS(cmd.Process.Pid, "VmRSS:"), procRSS(cmd.Process.Pid, "VmHWM:")
	return fmt.Sprintf("%d devices, server alone (a process of its own): ready in %v with RSS %.0f MB; after %s: RSS %.0f MB, peak %.0f MB",
		p.n, started.Round(time.Millisecond), float64(startRSS)/1e6, strings.Join(summary, ", "), float64(rss)/1e6, float64(peak)/1e6), nil
}

// procRSS reads a memory field (VmRSS:, VmHWM:) of a process, in bytes.
func procRSS(pid int, field string) int64 {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/status")
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(string(b), "\n") {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == field {
			kb, _ := strconv.ParseInt(f[1], 10, 64)
			return kb * 1024
		}
	}
	return 0
}
