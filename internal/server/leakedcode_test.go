package server_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/app"
	"github.com/pairgate/pairgate/internal/testenv"
)

var adminBasic = []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+testenv.AdminPassword))}

// enrolled is a device that redeemed a code.
type enrolled struct{ id, access, refresh string }

func redeemFrom(t *testing.T, s *testenv.Server, code, name, ip string) enrolled {
	t.Helper()
	r := do(t, "POST", s.URL+"/oauth/token", form, url.Values{"grant_type": {pairgate.GrantAuthorizationCode},
		"client_id": {"print-client"}, "code": {code}, "device_name": {name}}.Encode(), "X-Forwarded-For", ip)
	at, _ := r.body["access_token"].(string)
	rt, _ := r.body["refresh_token"].(string)
	if at == "" || rt == "" {
		t.Fatalf("redeem %s: %d %s", name, r.status, r.raw)
	}
	info := do(t, "GET", s.URL+"/api/v1/device", "", "", "Authorization", "Bearer "+at, "X-Forwarded-For", ip)
	return enrolled{id: info.body["device_id"].(string), access: at, refresh: rt}
}

func refresh(t *testing.T, s *testenv.Server, d enrolled) reply {
	t.Helper()
	return do(t, "POST", s.URL+"/oauth/token", form, url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"},
		"refresh_token": {d.refresh}}.Encode())
}

func behindProxy(c *app.Config) { c.TrustedProxies = "127.0.0.1" }

// TestLeakedCodeRevokedInOneAction: an install code leaked. The admin
// API previews what it brought in — how many devices, and the one seen
// lately from a network the code was never used from — then signs them
// all out in one action: their refresh tokens are answered invalid_grant,
// their access tokens are refused, the code is gone, and one audit event
// lists them. A device of another code is not touched.
func TestLeakedCodeRevokedInOneAction(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testLeakedCode(t, testenv.StartServer(t, testenv.WithConfig(behindProxy))) })
	t.Run("PostgreSQL", func(t *testing.T) {
		testLeakedCode(t, testenv.StartServer(t, testenv.WithPostgres(t), testenv.WithConfig(behindProxy)))
	})
}

func testLeakedCode(t *testing.T, s *testenv.Server) {
	ctx := context.Background()
	r := do(t, "POST", s.URL+"/api/v1/authorization-codes", "application/json", `{"ttl":"never","label":"Lab PCs, 2nd floor"}`, adminBasic...)
	if r.status != 201 || r.body["label"] != "Lab PCs, 2nd floor" || r.body["ephemeral_idle_seconds"] != float64(0) {
		t.Fatalf("a labelled code: %d %s", r.status, r.raw)
	}
	code, codeID := r.body["code"].(string), r.body["id"].(string)
	other, _ := s.CreateCode(t, pairgate.TTLNever)

	var lab []enrolled
	for i, ip := range []string{"192.0.2.10", "192.0.2.11", "192.0.2.12"} {
		lab = append(lab, redeemFrom(t, s, code, "Lab PC "+string(rune('1'+i)), ip))
	}
	bystander := redeemFrom(t, s, other, "Front desk", "192.0.2.20")
	// The third lab PC turns up somewhere else (a minute later: last seen
	// is written at most once a minute).
	s.Clock.Advance(2 * time.Minute)
	if r := do(t, "GET", s.URL+"/api/v1/device", "", "", "Authorization", "Bearer "+lab[2].access, "X-Forwarded-For", "203.0.113.5"); r.status != 200 {
		t.Fatalf("device API: %d %s", r.status, r.raw)
	}
	// Written within a second of the request (authn.LastSeen); now.
	if err := s.App.LastSeen.Flush(ctx); err != nil {
		t.Fatal(err)
	}

	p := do(t, "GET", s.URL+"/api/v1/authorization-codes/"+codeID+"/devices", "", "", adminBasic...)
	if p.status != 200 || p.body["active"] != float64(3) {
		t.Fatalf("preview: %d %s", p.status, p.raw)
	}
	if nets := p.body["networks"].([]any); len(nets) != 1 || nets[0] != "192.0.2.0/24" {
		t.Fatalf("networks: %v", nets)
	}
	sus := p.body["suspicious"].([]any)
	if len(sus) != 1 || sus[0].(map[string]any)["id"] != lab[2].id || sus[0].(map[string]any)["last_ip"] != "203.0.113.5" {
		t.Fatalf("suspicious: %s", p.raw)
	}
	if sum := p.body["summary"].(string); !strings.HasPrefix(sum, "3 devices came in with this code") || !strings.Contains(sum, "1 was seen in the last hour") {
		t.Fatalf("summary: %q", sum)
	}
	// Previewing changed nothing.
	if r := refresh(t, s, lab[0]); r.status != 200 {
		t.Fatalf("refresh after the preview: %d %s", r.status, r.raw)
	}
	lab[0].refresh = ""

	if r := do(t, "POST", s.URL+"/api/v1/authorization-codes/"+codeID+"/revoke-devices", "application/json", `{"keep":true}`, adminBasic...); r.status != 400 {
		t.Fatalf("an unknown field: %d %s", r.status, r.raw)
	}
	r = do(t, "POST", s.URL+"/api/v1/authorization-codes/"+codeID+"/revoke-devices", "application/json", `{}`, adminBasic...)
	if r.status != 200 || r.body["signed_out"] != float64(3) || r.body["code_deleted"] != true {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	for _, d := range lab[1:] {
		if r := refresh(t, s, d); r.status != 400 || r.body["error"] != "invalid_grant" {
			t.Fatalf("a revoked device's refresh: %d %s", r.status, r.raw)
		}
	}
	for _, d := range lab {
		if r := do(t, "GET", s.URL+"/api/v1/device", "", "", "Authorization", "Bearer "+d.access); r.status != 401 {
			t.Fatalf("a revoked device's access token: %d", r.status)
		}
		dev, err := s.App.Store.GetDevice(ctx, d.id)
		if err != nil || dev.State != pairgate.DeviceSignedOut {
			t.Fatalf("%s: %+v %v", d.id, dev, err)
		}
	}
	if r := refresh(t, s, bystander); r.status != 200 {
		t.Fatalf("another code's device: %d %s", r.status, r.raw)
	}
	if r := do(t, "POST", s.URL+"/oauth/token", form, url.Values{"grant_type": {pairgate.GrantAuthorizationCode},
		"client_id": {"print-client"}, "code": {code}, "device_name": {"Late"}}.Encode()); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Fatalf("the leaked code after its revocation: %d %s", r.status, r.raw)
	}
	es, err := s.App.Store.ListAuditEvents(ctx, pairgate.AuditFilter{Action: pairgate.AuditCodeDevicesSignedOut, Target: codeID})
	if err != nil || len(es) != 1 {
		t.Fatalf("audit: %d events, %v", len(es), err)
	}
	listed := strings.Fields(es[0].Details["device_ids"])
	if es[0].Details["count"] != "3" || len(listed) != 3 || es[0].ActorName != "admin" {
		t.Fatalf("the audit event: %+v", es[0])
	}
	for _, d := range lab {
		if !strings.Contains(es[0].Details["device_ids"], d.id) {
			t.Fatalf("the audit event does not list %s", d.id)
		}
	}
}

