package client_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func newCode(t *testing.T, s *testenv.Server) string {
	t.Helper()
	code, _ := s.CreateCode(t, pairgate.TTL24Hours)
	return code
}

// authorized returns a file store holding the credentials of a device
// freshly authorized with a code.
func authorized(t *testing.T, s *testenv.Server) (*client.FileStore, *client.Credentials) {
	t.Helper()
	c, err := client.New(ctx(t), client.Config{Server: s.URL})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	creds, err := c.Authorize(ctx(t), newCode(t, s), client.AuthorizeOptions{DeviceName: "Kiosk", HardwareID: "SN-1"})
	if err != nil {
		t.Fatalf("Authorize: %v", err)
	}
	fs := &client.FileStore{Path: filepath.Join(t.TempDir(), "cfg", "pairgate", "device.json")}
	if err := fs.Save(ctx(t), creds); err != nil {
		t.Fatal(err)
	}
	return fs, creds
}

// live reports whether the server holds refresh token rt as its family's
// live token.
func live(t *testing.T, s *testenv.Server, rt string) (bool, *pairgate.RefreshFamily) {
	t.Helper()
	fam, live, err := s.App.Store.LookupRefreshToken(ctx(t), s.App.Keys.Hash(secret.KindRefresh, rt), s.Clock.Now())
	if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
		return false, nil
	}
	if err != nil {
		t.Fatal(err)
	}
	return live, fam
}

func TestAuthorizeRefreshAndRotationPersisted(t *testing.T) {
	s := testenv.StartServer(t)
	fs, creds := authorized(t, s)
	if creds.DeviceID == "" || creds.Method != "authorization_code" || creds.Mode != "device" || creds.Issuer != s.URL ||
		creds.Scope != "printing" || creds.TokenEndpoint != s.URL+"/oauth/token" || creds.HardwareID != "SN-1" {
		t.Fatalf("credentials: %+v", creds)
	}
	dev, err := s.App.Store.GetDevice(ctx(t), creds.DeviceID)
	if err != nil || dev.Name != "Kiosk" || dev.HardwareID != "SN-1" {
		t.Fatalf("inventory: %+v %v", dev, err)
	}
	st, err := os.Stat(fs.Path)
	if err != nil || st.Mode().Perm() != 0o600 {
		t.Fatalf("credentials file: %v %v", st.Mode(), err)
	}
	if st, err := os.Stat(filepath.Dir(fs.Path)); err != nil || st.Mode().Perm() != 0o700 {
		t.Fatalf("credentials dir: %v %v", st.Mode(), err)
	}

	ts := &client.TokenSource{Store: fs}
	tok, err := ts.Token()
	if err != nil || tok.AccessToken != creds.AccessToken {
		t.Fatalf("a fresh token was not handed out as it is: %v", err)
	}
	// Near expiry, the token is refreshed and the rotation saved.
	near := &client.TokenSource{Store: fs, MinValidity: 2 * time.Hour}
	fresh, err := near.Credentials(ctx(t))
	if err != nil {
		t.Fatalf("refresh: %v", err)
	}
	if fresh.RefreshToken == creds.RefreshToken || fresh.AccessToken == creds.AccessToken || fresh.RefreshedAt.IsZero() {
		t.Fatal("refresh did not rotate")
	}
	saved, err := fs.Load(ctx(t))
	if err != nil || saved.RefreshToken != fresh.RefreshToken || saved.AccessToken != fresh.AccessToken {
		t.Fatalf("the rotation was not saved: %v", err)
	}
	if ok, _ := live(t, s, creds.RefreshToken); ok {
		t.Fatal("the old refresh token is still live")
	}
	if ok, fam := live(t, s, saved.RefreshToken); !ok || fam.Generation != 2 {
		t.Fatalf("the saved refresh token is not the family's live one: %+v", fam)
	}
	info, err := client.Whoami(ctx(t), nil, saved)
	if err != nil || info.DeviceID != creds.DeviceID || info.Name != "Kiosk" || info.AuthorizedBy != "authorization_code" {
		t.Fatalf("whoami: %+v %v", info, err)
	}

	// Logout: revocation ends the authorization.
	if err := client.Revoke(ctx(t), nil, saved); err != nil {
		t.Fatalf("revoke: %v", err)
	}
	if ok, _ := live(t, s, saved.RefreshToken); ok {
		t.Fatal("revoked refresh token still live")
	}
	if _, err := client.Whoami(ctx(t), nil, saved); !errors.Is(err, client.ErrNotAuthorized) {
		t.Fatalf("whoami after revoke: %v, want ErrNotAuthorized", err)
	}
	if _, err := (&client.TokenSource{Store: fs}).Refresh(ctx(t)); !errors.Is(err, client.ErrNotAuthorized) {
		t.Fatalf("refresh after revoke: %v, want ErrNotAuthorized", err)
	}
	if err := client.Revoke(ctx(t), nil, saved); err != nil {
		t.Fatalf("revoking twice: %v", err)
	}
}

