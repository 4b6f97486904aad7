package web_test

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// printerShot saves a screenshot and checks that the page fits a phone;
// it allows the portal's one script (the copy buttons) and no other.
func printerShot(t *testing.T, tab *testenv.Tab, name string, scripts int) {
	t.Helper()
	tab.Screenshot(name)
	if n := tab.Scripts(); n != scripts {
		t.Errorf("%s: %d script elements, want %d", name, n, scripts)
	}
	if w := tab.ScrollWidth(); w > testenv.PhoneWidth {
		t.Errorf("%s: page is %d px wide, more than a %d px phone", name, w, testenv.PhoneWidth)
	}
}

// devicePrinters is what a device gets from the device API.
func devicePrinters(t *testing.T, s *testenv.Server, token string) []map[string]any {
	t.Helper()
	req, _ := http.NewRequest("GET", s.URL+"/api/v1/device/printers", nil)
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out struct {
		Printers []map[string]any `json:"printers"`
	}
	if resp.StatusCode != 200 || json.NewDecoder(resp.Body).Decode(&out) != nil {
		t.Fatalf("device printers: %d", resp.StatusCode)
	}
	return out.Printers
}

// TestPrintersConsoleBrowser drives the Printers tab in Chromium, without
// JavaScript, at phone width: add a real IPP Everywhere printer (the
// console checks it and shows its make and model), deploy it to the
// devices of an authorization code, see it in the device API of a device
// installed with that code and in the Self-service Portal of a browser
// authorized with it (install commands for its system, an ipp:// link,
// and, with scripts on, a working copy button), then delete it through
// the confirmation dialog.
func TestPrintersConsoleBrowser(t *testing.T) {
	s := testenv.StartServer(t)
	printer := testenv.StartIPPPrinter(t, "Console Printer")
	b := testenv.StartBrowser(t)
	admin := b.Tab(t)
	code, ac := s.CreateCode(t, pairgate.TTL24Hours)
	other, _ := s.CreateCode(t, pairgate.TTL24Hours)

	admin.Navigate(s.URL + "/admin/printers")
	if st := signInTab(t, admin, "admin", testenv.AdminPassword); st != 200 {
		t.Fatalf("sign-in: %d at %s", st, admin.Location())
	}
	if admin.Location() != s.URL+"/admin/printers" || admin.Count("#no-printers") != 1 {
		t.Fatalf("the Printers tab after sign-in: %s %q", admin.Location(), admin.Text("main"))
	}
	if admin.Attr(`.tabs a[href="/admin/printers"]`, "aria-current") != "page" {
		t.Error("the Printers tab is not marked current")
	}
	printerShot(t, admin, "40-printers-empty", 1)

	var printerID string
	t.Run("AddPrinter", func(t *testing.T) {
		admin := admin.In(t)
		// A bad URI is refused, naming the field, and the form keeps what
		// was typed.
		admin.Fill("#p-name", "Lab Printer")
		admin.Fill("#p-uri", "http://printer.example/")
		if st := admin.Submit("#save-printer"); st != 400 {
			t.Fatalf("bad URI: %d", st)
		}
		if got := admin.Text("#printer-error"); !strings.Contains(got, "Uri: scheme 'http' is not supported") {
			t.Errorf("error %q", got)
		}
		if admin.Value("#p-name") != "Lab Printer" {
			t.Error("the form lost the name")
		}
		printerShot(t, admin, "41-printers-bad-uri", 1)
		admin.Fill("#p-uri", printer.URI)
		admin.Fill("#p-location", "Room 101")
		admin.Click("#p-duplex")
		admin.Select("#p-paper", "A4")
		if st := admin.Submit("#save-printer"); st != 200 {
			t.Fatalf("add printer: %d", st)
		}
		if admin.Count("#printers tbody tr") != 1 {
			t.Fatalf("printers listed: %q", admin.Text("main"))
		}
		printerID = admin.Attr("#printers tbody tr", "data-id")
		row := "#printer-" + printerID
		if got := admin.Text(row + " .status"); !strings.Contains(got, "reachable: "+testenv.IPPPrinterMakeAndModel+", idle") {
			t.Errorf("status %q, want the printer's make and model", got)
		}
		if got := admin.Text(row + " .options"); got != "Two-sided · Monochrome · A4" {
			t.Errorf("options %q", got)
		}
		if got := admin.Text(row + " .model"); got != "IPP Everywhere" {
			t.Errorf("driver %q", got)
		}
		printerShot(t, admin, "42-printers-added", 1)
	})

	t.Run("DeployToACodesDevices", func(t *testing.T) {
		admin := admin.In(t)
		admin.Click(`input[name="printer_` + printerID + `"]`)
		admin.Select("#d-default", printerID)
		admin.Click("#t-code")
		admin.Select("#d-code", ac.ID)
		if st := admin.Submit("#deploy-submit"); st != 200 {
			t.Fatalf("deploy: %d", st)
		}
		if got := admin.Text("#deployment-table tbody tr .target"); !strings.Contains(got, "Devices installed with code "+code) {
			t.Fatalf("deployment target %q", got)
		}
		if got := admin.Text("#deployment-table tbody tr .default"); got != "Lab Printer" {
			t.Errorf("default %q", got)
		}
		admin.Desktop(1280, 900)
		admin.Navigate(s.URL + "/admin/printers")
		admin.Screenshot("43-printers-deployed-desktop")
		admin.Phone()
		admin.Navigate(s.URL + "/admin/printers")
		printerShot(t, admin, "44-printers-deployed", 1)
	})

	t.Run("DeviceAPI", func(t *testing.T) {
		r := redeem(t, s, code, "kiosk-1", "")
		ps := devicePrinters(t, s, r.body["access_token"].(string))
		if len(ps) != 1 || ps[0]["name"] != "Lab Printer" || ps[0]["uri"] != printer.URI || ps[0]["default"] != true {
			t.Fatalf("device printers: %v", ps)
		}
		r = redeem(t, s, other, "kiosk-2", "")
		if ps := devicePrinters(t, s, r.body["access_token"].(string)); len(ps) != 0 {
			t.Fatalf("a device of another code got %v", ps)
		}
	})

	t.Run("Portal", func(t *testing.T) {
		for _, scripts := range []bool{false, true} {
			var user *testenv.Tab
			if scripts {
				user = b.ScriptTab(t)
			} else {
				user = b.Tab(t)
			}
			user.Navigate(s.URL + "/portal")
			user.Fill("#code", code)
			if st := user.Submit("#authorize"); st != 200 {
				t.Fatalf("portal code: %d", st)
			}
			card := "#printer-" + printerID
			if got := user.Text(card + " .printer-name"); !strings.Contains(got, "Lab Printer") || !strings.Contains(got, "default") {
				t.Fatalf("portal printer %q in %q", got, user.Text("main"))
			}
			cmds := user.Text(card + " .commands")
			if !strings.Contains(cmds, "lpadmin -p 'Lab_Printer' -E -v '"+printer.URI+"' -m everywhere -L 'Room 101'") {
				t.Errorf("the headless Linux browser is shown %q", cmds)
			}
			if got := user.Attr(card+" .ipp-link", "href"); got != printer.URI {
				t.Errorf("ipp link %q", got)
			}
			if !scripts {
				if user.Bool(`!document.querySelector("button.copy").hidden`) {
					t.Error("the copy button shows without the script that makes it work")
				}
				printerShot(t, user, "45-portal-printers", 1)
				continue
			}
			// With scripts on, the page's policy lets its own script run:
			// the button shows and copies (or selects) the commands.
			if !user.Bool(`!document.querySelector("button.copy").hidden`) {
				t.Fatal("the copy button stayed hidden: the script did not run under the page's policy")
			}
			user.Click(card + " button.copy")
			// The clipboard answers asynchronously; the button says so
			// for two seconds.
			got := ""
			for i := 0; i < 30 && got != "Copied" && got != "Selected: press Ctrl+C"; i++ {
				time.Sleep(50 * time.Millisecond)
				got = user.Text(card + " button.copy")
			}
			if got != "Copied" && got != "Selected: press Ctrl+C" {
				t.Errorf("after a click the button says %q", got)
			}
			printerShot(t, user, "46-portal-printers-copy", 1)
		}
	})

	t.Run("DeleteThroughTheDialog", func(t *testing.T) {
		admin := admin.In(t)
		admin.Navigate(s.URL + "/admin/printers")
		dlg := openDialog(t, admin, "#printer-"+printerID+" .trash")
		if got := admin.Text(dlg + "-title"); got != "Delete this printer?" {
			t.Fatalf("dialog %q", got)
		}
		printerShot(t, admin, "47-printers-confirm-delete", 1)
		// Escape closes it and the focus is back on the control.
		admin.Press(kb.Escape)
		if admin.Bool(`document.querySelector("`+dlg+`").open`) || !admin.Bool(`document.activeElement.matches("#printer-`+printerID+` .trash")`) {
			t.Fatal("Escape did not close the dialog and return the focus")
		}
		// The confirmation page, for browsers without invoker commands.
		admin.Navigate(s.URL + "/admin/printers?delete=" + printerID)
		if admin.Count("#confirm .confirm-act") != 1 {
			t.Fatalf("no confirmation page: %q", admin.Text("main"))
		}
		admin.Submit("#confirm .confirm-act")
		if admin.Count("#no-printers") != 1 || admin.Count("#no-deployments") != 1 {
			t.Fatalf("after the delete: %q", admin.Text("main"))
		}
		r := redeem(t, s, code, "kiosk-3", "")
		if ps := devicePrinters(t, s, r.body["access_token"].(string)); len(ps) != 0 {
			t.Fatalf("a deleted printer is still deployed: %v", ps)
		}
	})
}
