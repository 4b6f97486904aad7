package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// introspectStatus is what /oauth/introspect answers a client's
// credentials: 200 when they are right, 401 when not.
func introspectStatus(t *testing.T, s *testenv.Server, id, secret string) int {
	t.Helper()
	req, _ := http.NewRequest("POST", s.URL+"/oauth/introspect", strings.NewReader("token=garbage"))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.SetBasicAuth(id, secret)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// TestClientUpdateAndSecretRotation: PATCH changes what it names and
// nothing when a field is wrong (a 400 naming it); a rotated secret works
// at once and the old one is refused at once.
func TestClientUpdateAndSecretRotation(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/clients", `{"client_id":"svc","name":"Service","public":false,
		"grant_types":["refresh_token"],"scopes":["printing"]}`, bearer(key)...), 201)
	old := r.body["client_secret"].(string)

	r = want(t, call(t, nil, "PATCH", s.URL+"/api/v1/clients/svc", `{"scopes":["printing","portal"],"name":"Renamed"}`, bearer(key)...), 200)
	if fmt.Sprint(r.body["scopes"]) != "[portal printing]" || r.body["name"] != "Renamed" ||
		fmt.Sprint(r.body["grant_types"]) != "[refresh_token]" || r.body["client_secret"] != nil {
		t.Fatalf("after the patch: %s", r.raw)
	}
	for body, field := range map[string]string{
		`{"grant_types":["password"],"name":"Not this"}`: "grant_types:",
		`{"grant_types":[]}`:                             "grant_types",
		`{"scopes":["a\"b"]}`:                            "scopes:",
		`{"scopes":[]}`:                                  "scopes",
		`{"name":"  "}`:                                  "name",
		`{"name":"tab\there"}`:                           "name",
	} {
		r := want(t, call(t, nil, "PATCH", s.URL+"/api/v1/clients/svc", body, bearer(key)...), 400)
		if msg := r.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, field) {
			t.Errorf("%s: message %q does not start with %q", body, msg, field)
		}
	}
	want(t, call(t, nil, "PATCH", s.URL+"/api/v1/clients/nobody", `{"name":"X"}`, bearer(key)...), 404)
	if c, _ := s.App.Store.GetClient(context.Background(), "svc"); c.Name != "Renamed" || c.Scopes.String() != "portal printing" {
		t.Fatalf("a refused patch changed the client: %+v", c)
	}

	if st := introspectStatus(t, s, "svc", old); st != 200 {
		t.Fatalf("the first secret: %d", st)
	}
	r = want(t, call(t, nil, "POST", s.URL+"/api/v1/clients/svc/secret", "", bearer(key)...), 200)
	next, _ := r.body["client_secret"].(string)
	if !strings.HasPrefix(next, "pgs_") || next == old || r.header.Get("Cache-Control") != "no-store" {
		t.Fatalf("rotated: %s", r.raw)
	}
	if st := introspectStatus(t, s, "svc", old); st != 401 {
		t.Fatalf("the old secret after the rotation: %d, want 401", st)
	}
	if st := introspectStatus(t, s, "svc", next); st != 200 {
		t.Fatalf("the new secret: %d", st)
	}
	// A public client has no secret to rotate.
	want(t, call(t, nil, "POST", s.URL+"/api/v1/clients/print-client/secret", "", bearer(key)...), 409)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/clients/nobody/secret", "", bearer(key)...), 404)
	for _, action := range []string{pairgate.AuditClientUpdated, pairgate.AuditClientSecret} {
		ev, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: action})
		if len(ev) != 1 || ev[0].Target != "svc" {
			t.Fatalf("%s: %d events", action, len(ev))
		}
	}
}

// TestLockoutsListedAndLifted: wrong passwords lock an account out; the
// lock-out is listed with the account, and lifting it by its id lets the
// right password in at once.
func TestLockoutsListedAndLifted(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	if _, _, err := s.App.Admin.CreateUser(context.Background(), adminActor(), "ops", "admin", "ops password 1"); err != nil {
		t.Fatal(err)
	}
	try := func(pass string) int {
		return call(t, nil, "POST", s.URL+"/api/v1/api-keys", `{"name":"k"}`, "Authorization", basicAuth("ops", pass)).status
	}
	list := func() []any {
		return want(t, call(t, nil, "GET", s.URL+"/api/v1/lockouts", "", bearer(key)...), 200).body["lockouts"].([]any)
	}
	if l := list(); len(l) != 0 {
		t.Fatalf("lock-outs before any guess: %v", l)
	}
	for range 20 {
		try("guess")
	}
	if st := try("ops password 1"); st != 429 {
		t.Fatalf("locked out: %d", st)
	}
	var id string
	for _, x := range list() {
		l := x.(map[string]any)
		if l["rule"] == "signin-account" && l["subject"] == "ops" {
			id = l["id"].(string)
			if l["hits"].(float64) != 21 || l["limit"].(float64) != 20 {
				t.Fatalf("lock-out: %v", l)
			}
			if until, _ := time.Parse(time.RFC3339Nano, l["until"].(string)); !until.After(s.Clock.Now()) {
				t.Fatalf("until %v", l["until"])
			}
		}
	}
	if id == "" {
		t.Fatalf("the account's lock-out is not listed: %v", list())
	}
	want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/not-hex/lift", "", bearer(key)...), 400)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/"+url.PathEscape(id)+"/lift", "", bearer(key)...), 200)
	if r.body["subject"] != "ops" {
		t.Fatalf("lifted: %s", r.raw)
	}
	want(t, call(t, nil, "POST", s.URL+"/api/v1/lockouts/"+id+"/lift", "", bearer(key)...), 404)
	if st := try("ops password 1"); st != 201 {
		t.Fatalf("after the lift: %d", st)
	}
	for _, x := range list() {
		if x.(map[string]any)["id"] == id {
			t.Fatal("a lifted lock-out is still listed")
		}
	}
	ev, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{Action: pairgate.AuditRateLimitUnlocked})
	if len(ev) != 1 || ev[0].Details["subject"] != "ops" || ev[0].Details["rule"] != "signin-account" {
		t.Fatalf("unlock events: %+v", ev)
	}
}

// TestDevicesSortedAPI: ?sort=last_seen&order=desc pages through devices
// that share their last-seen times without a duplicate or a gap; an
// unknown column is a 400 naming the parameter.
func TestDevicesSortedAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	ctx := context.Background()
	now := s.Clock.Now()
	const n = 9
	for i := range n {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_sort_%02d", i), ClientID: pairgate.DefaultClientID, Name: "Printer",
			Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode, AuthorizedAt: now,
			LastSeenAt: now.Add(time.Duration(i%3) * time.Minute)}
		fam := &pairgate.RefreshFamily{ID: fmt.Sprintf("fam_sort_%02d", i), ClientID: d.ClientID, Scopes: pairgate.Scopes{"printing"}, CreatedAt: now}
		tok := pairgate.NewRefreshToken{Hash: []byte(fmt.Sprintf("sort token %02d", i)), IssuedAt: now, ExpiresAt: now.Add(time.Hour)}
		if _, err := s.App.Store.IssueRefreshFamily(ctx, d, fam, tok); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	next := ""
	for range n {
		path := "/api/v1/devices?sort=last_seen&order=desc&limit=2"
		if next != "" {
			path += "&after=" + url.QueryEscape(next)
		}
		r := want(t, call(t, nil, "GET", s.URL+path, "", bearer(key)...), 200)
		for _, d := range r.body["devices"].([]any) {
			got = append(got, d.(map[string]any)["id"].(string))
		}
		next, _ = r.body["next"].(string)
		if next == "" {
			break
		}
	}
	wantOrder := "[dev_sort_08 dev_sort_05 dev_sort_02 dev_sort_07 dev_sort_04 dev_sort_01 dev_sort_06 dev_sort_03 dev_sort_00]"
	if fmt.Sprint(got) != wantOrder {
		t.Fatalf("by last seen, descending:\n got %v\nwant %v", got, wantOrder)
	}
	r := want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?sort=colour", "", bearer(key)...), 400)
	if msg := r.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(msg, "sort:") {
		t.Fatalf("message %q", msg)
	}
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?sort=name&order=sideways", "", bearer(key)...), 400)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/devices?sort=name&after=dev_sort_01", "", bearer(key)...), 400)
}
