package cli_test

import (
	"bytes"
	"context"
	"image"
	"image/color"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/qrcode"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestMain lets the tests run `pairgate` as separate processes by
// re-executing the test binary: with PAIRGATE_CLI_TEST_MAIN=1 it is the
// pairgate command, not a test run.
func TestMain(m *testing.M) {
	if os.Getenv("PAIRGATE_CLI_TEST_MAIN") == "1" {
		os.Exit(cli.Main(context.Background(), os.Args[1:], cli.Stdio()))
	}
	os.Exit(m.Run())
}

type result struct {
	code           int
	stdout, stderr string
}

// device runs `pairgate device …` in-process. HOME is not set, so nothing
// can fall back to the real credentials file.
func device(ctx context.Context, env map[string]string, args ...string) result {
	var out, errb testenv.Buffer
	code := cli.Main(ctx, append([]string{"device"}, args...), cli.Env{
		Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb,
	})
	return result{code, out.String(), errb.String()}
}

func tokenFile(t *testing.T) string {
	return filepath.Join(t.TempDir(), "config", "pairgate", "device.json")
}

func wantExit(t *testing.T, r result, code int) {
	t.Helper()
	if r.code != code {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", r.code, code, r.stdout, r.stderr)
	}
}

func authCode(t *testing.T, s *testenv.Server) string {
	t.Helper()
	code, _ := s.CreateCode(t, pairgate.TTL24Hours)
	return code
}

func load(t *testing.T, path string) *client.Credentials {
	t.Helper()
	c, err := (&client.FileStore{Path: path}).Load(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func liveToken(t *testing.T, s *testenv.Server, rt string) (bool, *pairgate.RefreshFamily) {
	t.Helper()
	fam, live, err := s.App.Store.LookupRefreshToken(t.Context(), s.App.Keys.Hash(secret.KindRefresh, rt), s.Clock.Now())
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return live, fam
}

// decodeQR finds the QR code that `pair` drew, rasterises its half-block
// characters back into an image and decodes it, as a phone camera would.
func decodeQR(t *testing.T, out string) string {
	t.Helper()
	out = regexp.MustCompile("\x1b\\[[0-9;]*m").ReplaceAllString(out, "")
	var rows [][]rune
	for _, line := range strings.Split(out, "\n") {
		if line != "" && strings.Trim(line, " ▀▄█") == "" && strings.ContainsAny(line, "▀▄█") {
			rows = append(rows, []rune(line))
		}
	}
	if len(rows) == 0 {
		t.Fatalf("no QR code in the output:\n%s", out)
	}
	const scale, margin = 4, 16
	w := len(rows[0])
	img := image.NewGray(image.Rect(0, 0, w*scale+2*margin, 2*len(rows)*scale+2*margin))
	for i := range img.Pix {
		img.Pix[i] = 0xff
	}
	for y, row := range rows {
		if len(row) != w {
			t.Fatalf("QR code rows differ in width: %d and %d", len(row), w)
		}
		for x, r := range row {
			top, bottom := r == '█' || r == '▀', r == '█' || r == '▄'
			for dy := range 2 * scale {
				if (dy < scale && !top) || (dy >= scale && !bottom) {
					continue
				}
				for dx := range scale {
					img.SetGray(margin+x*scale+dx, margin+2*y*scale+dy, color.Gray{})
				}
			}
		}
	}
	bmp, err := gozxing.NewBinaryBitmapFromImage(img)
	if err != nil {
		t.Fatal(err)
	}
	res, err := qrcode.NewQRCodeReader().Decode(bmp, nil)
	if err != nil {
		t.Fatalf("the terminal QR code does not decode: %v\n%s", err, out)
	}
	return res.GetText()
}

// pairInBackground starts `pairgate device pair` and returns, once it has
// printed its code, the output so far and a function that waits for it.
func pairInBackground(t *testing.T, ctx context.Context, env map[string]string, args ...string) (string, func() result) {
	t.Helper()
	var out, errb testenv.Buffer
	done := make(chan int, 1)
	go func() {
		done <- cli.Main(ctx, append([]string{"device", "pair"}, args...), cli.Env{
			Getenv: func(k string) string { return env[k] }, Stdout: &out, Stderr: &errb,
		})
	}()
	deadline := time.Now().Add(20 * time.Second)
	for !strings.Contains(out.String(), "Waiting for approval") {
		select {
		case code := <-done:
			t.Fatalf("pair exited %d before showing a code:\n%s\n%s", code, out.String(), errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("pair showed no code:\n%s\n%s", out.String(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	return out.String(), func() result {
		code := <-done
		return result{code, out.String(), errb.String()}
	}
}

func shownCode(t *testing.T, out string) string {
	t.Helper()
	m := regexp.MustCompile(`Code: (\S+)`).FindStringSubmatch(out)
	if m == nil {
		t.Fatalf("no code shown:\n%s", out)
	}
	return m[1]
}

// TestDevicePairShowsQRCodeAndStoresTokens: RFC 8628 from the command line.
// The QR code decodes back to verification_uri_complete; the approval is
// the consent page's domain call; the credentials land in a 0600 file, and
// token and status work from it.
func TestDevicePairShowsQRCodeAndStoresTokens(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	shown, wait := pairInBackground(t, t.Context(), nil, "--server", s.URL, "--token-file", file, "--hardware-id", "SN-77", "--name", "Lab printer")
	code := shownCode(t, shown)
	if got, want := decodeQR(t, shown), s.URL+"/device?user_code="+code; got != want {
		t.Fatalf("QR code says %q, want %q", got, want)
	}
	if !strings.Contains(shown, s.URL+"/device\n") {
		t.Fatalf("verification URL not shown:\n%s", shown)
	}
	time.Sleep(1200 * time.Millisecond) // let it poll once, pending
	a := s.ApproveUserCode(t, code)
	r := wait()
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Authorized: device "+a.DeviceID) {
		t.Fatalf("stdout:\n%s", r.stdout)
	}
	st, err := os.Stat(file)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st, err)
	}
	creds := load(t, file)
	if creds.DeviceID != a.DeviceID || creds.HardwareID != "SN-77" || creds.Method != "device_code" {
		t.Fatalf("credentials: %+v", creds)
	}
	tok := device(t.Context(), nil, "token", "--token-file", file)
	wantExit(t, tok, 0)
	if strings.TrimSpace(tok.stdout) != creds.AccessToken {
		t.Fatal("token did not print the stored access token")
	}
	status := device(t.Context(), nil, "status", "--token-file", file)
	wantExit(t, status, 0)
	if !strings.Contains(status.stdout, a.DeviceID) || !strings.Contains(status.stdout, "the server knows device") ||
		!strings.Contains(status.stdout, s.URL) || !strings.Contains(status.stdout, "printing") {
		t.Fatalf("status:\n%s", status.stdout)
	}
}

// TestDevicePairingDialectWithColouredQRCode: --pairing, with the QR code in
// terminal colours; it still decodes.
func TestDevicePairingDialectWithColouredQRCode(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	shown, wait := pairInBackground(t, t.Context(), nil, "--server", s.URL, "--token-file", file, "--pairing", "--qr", "ansi", "--hardware-id", "SN-78")
	code := shownCode(t, shown)
	if !strings.Contains(shown, "\x1b[30;107m") {
		t.Fatal("--qr ansi drew no colours")
	}
	if got, want := decodeQR(t, shown), s.App.Grants.AuthURL(code); got != want {
		t.Fatalf("QR code says %q, want %q", got, want)
	}
	a := s.ApprovePairingCode(t, code)
	wantExit(t, wait(), 0)
	if c := load(t, file); c.DeviceID != a.DeviceID || c.Method != "pairing" {
		t.Fatalf("credentials: %+v", c)
	}
}

func TestDevicePairStopsCleanly(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	// Ctrl-C: main cancels the context.
	ctx, cancel := context.WithCancel(t.Context())
	_, wait := pairInBackground(t, ctx, nil, "--server", s.URL, "--token-file", file, "--qr", "off")
	cancel()
	r := wait()
	wantExit(t, r, cli.ExitInterrupted)
	if !strings.Contains(r.stderr, "nothing was saved") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	// Denied.
	shown, wait := pairInBackground(t, t.Context(), nil, "--server", s.URL, "--token-file", file, "--qr", "off")
	s.DenyUserCode(t, shownCode(t, shown))
	r = wait()
	wantExit(t, r, cli.ExitCodeRefused)
	if !strings.Contains(r.stderr, "denied") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	// Expired: the server's clock passes the code's lifetime.
	_, wait = pairInBackground(t, t.Context(), nil, "--server", s.URL, "--token-file", file, "--qr", "off", "--pairing")
	s.Clock.Advance(11 * time.Minute)
	r = wait()
	wantExit(t, r, cli.ExitCodeRefused)
	if !strings.Contains(r.stderr, "expired") {
		t.Fatalf("stderr: %s", r.stderr)
	}
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("a failed pairing left a credentials file: %v", err)
	}
}

// TestDeviceAuthorizeExitStatuses: every documented outcome of the
// non-interactive command an install script runs.
func TestDeviceAuthorizeExitStatuses(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	code := authCode(t, s)
	// The code from the environment, typed sloppily.
	env := map[string]string{"PAIRGATE_CODE": strings.ToLower(strings.ReplaceAll(code, "-", " "))}
	r := device(t.Context(), env, "authorize", "--server", s.URL, "--name", "Kiosk 1", "--hardware-id", "SN-1", "--token-file", file)
	wantExit(t, r, 0)
	c := load(t, file)
	dev, err := s.App.Store.GetDevice(t.Context(), c.DeviceID)
	if err != nil || dev.Name != "Kiosk 1" || dev.AuthMethod != pairgate.AuthByAuthorizationCode {
		t.Fatalf("inventory: %+v %v", dev, err)
	}

	other := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", "0000-0000-0000-0000", "--name", "K", "--token-file", other), cli.ExitCodeRefused)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", "http://127.0.0.1:1", "--code", code, "--name", "K", "--token-file", other), cli.ExitUnavailable)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", code, "--token-file", other), cli.ExitUsage)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", code, "--name", "K", "--scope", "everything", "--token-file", other), cli.ExitUsage)
	wantExit(t, device(t.Context(), nil, "authorize", "--bogus"), cli.ExitUsage)
	if _, err := os.Stat(other); !os.IsNotExist(err) {
		t.Fatalf("a failed authorization left a credentials file: %v", err)
	}
	// A deleted code is refused at once.
	ac, _ := s.App.Admin.ListCodes(t.Context(), s.AdminActor(t))
	for _, x := range ac {
		if err := s.App.Admin.DeleteCode(t.Context(), s.AdminActor(t), x.ID); err != nil {
			t.Fatal(err)
		}
	}
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", code, "--name", "K", "--token-file", other), cli.ExitCodeRefused)
	// Without --hardware-id the machine's derived id is used, so that
	// authorizing again updates the same device.
	code2 := authCode(t, s)
	for range 2 {
		wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", code2, "--name", "Twice", "--token-file", other), 0)
	}
	hw := load(t, other).HardwareID
	want, err := client.MachineHardwareID(client.DefaultClientID)
	if err != nil || hw != want {
		t.Fatalf("default hardware id %q, want %q (%v)", hw, want, err)
	}
	n, _ := s.App.Store.CountDevices(t.Context())
	if n != 2 {
		t.Fatalf("devices = %d, want 2 (Kiosk 1, and Twice once)", n)
	}
}

