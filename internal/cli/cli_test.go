package cli_test

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"io"
	"math/big"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/testenv"
)

func freeAddr(t *testing.T) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().String()
}

// serve runs `pairgate serve` in-process through cli.Main until the server
// answers, and returns a function that stops it (as SIGTERM does) and
// returns its exit status and output.
func serve(t *testing.T, env map[string]string, args ...string) (addr string, stop func() (int, string)) {
	t.Helper()
	addr = freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	code := make(chan int, 1)
	go func() {
		code <- cli.Main(ctx, append([]string{"serve", "--addr", addr, "--metrics-addr", "127.0.0.1:0"}, args...), cli.Env{
			Getenv: func(k string) string { return env[k] }, Stdout: out, Stderr: out,
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			break
		}
		select {
		case c := <-code:
			cancel()
			t.Fatalf("serve exited with %d:\n%s", c, out.String())
		default:
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("server did not come up:\n%s", out.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, func() (int, string) {
		cancel()
		return <-code, out.String()
	}
}

func TestFirstStartCreatesEverythingAndRestartReusesIt(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "data")
	env := map[string]string{"PAIRGATE_DATA_DIR": dir}
	_, stop := serve(t, env)
	code, out := stop()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	st, err := os.Stat(dir)
	if err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("data dir: %v %v", st, err)
	}
	for _, f := range []string{"master.key", "pairgate.db"} {
		st, err := os.Stat(filepath.Join(dir, f))
		if err != nil || st.Mode().Perm() != 0o600 {
			t.Fatalf("%s: mode %v, %v", f, st.Mode(), err)
		}
	}
	// The generated admin password goes to a file only its owner reads,
	// never through the log stream; the terminal says where.
	pwFile := filepath.Join(dir, "initial-admin-password")
	if st, err := os.Stat(pwFile); err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("password file: %v %v", st, err)
	}
	if abs, _ := filepath.Abs(pwFile); !strings.Contains(out, abs) {
		t.Fatalf("the terminal does not say where the password is:\n%s", out)
	}
	b, _ := os.ReadFile(pwFile)
	_, password, _ := strings.Cut(string(b), "password: ")
	password = strings.TrimSpace(password)
	if len(password) != 20 {
		t.Fatalf("password %q", password)
	}
	if strings.Contains(out, password) {
		t.Fatalf("the generated password reached the output:\n%s", out)
	}
	store, err := sqlstore.Open(t.Context(), filepath.Join(dir, "pairgate.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	u, err := store.GetUserByUsername(t.Context(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	if ok, _ := secret.VerifyPassword(u.PasswordHash, password); !ok || u.Role != "admin" {
		t.Fatal("printed password does not match the admin account")
	}
	c, err := store.GetClient(t.Context(), "print-client")
	if err != nil || !c.Public || c.Scopes.String() != "printing" {
		t.Fatalf("print-client: %+v %v", c, err)
	}
	keys, _ := store.ListSigningKeys(t.Context(), time.Now())
	store.Close()
	if len(keys) != 1 || keys[0].Algorithm != "RS256" {
		t.Fatalf("keys: %+v", keys)
	}

	// Second start: the same key, no new password.
	_, stop = serve(t, env)
	code, out = stop()
	if code != 0 || strings.Contains(out, "First start") || !strings.Contains(out, "kid="+keys[0].ID) {
		t.Fatalf("restart (exit %d) did not reuse the store:\n%s", code, out)
	}

	// The first password change removes the file: it opens nothing any more.
	if code := cli.Main(t.Context(), []string{"admin", "users", "set-password", "--data-dir", dir, "--username", "admin"},
		cli.Env{Getenv: func(string) string { return "" }, Stdout: io.Discard, Stderr: io.Discard}); code != 0 {
		t.Fatalf("set-password: %d", code)
	}
	if _, err := os.Stat(pwFile); !os.IsNotExist(err) {
		t.Fatalf("the password file outlived the first password change: %v", err)
	}
}

// TestFirstAdminPasswordMustBeStrong: case 9 of issue 11.
func TestFirstAdminPasswordMustBeStrong(t *testing.T) {
	for _, weak := range []string{"x", "short", "password123", "CHANGEME"} {
		var out bytes.Buffer
		env := map[string]string{"PAIRGATE_ADMIN_PASSWORD": weak, "PAIRGATE_DATA_DIR": filepath.Join(t.TempDir(), "data")}
		code := cli.Main(t.Context(), []string{"serve", "--addr", freeAddr(t)}, cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &out})
		if code != cli.ExitUsage || !strings.Contains(out.String(), "PAIRGATE_ADMIN_PASSWORD") {
			t.Errorf("PAIRGATE_ADMIN_PASSWORD=%q: exit %d\n%s", weak, code, out.String())
		}
		if strings.Contains(out.String(), weak) && len(weak) > 4 {
			t.Errorf("the refused password was echoed: %s", out.String())
		}
	}
}

func TestEnvironmentConfiguresAndFlagsWin(t *testing.T) {
	dir := t.TempDir()
	key := "bYbZ2s0d5i8m3x2b6yjW7HqQ9s1o4K3pUeB8TQvYc0o="
	env := map[string]string{
		"PAIRGATE_DATA_DIR":       filepath.Join(dir, "from-env"),
		"PAIRGATE_MASTER_KEY":     key,
		"PAIRGATE_ADMIN_PASSWORD": "admin password from env",
		"PAIRGATE_SIGNING_ALG":    "ES256",
	}
	_, stop := serve(t, env, "--data-dir", filepath.Join(dir, "from-flag"))
	code, out := stop()
	if code != 0 {
		t.Fatalf("exit %d:\n%s", code, out)
	}
	if strings.Contains(out, "admin password from env") || strings.Contains(out, "with password") {
		t.Fatalf("a given password was printed:\n%s", out)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-flag", "pairgate.db")); err != nil {
		t.Fatalf("the flag did not win over the environment: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "from-flag", "master.key")); err == nil {
		t.Fatal("a master key file was written although PAIRGATE_MASTER_KEY was set")
	}
	if !strings.Contains(out, "signing_alg=ES256") {
		t.Fatalf("PAIRGATE_SIGNING_ALG ignored:\n%s", out)
	}
}

func TestRefusesUnsafeOrBrokenConfiguration(t *testing.T) {
	dir := t.TempDir()
	run := func(env map[string]string, args ...string) (int, string) {
		var out bytes.Buffer
		code := cli.Main(t.Context(), args, cli.Env{Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &out})
		return code, out.String()
	}
	if code, out := run(nil, "serve", "--issuer", "ftp://x"); code != cli.ExitUsage || !strings.Contains(out, "--issuer") {
		t.Fatalf("bad issuer: %d %s", code, out)
	}
	if code, out := run(nil, "serve", "--signing-alg", "HS256"); code != cli.ExitUsage || !strings.Contains(out, "signing-alg") {
		t.Fatalf("bad alg: %d %s", code, out)
	}
	if code, out := run(map[string]string{"PAIRGATE_POLL_INTERVAL": "soon"}, "serve"); code != cli.ExitUsage || !strings.Contains(out, "PAIRGATE_POLL_INTERVAL") {
		t.Fatalf("bad env: %d %s", code, out)
	}
	if code, _ := run(nil, "nonsense"); code != cli.ExitUsage {
		t.Fatalf("unknown command: %d", code)
	}
	// A master key file others can read is refused.
	data := filepath.Join(dir, "data")
	os.MkdirAll(data, 0o700)
	os.WriteFile(filepath.Join(data, "master.key"), []byte("bYbZ2s0d5i8m3x2b6yjW7HqQ9s1o4K3pUeB8TQvYc0o=\n"), 0o644)
	if code, out := run(nil, "serve", "--addr", freeAddr(t), "--data-dir", data); code != cli.ExitFailure || !strings.Contains(out, "chmod 600") {
		t.Fatalf("world-readable master key: %d %s", code, out)
	}
	// A store with keys never silently gets a new master key.
	os.Chmod(filepath.Join(data, "master.key"), 0o600)
	_, stop := serve(t, nil, "--data-dir", data)
	stop()
	os.Remove(filepath.Join(data, "master.key"))
	if code, out := run(nil, "serve", "--addr", freeAddr(t), "--data-dir", data); code != cli.ExitFailure || !strings.Contains(out, "master key file") {
		t.Fatalf("missing master key on a used store: %d %s", code, out)
	}
	// The wrong master key cannot open the signing keys.
	env := map[string]string{"PAIRGATE_MASTER_KEY": "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="}
	if code, out := run(env, "serve", "--addr", freeAddr(t), "--data-dir", data); code != cli.ExitFailure || !strings.Contains(out, "master key") {
		t.Fatalf("wrong master key: %d %s", code, out)
	}
}

func TestKeysRotateCommand(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	_, stop := serve(t, nil, "--data-dir", data)
	stop()
	var out bytes.Buffer
	code := cli.Main(t.Context(), []string{"keys", "rotate", "--data-dir", data}, cli.Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out})
	if code != 0 || !strings.Contains(out.String(), "rotated signing key") {
		t.Fatalf("keys rotate: %d %s", code, out.String())
	}
	store, _ := sqlstore.Open(t.Context(), filepath.Join(data, "pairgate.db"), sqlstore.Options{})
	defer store.Close()
	keys, _ := store.ListSigningKeys(t.Context(), time.Now())
	if len(keys) != 2 || !keys[0].RetiredAt.IsZero() || keys[1].RetiredAt.IsZero() {
		t.Fatalf("after rotation: %+v", keys)
	}
}

func TestHealthCommand(t *testing.T) {
	addr, stop := serve(t, map[string]string{"PAIRGATE_DATA_DIR": filepath.Join(t.TempDir(), "d")})
	var out bytes.Buffer
	env := cli.Env{Getenv: func(string) string { return "" }, Stdout: &out, Stderr: &out}
	if code := cli.Main(t.Context(), []string{"health", "http://" + addr + "/readyz"}, env); code != 0 {
		t.Fatalf("health of a running server: %d %s", code, out.String())
	}
	stop()
	if code := cli.Main(t.Context(), []string{"health", "http://" + addr + "/readyz"}, env); code != cli.ExitFailure {
		t.Fatalf("health of a stopped server: %d", code)
	}
}

// writeCert writes a fresh self-signed certificate for 127.0.0.1 and
// returns it.
func writeCert(t *testing.T, certFile, keyFile string, serial int64) *x509.Certificate {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: "pairgate test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour),
		IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}, BasicConstraintsValid: true, IsCA: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	kder, _ := x509.MarshalPKCS8PrivateKey(key)
	// Write to temp files and rename, as certificate tools do.
	os.WriteFile(certFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644)
	os.WriteFile(keyFile+".tmp", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder}), 0o600)
	os.Rename(keyFile+".tmp", keyFile)
	os.Rename(certFile+".tmp", certFile)
	c, _ := x509.ParseCertificate(der)
	return c
}

