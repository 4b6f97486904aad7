package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/testenv"
)

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func call(t *testing.T, c *http.Client, method, u, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	if c == nil {
		c = http.DefaultClient
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r
}

func want(t *testing.T, r reply, status int) reply {
	t.Helper()
	if r.status != status {
		t.Fatalf("got %d %s, want %d", r.status, r.raw, status)
	}
	if status >= 400 {
		e, _ := r.body["error"].(map[string]any)
		if e == nil || e["code"] == "" || e["message"] == "" {
			t.Fatalf("error without code and message: %s", r.raw)
		}
	}
	return r
}

func basicAuth(user, pass string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(user+":"+pass))
}

// apiKey makes an API key the way `pairgate admin login` does: HTTP Basic
// with the admin's password, every scope.
func apiKey(t *testing.T, s *testenv.Server) string {
	t.Helper()
	return apiKeyWith(t, s, `"read","codes:write","devices:write","clients:write","lockouts:write","printers:write"`)
}

// apiKeyWith makes an admin's API key with the given scopes (a JSON list's
// inside; empty: none given).
func apiKeyWith(t *testing.T, s *testenv.Server, scopes string) string {
	t.Helper()
	body := `{"name":"test"}`
	if scopes != "" {
		body = `{"name":"test","scopes":[` + scopes + `]}`
	}
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", body, "Authorization", basicAuth("admin", testenv.AdminPassword)), 201)
	key, _ := r.body["key"].(string)
	if !strings.HasPrefix(key, "pgk_") {
		t.Fatalf("key %q", key)
	}
	return key
}

func bearer(key string) []string { return []string{"Authorization", "Bearer " + key} }

func TestAPIKeys(t *testing.T) {
	s := testenv.StartServer(t)
	// Wrong passwords and non-admins make no key.
	want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"x"}`, "Authorization", basicAuth("admin", "wrong password")), 401)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"x"}`), 401)
	key := apiKey(t, s)
	admin := []string{"Authorization", basicAuth("admin", testenv.AdminPassword)}
	want(t, call(t, nil, "POST", s.URL+"/api/v1/users", `{"username":"pat","role":"user","password":"pat's password"}`, admin...), 201)
	// Every account may make keys for itself; a user's key reaches what a
	// user may do on the admin side: nothing.
	patKey := want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"x"}`, "Authorization", basicAuth("pat", "pat's password")), 201).body["key"].(string)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices", "", bearer(patKey)...), 403)
	// A key cannot make keys: a stolen key must not be able to persist itself.
	want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"x"}`, bearer(key)...), 403)

	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices", "", bearer(key)...), 200)
	for _, bad := range []string{"Bearer pgk_nope", "Bearer " + strings.Replace(key, "pgk_", "pgr_", 1), "Bearer", "Basic abc"} {
		r := want(t, call(t, nil, "GET", s.URL+"/api/v1/devices", "", "Authorization", bad), 401)
		if r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("401 without WWW-Authenticate for %q", bad)
		}
	}
	list := want(t, call(t, nil, "GET", s.URL+"/api/v1/api-keys", "", bearer(key)...), 200)
	keys := list.body["api_keys"].([]any)
	if len(keys) != 2 || strings.Contains(list.raw, key) {
		t.Fatalf("list: %s", list.raw)
	}
	var id string
	for _, k := range keys {
		if k := k.(map[string]any); k["created_by_name"] == "admin" {
			id = k["id"].(string)
			if k["last_used_at"] == nil {
				t.Fatalf("last use not recorded: %s", list.raw)
			}
		}
	}
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/api-keys/"+id, "", bearer(key)...), 204) // a key may revoke itself
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices", "", bearer(key)...), 401)

	// The key is not in the database, and its use and making are audited.
	files, _ := filepath.Glob(s.DB + "*")
	for _, f := range files {
		b, _ := os.ReadFile(f)
		if bytes.Contains(b, []byte(key)) {
			t.Fatalf("API key in plaintext in %s", f)
		}
	}
	events, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{})
	seen := map[string]bool{}
	for _, e := range events {
		seen[e.Action] = true
		if strings.Contains(fmt.Sprint(e.Details), "wrong password") || strings.Contains(fmt.Sprint(e.Details), testenv.AdminPassword) {
			t.Fatalf("a password reached the audit log: %+v", e)
		}
	}
	for _, a := range []string{pairgate.AuditAPIKeyCreated, pairgate.AuditAPIKeyUsed, pairgate.AuditAPIKeyDeleted, pairgate.AuditSignInFailed, pairgate.AuditSignInSucceeded} {
		if !seen[a] {
			t.Errorf("no %s event", a)
		}
	}
}

func TestCodesAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	before := s.Clock.Now()
	for _, ttl := range pairgate.CodeTTLs {
		r := want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"`+string(ttl)+`"}`, bearer(key)...), 201)
		if r.header.Get("Cache-Control") != "no-store" || len(r.body["code"].(string)) != 19 || r.body["ttl"] != string(ttl) || r.body["ttl_label"] != ttl.Label() {
			t.Fatalf("%s: %s", ttl, r.raw)
		}
		if ttl == pairgate.TTLNever {
			if r.body["expires_at"] != nil {
				t.Fatalf("never: expires_at %v", r.body["expires_at"])
			}
			continue
		}
		exp, err := time.Parse(time.RFC3339, r.body["expires_at"].(string))
		if err != nil || exp.Sub(before) < ttl.Duration()-time.Second || exp.Sub(before) > ttl.Duration()+5*time.Second {
			t.Fatalf("%s: expires_at %v (%v)", ttl, r.body["expires_at"], err)
		}
	}
	for _, bad := range []string{`{"ttl":"1h"}`, `{"ttl":"NEVER"}`, `{}`, `{"ttl":30}`, `{"ttl":"30m","extra":1}`, `not json`, ``} {
		want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", bad, bearer(key)...), 400)
	}
	list := want(t, call(t, nil, "GET", s.URL+"/api/v1/authorization-codes", "", bearer(key)...), 200)
	codes := list.body["authorization_codes"].([]any)
	if len(codes) != 6 {
		t.Fatalf("%d codes listed", len(codes))
	}
	// Expired codes leave the list on their own.
	s.Clock.Advance(31 * time.Minute)
	list = want(t, call(t, nil, "GET", s.URL+"/api/v1/authorization-codes", "", bearer(key)...), 200)
	if n := len(list.body["authorization_codes"].([]any)); n != 5 {
		t.Fatalf("after 31 minutes %d codes listed, want 5", n)
	}
	first := list.body["authorization_codes"].([]any)[0].(map[string]any)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/authorization-codes/"+first["id"].(string), "", bearer(key)...), 204)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/authorization-codes/"+first["id"].(string), "", bearer(key)...), 404)
	redeem := url.Values{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {"print-client"}, "code": {first["code"].(string)}, "device_name": {"X"}}
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(redeem.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("a deleted code redeemed: %d", resp.StatusCode)
	}
}

// redeem authorizes a device with a code and returns its tokens.
func redeem(t *testing.T, s *testenv.Server, code, name, hw string) map[string]any {
	t.Helper()
	v := url.Values{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {"print-client"}, "code": {code}, "device_name": {name}, "hardware_id": {hw}}
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	json.NewDecoder(resp.Body).Decode(&out)
	if resp.StatusCode != 200 {
		t.Fatalf("redeem: %d %v", resp.StatusCode, out)
	}
	return out
}

func TestDevicesAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	code := want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"6h"}`, bearer(key)...), 201).body["code"].(string)
	var toks map[string]any
	for i := range 25 {
		tk := redeem(t, s, code, fmt.Sprintf("Printer %02d", i), fmt.Sprintf("SN-%02d", i))
		if i == 7 {
			toks = tk
		}
	}
	// Paging walks the inventory once.
	var names []string
	next := ""
	for pages := 0; ; pages++ {
		r := want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?limit=10&after="+next, "", bearer(key)...), 200)
		for _, d := range r.body["devices"].([]any) {
			names = append(names, d.(map[string]any)["name"].(string))
		}
		n, ok := r.body["next"].(string)
		if !ok {
			break
		}
		next = n
		if pages > 5 {
			t.Fatal("paging does not end")
		}
	}
	if len(names) != 25 {
		t.Fatalf("%d devices over the pages", len(names))
	}
	found := want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?q=sn-07", "", bearer(key)...), 200).body["devices"].([]any)
	if len(found) != 1 {
		t.Fatalf("search: %v", found)
	}
	d := found[0].(map[string]any)
	if d["name"] != "Printer 07" || d["authorized_by"] != pairgate.AuthByAuthorizationCode || d["mode"] != "device" ||
		d["client_id"] != "print-client" || d["authorization_code_id"] == nil || d["last_ip"] != "127.0.0.1" {
		t.Fatalf("device: %v", d)
	}
	id := d["id"].(string)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices/"+id, "", bearer(key)...), 200)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?limit=0", "", bearer(key)...), 400)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?q="+strings.Repeat("x", 300), "", bearer(key)...), 400)

	// Deleting revokes at once (docs/design.md 2.2).
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/devices/"+id, "", bearer(key)...), 204)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices/"+id, "", bearer(key)...), 404)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/device", "", "Authorization", "Bearer "+toks["access_token"].(string)), 401)
	v := url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {toks["refresh_token"].(string)}}
	req, _ := http.NewRequest("POST", s.URL+"/oauth/token", strings.NewReader(v.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, _ := http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("deleted device refreshed: %d", resp.StatusCode)
	}
}

func TestClientsAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/clients", `{"client_id":"printing-api","name":"Printing API","public":false,
		"grant_types":["refresh_token"],"scopes":["printing"]}`, bearer(key)...), 201)
	sec, _ := r.body["client_secret"].(string)
	if !strings.HasPrefix(sec, "pgs_") || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("confidential client: %s", r.raw)
	}
	// The new client works at once: it may introspect.
	form := "token=garbage"
	req, _ := http.NewRequest("POST", s.URL+"/oauth/introspect", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("printing-api", sec)
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 200 {
		t.Fatalf("introspect with the new client: %v %v", resp.StatusCode, err)
	}
	resp.Body.Close()
	pub := want(t, call(t, nil, "POST", s.URL+"/api/v1/clients", `{"client_id":"kiosk","name":"Kiosk","public":true,
		"grant_types":["urn:ietf:params:oauth:grant-type:device_code","refresh_token"],"scopes":["printing","portal"]}`, bearer(key)...), 201)
	if _, has := pub.body["client_secret"]; has {
		t.Fatalf("a public client got a secret: %s", pub.raw)
	}
	for _, bad := range []string{
		`{"client_id":"kiosk","name":"Again","public":true,"grant_types":["refresh_token"],"scopes":["printing"]}`,
		`{"client_id":"x y","name":"N","public":true,"grant_types":["refresh_token"],"scopes":["printing"]}`,
		`{"client_id":"c2","name":"N","public":true,"grant_types":["password"],"scopes":["printing"]}`,
		`{"client_id":"c3","name":"N","public":true,"grant_types":[],"scopes":["printing"]}`,
		`{"client_id":"c4","name":"N","public":true,"grant_types":["refresh_token"],"scopes":["a\"b"]}`,
		`{"client_id":"c5","name":"","public":true,"grant_types":["refresh_token"],"scopes":["printing"]}`,
		`{"client_id":"c6","name":"N","public":"yes","grant_types":["refresh_token"],"scopes":["printing"]}`,
	} {
		r := call(t, nil, "POST", s.URL+"/api/v1/clients", bad, bearer(key)...)
		if r.status != 400 && r.status != 409 {
			t.Errorf("%s: %d %s", bad, r.status, r.raw)
		}
	}
	list := want(t, call(t, nil, "GET", s.URL+"/api/v1/clients", "", bearer(key)...), 200)
	if strings.Contains(list.raw, sec) || len(list.body["clients"].([]any)) != 3 {
		t.Fatalf("list: %s", list.raw)
	}
	want(t, call(t, nil, "GET", s.URL+"/api/v1/clients/kiosk", "", bearer(key)...), 200)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/clients/pairgate-browser", "", bearer(key)...), 409)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/clients/printing-api", "", bearer(key)...), 204)
	// Deleted, it is refused at once on this replica.
	req, _ = http.NewRequest("POST", s.URL+"/oauth/introspect", strings.NewReader(form))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("printing-api", sec)
	resp, _ = http.DefaultClient.Do(req)
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Fatalf("deleted client still authenticates: %d", resp.StatusCode)
	}
}

func TestUsersAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	// Accounts are a person's to manage: HTTP Basic here, the console
	// elsewhere; an API key never (TestAPIKeysCannotEscalate).
	person := []string{"Authorization", basicAuth("admin", testenv.AdminPassword)}
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/users", `{"username":"Carol","role":"user"}`, person...), 201)
	if r.body["username"] != "carol" || len(r.body["password"].(string)) < 16 {
		t.Fatalf("generated password: %s", r.raw)
	}
	want(t, call(t, nil, "POST", s.URL+"/api/v1/users", `{"username":"carol","role":"user"}`, person...), 409)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/users", `{"username":"dave","role":"root"}`, person...), 400)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/users", `{"username":"dave","role":"user","password":"short"}`, person...), 400)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/carol/password", `{"password":"a long enough password"}`, person...), 200)
	if _, err := s.App.Admin.FindUser(context.Background(), "carol"); err != nil {
		t.Fatal(err)
	}
	// One's own password needs the current one, even for an admin.
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/admin/password", `{"password":"a new long admin password"}`, person...), 400)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/admin/password", `{"password":"a new long admin password","current_password":"not it at all"}`, person...), 400)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/admin/password", `{"current_password":"`+testenv.AdminPassword+`"}`, person...), 400)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/admin/password", `{"password":"a new long admin password","current_password":"`+testenv.AdminPassword+`"}`, person...), 200)
	person = []string{"Authorization", basicAuth("admin", "a new long admin password")}
	// The last admin stays.
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/users/admin", "", person...), 409)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/users/carol", "", person...), 204)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/users/carol", "", person...), 404)
	list := want(t, call(t, nil, "GET", s.URL+"/api/v1/users", "", bearer(key)...), 200)
	if len(list.body["users"].([]any)) != 1 || strings.Contains(list.raw, "argon2") {
		t.Fatalf("users: %s", list.raw)
	}
}

func TestAuditAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	for range 3 {
		id := want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, bearer(key)...), 201).body["id"].(string)
		want(t, call(t, nil, "DELETE", s.URL+"/api/v1/authorization-codes/"+id, "", bearer(key)...), 204)
	}
	r := want(t, call(t, nil, "GET", s.URL+"/api/v1/audit-events?action=code.&limit=4", "", bearer(key)...), 200)
	events := r.body["audit_events"].([]any)
	if len(events) != 4 || r.body["next"] == nil {
		t.Fatalf("page: %s", r.raw)
	}
	e := events[0].(map[string]any)
	if e["action"] != pairgate.AuditCodeDeleted || e["actor_type"] != pairgate.ActorAPIKey || e["ip"] != "127.0.0.1" {
		t.Fatalf("newest event: %v", e)
	}
	r = want(t, call(t, nil, "GET", s.URL+"/api/v1/audit-events?action=code.&limit=4&before="+r.body["next"].(string), "", bearer(key)...), 200)
	if n := len(r.body["audit_events"].([]any)); n != 2 || r.body["next"] != nil {
		t.Fatalf("second page: %s", r.raw)
	}
	want(t, call(t, nil, "GET", s.URL+"/api/v1/audit-events?since=yesterday", "", bearer(key)...), 400)
	since := url.QueryEscape(s.Clock.Now().Add(time.Hour).UTC().Format(time.RFC3339))
	r = want(t, call(t, nil, "GET", s.URL+"/api/v1/audit-events?since="+since, "", bearer(key)...), 200)
	if n := len(r.body["audit_events"].([]any)); n != 0 {
		t.Fatalf("events from the future: %d", n)
	}
}

func TestAdminAPIAnswersInItsOwnFormat(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	r := want(t, call(t, nil, "PUT", s.URL+"/api/v1/devices", "", bearer(key)...), 405)
	if r.header.Get("Allow") != "GET, HEAD" {
		t.Fatalf("Allow %q", r.header.Get("Allow"))
	}
	want(t, call(t, nil, "GET", s.URL+"/api/v1/nothing-here", "", bearer(key)...), 404)
	// Answers name devices, codes and people: no cache keeps any of them.
	for _, path := range []string{"/api/v1/devices", "/api/v1/authorization-codes", "/api/v1/clients", "/api/v1/users", "/api/v1/api-keys", "/api/v1/audit-events"} {
		if r := want(t, call(t, nil, "GET", s.URL+path, "", bearer(key)...), 200); r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("GET %s: Cache-Control %q", path, r.header.Get("Cache-Control"))
		}
	}
	// A cross-site request is refused even with a valid credential.
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, append(bearer(key), "Sec-Fetch-Site", "cross-site")...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, append(bearer(key), "Origin", "https://evil.example")...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m","x":"`+strings.Repeat("a", 70<<10)+`"}`, bearer(key)...), 413)
}

