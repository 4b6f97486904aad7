package oauth_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/secret"
	"github.com/pairgate/pairgate/internal/testenv"
)

// Issue 12: a device is a key it holds (DPoP, RFC 9449).

// crafted builds a proof by hand with go-jose, to say exactly what the
// tests need a proof to get wrong.
type crafted struct {
	alg    jose.SignatureAlgorithm
	key    any            // signing key
	typ    string         // "" leaves typ out
	jwk    any            // the jwk header; nil leaves it out
	claims map[string]any // the payload
}

func (c crafted) sign(t testing.TB) string {
	t.Helper()
	opts := &jose.SignerOptions{}
	if c.typ != "" {
		opts = opts.WithType(jose.ContentType(c.typ))
	}
	if c.jwk != nil {
		opts = opts.WithHeader("jwk", c.jwk)
	}
	sig, err := jose.NewSigner(jose.SigningKey{Algorithm: c.alg, Key: c.key}, opts)
	if err != nil {
		t.Fatal(err)
	}
	payload, _ := json.Marshal(c.claims)
	jws, err := sig.Sign(payload)
	if err != nil {
		t.Fatal(err)
	}
	out, err := jws.CompactSerialize()
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// good is a proof that is right in every way, for the tests to spoil one
// thing at a time.
func good(t testing.TB, method, htu, at string) crafted {
	t.Helper()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	pub := jose.JSONWebKey{Key: &priv.PublicKey}
	claims := map[string]any{"jti": base64.RawURLEncoding.EncodeToString(secret.NewMasterKey()[:16]), "htm": method, "htu": htu, "iat": time.Now().Unix()}
	if at != "" {
		claims["ath"] = ath(at)
	}
	return crafted{alg: jose.ES256, key: priv, typ: "dpop+jwt", jwk: &pub, claims: claims}
}

func ath(at string) string {
	sum := sha256Sum(at)
	return base64.RawURLEncoding.EncodeToString(sum[:])
}

// unsigned is an alg none token: header.payload. with nothing after.
func unsigned(t testing.TB, c crafted) string {
	pub := c.jwk
	h, _ := json.Marshal(map[string]any{"typ": "dpop+jwt", "alg": "none", "jwk": pub})
	p, _ := json.Marshal(c.claims)
	return base64.RawURLEncoding.EncodeToString(h) + "." + base64.RawURLEncoding.EncodeToString(p) + "."
}

// badProofs are proofs that violate one check of RFC 9449 §4.3 each, for
// a request of method to htu presenting at ("" at the token endpoint).
func badProofs(t *testing.T, method, htu, at string) map[string][]string {
	t.Helper()
	spoil := func(f func(c *crafted)) []string {
		c := good(t, method, htu, at)
		f(&c)
		return []string{c.sign(t)}
	}
	hsKey := secret.NewMasterKey()
	priv, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cases := map[string][]string{
		"malformed":  {"not-a-jws"},
		"empty":      {""},
		"wrong htu":  spoil(func(c *crafted) { c.claims["htu"] = strings.Replace(htu, "/oauth/token", "/oauth/revoke", 1) + "x" }),
		"other host": spoil(func(c *crafted) { c.claims["htu"] = strings.Replace(htu, "127.0.0.1", "evil.example", 1) }),
		"wrong htm":  spoil(func(c *crafted) { c.claims["htm"] = map[string]string{"GET": "POST", "POST": "GET"}[method] }),
		"stale iat":  spoil(func(c *crafted) { c.claims["iat"] = time.Now().Add(-5 * time.Minute).Unix() }),
		"future iat": spoil(func(c *crafted) { c.claims["iat"] = time.Now().Add(5 * time.Minute).Unix() }),
		"no iat":     spoil(func(c *crafted) { delete(c.claims, "iat") }),
		"no jti":     spoil(func(c *crafted) { delete(c.claims, "jti") }),
		"long jti":   spoil(func(c *crafted) { c.claims["jti"] = strings.Repeat("j", 300) }),
		"wrong typ":  spoil(func(c *crafted) { c.typ = "JWT" }),
		"no typ":     spoil(func(c *crafted) { c.typ = "" }),
		"no jwk":     spoil(func(c *crafted) { c.jwk = nil }),
		"jwk of another key": spoil(func(c *crafted) {
			c.jwk = &jose.JSONWebKey{Key: &priv.PublicKey}
		}),
		"private key in jwk": spoil(func(c *crafted) {
			c.jwk = &jose.JSONWebKey{Key: c.key}
		}),
		"jwk alg differs": spoil(func(c *crafted) {
			c.jwk = &jose.JSONWebKey{Key: &c.key.(*ecdsa.PrivateKey).PublicKey, Algorithm: "ES384"}
		}),
		"alg HS256": spoil(func(c *crafted) {
			c.alg, c.key = jose.HS256, hsKey
			c.jwk = map[string]string{"kty": "oct", "k": base64.RawURLEncoding.EncodeToString(hsKey)}
		}),
		"alg none":          {unsigned(t, good(t, method, htu, at))},
		"two DPoP headers":  {good(t, method, htu, at).sign(t), good(t, method, htu, at).sign(t)},
		"forged signature":  {tamper(good(t, method, htu, at).sign(t))},
		"claims not object": spoil(func(c *crafted) { c.claims = nil }),
	}
	if at != "" {
		cases["missing ath"] = spoil(func(c *crafted) { delete(c.claims, "ath") })
		cases["wrong ath"] = spoil(func(c *crafted) { c.claims["ath"] = ath(at + "x") })
	}
	return cases
}

// tamper changes the payload of a signed token, keeping the signature.
func tamper(jws string) string {
	parts := strings.Split(jws, ".")
	p, _ := base64.RawURLEncoding.DecodeString(parts[1])
	var m map[string]any
	json.Unmarshal(p, &m)
	m["jti"] = "tampered"
	b, _ := json.Marshal(m)
	parts[1] = base64.RawURLEncoding.EncodeToString(b)
	return strings.Join(parts, ".")
}

func postProofs(t testing.TB, target, body string, proofs []string) reply {
	t.Helper()
	req, _ := http.NewRequest("POST", target, strings.NewReader(body))
	req.Header.Set("Content-Type", formType)
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	r := reply{status: resp.StatusCode, header: resp.Header}
	json.NewDecoder(resp.Body).Decode(&r.body)
	return r
}

// TestDPoPEveryCheckAtTheTokenEndpoint: each check of RFC 9449 §4.3 has a
// proof that fails it, refused as invalid_dpop_proof at the token
// endpoint, on a refresh of a bound family and on a device authorization
// request; none of them changes anything: the family still rotates with a
// good proof afterwards.
func TestDPoPEveryCheckAtTheTokenEndpoint(t *testing.T) {
	s := testenv.StartServer(t)
	key := newKey(t, "")
	toks, _ := pairDeviceWithKey(t, s, "HW-CHECKS", key)
	rt := toks["refresh_token"].(string)
	body := url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {rt}}.Encode()
	for name, proofs := range badProofs(t, "POST", s.URL+"/oauth/token", "") {
		r := postProofs(t, s.URL+"/oauth/token", body, proofs)
		if r.status != 400 || r.body["error"] != "invalid_dpop_proof" {
			t.Errorf("%s: refresh got %d %v, want 400 invalid_dpop_proof", name, r.status, r.body)
		}
		r = postProofs(t, s.URL+"/oauth/device/code", "client_id=print-client&mode=device", proofs)
		if r.status != 400 || r.body["error"] != "invalid_dpop_proof" {
			t.Errorf("%s: device authorization got %d %v, want 400 invalid_dpop_proof", name, r.status, r.body)
		}
	}
	// A proof for the device authorization endpoint is not one for the
	// token endpoint (htu), nor is a GET one for a POST (htm).
	wantError(t, post(t, s.URL+"/oauth/token", formType, body, "DPoP", proof(t, key, "POST", s.URL+"/oauth/device/code", "")), 400, "invalid_dpop_proof")
	wantError(t, post(t, s.URL+"/oauth/token", formType, body, "DPoP", proof(t, key, "GET", s.URL+"/oauth/token", "")), 400, "invalid_dpop_proof")
	// A bound family without a proof, or with another key's: invalid_grant,
	// and the family lives on.
	wantError(t, refreshWithKey(t, s, nil, rt), 400, "invalid_grant")
	wantError(t, refreshWithKey(t, s, newKey(t, client.KeyEdDSA), rt), 400, "invalid_grant")
	// A proof replayed: the second use is refused.
	p := proof(t, key, "POST", s.URL+"/oauth/token", "")
	first := post(t, s.URL+"/oauth/token", formType, body, "DPoP", p)
	wantTokens(t, first)
	next := first.body["refresh_token"].(string)
	replayBody := url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {next}}.Encode()
	wantError(t, post(t, s.URL+"/oauth/token", formType, replayBody, "DPoP", p), 400, "invalid_dpop_proof")
	// Normalised htu: upper-case scheme and host, the default port
	// spelled out are the same URL (RFC 3986 §6.2.2, §6.2.3).
	u, _ := url.Parse(s.URL)
	odd := "HTTP://" + strings.ToUpper(u.Hostname()) + ":" + u.Port() + "/oauth/./token?x=1#f"
	wantTokens(t, post(t, s.URL+"/oauth/token", formType, replayBody, "DPoP", proof(t, key, "POST", odd, "")))
}