// TestDeviceTokenRefreshesAndLogoutRevokes: refresh with the rotation
// saved; logout revokes at the server and deletes the file.
func TestDeviceTokenRefreshesAndLogoutRevokes(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "K", "--token-file", file), 0)
	before := load(t, file)
	// Asking for more validity than a token has forces the refresh.
	r := device(t.Context(), nil, "token", "--token-file", file, "--min-valid", "2h")
	wantExit(t, r, 0)
	after := load(t, file)
	if strings.TrimSpace(r.stdout) != after.AccessToken || after.AccessToken == before.AccessToken || after.RefreshToken == before.RefreshToken {
		t.Fatal("token did not refresh, or did not save the rotation before printing")
	}
	if ok, _ := liveToken(t, s, after.RefreshToken); !ok {
		t.Fatal("the saved refresh token is not live")
	}
	r = device(t.Context(), nil, "logout", "--token-file", file)
	wantExit(t, r, 0)
	if _, err := os.Stat(file); !os.IsNotExist(err) {
		t.Fatalf("logout left the file: %v", err)
	}
	if ok, _ := liveToken(t, s, after.RefreshToken); ok {
		t.Fatal("logout did not revoke the refresh token")
	}
	// Logged out: token and status say "not authorized"; logout again is fine.
	wantExit(t, device(t.Context(), nil, "token", "--token-file", file), cli.ExitNotAuthorized)
	wantExit(t, device(t.Context(), nil, "status", "--token-file", file), cli.ExitNotAuthorized)
	wantExit(t, device(t.Context(), nil, "logout", "--token-file", file), 0)
}

