package oauth_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"golang.org/x/oauth2"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

func oauthConfig(s *testenv.Server) *oauth2.Config {
	return &oauth2.Config{
		ClientID: pairgate.DefaultClientID,
		Endpoint: oauth2.Endpoint{
			DeviceAuthURL: s.URL + "/oauth/device/code",
			TokenURL:      s.URL + "/oauth/token",
		},
		Scopes: []string{"printing"},
	}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

// verifyJWT checks an access token against the server's published JWKS
// with go-jose, as an outside resource server would, and returns its claims.
func verifyJWT(t *testing.T, s *testenv.Server, token string) map[string]any {
	t.Helper()
	resp, err := http.Get(s.URL + "/.well-known/jwks.json")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var set jose.JSONWebKeySet
	if err := json.NewDecoder(resp.Body).Decode(&set); err != nil {
		t.Fatalf("JWKS: %v", err)
	}
	jws, err := jose.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256, jose.ES256, jose.EdDSA})
	if err != nil {
		t.Fatalf("parse JWT: %v", err)
	}
	kid := jws.Signatures[0].Header.KeyID
	keys := set.Key(kid)
	if len(keys) != 1 {
		t.Fatalf("kid %q not in the JWKS (%d keys)", kid, len(set.Keys))
	}
	if keys[0].Use != "sig" || keys[0].Algorithm != jws.Signatures[0].Header.Algorithm {
		t.Fatalf("JWKS key: use %q alg %q, token alg %q", keys[0].Use, keys[0].Algorithm, jws.Signatures[0].Header.Algorithm)
	}
	payload, err := jws.Verify(keys[0])
	if err != nil {
		t.Fatalf("JWT does not verify against the JWKS: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(payload, &claims); err != nil {
		t.Fatal(err)
	}
	for _, c := range []string{"iss", "sub", "aud", "client_id", "scope", "iat", "exp", "jti", "device_id"} {
		if _, ok := claims[c]; !ok {
			t.Errorf("claim %q missing from %v", c, claims)
		}
	}
	if claims["iss"] != s.URL {
		t.Errorf("iss = %v, want %s", claims["iss"], s.URL)
	}
	return claims
}