// TestDPoPEveryCheckAtTheDeviceAPI: RFC 9449 §7 at GET /api/v1/device. A
// bound access token works only as Authorization: DPoP with a fresh proof
// by its key that covers it (ath); every bad proof is a 401 with a DPoP
// challenge.
func TestDPoPEveryCheckAtTheDeviceAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := newKey(t, client.KeyEdDSA)
	toks, devID := pairDeviceWithKey(t, s, "HW-API", key)
	at := toks["access_token"].(string)
	target := s.URL + "/api/v1/device"
	for name, proofs := range badProofs(t, "GET", target, at) {
		wantChallenge(t, deviceAPIWith(t, s, "DPoP "+at, proofs...), "invalid_dpop_proof")
		_ = name
	}
	// A copied token alone, as Bearer or as DPoP without a proof.
	wantChallenge(t, deviceAPIWith(t, s, "Bearer "+at), "invalid_dpop_proof")
	wantChallenge(t, deviceAPIWith(t, s, "DPoP "+at), "invalid_dpop_proof")
	// A proof by another key, even a correct one.
	wantChallenge(t, deviceAPIWith(t, s, "DPoP "+at, proof(t, newKey(t, ""), "GET", target, at)), "invalid_dpop_proof")
	// The right proof works, once.
	p := proof(t, key, "GET", target, at)
	ok := deviceAPIWith(t, s, "DPoP "+at, p)
	if ok.status != 200 || ok.body["device_id"] != devID || ok.body["dpop_jkt"] != key.Thumbprint() {
		t.Fatalf("device API with a good proof: %d %v", ok.status, ok.body)
	}
	wantChallenge(t, deviceAPIWith(t, s, "DPoP "+at, p), "invalid_dpop_proof")
	// A Bearer token presented as DPoP is refused too.
	bearer, _ := pairDevice(t, s, "HW-BEARER")
	bt := bearer["access_token"].(string)
	if r := deviceAPIWith(t, s, "DPoP "+bt, proof(t, key, "GET", target, bt)); r.status != 401 {
		t.Fatalf("a Bearer token as DPoP: %d", r.status)
	}
	deviceAPI(t, s, bt, 200)
}

