package server_test

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, u, contentType, body string, header ...string) reply {
	t.Helper()
	r, err := doErr(method, u, contentType, body, header...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// noRedirects answers with the redirect itself, so that a test sees where
// a page sends the browser.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// doErr sends a request and decodes a JSON answer.
func doErr(method, u, contentType, body string, header ...string) (reply, error) {
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	if err != nil {
		return reply{}, err
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	json.Unmarshal(raw, &r.body)
	return r, err
}

const form = "application/x-www-form-urlencoded"

// TestBadInputGetsAClearErrorAndChangesNothing: docs/design.md 2.8. Every
// malformed, oversized, misdirected or unauthenticated request gets a
// well-formed JSON error with the right status, never a 500, and the
// database is exactly as it was.
func TestBadInputGetsAClearErrorAndChangesNothing(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testBadInput(t, testenv.StartServer(t)) })
	t.Run("PostgreSQL", func(t *testing.T) { testBadInput(t, testenv.StartServer(t, testenv.WithPostgres(t))) })
}

// validDescription is RFC 6749 §5.2's rule for error_description:
// printable ASCII except '"' and '\'.
func validDescription(d string) bool {
	for i := 0; i < len(d); i++ {
		if c := d[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			return false
		}
	}
	return true
}

func testBadInput(t *testing.T, s *testenv.Server) {
	basicPub := "Basic " + base64.StdEncoding.EncodeToString([]byte("print-client:"))
	dc := url.QueryEscape(pairgate.GrantDeviceCode)
	cases := []struct {
		name, method, path, ctype, body string
		header                          []string
		status                          int
		code                            string
	}{
		{"form that does not decode", "POST", "/oauth/token", form, "grant_type=%zz&client_id=print-client", nil, 400, "invalid_request"},
		{"truncated JSON", "POST", "/oauth/token", form, `{"grant_type":`, nil, 400, "invalid_request"},
		{"JSON with trailing data", "POST", "/oauth/pair/", form, `{"mode":"device"} {"x":1}`, []string{"Authorization", basicPub}, 400, "invalid_request"},
		{"nested JSON", "POST", "/oauth/pair/", form, `{"mode":{"a":1}}`, []string{"Authorization", basicPub}, 400, "invalid_request"},
		{"oversized body", "POST", "/oauth/device/code", form, "client_id=print-client&x=" + strings.Repeat("a", 100<<10), nil, 413, "invalid_request"},
		{"oversized JSON", "POST", "/oauth/pair/", "application/json", `{"mode":"device","x":"` + strings.Repeat("a", 100<<10) + `"}`, []string{"Authorization", basicPub}, 413, "invalid_request"},
		{"unknown grant type", "POST", "/oauth/token", form, "grant_type=password&client_id=print-client&username=a&password=b", nil, 400, "unsupported_grant_type"},
		{"missing grant type", "POST", "/oauth/token", form, "client_id=print-client", nil, 400, "invalid_request"},
		{"parameter given twice", "POST", "/oauth/token", form, "grant_type=refresh_token&grant_type=password&client_id=print-client", nil, 400, "invalid_request"},
		{"GET on the token endpoint", "GET", "/oauth/token", "", "", nil, 405, "invalid_request"},
		{"PUT on device authorization", "PUT", "/oauth/device/code", form, "client_id=print-client", nil, 405, "invalid_request"},
		{"DELETE on pairing", "DELETE", "/oauth/pair/", "", "", nil, 405, "invalid_request"},
		{"unknown client", "POST", "/oauth/device/code", form, "client_id=nobody", nil, 401, "invalid_client"},
		{"no client", "POST", "/oauth/token", form, "grant_type=refresh_token&refresh_token=x", nil, 401, "invalid_client"},
		{"Basic that is not base64", "POST", "/oauth/pair/", form, `{"mode":"device"}`, []string{"Authorization", "Basic %%%"}, 401, "invalid_client"},
		{"secret for a public client", "POST", "/oauth/device/code", form, "client_id=print-client&client_secret=guess", nil, 401, "invalid_client"},
		{"Basic and a different body client_id", "POST", "/oauth/token", form, "grant_type=refresh_token&client_id=other", []string{"Authorization", basicPub}, 400, "invalid_request"},
		{"scope the client may not have", "POST", "/oauth/device/code", form, "client_id=print-client&scope=admin", nil, 400, "invalid_scope"},
		{"malformed scope", "POST", "/oauth/device/code", form, "client_id=print-client&scope=%22quoted%22", nil, 400, "invalid_scope"},
		{"unknown mode", "POST", "/oauth/device/code", form, "client_id=print-client&mode=root", nil, 400, "invalid_request"},
		{"control characters in hardware_id", "POST", "/oauth/device/code", form, "client_id=print-client&hardware_id=a%00b", nil, 400, "invalid_request"},
		{"overlong device_name", "POST", "/oauth/device/code", form, "client_id=print-client&device_name=" + strings.Repeat("n", 200), nil, 400, "invalid_request"},
		{"pairing without mode", "POST", "/oauth/pair/", form, `{"scope":"printing"}`, []string{"Authorization", basicPub}, 400, "invalid_request"},
		{"garbage device code", "POST", "/oauth/token", form, "grant_type=" + dc + "&client_id=print-client&device_code=../../etc/passwd", nil, 400, "invalid_grant"},
		{"well-formed unknown device code", "POST", "/oauth/token", form, "grant_type=" + dc + "&client_id=print-client&device_code=" + secret.Token(secret.PrefixDeviceCode), nil, 400, "invalid_grant"},
		{"missing device code", "POST", "/oauth/token", form, "grant_type=" + dc + "&client_id=print-client", nil, 400, "invalid_request"},
		{"garbage pairing code", "POST", "/oauth/access_token/", form, "grant_type=pairing_code&pairing_code=%27%20OR%201%3D1", []string{"Authorization", basicPub}, 400, "invalid_grant"},
		{"garbage refresh token", "POST", "/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token=pgr_x", nil, 400, "invalid_grant"},
		{"unknown refresh token", "POST", "/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token=" + secret.Token(secret.PrefixRefreshToken), nil, 400, "invalid_grant"},
		{"unknown OAuth path", "POST", "/oauth/authorize", form, "", nil, 404, "not_found"},
		{"revoke without token", "POST", "/oauth/revoke", form, "client_id=print-client", nil, 400, "invalid_request"},
		// Case 1 of issue 11: text that is not UTF-8 is the caller's
		// mistake on every store (PostgreSQL refuses to compare it).
		{"non-UTF-8 client_id at the token endpoint", "POST", "/oauth/token", form, "grant_type=refresh_token&refresh_token=x&client_id=%ff", nil, 400, "invalid_request"},
		{"non-UTF-8 client_id at device authorization", "POST", "/oauth/device/code", form, "client_id=%ff", nil, 400, "invalid_request"},
		{"non-UTF-8 client_id at revocation", "POST", "/oauth/revoke", form, "token=x&client_id=%ff", nil, 400, "invalid_request"},
		{"non-UTF-8 client_id at introspection", "POST", "/oauth/introspect", form, "token=x&client_id=%ff", nil, 400, "invalid_request"},
		{"non-UTF-8 Basic client id", "POST", "/oauth/token", form, "grant_type=refresh_token&refresh_token=x", []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("%ff:"))}, 400, "invalid_request"},
		{"non-UTF-8 device name", "POST", "/oauth/device/code", form, "client_id=print-client&device_name=%c3%28", nil, 400, "invalid_request"},
		{"non-UTF-8 in a JSON body", "POST", "/oauth/pair/", form, "{\"mode\":\"device\",\"hardware_id\":\"\xff\"}", []string{"Authorization", basicPub}, 400, "invalid_request"},
		{"a JSON parameter given twice", "POST", "/oauth/pair/", form, `{"mode":"device","mode":"user"}`, []string{"Authorization", basicPub}, 400, "invalid_request"},
	}
	before := testenv.RowCounts(t, s.DB)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r := do(t, tc.method, s.URL+tc.path, tc.ctype, tc.body, tc.header...)
			if r.status != tc.status || r.body["error"] != tc.code {
				t.Fatalf("got %d %q, want %d %s", r.status, r.raw, tc.status, tc.code)
			}
			if r.header.Get("Content-Type") != "application/json" {
				t.Errorf("Content-Type %q", r.header.Get("Content-Type"))
			}
			if d, _ := r.body["error_description"].(string); d == "" && r.status != 404 {
				t.Errorf("no error_description: %s", r.raw)
			} else if !validDescription(d) {
				t.Errorf("error_description outside RFC 6749 §5.2: %q", d)
			}
			if r.status == 401 && r.header.Get("WWW-Authenticate") == "" {
				t.Error("401 without WWW-Authenticate")
			}
			if r.status == 405 && r.header.Get("Allow") == "" {
				t.Error("405 without Allow")
			}
		})
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("refused requests changed the database:\nbefore %v\nafter  %v", before, after)
	}
	// The device API refuses missing and bad tokens in its own format.
	for _, h := range []string{"", "Bearer", "Bearer garbage", "Basic abc", "Bearer " + strings.Repeat("a", 9000)} {
		r := do(t, "GET", s.URL+"/api/v1/device", "", "", "Authorization", h)
		if r.status != 401 || r.header.Get("WWW-Authenticate") == "" {
			t.Errorf("device API with %.20q: %d %s", h, r.status, r.raw)
		}
	}

	// The admin API: its own error format, never a 500, nothing written.
	admin := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+testenv.AdminPassword))}
	key := do(t, "POST", s.URL+"/api/v1/api-keys", "application/json", `{"name":"bad input","scopes":["read","codes:write","devices:write","clients:write"]}`, admin...).body["key"].(string)
	bearer := []string{"Authorization", "Bearer " + key}
	do(t, "GET", s.URL+"/api/v1/devices", "", "", bearer...) // the key's first use is an audit event of its own
	before = testenv.RowCounts(t, s.DB)
	for _, tc := range []struct {
		name, method, path, body string
		status                   int
		says                     string
	}{
		{"non-UTF-8 device id", "GET", "/api/v1/devices/%ff", "", 404, ""},
		{"non-UTF-8 device id to delete", "DELETE", "/api/v1/devices/%ff%fe", "", 404, ""},
		{"non-UTF-8 client id", "GET", "/api/v1/clients/%ff", "", 404, ""},
		{"non-UTF-8 search", "GET", "/api/v1/devices?q=%ff", "", 400, "UTF-8"},
		{"non-UTF-8 account", "DELETE", "/api/v1/users/%ff", "", 404, ""},
		{"non-UTF-8 in a JSON body", "POST", "/api/v1/clients", "{\"client_id\":\"x\",\"name\":\"\xff\",\"public\":true,\"grant_types\":[\"refresh_token\"],\"scopes\":[\"printing\"]}", 400, "UTF-8"},
		// Case 12: one field, one spelling.
		{"a key given twice", "POST", "/api/v1/authorization-codes", `{"ttl":"6h","ttl":"never"}`, 400, "more than once"},
		{"a key in other letter case", "POST", "/api/v1/authorization-codes", `{"ttl":"6h","TTL":"never"}`, 400, ""},
		{"a key in upper case alone", "POST", "/api/v1/authorization-codes", `{"TTL":"never"}`, 400, "lower case"},
		{"a nested key twice", "POST", "/api/v1/clients", `{"client_id":"x","name":"X","public":true,"grant_types":["refresh_token"],"scopes":["printing"],"extra":{"a":1,"a":2}}`, 400, ""},
		{"a wrong type", "POST", "/api/v1/authorization-codes", `{"ttl":30}`, 400, "must be a string"},
		{"a wrong type in a list", "POST", "/api/v1/clients", `{"client_id":"x","name":"X","public":"yes","grant_types":["refresh_token"],"scopes":["printing"]}`, 400, "must be true or false"},
		{"an unknown field", "POST", "/api/v1/authorization-codes", `{"ttl":"6h","tll":"x"}`, 400, "unknown field 'tll'"},
	} {
		t.Run("admin API: "+tc.name, func(t *testing.T) {
			r := do(t, tc.method, s.URL+tc.path, "application/json", tc.body, bearer...)
			e, _ := r.body["error"].(map[string]any)
			msg, _ := e["message"].(string)
			if r.status != tc.status || msg == "" || !strings.Contains(msg, tc.says) {
				t.Fatalf("got %d %s, want %d saying %q", r.status, r.raw, tc.status, tc.says)
			}
			for _, goType := range []string{"int", "string]", "[]", "admin.", "adminapi.", "json:"} {
				if strings.Contains(msg, goType) {
					t.Errorf("the message shows Go's words (%q): %s", goType, msg)
				}
			}
		})
	}
	if after := testenv.RowCounts(t, s.DB); !maps.Equal(before, after) {
		t.Fatalf("refused admin requests changed the database:\nbefore %v\nafter  %v", before, after)
	}

	// A User-Agent cut at a byte count could split a character, which
	// PostgreSQL refuses: 255 ASCII bytes and then an é.
	ua := strings.Repeat("a", 255) + "é"
	if r := do(t, "POST", s.URL+"/oauth/device/code", form, "client_id=print-client", "User-Agent", ua); r.status != 200 {
		t.Errorf("device authorization with a long User-Agent: %d %s", r.status, r.raw)
	}
	if r := do(t, "POST", s.URL+"/oauth/pair/", form, `{"mode":"device"}`, "User-Agent", ua, "Authorization", basicPub); r.status != 200 {
		t.Errorf("pairing with a long User-Agent: %d %s", r.status, r.raw)
	}
	v := url.Values{"username": {"admin"}, "password": {testenv.AdminPassword}}
	if r := do(t, "POST", s.URL+"/auth/signin/", form, v.Encode(), "User-Agent", ua); r.status != 303 {
		t.Errorf("sign-in with a long User-Agent: %d %s", r.status, r.raw)
	}
	code, _ := s.CreateCode(t, pairgate.TTL30Minutes)
	if r := do(t, "POST", s.URL+"/portal", form, url.Values{"code": {code}}.Encode(), "User-Agent", ua); r.status != 303 {
		t.Errorf("the portal with a long User-Agent: %d %s", r.status, r.raw)
	}
}