// TestDeviceFlowWithOAuth2Library runs RFC 8628 end to end with
// golang.org/x/oauth2 as the device: DeviceAuth, a person approves,
// DeviceAccessToken, the JWT verifies against the JWKS, and the library's
// TokenSource refreshes with rotation.
func TestDeviceFlowWithOAuth2Library(t *testing.T) {
	s := testenv.StartServer(t)
	cfg := oauthConfig(s)
	da, err := cfg.DeviceAuth(ctx(t), oauth2.SetAuthURLParam("mode", "device"), oauth2.SetAuthURLParam("hardware_id", "PRN-0001"),
		oauth2.SetAuthURLParam("device_name", "Lobby printer"))
	if err != nil {
		t.Fatalf("DeviceAuth: %v", err)
	}
	if da.VerificationURI != s.URL+"/device" || da.VerificationURIComplete != s.URL+"/device?user_code="+da.UserCode {
		t.Fatalf("verification URIs: %q %q", da.VerificationURI, da.VerificationURIComplete)
	}
	if len(da.UserCode) != 9 || da.UserCode[4] != '-' || strings.Trim(da.UserCode, "BCDFGHJKLMNPQRSTVWXZ-") != "" {
		t.Fatalf("user code %q is not XXXX-XXXX from the consonant alphabet", da.UserCode)
	}
	if da.Interval != 1 || da.Expiry.IsZero() {
		t.Fatalf("interval %d, expiry %v", da.Interval, da.Expiry)
	}

	type result struct {
		tok *oauth2.Token
		err error
	}
	done := make(chan result, 1)
	go func() {
		tok, err := cfg.DeviceAccessToken(ctx(t), da)
		done <- result{tok, err}
	}()
	// Let the library poll (and be told to wait) before the person approves.
	time.Sleep(1500 * time.Millisecond)
	// A person types the code in lower case without the dash.
	approved := s.ApproveUserCode(t, strings.ToLower(strings.ReplaceAll(da.UserCode, "-", "")))
	r := <-done
	if r.err != nil {
		t.Fatalf("DeviceAccessToken: %v", r.err)
	}
	tok := r.tok
	if tok.TokenType != "Bearer" || tok.RefreshToken == "" || !strings.HasPrefix(tok.RefreshToken, "pgr_") {
		t.Fatalf("token: %+v", tok)
	}
	if tok.ExpiresIn != 3600 {
		t.Errorf("expires_in = %d, want 3600", tok.ExpiresIn)
	}
	claims := verifyJWT(t, s, tok.AccessToken)
	if claims["sub"] != approved.DeviceID || claims["device_id"] != approved.DeviceID || claims["client_id"] != pairgate.DefaultClientID ||
		claims["scope"] != "printing" || claims["aud"] != s.URL {
		t.Fatalf("claims: %v (device %s)", claims, approved.DeviceID)
	}
	dev, err := s.App.Store.GetDevice(ctx(t), approved.DeviceID)
	if err != nil || dev.Name != "Lobby printer" || dev.HardwareID != "PRN-0001" || dev.Mode != pairgate.ModeDevice {
		t.Fatalf("inventory: %+v, %v", dev, err)
	}

	// The device API recognises the token.
	who := deviceAPI(t, s, tok.AccessToken, http.StatusOK)
	if who["device_id"] != approved.DeviceID || who["name"] != "Lobby printer" {
		t.Fatalf("who am I: %v", who)
	}

	// The library refreshes an expired token through its TokenSource, and
	// the refresh token rotates.
	tok.Expiry = time.Now().Add(-time.Minute)
	ts := cfg.TokenSource(ctx(t), tok)
	fresh, err := ts.Token()
	if err != nil {
		t.Fatalf("refresh through TokenSource: %v", err)
	}
	if fresh.AccessToken == tok.AccessToken || fresh.RefreshToken == tok.RefreshToken || fresh.RefreshToken == "" {
		t.Fatal("refresh did not rotate both tokens")
	}
	verifyJWT(t, s, fresh.AccessToken)

	// The rotated-out token, presented after the grace window, is reuse:
	// the family dies, the fresh token with it.
	s.Clock.Advance(time.Minute)
	stale := cfg.TokenSource(ctx(t), &oauth2.Token{RefreshToken: tok.RefreshToken, Expiry: time.Now().Add(-time.Hour)})
	if _, err := stale.Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("reused refresh token: %v, want invalid_grant", err)
	}
	later := cfg.TokenSource(ctx(t), &oauth2.Token{RefreshToken: fresh.RefreshToken, Expiry: time.Now().Add(-time.Hour)})
	if _, err := later.Token(); !isOAuthError(err, "invalid_grant") {
		t.Fatalf("refresh after reuse detection: %v, want invalid_grant (family revoked)", err)
	}
}

func isOAuthError(err error, code string) bool {
	var re *oauth2.RetrieveError
	if e, ok := err.(*oauth2.RetrieveError); ok {
		re = e
	} else if err != nil && strings.Contains(err.Error(), code) {
		return true
	}
	return re != nil && re.ErrorCode == code
}

func deviceAPI(t *testing.T, s *testenv.Server, token string, want int) map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/device", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	json.NewDecoder(resp.Body).Decode(&body)
	if resp.StatusCode != want {
		t.Fatalf("GET /api/v1/device: %d %v, want %d", resp.StatusCode, body, want)
	}
	return body
}

// post sends a request the way a device written without a library would.
type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func post(t testing.TB, url, contentType, body string, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest("POST", url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	if req.Header.Get("DPoP") != "" {
		r.header.Set("X-Test-Proof", "sent") // for wantTokens
	}
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &r.body); err != nil {
			t.Fatalf("POST %s: response is not JSON: %q", url, raw)
		}
	}
	return r
}

const formType = "application/x-www-form-urlencoded"

func basic(id, secret string) string {
	return "Basic " + base64.StdEncoding.EncodeToString([]byte(id+":"+secret))
}

func wantError(t *testing.T, r reply, status int, code string) {
	t.Helper()
	if r.status != status || r.body["error"] != code {
		t.Fatalf("got %d %s, want %d %s", r.status, r.raw, status, code)
	}
	if _, ok := r.body["error_description"].(string); !ok {
		t.Fatalf("error without a description: %s", r.raw)
	}
	if r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("error content type %q", r.header.Get("Content-Type"))
	}
}

