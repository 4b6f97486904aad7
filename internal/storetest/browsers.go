package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// browserDevice is a browser as the pages authorize it: the built-in
// browser client, the browser's own id as hardware id, device mode.
func browserDevice(c *pairgate.Client, browserID, method, codeID, userID string, now time.Time) *pairgate.Device {
	return &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Chrome on Linux", HardwareID: browserID,
		Mode: pairgate.ModeDevice, AuthMethod: method, AuthCodeID: codeID, UserID: userID,
		Scopes: pairgate.ParseScopes("portal"), AuthorizedAt: now, LastSeenAt: now, LastIP: "192.0.2.44"}
}

// mkBrowserClient creates the built-in browser client, whose devices are
// browsers: the one client whose hardware ids are secrets the device holds
// (its random browser id), not claims.
func mkBrowserClient(t *testing.T, s pairgate.Store) *pairgate.Client {
	t.Helper()
	c := pairgate.BrowserClient(t0)
	must(t, s.CreateClient(ctx(t), c))
	return c
}

func browserSession(now time.Time) *pairgate.Session {
	return &pairgate.Session{IDHash: rnd(32), CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(365 * 24 * time.Hour),
		IP: "192.0.2.44", UserAgent: "Mozilla/5.0 (X11; Linux x86_64) Chrome/140.0"}
}

// testAuthorizeBrowser: a browser becomes one device with one live device
// session; authorizing it again updates the row and replaces the session
// (docs/design.md 2.1); deleting the device ends the session (2.2).
func testAuthorizeBrowser(t *testing.T, s pairgate.Store) {
	c := mkBrowserClient(t, s)
	first := browserSession(t0)
	dev, err := s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_one", pairgate.AuthByAdminSignIn, "", "usr_admin", t0), first)
	must(t, err)
	if first.DeviceID != dev.ID || dev.ClientID != c.ID || dev.HardwareID != "br_one" || dev.AuthMethod != pairgate.AuthByAdminSignIn ||
		dev.UserID != "usr_admin" || dev.Mode != pairgate.ModeDevice || dev.Scopes.String() != "portal" || !dev.AuthorizedAt.Equal(t0) {
		t.Fatalf("authorized browser: %+v, session device %q", dev, first.DeviceID)
	}
	got, err := s.GetSession(ctx(t), first.IDHash, t0.Add(time.Hour))
	must(t, err)
	if got.DeviceID != dev.ID || got.UserID != "" || got.UserAgent != first.UserAgent || !got.ExpiresAt.Equal(first.ExpiresAt) {
		t.Fatalf("browser session: %+v", got)
	}

	// The same browser again (its device cookie lost): the same row,
	// updated, and only the new session is live. A person's session that
	// names the device is not the browser's device session and stays.
	both := &pairgate.Session{IDHash: rnd(32), UserID: "usr_admin", DeviceID: dev.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(12 * time.Hour)}
	must(t, s.CreateSession(ctx(t), both))
	later := t0.Add(time.Hour)
	second := browserSession(later)
	again := browserDevice(c, "br_one", pairgate.AuthByAuthorizationCode, "", "", later)
	again.Name = "Renamed"
	dev2, err := s.AuthorizeBrowser(ctx(t), again, second)
	must(t, err)
	if dev2.ID != dev.ID || dev2.Name != "Renamed" || dev2.AuthMethod != pairgate.AuthByAuthorizationCode || dev2.UserID != "" || !dev2.AuthorizedAt.Equal(later) {
		t.Fatalf("re-authorized browser: %+v (first %s)", dev2, dev.ID)
	}
	_, err = s.GetSession(ctx(t), first.IDHash, later)
	wantCode(t, err, pairgate.ENOTFOUND)
	if got, err := s.GetSession(ctx(t), second.IDHash, later); err != nil || got.DeviceID != dev.ID {
		t.Fatalf("new browser session: %+v %v", got, err)
	}
	if _, err := s.GetSession(ctx(t), both.IDHash, later); err != nil {
		t.Fatalf("a person's session ended with the browser's re-authorization: %v", err)
	}
	if n, _ := s.CountDevices(ctx(t)); n != 1 {
		t.Fatalf("devices = %d, want 1", n)
	}

	// Another browser is another device.
	other := browserSession(later)
	dev3, err := s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_two", pairgate.AuthByAdminSignIn, "", "usr_admin", later), other)
	must(t, err)
	if dev3.ID == dev.ID {
		t.Fatal("two browsers share one device")
	}

	// Deleting the device ends its browser sessions at once.
	must(t, s.DeleteDevice(ctx(t), dev.ID, t0))
	for _, h := range [][]byte{second.IDHash, both.IDHash} {
		_, err = s.GetSession(ctx(t), h, later)
		wantCode(t, err, pairgate.ENOTFOUND)
	}
	if _, err := s.GetSession(ctx(t), other.IDHash, later); err != nil {
		t.Fatalf("deleting one browser ended another's session: %v", err)
	}

	// A client that does not exist authorizes nothing.
	ghost := &pairgate.Client{ID: "no-such-client"}
	sess := browserSession(later)
	_, err = s.AuthorizeBrowser(ctx(t), browserDevice(ghost, "br_three", pairgate.AuthByAdminSignIn, "", "", later), sess)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.GetSession(ctx(t), sess.IDHash, later)
	wantCode(t, err, pairgate.ENOTFOUND)
}

