package oauth_test

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

const authCodeGrant = "urn:pairgate:grant-type:authorization-code"

// newCode generates an authorization code as the console does.
func newCode(t *testing.T, s *testenv.Server, ttl pairgate.CodeTTL) (string, *pairgate.AuthorizationCode) {
	t.Helper()
	return s.CreateCode(t, ttl)
}

// redeemForm redeems a code as an install script with curl would: a form
// body with the public client's id in it.
func redeemForm(t *testing.T, s *testenv.Server, code, name, hw string) reply {
	t.Helper()
	v := url.Values{"grant_type": {authCodeGrant}, "client_id": {"print-client"}, "code": {code}, "device_name": {name}}
	if hw != "" {
		v.Set("hardware_id", hw)
	}
	return post(t, s.URL+"/oauth/token", formType, v.Encode())
}

func refresh(t *testing.T, s *testenv.Server, token string) reply {
	t.Helper()
	return post(t, s.URL+"/oauth/token", formType, url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {token}}.Encode())
}

// TestAuthorizationCodeGrant: an admin-issued code, redeemed over HTTP with
// form and JSON bodies, by many devices; the device's key updates its
// device, the same hardware id without it does not; the tokens refresh;
// deleting the device revokes it.
func TestAuthorizationCodeGrant(t *testing.T) {
	s := testenv.StartServer(t)
	code, ac := newCode(t, s, pairgate.TTL24Hours)

	// The first device proves a key (DPoP): only that key re-authorizes it.
	key := newKey(t, "")
	redeemKeyed := func(name string) reply {
		v := url.Values{"grant_type": {authCodeGrant}, "client_id": {"print-client"}, "code": {code}, "device_name": {name}, "hardware_id": {"SN-0001"}}
		return postProof(t, key, s.URL+"/oauth/token", v.Encode())
	}
	r := redeemKeyed("Front desk")
	wantTokens(t, r)
	claims := verifyJWT(t, s, r.body["access_token"].(string))
	devID, _ := claims["device_id"].(string)
	if claims["sub"] != devID || devID == "" || claims["scope"] != "printing" || claims["client_id"] != "print-client" {
		t.Fatalf("claims: %v", claims)
	}
	dev, err := s.App.Store.GetDevice(ctx(t), devID)
	if err != nil || dev.Name != "Front desk" || dev.HardwareID != "SN-0001" || dev.Mode != pairgate.ModeDevice ||
		dev.AuthMethod != pairgate.AuthByAuthorizationCode || dev.AuthCodeID != ac.ID || dev.LastIP != "127.0.0.1" {
		t.Fatalf("inventory: %+v %v", dev, err)
	}
	if who := deviceAPIWithKey(t, s, key, r.body["access_token"].(string), http.StatusOK); who["device_id"] != devID {
		t.Fatalf("who am I: %v", who)
	}
	firstRefresh := r.body["refresh_token"].(string)

	// JSON under curl's default content type, Basic auth with an empty
	// secret, and the code typed in lower case without dashes.
	typed := strings.ToLower(strings.ReplaceAll(code, "-", ""))
	r = post(t, s.URL+"/oauth/access_token/", formType,
		fmt.Sprintf(`{"grant_type":%q,"code":%q,"device_name":"Back office","hardware_id":"SN-0002","scope":"printing"}`, authCodeGrant, typed),
		"Authorization", basic("print-client", ""))
	wantTokens(t, r)

	// One code, many devices.
	for i := 3; i <= 8; i++ {
		wantTokens(t, redeemForm(t, s, code, fmt.Sprintf("Printer %d", i), fmt.Sprintf("SN-%04d", i)))
	}
	if n, _ := s.App.Store.CountDevices(ctx(t)); n != 8 {
		t.Fatalf("devices = %d, want 8", n)
	}

	// The same hardware id without the key: another device, marked; the
	// first keeps its name and tokens.
	imp := redeemForm(t, s, code, "Impostor", "SN-0001")
	wantTokens(t, imp)
	if c := verifyJWT(t, s, imp.body["access_token"].(string)); c["sub"] == devID {
		t.Fatalf("a redemption without the key took over the device: %v", c)
	}
	if n, _ := s.App.Store.CountDevices(ctx(t)); n != 9 {
		t.Fatalf("devices = %d, want 9", n)
	}
	// The same key again: the same device, updated; its earlier tokens die.
	r = redeemKeyed("Front desk (moved)")
	wantTokens(t, r)
	if c := verifyJWT(t, s, r.body["access_token"].(string)); c["sub"] != devID || c["device_id"] != devID {
		t.Fatalf("re-authorization made another device: %v, want %s", c, devID)
	}
	if n, _ := s.App.Store.CountDevices(ctx(t)); n != 9 {
		t.Fatalf("devices = %d after re-authorization, want 9", n)
	}
	if dev, _ := s.App.Store.GetDevice(ctx(t), devID); dev.Name != "Front desk (moved)" {
		t.Fatalf("device not renamed: %+v", dev)
	}
	wantError(t, refreshWithKey(t, s, key, firstRefresh), 400, "invalid_grant")

	// The issued refresh token rotates like any other, with the key.
	r2 := refreshWithKey(t, s, key, r.body["refresh_token"].(string))
	wantTokens(t, r2)
	if r2.body["refresh_token"] == r.body["refresh_token"] {
		t.Fatal("refresh token did not rotate")
	}
	if c := verifyJWT(t, s, r2.body["access_token"].(string)); c["sub"] != devID {
		t.Fatalf("refreshed token sub %v, want %s", c["sub"], devID)
	}

	// Deleting the device revokes it at once (docs/design.md 2.2).
	if err := s.App.Store.DeleteDevice(ctx(t), devID, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	wantError(t, refreshWithKey(t, s, key, r2.body["refresh_token"].(string)), 400, "invalid_grant")
	deviceAPIWithKey(t, s, key, r2.body["access_token"].(string), http.StatusUnauthorized)
	// The code still works for it: the device can be authorized again.
	wantTokens(t, redeemForm(t, s, code, "Front desk", "SN-0001"))
}

// TestAuthorizationCodeExpiresForEveryTTL: every lifetime the console
// offers ends exactly when it says, for redemption and for the list; the
// never-expiring code outlives them all. The clock moves; nothing sleeps.
func TestAuthorizationCodeExpiresForEveryTTL(t *testing.T) {
	s := testenv.StartServer(t)
	for _, ttl := range pairgate.CodeTTLs {
		if ttl == pairgate.TTLNever {
			continue
		}
		t.Run(string(ttl), func(t *testing.T) {
			code, ac := newCode(t, s, ttl)
			s.Clock.Advance(ttl.Duration() - time.Second)
			wantTokens(t, redeemForm(t, s, code, "Just in time", "hw-"+string(ttl)))
			if !listed(t, s, ac.ID) {
				t.Fatal("not listed a second before expiry")
			}
			s.Clock.Advance(time.Second)
			r := redeemForm(t, s, code, "Too late", "hw-late-"+string(ttl))
			wantError(t, r, 400, "invalid_grant")
			if strings.Contains(r.raw, code) {
				t.Fatalf("the error echoes the code: %s", r.raw)
			}
			if listed(t, s, ac.ID) {
				t.Fatal("still listed at expiry")
			}
		})
	}
	never, ac := newCode(t, s, pairgate.TTLNever)
	s.Clock.Advance(400 * 24 * time.Hour)
	wantTokens(t, redeemForm(t, s, never, "Much later", "hw-never"))
	if !listed(t, s, ac.ID) {
		t.Fatal("never-expiring code not listed")
	}
	// Expired codes leave the store, too.
	gc, err := s.App.Store.GarbageCollect(ctx(t), s.Clock.Now())
	if err != nil || gc.AuthorizationCodes != 5 {
		t.Fatalf("GC deleted %d authorization codes (%v), want 5", gc.AuthorizationCodes, err)
	}
}

func listed(t *testing.T, s *testenv.Server, id string) bool {
	t.Helper()
	list, err := s.App.Admin.ListCodes(ctx(t), s.AdminActor(t))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range list {
		if c.ID == id {
			return true
		}
	}
	return false
}

// TestDeletedAuthorizationCodeFailsAtOnce: deleting a code stops new
// redemptions from the next request on; the devices it authorized stay.
func TestDeletedAuthorizationCodeFailsAtOnce(t *testing.T) {
	s := testenv.StartServer(t)
	code, ac := newCode(t, s, pairgate.TTLNever)
	r := redeemForm(t, s, code, "Kept", "hw-kept")
	wantTokens(t, r)
	if err := s.App.Admin.DeleteCode(ctx(t), s.AdminActor(t), ac.ID); err != nil {
		t.Fatal(err)
	}
	wantError(t, redeemForm(t, s, code, "After", "hw-after"), 400, "invalid_grant")
	wantTokens(t, refresh(t, s, r.body["refresh_token"].(string)))
	if pairgate.ErrorCode(s.App.Admin.DeleteCode(ctx(t), s.AdminActor(t), ac.ID)) != pairgate.ENOTFOUND {
		t.Fatal("deleting a deleted code did not say not found")
	}
}

// TestAuthorizationCodeBadInput: docs/design.md 2.8 for the grant: each bad
// request gets its RFC 6749 error and writes nothing.
func TestAuthorizationCodeBadInput(t *testing.T) {
	s := testenv.StartServer(t)
	code, _ := newCode(t, s, pairgate.TTL60Minutes)
	restricted := &pairgate.Client{ID: "refresh-only", Name: "Refresh only", Public: true,
		GrantTypes: []string{pairgate.GrantRefreshToken}, Scopes: pairgate.Scopes{"printing"}, CreatedAt: time.Now()}
	if err := s.App.Store.CreateClient(ctx(t), restricted); err != nil {
		t.Fatal(err)
	}
	before := testenv.RowCounts(t, s.DB)
	form := func(kv ...string) string {
		v := url.Values{"grant_type": {authCodeGrant}, "client_id": {"print-client"}}
		for i := 0; i+1 < len(kv); i += 2 {
			v.Set(kv[i], kv[i+1])
		}
		return v.Encode()
	}
	for _, tc := range []struct {
		name, body, want string
	}{
		{"no code", form("device_name", "P"), "invalid_request"},
		{"no device name", form("code", code), "invalid_request"},
		{"control characters in the name", form("code", code, "device_name", "P\x01"), "invalid_request"},
		{"hardware id too long", form("code", code, "device_name", "P", "hardware_id", strings.Repeat("x", 257)), "invalid_request"},
		{"scope beyond the client's", form("code", code, "device_name", "P", "scope", "printing admin"), "invalid_scope"},
		{"wrong code", form("code", "0000-0000-0000-0000", "device_name", "P"), "invalid_grant"},
		{"not a code", form("code", "hello", "device_name", "P"), "invalid_grant"},
		{"client without the grant", strings.Replace(form("code", code, "device_name", "P"), "print-client", "refresh-only", 1), "unauthorized_client"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			wantError(t, post(t, s.URL+"/oauth/token", formType, tc.body), 400, tc.want)
		})
	}
	after := testenv.RowCounts(t, s.DB)
	// The wrong codes were counted against the source address (docs/design.md
	// 2.6) and recorded in the audit log: those are the writes a refused
	// guess must make, and the only ones.
	if after["rate_limits"] != 1 || after["audit_events"]-before["audit_events"] != 2 {
		t.Errorf("wrong codes: %d rate-limit rows (want 1, per source), %d audit events (want 2)", after["rate_limits"], after["audit_events"]-before["audit_events"])
	}
	for _, table := range []string{"rate_limits", "audit_events"} {
		delete(before, table)
		delete(after, table)
	}
	if fmt.Sprint(before) != fmt.Sprint(after) {
		t.Fatalf("refused requests wrote rows:\nbefore %v\nafter  %v", before, after)
	}
}