func wantTokens(t testing.TB, r reply) {
	t.Helper()
	if r.status != http.StatusOK {
		t.Fatalf("want tokens, got %d %s", r.status, r.raw)
	}
	if r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("token response Cache-Control %q, want no-store", r.header.Get("Cache-Control"))
	}
	for _, f := range []string{"access_token", "token_type", "expires_in", "scope", "refresh_token"} {
		if _, ok := r.body[f]; !ok {
			t.Fatalf("token response lacks %s: %s", f, r.raw)
		}
	}
	// A request with a proof gets a DPoP token (RFC 9449 §5), one
	// without a Bearer token, as before.
	want := "Bearer"
	if r.header.Get("X-Test-Proof") != "" {
		want = "DPoP"
	}
	if r.body["token_type"] != want {
		t.Fatalf("token_type %v, want %s", r.body["token_type"], want)
	}
}

// TestPairingDialectAsCloudPrintClient replays the pairing dialect byte
// for byte as a cloud-print client sends it: a JSON body under curl's
// default form content type, Basic auth with an empty secret, then the
// token endpoint at /oauth/access_token/, then a refresh.
func TestPairingDialectAsCloudPrintClient(t *testing.T) {
	s := testenv.StartServer(t)
	auth := basic("print-client", "")
	r := post(t, s.URL+"/oauth/pair/", formType, `{"scope":"printing","mode":"device"}`, "Authorization", auth)
	if r.status != 200 || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("pair: %d %s", r.status, r.raw)
	}
	code, _ := r.body["pairing_code"].(string)
	if !secret.ValidPairingCode(code) {
		t.Fatalf("pairing_code %q is not 10 characters of [A-Za-z0-9]", code)
	}
	wantAuth := s.URL + "/auth/signin/?next=%2Foauth%2Fauthorize%2Fpairing%2F%3Fpairing_code%3D" + code + "&device=generic"
	if r.body["auth_url"] != wantAuth {
		t.Fatalf("auth_url = %v\nwant      %s", r.body["auth_url"], wantAuth)
	}
	// Byte for byte, as the vendor's server sends it: clients compare the
	// raw text, so "&" is not "\u0026".
	if !strings.Contains(r.raw, `"auth_url":"`+wantAuth+`"`) || strings.Contains(r.raw, `\u0026`) {
		t.Fatalf("auth_url is not sent byte for byte: %s", r.raw)
	}
	if r.body["expires_in"] != float64(600) || r.body["interval"] != float64(1) {
		t.Fatalf("expires_in/interval: %s", r.raw)
	}
	poll := func() reply {
		return post(t, s.URL+"/oauth/access_token/", formType, "grant_type=pairing_code&scope=printing&pairing_code="+code, "Authorization", auth)
	}
	wantError(t, poll(), 400, "authorization_pending")
	approved := s.ApprovePairingCode(t, code)
	time.Sleep(time.Second) // the interval
	r = poll()
	wantTokens(t, r)
	claims := verifyJWT(t, s, r.body["access_token"].(string))
	if claims["sub"] != approved.DeviceID || claims["scope"] != "printing" {
		t.Fatalf("claims %v", claims)
	}
	// The code is spent.
	wantError(t, poll(), 400, "invalid_grant")

	refresh := r.body["refresh_token"].(string)
	r2 := post(t, s.URL+"/oauth/access_token/", formType, "grant_type=refresh_token&scope=printing&refresh_token="+refresh, "Authorization", auth)
	wantTokens(t, r2)
	if r2.body["refresh_token"] == refresh {
		t.Fatal("refresh token did not rotate")
	}
	// The same without the trailing slash and at /oauth/token, with JSON.
	r3 := post(t, s.URL+"/oauth/access_token", formType, fmt.Sprintf(`{"grant_type":"refresh_token","refresh_token":%q}`, r2.body["refresh_token"]), "Authorization", auth)
	wantTokens(t, r3)

	// user mode: the token's subject is the person who approved.
	r = post(t, s.URL+"/oauth/pair", formType, "mode=user&scope=printing", "Authorization", auth)
	code = r.body["pairing_code"].(string)
	s.ApprovePairingCode(t, code)
	r = post(t, s.URL+"/oauth/token", formType, "grant_type=pairing_code&pairing_code="+code, "Authorization", auth)
	wantTokens(t, r)
	if c := verifyJWT(t, s, r.body["access_token"].(string)); c["sub"] != s.Admin(t).ID {
		t.Fatalf("user-mode sub = %v, want the approver %s", c["sub"], s.Admin(t).ID)
	}
}

