package oauth_test

import (
	"crypto/sha256"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/grants"
	"github.com/pairgate/pairgate/internal/testenv"
)

// newKey makes a device key with the public client package, the one real
// devices use.
func newKey(t testing.TB, alg string) *client.DeviceKey {
	t.Helper()
	k, err := client.NewDeviceKey(alg)
	if err != nil {
		t.Fatal(err)
	}
	return k
}

// proof signs a proof for one request; at is the access token it goes
// with, "" for none.
func proof(t testing.TB, k *client.DeviceKey, method, target, at string) string {
	t.Helper()
	p, err := k.Proof(method, target, at, "")
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// postProof posts a form with a proof by k of the request.
func postProof(t testing.TB, k *client.DeviceKey, target, body string, header ...string) reply {
	t.Helper()
	return post(t, target, formType, body, append([]string{"DPoP", proof(t, k, "POST", target, "")}, header...)...)
}

// pairDeviceWithKey pairs a device in device mode (RFC 8628) whose every
// request proves k.
func pairDeviceWithKey(t testing.TB, s *testenv.Server, hw string, k *client.DeviceKey) (map[string]any, string) {
	t.Helper()
	r := postProof(t, k, s.URL+"/oauth/device/code", "client_id=print-client&mode=device&hardware_id="+hw)
	if r.status != 200 {
		t.Fatalf("device authorization: %d %s", r.status, r.raw)
	}
	a := s.ApproveUserCode(t, r.body["user_code"].(string))
	body := "grant_type=" + url.QueryEscape(pairgate.GrantDeviceCode) + "&client_id=print-client&device_code=" + r.body["device_code"].(string)
	tr := postProof(t, k, s.URL+"/oauth/token", body)
	wantTokens(t, tr)
	if tr.body["token_type"] != "DPoP" {
		t.Fatalf("token_type %v, want DPoP", tr.body["token_type"])
	}
	return tr.body, a.DeviceID
}

// refreshWithKey refreshes with a proof by k (nil: none).
func refreshWithKey(t testing.TB, s *testenv.Server, k *client.DeviceKey, rt string) reply {
	t.Helper()
	body := url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {rt}}.Encode()
	if k == nil {
		return post(t, s.URL+"/oauth/token", formType, body)
	}
	return postProof(t, k, s.URL+"/oauth/token", body)
}

// apiReply is a device API answer.
type apiReply struct {
	status int
	header http.Header
	body   map[string]any
}

// deviceAPIWith calls GET /api/v1/device with the given Authorization and
// DPoP headers (each DPoP value is a header of its own).
func deviceAPIWith(t testing.TB, s *testenv.Server, authorization string, proofs ...string) apiReply {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/device", nil)
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	for _, p := range proofs {
		req.Header.Add("DPoP", p)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	r := apiReply{status: resp.StatusCode, header: resp.Header}
	json.Unmarshal(raw, &r.body)
	return r
}

// deviceAPIWithKey calls the device API as a key-bound device does.
func deviceAPIWithKey(t testing.TB, s *testenv.Server, k *client.DeviceKey, at string, want int) map[string]any {
	t.Helper()
	r := deviceAPIWith(t, s, "DPoP "+at, proof(t, k, "GET", s.URL+"/api/v1/device", at))
	if r.status != want {
		t.Fatalf("GET /api/v1/device with DPoP: %d %v, want %d", r.status, r.body, want)
	}
	return r.body
}

func wantChallenge(t testing.TB, r apiReply, errCode string) {
	t.Helper()
	if r.status != http.StatusUnauthorized {
		t.Fatalf("status %d %v, want 401", r.status, r.body)
	}
	for _, v := range r.header.Values("WWW-Authenticate") {
		if strings.HasPrefix(v, "DPoP ") && (errCode == "" || strings.Contains(v, `error="`+errCode+`"`)) {
			return
		}
	}
	t.Fatalf("WWW-Authenticate %q: no DPoP challenge with error %q (body %v)", r.header.Values("WWW-Authenticate"), errCode, r.body)
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }

func grantsEntry(code string) grants.CodeEntry {
	return grants.CodeEntry{Code: code, IP: testenv.PersonIP()}
}