// TestNoPlaintextSecretInTheDatabase: docs/design.md 2.5. After device flows,
// pairings, refreshes and a confidential client, no secret that left the
// server is found in the database files, in any spelling a person could
// type it in, nor in the server's debug logs.
func TestNoPlaintextSecretInTheDatabase(t *testing.T) {
	s := testenv.StartServer(t)
	var secrets []string
	keep := func(v any) string {
		str := fmt.Sprint(v)
		secrets = append(secrets, str)
		return str
	}
	dc := url.QueryEscape(pairgate.GrantDeviceCode)
	for i := range 3 {
		r := do(t, "POST", s.URL+"/oauth/device/code", form, fmt.Sprintf("client_id=print-client&mode=device&hardware_id=HW-%d", i))
		code := keep(r.body["device_code"])
		user := keep(r.body["user_code"])
		secrets = append(secrets, strings.ReplaceAll(user, "-", ""), strings.ToLower(user))
		s.ApproveUserCode(t, user)
		tr := do(t, "POST", s.URL+"/oauth/token", form, "grant_type="+dc+"&client_id=print-client&device_code="+code)
		keep(tr.body["access_token"])
		rt := keep(tr.body["refresh_token"])
		tr = do(t, "POST", s.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt)
		keep(tr.body["refresh_token"])
		// Refused requests that carry secrets: a spent code, a reused token.
		do(t, "POST", s.URL+"/oauth/token", form, "grant_type="+dc+"&client_id=print-client&device_code="+code)
		do(t, "POST", s.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt)
	}
	basicPub := "Basic " + base64.StdEncoding.EncodeToString([]byte("print-client:"))
	r := do(t, "POST", s.URL+"/oauth/pair/", form, `{"mode":"device","scope":"printing"}`, "Authorization", basicPub)
	pc := keep(r.body["pairing_code"])
	s.ApprovePairingCode(t, pc)
	tr := do(t, "POST", s.URL+"/oauth/access_token/", form, "grant_type=pairing_code&scope=printing&pairing_code="+pc, "Authorization", basicPub)
	keep(tr.body["refresh_token"])
	secrets = append(secrets, testenv.AdminPassword)

	// Make SQLite write the WAL back into the main file too, then read
	// every file of the database.
	s.App.Store.IntegrityCheck(t.Context())
	files, _ := filepath.Glob(s.DB + "*")
	if len(files) == 0 {
		t.Fatal("no database files found")
	}
	var all []byte
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		all = append(all, b...)
	}
	if len(all) < 10000 {
		t.Fatalf("suspiciously small database (%d bytes)", len(all))
	}
	for _, sec := range secrets {
		if len(sec) < 8 {
			t.Fatalf("secret %q too short to search for", sec)
		}
		if bytes.Contains(all, []byte(sec)) {
			t.Errorf("plaintext secret %.12s… found in the database", sec)
		}
	}
	// Nor in the logs, which a test server writes at debug level: every
	// request, refused or not, is in there.
	logs := s.Logs()
	if len(logs) < 1000 {
		t.Fatalf("suspiciously short logs (%d bytes)", len(logs))
	}
	for _, sec := range secrets {
		if bytes.Contains(logs, []byte(sec)) {
			t.Errorf("secret %.12s… found in the logs", sec)
		}
	}
	// The master key is not in the database either.
	mk, _ := os.ReadFile(filepath.Join(s.DataDir, "master.key"))
	if raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(string(mk))); err != nil || bytes.Contains(all, raw) {
		t.Errorf("master key found in the database (or unreadable: %v)", err)
	}
}

