package server_test

import (
	"context"
	"encoding/base64"
	"net/url"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestInactiveDevicesAreSignedOutThenRemoved: the lifecycle policy with a
// movable clock, on both stores: the server's 90 days, a client's own one
// day; each step is a state, an audit event, and a revocation that the
// device's tokens and the status list show at once.
func TestInactiveDevicesAreSignedOutThenRemoved(t *testing.T) {
	t.Run("SQLite", func(t *testing.T) { testInactivityPolicy(t, testenv.StartServer(t)) })
	t.Run("PostgreSQL", func(t *testing.T) { testInactivityPolicy(t, testenv.StartServer(t, testenv.WithPostgres(t))) })
}

func testInactivityPolicy(t *testing.T, s *testenv.Server) {
	ctx := context.Background()
	admin := []string{"Authorization", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+testenv.AdminPassword))}
	r := do(t, "POST", s.URL+"/api/v1/clients", "application/json", `{"client_id":"kiosks","name":"Kiosks","public":true,
		"grant_types":["urn:pairgate:grant-type:authorization-code","refresh_token"],"scopes":["printing"],
		"inactive_sign_out_days":1,"inactive_remove_days":1}`, admin...)
	if r.status != 201 || r.body["inactive_sign_out_days"] != float64(1) {
		t.Fatalf("client with its own policy: %d %s", r.status, r.raw)
	}
	code, _ := s.CreateCode(t, pairgate.TTLNever)
	redeem := func(client, name string) (string, string) {
		r := do(t, "POST", s.URL+"/oauth/token", form, url.Values{"grant_type": {pairgate.GrantAuthorizationCode},
			"client_id": {client}, "code": {code}, "device_name": {name}}.Encode())
		at, _ := r.body["access_token"].(string)
		if at == "" {
			t.Fatalf("redeem for %s: %s", client, r.raw)
		}
		info := do(t, "GET", s.URL+"/api/v1/device", "", "", "Authorization", "Bearer "+at)
		return info.body["device_id"].(string), at
	}
	printer, _ := redeem("print-client", "Printer")
	kiosk, kioskToken := redeem("kiosks", "Kiosk 7")
	state := func(id string) string {
		d, err := s.App.Store.GetDevice(ctx, id)
		if pairgate.ErrorCode(err) == pairgate.ENOTFOUND {
			return "gone"
		}
		if err != nil {
			t.Fatal(err)
		}
		return d.State
	}

	s.Clock.Advance(25 * time.Hour)
	if res, err := s.App.Lifecycle.Sweep(ctx); err != nil || res.SignedOut != 1 {
		t.Fatalf("sweep after a day: %+v %v", res, err)
	}
	if st := state(kiosk); st != pairgate.DeviceExpired {
		t.Fatalf("the kiosk after a day unseen: %s", st)
	}
	if st := state(printer); st != pairgate.DeviceActive {
		t.Fatalf("the printer after a day unseen: %s", st)
	}
	if r := do(t, "GET", s.URL+"/api/v1/device", "", "", "Authorization", "Bearer "+kioskToken); r.status != 401 {
		t.Fatalf("the signed-out kiosk's token: %d", r.status)
	}
	events := func(action string) []*pairgate.AuditEvent {
		es, err := s.App.Store.ListAuditEvents(ctx, pairgate.AuditFilter{Action: action, Target: kiosk})
		if err != nil {
			t.Fatal(err)
		}
		return es
	}
	if es := events(pairgate.AuditDeviceExpired); len(es) != 1 || es[0].ActorType != pairgate.ActorSystem {
		t.Fatalf("expiry events: %+v", es)
	}
	// A second sweep (another replica) finds nothing more to do.
	if res, _ := s.App.Lifecycle.Sweep(ctx); res.SignedOut != 0 || res.Removed != 0 {
		t.Fatalf("a second sweep: %+v", res)
	}
	s.Clock.Advance(25 * time.Hour)
	if res, err := s.App.Lifecycle.Sweep(ctx); err != nil || res.Removed != 1 {
		t.Fatalf("sweep a day after the sign-out: %+v %v", res, err)
	}
	if st := state(kiosk); st != "gone" {
		t.Fatalf("the kiosk a day after its sign-out: %s", st)
	}
	if es := events(pairgate.AuditDeviceRemoved); len(es) != 1 {
		t.Fatalf("removal events: %d", len(es))
	}
	// The server's own policy, 90 days.
	s.Clock.Advance(89 * 24 * time.Hour)
	s.App.Lifecycle.Sweep(ctx)
	if st := state(printer); st != pairgate.DeviceExpired {
		t.Fatalf("the printer after 91 days unseen: %s", st)
	}
}