// TestEphemeralDevicesLeave: a code made ephemeral brings in devices that
// are removed at their sign-out (RFC 7009), at once, or by the sweep once
// unseen for the code's idle time; a device of an ordinary code stays.
func TestEphemeralDevicesLeave(t *testing.T) {
	s := testenv.StartServer(t, testenv.WithConfig(behindProxy))
	ctx := context.Background()
	for _, bad := range []string{`{"ttl":"6h","ephemeral_idle_seconds":60}`, `{"ttl":"6h","ephemeral_idle_seconds":-5}`,
		`{"ttl":"6h","ephemeral_idle_seconds":999999999}`, `{"ttl":"6h","label":"tab\there"}`,
		`{"ttl":"6h","label":"` + strings.Repeat("x", 201) + `"}`} {
		if r := do(t, "POST", s.URL+"/api/v1/authorization-codes", "application/json", bad, adminBasic...); r.status != 400 {
			t.Fatalf("%s: %d %s", bad, r.status, r.raw)
		}
	}
	r := do(t, "POST", s.URL+"/api/v1/authorization-codes", "application/json", `{"ttl":"6h","label":"CI runners","ephemeral_idle_seconds":600}`, adminBasic...)
	if r.status != 201 || r.body["ephemeral_idle_seconds"] != float64(600) {
		t.Fatalf("an ephemeral code: %d %s", r.status, r.raw)
	}
	code := r.body["code"].(string)
	ordinary, _ := s.CreateCode(t, pairgate.TTLNever)
	runner := redeemFrom(t, s, code, "runner-1", "192.0.2.1")
	done := redeemFrom(t, s, code, "runner-2", "192.0.2.2")
	printer := redeemFrom(t, s, ordinary, "Printer", "192.0.2.3")

	if r := do(t, "GET", s.URL+"/api/v1/devices/"+runner.id, "", "", adminBasic...); r.body["ephemeral_idle_seconds"] != float64(600) || r.body["authorized_ip"] != "192.0.2.1" {
		t.Fatalf("an ephemeral device in the API: %s", r.raw)
	}
	// runner-2 logs out: gone at once.
	if r := do(t, "POST", s.URL+"/oauth/revoke", form, url.Values{"client_id": {"print-client"}, "token": {done.refresh}}.Encode()); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	if _, err := s.App.Store.GetDevice(ctx, done.id); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("an ephemeral device after its sign-out: %v", err)
	}
	es, err := s.App.Store.ListAuditEvents(ctx, pairgate.AuditFilter{Action: pairgate.AuditDeviceRemoved, Target: done.id})
	if err != nil || len(es) != 1 || es[0].Details["reason"] != "signed out" {
		t.Fatalf("its removal event: %+v %v", es, err)
	}
	// runner-1 goes quiet: the sweep removes it after ten minutes, not
	// before.
	s.Clock.Advance(9 * time.Minute)
	if res, err := s.App.Lifecycle.Sweep(ctx); err != nil || res.Ephemeral != 0 {
		t.Fatalf("sweep after nine minutes: %+v %v", res, err)
	}
	s.Clock.Advance(2 * time.Minute)
	if res, err := s.App.Lifecycle.Sweep(ctx); err != nil || res.Ephemeral != 1 {
		t.Fatalf("sweep after eleven minutes: %+v %v", res, err)
	}
	if r := refresh(t, s, runner); r.status != 400 || r.body["error"] != "invalid_grant" {
		t.Fatalf("a removed ephemeral device's refresh: %d %s", r.status, r.raw)
	}
	if r := refresh(t, s, printer); r.status != 200 {
		t.Fatalf("an ordinary device: %d %s", r.status, r.raw)
	}
	es, err = s.App.Store.ListAuditEvents(ctx, pairgate.AuditFilter{Action: pairgate.AuditDeviceRemoved, Target: runner.id})
	if err != nil || len(es) != 1 || es[0].ActorName != "ephemeral device" {
		t.Fatalf("the sweep's removal event: %+v %v", es, err)
	}
}
