package web_test

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp/kb"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/client"
	"github.com/pairgate/pairgate/internal/testenv"
)

// axeSource installs axe-core, pinned by testdata/axe/package-lock.json,
// with npm in a temporary directory and returns its script. It needs
// node and npm (scripts/test-deps.sh installs them) and the npm
// registry, and fails, never skips, without them.
func axeSource(t *testing.T) string {
	t.Helper()
	if _, err := exec.LookPath("npm"); err != nil {
		t.Fatalf("npm is missing: the accessibility test needs axe-core from npm (apt-get install -y nodejs npm, as scripts/test-deps.sh does)")
	}
	dir := t.TempDir()
	for _, f := range []string{"package.json", "package-lock.json"} {
		b, err := os.ReadFile(filepath.Join("testdata", "axe", f))
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f), b, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(t.Context(), 3*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "npm", "ci", "--no-audit", "--no-fund", "--loglevel=error")
	cmd.Dir = dir
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm ci (axe-core from the npm registry): %v\n%s", err, out)
	}
	src, err := os.ReadFile(filepath.Join(dir, "node_modules", "axe-core", "axe.min.js"))
	if err != nil {
		t.Fatal(err)
	}
	return string(src)
}

type axeViolation struct {
	ID     string   `json:"id"`
	Impact string   `json:"impact"`
	Help   string   `json:"help"`
	Nodes  []string `json:"nodes"`
}

// axeCheck runs axe-core on the page the tab shows (WCAG 2.0, 2.1 and
// 2.2 A and AA, and axe's best practices) and fails t for anything it
// finds.
func axeCheck(t *testing.T, tab *testenv.Tab, src, name string) {
	t.Helper()
	tab.AllowScripts(true)
	defer tab.AllowScripts(false)
	tab.Inject(src)
	var vs []axeViolation
	tab.JSON(`axe.run(document, {resultTypes: ["violations"],
		runOnly: {type: "tag", values: ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]}})
		.then(r => r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
			nodes: v.nodes.slice(0, 5).map(n => n.target.join(" ") + " " + (n.failureSummary || "").replace(/\s+/g, " "))})))`, &vs)
	for _, v := range vs {
		t.Errorf("%s: axe %s (%s): %s\n\t%s", name, v.ID, v.Impact, v.Help, strings.Join(v.Nodes, "\n\t"))
	}
}

// a11yPage is a page of the matrix: how to reach it in a tab.
type a11yPage struct {
	name string
	tab  *testenv.Tab
	// open shows the page in tab (the page's tab, as the subtest that
	// opens it sees it: testenv.Tab.In).
	open func(t *testing.T, tab *testenv.Tab)
}