func TestPairingRequestValidation(t *testing.T) {
	s := testenv.StartServer(t)
	auth := basic("print-client", "")
	wantError(t, post(t, s.URL+"/oauth/pair/", formType, `{"scope":"printing"}`, "Authorization", auth), 400, "invalid_request")
	wantError(t, post(t, s.URL+"/oauth/pair/", formType, `{"mode":"sideways"}`, "Authorization", auth), 400, "invalid_request")
	wantError(t, post(t, s.URL+"/oauth/pair/", formType, `{"mode":"user","hardware_id":"X"}`, "Authorization", auth), 400, "invalid_request")
	wantError(t, post(t, s.URL+"/oauth/pair/", formType, `{"mode":"device","scope":"admin"}`, "Authorization", auth), 400, "invalid_scope")
	// Scope defaults to printing.
	r := post(t, s.URL+"/oauth/pair/", formType, `{"mode":"device","hardware_id":"GUID-1"}`, "Authorization", auth)
	if r.status != 200 {
		t.Fatalf("pair without scope: %d %s", r.status, r.raw)
	}
	p, err := s.App.Grants.FindPairingCode(ctx(t), grants.CodeEntry{Code: r.body["pairing_code"].(string), IP: "127.0.0.1"})
	if err != nil || p.Authorization.Scopes.String() != "printing" || p.Authorization.HardwareID != "GUID-1" {
		t.Fatalf("pending pairing: %+v %v", p, err)
	}
}

// TestCodeYieldsTokensAtMostOnce sends 50 concurrent polls for one
// approved device code: exactly one gets tokens (docs/design.md 2.3).
func TestCodeYieldsTokensAtMostOnce(t *testing.T) {
	s := testenv.StartServer(t)
	testExactlyOnce(t, s, []string{s.URL})
}

func testExactlyOnce(t *testing.T, s *testenv.Server, urls []string) {
	r := post(t, urls[0]+"/oauth/device/code", formType, "client_id=print-client&scope=printing")
	s.ApproveUserCode(t, r.body["user_code"].(string))
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	const n = 50
	var wg sync.WaitGroup
	replies := make([]reply, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			replies[i] = post(t, urls[i%len(urls)]+"/oauth/token", formType, body)
		}()
	}
	close(start)
	wg.Wait()
	ok := 0
	for _, r := range replies {
		switch {
		case r.status == 200:
			ok++
		case r.status == 400 && (r.body["error"] == "invalid_grant" || r.body["error"] == "slow_down"):
		default:
			t.Errorf("unexpected answer %d %s", r.status, r.raw)
		}
	}
	if ok != 1 {
		t.Fatalf("%d of %d concurrent polls got tokens, want exactly 1", ok, n)
	}
}

// TestPollingFasterThanIntervalGetsSlowDown: RFC 8628 §3.5, with the burst
// of two that golang.org/x/oauth2's double requests need.
func TestPollingFasterThanIntervalGetsSlowDown(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.PollInterval = 5 * time.Second }))
	r := post(t, s.URL+"/oauth/device/code", formType, "client_id=print-client")
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	poll := func() reply { return post(t, s.URL+"/oauth/token", formType, body) }
	wantError(t, poll(), 400, "authorization_pending")
	wantError(t, poll(), 400, "authorization_pending") // the second of a pair
	sd := poll()
	wantError(t, sd, 400, "slow_down")
	if sd.header.Get("Retry-After") == "" {
		t.Error("slow_down without Retry-After")
	}
	// Each slow_down adds 5 s: the interval is now 10 s, and a poll 5 s
	// later is too early again (15 s from now on).
	s.Clock.Advance(5 * time.Second)
	wantError(t, poll(), 400, "slow_down")
	s.Clock.Advance(10 * time.Second)
	wantError(t, poll(), 400, "authorization_pending")
}

