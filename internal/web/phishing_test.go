package web_test

import (
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

// The cross-device phishing defences (draft-ietf-oauth-cross-device-
// security §6), tested with requests from different loopback addresses:
// Linux routes all of 127.0.0.0/8 to the loopback interface, so a client
// that binds 127.0.0.2 reaches the server on 127.0.0.1 as 127.0.0.2.

// from returns an HTTP client whose requests leave from the loopback
// address ip.
func from(ip string) *http.Transport {
	d := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(ip)}}
	return &http.Transport{DialContext: d.DialContext}
}

// browserFrom is a browser on the machine with address ip.
func browserFrom(t *testing.T, base, ip string) *browser {
	b := newBrowser(t, base)
	b.c.Transport = from(ip)
	return b
}

// deviceStart asks for a user code from address ip, with extra headers,
// and returns the status and the body.
func deviceStart(t *testing.T, s *testenv.Server, clientID, ip string, header ...string) (int, map[string]any) {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/device/code", strings.NewReader("client_id="+clientID))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := (&http.Client{Transport: from(ip)}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	var body map[string]any
	json.Unmarshal(raw, &body)
	return resp.StatusCode, body
}

func userCodeFrom(t *testing.T, s *testenv.Server, clientID, ip string, header ...string) string {
	t.Helper()
	st, body := deviceStart(t, s, clientID, ip, header...)
	code, _ := body["user_code"].(string)
	if st != 200 || code == "" {
		t.Fatalf("device authorization from %s: %d %v", ip, st, body)
	}
	return code
}

// guardedClient registers a public device client with the given policy.
func guardedClient(t *testing.T, s *testenv.Server, id string, d admin.DeviceFlowSettings) {
	t.Helper()
	_, _, err := s.App.Admin.CreateClient(context.Background(), s.AdminActor(t), admin.NewClient{ID: id, Name: "Kiosk " + id,
		Public: true, GrantTypes: []string{pairgate.GrantDeviceCode, pairgate.GrantPairingCode}, Scopes: []string{"printing"}, DeviceFlow: d})
	if err != nil {
		t.Fatalf("create client %s: %v", id, err)
	}
}

func person(t *testing.T, s *testenv.Server, name, role string) {
	t.Helper()
	if _, _, err := s.App.Admin.CreateUser(context.Background(), s.AdminActor(t), name, role, name+"'s long password"); err != nil {
		t.Fatal(err)
	}
}

// refusals returns the pairing.refused events, newest first.
func refusals(t *testing.T, s *testenv.Server) []*pairgate.AuditEvent {
	t.Helper()
	ev, err := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditPairingRefused})
	if err != nil {
		t.Fatal(err)
	}
	return ev
}

// wantRefusedConsent checks that a consent page refuses approval with a
// message that says why, offering Deny only.
func wantRefusedConsent(t *testing.T, r reply, why string) {
	t.Helper()
	if r.status != http.StatusForbidden || !strings.Contains(r.raw, `id="refusal"`) || !strings.Contains(r.raw, why) {
		t.Fatalf("consent page: %d, want 403 with a refusal saying %q:\n%s", r.status, why, r.raw)
	}
	if strings.Contains(r.raw, `value="approve"`) || !strings.Contains(r.raw, `value="deny"`) {
		t.Fatalf("a refused consent page must offer Deny only:\n%s", r.raw)
	}
}

