package cli_test

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/cli"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestPrintersEndToEndCLI: an admin adds printers and deploys them to a
// code's devices with `pairgate admin`; a device authorized with that
// code lists them with `pairgate device printers`, as a table, JSON, the
// lpadmin and PowerShell commands; the next run is answered 304 and
// served from the cache, until a change for the device.
func TestPrintersEndToEndCLI(t *testing.T) {
	s := testenv.StartServer(t)
	a := &adminCLI{t: t, home: t.TempDir()}
	a.ok(testenv.AdminPassword+"\n", "login", "--server", s.URL)

	code, errs := 0, ""
	if code, _, errs = a.run("", "printers", "create", "--name", "Bad", "--uri", "http://printer/"); code != cli.ExitFailure ||
		!strings.Contains(errs, "uri: scheme 'http' is not supported") {
		t.Fatalf("a bad URI: exit %d: %s", code, errs)
	}
	var lab, annex struct{ ID string }
	json.Unmarshal([]byte(a.ok("", "printers", "create", "--json", "--name", "Lab Printer", "--uri", "ipp://lab.example/ipp/print",
		"--location", "Room 1", "--duplex", "--paper-size", "A4")), &lab)
	json.Unmarshal([]byte(a.ok("", "printers", "create", "--json", "--name", "Annex", "--uri", "socket://10.9.9.9:9100",
		"--model", "Generic PostScript Printer", "--color")), &annex)
	if lab.ID == "" || annex.ID == "" {
		t.Fatal("no printer ids")
	}
	if out := a.ok("", "printers", "list", "--search", "room 1"); !strings.Contains(out, "Lab Printer") || strings.Contains(out, "Annex") ||
		!strings.Contains(out, "IPP Everywhere") || !strings.Contains(out, "duplex A4") {
		t.Fatalf("printers list:\n%s", out)
	}
	if out := a.ok("", "printers", "update", lab.ID, "--location", "Room 2"); !strings.Contains(out, "Room 2") || !strings.Contains(out, "duplex A4") {
		t.Fatalf("printers update:\n%s", out)
	}
	if code, _, errs := a.run("", "printers", "update", lab.ID); code != cli.ExitUsage || !strings.Contains(errs, "nothing to change") {
		t.Fatalf("update without changes: %d %s", code, errs)
	}
	codeText, ac := s.CreateCode(t, pairgate.TTL24Hours)
	if code, _, errs := a.run("", "deployments", "create", "--printers", lab.ID, "--all", "--code", ac.ID); code != cli.ExitUsage || !strings.Contains(errs, "exactly one target") {
		t.Fatalf("two targets: %d %s", code, errs)
	}
	out := a.ok("", "deployments", "create", "--printers", lab.ID+","+annex.ID, "--default", lab.ID, "--code", ac.ID)
	if !strings.Contains(out, "code "+ac.ID) {
		t.Fatalf("deployments create:\n%s", out)
	}
	if out := a.ok("", "deployments", "list"); !strings.Contains(out, "code "+ac.ID) || !strings.Contains(out, lab.ID) {
		t.Fatalf("deployments list:\n%s", out)
	}

	// The device side.
	tf := tokenFile(t)
	env := map[string]string{"PAIRGATE_TOKEN_FILE": tf, "PAIRGATE_HARDWARE_ID": "hw-printers"}
	wantExit(t, device(t.Context(), env, "authorize", "--server", s.URL, "--code", codeText, "--name", "kiosk-1"), 0)
	r := device(t.Context(), env, "printers")
	wantExit(t, r, 0)
	lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
	if len(lines) != 3 || !strings.HasPrefix(lines[1], "Annex ") || !strings.Contains(lines[2], "Lab Printer  yes") {
		t.Fatalf("table:\n%s", r.stdout)
	}
	r = device(t.Context(), env, "printers", "--format", "lpadmin")
	wantExit(t, r, 0)
	for _, want := range []string{"lpadmin -p 'Lab_Printer' -E -v 'ipp://lab.example/ipp/print' -m everywhere -L 'Room 2'",
		"lpadmin -p 'Lab_Printer' -o 'sides=two-sided-long-edge' -o 'print-color-mode=monochrome' -o 'media=iso_a4_210x297mm'",
		"lpinfo --make-and-model 'Generic PostScript Printer' -m", "lpadmin -d 'Lab_Printer'"} {
		if !strings.Contains(r.stdout, want) {
			t.Errorf("lpadmin script lacks %q:\n%s", want, r.stdout)
		}
	}
	r = device(t.Context(), env, "printers", "--format", "powershell")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Add-Printer -Name 'Lab Printer' -IppURL 'http://lab.example:631/ipp/print'") ||
		!strings.Contains(r.stdout, "Add-PrinterPort -Name 'IP_10.9.9.9_9100' -PrinterHostAddress '10.9.9.9' -PortNumber 9100") {
		t.Errorf("PowerShell script:\n%s", r.stdout)
	}

	// The cache: the next run sends the ETag, the server answers 304 and
	// the cached list is shown. Changing the cached copy shows that it is
	// the one used.
	cache := filepath.Join(filepath.Dir(tf), "printers.json")
	var cached client.PrinterList
	b, err := os.ReadFile(cache)
	if err != nil || json.Unmarshal(b, &cached) != nil || cached.ETag == "" || len(cached.Printers) != 2 {
		t.Fatalf("cache %s: %v %s", cache, err, b)
	}
	if st, _ := os.Stat(cache); st.Mode().Perm() != 0o600 {
		t.Errorf("cache mode %v", st.Mode().Perm())
	}
	cached.Printers[0].Name = "Served From Cache"
	b, _ = json.Marshal(cached)
	os.WriteFile(cache, b, 0o600)
	r = device(t.Context(), env, "printers", "--json")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Served From Cache") {
		t.Fatalf("not served from the cache after 304:\n%s", r.stdout)
	}
	// A change for the device: the new list.
	a.ok("", "printers", "update", annex.ID, "--name", "Annex West")
	r = device(t.Context(), env, "printers", "--json")
	wantExit(t, r, 0)
	if !strings.Contains(r.stdout, "Annex West") || strings.Contains(r.stdout, "Served From Cache") {
		t.Fatalf("after a change:\n%s", r.stdout)
	}
	// Deleted: not authorized, exit 5.
	var info struct{ ID string }
	for _, d := range must(s.App.Store.ListDevices(t.Context(), pairgate.DeviceFilter{Search: "kiosk-1"})) {
		info.ID = d.ID
	}
	a.ok("", "devices", "delete", info.ID)
	r = device(t.Context(), env, "printers")
	wantExit(t, r, cli.ExitNotAuthorized)
	a.ok("", "printers", "delete", annex.ID)
	a.ok("", "deployments", "list")
}

func must[T any](v T, err error) T {
	if err != nil {
		panic(err)
	}
	return v
}