func TestDenyYieldsAccessDenied(t *testing.T) {
	s := testenv.StartServer(t)
	cfg := oauthConfig(s)
	da, err := cfg.DeviceAuth(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	s.DenyUserCode(t, da.UserCode)
	_, err = cfg.DeviceAccessToken(ctx(t), da)
	if !isOAuthError(err, "access_denied") {
		t.Fatalf("after deny: %v, want access_denied", err)
	}
	if n, _ := s.App.Store.CountDevices(ctx(t)); n != 0 {
		t.Fatalf("a denied request left %d devices", n)
	}
}

func TestExpiredCodeGetsExpiredToken(t *testing.T) {
	s := testenv.StartServer(t)
	r := post(t, s.URL+"/oauth/device/code", formType, "client_id=print-client")
	userCode := r.body["user_code"].(string)
	s.Clock.Advance(10*time.Minute + time.Second)
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	wantError(t, post(t, s.URL+"/oauth/token", formType, body), 400, "expired_token")
	if _, err := s.App.Grants.FindUserCode(ctx(t), grants.CodeEntry{Code: userCode, IP: "127.0.0.1"}); pairgate.ErrorCode(err) != pairgate.EEXPIRED {
		t.Fatalf("an expired user code can still be entered: %v", err)
	}
	// After the retention the grant is gone from the store.
	s.Clock.Advance(2 * time.Hour)
	if _, err := s.App.Store.GarbageCollect(ctx(t), s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	hash := s.App.Keys.Hash(secret.KindDeviceCode, r.body["device_code"].(string))
	if _, err := s.App.Store.GetDeviceAuthorizationByDeviceCode(ctx(t), hash); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("expired grant still stored: %v", err)
	}
}

func TestCodeIsBoundToItsClient(t *testing.T) {
	s := testenv.StartServer(t)
	other := &pairgate.Client{ID: "other", Name: "Other", Public: true, GrantTypes: pairgate.AllGrantTypes,
		Scopes: pairgate.Scopes{"printing"}, CreatedAt: time.Now()}
	if err := s.App.Store.CreateClient(ctx(t), other); err != nil {
		t.Fatal(err)
	}
	r := post(t, s.URL+"/oauth/device/code", formType, "client_id=print-client")
	s.ApproveUserCode(t, r.body["user_code"].(string))
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&device_code=" + r.body["device_code"].(string)
	wantError(t, post(t, s.URL+"/oauth/token", formType, body+"&client_id=other"), 400, "invalid_grant")
	// The rightful client still gets its tokens.
	wantTokens(t, post(t, s.URL+"/oauth/token", formType, body+"&client_id=print-client"))
}

// mkConfidential creates a confidential client (a resource server) and
// returns its secret.
func mkConfidential(t *testing.T, s *testenv.Server, id string) string {
	sec := secret.Token(secret.PrefixClientSecret)
	c := &pairgate.Client{ID: id, Name: "Resource server", Public: false, SecretHash: s.App.Keys.Hash(secret.KindClientSecret, sec),
		GrantTypes: []string{pairgate.GrantRefreshToken}, Scopes: pairgate.Scopes{"printing"}, CreatedAt: time.Now()}
	if err := s.App.Store.CreateClient(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	return sec
}

// pairDevice authorizes a device through the device flow and returns the
// token response and the device id.
func pairDevice(t *testing.T, s *testenv.Server, hw string) (map[string]any, string) {
	return pairDeviceTB(t, s, hw)
}

func pairDeviceTB(t testing.TB, s *testenv.Server, hw string) (map[string]any, string) {
	t.Helper()
	r := post(t, s.URL+"/oauth/device/code", formType, "client_id=print-client&mode=device&hardware_id="+hw)
	a := s.ApproveUserCode(t, r.body["user_code"].(string))
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	tr := post(t, s.URL+"/oauth/token", formType, body)
	wantTokens(t, tr)
	return tr.body, a.DeviceID
}

func introspect(t *testing.T, s *testenv.Server, id, sec, token string) map[string]any {
	t.Helper()
	r := post(t, s.URL+"/oauth/introspect", formType, "token="+url.QueryEscape(token), "Authorization", basic(id, sec))
	if r.status != 200 {
		t.Fatalf("introspect: %d %s", r.status, r.raw)
	}
	return r.body
}

func TestIntrospectionAndRevocation(t *testing.T) {
	s := testenv.StartServer(t)
	sec := mkConfidential(t, s, "printing-api")
	toks, devID := pairDevice(t, s, "HW-INTRO")
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)

	in := introspect(t, s, "printing-api", sec, at)
	if in["active"] != true || in["device_id"] != devID || in["client_id"] != "print-client" || in["scope"] != "printing" || in["sub"] != devID {
		t.Fatalf("introspect access token: %v", in)
	}
	if in := introspect(t, s, "printing-api", sec, rt); in["active"] != true || in["token_type"] != "refresh_token" {
		t.Fatalf("introspect refresh token: %v", in)
	}
	if in := introspect(t, s, "printing-api", sec, "garbage"); len(in) != 1 || in["active"] != false {
		t.Fatalf("introspect garbage: %v", in)
	}
	// Public clients and wrong secrets may not introspect.
	wantError(t, post(t, s.URL+"/oauth/introspect", formType, "token="+at, "Authorization", basic("print-client", "")), 401, "invalid_client")
	wantError(t, post(t, s.URL+"/oauth/introspect", formType, "token="+at, "Authorization", basic("printing-api", "wrong")), 401, "invalid_client")

	// RFC 7009: another client's token is left alone, unknown tokens are fine.
	r := post(t, s.URL+"/oauth/revoke", formType, "token="+rt, "Authorization", basic("printing-api", sec))
	if r.status != 200 {
		t.Fatalf("revoke someone else's token: %d %s", r.status, r.raw)
	}
	if in := introspect(t, s, "printing-api", sec, rt); in["active"] != true {
		t.Fatal("a client revoked another client's refresh token")
	}
	if r := post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client&token=pgr_unknown"); r.status != 200 {
		t.Fatalf("revoke unknown: %d %s", r.status, r.raw)
	}
	wantError(t, post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client"), 400, "invalid_request")

	// Revoking the access token kills its jti everywhere pairgate checks.
	if r := post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client&token_type_hint=access_token&token="+at); r.status != 200 {
		t.Fatalf("revoke access token: %d %s", r.status, r.raw)
	}
	if in := introspect(t, s, "printing-api", sec, at); in["active"] != false {
		t.Fatalf("revoked access token still active: %v", in)
	}
	deviceAPI(t, s, at, http.StatusUnauthorized)

	// Revoking the refresh token revokes its family.
	if r := post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client&token="+rt); r.status != 200 {
		t.Fatalf("revoke refresh token: %d %s", r.status, r.raw)
	}
	wantError(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt), 400, "invalid_grant")
}

