package api_test

import (
	"context"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/testenv"
)

// The roles of docs/design.md section 3 at the admin API, as a table: every
// admin endpoint (read from internal/server/routes.go, so that a new one
// without a row fails this test), for each role, with the person's
// console session and with an API key of that person holding every scope.
// Y is the endpoint's success (2xx), N is 403, in the order admin,
// device-manager, auditor, user.

var roleOrder = []string{pairgate.RoleAdmin, pairgate.RoleDeviceManager, pairgate.RoleAuditor, pairgate.RoleUser}

// target makes what one call acts on (a fresh one each time, so that a
// success is a success and not a 404) and returns the path and body.
type target func(e *roleEnv, t *testing.T, role string) (path, body string)

type endpoint struct {
	method, route string
	target        target
	session, key  string
}

func fixed(path, body string) target {
	return func(*roleEnv, *testing.T, string) (string, string) { return path, body }
}

var roleTable = []endpoint{
	{"POST", "/api/v1/authorization-codes", fixed("/api/v1/authorization-codes", `{"ttl":"30m"}`), "YYNN", "YYNN"},
	{"GET", "/api/v1/authorization-codes", fixed("/api/v1/authorization-codes", ""), "YYYN", "YYYN"},
	{"DELETE", "/api/v1/authorization-codes/{id}", (*roleEnv).code, "YYNN", "YYNN"},
	{"GET", "/api/v1/authorization-codes/{id}/devices", (*roleEnv).codeDevices, "YYYN", "YYYN"},
	{"POST", "/api/v1/authorization-codes/{id}/revoke-devices", (*roleEnv).revokeCodeDevices, "YYNN", "YYNN"},
	{"GET", "/api/v1/devices", fixed("/api/v1/devices", ""), "YYYN", "YYYN"},
	{"GET", "/api/v1/devices/{id}", (*roleEnv).deviceGet, "YYYN", "YYYN"},
	{"DELETE", "/api/v1/devices/{id}", (*roleEnv).device, "YYNN", "YYNN"},
	{"POST", "/api/v1/clients", (*roleEnv).newClient, "YNNN", "YNNN"},
	{"GET", "/api/v1/clients", fixed("/api/v1/clients", ""), "YNYN", "YNYN"},
	{"GET", "/api/v1/clients/{id}", fixed("/api/v1/clients/print-client", ""), "YNYN", "YNYN"},
	{"DELETE", "/api/v1/clients/{id}", (*roleEnv).client, "YNNN", "YNNN"},
	{"PATCH", "/api/v1/clients/{id}", (*roleEnv).clientPatch, "YNNN", "YNNN"},
	{"POST", "/api/v1/clients/{id}/secret", (*roleEnv).clientSecret, "YNNN", "YNNN"},
	{"PUT", "/api/v1/clients/{id}/device-flow", fixed("/api/v1/clients/print-client/device-flow", `{"approval_network_prefix":24}`), "YNNN", "YNNN"},
	// Every person makes keys for themselves; a key never makes one.
	{"POST", "/api/v1/api-keys", fixed("/api/v1/api-keys", `{"name":"more"}`), "YYYY", "NNNN"},
	// Everyone lists keys: all of them with apikeys.read, else their own.
	{"GET", "/api/v1/api-keys", fixed("/api/v1/api-keys", ""), "YYYY", "YYYY"},
	// A person revokes their own keys; a key only itself, not a sibling.
	{"DELETE", "/api/v1/api-keys/{id}", (*roleEnv).ownKey, "YYYY", "NNNN"},
	{"GET", "/api/v1/users", fixed("/api/v1/users", ""), "YNYN", "YNYN"},
	// Accounts, roles and passwords: an admin in person, never a key.
	{"POST", "/api/v1/users", (*roleEnv).newUser, "YNNN", "NNNN"},
	{"DELETE", "/api/v1/users/{id}", (*roleEnv).user, "YNNN", "NNNN"},
	{"PUT", "/api/v1/users/{id}/password", (*roleEnv).userPassword, "YNNN", "NNNN"},
	{"PUT", "/api/v1/users/{id}/role", (*roleEnv).userRole, "YNNN", "NNNN"},
	{"POST", "/api/v1/printers", (*roleEnv).newPrinter, "YYNN", "YYNN"},
	{"GET", "/api/v1/printers", fixed("/api/v1/printers", ""), "YYYN", "YYYN"},
	{"GET", "/api/v1/printers/{id}", (*roleEnv).printer, "YYYN", "YYYN"},
	{"PATCH", "/api/v1/printers/{id}", (*roleEnv).printerPatch, "YYNN", "YYNN"},
	{"DELETE", "/api/v1/printers/{id}", (*roleEnv).printer, "YYNN", "YYNN"},
	// The check reaches out to the printer: only those who may change it.
	{"POST", "/api/v1/printers/{id}/check", (*roleEnv).printerCheck, "YYNN", "YYNN"},
	{"POST", "/api/v1/deployments", (*roleEnv).newDeployment, "YYNN", "YYNN"},
	{"GET", "/api/v1/deployments", fixed("/api/v1/deployments", ""), "YYYN", "YYYN"},
	{"DELETE", "/api/v1/deployments/{id}", (*roleEnv).deployment, "YYNN", "YYNN"},
	{"GET", "/api/v1/audit-events", fixed("/api/v1/audit-events", ""), "YNYN", "YNYN"},
	{"POST", "/api/v1/lockouts/clear", fixed("/api/v1/lockouts/clear", `{"ip":"192.0.2.1"}`), "YNNN", "YNNN"},
	{"GET", "/api/v1/lockouts", fixed("/api/v1/lockouts", ""), "YNYN", "YNYN"},
	{"POST", "/api/v1/lockouts/{id}/lift", (*roleEnv).lockout, "YNNN", "YNNN"},
}

