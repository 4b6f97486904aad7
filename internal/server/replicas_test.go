package server_test

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestThreeReplicasShareEverything runs three `pairgate serve` processes,
// booted at the same moment against one fresh PostgreSQL database, and
// checks that nothing that matters lives in one replica's memory
// (docs/design.md section 5, with the guarantees of section 2).
func TestThreeReplicasShareEverything(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	mk := base64.StdEncoding.EncodeToString(secret.NewMasterKey())
	env := []string{
		"PAIRGATE_DB=" + dsn, "PAIRGATE_MASTER_KEY=" + mk, "PAIRGATE_ISSUER=http://pairgate.example",
		"PAIRGATE_ADMIN_PASSWORD=" + testenv.AdminPassword, "PAIRGATE_POLL_INTERVAL=1s",
		"PAIRGATE_REFRESH_GRACE=0s", "PAIRGATE_LOG_LEVEL=warn",
	}
	var reps []*testenv.Process
	for i := range 3 {
		reps = append(reps, testenv.LaunchProcess(t, append(env, fmt.Sprintf("PAIRGATE_DATA_DIR=%s/r%d", t.TempDir(), i))))
	}
	for _, r := range reps {
		r.WaitReady(t)
	}
	r1, r2, r3 := reps[0], reps[1], reps[2]
	// Replicas booting together agreed on one current key and one admin.
	for _, r := range reps {
		if n := strings.Count(string(jwks(t, r.URL)), `"kid"`); n != 1 {
			t.Fatalf("%s publishes %d keys after a simultaneous first start", r.URL, n)
		}
	}
	// The approver stands in for the person on the consent page; it shares
	// only the database and the master key with the replicas.
	approver := testenv.StartServer(t, testenv.WithDB(dsn), testenv.WithConfig(func(c *app.Config) {
		c.MasterKey = mk
		c.LogLevel = "warn"
	}))
	if users, _ := approver.App.Store.ListUsers(t.Context()); len(users) != 1 {
		t.Fatalf("%d accounts after three replicas bootstrapped at once", len(users))
	}

	// A device asks replica 1 for a code; the person approves elsewhere;
	// 50 concurrent polls over all three replicas yield one token.
	r := do(t, "POST", r1.URL+"/oauth/device/code", form, "client_id=print-client&mode=device&hardware_id=REPL-1")
	if r.status != 200 || !strings.HasPrefix(r.body["verification_uri"].(string), "http://pairgate.example/") {
		t.Fatalf("device code: %d %s", r.status, r.raw)
	}
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	// Every replica has seen the grant pending (and may remember that for
	// a moment); the approval elsewhere must still reach each of them
	// within the polling interval.
	for _, rep := range reps {
		if p := do(t, "POST", rep.URL+"/oauth/token", form, body); p.body["error"] != "authorization_pending" {
			t.Fatalf("poll before approval: %d %s", p.status, p.raw)
		}
	}
	// The person signs in on replica 2 and approves there.
	browser := signInAt(t, r2.URL, "admin", testenv.AdminPassword)
	consent := postWith(t, browser, r2.URL+"/device", url.Values{"user_code": {r.body["user_code"].(string)}, "action": {"approve"}})
	if consent.StatusCode != 200 {
		t.Fatalf("approval on replica 2: %d", consent.StatusCode)
	}
	time.Sleep(1100 * time.Millisecond) // the interval
	var wg sync.WaitGroup
	replies := make([]reply, 50)
	start := make(chan struct{})
	for i := range replies {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = do(t, "POST", reps[i%3].URL+"/oauth/token", form, body)
		}()
	}
	close(start)
	wg.Wait()
	var tokens map[string]any
	for _, rp := range replies {
		switch {
		case rp.status == 200 && tokens == nil:
			tokens = rp.body
		case rp.status == 200:
			t.Fatal("a second poll got tokens: exactly-once broken across replicas")
		case rp.status == 400 && (rp.body["error"] == "invalid_grant" || rp.body["error"] == "slow_down"):
		default:
			t.Fatalf("unexpected answer %d %s", rp.status, rp.raw)
		}
	}
	if tokens == nil {
		t.Fatal("no poll got tokens")
	}
	devID := claimsOf(t, tokens["access_token"].(string))["device_id"].(string)

	// Guessing counters live in the database: attempts at one user code
	// spread over the replicas count against one budget (10 per code).
	guess := url.Values{"user_code": {"BBBB-BBBB"}}
	for i := range 10 {
		if st := postWith(t, http.DefaultClient, reps[i%3].URL+"/device", guess).StatusCode; st != http.StatusNotFound && st != http.StatusBadRequest {
			t.Fatalf("guess %d: %d", i+1, st)
		}
	}
	if st := postWith(t, http.DefaultClient, r2.URL+"/device", guess).StatusCode; st != http.StatusTooManyRequests {
		t.Fatalf("11th guess at one code over three replicas: %d, want 429", st)
	}

	// Refresh on replica 3, then reuse of the old token on replica 1
	// revokes the family: the new token is dead on replica 2.
	old := tokens["refresh_token"].(string)
	fresh := do(t, "POST", r3.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+old)
	if fresh.status != 200 {
		t.Fatalf("refresh on replica 3: %d %s", fresh.status, fresh.raw)
	}
	if re := do(t, "POST", r1.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+old); re.body["error"] != "invalid_grant" {
		t.Fatalf("reuse on replica 1: %d %s", re.status, re.raw)
	}
	if re := do(t, "POST", r2.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+fresh.body["refresh_token"].(string)); re.body["error"] != "invalid_grant" {
		t.Fatalf("family survived reuse detection on another replica: %d %s", re.status, re.raw)
	}

	// A key rotation done against the database is seen by every replica:
	// each signs with the new key within seconds and publishes it, and the
	// tokens signed before still verify.
	before := authorize(t, approver, r2, "REPL-2")
	oldKid := kidOf(t, before["access_token"].(string))
	// The database URL, password included, goes in the environment, which
	// other local users cannot read, not on the command line.
	cmd := exec.Command(testenv.Binary(t), "keys", "rotate")
	cmd.Env = append(cmd.Environ(), "PAIRGATE_MASTER_KEY="+mk, "PAIRGATE_DB="+dsn)
	if out, err := cmd.CombinedOutput(); err != nil || !strings.Contains(string(out), "rotated signing key") {
		t.Fatalf("pairgate keys rotate: %v\n%s", err, out)
	}
	rt := before["refresh_token"].(string)
	for _, rep := range reps {
		var kid string
		waitFor(t, 15*time.Second, "replica signs with the rotated key", func() bool {
			tr := do(t, "POST", rep.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt)
			if tr.status != 200 {
				t.Fatalf("refresh during rotation: %d %s", tr.status, tr.raw)
			}
			rt = tr.body["refresh_token"].(string)
			kid = kidOf(t, tr.body["access_token"].(string))
			return kid != oldKid
		})
		for _, other := range reps {
			set := jwks(t, other.URL)
			if !strings.Contains(string(set), kid) || !strings.Contains(string(set), oldKid) {
				t.Fatalf("%s's JWKS lacks the new key %s or the previous key %s: %s", other.URL, kid, oldKid, set)
			}
		}
	}

	// A device deleted once is refused by every replica from the next
	// request on. (Authorizing "REPL-1" again without a key is another
	// device, docs/design.md 2.1: its token is the second device's.)
	at := tokens["access_token"].(string)
	last := authorize(t, approver, r1, "REPL-1")
	lastID, _ := claimsOf(t, last["access_token"].(string))["device_id"].(string)
	if lastID == devID || lastID == "" {
		t.Fatalf("authorizing REPL-1 again without a key took over device %s", devID)
	}
	for _, rep := range reps {
		if st := deviceStatus(t, rep.URL, last["access_token"].(string)); st != 200 {
			t.Fatalf("device API on %s before deletion: %d", rep.URL, st)
		}
	}
	// An admin deletes the device through replica 2's admin API.
	keyResp := do(t, "POST", r2.URL+"/api/v1/api-keys", "application/json", `{"name":"replicas","scopes":["devices:write"]}`,
		"Authorization", "Basic "+base64.StdEncoding.EncodeToString([]byte("admin:"+testenv.AdminPassword)))
	if keyResp.status != 201 {
		t.Fatalf("API key on replica 2: %d %s", keyResp.status, keyResp.raw)
	}
	for _, id := range []string{devID, lastID} {
		if del := do(t, "DELETE", r2.URL+"/api/v1/devices/"+id, "", "", "Authorization", "Bearer "+keyResp.body["key"].(string)); del.status != 204 {
			t.Fatalf("delete on replica 2: %d %s", del.status, del.raw)
		}
	}
	for _, rep := range reps {
		if st := deviceStatus(t, rep.URL, at); st != 401 {
			t.Fatalf("deleted device accepted by %s: %d", rep.URL, st)
		}
		if st := deviceStatus(t, rep.URL, last["access_token"].(string)); st != 401 {
			t.Fatalf("deleted device's newest token accepted by %s: %d", rep.URL, st)
		}
		tr := do(t, "POST", rep.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+last["refresh_token"].(string))
		if tr.body["error"] != "invalid_grant" {
			t.Fatalf("deleted device refreshed on %s: %d %s", rep.URL, tr.status, tr.raw)
		}
	}
}