// TestDeletingDeviceRevokesAtOnce: docs/design.md 2.2.
func TestDeletingDeviceRevokesAtOnce(t *testing.T) {
	s := testenv.StartServer(t)
	sec := mkConfidential(t, s, "rs")
	toks, devID := pairDevice(t, s, "HW-DEL")
	at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
	deviceAPI(t, s, at, http.StatusOK)
	if err := s.App.Store.DeleteDevice(ctx(t), devID, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	deviceAPI(t, s, at, http.StatusUnauthorized)
	if in := introspect(t, s, "rs", sec, at); in["active"] != false {
		t.Fatalf("deleted device's access token active: %v", in)
	}
	wantError(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt), 400, "invalid_grant")
	// Authorizing again makes a new device.
	_, again := pairDevice(t, s, "HW-DEL")
	if again == devID {
		t.Fatal("re-authorized device reuses the deleted device's id")
	}
}

// TestSameHardwareIDWithoutKeyIsANewDevice: docs/design.md 2.1 over HTTP. A
// Bearer device pairing again with its hardware id is a new device; both
// keep working, and both are marked.
func TestSameHardwareIDWithoutKeyIsANewDevice(t *testing.T) {
	s := testenv.StartServer(t)
	first, a := pairDevice(t, s, "HW-SAME")
	old, _ := pairDevice(t, s, "HW-OTHER")
	toks, b := pairDevice(t, s, "HW-SAME")
	if a == b {
		t.Fatalf("a claimed hardware id took over device %s", a)
	}
	if n, _ := s.App.Store.CountDevices(ctx(t)); n != 3 {
		t.Fatalf("devices = %d, want 3", n)
	}
	deviceAPI(t, s, toks["access_token"].(string), 200)
	deviceAPI(t, s, old["access_token"].(string), 200)
	deviceAPI(t, s, first["access_token"].(string), 200)
	if d, _ := s.App.Store.GetDevice(ctx(t), b); d.SameHardwareAs != a {
		t.Fatalf("new device marked %q, want %q", d.SameHardwareAs, a)
	}
}