// TestDeletedDeviceFailsStatusAndToken: deleting the device in the
// inventory makes status fail at once and token at its next refresh, both
// with the documented status.
func TestDeletedDeviceFailsStatusAndToken(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "K", "--token-file", file), 0)
	if err := s.App.Store.DeleteDevice(t.Context(), load(t, file).DeviceID, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	r := device(t.Context(), nil, "status", "--token-file", file)
	wantExit(t, r, cli.ExitNotAuthorized)
	if !strings.Contains(r.stdout, "NOT AUTHORIZED") {
		t.Fatalf("status:\n%s", r.stdout)
	}
	wantExit(t, device(t.Context(), nil, "token", "--token-file", file, "--min-valid", "2h"), cli.ExitNotAuthorized)
}

func TestDeviceTokenFileSafety(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "K", "--token-file", file), 0)
	if err := os.Chmod(file, 0o640); err != nil {
		t.Fatal(err)
	}
	r := device(t.Context(), nil, "token", "--token-file", file)
	wantExit(t, r, cli.ExitFailure)
	if !strings.Contains(r.stderr, "chmod 600") || r.stdout != "" {
		t.Fatalf("a group-readable file was used: %q %q", r.stdout, r.stderr)
	}
	os.Chmod(file, 0o600)
	// An unreachable server while refreshing is "try again later", and the
	// stored authorization is kept.
	c := load(t, file)
	c.TokenEndpoint, c.RevocationEndpoint, c.Issuer = "http://127.0.0.1:1/oauth/token", "http://127.0.0.1:1/oauth/revoke", "http://127.0.0.1:1"
	c.Expiry = time.Now().Add(-time.Minute)
	if err := (&client.FileStore{Path: file}).Save(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	wantExit(t, device(t.Context(), nil, "token", "--token-file", file), cli.ExitUnavailable)
	wantExit(t, device(t.Context(), nil, "status", "--token-file", file), cli.ExitUnavailable)
	wantExit(t, device(t.Context(), nil, "logout", "--token-file", file), cli.ExitUnavailable)
	if load(t, file).RefreshToken != c.RefreshToken {
		t.Fatal("a failed refresh or logout changed the credentials")
	}
	wantExit(t, device(t.Context(), nil, "logout", "--token-file", file, "--force"), 0)
	// No HOME and no --token-file: a usage error, not a guess.
	wantExit(t, device(t.Context(), nil, "token"), cli.ExitUsage)
}

