package cli_test

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestDevicePrintHoldsAJob: `pairgate device print` holds a document
// with a key-bound device's token (DPoP), in the name the device-mode
// device gives, with the printer it names; a printer not deployed to it,
// a document over the limit and a deleted device are refused with the
// exit status that says so.
func TestDevicePrintHoldsAJob(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.JobMaxMB = 1 }))
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "Lab-PC", "--token-file", file), 0)
	if c := load(t, file); c.Key == nil || !strings.EqualFold(c.TokenType, "DPoP") {
		t.Fatalf("the device holds no key: %+v", c)
	}
	s.AddPrinter(t, "Lobby", "ipp://127.0.0.1:9/ipp/print", pairgate.DeploymentTarget{All: true})
	doc := filepath.Join(t.TempDir(), "minutes.txt")
	text := []byte(strings.Repeat("Minutes of the meeting.\n", 100))
	os.WriteFile(doc, text, 0o600)
	env := map[string]string{"USER": "erin"}

	r := device(t.Context(), env, "print", doc, "--printer", "lobby", "--token-file", file)
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "held as job 1: release it at "+s.URL+"/release") {
		t.Fatalf("print:\n%s", r.stdout)
	}
	js := s.WaitHeldJobs(t, 1, time.Second)
	if j := js[0]; j.OwnerName != "erin" || j.Verified() || j.Name != "minutes.txt" || j.Format != "text/plain" || j.Size != int64(len(text)) ||
		j.Requested != "Lobby" {
		t.Fatalf("held: %+v", *j)
	}

	r = device(t.Context(), env, "print", doc, "--printer", "Basement", "--token-file", file)
	wantExit(t, r, cli.ExitUsage)
	big := filepath.Join(t.TempDir(), "big.bin")
	os.WriteFile(big, bytes.Repeat([]byte{0xAB}, 1<<20+1), 0o600)
	r = device(t.Context(), env, "print", big, "--token-file", file)
	wantExit(t, r, cli.ExitUsage)
	if !strings.Contains(r.stderr, "client-error-request-entity-too-large") {
		t.Fatalf("too large:\n%s", r.stderr)
	}
	if err := s.App.Store.DeleteDevice(t.Context(), load(t, file).DeviceID, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantExit(t, device(t.Context(), env, "print", doc, "--token-file", file), cli.ExitNotAuthorized)
	if js := s.WaitHeldJobs(t, 1, time.Second); len(js) != 1 {
		t.Fatalf("refused prints held jobs: %d", len(js))
	}
}

// buildPairgate builds the pairgate binary, as cupsd will run it.
func buildPairgate(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "pairgate")
	out, err := exec.Command(filepath.Join(runtime.GOROOT(), "bin", "go"), "build", "-o", bin, "github.com/pairgate/pairgate/cmd/pairgate").CombinedOutput()
	if err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestCUPSBackendHoldsJobsFromLp: `pairgate device install-cups-backend`