// TestDPoPReplayAcrossReplicas: a proof used at one replica is refused at
// another that shares the database (RFC 9449 §11.1).
func TestDPoPReplayAcrossReplicas(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	mk := base64.StdEncoding.EncodeToString(secret.NewMasterKey())
	const issuer = "http://pairgate.example"
	replica := func() *testenv.Server {
		return testenv.StartServer(t, testenv.WithDB(dsn), testenv.WithConfig(func(c *app.Config) {
			c.MasterKey, c.Issuer, c.LogLevel = mk, issuer, "warn"
		}))
	}
	r1, r2 := replica(), replica()
	key := newKey(t, "")
	// The proofs name the public URL (the issuer), as a device behind a
	// load balancer does; each request goes to one replica's own address.
	send := func(s *testenv.Server, path, body, p string) reply {
		return post(t, s.Addr+path, formType, body, "DPoP", p)
	}
	r := send(r1, "/oauth/device/code", "client_id=print-client&mode=device&hardware_id=HW-REPL", proof(t, key, "POST", issuer+"/oauth/device/code", ""))
	if r.status != 200 {
		t.Fatalf("device code: %d %s", r.status, r.raw)
	}
	r2.ApproveUserCode(t, r.body["user_code"].(string))
	poll := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	p := proof(t, key, "POST", issuer+"/oauth/token", "")
	tr := send(r1, "/oauth/token", poll, p)
	wantTokens(t, tr)
	body := url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {tr.body["refresh_token"].(string)}}.Encode()
	wantError(t, send(r2, "/oauth/token", body, p), 400, "invalid_dpop_proof")
	wantTokens(t, send(r2, "/oauth/token", body, proof(t, key, "POST", issuer+"/oauth/token", "")))
}