// TestEveryTokenResponseIsNoStore covers the endpoints that hand out codes
// or tokens, their errors included.
func TestEveryTokenResponseIsNoStore(t *testing.T) {
	s := testenv.StartServer(t)
	basicPub := "Basic " + base64.StdEncoding.EncodeToString([]byte("print-client:"))
	for _, r := range []reply{
		do(t, "POST", s.URL+"/oauth/device/code", form, "client_id=print-client"),
		do(t, "POST", s.URL+"/oauth/pair/", form, `{"mode":"user"}`, "Authorization", basicPub),
		do(t, "POST", s.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token=x"),
		do(t, "POST", s.URL+"/oauth/token", form, "client_id=nobody"),
	} {
		if r.header.Get("Cache-Control") != "no-store" {
			t.Errorf("%d %s: Cache-Control %q", r.status, r.raw, r.header.Get("Cache-Control"))
		}
	}
}

func TestHealthAndReadiness(t *testing.T) {
	s := testenv.StartServer(t)
	for _, p := range []string{"/healthz", "/readyz"} {
		if r := do(t, "GET", s.URL+p, "", ""); r.status != 200 {
			t.Errorf("%s: %d %s", p, r.status, r.raw)
		}
	}
	s.App.Store.Close()
	if r := do(t, "GET", s.URL+"/readyz", "", ""); r.status != 503 {
		t.Errorf("/readyz with the store closed: %d %s", r.status, r.raw)
	}
	if r := do(t, "GET", s.URL+"/healthz", "", ""); r.status != 200 {
		t.Errorf("/healthz with the store closed: %d", r.status)
	}
}

func TestMetrics(t *testing.T) {
	s := testenv.StartServer(t)
	dc := url.QueryEscape(pairgate.GrantDeviceCode)
	r := do(t, "POST", s.URL+"/oauth/device/code", form, "client_id=print-client&mode=device&hardware_id=M1")
	do(t, "POST", s.URL+"/oauth/token", form, "grant_type="+dc+"&client_id=print-client&device_code="+r.body["device_code"].(string))
	do(t, "POST", s.URL+"/oauth/device/code", form, "client_id=print-client")
	do(t, "GET", s.URL+"/no/such/page", "", "")
	// The metrics are served on their own listener (loopback by default),
	// never on the public one.
	if r := do(t, "GET", s.URL+"/metrics", "", ""); r.status != http.StatusNotFound || strings.Contains(r.raw, "pairgate_") {
		t.Fatalf("/metrics on the public listener: %d", r.status)
	}
	if s.App.MetricsAddr() == "" {
		t.Fatal("no metrics listener")
	}
	resp, err := http.Get("http://" + s.App.MetricsAddr() + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	for _, want := range []string{
		`pairgate_http_requests_total{code="200",method="POST",route="POST /oauth/device/code"} 2`,
		`pairgate_grants_total{grant_type="urn:ietf:params:oauth:grant-type:device_code",outcome="authorization_pending"} 1`,
		`pairgate_http_request_duration_seconds_count{route="POST /oauth/token"} 1`,
		`pairgate_pending_grants 2`,
		`pairgate_devices 0`,
		`pairgate_http_requests_total{code="404",method="GET",route="/"} 2`,
	} {
		if !strings.Contains(string(body), want) {
			t.Errorf("/metrics lacks %s", want)
		}
	}
	// The two device authorizations went through SQLite's group committer.
	var writes float64
	for _, line := range strings.Split(string(body), "\n") {
		if v, ok := strings.CutPrefix(line, "pairgate_store_commit_writes_sum "); ok {
			writes, _ = strconv.ParseFloat(v, 64)
		}
	}
	if writes < 2 {
		t.Errorf("pairgate_store_commit_writes_sum is %v, want at least the 2 device authorizations", writes)
	}
	if t.Failed() {
		t.Logf("metrics:\n%s", body)
	}
}

func TestAuditLogRecordsSecurityEvents(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.AuditStdout = true }))
	dc := url.QueryEscape(pairgate.GrantDeviceCode)
	r := do(t, "POST", s.URL+"/oauth/device/code", form, "client_id=print-client&mode=device&hardware_id=AUD-1", "User-Agent", "printer/1.0")
	a := s.ApproveUserCode(t, r.body["user_code"].(string))
	tr := do(t, "POST", s.URL+"/oauth/token", form, "grant_type="+dc+"&client_id=print-client&device_code="+r.body["device_code"].(string))
	rt := tr.body["refresh_token"].(string)
	do(t, "POST", s.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt)
	s.Clock.Advance(time.Minute)
	do(t, "POST", s.URL+"/oauth/token", form, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt)
	r = do(t, "POST", s.URL+"/oauth/device/code", form, "client_id=print-client")
	s.DenyUserCode(t, r.body["user_code"].(string))

	events, err := s.App.Store.ListAuditEvents(t.Context(), pairgate.AuditFilter{})
	if err != nil {
		t.Fatal(err)
	}
	byAction := map[string]*pairgate.AuditEvent{}
	for _, e := range events {
		byAction[e.Action] = e
	}
	admin := s.Admin(t)
	if e := byAction[pairgate.AuditPairingApproved]; e == nil || e.ActorID != admin.ID || e.ActorName != "admin" || e.Target != a.DeviceID || e.Details["client_id"] != "print-client" {
		t.Errorf("approval: %+v", e)
	}
	if e := byAction[pairgate.AuditDeviceAuthorized]; e == nil || e.Target != a.DeviceID || e.IP != "127.0.0.1" || e.Details["grant_type"] != pairgate.GrantDeviceCode || e.Details["hardware_id"] != "AUD-1" {
		t.Errorf("device authorized: %+v", e)
	}
	if e := byAction[pairgate.AuditRefreshReuse]; e == nil || e.Target != a.DeviceID || e.ActorID != "print-client" {
		t.Errorf("reuse: %+v", e)
	}
	if e := byAction[pairgate.AuditDeviceRevoked]; e == nil || e.Target != a.DeviceID || e.ActorID != "print-client" {
		t.Errorf("device revoked by reuse detection: %+v", e)
	}
	if e := byAction[pairgate.AuditPairingDenied]; e == nil || e.ActorID != admin.ID {
		t.Errorf("denial: %+v", e)
	}
	if len(events) != 5 {
		t.Errorf("%d events, want 5 (a refresh is not a security event): %v", len(events), events)
	}
	// The same events went to stdout as JSON lines.
	got := string(s.Logs())
	for _, e := range events {
		if !strings.Contains(got, `"id":"`+e.ID+`"`) || !strings.Contains(got, `"action":"`+e.Action+`"`) {
			t.Errorf("event %s %s not on stdout:\n%s", e.ID, e.Action, got)
		}
	}
	if strings.Contains(got, rt) {
		t.Error("a refresh token reached the audit stream")
	}
}