// TestConsoleSessionOpensTheAPI: an admin signed in to the console uses
// the API with the session cookie; a signed-in user who is not an admin
// is refused.
func TestConsoleSessionOpensTheAPI(t *testing.T) {
	s := testenv.StartServer(t)
	if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(), "pat", "user", "pat's password"); err != nil {
		t.Fatal(err)
	}
	signIn := func(user, pass string) *http.Client {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		v := url.Values{"username": {user}, "password": {pass}, "next": {"/"}}
		req, _ := http.NewRequest("POST", s.URL+"/auth/signin/", strings.NewReader(v.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil || resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in as %s: %v %v", user, resp.StatusCode, err)
		}
		resp.Body.Close()
		return c
	}
	adminBrowser := signIn("admin", testenv.AdminPassword)
	want(t, call(t, adminBrowser, "GET", s.URL+"/api/v1/devices", ""), 200)
	want(t, call(t, adminBrowser, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, "Sec-Fetch-Site", "same-origin"), 201)
	want(t, call(t, adminBrowser, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, "Sec-Fetch-Site", "cross-site"), 403)
	userBrowser := signIn("pat", "pat's password")
	want(t, call(t, userBrowser, "GET", s.URL+"/api/v1/devices", ""), 403)
}

func adminActor() admin.Actor { return admin.HostActor("test") }

