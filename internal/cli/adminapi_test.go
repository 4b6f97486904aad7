package cli_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/testenv"
)

// adminCLI runs `pairgate admin …` in-process with its own config
// directory, standard input and environment.
type adminCLI struct {
	t    *testing.T
	home string
	env  map[string]string
}

func (a *adminCLI) run(stdin string, args ...string) (int, string, string) {
	a.t.Helper()
	var out, errb bytes.Buffer
	env := map[string]string{"HOME": a.home, "XDG_CONFIG_HOME": filepath.Join(a.home, ".config")}
	for k, v := range a.env {
		env[k] = v
	}
	code := cli.Main(context.Background(), append([]string{"admin"}, args...), cli.Env{
		Getenv: func(k string) string { return env[k] }, Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb})
	return code, out.String(), errb.String()
}

func (a *adminCLI) ok(stdin string, args ...string) string {
	a.t.Helper()
	code, out, errs := a.run(stdin, args...)
	if code != 0 {
		a.t.Fatalf("pairgate admin %v: exit %d\n%s%s", args, code, out, errs)
	}
	return out
}

func TestAdminCLIOverTheAPI(t *testing.T) {
	s := testenv.StartServer(t)
	a := &adminCLI{t: t, home: t.TempDir()}

	// Nothing works before logging in, and says why with exit status 5.
	if code, _, errs := a.run("", "codes", "list", "--server", s.URL); code != cli.ExitNotAuthorized || !strings.Contains(errs, "admin login") {
		t.Fatalf("before login: %d %s", code, errs)
	}
	if code, _, _ := a.run("wrong password\n", "login", "--server", s.URL); code != cli.ExitNotAuthorized {
		t.Fatalf("login with a wrong password: %d", code)
	}
	out := a.ok(testenv.AdminPassword+"\n", "login", "--server", s.URL)
	creds := filepath.Join(a.home, ".config", "pairgate", "admin.json")
	st, err := os.Stat(creds)
	if err != nil || st.Mode().Perm() != 0o600 || !strings.Contains(out, creds) {
		t.Fatalf("saved credentials: %v %v\n%s", st, err, out)
	}

	// Codes: create one of each kind, list, redeem, delete.
	out = a.ok("", "codes", "create", "--ttl", "6h")
	fields := strings.Fields(strings.Split(out, "\n")[1])
	code, ttl := fields[0], fields[1]+" "+fields[2]
	if len(code) != 19 || ttl != "6 hours" {
		t.Fatalf("codes create: %q", out)
	}
	a.ok("", "codes", "create", "--ttl", "never")
	if code, _, errs := a.run("", "codes", "create", "--ttl", "1h"); code != cli.ExitFailure || !strings.Contains(errs, "30m, 60m, 6h, 24h, 48h or never") {
		t.Fatalf("bad ttl: %d %s", code, errs)
	}
	if code, _, _ := a.run("", "codes", "create"); code != cli.ExitUsage {
		t.Fatalf("missing --ttl: %d", code)
	}
	out = a.ok("", "codes", "list")
	if !strings.Contains(out, code) || !strings.Contains(out, "No Expiration") {
		t.Fatalf("codes list:\n%s", out)
	}
	var listed struct {
		Codes []struct{ ID, Code string } `json:"authorization_codes"`
	}
	if err := json.Unmarshal([]byte(a.ok("", "codes", "list", "--json")), &listed); err != nil || len(listed.Codes) != 2 {
		t.Fatalf("codes list --json: %v %+v", err, listed)
	}

	// A device redeems the code; the inventory shows it; delete revokes it.
	v := url.Values{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {"print-client"}, "code": {code}, "device_name": {"Lab printer"}, "hardware_id": {"LAB-1"}}
	resp := postForm(t, s.URL+"/oauth/token", v)
	if resp["refresh_token"] == nil {
		t.Fatalf("redeem: %v", resp)
	}
	out = a.ok("", "devices", "list", "--search", "lab")
	if !strings.Contains(out, "Lab printer") || !strings.Contains(out, "authorization_code") {
		t.Fatalf("devices list:\n%s", out)
	}
	devID := strings.Fields(strings.Split(out, "\n")[1])[0]
	a.ok("", "devices", "get", devID)
	a.ok("", "devices", "delete", devID)
	if code, _, errs := a.run("", "devices", "get", devID); code != cli.ExitFailure || !strings.Contains(errs, "not found") {
		t.Fatalf("get deleted device: %d %s", code, errs)
	}
	if r := postForm(t, s.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {resp["refresh_token"].(string)}}); r["error"] != "invalid_grant" {
		t.Fatalf("deleted device refreshed: %v", r)
	}
	for _, c := range listed.Codes {
		a.ok("", "codes", "delete", c.ID)
	}
	if out = a.ok("", "codes", "list"); strings.Count(out, "\n") != 1 {
		t.Fatalf("codes left after deleting all:\n%s", out)
	}

	// Clients and API keys.
	out = a.ok("", "clients", "create", "--id", "printing-api", "--name", "Printing API", "--grant-types", "refresh_token")
	if !strings.Contains(out, "pgs_") {
		t.Fatalf("confidential client without its secret:\n%s", out)
	}
	if out = a.ok("", "clients", "list"); !strings.Contains(out, "printing-api") || strings.Contains(out, "pgs_") {
		t.Fatalf("clients list:\n%s", out)
	}
	a.ok("", "clients", "delete", "printing-api")
	// A client whose devices must prove a key (DPoP): Bearer is refused.
	a.ok("", "clients", "create", "--id", "kiosks", "--name", "Kiosks", "--public", "--require-dpop")
	if out = a.ok("", "clients", "list"); !strings.Contains(out, "required") {
		t.Fatalf("clients list does not show require_dpop:\n%s", out)
	}
	if r := postForm(t, s.URL+"/oauth/device/code", url.Values{"client_id": {"kiosks"}}); r["error"] != "invalid_dpop_proof" {
		t.Fatalf("a require_dpop client's Bearer request: %v", r)
	}
	a.ok("", "clients", "delete", "kiosks")
	out = a.ok(testenv.AdminPassword+"\n", "apikeys", "create", "--name", "install script")
	if !strings.Contains(out, "pgk_") {
		t.Fatalf("apikeys create:\n%s", out)
	}
	if out = a.ok("", "apikeys", "list"); !strings.Contains(out, "install script") || strings.Contains(out, "pgk_") {
		t.Fatalf("apikeys list:\n%s", out)
	}
	if out = a.ok("", "audit", "--action", "device."); !strings.Contains(out, "device.deleted") {
		t.Fatalf("audit:\n%s", out)
	}

	// Accounts over the API with --server, the same commands as on the host.
	// Accounts are managed by a person: over the API, as --as with their
	// password on the first line of stdin; never with the saved key.
	me := testenv.AdminPassword + "\n"
	a.ok(me+"a long password for eve\n", "users", "create", "--server", s.URL, "--username", "eve", "--role", "user", "--password-stdin")
	if out = a.ok(me, "users", "list", "--server", s.URL); !strings.Contains(out, "eve") || !strings.Contains(out, "admin") {
		t.Fatalf("users list over the API:\n%s", out)
	}
	if out = a.ok(me, "users", "set-password", "--server", s.URL, "--username", "eve"); !strings.Contains(out, "password: ") {
		t.Fatalf("set-password over the API:\n%s", out)
	}
	if code, _, errs := a.run(me, "users", "delete", "--server", s.URL, "--username", "admin"); code != cli.ExitFailure || !strings.Contains(errs, "last admin") {
		t.Fatalf("deleting the last admin over the API: %d %s", code, errs)
	}
	if code, _, errs := a.run("wrong password\n", "users", "delete", "--server", s.URL, "--username", "eve"); code != cli.ExitNotAuthorized {
		t.Fatalf("a wrong password of --as: %d %s", code, errs)
	}
	a.ok(me, "users", "delete", "--server", s.URL, "--username", "eve")
	// One's own password over the API: the password of --as is the
	// current one the server asks for; the old one stops working.
	a.ok(me+"the admin's new long password\n", "users", "set-password", "--server", s.URL, "--username", "admin", "--password-stdin")
	if code, _, _ := a.run(me, "users", "list", "--server", s.URL); code != cli.ExitNotAuthorized {
		t.Fatalf("the old password still works over the API: %d", code)
	}
	a.ok("the admin's new long password\n", "users", "list", "--server", s.URL)

	// A key from the environment wins over the saved one; a bad one is 5.
	a.env = map[string]string{"PAIRGATE_API_KEY": "pgk_" + strings.Repeat("x", 43)}
	if code, _, _ := a.run("", "codes", "list"); code != cli.ExitNotAuthorized {
		t.Fatalf("bad key: %d", code)
	}
	a.env = nil
	// An unreachable server is 4; an ID missing is 2.
	// (The saved key is never sent to another server than the one it was
	// saved for, so this one needs its own key.)
	if code, _, _ := a.run("", "codes", "list", "--server", "http://127.0.0.1:1", "--api-key", "pgk_"+strings.Repeat("y", 43)); code != cli.ExitUnavailable {
		t.Fatalf("unreachable: %d", code)
	}
	if code, _, _ := a.run("", "devices", "delete"); code != cli.ExitUsage {
		t.Fatalf("delete without ID: %d", code)
	}
	// A credentials file others can read is refused.
	os.Chmod(creds, 0o644)
	if code, _, errs := a.run("", "codes", "list"); code == 0 || !strings.Contains(errs, "chmod 600") {
		t.Fatalf("world-readable credentials: %d %s", code, errs)
	}
}