func TestApprovalFromAnotherNetworkIsRefused(t *testing.T) {
	s := testenv.StartServer(t)
	person(t, s, "uma", pairgate.RoleUser)
	guardedClient(t, s, "kiosk", admin.DeviceFlowSettings{ApprovalPrefixV4: 32})
	guardedClient(t, s, "lan", admin.DeviceFlowSettings{ApprovalPrefixV4: 24})

	// A device on 127.0.0.2; a phished person on 127.0.0.3.
	code := userCodeFrom(t, s, "kiosk", "127.0.0.2")
	far := browserFrom(t, s.URL, "127.0.0.3")
	far.signIn("uma", "uma's long password")
	wantRefusedConsent(t, far.get("/device?user_code="+url.QueryEscape(code)), "only when you are next to it")
	// Posting Allow anyway changes nothing.
	r := far.post("/device", url.Values{"user_code": {code}, "action": {"approve"}})
	wantRefusedConsent(t, r, "127.0.0.2")
	if st := state(t, s, code); st != pairgate.StatePending {
		t.Fatalf("a refused approval left the request %s", st)
	}
	ev := refusals(t, s)
	if len(ev) != 2 {
		t.Fatalf("%d refusals recorded, want 2 (the page, the post)", len(ev))
	}
	if e := ev[0]; e.ActorName != "uma" || e.IP != "127.0.0.3" || e.Details["reason"] != "approver_network" ||
		e.Details["requested_from"] != "127.0.0.2" || e.Details["client_id"] != "kiosk" || e.Details["stage"] != "approval" {
		t.Fatalf("refusal event: %+v", e)
	}
	// Deny still works: the person can stop the phisher.
	if r := far.post("/device", url.Values{"user_code": {code}, "action": {"deny"}}); r.status != 200 || state(t, s, code) != pairgate.StateDenied {
		t.Fatalf("deny from another network: %d, %s", r.status, state(t, s, code))
	}

	// Next to the device, the same person may approve.
	code = userCodeFrom(t, s, "kiosk", "127.0.0.2")
	near := browserFrom(t, s.URL, "127.0.0.2")
	near.signIn("uma", "uma's long password")
	if r := near.get("/device?user_code=" + url.QueryEscape(code)); r.status != 200 || !strings.Contains(r.raw, `value="approve"`) {
		t.Fatalf("consent next to the device: %d\n%s", r.status, r.raw)
	}
	if r := near.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}); r.status != 200 || state(t, s, code) != pairgate.StateApproved {
		t.Fatalf("approve next to the device: %d, %s", r.status, state(t, s, code))
	}

	// The prefix length is the client's: a /24 takes 127.0.0.3 as the
	// device's neighbour.
	code = userCodeFrom(t, s, "lan", "127.0.0.2")
	if r := far.get("/device?user_code=" + url.QueryEscape(code)); r.status != 200 || strings.Contains(r.raw, "not your network") {
		t.Fatalf("the consent page within the client's /24 does not call it the person's network: %d", r.status)
	}
	if r := far.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}); r.status != 200 || state(t, s, code) != pairgate.StateApproved {
		t.Fatalf("approve within the /24: %d, %s\n%s", r.status, state(t, s, code), r.raw)
	}
	// A client without the policy is approved from anywhere.
	code = userCodeFrom(t, s, pairgate.DefaultClientID, "127.0.0.2")
	if r := far.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}); r.status != 200 {
		t.Fatalf("approve without a policy: %d", r.status)
	}
	if n := len(refusals(t, s)); n != 2 {
		t.Fatalf("%d refusals after the allowed approvals, want still 2", n)
	}
}

func TestDeviceFlowStartsOnlyFromAllowedNetworks(t *testing.T) {
	s := testenv.StartServer(t)
	guardedClient(t, s, "kiosk", admin.DeviceFlowSettings{Networks: []string{"127.0.0.2", "10.9.0.0/16"}})
	userCodeFrom(t, s, "kiosk", "127.0.0.2")
	st, body := deviceStart(t, s, "kiosk", "127.0.0.3")
	if st != 400 || body["error"] != "access_denied" || !strings.Contains(body["error_description"].(string), "network") {
		t.Fatalf("start from 127.0.0.3: %d %v", st, body)
	}
	// The pairing dialect is held by the same policy.
	req, _ := http.NewRequest("POST", s.URL+"/oauth/pair/", strings.NewReader("mode=device"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth("kiosk", "")
	resp, err := (&http.Client{Transport: from("127.0.0.3")}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("pairing from 127.0.0.3: %d", resp.StatusCode)
	}
	ev := refusals(t, s)
	if len(ev) != 2 || ev[0].Details["reason"] != "start_network_not_allowed" || ev[0].IP != "127.0.0.3" ||
		ev[0].ActorID != "kiosk" || ev[0].Details["kind"] != pairgate.KindPairing || ev[1].Details["kind"] != pairgate.KindDeviceCode {
		t.Fatalf("refusals: %+v", ev)
	}
}

func TestDeviceFlowCanBeTurnedOffPerClient(t *testing.T) {
	s := testenv.StartServer(t)
	person(t, s, "uma", pairgate.RoleUser)
	guardedClient(t, s, "kiosk", admin.DeviceFlowSettings{})
	// A request made while the flow was on cannot be approved once it is off.
	code := userCodeFrom(t, s, "kiosk", "127.0.0.2")
	if _, err := s.App.Admin.SetClientDeviceFlow(context.Background(), s.AdminActor(t), "kiosk", admin.DeviceFlowSettings{Disabled: true}); err != nil {
		t.Fatal(err)
	}
	st, body := deviceStart(t, s, "kiosk", "127.0.0.2")
	if st != 400 || body["error"] != "unauthorized_client" {
		t.Fatalf("start with the flow off: %d %v", st, body)
	}
	b := browserFrom(t, s.URL, "127.0.0.2")
	b.signIn("uma", "uma's long password")
	wantRefusedConsent(t, b.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}), "turned off")
	if state(t, s, code) != pairgate.StatePending {
		t.Fatal("approved with the flow off")
	}
	ev := refusals(t, s)
	if len(ev) != 2 || ev[0].Details["reason"] != "device_flow_disabled" || ev[1].Details["reason"] != "device_flow_disabled" {
		t.Fatalf("refusals: %+v", ev)
	}
}