// authorize pairs a device through replica rep and returns its tokens.
func authorize(t *testing.T, approver *testenv.Server, rep *testenv.Process, hw string) map[string]any {
	t.Helper()
	r := do(t, "POST", rep.URL+"/oauth/device/code", form, "client_id=print-client&mode=device&hardware_id="+hw)
	approver.ApproveUserCode(t, r.body["user_code"].(string))
	tr := do(t, "POST", rep.URL+"/oauth/token", form, "grant_type="+url.QueryEscape(pairgate.GrantDeviceCode)+"&client_id=print-client&device_code="+r.body["device_code"].(string))
	if tr.status != 200 {
		t.Fatalf("authorize %s: %d %s", hw, tr.status, tr.raw)
	}
	return tr.body
}

func jwks(t *testing.T, base string) []byte {
	t.Helper()
	resp, err := http.Get(base + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatal(err)
	}
	b, _ := json.Marshal(set)
	return b
}

func kidOf(t *testing.T, tok string) string {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	return jws.Signatures[0].Header.KeyID
}

func claimsOf(t *testing.T, tok string) map[string]any {
	jws, err := jose.ParseSigned(tok, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatal(err)
	}
	var c map[string]any
	json.Unmarshal(jws.UnsafePayloadWithoutVerification(), &c)
	return c
}

func deviceStatus(t *testing.T, base, tok string) int {
	return do(t, "GET", base+"/api/v1/device", "", "", "Authorization", "Bearer "+tok).status
}

// signInAt signs in on a server's sign-in page and returns a client that
// carries the session.
func signInAt(t *testing.T, base, user, pass string) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp := postWith(t, c, base+"/auth/signin/", url.Values{"username": {user}, "password": {pass}, "next": {"/"}})
	if resp.StatusCode != http.StatusSeeOther {
		t.Fatalf("sign in at %s: %d", base, resp.StatusCode)
	}
	return c
}

func postWith(t *testing.T, c *http.Client, u string, v url.Values) *http.Response {
	t.Helper()
	resp, err := c.PostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	return resp
}