// TestAuthorizationCodeGuessingIsLimited: docs/design.md 2.6 for admin-issued
// codes. Wrong codes from one address are limited; right codes are not
// counted, so a whole site behind one NAT address can enroll with one code.
func TestAuthorizationCodeGuessingIsLimited(t *testing.T) {
	s := testenv.StartServer(t)
	code, _ := newCode(t, s, pairgate.TTL6Hours)
	for i := range 40 {
		wantTokens(t, redeemForm(t, s, code, fmt.Sprintf("Laptop %d", i), fmt.Sprintf("NAT-%d", i)))
	}
	for i := range 30 {
		wantError(t, redeemForm(t, s, fmt.Sprintf("ZZZZ-ZZZZ-ZZZZ-%04d", i), "Guess", ""), 400, "invalid_grant")
	}
	r := redeemForm(t, s, code, "Guesser", "")
	if r.status != http.StatusTooManyRequests || r.header.Get("Retry-After") == "" {
		t.Fatalf("after 30 wrong codes, even the right one: %d %s", r.status, r.raw)
	}
	// The lock-out ends with its window.
	s.Clock.Advance(10 * time.Minute)
	wantTokens(t, redeemForm(t, s, code, "Later", ""))
}

// TestAuthorizationCodeAudit: redemptions and failures are in the audit
// log, without the code.
func TestAuthorizationCodeAudit(t *testing.T) {
	s := testenv.StartServer(t)
	code, ac := newCode(t, s, pairgate.TTL60Minutes)
	wantTokens(t, redeemForm(t, s, code, "Audited", "AUD-1"))
	wantError(t, redeemForm(t, s, "0000-0000-0000-0000", "Guess", ""), 400, "invalid_grant")
	ok, _ := s.App.Store.ListAuditEvents(ctx(t), pairgate.AuditFilter{Action: pairgate.AuditCodeRedeemed})
	bad, _ := s.App.Store.ListAuditEvents(ctx(t), pairgate.AuditFilter{Action: pairgate.AuditCodeFailed})
	if len(ok) != 1 || ok[0].Target != ac.ID || ok[0].Details["device_name"] != "Audited" || ok[0].IP != "127.0.0.1" {
		t.Fatalf("redeemed: %+v", ok)
	}
	if len(bad) != 1 || bad[0].IP != "127.0.0.1" || strings.Contains(fmt.Sprint(bad[0]), "0000-0000") {
		t.Fatalf("failed: %+v", bad)
	}
}