func postForm(t *testing.T, u string, v url.Values) map[string]any {
	t.Helper()
	resp, err := httpPostForm(u, v)
	if err != nil {
		t.Fatal(err)
	}
	return resp
}

func httpPostForm(u string, v url.Values) (map[string]any, error) {
	resp, err := http.PostForm(u, v)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var out map[string]any
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}

// TestAdminCLIClientDeviceFlow: the phishing defences of a client from
// the command line, at creation and later.
func TestAdminCLIClientDeviceFlow(t *testing.T) {
	s := testenv.StartServer(t)
	a := &adminCLI{t: t, home: t.TempDir()}
	a.ok(testenv.AdminPassword+"\n", "login", "--server", s.URL)
	a.ok("", "clients", "create", "--id", "kiosk", "--name", "Kiosk", "--public", "--device-flow-networks", "10.1.0.0/16,192.0.2.7",
		"--approval-network-prefix", "24")
	c, err := s.App.Store.GetClient(context.Background(), "kiosk")
	if err != nil || len(c.DeviceFlow.Networks) != 2 || c.DeviceFlow.ApprovalPrefixV4 != 24 || c.DeviceFlow.ApprovalPrefixV6 != 64 {
		t.Fatalf("created: %+v %v", c, err)
	}
	out := a.ok("", "clients", "device-flow", "kiosk", "--device-flow-disabled")
	if !strings.Contains(out, "kiosk") || !strings.Contains(out, "off") {
		t.Fatalf("device-flow printed:\n%s", out)
	}
	if c, _ := s.App.Store.GetClient(context.Background(), "kiosk"); !c.DeviceFlow.Disabled || c.DeviceFlow.Networks != nil || c.DeviceFlow.ApprovalPrefixV4 != 0 {
		t.Fatalf("after device-flow: %+v", c.DeviceFlow)
	}
	if code, _, errs := a.run("", "clients", "device-flow", "kiosk", "--device-flow-networks", "nowhere"); code != 1 || !strings.Contains(errs, "not a network") {
		t.Fatalf("a bad network: %d %s", code, errs)
	}
}