// TestAPIKeysCannotEscalate: case 3 of issue 11. A key reaches what its
// scopes and its owner's role allow, defaults to least privilege, and can
// never make an admin, reset a password or make a key, whatever its
// scopes.
func TestAPIKeysCannotEscalate(t *testing.T) {
	s := testenv.StartServer(t)
	all := apiKey(t, s)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/users", `{"username":"mallory","role":"admin","password":"mallory's password"}`, bearer(all)...), 403)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/admin/password", `{}`, bearer(all)...), 403)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/admin/password", `{"password":"taken over by a key"}`, bearer(all)...), 403)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/users/admin", "", bearer(all)...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"persist","scopes":["read"]}`, bearer(all)...), 403)
	if _, err := s.App.Store.GetUserByUsername(context.Background(), "mallory"); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("a key made an account: %v", err)
	}
	// The admin's password still works: nothing was reset.
	want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"k"}`, "Authorization", basicAuth("admin", testenv.AdminPassword)), 201)

	// A key made without scopes reads, and does nothing else.
	readOnly := apiKeyWith(t, s, "")
	r := want(t, call(t, nil, "GET", s.URL+"/api/v1/api-keys", "", bearer(readOnly)...), 200)
	if !strings.Contains(r.raw, `"scopes":["read"]`) {
		t.Fatalf("default scopes: %s", r.raw)
	}
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices", "", bearer(readOnly)...), 200)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, bearer(readOnly)...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/clients", `{"client_id":"x","name":"X","public":true,"grant_types":["refresh_token"],"scopes":["printing"]}`, bearer(readOnly)...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/clear", `{"username":"admin"}`, bearer(readOnly)...), 403)
	// A codes key makes codes, and deletes no devices.
	codes := apiKeyWith(t, s, `"codes:write"`)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, bearer(codes)...), 201)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/devices/dev_x", "", bearer(codes)...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"x","scopes":["everything"]}`, "Authorization", basicAuth("admin", testenv.AdminPassword)), 400)

	// A key stops reaching what its owner's role no longer allows: the
	// owner demoted to auditor keeps reading, no longer writes.
	if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(), "ops", "admin", "ops long password"); err != nil {
		t.Fatal(err)
	}
	opsKey := want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"ops","scopes":["read","codes:write"]}`, "Authorization", basicAuth("ops", "ops long password")), 201).body["key"].(string)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, bearer(opsKey)...), 201)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/ops/role", `{"role":"auditor"}`, bearer(all)...), 403)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/ops/role", `{"role":"superuser"}`, "Authorization", basicAuth("admin", testenv.AdminPassword)), 400)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/users/ops/role", `{"role":"auditor"}`, "Authorization", basicAuth("admin", testenv.AdminPassword)), 200)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/authorization-codes", "", bearer(opsKey)...), 200)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/authorization-codes", `{"ttl":"30m"}`, bearer(opsKey)...), 403)
}

// TestNoAdminLeft: case 4 of issue 11. Two admins deleting (or demoting)
// each other at the same moment leave one admin.
func TestNoAdminLeft(t *testing.T) {
	for _, op := range []string{"delete", "demote"} {
		t.Run(op, func(t *testing.T) {
			s := testenv.StartServer(t)
			if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(), "ops", "admin", "ops long password"); err != nil {
				t.Fatal(err)
			}
			act := func(as, pass, target string) int {
				if op == "delete" {
					return call(t, nil, "DELETE", s.URL+"/api/v1/users/"+target, "", "Authorization", basicAuth(as, pass)).status
				}
				return call(t, nil, "PUT", s.URL+"/api/v1/users/"+target+"/role", `{"role":"user"}`, "Authorization", basicAuth(as, pass)).status
			}
			codes := make(chan int, 2)
			go func() { codes <- act("admin", testenv.AdminPassword, "ops") }()
			go func() { codes <- act("ops", "ops long password", "admin") }()
			a, b := <-codes, <-codes
			users, err := s.App.Store.ListUsers(context.Background())
			if err != nil {
				t.Fatal(err)
			}
			admins := 0
			for _, u := range users {
				if u.Role == pairgate.RoleAdmin {
					admins++
				}
			}
			if admins != 1 {
				t.Fatalf("%s at once answered %d and %d and left %d admins", op, a, b, admins)
			}
		})
	}
}

// TestLockoutsCanBeOutwaitedOrLifted: guessing a password locks the
// account out (docs/design.md 2.6); the person can wait, or an admin lifts it.
func TestLockoutsCanBeOutwaitedOrLifted(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(), "ops", "admin", "ops password 1"); err != nil {
		t.Fatal(err)
	}
	try := func(pass string) int {
		return call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"k"}`, "Authorization", basicAuth("OPS", pass)).status
	}
	for range 20 {
		if st := try("guess"); st != 401 {
			t.Fatalf("guess: %d", st)
		}
	}
	if st := try("ops password 1"); st != 429 {
		t.Fatalf("after 20 guesses the right password gets %d, want 429 (locked out)", st)
	}
	want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/clear", `{}`, bearer(key)...), 400)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/clear", `{"ip":"not an ip"}`, bearer(key)...), 400)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/clear", `{"username":"ops"}`, bearer(key)...), 200)
	if fmt.Sprint(r.body["cleared"]) != "[signin-account]" {
		t.Fatalf("cleared %v", r.body["cleared"])
	}
	if st := try("ops password 1"); st != 201 {
		t.Fatalf("after the admin lifted the lock-out: %d", st)
	}
	// Without an admin, the lock-out ends with its window.
	for range 20 {
		try("guess")
	}
	if st := try("ops password 1"); st != 429 {
		t.Fatalf("not locked out again: %d", st)
	}
	s.Clock.Advance(10 * time.Minute)
	if st := try("ops password 1"); st != 201 {
		t.Fatalf("after the window: %d", st)
	}
	events, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditRateLimitUnlocked})
	if len(events) != 1 {
		t.Fatalf("%d unlock events", len(events))
	}
}

