package web_test

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestConsentShowsAKeyBoundDevice: the consent page tells the person
// whether the device asked with a DPoP proof (its code is bound to its
// key, so only it can collect what they allow), in the page's own style
// and under the strict CSP.
func TestConsentShowsAKeyBoundDevice(t *testing.T) {
	s := testenv.StartServer(t)
	key, err := client.NewDeviceKey("")
	if err != nil {
		t.Fatal(err)
	}
	proof, err := key.Proof("POST", s.URL+"/oauth/pair/", "", "")
	if err != nil {
		t.Fatal(err)
	}
	req, _ := http.NewRequest("POST", s.URL+"/oauth/pair/", strings.NewReader("mode=device&hardware_id=PRN-7"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", basicPub)
	req.Header.Set("DPoP", proof)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	var pr struct {
		PairingCode string `json:"pairing_code"`
	}
	decodeJSON(t, resp, &pr)
	plain := startPairing(t, s, "mode=device&hardware_id=PRN-8")

	b := newBrowser(t, s.URL)
	b.signIn("admin", testenv.AdminPassword)
	bound := b.get("/oauth/authorize/pairing/?pairing_code=" + url.QueryEscape(pr.PairingCode))
	if bound.status != 200 || !strings.Contains(bound.raw, `data-keybound="true"`) || !strings.Contains(bound.raw, "proves its identity with a key (DPoP)") {
		t.Fatalf("consent for a key-bound pairing: %d\n%s", bound.status, bound.raw)
	}
	if csp := bound.header.Get("Content-Security-Policy"); !strings.Contains(csp, "default-src 'none'") {
		t.Fatalf("CSP %q", csp)
	}
	unbound := b.get("/oauth/authorize/pairing/?pairing_code=" + url.QueryEscape(plain.PairingCode))
	if unbound.status != 200 || !strings.Contains(unbound.raw, `data-keybound="false"`) || strings.Contains(unbound.raw, "proves its identity with a key") {
		t.Fatalf("consent for a pairing without a key: %d\n%s", unbound.status, unbound.raw)
	}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("HTTP %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatal(err)
	}
}
