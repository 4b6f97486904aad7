package api_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/admin"
	"github.com/pairgate/pairgate/internal/testenv"
)

// mkPrinterAPI creates a printer through the admin API and returns its id.
func mkPrinterAPI(t *testing.T, s *testenv.Server, key, name, uri string) string {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"name": name, "uri": uri})
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/printers", string(body), bearer(key)...), 201)
	return r.body["id"].(string)
}

func deploy(t *testing.T, s *testenv.Server, key string, body string) string {
	t.Helper()
	return want(t, call(t, nil, "POST", s.URL+"/api/v1/deployments", body, bearer(key)...), 201).body["id"].(string)
}

func TestPrintersAPI(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/printers", `{"name":"Lab Printer","uri":"ipp://printer.example.com/ipp/print",
		"location":"Room 101","description":"Colour laser by the door","options":{"duplex":true,"color":true,"paper_size":"a4"}}`, bearer(key)...), 201)
	id := r.body["id"].(string)
	if !strings.HasPrefix(id, "prn_") || r.body["model"] != "everywhere" || r.body["driverless"] != true ||
		r.body["options"].(map[string]any)["paper_size"] != "A4" || r.body["location"] != "Room 101" {
		t.Fatalf("created: %s", r.raw)
	}
	// A malformed or unsupported URI is a 400 that names the field.
	for body, msg := range map[string]string{
		`{"name":"X","uri":"http://printer/"}`:           "uri: scheme 'http' is not supported",
		`{"name":"X","uri":"ipp//printer"}`:              "uri: ",
		`{"name":"X","uri":"ipp://user:pw@printer/ipp"}`: "uri: may not hold a user name or password",
		`{"name":"X"}`:                    "uri: is required",
		`{"name":"","uri":"ipp://p/ipp"}`: "name is required",
		`{"name":"X","uri":"ipp://p/","options":{"paper_size":"B5"}}`: "options.paper_size",
		`{"name":"X","uri":"ipp://p/","colour":true}`:                 "unknown field 'colour'",
		`{"name":"lab printer","uri":"ipp://p/"}`:                     "name: a printer named 'lab printer' already exists",
	} {
		status := 400
		if strings.HasPrefix(msg, "name: a printer") {
			status = 409
		}
		r := want(t, call(t, nil, "POST", s.URL+"/api/v1/printers", body, bearer(key)...), status)
		if m := r.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(m, msg) {
			t.Errorf("%s: message %q, want it to start %q", body, m, msg)
		}
	}
	mkPrinterAPI(t, s, key, "Annex", "socket://10.1.1.1:9100")
	list := func(q string) string {
		r := want(t, call(t, nil, "GET", s.URL+"/api/v1/printers?"+url.Values{"q": {q}}.Encode(), "", bearer(key)...), 200)
		var names []string
		for _, p := range r.body["printers"].([]any) {
			names = append(names, p.(map[string]any)["name"].(string))
		}
		return strings.Join(names, ",")
	}
	if got := list(""); got != "Annex,Lab Printer" {
		t.Errorf("list: %q", got)
	}
	if got := list("door"); got != "Lab Printer" {
		t.Errorf("search by description: %q", got)
	}
	if got := list("10.1.1"); got != "Annex" {
		t.Errorf("search by URI: %q", got)
	}
	r = want(t, call(t, nil, "PATCH", s.URL+"/api/v1/printers/"+id, `{"location":"Room 102","options":{"color":false}}`, bearer(key)...), 200)
	if r.body["location"] != "Room 102" || r.body["name"] != "Lab Printer" || r.body["options"].(map[string]any)["color"] != false ||
		r.body["options"].(map[string]any)["duplex"] != true {
		t.Fatalf("patched: %s", r.raw)
	}
	want(t, call(t, nil, "PATCH", s.URL+"/api/v1/printers/"+id, `{"uri":"file:///etc/passwd"}`, bearer(key)...), 400)
	want(t, call(t, nil, "PATCH", s.URL+"/api/v1/printers/prn_none", `{"location":"x"}`, bearer(key)...), 404)
	got := want(t, call(t, nil, "GET", s.URL+"/api/v1/printers/"+id, "", bearer(key)...), 200)
	if got.body["location"] != "Room 102" || got.body["uri"] != "ipp://printer.example.com/ipp/print" {
		t.Fatalf("get after a refused patch: %s", got.raw)
	}

	// A read-only key reads but does not write, nor make the server
	// connect anywhere.
	ro := apiKeyWith(t, s, `"read"`)
	want(t, call(t, nil, "GET", s.URL+"/api/v1/printers", "", bearer(ro)...), 200)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/printers", `{"name":"Y","uri":"ipp://p/"}`, bearer(ro)...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/printers/"+id+"/check", "", bearer(ro)...), 403)
	want(t, call(t, nil, "POST", s.URL+"/api/v1/deployments", `{"printers":["`+id+`"],"target":{"all":true}}`, bearer(ro)...), 403)

	// Deployments: the target is exactly one thing, and what it names
	// exists.
	for body, msg := range map[string]string{
		`{"printers":["` + id + `"],"target":{}}`:                                       "target: give exactly one",
		`{"printers":["` + id + `"],"target":{"all":true,"name_pattern":"x"}}`:          "target: give exactly one",
		`{"printers":[],"target":{"all":true}}`:                                         "printers: name at least one",
		`{"printers":["prn_none"],"target":{"all":true}}`:                               "printers: there is no printer 'prn_none'",
		`{"printers":["` + id + `"],"default":"prn_x","target":{"all":true}}`:           "default: 'prn_x' is not one",
		`{"printers":["` + id + `"],"target":{"name_pattern":"lab-[x"}}`:                "target.name_pattern:",
		`{"printers":["` + id + `"],"target":{"authorization_code":"ac_none"}}`:         "target.authorization_code: there is no active",
		`{"printers":["` + id + `"],"target":{"devices":["dev_none"]}}`:                 "target.devices: there is no device 'dev_none'",
		`{"printers":["` + id + `"],"target":{"all":true},"extra":1}`:                   "unknown field 'extra'",
		`{"printers":["` + id + `"],"target":{"all":true,"authorization_code":"ac_1"}}`: "target: give exactly one",
	} {
		r := want(t, call(t, nil, "POST", s.URL+"/api/v1/deployments", body, bearer(key)...), 400)
		if m := r.body["error"].(map[string]any)["message"].(string); !strings.HasPrefix(m, msg) {
			t.Errorf("%s: message %q, want it to start %q", body, m, msg)
		}
	}
	dep := deploy(t, s, key, `{"printers":["`+id+`"],"default":"`+id+`","target":{"all":true}}`)
	l := want(t, call(t, nil, "GET", s.URL+"/api/v1/deployments", "", bearer(key)...), 200)
	if ds := l.body["deployments"].([]any); len(ds) != 1 || ds[0].(map[string]any)["id"] != dep ||
		ds[0].(map[string]any)["target"].(map[string]any)["all"] != true || ds[0].(map[string]any)["default"] != id {
		t.Fatalf("deployments: %s", l.raw)
	}
	// Deleting the printer takes its deployment with it.
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/printers/"+id, "", bearer(key)...), 204)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/printers/"+id, "", bearer(key)...), 404)
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/deployments/"+dep, "", bearer(key)...), 404)

	// Every change is in the audit log.
	events, _ := s.App.Store.ListAuditEvents(context.Background(), pairgate.AuditFilter{})
	seen := map[string]int{}
	for _, e := range events {
		seen[e.Action]++
	}
	for a, n := range map[string]int{pairgate.AuditPrinterCreated: 2, pairgate.AuditPrinterUpdated: 1, pairgate.AuditPrinterDeleted: 1,
		pairgate.AuditDeploymentCreated: 1, pairgate.AuditDeploymentDeleted: 1} {
		if seen[a] != n {
			t.Errorf("%d %s events, want %d", seen[a], a, n)
		}
	}
}

// TestCheckPrinterAsksTheRealPrinter: the check asks an IPP Everywhere
// printer (ippeveprinter) and remembers what it said; a printer that
// cannot be reached is saved all the same.
func TestCheckPrinterAsksTheRealPrinter(t *testing.T) {
	s := testenv.StartServer(t)
	p := testenv.StartIPPPrinter(t, "API Check")
	key := apiKey(t, s)
	id := mkPrinterAPI(t, s, key, "Real", p.URI)
	r := want(t, call(t, nil, "POST", s.URL+"/api/v1/printers/"+id+"/check", "", bearer(key)...), 200)
	if r.body["reachable"] != true || r.body["make_and_model"] != testenv.IPPPrinterMakeAndModel || r.body["state"] != "idle" ||
		r.body["summary"] != "reachable: "+testenv.IPPPrinterMakeAndModel+", idle" {
		t.Fatalf("check: %s", r.raw)
	}
	got := want(t, call(t, nil, "GET", s.URL+"/api/v1/printers/"+id, "", bearer(key)...), 200)
	if st, _ := got.body["status"].(map[string]any); st == nil || st["reachable"] != true {
		t.Fatalf("the check is not remembered: %s", got.raw)
	}
	gone := mkPrinterAPI(t, s, key, "Gone", "ipp://127.0.0.1:1/ipp/print")
	r = want(t, call(t, nil, "POST", s.URL+"/api/v1/printers/"+gone+"/check", "", bearer(key)...), 200)
	if r.body["reachable"] != false || !strings.HasPrefix(r.body["summary"].(string), "not reachable: ") {
		t.Fatalf("check of a closed port: %s", r.raw)
	}
	sock := mkPrinterAPI(t, s, key, "Socket", "socket://127.0.0.1:9100")
	want(t, call(t, nil, "POST", s.URL+"/api/v1/printers/"+sock+"/check", "", bearer(key)...), 400)
	// A new URI forgets the old status.
	want(t, call(t, nil, "PATCH", s.URL+"/api/v1/printers/"+id, `{"uri":"ipp://127.0.0.1:2/ipp/print"}`, bearer(key)...), 200)
	if got := want(t, call(t, nil, "GET", s.URL+"/api/v1/printers/"+id, "", bearer(key)...), 200); got.body["status"] != nil {
		t.Fatalf("a status outlived its URI: %s", got.raw)
	}
}

// device is a device authorized with a code, as the device API sees it.
type device struct {
	id, token string
}

func enroll(t *testing.T, s *testenv.Server, code, name string) device {
	t.Helper()
	tok := redeem(t, s, code, name, "")["access_token"].(string)
	r := want(t, call(t, nil, "GET", s.URL+"/api/v1/device", "", bearer(tok)...), 200)
	return device{id: r.body["device_id"].(string), token: tok}
}

// printersOf is GET /api/v1/device/printers: the names (default marked *)
// and the ETag.
func printersOf(t *testing.T, s *testenv.Server, d device, etag string) (status int, names, newTag string) {
	t.Helper()
	h := bearer(d.token)
	if etag != "" {
		h = append(h, "If-None-Match", etag)
	}
	r := call(t, nil, "GET", s.URL+"/api/v1/device/printers", "", h...)
	if r.status == 304 {
		if r.raw != "" || r.header.Get("ETag") == "" || !strings.Contains(etag, r.header.Get("ETag")) {
			t.Fatalf("304 with a body or another ETag: %q %q", r.raw, r.header.Get("ETag"))
		}
		return 304, "", etag
	}
	if r.status != 200 {
		return r.status, r.raw, ""
	}
	if cc := r.header.Get("Cache-Control"); cc != "private, no-cache" {
		t.Errorf("Cache-Control %q", cc)
	}
	tag := r.header.Get("ETag")
	if !strings.HasPrefix(tag, `"`) || !strings.HasSuffix(tag, `"`) || len(tag) < 10 {
		t.Fatalf("not a strong ETag: %q", tag)
	}
	if r.body["device_id"] != d.id {
		t.Fatalf("printers of %v for device %s", r.body["device_id"], d.id)
	}
	var out []string
	for _, p := range r.body["printers"].([]any) {
		p := p.(map[string]any)
		n := p["name"].(string)
		if p["default"] == true {
			n += "*"
		}
		out = append(out, n)
	}
	sort.Strings(out)
	return 200, strings.Join(out, ","), tag
}

// TestDevicePrintersTargeting: the device API gives each device the union
// of what applies to it — its code's printers and never another code's,
// a name pattern's, its own — with an ETag that a change for the device
// invalidates and a change elsewhere does not; a deleted or signed-out
// device gets 401 at once.
func TestDevicePrintersTargeting(t *testing.T) {
	s := testenv.StartServer(t)
	key := apiKey(t, s)
	codeA, acA := s.CreateCode(t, pairgate.TTLNever)
	codeB, acB := s.CreateCode(t, pairgate.TTLNever)
	a1, a2, a3 := mkPrinterAPI(t, s, key, "A1", "ipp://a1.example/ipp/print"), mkPrinterAPI(t, s, key, "A2", "ipp://a2.example/ipp/print"),
		mkPrinterAPI(t, s, key, "A3", "socket://a3.example")
	b1 := mkPrinterAPI(t, s, key, "B1", "lpd://b1.example/q")
	lab := mkPrinterAPI(t, s, key, "Lab", "ipp://lab.example/ipp/print")
	mine := mkPrinterAPI(t, s, key, "Mine", "ipp://mine.example/ipp/print")

	devA := enroll(t, s, codeA, "LAB-PC-1")
	devA2 := enroll(t, s, codeA, "front-desk")
	devB := enroll(t, s, codeB, "lab-pc-2")

	st, names, tagA := printersOf(t, s, devA, "")
	if st != 200 || names != "" {
		t.Fatalf("before any deployment: %d %q", st, names)
	}
	// Every machine installed with code A gets these three printers.
	deploy(t, s, key, `{"printers":["`+a1+`","`+a2+`","`+a3+`"],"default":"`+a2+`","target":{"authorization_code":"`+acA.ID+`"}}`)
	deploy(t, s, key, `{"printers":["`+b1+`"],"target":{"authorization_code":"`+acB.ID+`"}}`)
	for d, want := range map[device]string{devA: "A1,A2*,A3", devA2: "A1,A2*,A3", devB: "B1"} {
		if _, got, _ := printersOf(t, s, d, ""); got != want {
			t.Errorf("by code: %s gets %q, want %q", d.id, got, want)
		}
	}
	// The ETag: unchanged, 304; a change elsewhere (code B's devices), 304
	// still; a change for this device, a new answer.
	_, _, tagA = printersOf(t, s, devA, "")
	if st, _, _ := printersOf(t, s, devA, tagA); st != 304 {
		t.Fatalf("unchanged: %d, want 304", st)
	}
	if st, _, _ := printersOf(t, s, devA, "W/"+tagA+`, "other"`); st != 304 {
		t.Fatalf("a list of tags with a weak form of it: %d, want 304", st)
	}
	deploy(t, s, key, `{"printers":["`+a1+`"],"target":{"authorization_code":"`+acB.ID+`"}}`)
	want(t, call(t, nil, "PATCH", s.URL+"/api/v1/printers/"+b1, `{"location":"moved"}`, bearer(key)...), 200)
	if st, _, _ := printersOf(t, s, devA, tagA); st != 304 {
		t.Fatalf("after changes for other devices: %d, want 304", st)
	}
	// A name pattern (case-insensitive) adds to the union, with its own
	// default.
	deploy(t, s, key, `{"printers":["`+lab+`"],"default":"`+lab+`","target":{"name_pattern":"lab-pc-*"}}`)
	st, names, tagA2 := printersOf(t, s, devA, tagA)
	if st != 200 || names != "A1,A2,A3,Lab*" || tagA2 == tagA {
		t.Fatalf("after a pattern deployment: %d %q (etag %s, was %s)", st, names, tagA2, tagA)
	}
	if _, got, _ := printersOf(t, s, devB, ""); got != "A1,B1,Lab*" {
		t.Errorf("devB: %q", got)
	}
	if _, got, _ := printersOf(t, s, devA2, ""); got != "A1,A2*,A3" {
		t.Errorf("devA2 matched the pattern: %q", got)
	}
	// A single device, and a change to one of its printers.
	deploy(t, s, key, `{"printers":["`+mine+`"],"default":"`+mine+`","target":{"devices":["`+devA2.id+`"]}}`)
	if _, got, _ := printersOf(t, s, devA2, ""); got != "A1,A2,A3,Mine*" {
		t.Errorf("single device: %q", got)
	}
	if _, got, _ := printersOf(t, s, devA, ""); got != "A1,A2,A3,Lab*" {
		t.Errorf("another device got the single device's printer: %q", got)
	}
	want(t, call(t, nil, "PATCH", s.URL+"/api/v1/printers/"+a1, `{"options":{"duplex":true}}`, bearer(key)...), 200)
	if st, _, _ := printersOf(t, s, devA, tagA2); st != 200 {
		t.Fatalf("a changed printer of the device: %d, want 200", st)
	}

	// A token without the printing scope is refused with 403.
	if _, _, err := s.App.Admin.CreateClient(context.Background(), admin.HostActor("test"), admin.NewClient{ID: "kiosk-app", Name: "Kiosk",
		Public: true, GrantTypes: []string{pairgate.GrantAuthorizationCode}, Scopes: []string{"portal"}}); err != nil {
		t.Fatal(err)
	}
	v := url.Values{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {"kiosk-app"}, "code": {codeA}, "device_name": {"lab-pc-9"}}
	resp, err := http.PostForm(s.URL+"/oauth/token", v)
	if err != nil {
		t.Fatal(err)
	}
	var tok map[string]any
	json.NewDecoder(resp.Body).Decode(&tok)
	resp.Body.Close()
	r := want(t, call(t, nil, "GET", s.URL+"/api/v1/device/printers", "", bearer(tok["access_token"].(string))...), 403)
	if h := r.header.Get("WWW-Authenticate"); !strings.Contains(h, `error="insufficient_scope"`) {
		t.Errorf("403 without insufficient_scope: %q", h)
	}

	// Deleted: 401 at once. Signed out (RFC 7009): 401 at once.
	want(t, call(t, nil, "DELETE", s.URL+"/api/v1/devices/"+devB.id, "", bearer(key)...), 204)
	if st, _, _ := printersOf(t, s, devB, ""); st != 401 {
		t.Fatalf("deleted device: %d, want 401", st)
	}
	rt := redeem(t, s, codeA, "lab-pc-3", "")
	resp, err = http.PostForm(s.URL+"/oauth/revoke", url.Values{"token": {rt["refresh_token"].(string)}, "client_id": {"print-client"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if r := call(t, nil, "GET", s.URL+"/api/v1/device/printers", "", bearer(rt["access_token"].(string))...); r.status != 401 {
		t.Fatalf("signed-out device: %d, want 401", r.status)
	}
	// No token: 401 with a challenge.
	r = want(t, call(t, nil, "GET", s.URL+"/api/v1/device/printers", ""), 401)
	if r.header.Get("WWW-Authenticate") == "" {
		t.Error("401 without WWW-Authenticate")
	}
}