// notAdmin are the API routes that are not the admin API.
var notAdmin = map[string]bool{"GET /api/v1/device": true, "GET /api/v1/device/printers": true}

type roleEnv struct {
	s        *testenv.Server
	sessions map[string]*http.Client
	keys     map[string]string
	users    map[string]*pairgate.User
	n        int
}

func (e *roleEnv) seq() int { e.n++; return e.n }

func (e *roleEnv) code(t *testing.T, _ string) (string, string) {
	_, ac := e.s.CreateCode(t, pairgate.TTL30Minutes)
	return "/api/v1/authorization-codes/" + ac.ID, ""
}

func (e *roleEnv) codeDevices(t *testing.T, _ string) (string, string) {
	_, ac := e.s.CreateCode(t, pairgate.TTL30Minutes)
	return "/api/v1/authorization-codes/" + ac.ID + "/devices", ""
}

func (e *roleEnv) revokeCodeDevices(t *testing.T, _ string) (string, string) {
	_, ac := e.s.CreateCode(t, pairgate.TTL30Minutes)
	return "/api/v1/authorization-codes/" + ac.ID + "/revoke-devices", `{}`
}

func (e *roleEnv) newPrinter(t *testing.T, _ string) (string, string) {
	return "/api/v1/printers", fmt.Sprintf(`{"name":"Printer %d","uri":"ipp://127.0.0.1:1/ipp/print"}`, e.seq())
}

func (e *roleEnv) newPrinterID(t *testing.T) string {
	name, uri := fmt.Sprintf("Spare %d", e.seq()), "ipp://127.0.0.1:1/ipp/print"
	p, err := e.s.App.Admin.CreatePrinter(context.Background(), e.s.AdminActor(t), admin.PrinterChange{Name: &name, URI: &uri})
	if err != nil {
		t.Fatal(err)
	}
	return p.ID
}

func (e *roleEnv) printer(t *testing.T, _ string) (string, string) {
	return "/api/v1/printers/" + e.newPrinterID(t), ""
}

func (e *roleEnv) printerCheck(t *testing.T, _ string) (string, string) {
	return "/api/v1/printers/" + e.newPrinterID(t) + "/check", ""
}

func (e *roleEnv) printerPatch(t *testing.T, _ string) (string, string) {
	return "/api/v1/printers/" + e.newPrinterID(t), `{"location":"2nd floor"}`
}