func TestRefreshGraceWindowAnswersALostResponse(t *testing.T) {
	s := testenv.StartServer(t)
	toks, _ := pairDevice(t, s, "HW-GRACE")
	rt := toks["refresh_token"].(string)
	body := "grant_type=refresh_token&client_id=print-client&refresh_token=" + rt
	first := post(t, s.URL+"/oauth/token", formType, body)
	wantTokens(t, first)
	// The response was lost; the device retries with the same token and
	// gets the same successor (docs/design.md 2.4).
	retry := post(t, s.URL+"/oauth/token", formType, body)
	wantTokens(t, retry)
	next := first.body["refresh_token"].(string)
	if retry.body["refresh_token"] != next {
		t.Fatalf("the retry got refresh token %v, the lost response carried %v", retry.body["refresh_token"], next)
	}
	// The successor works, once.
	third := post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+next)
	wantTokens(t, third)
	// The first token is two generations back now: reuse, which revokes
	// the family, including the live token.
	wantError(t, post(t, s.URL+"/oauth/token", formType, body), 400, "invalid_grant")
	wantError(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+third.body["refresh_token"].(string)), 400, "invalid_grant")
}

func TestRefreshScopeMayNarrowNotWiden(t *testing.T) {
	s := testenv.StartServer(t)
	if err := s.App.Store.CreateClient(ctx(t), &pairgate.Client{ID: "wide", Name: "Wide", Public: true, GrantTypes: pairgate.AllGrantTypes,
		Scopes: pairgate.ParseScopes("printing portal deployments"), CreatedAt: time.Now()}); err != nil {
		t.Fatal(err)
	}
	r := post(t, s.URL+"/oauth/device/code", formType, "client_id=wide&scope=printing+portal")
	s.ApproveUserCode(t, r.body["user_code"].(string))
	tr := post(t, s.URL+"/oauth/token", formType, "grant_type="+url.QueryEscape(pairgate.GrantDeviceCode)+"&client_id=wide&device_code="+r.body["device_code"].(string))
	wantTokens(t, tr)
	if tr.body["scope"] != "portal printing" {
		t.Fatalf("scope %v", tr.body["scope"])
	}
	rt := tr.body["refresh_token"].(string)
	wantError(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=wide&scope=printing+deployments&refresh_token="+rt), 400, "invalid_scope")
	narrow := post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=wide&scope=printing&refresh_token="+rt)
	wantTokens(t, narrow)
	if narrow.body["scope"] != "printing" {
		t.Fatalf("narrowed scope %v", narrow.body["scope"])
	}
	// The refresh token keeps the original grant.
	again := post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=wide&refresh_token="+narrow.body["refresh_token"].(string))
	wantTokens(t, again)
	if again.body["scope"] != "portal printing" {
		t.Fatalf("scope after narrowing %v", again.body["scope"])
	}
	// A refresh token is bound to its client.
	wantError(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+again.body["refresh_token"].(string)), 400, "invalid_grant")
	// Neither that nor another client replaying a rotated-out token (which
	// from its owner would be reuse) touched the family: the owner's
	// token still rotates.
	wantError(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token="+rt), 400, "invalid_grant")
	wantTokens(t, post(t, s.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=wide&refresh_token="+again.body["refresh_token"].(string)))
}

func TestDiscoveryDocuments(t *testing.T) {
	s := testenv.StartServer(t)
	for _, p := range []string{"/.well-known/oauth-authorization-server", "/.well-known/openid-configuration"} {
		resp, err := http.Get(s.URL + p)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		want := map[string]string{
			"issuer": s.URL, "device_authorization_endpoint": s.URL + "/oauth/device/code", "token_endpoint": s.URL + "/oauth/token",
			"revocation_endpoint": s.URL + "/oauth/revoke", "introspection_endpoint": s.URL + "/oauth/introspect",
			"jwks_uri": s.URL + "/.well-known/jwks.json",
		}
		for k, v := range want {
			if doc[k] != v {
				t.Errorf("%s: %s = %v, want %s", p, k, doc[k], v)
			}
		}
		if fmt.Sprint(doc["token_endpoint_auth_methods_supported"]) != "[none client_secret_basic client_secret_post]" ||
			fmt.Sprint(doc["scopes_supported"]) != "[printing]" || len(doc["grant_types_supported"].([]any)) != 4 {
			t.Errorf("%s: %v", p, doc)
		}
	}
}

func TestKeyRotationKeepsOldTokensVerifying(t *testing.T) {
	s := testenv.StartServer(t)
	sec := mkConfidential(t, s, "rs")
	before, _ := pairDevice(t, s, "HW-ROT1")
	oldKid := s.App.Keyring.Current()
	if err := s.App.Keyring.Rotate(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if s.App.Keyring.Current() == oldKid {
		t.Fatal("rotation did not change the current key")
	}
	after, _ := pairDevice(t, s, "HW-ROT2")
	// Both verify against the published set, which now holds both keys.
	verifyJWT(t, s, before["access_token"].(string))
	verifyJWT(t, s, after["access_token"].(string))
	if in := introspect(t, s, "rs", sec, before["access_token"].(string)); in["active"] != true {
		t.Fatal("token signed before rotation no longer active")
	}
	// Once every token of the old key has expired, the key leaves the set.
	s.Clock.Advance(time.Hour + 6*time.Minute)
	if _, err := s.App.Store.GarbageCollect(ctx(t), s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if err := s.App.Keyring.Reload(ctx(t)); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(s.App.Keyring.JWKS(ctx(t))), oldKid) {
		t.Fatal("retired key still published after its tokens expired")
	}
}

func TestSigningAlgorithms(t *testing.T) {
	for _, alg := range []string{"RS256", "ES256", "EdDSA"} {
		t.Run(alg, func(t *testing.T) {
			s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.SigningAlg = alg }))
			toks, _ := pairDevice(t, s, "HW-"+alg)
			jws, err := jose.ParseSigned(toks["access_token"].(string), []jose.SignatureAlgorithm{jose.SignatureAlgorithm(alg)})
			if err != nil {
				t.Fatalf("token not signed with %s: %v", alg, err)
			}
			if typ := jws.Signatures[0].Header.ExtraHeaders["typ"]; typ != "at+jwt" {
				t.Errorf("typ = %v, want at+jwt (RFC 9068)", typ)
			}
			verifyJWT(t, s, toks["access_token"].(string))
		})
	}
}

// TestCapacityLimits: one address (or one client) sending far faster than
// devices do gets 429 with Retry-After, in OAuth form; others are not
// affected.
func TestCapacityLimits(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.RatePerSource = 5 }))
	limited := 0
	for range 30 {
		r := post(t, s.URL+"/oauth/device/code", formType, "client_id=print-client")
		if r.status == http.StatusTooManyRequests {
			limited++
			if r.header.Get("Retry-After") == "" || r.body["error"] != "slow_down" {
				t.Fatalf("429 without Retry-After or OAuth error: %v %s", r.header, r.raw)
			}
		}
	}
	if limited < 15 {
		t.Fatalf("only %d of 30 requests in a burst limited at 5/s (burst 10)", limited)
	}
	// Another address is not limited: through a trusted proxy, the header
	// names the client.
	p := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) {
		c.RatePerSource = 5
		c.TrustedProxies = "127.0.0.1"
	}))
	for i := range 30 {
		r := post(t, p.URL+"/oauth/device/code", formType, "client_id=print-client", "X-Forwarded-For", fmt.Sprintf("198.51.100.%d", i))
		if r.status != 200 {
			t.Fatalf("distinct address %d limited: %d %s", i, r.status, r.raw)
		}
	}
	c := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.RatePerClient = 5 }))
	limited = 0
	for range 30 {
		r := post(t, c.URL+"/oauth/token", formType, "grant_type=refresh_token&client_id=print-client&refresh_token=x")
		if r.status == http.StatusTooManyRequests {
			limited++
		}
	}
	if limited < 15 {
		t.Fatalf("only %d of 30 token requests of one client limited at 5/s", limited)
	}
}