func TestTLSWithCertificateReloadAndHSTS(t *testing.T) {
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	first := writeCert(t, certFile, keyFile, 1)
	addr := freeAddr(t)
	ctx, cancel := context.WithCancel(context.Background())
	out := &testenv.Buffer{}
	code := make(chan int, 1)
	go func() {
		code <- cli.Main(ctx, []string{"serve", "--addr", addr, "--data-dir", filepath.Join(dir, "data"),
			"--issuer", "https://" + addr, "--tls-cert", certFile, "--tls-key", keyFile}, cli.Env{
			Getenv: func(string) string { return "" }, Stdout: out, Stderr: out})
	}()
	defer func() { cancel(); <-code }()
	get := func(trust *x509.Certificate) (*http.Response, error) {
		pool := x509.NewCertPool()
		pool.AddCert(trust)
		c := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}, DisableKeepAlives: true, ForceAttemptHTTP2: true}}
		return c.Get("https://" + addr + "/healthz")
	}
	var resp *http.Response
	var err error
	for i := 0; i < 200; i++ {
		if resp, err = get(first); err == nil {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if err != nil {
		t.Fatalf("HTTPS: %v\n%s", err, out.String())
	}
	resp.Body.Close()
	if hsts := resp.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
		t.Fatalf("no HSTS over TLS: %q", hsts)
	}
	if resp.ProtoMajor != 2 {
		t.Errorf("HTTPS served %s, want HTTP/2", resp.Proto)
	}
	// Renew the certificate: new connections get the new one, no restart.
	second := writeCert(t, certFile, keyFile, 2)
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := get(second)
		if err == nil {
			resp.Body.Close()
			if resp.TLS.PeerCertificates[0].SerialNumber.Int64() == 2 {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("renewed certificate not served: %v", err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}