// installs the backend into a real cupsd and makes a queue; a file
// printed with lp goes through cupsd and the backend (a separate pairgate
// process, the device's key-bound credentials) to the held queue, in the
// name of the user who printed; released, it arrives at a real printer
// byte for byte.
func TestCUPSBackendHoldsJobsFromLp(t *testing.T) {
	bin := buildPairgate(t)
	serverBin := testenv.PrivateServerBin(t)
	cups := testenv.StartCUPS(t, testenv.WithServerBin(serverBin))
	printer := testenv.StartIPPPrinter(t, "Lobby Printer", testenv.PrintsAtOnce())
	s := testenv.StartServer(t)
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "Linux-PC", "--token-file", file), 0)

	env := map[string]string{"CUPS_SERVER": cups.Server}
	r := device(t.Context(), env, "install-cups-backend", "--token-file", file, "--backend-dir", filepath.Join(serverBin, "backend"),
		"--queue", "Held", "--binary", bin)
	wantExit(t, r, 0)
	if v := cups.Run(t, "", "lpstat", "-v", "Held"); !strings.Contains(v, "pairgate:"+file) {
		t.Fatalf("lpstat -v: %s", v)
	}
	if v := cups.Run(t, "", "lpinfo", "-v"); !strings.Contains(v, "network pairgate") {
		t.Errorf("lpinfo -v does not list the backend:\n%s", v)
	}

	doc := filepath.Join(t.TempDir(), "letter.txt")
	text := []byte(strings.Repeat("Dear reader, this letter waits for you at the printer.\n", 500))
	os.WriteFile(doc, text, 0o644)
	cups.Run(t, "", "lp", "-d", "Held", "-t", "letter from lp", doc)
	js := s.WaitHeldJobs(t, 1, 60*time.Second)
	j := js[0]
	if j.OwnerName != "root" || j.Verified() || j.Name != "letter from lp" || j.Format != "text/plain" || j.Size != int64(len(text)) {
		t.Fatalf("held from CUPS: %+v\ncupsd: %s", *j, cups.ErrorLog())
	}
	// CUPS counts the job as done: it is in pairgate's hands.
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(cups.Run(t, "", "lpstat", "-W", "completed", "-o", "Held"), "Held-") {
		if time.Now().After(deadline) {
			t.Fatalf("the CUPS job did not complete:\n%s", cups.ErrorLog())
		}
		time.Sleep(200 * time.Millisecond)
	}

	root := s.CreateUser(t, "root", pairgate.RoleUser)
	lobby := s.AddPrinter(t, "Lobby", printer.URI, pairgate.DeploymentTarget{All: true})
	s.Release(t, root, lobby.ID, j.ID)
	s.WaitJobState(t, j.ID, pairgate.JobDone, 60*time.Second)
	files := printer.WaitJobs(t, 1, 10*time.Second)
	if got := printer.JobFile(t, files[0]); !bytes.Equal(got, text) {
		t.Fatalf("the printer kept %d bytes, want the %d printed with lp", len(got), len(text))
	}
}

// TestHeldQueueOverTLS: with --tls-cert the held queue is ipps: its
// listener serves TLS with the server's certificate, and the metadata
// publishes an ipps:// URI.
func TestHeldQueueOverTLS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	cert := writeCert(t, certFile, keyFile, 1)
	addr, ippAddr := freeAddr(t), freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	code := make(chan int, 1)
	go func() {
		code <- cli.Main(ctx, []string{"serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"), "--metrics-addr", "",
			"--issuer", "https://" + addr, "--tls-cert", certFile, "--tls-key", keyFile, "--ipp-addr", ippAddr}, cli.Env{
			Getenv: func(string) string { return "" }, Stdout: out, Stderr: out})
	}()
	defer func() { cancel(); <-code }()
	pool := x509.NewCertPool()
	pool.AddCert(cert)
	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	// The first start makes keys and an account: under the race
	// detector on a busy machine that takes a while.
	var queue string
	for deadline := time.Now().Add(60 * time.Second); queue == "" && time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		queue, _ = client.HeldQueue(ctx, hc, "https://"+addr)
	}
	_, port, _ := net.SplitHostPort(ippAddr)
	if queue != "ipps://127.0.0.1:"+port+"/ipp/print" {
		t.Fatalf("held queue %q\n%s", queue, out.String())
	}
	req, _ := http.NewRequest("POST", "https://"+ippAddr+"/ipp/print", strings.NewReader("\x02\x00\x00\x0b\x00\x00\x00\x01\x03"))
	req.Header.Set("Content-Type", "application/ipp")
	resp, err := hc.Do(req)
	if err != nil {
		t.Fatalf("ipps: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized || resp.TLS == nil || resp.Header.Get("Content-Type") != "application/ipp" {
		t.Fatalf("ipps without a token: %d %v", resp.StatusCode, resp.TLS != nil)
	}
}