// TestAdminCLILeakedCode: a labelled, ephemeral code from the command
// line, then `codes revoke-devices`: it shows the count and asks; "no"
// changes nothing, "yes" signs the devices out and deletes the code.
func TestAdminCLILeakedCode(t *testing.T) {
	s := testenv.StartServer(t)
	a := &adminCLI{t: t, home: t.TempDir()}
	a.ok(testenv.AdminPassword+"\n", "login", "--server", s.URL)
	out := a.ok("", "codes", "create", "--ttl", "never", "--label", "Lab PCs, 2nd floor", "--ephemeral", "2h", "--json")
	var c struct {
		ID, Code, Label      string
		EphemeralIdleSeconds int64 `json:"ephemeral_idle_seconds"`
	}
	if err := json.Unmarshal([]byte(out), &c); err != nil || c.Label != "Lab PCs, 2nd floor" || c.EphemeralIdleSeconds != 7200 {
		t.Fatalf("codes create --label --ephemeral: %v %s", err, out)
	}
	if code, _, errs := a.run("", "codes", "create", "--ttl", "6h", "--ephemeral", "1m"); code != cli.ExitFailure || !strings.Contains(errs, "ephemeral") {
		t.Fatalf("a too short --ephemeral: %d %s", code, errs)
	}
	if out := a.ok("", "codes", "list"); !strings.Contains(out, "Lab PCs, 2nd floor") || !strings.Contains(out, "2h0m0s") {
		t.Fatalf("codes list:\n%s", out)
	}
	var refresh []string
	for _, name := range []string{"Lab PC 1", "Lab PC 2"} {
		r := postForm(t, s.URL+"/oauth/token", url.Values{"grant_type": {pairgate.GrantAuthorizationCode}, "client_id": {"print-client"},
			"code": {c.Code}, "device_name": {name}})
		refresh = append(refresh, r["refresh_token"].(string))
	}
	code, _, errs := a.run("no\n", "codes", "revoke-devices", c.ID)
	if code != cli.ExitUsage || !strings.Contains(errs, "2 devices came in with this code") || !strings.Contains(errs, "Nothing changed") {
		t.Fatalf("answering no: %d %s", code, errs)
	}
	if r := postForm(t, s.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {refresh[0]}}); r["refresh_token"] == nil {
		t.Fatalf("after answering no: %v", r)
	}
	out = a.ok("yes\n", "codes", "revoke-devices", c.ID)
	if f := strings.Fields(strings.Split(out, "\n")[1]); len(f) != 2 || f[0] != "2" || f[1] != "deleted" {
		t.Fatalf("revoke-devices:\n%s", out)
	}
	if r := postForm(t, s.URL+"/oauth/token", url.Values{"grant_type": {"refresh_token"}, "client_id": {"print-client"}, "refresh_token": {refresh[1]}}); r["error"] != "invalid_grant" {
		t.Fatalf("a revoked device refreshed: %v", r)
	}
	if out := a.ok("", "codes", "list"); strings.Contains(out, c.Code) {
		t.Fatalf("the code outlived its revocation:\n%s", out)
	}
	// For scripts: --yes, and nothing left to sign out.
	if out := a.ok("", "codes", "revoke-devices", c.ID, "--yes", "--json"); !strings.Contains(out, `"signed_out": 0`) {
		t.Fatalf("again with --yes:\n%s", out)
	}
}
