package oauth_test

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/accesstoken"
	"github.com/pairgate/pairgate/internal/testenv"
)

// bothStores runs a test against a server on SQLite and on PostgreSQL.
func bothStores(t *testing.T, test func(t *testing.T, s *testenv.Server)) {
	t.Run("SQLite", func(t *testing.T) { test(t, testenv.StartServer(t)) })
	t.Run("Postgres", func(t *testing.T) { test(t, testenv.StartServer(t, testenv.WithPostgres(t))) })
}

// adminGet reads an admin API resource with a key made the way `pairgate
// admin login` makes one.
func adminGet(t *testing.T, s *testenv.Server, path string) map[string]any {
	t.Helper()
	r := post(t, s.URL+"/api/v1/api-keys", "application/json", `{"name":"test"}`, "Authorization", basic("admin", testenv.AdminPassword))
	if r.status != 201 {
		t.Fatalf("make an API key: %d %s", r.status, r.raw)
	}
	req, _ := http.NewRequest("GET", s.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+r.body["key"].(string))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&body); resp.StatusCode != 200 || err != nil {
		t.Fatalf("GET %s: %d %v", path, resp.StatusCode, body)
	}
	return body
}

func wantDeviceState(t *testing.T, s *testenv.Server, deviceID, state string) {
	t.Helper()
	d := adminGet(t, s, "/api/v1/devices/"+deviceID)
	if d["state"] != state || d["state_changed_at"] == nil {
		t.Fatalf("device %s: state %v since %v, want %s", deviceID, d["state"], d["state_changed_at"], state)
	}
}

func wantAudited(t *testing.T, s *testenv.Server, action, target string) {
	t.Helper()
	events, err := s.App.Store.ListAuditEvents(ctx(t), pairgate.AuditFilter{Action: action, Target: target})
	if err != nil {
		t.Fatal(err)
	}
	if len(events) != 1 {
		t.Fatalf("%d %s events for %s, want 1", len(events), action, target)
	}
}

// wantRevoked: an unexpired access token of a revoked authorization is
// refused by the device API and inactive at introspection (docs/design.md 2.2).
func wantRevoked(t *testing.T, s *testenv.Server, rsSecret, at string) {
	t.Helper()
	deviceAPI(t, s, at, http.StatusUnauthorized)
	if in := introspect(t, s, "rs", rsSecret, at); in["active"] != false {
		t.Fatalf("a revoked authorization's access token is active at introspection: %v", in)
	}
}

// TestSigningOutRevokesTheAccessToken: after RFC 7009 revocation of the
// refresh token (a device logging out), its access token stops working at
// pairgate at once, and the device shows signed_out (issue 11, case 6).
func TestSigningOutRevokesTheAccessToken(t *testing.T) {
	bothStores(t, func(t *testing.T, s *testenv.Server) {
		sec := mkConfidential(t, s, "rs")
		key := newKey(t, "")
		toks, devID := pairDeviceWithKey(t, s, "HW-LOGOUT", key)
		at, rt := toks["access_token"].(string), toks["refresh_token"].(string)
		deviceAPIWithKey(t, s, key, at, http.StatusOK)
		wantDeviceState(t, s, devID, pairgate.DeviceActive)
		if r := post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client&token="+rt); r.status != 200 {
			t.Fatalf("revoke: %d %s", r.status, r.raw)
		}
		wantRevoked(t, s, sec, at)
		wantDeviceState(t, s, devID, pairgate.DeviceSignedOut)
		wantAudited(t, s, pairgate.AuditDeviceSignedOut, devID)
		// Revoking again is fine (RFC 7009 §2.2) and records nothing more.
		if r := post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client&token="+rt); r.status != 200 {
			t.Fatalf("revoke again: %d %s", r.status, r.raw)
		}
		wantAudited(t, s, pairgate.AuditDeviceSignedOut, devID)

		// Authorizing again, with the device's key (docs/design.md 2.1), makes
		// the device active, with working tokens.
		toks, again := pairDeviceWithKey(t, s, "HW-LOGOUT", key)
		if again != devID {
			t.Fatalf("re-authorization made device %s, want %s", again, devID)
		}
		deviceAPIWithKey(t, s, key, toks["access_token"].(string), http.StatusOK)
		wantDeviceState(t, s, devID, pairgate.DeviceActive)
		wantRevoked(t, s, sec, at)
	})
}

