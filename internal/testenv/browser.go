package testenv

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"
)

// ChromiumPath is Debian's Chromium; PAIRGATE_CHROMIUM overrides it. Tests
// never download a browser.
func ChromiumPath() string {
	if p := os.Getenv("PAIRGATE_CHROMIUM"); p != "" {
		return p
	}
	return "/usr/bin/chromium"
}

// Phone is the viewport the pages are tested at: the narrowest common
// phone width.
const (
	PhoneWidth  = 360
	PhoneHeight = 740
)

// Browser is one headless Chromium process, shared by the tabs of a test.
type Browser struct {
	ctx context.Context
}

// StartBrowser starts headless Chromium for this test and stops it when the
// test ends. It fails the test, saying how to install Chromium, when the
// binary is missing.
func StartBrowser(t testing.TB) *Browser {
	t.Helper()
	path := ChromiumPath()
	if _, err := exec.LookPath(path); err != nil {
		t.Fatalf("Chromium is not installed at %s (%v): install Debian's packages with `apt-get install chromium chromium-driver`, or run `make test`, which does; set PAIRGATE_CHROMIUM to use another binary", path, err)
	}
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.Headless,
		chromedp.NoSandbox, // tests run as root in CI containers
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.UserDataDir(t.TempDir()),
		chromedp.WindowSize(PhoneWidth, PhoneHeight),
		// Chromium talks to the system D-Bus when it finds one, and aborts
		// ("D-Bus connection was disconnected") when that daemon restarts
		// under it, as it does on a machine shared with other jobs: the
		// browser gets no bus at all.
		chromedp.Env("DBUS_SYSTEM_BUS_ADDRESS=unix:path=/nonexistent/pairgate-no-dbus", "DBUS_SESSION_BUS_ADDRESS=disabled:"),
	)
	actx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	bctx, cancelBrowser := chromedp.NewContext(actx)
	// The first action starts the browser, bound to the context it runs
	// with: that must be bctx itself, which lives as long as the test.
	if err := chromedp.Do(bctx, chromedp.Navigate("about:blank")); err != nil {
		cancelBrowser()
		cancelAlloc()
		t.Fatalf("start Chromium %s: %v", path, err)
	}
	t.Cleanup(func() {
		cancelBrowser()
		cancelAlloc()
	})
	return &Browser{ctx: bctx}
}

// Tab is a browser tab with its own cookie jar (a fresh browser context),
// showing pages as a phone 360 CSS pixels wide does.
type Tab struct {
	t   testing.TB
	ctx context.Context
}

// Tab opens a new tab for t. Its actions fail t when they fail or take
// longer than a minute in all.
func (b *Browser) Tab(t testing.TB) *Tab {
	t.Helper()
	return b.tab(t, false)
}

// ScriptTab is Tab with the pages' own scripts running: for the few
// pages that enhance themselves with a script (the portal's copy
// buttons), to see that the script works under the page's policy.
func (b *Browser) ScriptTab(t testing.TB) *Tab {
	t.Helper()
	return b.tab(t, true)
}

func (b *Browser) tab(t testing.TB, scripts bool) *Tab {
	t.Helper()
	ctx, cancel := chromedp.NewContext(b.ctx, chromedp.WithNewBrowserContext())
	t.Cleanup(cancel)
	// The first call opens the tab and binds its life to the context it
	// is given: the tab's own, without a deadline. Each action after it
	// has a deadline of its own (act): a bound on the whole tab failed a
	// long test on a slow machine while every page answered.
	if err := chromedp.Do(ctx); err != nil {
		t.Fatalf("browser: open a tab: %v", err)
	}
	tab := &Tab{t: t, ctx: ctx}
	// A phone: mobile viewport rules apply (the page's meta viewport),
	// with a device scale of 2 so that screenshots are sharp to read.
	tab.do(chromedp.EmulateViewport(PhoneWidth, PhoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile,
		chromedp.EmulateTouch, chromedp.EmulatePortrait))
	// Pages must work without JavaScript: the tab runs none of theirs.
	tab.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !scripts})
		return err
	}))
	return tab
}

// In is the same tab reporting to t: a subtest that acts in a tab its
// parent opened fails itself, where the failure happened, instead of
// failing the parent from the subtest's goroutine (which Go reports as
// "subtest may have called FailNow on a parent test").
func (tb *Tab) In(t testing.TB) *Tab {
	c := *tb
	c.t = t
	return &c
}

// actionTimeout bounds one action in a tab: a page that hangs fails its
// test rather than the whole run.
const actionTimeout = 60 * time.Second

// act is the context of one action, with its deadline.
func (tb *Tab) act() context.Context {
	ctx, cancel := context.WithTimeout(tb.ctx, actionTimeout)
	tb.t.Cleanup(cancel)
	return ctx
}

func (tb *Tab) do(actions ...chromedp.Action[chromedp.Void]) {
	tb.t.Helper()
	if err := chromedp.Do(tb.act(), actions...); err != nil {
		tb.t.Fatalf("browser: %v", err)
	}
}