// TestConcurrentTokenProcessesRotateOnce: several `pairgate device token`
// processes on one device, the access token expired: the file lock lets
// one of them rotate, and the others print its token.
func TestConcurrentTokenProcessesRotateOnce(t *testing.T) {
	s := testenv.StartServer(t)
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "K", "--token-file", file), 0)
	c := load(t, file)
	c.Expiry = time.Now().Add(-time.Minute)
	if err := (&client.FileStore{Path: file}).Save(t.Context(), c); err != nil {
		t.Fatal(err)
	}
	const n = 6
	outs := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	for i := range n {
		cmd := exec.CommandContext(t.Context(), os.Args[0], "device", "token", "--token-file", file)
		cmd.Env = append(os.Environ(), "PAIRGATE_CLI_TEST_MAIN=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := cmd.Wait(); err != nil {
				errs[i] = err
				outs[i] = stderr.String()
				return
			}
			outs[i] = strings.TrimSpace(stdout.String())
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("process %d: %v\n%s", i, errs[i], outs[i])
		}
		if outs[i] != outs[0] || outs[i] == c.AccessToken {
			t.Fatalf("process %d printed another token: more than one rotation, or none", i)
		}
	}
	final := load(t, file)
	if ok, fam := liveToken(t, s, final.RefreshToken); !ok || fam.Generation != 2 {
		t.Fatalf("after %d concurrent token processes: live %v, family %+v; want exactly one rotation", n, ok, fam)
	}
}