// TestReuseDetectionRevokesTheAccessTokens: presenting a rotated-out
// refresh token revokes the family, and with it every access token of that
// authorization; the device shows revoked.
func TestReuseDetectionRevokesTheAccessTokens(t *testing.T) {
	bothStores(t, func(t *testing.T, s *testenv.Server) {
		sec := mkConfidential(t, s, "rs")
		toks, devID := pairDevice(t, s, "HW-REUSE")
		body := "grant_type=refresh_token&client_id=print-client&refresh_token=" + toks["refresh_token"].(string)
		fresh := post(t, s.URL+"/oauth/token", formType, body)
		wantTokens(t, fresh)
		deviceAPI(t, s, fresh.body["access_token"].(string), http.StatusOK)
		s.Clock.Advance(time.Minute) // past the grace window
		wantError(t, post(t, s.URL+"/oauth/token", formType, body), 400, "invalid_grant")
		wantRevoked(t, s, sec, toks["access_token"].(string))
		wantRevoked(t, s, sec, fresh.body["access_token"].(string))
		wantDeviceState(t, s, devID, pairgate.DeviceRevoked)
		wantAudited(t, s, pairgate.AuditDeviceRevoked, devID)
		wantAudited(t, s, pairgate.AuditRefreshReuse, devID)
	})
}

// TestReauthorizationSupersedesTheOldAccessToken: a device authorized
// again holds the new authorization only; the previous one's access token
// stops working at once, though it has not expired.
func TestReauthorizationSupersedesTheOldAccessToken(t *testing.T) {
	bothStores(t, func(t *testing.T, s *testenv.Server) {
		sec := mkConfidential(t, s, "rs")
		key := newKey(t, "")
		old, devID := pairDeviceWithKey(t, s, "HW-AGAIN", key)
		deviceAPIWithKey(t, s, key, old["access_token"].(string), http.StatusOK)
		toks, again := pairDeviceWithKey(t, s, "HW-AGAIN", key)
		if again != devID {
			t.Fatalf("re-authorization made device %s, want %s", again, devID)
		}
		deviceAPIWithKey(t, s, key, toks["access_token"].(string), http.StatusOK)
		wantRevoked(t, s, sec, old["access_token"].(string))
		wantDeviceState(t, s, devID, pairgate.DeviceActive)
	})
}

// TestTokensWithoutSidFromBeforeTheUpgrade: an access token minted before
// tokens carried their family (by the previous version, during an upgrade
// or a rolling restart) keeps working while its device holds the
// authorization it was minted under, and stops with it.
func TestTokensWithoutSidFromBeforeTheUpgrade(t *testing.T) {
	s := testenv.StartServer(t)
	key := newKey(t, "")
	toks, devID := pairDeviceWithKey(t, s, "HW-LEGACY", key)
	legacy := func() string {
		t.Helper()
		tok, _, err := s.App.Tokens.Mint(ctx(t), accesstoken.Grant{Subject: devID, ClientID: "print-client", Scopes: pairgate.Scopes{"printing"}, DeviceID: devID})
		if err != nil {
			t.Fatal(err)
		}
		return tok
	}
	before := legacy()
	deviceAPI(t, s, before, http.StatusOK)
	// Superseded by a new authorization.
	s.Clock.Advance(time.Second)
	toks, _ = pairDeviceWithKey(t, s, "HW-LEGACY", key)
	deviceAPI(t, s, before, http.StatusUnauthorized)
	// Signed out.
	after := legacy()
	deviceAPI(t, s, after, http.StatusOK)
	if r := post(t, s.URL+"/oauth/revoke", formType, "client_id=print-client&token="+toks["refresh_token"].(string)); r.status != 200 {
		t.Fatalf("revoke: %d %s", r.status, r.raw)
	}
	deviceAPI(t, s, after, http.StatusUnauthorized)
}