// TestTakeoverOfAKeyBoundDeviceFails: the reproduction. A device
// holding a key redeems a reusable code with hardware_id PRN-0001; someone
// else with the same code and hardware id, without the key or with a key
// of their own, gets a device of their own, marked as sharing the
// hardware id; the victim keeps its name, its refresh token and its
// access to the device API.
func TestTakeoverOfAKeyBoundDeviceFails(t *testing.T) {
	s := testenv.StartServer(t)
	code, _ := newCode(t, s, pairgate.TTLNever)
	victimKey := newKey(t, "")
	redeem := func(k *client.DeviceKey, name string) reply {
		v := url.Values{"grant_type": {authCodeGrant}, "client_id": {"print-client"}, "code": {code}, "device_name": {name}, "hardware_id": {"PRN-0001"}}
		if k == nil {
			return post(t, s.URL+"/oauth/token", formType, v.Encode(), "X-Forwarded-For", "203.0.113.66")
		}
		return postProof(t, k, s.URL+"/oauth/token", v.Encode())
	}
	victim := redeem(victimKey, "Victim")
	wantTokens(t, victim)
	victimID := verifyJWT(t, s, victim.body["access_token"].(string))["device_id"].(string)
	for _, attacker := range []*client.DeviceKey{nil, newKey(t, "")} {
		r := redeem(attacker, "Attacker")
		wantTokens(t, r)
		c := verifyJWT(t, s, r.body["access_token"].(string))
		if c["sub"] == victimID || c["device_id"] == victimID {
			t.Fatalf("the attacker's token speaks for the victim: %v", c)
		}
		d, err := s.App.Store.GetDevice(ctx(t), c["device_id"].(string))
		if err != nil || d.SameHardwareAs != victimID || d.Name != "Attacker" {
			t.Fatalf("attacker's device: %+v %v", d, err)
		}
	}
	d, _ := s.App.Store.GetDevice(ctx(t), victimID)
	if d.Name != "Victim" || d.State != pairgate.DeviceActive || d.DPoPJKT != victimKey.Thumbprint() || d.SameHardwareAs == "" {
		t.Fatalf("victim's device changed: %+v", d)
	}
	next := refreshWithKey(t, s, victimKey, victim.body["refresh_token"].(string))
	wantTokens(t, next)
	deviceAPIWithKey(t, s, victimKey, next.body["access_token"].(string), 200)
	// The admin API shows the mark on both.
	list := adminGet(t, s, "/api/v1/devices?q=PRN-0001")
	marked := 0
	for _, x := range list["devices"].([]any) {
		if m, _ := x.(map[string]any)["same_hardware_as"].(string); m != "" {
			marked++
		}
	}
	if marked != 3 {
		t.Fatalf("%d of 3 devices sharing a hardware id are marked: %v", marked, list)
	}
}

// TestTakeoverOfABearerDeviceFails: the reproduction for a device without
// a key (the cloud-print dialect, x/oauth2, curl): the same code and
// hardware id again make a second device; the first keeps working.
func TestTakeoverOfABearerDeviceFails(t *testing.T) {
	s := testenv.StartServer(t)
	code, _ := newCode(t, s, pairgate.TTLNever)
	victim := redeemForm(t, s, code, "Victim", "PRN-0001")
	wantTokens(t, victim)
	victimID := verifyJWT(t, s, victim.body["access_token"].(string))["device_id"].(string)
	att := post(t, s.URL+"/oauth/token", formType, url.Values{"grant_type": {authCodeGrant}, "client_id": {"print-client"},
		"code": {code}, "device_name": {"Attacker"}, "hardware_id": {"PRN-0001"}}.Encode())
	wantTokens(t, att)
	if c := verifyJWT(t, s, att.body["access_token"].(string)); c["sub"] == victimID {
		t.Fatalf("takeover: %v", c)
	}
	if d, _ := s.App.Store.GetDevice(ctx(t), victimID); d.Name != "Victim" || d.State != pairgate.DeviceActive {
		t.Fatalf("victim changed: %+v", d)
	}
	next := refresh(t, s, victim.body["refresh_token"].(string))
	wantTokens(t, next)
	deviceAPI(t, s, next.body["access_token"].(string), 200)
	if n, _ := s.App.Store.CountDevices(ctx(t)); n != 2 {
		t.Fatalf("devices = %d, want 2", n)
	}
}