func (e *roleEnv) newDeployment(t *testing.T, _ string) (string, string) {
	return "/api/v1/deployments", `{"printers":["` + e.newPrinterID(t) + `"],"target":{"all":true}}`
}

func (e *roleEnv) deployment(t *testing.T, _ string) (string, string) {
	d, err := e.s.App.Admin.CreateDeployment(context.Background(), e.s.AdminActor(t), admin.NewDeployment{
		PrinterIDs: []string{e.newPrinterID(t)}, Target: pairgate.DeploymentTarget{All: true}})
	if err != nil {
		t.Fatal(err)
	}
	return "/api/v1/deployments/" + d.ID, ""
}

func (e *roleEnv) newDevice(t *testing.T) string {
	code, _ := e.s.CreateCode(t, pairgate.TTL30Minutes)
	redeem(t, e.s, code, "printer", fmt.Sprintf("hw-roles-%d", e.seq()))
	devs, err := e.s.App.Store.ListDevices(context.Background(), pairgate.DeviceFilter{Limit: pairgate.MaxPageSize})
	if err != nil {
		t.Fatal(err)
	}
	return devs[len(devs)-1].ID
}

func (e *roleEnv) deviceGet(t *testing.T, _ string) (string, string) {
	return "/api/v1/devices/" + e.newDevice(t), ""
}

func (e *roleEnv) device(t *testing.T, _ string) (string, string) {
	return "/api/v1/devices/" + e.newDevice(t), ""
}

func (e *roleEnv) newClient(t *testing.T, _ string) (string, string) {
	return "/api/v1/clients", fmt.Sprintf(`{"client_id":"c%d","name":"C","public":true,"grant_types":["refresh_token"],"scopes":["printing"]}`, e.seq())
}

func (e *roleEnv) client(t *testing.T, _ string) (string, string) {
	id := fmt.Sprintf("gone%d", e.seq())
	if _, _, err := e.s.App.Admin.CreateClient(context.Background(), e.s.AdminActor(t), admin.NewClient{ID: id, Name: "C", Public: true,
		GrantTypes: []string{pairgate.GrantRefreshToken}, Scopes: []string{"printing"}}); err != nil {
		t.Fatal(err)
	}
	return "/api/v1/clients/" + id, ""
}

func (e *roleEnv) clientPatch(t *testing.T, r string) (string, string) {
	path, _ := e.client(t, r)
	return path, `{"name":"Renamed","scopes":["printing","portal"]}`
}

func (e *roleEnv) clientSecret(t *testing.T, _ string) (string, string) {
	id := fmt.Sprintf("svc%d", e.seq())
	if _, _, err := e.s.App.Admin.CreateClient(context.Background(), e.s.AdminActor(t), admin.NewClient{ID: id, Name: "C",
		GrantTypes: []string{pairgate.GrantRefreshToken}, Scopes: []string{"printing"}}); err != nil {
		t.Fatal(err)
	}
	return "/api/v1/clients/" + id + "/secret", ""
}