func TestRolesThatMayNotApproveDevices(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.DeviceApprovalRoles = "user,device-manager" }))
	person(t, s, "uma", pairgate.RoleUser)
	code := userCodeFrom(t, s, pairgate.DefaultClientID, "127.0.0.2")
	adm := browserFrom(t, s.URL, "127.0.0.2")
	adm.signIn("admin", testenv.AdminPassword)
	wantRefusedConsent(t, adm.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}), "the admin role may not approve")
	if ev := refusals(t, s); len(ev) != 1 || ev[0].Details["reason"] != "approver_role" || ev[0].Details["role"] != "admin" {
		t.Fatalf("refusals: %+v", ev)
	}
	b := browserFrom(t, s.URL, "127.0.0.2")
	b.signIn("uma", "uma's long password")
	if r := b.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}); r.status != 200 || state(t, s, code) != pairgate.StateApproved {
		t.Fatalf("a user approves: %d %s", r.status, state(t, s, code))
	}
}

// TestNetworkChecksBehindATrustedProxy: behind a proxy the addresses are
// the ones the trusted proxy forwards; a client that is not a trusted
// proxy cannot claim another address with X-Forwarded-For.
func TestNetworkChecksBehindATrustedProxy(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(func(c *app.Config) { c.TrustedProxies = "127.0.0.9" }))
	person(t, s, "uma", pairgate.RoleUser)
	guardedClient(t, s, "kiosk", admin.DeviceFlowSettings{Networks: []string{"192.0.2.0/24"}, ApprovalPrefixV4: 24})
	const xff = "X-Forwarded-For"

	// A device at 192.0.2.10 behind the proxy may start.
	code := userCodeFrom(t, s, "kiosk", "127.0.0.9", xff, "192.0.2.10")
	// Not from elsewhere, even claiming the address without being the proxy.
	if st, _ := deviceStart(t, s, "kiosk", "127.0.0.3", xff, "192.0.2.10"); st != 400 {
		t.Fatalf("an untrusted X-Forwarded-For started a device flow: %d", st)
	}
	if st, _ := deviceStart(t, s, "kiosk", "127.0.0.9", xff, "198.51.100.7"); st != 400 {
		t.Fatalf("a start from 198.51.100.7 through the proxy: %d", st)
	}
	// An approver at 198.51.100.7 behind the proxy is refused.
	far := browserFrom(t, s.URL, "127.0.0.9")
	far.header.Set(xff, "198.51.100.7")
	far.signIn("uma", "uma's long password")
	wantRefusedConsent(t, far.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}), "198.51.100.7")
	// One at 192.0.2.77, on the device's /24, may approve.
	near := browserFrom(t, s.URL, "127.0.0.9")
	near.header.Set(xff, "192.0.2.77")
	near.signIn("uma", "uma's long password")
	if r := near.post("/device", url.Values{"user_code": {code}, "action": {"approve"}}); r.status != 200 || state(t, s, code) != pairgate.StateApproved {
		t.Fatalf("approve next to the device behind the proxy: %d %s\n%s", r.status, state(t, s, code), r.raw)
	}
	ev := refusals(t, s)
	if len(ev) != 3 || ev[0].IP != "198.51.100.7" || ev[0].Details["requested_from"] != "192.0.2.10" ||
		ev[1].IP != "198.51.100.7" || ev[2].IP != "127.0.0.3" {
		t.Fatalf("refusals: %+v", ev)
	}
}