// TestSeenCodeYieldsNothingToTheOnlooker: a pairing code (and a device
// code) asked for with a proof is bound to that key. Whoever saw the code
// or the auth_url and polls after approval, without the key or with a key
// of their own, gets invalid_grant, not even the grant's state; the
// device's own poll gets the tokens.
func TestSeenCodeYieldsNothingToTheOnlooker(t *testing.T) {
	s := testenv.StartServer(t)
	key := newKey(t, "")
	pr := postProof(t, key, s.URL+"/oauth/pair/", `{"mode":"device","hardware_id":"PRN-9"}`, "Authorization", basic("print-client", ""))
	if pr.status != 200 {
		t.Fatalf("pair: %d %s", pr.status, pr.raw)
	}
	code := pr.body["pairing_code"].(string)
	poll := `{"grant_type":"pairing_code","pairing_code":"` + code + `"}`
	onlooker := func() {
		t.Helper()
		wantError(t, post(t, s.URL+"/oauth/access_token/", formType, poll, "Authorization", basic("print-client", "")), 400, "invalid_grant")
		wantError(t, postProof(t, newKey(t, ""), s.URL+"/oauth/access_token/", poll, "Authorization", basic("print-client", "")), 400, "invalid_grant")
	}
	onlooker()
	// The consent page tells the person the device holds a key.
	p, err := s.App.Grants.FindPairingCode(ctx(t), grantsEntry(code))
	if err != nil || p.Authorization.DPoPJKT != key.Thumbprint() {
		t.Fatalf("pending pairing: %+v %v", p, err)
	}
	s.ApprovePairingCode(t, code)
	onlooker()
	tr := postProof(t, key, s.URL+"/oauth/access_token/", poll, "Authorization", basic("print-client", ""))
	wantTokens(t, tr)
	onlooker()

	// The same for RFC 8628's device code.
	r := postProof(t, key, s.URL+"/oauth/device/code", "client_id=print-client&mode=device")
	s.ApproveUserCode(t, r.body["user_code"].(string))
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	wantError(t, post(t, s.URL+"/oauth/token", formType, body), 400, "invalid_grant")
	wantError(t, postProof(t, newKey(t, ""), s.URL+"/oauth/token", body), 400, "invalid_grant")
	wantTokens(t, postProof(t, key, s.URL+"/oauth/token", body))
}

// TestRequireDPoPRefusesBearer: a client set to require_dpop refuses every
// request without a proof, at the device authorization, pairing and token
// endpoints, and takes the same requests with one.
func TestRequireDPoPRefusesBearer(t *testing.T) {
	s := testenv.StartServer(t)
	c := &pairgate.Client{ID: "strict", Name: "Strict", Public: true, GrantTypes: pairgate.AllGrantTypes,
		Scopes: pairgate.Scopes{"printing"}, RequireDPoP: true, CreatedAt: time.Now()}
	if err := s.App.Store.CreateClient(ctx(t), c); err != nil {
		t.Fatal(err)
	}
	code, _ := newCode(t, s, pairgate.TTLNever)
	redeem := url.Values{"grant_type": {authCodeGrant}, "client_id": {"strict"}, "code": {code}, "device_name": {"S"}}.Encode()
	wantError(t, post(t, s.URL+"/oauth/device/code", formType, "client_id=strict"), 400, "invalid_dpop_proof")
	wantError(t, post(t, s.URL+"/oauth/pair/", formType, "mode=device", "Authorization", basic("strict", "")), 400, "invalid_dpop_proof")
	wantError(t, post(t, s.URL+"/oauth/token", formType, redeem), 400, "invalid_dpop_proof")
	key := newKey(t, "")
	if r := postProof(t, key, s.URL+"/oauth/device/code", "client_id=strict"); r.status != 200 {
		t.Fatalf("device code with a proof: %d %s", r.status, r.raw)
	}
	tr := postProof(t, key, s.URL+"/oauth/token", redeem)
	wantTokens(t, tr)
	wantError(t, post(t, s.URL+"/oauth/token", formType, url.Values{"grant_type": {"refresh_token"}, "client_id": {"strict"},
		"refresh_token": {tr.body["refresh_token"].(string)}}.Encode()), 400, "invalid_dpop_proof")
}