func TestAuthorizeErrors(t *testing.T) {
	s := testenv.StartServer(t)
	c, err := client.New(ctx(t), client.Config{Server: s.URL + "/"})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Authorize(ctx(t), "0000-0000-0000-0000", client.AuthorizeOptions{DeviceName: "P"})
	if !errors.Is(err, client.ErrInvalidCode) {
		t.Fatalf("wrong code: %v, want ErrInvalidCode", err)
	}
	_, err = c.Authorize(ctx(t), newCode(t, s), client.AuthorizeOptions{})
	if !errors.Is(err, client.ErrRejected) {
		t.Fatalf("no name: %v, want ErrRejected", err)
	}
	bad, err := client.New(ctx(t), client.Config{Server: s.URL, ClientID: "no-such-client"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := bad.Authorize(ctx(t), newCode(t, s), client.AuthorizeOptions{DeviceName: "P"}); !errors.Is(err, client.ErrRejected) {
		t.Fatalf("unknown client: %v, want ErrRejected", err)
	}
	// Nothing listens on port 1.
	if _, err := client.New(ctx(t), client.Config{Server: "http://127.0.0.1:1"}); !errors.Is(err, client.ErrUnavailable) {
		t.Fatalf("unreachable server: %v, want ErrUnavailable", err)
	}
	// Metadata naming another issuer is not used (RFC 8414 §3.3).
	other := "http://localhost:" + s.URL[len("http://127.0.0.1:"):]
	if _, err := client.New(ctx(t), client.Config{Server: other}); err == nil {
		t.Fatal("metadata of another issuer was accepted")
	}
}

// faultStore is a Store that "crashes" between refresh and save: Save
// fails, as if the process died before the rename, and what it was given
// is kept so that the test can see the tokens that were lost.
type faultStore struct {
	client.Store
	mu   sync.Mutex
	lost *client.Credentials
}

func (f *faultStore) Save(ctx context.Context, c *client.Credentials) error {
	f.mu.Lock()
	f.lost = c
	f.mu.Unlock()
	return errors.New("injected crash between refresh and save")
}

// TestCrashBetweenRefreshAndSaveRecoversWithinGrace: the server rotated,
// the new tokens never reached the file; a new TokenSource presents the
// stored (previous) refresh token within the grace window, gets the same
// successor again, and the device stays authorized with exactly one live
// token.
func TestCrashBetweenRefreshAndSaveRecoversWithinGrace(t *testing.T) {
	s := testenv.StartServer(t)
	fs, creds := authorized(t, s)
	crash := &faultStore{Store: fs}
	if _, err := (&client.TokenSource{Store: crash}).Refresh(ctx(t)); err == nil {
		t.Fatal("a failed save was reported as success")
	}
	if crash.lost == nil || crash.lost.RefreshToken == creds.RefreshToken {
		t.Fatal("the server did not rotate before the injected crash")
	}
	if ok, _ := live(t, s, creds.RefreshToken); ok {
		t.Fatal("the stored token is still live: the crash came before the rotation")
	}
	stored, _ := fs.Load(ctx(t))
	if stored.RefreshToken != creds.RefreshToken {
		t.Fatal("the file changed although the save failed")
	}

	s.Clock.Advance(10 * time.Second) // the restart, well within the 30 s grace
	ts := &client.TokenSource{Store: fs}
	rec, err := ts.Refresh(ctx(t))
	if err != nil {
		t.Fatalf("recovery within the grace window: %v", err)
	}
	if ok, _ := live(t, s, rec.RefreshToken); !ok {
		t.Fatal("the recovered token is not live")
	}
	// The retry got the very token the lost response carried (docs/design.md
	// 2.4): still one live token in the family.
	if rec.RefreshToken != crash.lost.RefreshToken {
		t.Fatal("the recovery got another refresh token than the lost response carried")
	}
	// The family goes on normally.
	s.Clock.Advance(time.Minute)
	if _, err := ts.Refresh(ctx(t)); err != nil {
		t.Fatalf("refresh after recovery: %v", err)
	}
	if info, err := client.Whoami(ctx(t), nil, mustLoad(t, fs)); err != nil || info.DeviceID != creds.DeviceID {
		t.Fatalf("device after recovery: %+v %v", info, err)
	}
}

// TestCrashOutsideGraceLosesAuthorization documents the other side: a
// device that comes back after the grace window presents a rotated-out
// token, which is reuse; the authorization is revoked and the device must
// be authorized again.
func TestCrashOutsideGraceLosesAuthorization(t *testing.T) {
	s := testenv.StartServer(t)
	fs, _ := authorized(t, s)
	crash := &faultStore{Store: fs}
	if _, err := (&client.TokenSource{Store: crash}).Refresh(ctx(t)); err == nil {
		t.Fatal("a failed save was reported as success")
	}
	s.Clock.Advance(31 * time.Second)
	_, err := (&client.TokenSource{Store: fs}).Refresh(ctx(t))
	if !errors.Is(err, client.ErrNotAuthorized) {
		t.Fatalf("recovery after the grace window: %v, want ErrNotAuthorized", err)
	}
	if ok, _ := live(t, s, crash.lost.RefreshToken); ok {
		t.Fatal("reuse did not revoke the family")
	}
}

func mustLoad(t *testing.T, fs *client.FileStore) *client.Credentials {
	t.Helper()
	c, err := fs.Load(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestTokenSourcesSharingAFileRotateOnce: many TokenSources (as in many
// processes) on one file with an expired token: the lock makes exactly one
// of them rotate, and all hand out its token.
func TestTokenSourcesSharingAFileRotateOnce(t *testing.T) {
	s := testenv.StartServer(t)
	fs, creds := authorized(t, s)
	expired := *creds
	expired.Expiry = time.Now().Add(-time.Minute)
	if err := fs.Save(ctx(t), &expired); err != nil {
		t.Fatal(err)
	}
	const n = 8
	toks := make([]string, n)
	errs := make([]error, n)
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			c, err := (&client.TokenSource{Store: &client.FileStore{Path: fs.Path}}).Credentials(ctx(t))
			errs[i] = err
			if err == nil {
				toks[i] = c.AccessToken
			}
		}()
	}
	close(start)
	wg.Wait()
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("token source %d: %v", i, errs[i])
		}
		if toks[i] != toks[0] {
			t.Fatal("token sources handed out different tokens: more than one rotated")
		}
	}
	final := mustLoad(t, fs)
	if ok, fam := live(t, s, final.RefreshToken); !ok || fam.Generation != 2 {
		t.Fatalf("after %d concurrent refreshes: live %v, generation %+v; want one rotation", n, ok, fam)
	}
}

func TestFileStoreRefusesAFileOthersCanRead(t *testing.T) {
	s := testenv.StartServer(t)
	fs, _ := authorized(t, s)
	if err := os.Chmod(fs.Path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := fs.Load(ctx(t)); !errors.Is(err, client.ErrInsecureFile) {
		t.Fatalf("load of a 0644 file: %v, want ErrInsecureFile", err)
	}
	if _, err := (&client.TokenSource{Store: fs}).Token(); !errors.Is(err, client.ErrInsecureFile) {
		t.Fatalf("token from a 0644 file: %v, want ErrInsecureFile", err)
	}
	missing := &client.FileStore{Path: filepath.Join(t.TempDir(), "none.json")}
	if _, err := missing.Load(ctx(t)); !errors.Is(err, client.ErrNoCredentials) {
		t.Fatalf("load of a missing file: %v, want ErrNoCredentials", err)
	}
}

func TestPairDeviceFlow(t *testing.T) {
	s := testenv.StartServer(t)
	c, err := client.New(ctx(t), client.Config{Server: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	approved := make(chan *pairgate.DeviceAuthorization, 1)
	creds, err := c.Pair(ctx(t), client.PairOptions{HardwareID: "SN-9", DeviceName: "Lab printer", Show: func(p client.Prompt) error {
		if p.VerificationURI != s.URL+"/device" || p.VerificationURIComplete != s.URL+"/device?user_code="+p.UserCode || p.ExpiresAt.IsZero() {
			t.Errorf("prompt: %+v", p)
		}
		go func() {
			time.Sleep(1500 * time.Millisecond) // a pending poll or two first
			approved <- s.ApproveUserCode(t, p.UserCode)
		}()
		return nil
	}})
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	a := <-approved
	if creds.DeviceID != a.DeviceID || creds.Method != "device_code" || creds.Mode != "device" || creds.RefreshToken == "" {
		t.Fatalf("credentials %+v, approved device %s", creds, a.DeviceID)
	}
	if dev, err := s.App.Store.GetDevice(ctx(t), a.DeviceID); err != nil || dev.HardwareID != "SN-9" || dev.Name != "Lab printer" {
		t.Fatalf("inventory: %+v %v", dev, err)
	}
}

func TestPairPairingDialect(t *testing.T) {
	s := testenv.StartServer(t)
	c, err := client.New(ctx(t), client.Config{Server: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	approved := make(chan *pairgate.DeviceAuthorization, 1)
	creds, err := c.Pair(ctx(t), client.PairOptions{Pairing: true, HardwareID: "SN-10", Show: func(p client.Prompt) error {
		if !secret.ValidPairingCode(p.UserCode) || p.VerificationURIComplete != s.App.Grants.AuthURL(p.UserCode) {
			t.Errorf("prompt: %+v", p)
		}
		go func() {
			time.Sleep(1500 * time.Millisecond)
			approved <- s.ApprovePairingCode(t, p.UserCode)
		}()
		return nil
	}})
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	if a := <-approved; creds.DeviceID != a.DeviceID || creds.Method != "pairing" {
		t.Fatalf("credentials %+v, approved device %s", creds, a.DeviceID)
	}
}

func TestPairDeniedAndExpired(t *testing.T) {
	s := testenv.StartServer(t)
	c, err := client.New(ctx(t), client.Config{Server: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	_, err = c.Pair(ctx(t), client.PairOptions{Show: func(p client.Prompt) error {
		s.DenyUserCode(t, p.UserCode)
		return nil
	}})
	if !errors.Is(err, client.ErrDenied) {
		t.Fatalf("denied: %v, want ErrDenied", err)
	}
	for _, pairing := range []bool{false, true} {
		_, err = c.Pair(ctx(t), client.PairOptions{Pairing: pairing, Show: func(p client.Prompt) error {
			s.Clock.Advance(11 * time.Minute) // past the server's 10 min
			return nil
		}})
		if !errors.Is(err, client.ErrExpired) {
			t.Fatalf("expired (pairing %v): %v, want ErrExpired", pairing, err)
		}
	}
	// An interrupt ends the polling with the context's error.
	cctx, cancel := context.WithCancel(ctx(t))
	_, err = c.Pair(cctx, client.PairOptions{Pairing: true, Show: func(p client.Prompt) error {
		time.AfterFunc(200*time.Millisecond, cancel)
		return nil
	}})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("interrupted: %v, want context.Canceled", err)
	}
}

// recorder notes when each token request was sent and how it was answered,
// to see the client's polling from the outside.
type recorder struct {
	mu    sync.Mutex
	polls []poll
}

type poll struct {
	at     time.Time
	status int
	errc   string
}

func (r *recorder) RoundTrip(req *http.Request) (*http.Response, error) {
	at := time.Now()
	resp, err := http.DefaultTransport.RoundTrip(req)
	if err != nil || !strings.HasSuffix(req.URL.Path, "/oauth/token") {
		return resp, err
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(bytes.NewReader(body))
	var e struct {
		Error string `json:"error"`
	}
	json.Unmarshal(body, &e)
	r.mu.Lock()
	r.polls = append(r.polls, poll{at, resp.StatusCode, e.Error})
	r.mu.Unlock()
	return resp, nil
}

// TestPairingHonoursSlowDown: RFC 8628 §3.5 in the pairing dialect, whose
// poll loop is this package's own. Another party polls the code too fast,
// so the server answers the client's next poll with slow_down; the client
// must then wait its interval plus 5 s (or the server's Retry-After, if
// longer) before polling again, and still get its tokens.
func TestPairingHonoursSlowDown(t *testing.T) {
	s := testenv.StartServer(t) // interval 1 s
	rec := &recorder{}
	// A Bearer device: a key-bound code answers another party's polls
	// with invalid_grant before counting them (TestBoundPairingCode...).
	c, err := client.New(ctx(t), client.Config{Server: s.URL, HTTPClient: &http.Client{Transport: rec}, NoDPoP: true})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Pair(ctx(t), client.PairOptions{Pairing: true, Show: func(p client.Prompt) error {
		for range 3 {
			http.Post(s.URL+"/oauth/token", "application/x-www-form-urlencoded",
				strings.NewReader("grant_type=pairing_code&client_id=print-client&pairing_code="+p.UserCode))
		}
		// Approved once the client has been told to slow down: the server
		// checks the pace of pending polls only.
		go func() {
			for {
				rec.mu.Lock()
				n := len(rec.polls)
				slowed := n > 0 && rec.polls[n-1].errc == "slow_down"
				rec.mu.Unlock()
				if slowed {
					s.ApprovePairingCode(t, p.UserCode)
					return
				}
				time.Sleep(20 * time.Millisecond)
			}
		}()
		return nil
	}})
	if err != nil {
		t.Fatalf("Pair: %v", err)
	}
	if creds.RefreshToken == "" {
		t.Fatal("no tokens")
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	slowed := false
	for i := 1; i < len(rec.polls); i++ {
		prev, gap := rec.polls[i-1], rec.polls[i].at.Sub(rec.polls[i-1].at)
		if prev.errc == "slow_down" {
			slowed = true
			if gap < 6*time.Second {
				t.Fatalf("polled again %v after slow_down, want at least 1 s + 5 s: %+v", gap, rec.polls)
			}
		} else if gap < 900*time.Millisecond {
			t.Fatalf("polled again after %v, faster than the interval: %+v", gap, rec.polls)
		}
	}
	if !slowed || rec.polls[len(rec.polls)-1].status != http.StatusOK {
		t.Fatalf("the server never said slow_down, or the last poll failed: %+v", rec.polls)
	}
}