// lockout makes a counter that refuses its next attempt.
func (e *roleEnv) lockout(t *testing.T, _ string) (string, string) {
	c := pairgate.RateLimitCounter{Key: []byte(fmt.Sprintf("role test lock-out %d", e.seq())), Limit: 1, Window: time.Hour,
		Rule: "signin-ip", Subject: "192.0.2.99"}
	if _, _, err := e.s.App.Store.HitRateLimit(context.Background(), c, e.s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	return "/api/v1/lockouts/" + (&pairgate.Lockout{Key: c.Key}).ID() + "/lift", ""
}

func (e *roleEnv) ownKey(t *testing.T, role string) (string, string) {
	k, _, err := e.s.App.Admin.CreateAPIKey(context.Background(), admin.UserActor(e.users[role]), "spare", nil)
	if err != nil {
		t.Fatal(err)
	}
	return "/api/v1/api-keys/" + k.ID, ""
}

func (e *roleEnv) newUser(t *testing.T, _ string) (string, string) {
	return "/api/v1/users", fmt.Sprintf(`{"username":"new%d","role":"user","password":"a long enough password"}`, e.seq())
}

func (e *roleEnv) other(t *testing.T) *pairgate.User {
	u, _, err := e.s.App.Admin.CreateUser(context.Background(), e.s.AdminActor(t), fmt.Sprintf("other%d", e.seq()), pairgate.RoleUser, "")
	if err != nil {
		t.Fatal(err)
	}
	return u
}

func (e *roleEnv) user(t *testing.T, _ string) (string, string) {
	return "/api/v1/users/" + e.other(t).ID, ""
}

func (e *roleEnv) userPassword(t *testing.T, _ string) (string, string) {
	return "/api/v1/users/" + e.other(t).ID + "/password", `{}`
}

func (e *roleEnv) userRole(t *testing.T, _ string) (string, string) {
	return "/api/v1/users/" + e.other(t).ID + "/role", `{"role":"auditor"}`
}

func newRoleEnv(t *testing.T) *roleEnv {
	s := testenv.StartServer(t)
	e := &roleEnv{s: s, sessions: map[string]*http.Client{}, keys: map[string]string{}, users: map[string]*pairgate.User{}}
	for _, role := range roleOrder {
		name, password := "the-"+role, "the "+role+"'s password"
		if role == pairgate.RoleAdmin {
			name, password = "admin", testenv.AdminPassword
		} else if _, _, err := s.App.Admin.CreateUser(context.Background(), s.AdminActor(t), name, role, password); err != nil {
			t.Fatal(err)
		}
		u, err := s.App.Store.GetUserByUsername(context.Background(), name)
		if err != nil {
			t.Fatal(err)
		}
		e.users[role] = u
		// The console session: signed in through the sign-in page.
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		resp, err := c.PostForm(s.URL+"/auth/signin/", url.Values{"username": {name}, "password": {password}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusSeeOther {
			t.Fatalf("sign in as %s: %d", name, resp.StatusCode)
		}
		e.sessions[role] = c
		// An API key with every scope: what it reaches is its owner's role.
		r := want(t, call(t, nil, "POST", s.URL+"/api/v1/api-keys",
			`{"name":"all","scopes":["read","codes:write","devices:write","clients:write","lockouts:write","printers:write"]}`,
			"Authorization", basicAuth(name, password)), 201)
		e.keys[role] = r.body["key"].(string)
	}
	return e
}

func TestRolesAtTheAdminAPI(t *testing.T) {
	// Every admin route has a row.
	src, err := os.ReadFile("../server/routes.go")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string]bool{}
	for _, ep := range roleTable {
		rows[ep.method+" "+ep.route] = true
	}
	for _, m := range regexp.MustCompile(`apiRoute\("([A-Z]+)", "([^"]+)"`).FindAllStringSubmatch(string(src), -1) {
		if r := m[1] + " " + m[2]; !rows[r] && !notAdmin[r] {
			t.Errorf("%s has no row in the role table", r)
		}
	}

	e := newRoleEnv(t)
	for _, ep := range roleTable {
		for _, cred := range []string{"session", "key"} {
			expect := ep.session
			if cred == "key" {
				expect = ep.key
			}
			for i, role := range roleOrder {
				t.Run(strings.ReplaceAll(ep.method+ep.route, "/", "_")+"/"+cred+"/"+role, func(t *testing.T) {
					path, body := ep.target(e, t, role)
					var r reply
					if cred == "session" {
						r = call(t, e.sessions[role], ep.method, e.s.URL+path, body)
					} else {
						r = call(t, nil, ep.method, e.s.URL+path, body, bearer(e.keys[role])...)
					}
					ok := r.status >= 200 && r.status < 300
					switch expect[i] {
					case 'Y':
						if !ok {
							t.Fatalf("%s %s as %s (%s): %d %s, want 2xx", ep.method, path, role, cred, r.status, r.raw)
						}
					case 'N':
						if r.status != http.StatusForbidden {
							t.Fatalf("%s %s as %s (%s): %d %s, want 403", ep.method, path, role, cred, r.status, r.raw)
						}
					}
				})
			}
		}
	}
}
