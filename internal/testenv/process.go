package testenv

import (
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"sync"
	"syscall"
	"testing"
	"time"
)

var binary struct {
	once sync.Once
	path string
	err  error
}

// Binary builds cmd/pairgate once per test process and returns its path,
// for tests that need real separate server processes.
func Binary(t testing.TB) string {
	t.Helper()
	binary.once.Do(func() {
		dir, err := os.MkdirTemp("", "pairgate-bin-")
		if err != nil {
			binary.err = err
			return
		}
		binary.path = filepath.Join(dir, "pairgate")
		_, file, _, _ := runtime.Caller(0)
		root := filepath.Join(filepath.Dir(file), "..", "..")
		goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
		cmd := exec.Command(goTool, "build", "-o", binary.path, "./cmd/pairgate")
		cmd.Dir = root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			binary.err = fmt.Errorf("go build ./cmd/pairgate: %v\n%s", err, out)
		}
	})
	if binary.err != nil {
		t.Fatal(binary.err)
	}
	return binary.path
}

// Process is a `pairgate serve` running as its own process.
type Process struct {
	URL  string
	Addr string
	cmd  *exec.Cmd
	out  *Buffer
	done chan struct{}
}

// StartProcess runs `pairgate serve --addr 127.0.0.1:<free port>` with the
// extra arguments and environment, waits until it answers /healthz, and
// stops it (SIGTERM) when the test ends.
func StartProcess(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	p := LaunchProcess(t, env, args...)
	p.WaitReady(t)
	return p
}

// LaunchProcess starts `pairgate serve` without waiting for it, so that
// several can boot at the same moment.
func LaunchProcess(t testing.TB, env []string, args ...string) *Process {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	p := &Process{URL: "http://" + addr, Addr: addr, out: &Buffer{}, done: make(chan struct{})}
	p.cmd = exec.Command(Binary(t), append([]string{"serve", "--addr", addr, "--metrics-addr", "127.0.0.1:0"}, args...)...)
	// As in StartServer, capacity limits are off unless the test sets them.
	p.cmd.Env = append(append(os.Environ(), "PAIRGATE_RATE_LIMIT_PER_SOURCE=0", "PAIRGATE_RATE_LIMIT_PER_CLIENT=0"), env...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { p.cmd.Wait(); close(p.done) }()
	t.Cleanup(func() { p.Stop(t) })
	return p
}

// WaitReady waits until the process answers /healthz.
func (p *Process) WaitReady(t testing.TB) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(p.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			return
		}
		select {
		case <-p.done:
			t.Fatalf("pairgate serve exited: %v\n%s", p.cmd.ProcessState, p.out.Bytes())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pairgate serve did not come up:\n%s", p.out.Bytes())
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Output returns what the process printed so far.
func (p *Process) Output() []byte { return p.out.Bytes() }

// Stop sends SIGTERM and waits for a graceful exit.
func (p *Process) Stop(t testing.TB) {
	select {
	case <-p.done:
		return
	default:
	}
	p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
	case <-time.After(40 * time.Second):
		p.cmd.Process.Kill()
		<-p.done
		t.Errorf("pairgate serve did not stop on SIGTERM:\n%s", p.out.Bytes())
	}
}

// Kill ends the process with SIGKILL, as a crash would.
func (p *Process) Kill() {
	p.cmd.Process.Kill()
	<-p.done
}

// ExitCode returns the exit status of an ended process (-1 if killed).
func (p *Process) ExitCode() int {
	<-p.done
	return p.cmd.ProcessState.ExitCode()
}

// Exited reports whether the process has ended, and its output.
func (p *Process) Exited() (bool, []byte) {
	select {
	case <-p.done:
		return true, p.out.Bytes()
	default:
		return false, nil
	}
}
