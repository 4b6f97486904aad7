package verify_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

func TestMain(m *testing.M) { testenv.Main(m) }

// TestResourceServerLearnsOfRevocations runs a separate resource-server
// process built on this package (examples/resource-server): a device
// deleted in pairgate's console is refused there within the status list's
// ttl while another device keeps working; with pairgate down, the cached
// list keeps answering until the staleness limit, and then the resource
// server refuses (fails closed).
func TestResourceServerLearnsOfRevocations(t *testing.T) {
	const ttl, staleness = 2 * time.Second, 6 * time.Second
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.StatusListTTL = ttl }))
	rs := startResourceServer(t, s.URL, staleness)

	code, _ := s.CreateCode(t, pairgate.TTL6Hours)
	a := redeem(t, s.URL, code, "Printer A")
	b := redeem(t, s.URL, code, "Printer B")
	for _, d := range []tokens{a, b} {
		if st, body := hello(t, rs, d.AccessToken); st != 200 || !strings.Contains(body, d.DeviceID) {
			t.Fatalf("a live device at the resource server: %d %q", st, body)
		}
	}
	if st, _ := hello(t, rs, "not a token"); st != 401 {
		t.Fatalf("garbage at the resource server: %d", st)
	}

	deleteInConsole(t, s.URL, a.DeviceID)
	deleted := time.Now()
	for {
		st, _ := hello(t, rs, a.AccessToken)
		if st == 401 {
			break
		}
		if st != 200 {
			t.Fatalf("the deleted device's token: %d", st)
		}
		if time.Since(deleted) > ttl+3*time.Second {
			t.Fatalf("the resource server still accepts a deleted device's token %v after the deletion (ttl %v)", time.Since(deleted), ttl)
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Logf("the resource server refused the deleted device %v after the deletion (ttl %v)", time.Since(deleted).Round(10*time.Millisecond), ttl)
	if st, _ := hello(t, rs, b.AccessToken); st != 200 {
		t.Fatalf("the other device after the deletion: %d", st)
	}

	// pairgate goes down. The list cached (and refreshed once its ttl
	// passed, until the server vanished) answers until it is staleness
	// old; then nothing is accepted.
	s.Stop()
	down := time.Now()
	for {
		st, _ := hello(t, rs, b.AccessToken)
		if st != 200 {
			if st != http.StatusServiceUnavailable {
				t.Fatalf("with pairgate down: %d, want 503", st)
			}
			break
		}
		if time.Since(down) > staleness+ttl+3*time.Second {
			t.Fatalf("the resource server still accepts tokens %v after pairgate went down (staleness %v)", time.Since(down), staleness)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if since := time.Since(down); since < staleness-ttl-time.Second {
		t.Fatalf("the resource server refused after %v, before its cached list could be %v old", since, staleness)
	}
	t.Logf("with pairgate down, the resource server answered from its cache for %v (staleness %v)", time.Since(down).Round(10*time.Millisecond), staleness)
}

type tokens struct {
	AccessToken string `json:"access_token"`
	DeviceID    string
}

func redeem(t *testing.T, base, code, name string) tokens {
	t.Helper()
	resp, err := http.PostForm(base+"/oauth/token", url.Values{"grant_type": {pairgate.GrantAuthorizationCode},
		"client_id": {"print-client"}, "code": {code}, "device_name": {name}})
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var tok tokens
	if err := json.NewDecoder(resp.Body).Decode(&tok); err != nil || tok.AccessToken == "" {
		t.Fatalf("redeem: %d %v", resp.StatusCode, err)
	}
	req, _ := http.NewRequest("GET", base+"/api/v1/device", nil)
	req.Header.Set("Authorization", "Bearer "+tok.AccessToken)
	r, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	var info struct {
		DeviceID string `json:"device_id"`
	}
	json.NewDecoder(r.Body).Decode(&info)
	tok.DeviceID = info.DeviceID
	return tok
}

// deleteInConsole signs in to the Admin Console and deletes a device with
// the confirmation dialog's form.
func deleteInConsole(t *testing.T, base, id string) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	post := func(path string, v url.Values) *http.Response {
		req, _ := http.NewRequest("POST", base+path, strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("Sec-Fetch-Site", "same-origin")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if r := post("/auth/signin/", url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}, "next": {"/admin"}}); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in: %d", r.StatusCode)
	}
	if r := post("/admin/devices/"+id+"/delete", url.Values{}); r.StatusCode != http.StatusSeeOther || !strings.Contains(r.Header.Get("Location"), "device_deleted") {
		t.Fatalf("delete in the console: %d %s", r.StatusCode, r.Header.Get("Location"))
	}
}

func hello(t *testing.T, rs, token string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("GET", rs+"/hello", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startResourceServer builds and runs examples/resource-server.
func startResourceServer(t *testing.T, issuer string, staleness time.Duration) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "resource-server")
	goTool := filepath.Join(runtime.GOROOT(), "bin", "go")
	if out, err := exec.Command(goTool, "build", "-o", bin, "github.com/pairgate/pairgate/examples/resource-server").CombinedOutput(); err != nil {
		t.Fatalf("build the resource server: %v\n%s", err, out)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	out := &testenv.Buffer{}
	cmd := exec.Command(bin, "--issuer", issuer, "--addr", addr, "--max-staleness", staleness.String())
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if t.Failed() {
			t.Logf("resource server output:\n%s", out)
		}
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for ctx.Err() == nil {
		if c, err := net.Dial("tcp", addr); err == nil {
			c.Close()
			return "http://" + addr
		}
		time.Sleep(50 * time.Millisecond)
	}
	t.Fatal(fmt.Sprintf("the resource server did not start:\n%s", out))
	return ""
}