// TestDeviceTokenWait: a real server at capacity answers the refresh 503
// with Retry-After. With the access token expired, `token` fails at once
// with exit status 4 and says when to come back; with --wait shorter
// than the Retry-After it fails at once too; with --wait long enough it
// waits the Retry-After out and prints the refreshed token once the
// overload ends. A token that still works is printed through the
// overload without --wait.
func TestDeviceTokenWait(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) {
		c.MaxConcurrentWrites, c.OverloadWait, c.OverloadRetrySpread = 1, 100*time.Millisecond, 2*time.Second
	}))
	file := tokenFile(t)
	wantExit(t, device(t.Context(), nil, "authorize", "--server", s.URL, "--code", authCode(t, s), "--name", "K", "--token-file", file), 0)
	orig := load(t, file)
	release := s.HoldWriteSlot(t)

	// Still valid for an hour, asked for two: refused, the old token is
	// printed, exit 0.
	r := device(t.Context(), nil, "token", "--token-file", file, "--min-valid", "2h")
	wantExit(t, r, 0)
	if strings.TrimSpace(r.stdout) != orig.AccessToken {
		t.Fatal("a working token was not printed through the overload")
	}
	c := *orig
	c.Expiry = time.Now().Add(-time.Minute)
	if err := (&client.FileStore{Path: file}).Save(t.Context(), &c); err != nil {
		t.Fatal(err)
	}
	for _, args := range [][]string{nil, {"--wait", "500ms"}} {
		start := time.Now()
		r = device(t.Context(), nil, append([]string{"token", "--token-file", file}, args...)...)
		wantExit(t, r, cli.ExitUnavailable)
		if d := time.Since(start); d > 1500*time.Millisecond || !strings.Contains(r.stderr, "try again in") || r.stdout != "" {
			t.Fatalf("token %v under overload: after %v\n%s", args, d, r.stderr)
		}
	}
	wantExit(t, device(t.Context(), nil, "token", "--token-file", file, "--wait", "-1s"), cli.ExitUsage)

	// --wait: the overload ends a second in; the command waits for its
	// Retry-After (1-3 s) and prints the new token.
	time.AfterFunc(time.Second, release)
	start := time.Now()
	r = device(t.Context(), nil, "token", "--token-file", file, "--wait", "30s")
	wantExit(t, r, 0)
	after := load(t, file)
	if strings.TrimSpace(r.stdout) != after.AccessToken || after.RefreshToken == orig.RefreshToken {
		t.Fatal("token --wait did not refresh and save")
	}
	if d := time.Since(start); d < time.Second {
		t.Fatalf("token --wait succeeded after %v, before the overload ended", d)
	}
	if ok, fam := liveToken(t, s, after.RefreshToken); !ok || fam.Generation != 2 {
		t.Fatalf("after token --wait: live %v, family %+v", ok, fam)
	}
}