// TestDPoPNonces: with --dpop-nonce, a proof without the server's nonce
// is refused with use_dpop_nonce and the nonce in DPoP-Nonce (RFC 9449
// §8, §9); the client package retries with it on its own.
func TestDPoPNonces(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.DPoPNonce = true }))
	code, _ := newCode(t, s, pairgate.TTLNever)
	key := newKey(t, "")
	redeem := url.Values{"grant_type": {authCodeGrant}, "client_id": {"print-client"}, "code": {code}, "device_name": {"N"}}.Encode()
	r := postProof(t, key, s.URL+"/oauth/token", redeem)
	wantError(t, r, 400, "use_dpop_nonce")
	nonce := r.header.Get("DPoP-Nonce")
	if nonce == "" {
		t.Fatal("no DPoP-Nonce with use_dpop_nonce")
	}
	withNonce, err := key.Proof("POST", s.URL+"/oauth/token", "", nonce)
	if err != nil {
		t.Fatal(err)
	}
	tr := post(t, s.URL+"/oauth/token", formType, redeem, "DPoP", withNonce)
	wantTokens(t, tr)
	at := tr.body["access_token"].(string)
	wantChallenge(t, deviceAPIWith(t, s, "DPoP "+at, proof(t, key, "GET", s.URL+"/api/v1/device", at)), "use_dpop_nonce")
	wrong, _ := key.Proof("GET", s.URL+"/api/v1/device", at, "not-the-nonce")
	wantChallenge(t, deviceAPIWith(t, s, "DPoP "+at, wrong), "use_dpop_nonce")
	right, _ := key.Proof("GET", s.URL+"/api/v1/device", at, nonce)
	if r := deviceAPIWith(t, s, "DPoP "+at, right); r.status != 200 {
		t.Fatalf("device API with the nonce: %d %v", r.status, r.body)
	}
	// The client package learns the nonce by itself.
	c, err := client.New(ctx(t), client.Config{Server: s.URL})
	if err != nil {
		t.Fatal(err)
	}
	creds, err := c.Authorize(ctx(t), code, client.AuthorizeOptions{DeviceName: "Library"})
	if err != nil || creds.Key == nil || creds.TokenType != "DPoP" {
		t.Fatalf("client with nonces: %+v %v", creds, err)
	}
	if _, err := client.Whoami(ctx(t), nil, creds); err != nil {
		t.Fatalf("whoami with nonces: %v", err)
	}
}

// TestDPoPMetadataAndIntrospection: discovery advertises the proof
// algorithms; introspection tells a resource server that a token is DPoP
// and which key it is bound to (RFC 9449 §6.2).
func TestDPoPMetadataAndIntrospection(t *testing.T) {
	s := testenv.StartServer(t)
	resp, err := http.Get(s.URL + "/.well-known/oauth-authorization-server")
	if err != nil {
		t.Fatal(err)
	}
	var meta map[string]any
	json.NewDecoder(resp.Body).Decode(&meta)
	resp.Body.Close()
	algs, _ := meta["dpop_signing_alg_values_supported"].([]any)
	if len(algs) == 0 || algs[0] != "ES256" {
		t.Fatalf("dpop_signing_alg_values_supported: %v", meta["dpop_signing_alg_values_supported"])
	}
	for _, a := range algs {
		if a == "none" || strings.HasPrefix(a.(string), "HS") {
			t.Fatalf("advertises %v", a)
		}
	}
	sec := mkConfidential(t, s, "rs")
	key := newKey(t, "")
	toks, _ := pairDeviceWithKey(t, s, "HW-INTRO", key)
	in := introspect(t, s, "rs", sec, toks["access_token"].(string))
	cnf, _ := in["cnf"].(map[string]any)
	if in["active"] != true || in["token_type"] != "DPoP" || cnf["jkt"] != key.Thumbprint() {
		t.Fatalf("introspection of a DPoP token: %v", in)
	}
	claims := verifyJWT(t, s, toks["access_token"].(string))
	if c, _ := claims["cnf"].(map[string]any); c["jkt"] != key.Thumbprint() {
		t.Fatalf("access token cnf: %v", claims)
	}
	bearer, _ := pairDevice(t, s, "HW-INTRO-B")
	if in := introspect(t, s, "rs", sec, bearer["access_token"].(string)); in["token_type"] != "Bearer" || in["cnf"] != nil {
		t.Fatalf("introspection of a Bearer token: %v", in)
	}
}