// Navigate opens url and returns the HTTP status of the page it ends on.
func (tb *Tab) Navigate(url string) int64 {
	tb.t.Helper()
	resp, err := chromedp.Run(tb.act(), chromedp.NavigateResponse(url))
	if err != nil {
		tb.t.Fatalf("browser: open %s: %v", url, err)
	}
	return resp.Status
}

// Fill types value into the field that the CSS selector finds, replacing
// what it held.
func (tb *Tab) Fill(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.Clear(chromedp.CSS(sel)), chromedp.SendKeys(chromedp.CSS(sel), value))
}

// Submit clicks the element sel (a submit button), waits for the page the
// form leads to, and returns its HTTP status.
func (tb *Tab) Submit(sel string) int64 {
	tb.t.Helper()
	resp, err := chromedp.RunResponse(tb.act(), chromedp.Click(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("browser: submit %s: %v", sel, err)
	}
	return statusOf(resp)
}

func statusOf(r *network.Response) int64 {
	if r == nil {
		return 0
	}
	return r.Status
}

// Text returns the visible text of the first element sel finds.
func (tb *Tab) Text(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.act(), chromedp.Text(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("browser: text of %s: %v", sel, err)
	}
	return strings.TrimSpace(s)
}

// Value returns the value of the form field sel finds.
func (tb *Tab) Value(sel string) string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.act(), chromedp.Value(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("browser: value of %s: %v", sel, err)
	}
	return s
}

// Attr returns an attribute of the first element sel finds.
func (tb *Tab) Attr(sel, name string) string {
	tb.t.Helper()
	attrs, err := chromedp.Run(tb.act(), chromedp.Attributes(chromedp.CSS(sel)))
	if err != nil {
		tb.t.Fatalf("browser: attributes of %s: %v", sel, err)
	}
	return attrs[name]
}

// Select chooses the option with this value in the <select> sel finds.
func (tb *Tab) Select(sel, value string) {
	tb.t.Helper()
	tb.do(chromedp.SetValue(chromedp.CSS(sel), value))
}

// Click clicks the element sel finds without waiting for a page to load:
// for controls that change the page in place (closing a <dialog>).
func (tb *Tab) Click(sel string) {
	tb.t.Helper()
	tb.do(chromedp.Click(chromedp.CSS(sel)))
}

// Bool evaluates a JavaScript expression for the test (the page itself
// runs none) and returns its boolean value.
func (tb *Tab) Bool(expr string) bool {
	tb.t.Helper()
	b, err := chromedp.Run(tb.act(), chromedp.Evaluate[bool](expr))
	if err != nil {
		tb.t.Fatalf("browser: evaluate %s: %v", expr, err)
	}
	return b
}

// Eventually is Bool for what the page's script does in a task of its
// own (a dialog's close event runs after the key that closed it): it
// checks expr in the page every 20 ms and returns false only if expr is
// still not true after five seconds.
func (tb *Tab) Eventually(expr string) bool {
	tb.t.Helper()
	b, err := chromedp.Run(tb.act(), chromedp.Evaluate[bool](`new Promise((done) => {
		const start = performance.now();
		const check = () => {
			if (`+expr+`) done(true);
			else if (performance.now() - start > 5000) done(false);
			else setTimeout(check, 20);
		};
		check();
	})`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("browser: wait for %s: %v", expr, err)
	}
	return b
}

// Press sends keys to the focused element as a keyboard does ("\t" is
// Tab, kb.Escape is Escape, "\r" is Enter).
func (tb *Tab) Press(keys string) {
	tb.t.Helper()
	tb.do(chromedp.KeyEvent(keys))
}

// JSON evaluates a JavaScript expression for the test, waits for it when
// it is a promise, and decodes its value (as JSON) into out.
func (tb *Tab) JSON(expr string, out any) {
	tb.t.Helper()
	s, err := chromedp.Run(tb.act(), chromedp.Evaluate[string](`(async () => JSON.stringify(await (`+expr+`)))()`, chromedp.EvalAwaitPromise))
	if err != nil {
		tb.t.Fatalf("browser: evaluate %.80s: %v", expr, err)
	}
	if err := json.Unmarshal([]byte(s), out); err != nil {
		tb.t.Fatalf("browser: decode %.80s: %v", expr, err)
	}
}

// Inject runs a script of the test's own (a checking library) in the
// page, whatever the page's policy or the tab's script setting.
func (tb *Tab) Inject(src string) {
	tb.t.Helper()
	if _, err := chromedp.Run(tb.act(), chromedp.Evaluate[bool](src+"\n;true")); err != nil {
		tb.t.Fatalf("browser: inject script: %v", err)
	}
}

// Get fetches url with the tab's cookies, as the browser would download
// it (a file the page offers), and returns the response with its body
// read.
func (tb *Tab) Get(u string) (*http.Response, []byte) {
	tb.t.Helper()
	var cookies []*network.Cookie
	tb.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		r, err := cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{u}})
		if err == nil {
			cookies = r.Cookies
		}
		return err
	}))
	req, err := http.NewRequestWithContext(tb.ctx, "GET", u, nil)
	if err != nil {
		tb.t.Fatal(err)
	}
	for _, c := range cookies {
		req.AddCookie(&http.Cookie{Name: c.Name, Value: c.Value})
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.t.Fatalf("get %s: %v", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		tb.t.Fatalf("get %s: %v", u, err)
	}
	return resp, body
}