// TestAccessibility: every kind of page — sign-in, device code entry,
// consent, the result, the console's tabs with a dialog open and a
// confirmation page, the portal, the audit log — is checked by axe-core
// in Chromium at 390 and 1280 CSS pixels, light and dark, and saved as a
// screenshot in testout/screenshots (or $PAIRGATE_TEST_OUTPUT). What an
// engine cannot see is checked with the keyboard: from page load, Tab
// reaches every control in document order, each control's focus ring
// measures 3:1 against what is behind it, a dialog is modal and holds
// the focus, Escape closes it and the focus returns to its control.
func TestAccessibility(t *testing.T) {
	src := axeSource(t)
	s := testenv.StartServer(t)
	b := testenv.StartBrowser(t)
	anon := b.Tab(t)
	admin := b.Tab(t)
	admin.Navigate(s.URL + "/admin")
	signInTab(t, admin, "admin", testenv.AdminPassword)
	// Something in every table: a code, a device that came with it, a
	// printer and a deployment.
	admin.Fill("#label", "Lab PCs, 2nd floor")
	admin.Submit("#generate")
	code := admin.Text("#new-code")
	if r := redeem(t, s, code, "Lab PC 01", "LAB-01"); r.status != 200 {
		t.Fatalf("redeem: %d", r.status)
	}
	admin.Navigate(s.URL + "/admin/printers")
	admin.Fill("#p-name", "Lab printer")
	admin.Fill("#p-uri", "socket://127.0.0.1:9")
	admin.Submit("#save-printer")
	admin.Click(`input[name^="printer_"]`)
	admin.Submit("#deploy-submit")
	deviceID := ""
	{
		admin.Navigate(s.URL + "/admin")
		deviceID = admin.Attr(`#devices tr[data-method="authorization_code"]`, "data-id")
	}
	// A held job of the admin's, from a laptop the admin approved, for
	// the Release Portal.
	adminUser, err := s.App.Store.GetUserByUsername(context.Background(), "admin")
	if err != nil {
		t.Fatal(err)
	}
	laptop := s.PairUserDevice(t, "admin-laptop", adminUser)
	if _, err := client.Print(context.Background(), nil, &client.Credentials{Issuer: s.URL, AccessToken: laptop.Token, TokenType: "Bearer"},
		s.IPP, client.Job{Name: "quarterly report.pdf", Format: "text/plain", Document: strings.NewReader("Q3\n"), Size: 3}); err != nil {
		t.Fatal(err)
	}
	userCode := startDevice(t, s, "&mode=device&device_name=Printer%204th%20floor")
	consent := b.Tab(t)
	consent.Navigate(s.URL + "/device?user_code=" + userCode)
	signInTab(t, consent, "admin", testenv.AdminPassword)

	pages := []a11yPage{
		{"signin", anon, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/auth/signin/?next=%2Fadmin") }},
		{"device", anon, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/device") }},
		{"portal", anon, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/portal") }},
		{"consent", consent, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/device?user_code=" + userCode) }},
		{"console", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin") }},
		{"console-dialog", admin, func(t *testing.T, tab *testenv.Tab) {
			tab.Navigate(s.URL + "/admin")
			openDialog(t, tab, `#devices tr[data-id="`+deviceID+`"] .trash`)
		}},
		{"console-confirm-page", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin?delete_device=" + deviceID) }},
		{"console-printers", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin/printers") }},
		{"console-audit", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin/audit") }},
		{"console-people", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin/people") }},
		{"portal-device", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/portal") }},
		{"release", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/release") }},
		{"not-found", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin/nothing") }},
		{"console-clients", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin/clients?edit=print-client") }},
		{"console-clients-dialog", admin, func(t *testing.T, tab *testenv.Tab) {
			tab.Navigate(s.URL + "/admin/clients")
			openDialog(t, tab, `#clients tr[data-id="print-client"] .trash`)
		}},
		{"console-devices-sorted", admin, func(t *testing.T, tab *testenv.Tab) { tab.Navigate(s.URL + "/admin?sort=last_seen&order=desc") }},
	}
	// A lock-out, so that the People page lists one with its Lift button.
	if _, _, err := s.App.Store.HitRateLimit(context.Background(), pairgate.RateLimitCounter{Key: []byte("a11y lock-out"), Limit: 1,
		Window: time.Hour, Rule: "signin-account", Subject: "mallory"}, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	if _, _, err := s.App.Store.HitRateLimit(context.Background(), pairgate.RateLimitCounter{Key: []byte("a11y lock-out"), Limit: 1,
		Window: time.Hour, Rule: "signin-account", Subject: "mallory"}, s.Clock.Now()); err != nil {
		t.Fatal(err)
	}
	t.Run("Axe", func(t *testing.T) {
		consent := consent.In(t)
		for i, p := range pages {
			tab := p.tab.In(t)
			for _, width := range []int64{390, 1280} {
				for _, dark := range []bool{false, true} {
					if width == 390 {
						tab.PhoneOf(390)
					} else {
						tab.Desktop(1280, 900)
					}
					tab.ColorScheme(dark)
					p.open(t, tab)
					scheme := "light"
					if dark {
						scheme = "dark"
					}
					name := fmt.Sprintf("80-%02d-%s-%d-%s", i, p.name, width, scheme)
					axeCheck(t, tab, src, name)
					tab.Screenshot(name)
				}
			}
			tab.ColorScheme(false)
			tab.Phone()
		}
		// The result page, after the consent is answered.
		consent.Navigate(s.URL + "/device?user_code=" + userCode)
		consent.Submit(`button[name=action][value=approve]`)
		for _, dark := range []bool{false, true} {
			consent.ColorScheme(dark)
			axeCheck(t, consent, src, fmt.Sprintf("result-dark=%v", dark))
			consent.Screenshot(fmt.Sprintf("80-99-result-390-dark-%v", dark))
		}
	})

	t.Run("Keyboard", func(t *testing.T) {
		admin, anon := admin.In(t), anon.In(t)
		for _, dark := range []bool{false, true} {
			for _, p := range []a11yPage{pages[0], pages[4], pages[7], pages[9]} {
				tab := p.tab.In(t)
				tab.Desktop(1280, 900)
				tab.ColorScheme(dark)
				p.open(t, tab)
				keyboardWalk(t, tab, fmt.Sprintf("%s dark=%v", p.name, dark))
			}
		}
		admin.ColorScheme(false)
		anon.ColorScheme(false)
		// A dialog, by keyboard alone: Tab to its control, Enter opens it
		// modal with the focus inside; Tab stays inside; Escape closes it
		// and the focus is back on the control.
		admin.Navigate(s.URL + "/admin")
		opener := `#devices tr[data-id="` + deviceID + `"] .trash`
		for range 200 {
			admin.Press(kb.Tab)
			if admin.Bool(`document.activeElement.matches(` + jsString(opener) + `)`) {
				break
			}
		}
		if !admin.Bool(`document.activeElement.matches(` + jsString(opener) + `)`) {
			t.Fatal("Tab never reached the device's Delete button")
		}
		admin.Press("\r")
		dlg := "#" + admin.Attr(opener, "commandfor")
		inDialog := `document.querySelector("` + dlg + `").contains(document.activeElement)`
		if !admin.Bool(`document.querySelector("`+dlg+`").matches(":modal")`) || !admin.Bool(inDialog) {
			t.Fatal("Enter did not open the dialog modal with the focus inside")
		}
		if !admin.Bool(`document.activeElement.matches(".confirm-cancel")`) {
			t.Error("a delete dialog does not start on Cancel")
		}
		for i := range 6 {
			admin.Press(kb.Tab)
			if !admin.Bool(inDialog) && !admin.Bool(`document.activeElement === document.body`) {
				t.Fatalf("Tab %d left the dialog for %s", i+1, admin.Attr(":focus", "id"))
			}
		}
		admin.Press(kb.Escape)
		if admin.Bool(`document.querySelector("`+dlg+`").open`) || !admin.Bool(`document.activeElement.matches(`+jsString(opener)+`)`) {
			t.Fatal("Escape did not close the dialog and return the focus to its control")
		}
	})
}

func jsString(s string) string { return "`" + strings.ReplaceAll(s, "`", "\\`") + "`" }

// focusStop is one control the keyboard reached, with its focus ring.
type focusStop struct {
	Index    int     `json:"index"`
	Desc     string  `json:"desc"`
	Style    string  `json:"style"`
	Width    float64 `json:"width"`
	Contrast float64 `json:"contrast"`
}

// keyboardWalk presses Tab from page load through every control and
// back to the start, and checks that the focus visits the page's
// controls in document order, each with a focus ring of 3:1 or more
// against the background it is drawn on.
func keyboardWalk(t *testing.T, tab *testenv.Tab, name string) {
	t.Helper()
	var n int
	tab.JSON(`(() => {
		window.__controls = Array.from(document.querySelectorAll("a[href], button, input:not([type=hidden]), select, textarea, [tabindex]"))
			.filter(e => e.tabIndex >= 0 && !e.disabled && !e.closest("dialog:not([open]), [inert]") && e.getClientRects().length > 0 &&
				getComputedStyle(e).visibility !== "hidden" &&
				// A radio group is one stop: its checked radio.
				!(e.type === "radio" && !e.checked && document.querySelector("input[type=radio][name='" + e.name + "']:checked")));
		return window.__controls.length;
	})()`, &n)
	if n == 0 {
		t.Fatalf("%s: no controls", name)
	}
	// A page may start with the focus in a field (autofocus): the walk
	// starts there. Chromium applies autofocus at a rendering update after
	// the load, so wait for it rather than race it.
	for deadline := time.Now().Add(3 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if tab.Bool(`(() => {
			const a = Array.from(document.querySelectorAll("[autofocus]")).find(e => !e.closest("dialog:not([open]), [inert]") && e.getClientRects().length > 0);
			return !a || document.activeElement === a;
		})()`) {
			break
		}
	}
	var start int
	tab.JSON(`window.__controls.indexOf(document.activeElement)`, &start)
	var stops []focusStop
	for range n - start - 1 {
		tab.Press(kb.Tab)
		var st focusStop
		tab.JSON(`(() => {
			const e = document.activeElement;
			const lum = c => {
				const m = c.match(/rgba?\(([\d.]+),\s*([\d.]+),\s*([\d.]+)(?:,\s*([\d.]+))?/);
				if (!m) return null;
				const [r, g, b] = [m[1], m[2], m[3]].map(v => { v = v / 255; return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4); });
				return {l: 0.2126 * r + 0.7152 * g + 0.0722 * b, a: m[4] === undefined ? 1 : +m[4]};
			};
			// The ring is drawn outside the control (outline-offset >= 0):
			// against the first opaque background around it.
			let bg = null;
			for (let p = e.parentElement; p; p = p.parentElement) {
				const c = lum(getComputedStyle(p).backgroundColor);
				if (c && c.a > 0.5) { bg = c; break; }
			}
			if (!bg) bg = lum(getComputedStyle(document.documentElement).backgroundColor) || {l: 1};
			const cs = getComputedStyle(e);
			const ring = lum(cs.outlineColor);
			const hi = Math.max(ring.l, bg.l), lo = Math.min(ring.l, bg.l);
			return {index: window.__controls.indexOf(e), desc: e.tagName.toLowerCase() + (e.id ? "#" + e.id : "") + " " + (e.getAttribute("aria-label") || e.textContent || e.name || "").trim().slice(0, 40),
				style: cs.outlineStyle, width: parseFloat(cs.outlineWidth), contrast: (hi + 0.05) / (lo + 0.05)};
		})()`, &st)
		stops = append(stops, st)
	}
	for i, st := range stops {
		if st.Index != start+1+i {
			t.Errorf("%s: Tab %d reached %q (control %d), want control %d in document order", name, i+1, st.Desc, st.Index, start+1+i)
			return
		}
		if st.Style == "none" || st.Width < 2 || st.Contrast < 3 {
			t.Errorf("%s: the focus ring of %q is %s %.0fpx at %.2f:1, want a visible ring of 3:1", name, st.Desc, st.Style, st.Width, st.Contrast)
		}
	}
}