// TestClientDeviceFlowPolicyAPI: a client's phishing defences are set at
// creation or replaced later, come back normalized, and bad input is a
// 400 that changes nothing.
func TestClientDeviceFlowPolicyAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/clients", `{"client_id":"kiosk","name":"Kiosk","public":true,
		"grant_types":["urn:ietf:params:oauth:grant-type:device_code"],"scopes":["printing"],
		"device_flow_networks":["10.1.2.3/16","192.0.2.7"],"approval_network_prefix":24}`, bearer(key)...), 201)
	if fmt.Sprint(r.body["device_flow_networks"]) != "[10.1.0.0/16 192.0.2.7/32]" || r.body["approval_network_prefix"] != 24.0 ||
		r.body["approval_network_prefix_v6"] != 64.0 || r.body["device_flow_disabled"] != false {
		t.Fatalf("created: %s", r.raw)
	}
	r = want(t, call(t, nil, "PUT", s.URL+"/api/v1/clients/print-client/device-flow", `{"device_flow_disabled":true}`, bearer(key)...), 200)
	if r.body["device_flow_disabled"] != true || fmt.Sprint(r.body["device_flow_networks"]) != "[]" || r.body["approval_network_prefix"] != 0.0 {
		t.Fatalf("set: %s", r.raw)
	}
	for _, bad := range []string{`{"device_flow_networks":["10.0.0.0/33"]}`, `{"device_flow_networks":["somewhere"]}`,
		`{"approval_network_prefix":33}`, `{"approval_network_prefix_v6":-1}`, `{"device_flow_disabled":"yes"}`} {
		want(t, call(t, nil, "PUT", s.URL+"/api/v1/clients/print-client/device-flow", bad, bearer(key)...), 400)
	}
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/clients/nope/device-flow", `{}`, bearer(key)...), 404)
	got := want(t, call(t, nil, "GET", s.URL+"/api/v1/clients/print-client", "", bearer(key)...), 200)
	if got.body["device_flow_disabled"] != true {
		t.Fatalf("bad input changed the policy: %s", got.raw)
	}
	ev, err := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditClientDeviceFlow})
	if err != nil || len(ev) != 1 || ev[0].Target != "print-client" || ev[0].Details["device_flow_disabled"] != "true" {
		t.Fatalf("audit: %+v %v", ev, err)
	}
	// A read-only key may not change it.
	ro := apiKeyWith(t, s, `"read"`)
	want(t, call(t, nil, "PUT", s.URL+"/api/v1/clients/print-client/device-flow", `{}`, bearer(ro)...), 403)
}