// testAuthorizeBrowserWithCode: the Self-service Portal authorizes a
// browser with an admin-issued code. The code is checked and counted in
// the same transaction; a wrong, expired or deleted code writes nothing.
func testAuthorizeBrowserWithCode(t *testing.T, s pairgate.Store) {
	c := mkBrowserClient(t, s)
	code := mkCode(t, s, pairgate.TTL30Minutes, t0)
	sess := browserSession(t0.Add(time.Minute))
	dev, err := s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_portal", pairgate.AuthByAuthorizationCode, code.ID, "", t0.Add(time.Minute)), sess)
	must(t, err)
	if dev.AuthCodeID != code.ID {
		t.Fatalf("device does not name its code: %+v", dev)
	}
	got, err := s.GetAuthorizationCodeByHash(ctx(t), code.CodeHash, t0.Add(time.Minute))
	must(t, err)
	if got.Uses != 1 || !got.LastUsedAt.Equal(t0.Add(time.Minute)) {
		t.Fatalf("code use not counted: %+v", got)
	}

	refused := func(name, codeID string, at time.Time) {
		t.Helper()
		before, _ := s.CountDevices(ctx(t))
		sess := browserSession(at)
		_, err := s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_"+name, pairgate.AuthByAuthorizationCode, codeID, "", at), sess)
		wantCode(t, err, pairgate.EINVALIDGRANT)
		if _, err := s.GetSession(ctx(t), sess.IDHash, at); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("%s: a refused authorization left a session: %v", name, err)
		}
		if n, _ := s.CountDevices(ctx(t)); n != before {
			t.Fatalf("%s: a refused authorization left a device (%d, was %d)", name, n, before)
		}
	}
	// Expiry: usable up to the last instant before it, not at it.
	last := code.ExpiresAt.Add(-time.Nanosecond)
	_, err = s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_last", pairgate.AuthByAuthorizationCode, code.ID, "", last), browserSession(last))
	must(t, err)
	refused("expired", code.ID, code.ExpiresAt)
	refused("unknown", "ac_never_existed", t0)
	never := mkCode(t, s, pairgate.TTLNever, t0)
	must(t, s.DeleteAuthorizationCode(ctx(t), never.ID))
	refused("deleted", never.ID, t0)
	// Re-authorizing a known browser with a deleted code changes nothing
	// about it, and its session stays.
	_, err = s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_portal", pairgate.AuthByAuthorizationCode, never.ID, "", t0.Add(2*time.Minute)), browserSession(t0))
	wantCode(t, err, pairgate.EINVALIDGRANT)
	if got, err := s.GetSession(ctx(t), sess.IDHash, t0.Add(2*time.Minute)); err != nil || got.DeviceID != dev.ID {
		t.Fatalf("a refused re-authorization ended the browser's session: %+v %v", got, err)
	}
}

// testAuthorizeBrowserRace: one browser authorized many times at once (a
// double-clicked form, two tabs) is one device with exactly one live
// device session.
func testAuthorizeBrowserRace(t *testing.T, s pairgate.Store) {
	c := mkBrowserClient(t, s)
	const n = 16
	var wg sync.WaitGroup
	sessions := make([]*pairgate.Session, n)
	devs := make([]*pairgate.Device, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			sessions[i] = browserSession(t0)
			devs[i], errs[i] = s.AuthorizeBrowser(ctx(t), browserDevice(c, "br_race", pairgate.AuthByAdminSignIn, "", "usr_admin", t0), sessions[i])
		}()
	}
	close(start)
	waitOrDump(t, &wg)
	live := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("authorization %d: %v", i, errs[i])
		}
		if devs[i].ID != devs[0].ID {
			t.Fatalf("concurrent authorizations of one browser made devices %s and %s", devs[0].ID, devs[i].ID)
		}
		if _, err := s.GetSession(ctx(t), sessions[i].IDHash, t0); err == nil {
			live++
		}
	}
	if live != 1 {
		t.Fatalf("%d live device sessions after %d concurrent authorizations, want exactly 1", live, n)
	}
	if got, _ := s.CountDevices(ctx(t)); got != 1 {
		t.Fatalf("devices = %d, want 1", got)
	}
}