// AllowScripts switches script execution in the tab: a checking library
// injected by the test needs timers, while the page itself, loaded with
// scripts off, stays as it was.
func (tb *Tab) AllowScripts(on bool) {
	tb.t.Helper()
	tb.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: !on})
		return err
	}))
}

// ColorScheme shows pages as a system in dark (or light) mode does.
func (tb *Tab) ColorScheme(dark bool) {
	tb.t.Helper()
	v := "light"
	if dark {
		v = "dark"
	}
	tb.do(chromedp.Func(func(ctx context.Context, tg *chromedp.Target) error {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
			Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: v}}})
		return err
	}))
}

// Count returns how many elements the CSS selector sel finds.
func (tb *Tab) Count(sel string) int {
	tb.t.Helper()
	n, err := chromedp.Run(tb.act(), chromedp.Evaluate[int](`document.querySelectorAll(`+strconv.Quote(sel)+`).length`))
	if err != nil {
		tb.t.Fatalf("browser: count %s: %v", sel, err)
	}
	return n
}

// Desktop shows pages as a desktop browser window width CSS pixels wide
// does; Phone goes back to the phone the tab starts as.
func (tb *Tab) Desktop(width, height int64) {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(width, height, chromedp.EmulateScale(1)))
}

// PhoneOf shows pages as a phone width CSS pixels wide does.
func (tb *Tab) PhoneOf(width int64) {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(width, PhoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile,
		chromedp.EmulateTouch, chromedp.EmulatePortrait))
}

// Phone shows pages as the tab's phone again.
func (tb *Tab) Phone() {
	tb.t.Helper()
	tb.do(chromedp.EmulateViewport(PhoneWidth, PhoneHeight, chromedp.EmulateScale(2), chromedp.EmulateMobile,
		chromedp.EmulateTouch, chromedp.EmulatePortrait))
}

// Location is the URL the tab shows.
func (tb *Tab) Location() string {
	tb.t.Helper()
	s, err := chromedp.Run(tb.act(), chromedp.Location())
	if err != nil {
		tb.t.Fatalf("browser: location: %v", err)
	}
	return s
}

// ScrollWidth is the width of the page's content in CSS pixels: more than
// the viewport means the page scrolls sideways on a phone.
func (tb *Tab) ScrollWidth() int {
	tb.t.Helper()
	w, err := chromedp.Run(tb.act(), chromedp.Evaluate[int](`document.documentElement.scrollWidth`))
	if err != nil {
		tb.t.Fatalf("browser: scroll width: %v", err)
	}
	return w
}

// Scripts counts the page's script elements.
func (tb *Tab) Scripts() int {
	tb.t.Helper()
	n, err := chromedp.Run(tb.act(), chromedp.Evaluate[int](`document.getElementsByTagName("script").length`))
	if err != nil {
		tb.t.Fatalf("browser: count scripts: %v", err)
	}
	return n
}

// Screenshot saves a PNG of the whole page as <ScreenshotDir>/<name>.png
// and returns its path.
func (tb *Tab) Screenshot(name string) string {
	tb.t.Helper()
	png, err := chromedp.Run(tb.act(), chromedp.FullScreenshot(100))
	if err != nil {
		tb.t.Fatalf("browser: screenshot: %v", err)
	}
	dir := ScreenshotDir(tb.t)
	p := filepath.Join(dir, safeName.ReplaceAllString(name, "_")+".png")
	if err := os.WriteFile(p, png, 0o644); err != nil {
		tb.t.Fatalf("write screenshot: %v", err)
	}
	return p
}

var safeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

// ScreenshotDir is where screenshots go: $PAIRGATE_TEST_OUTPUT, or
// testout/screenshots at the root of the repository (ignored by git).
func ScreenshotDir(t testing.TB) string {
	t.Helper()
	dir := os.Getenv("PAIRGATE_TEST_OUTPUT")
	if dir == "" {
		root, err := repoRoot()
		if err != nil {
			t.Fatalf("screenshots: %v; set PAIRGATE_TEST_OUTPUT", err)
		}
		dir = filepath.Join(root, "testout", "screenshots")
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("screenshots: %v", err)
	}
	return dir
}

// repoRoot finds the directory of go.mod above the working directory (a
// package's directory while its tests run).
func repoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod above the working directory")
		}
		dir = parent
	}
}
