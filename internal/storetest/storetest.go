// Package storetest is the conformance suite every pairgate.Store backend
// runs. A backend's test hands Run a constructor for a fresh, empty store;
// the suite checks every operation, the transitions that must have a single
// winner under concurrency, expiry and revocation.
package storetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// Run runs the whole suite. newStore must return a fresh, empty store and
// arrange for it to be closed when the test ends.
func Run(t *testing.T, newStore func(t *testing.T) pairgate.Store) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s pairgate.Store)
	}{
		{"Clients", testClients},
		{"Users", testUsers},
		{"SetUserRole", testSetUserRole},
		{"LastAdminRemainsUnderConcurrency", testLastAdminUnderConcurrency},
		{"Sessions", testSessions},
		{"SignInUpstream", testSignInUpstream},
		{"SignInUpstreamCreatesOneAccountUnderConcurrency", testSignInUpstreamRace},
		{"UpstreamStates", testUpstreamStates},
		{"UpstreamStateIsTakenOnceUnderConcurrency", testUpstreamStateTakenOnce},
		{"ClientDeviceFlowPolicy", testClientDeviceFlowPolicy},
		{"DeviceAuthorizationLifecycle", testDeviceAuthorizationLifecycle},
		{"DeviceAuthorizationCodeCollision", testCodeCollision},
		{"DecisionsAreExclusive", testDecisionsExclusive},
		{"ExpiredAuthorizationCannotBeDecided", testExpiredDecision},
		{"RedeemExactlyOnceUnderConcurrency", testRedeemExactlyOnce},
		{"HardwareIDIsAClaimNotAnIdentity", testHardwareIDIsAClaim},
		{"KeyIsTheIdentity", testKeyIsTheIdentity},
		{"RedeemWithKeyBindsTheDevice", testRedeemBindsKey},
		{"DPoPProofUsedOnceUnderConcurrency", testDPoPProofOnce},
		{"RefreshRotation", testRefreshRotation},
		{"RefreshReuseRevokesFamily", testRefreshReuse},
		{"RefreshCheckRefusesFirst", testRefreshCheck},
		{"RefreshGraceWindow", testRefreshGrace},
		{"RefreshConcurrentRotationLeavesOneLiveToken", testRefreshConcurrent},
		{"RefreshGraceNeedsTheSameSuccessor", testRefreshGraceNeedsTheSameSuccessor},
		{"RefreshDuplicatesGetOneSuccessor", testRefreshDuplicatesGetOneSuccessor},
		{"RefreshExpiry", testRefreshExpiry},
		{"NewAuthorizationRevokesDevicesOtherFamilies", testReauthorizeRevokes},
		{"DeleteDeviceRevokesAtOnce", testDeleteDevice},
		{"DeleteClientCascades", testDeleteClient},
		{"DeleteUserRemovesUserModeDevices", testDeleteUser},
		{"ListDevicesSearchAndPaging", testListDevices},
		{"DeviceStates", testDeviceStates},
		{"ListDevicesByState", testListDevicesByState},
		{"RenameDevice", testRenameDevice},
		{"IdleDevicesExpire", testDevicesExpire},
		{"AccessTokenRevocation", testAccessTokenRevocation},
		{"SigningKeys", testSigningKeys},
		{"SigningKeyRacesHaveOneWinner", testSigningKeyRace},
		{"GarbageCollect", testGarbageCollect},
		{"AuditLog", testAuditLog},
		{"APIKeys", testAPIKeys},
		{"AuthorizationCodes", testAuthorizationCodes},
		{"AuthorizationCodeExpiryForEveryTTL", testAuthorizationCodeExpiry},
		{"AuthorizationCodeIsReusable", testAuthorizationCodeReusable},
		{"AuthorizationCodeSameHardwareIDIsOneDevice", testAuthorizationCodeSameHardware},
		{"DeletedAuthorizationCodeIssuesNothing", testDeletedAuthorizationCode},
		{"AuthorizationCodeDeletionRacesRedemption", testAuthorizationCodeDeleteRace},
		{"AuthorizeBrowser", testAuthorizeBrowser},
		{"AuthorizeBrowserWithCode", testAuthorizeBrowserWithCode},
		{"AuthorizeBrowserRaceLeavesOneSession", testAuthorizeBrowserRace},
		{"RateLimit", testRateLimit},
		{"RateLimitExactUnderConcurrency", testRateLimitConcurrent},
		{"RateLimitGarbageCollect", testRateLimitGarbageCollect},
		{"GarbageCollectInBatches", testGarbageCollectInBatches},
		{"RateLimitPeekAndReset", testRateLimitPeekAndReset},
		{"RateLimitRefund", testRateLimitRefund},
		{"TokenStatus", testTokenStatus},
		{"Inactivity", testInactivity},
		{"EphemeralDevices", testEphemeralDevices},
		{"CodeDevicesSignedOutTogether", testCodeDevices},
		{"DeviceCount", testDeviceCount},
		{"TouchDevices", testTouchDevices},
		{"Search", testSearch},
		{"InactivityOnReplicas", testInactivityReplicas},
		{"StatusIndexesUnderConcurrency", testStatusIndexesUnderConcurrency},
		{"Printers", testPrinters},
		{"Deployments", testDeployments},
		{"PrinterDeploymentTargets", testDeploymentTargets},
		{"PrinterDeleteLeavesDeployments", testDeletePrinterLeavesDeployments},
		{"PrinterDeleteRacesDeployment", testDeletePrinterRacesDeployment},
		{"HeldJobs", testHeldJobs},
		{"HeldJobQuota", testHeldJobQuota},
		{"HeldJobQuotaUnderConcurrency", testHeldJobQuotaUnderConcurrency},
		{"HeldJobClaimedOnceUnderConcurrency", testHeldJobClaimedOnce},
		{"HeldJobsExpire", testHeldJobsExpire},
		{"NonUTF8InputIsTheCallersError", testNonUTF8Input},
		{"PagesUpToMaxPageSizePlusOne", testPageLimit},
		{"Lockouts", testLockouts},
		{"UpdateClient", testUpdateClient},
		{"ListDevicesSortedByAnyColumn", testListDevicesSorted},
		{"ImportDevices", testImportDevices},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			tc.fn(t, newStore(t))
		})
	}
}

// t0 is a fixed clock: the suite never sleeps to reach an expiry.
var t0 = time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func rnd(n int) []byte {
	b := make([]byte, n)
	rand.Read(b)
	return b
}

var idSeq struct {
	sync.Mutex
	n int
}

func id(prefix string) string {
	idSeq.Lock()
	defer idSeq.Unlock()
	idSeq.n++
	return fmt.Sprintf("%s%06d_%x", prefix, idSeq.n, rnd(4))
}

func wantCode(t *testing.T, err error, code string) {
	t.Helper()
	if got := pairgate.ErrorCode(err); got != code {
		t.Fatalf("error code = %q (%v), want %q", got, err, code)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func mkClient(t *testing.T, s pairgate.Store) *pairgate.Client {
	t.Helper()
	c := &pairgate.Client{ID: id("client-"), Name: "Print Client", Public: true,
		GrantTypes: pairgate.AllGrantTypes, Scopes: pairgate.ParseScopes("printing portal"), CreatedAt: t0}
	must(t, s.CreateClient(ctx(t), c))
	return c
}

func mkAuthz(t *testing.T, s pairgate.Store, c *pairgate.Client, hw string) *pairgate.DeviceAuthorization {
	t.Helper()
	a := &pairgate.DeviceAuthorization{
		ID: id("da_"), Kind: pairgate.KindDeviceCode, DeviceCodeHash: rnd(32), UserCodeHash: rnd(32),
		ClientID: c.ID, Scopes: pairgate.ParseScopes("printing"), Mode: pairgate.ModeDevice, HardwareID: hw,
		DeviceName: "Printer 1", RequestIP: "192.0.2.1", UserAgent: "test", CreatedAt: t0,
		ExpiresAt: t0.Add(10 * time.Minute), Interval: 5 * time.Second, State: pairgate.StatePending,
	}
	must(t, s.CreateDeviceAuthorization(ctx(t), a))
	return a
}

func deviceFor(a *pairgate.DeviceAuthorization, userID string, now time.Time) *pairgate.Device {
	return &pairgate.Device{ID: id("dev_"), ClientID: a.ClientID, Name: a.DeviceName, HardwareID: a.HardwareID,
		Mode: a.Mode, AuthMethod: pairgate.AuthByDeviceCode, UserID: userID, Scopes: a.Scopes,
		AuthorizedAt: now, LastSeenAt: now, LastIP: a.RequestIP, DPoPJKT: a.DPoPJKT}
}

func newToken(now time.Time) pairgate.NewRefreshToken {
	return pairgate.NewRefreshToken{Hash: rnd(32), IssuedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)}
}

func family(clientID, subject string, now time.Time) *pairgate.RefreshFamily {
	return &pairgate.RefreshFamily{ID: id("fam_"), ClientID: clientID, Subject: subject,
		Scopes: pairgate.ParseScopes("printing"), CreatedAt: now}
}

// issued authorizes a device in one step and returns it with its first
// refresh token hash.
func issued(t *testing.T, s pairgate.Store, c *pairgate.Client, hw string) (*pairgate.Device, *pairgate.RefreshFamily, []byte) {
	t.Helper()
	return issuedWithKey(t, s, c, hw, "")
}

// issuedWithKey is issued for a request that proved the key jkt ("" for
// none).
func issuedWithKey(t *testing.T, s pairgate.Store, c *pairgate.Client, hw, jkt string) (*pairgate.Device, *pairgate.RefreshFamily, []byte) {
	t.Helper()
	d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Kiosk", HardwareID: hw, Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, Scopes: pairgate.ParseScopes("printing"),
		AuthorizedAt: t0, LastSeenAt: t0, LastIP: "192.0.2.9", DPoPJKT: jkt}
	fam := family(c.ID, "", t0)
	fam.DPoPJKT = jkt
	tok := newToken(t0)
	dev, err := s.IssueRefreshFamily(ctx(t), d, fam, tok)
	must(t, err)
	if fam.DeviceID != dev.ID {
		t.Fatalf("family device = %q, want %q", fam.DeviceID, dev.ID)
	}
	return dev, fam, tok.Hash
}

func testClients(t *testing.T, s pairgate.Store) {
	c := &pairgate.Client{ID: "svc", Name: "Service", Public: false, SecretHash: rnd(32),
		GrantTypes: []string{pairgate.GrantRefreshToken}, Scopes: pairgate.ParseScopes("b a"), CreatedAt: t0}
	must(t, s.CreateClient(ctx(t), c))
	wantCode(t, s.CreateClient(ctx(t), c), pairgate.ECONFLICT)
	got, err := s.GetClient(ctx(t), "svc")
	must(t, err)
	if got.Name != "Service" || got.Public || !bytes.Equal(got.SecretHash, c.SecretHash) ||
		got.Scopes.String() != "a b" || !got.AllowsGrant(pairgate.GrantRefreshToken) || got.AllowsGrant(pairgate.GrantDeviceCode) ||
		!got.CreatedAt.Equal(t0) {
		t.Fatalf("client round trip: %+v", got)
	}
	pub := &pairgate.Client{ID: "pub", Name: "Public", Public: true, GrantTypes: pairgate.AllGrantTypes, CreatedAt: t0}
	must(t, s.CreateClient(ctx(t), pub))
	got, err = s.GetClient(ctx(t), "pub")
	must(t, err)
	if !got.Public || got.SecretHash != nil {
		t.Fatalf("public client round trip: %+v", got)
	}
	list, err := s.ListClients(ctx(t))
	must(t, err)
	if len(list) != 2 || list[0].ID != "pub" || list[1].ID != "svc" {
		t.Fatalf("list clients: %v", list)
	}
	_, err = s.GetClient(ctx(t), "nope")
	wantCode(t, err, pairgate.ENOTFOUND)
	must(t, s.DeleteClient(ctx(t), "svc", t0))
	wantCode(t, s.DeleteClient(ctx(t), "svc", t0), pairgate.ENOTFOUND)
}

func testUsers(t *testing.T, s pairgate.Store) {
	n, err := s.CountUsers(ctx(t))
	must(t, err)
	if n != 0 {
		t.Fatalf("fresh store has %d users", n)
	}
	u := &pairgate.User{ID: id("usr_"), Username: "alice", PasswordHash: "h1", Role: pairgate.RoleAdmin, CreatedAt: t0, PasswordChangedAt: t0}
	must(t, s.CreateUser(ctx(t), u))
	dup := *u
	dup.ID = id("usr_")
	wantCode(t, s.CreateUser(ctx(t), &dup), pairgate.ECONFLICT)
	must(t, s.CreateUser(ctx(t), &pairgate.User{ID: id("usr_"), Username: "bob", PasswordHash: "h2", Role: pairgate.RoleUser, CreatedAt: t0, PasswordChangedAt: t0}))
	got, err := s.GetUserByUsername(ctx(t), "alice")
	must(t, err)
	if got.ID != u.ID || got.Role != pairgate.RoleAdmin || got.PasswordHash != "h1" {
		t.Fatalf("user round trip: %+v", got)
	}
	_, err = s.GetUserByUsername(ctx(t), "carol")
	wantCode(t, err, pairgate.ENOTFOUND)
	later := t0.Add(time.Hour)
	must(t, s.SetUserPassword(ctx(t), u.ID, "h3", later))
	got, err = s.GetUser(ctx(t), u.ID)
	must(t, err)
	if got.PasswordHash != "h3" || !got.PasswordChangedAt.Equal(later) {
		t.Fatalf("password not changed: %+v", got)
	}
	wantCode(t, s.SetUserPassword(ctx(t), "usr_nope", "x", later), pairgate.ENOTFOUND)
	list, err := s.ListUsers(ctx(t))
	must(t, err)
	if len(list) != 2 || list[0].Username != "alice" || list[1].Username != "bob" {
		t.Fatalf("list users: %v", list)
	}
	// alice is the only admin: she stays until there is another.
	wantCode(t, s.DeleteUser(ctx(t), u.ID, t0), pairgate.ECONFLICT)
	must(t, s.SetUserRole(ctx(t), list[1].ID, pairgate.RoleAdmin, later))
	must(t, s.DeleteUser(ctx(t), u.ID, t0))
	wantCode(t, s.DeleteUser(ctx(t), u.ID, t0), pairgate.ENOTFOUND)
	if n, _ := s.CountUsers(ctx(t)); n != 1 {
		t.Fatalf("count after delete = %d", n)
	}
}

func testSessions(t *testing.T, s pairgate.Store) {
	u := &pairgate.User{ID: id("usr_"), Username: "sam", PasswordHash: "h", Role: pairgate.RoleUser, CreatedAt: t0, PasswordChangedAt: t0}
	must(t, s.CreateUser(ctx(t), u))
	mk := func(userID, deviceID string) *pairgate.Session {
		sess := &pairgate.Session{IDHash: rnd(32), UserID: userID, DeviceID: deviceID, CreatedAt: t0, LastSeenAt: t0,
			ExpiresAt: t0.Add(12 * time.Hour), IP: "192.0.2.7", UserAgent: "Chromium"}
		must(t, s.CreateSession(ctx(t), sess))
		return sess
	}
	plain := mk(u.ID, "")
	got, err := s.GetSession(ctx(t), plain.IDHash, t0.Add(time.Minute))
	must(t, err)
	if got.UserID != u.ID || got.IP != "192.0.2.7" || !got.ExpiresAt.Equal(plain.ExpiresAt) {
		t.Fatalf("session round trip: %+v", got)
	}
	must(t, s.TouchSession(ctx(t), plain.IDHash, t0.Add(time.Hour)))
	got, err = s.GetSession(ctx(t), plain.IDHash, t0.Add(time.Hour))
	must(t, err)
	if !got.LastSeenAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("touch: last seen %v", got.LastSeenAt)
	}
	_, err = s.GetSession(ctx(t), plain.IDHash, t0.Add(12*time.Hour))
	wantCode(t, err, pairgate.ENOTFOUND)

	// A password change signs the person out everywhere, but a browser that
	// is also an authorized device keeps its device authorization.
	c := mkClient(t, s)
	dev, _, _ := issued(t, s, c, "browser-1")
	both := mk(u.ID, dev.ID)
	must(t, s.SetUserPassword(ctx(t), u.ID, "h2", t0))
	_, err = s.GetSession(ctx(t), plain.IDHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)
	got, err = s.GetSession(ctx(t), both.IDHash, t0)
	must(t, err)
	if got.UserID != "" || got.DeviceID != dev.ID {
		t.Fatalf("device session after password change: %+v", got)
	}
	must(t, s.DeleteSession(ctx(t), both.IDHash))
	must(t, s.DeleteSession(ctx(t), both.IDHash))
	_, err = s.GetSession(ctx(t), both.IDHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)
}

func testDeviceAuthorizationLifecycle(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a := mkAuthz(t, s, c, "hw-1")
	got, err := s.GetDeviceAuthorizationByDeviceCode(ctx(t), a.DeviceCodeHash)
	must(t, err)
	if got.ID != a.ID || got.State != pairgate.StatePending || got.Interval != 5*time.Second ||
		!got.ExpiresAt.Equal(a.ExpiresAt) || got.Mode != pairgate.ModeDevice || got.Scopes.String() != "printing" ||
		got.HardwareID != "hw-1" || got.RequestIP != "192.0.2.1" {
		t.Fatalf("round trip: %+v", got)
	}
	got, err = s.GetDeviceAuthorizationByUserCode(ctx(t), a.UserCodeHash)
	must(t, err)
	if got.ID != a.ID {
		t.Fatalf("by user code: %+v", got)
	}
	polled, err := s.PollDeviceAuthorization(ctx(t), a.DeviceCodeHash)
	must(t, err)
	if polled.ID != a.ID || polled.Kind != a.Kind || polled.ClientID != c.ID || polled.State != pairgate.StatePending ||
		polled.Mode != a.Mode || polled.Scopes.String() != "printing" || !polled.ExpiresAt.Equal(a.ExpiresAt) ||
		polled.Interval != a.Interval || !bytes.Equal(polled.DeviceCodeHash, a.DeviceCodeHash) {
		t.Fatalf("poll view: %+v", polled)
	}
	_, err = s.PollDeviceAuthorization(ctx(t), a.UserCodeHash)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.GetDeviceAuthorizationByUserCode(ctx(t), a.DeviceCodeHash)
	wantCode(t, err, pairgate.ENOTFOUND)

	if n, err := s.CountPendingDeviceAuthorizations(ctx(t), t0); err != nil || n != 1 {
		t.Fatalf("pending = %d, %v; want 1", n, err)
	}
	if n, _ := s.CountPendingDeviceAuthorizations(ctx(t), a.ExpiresAt); n != 0 {
		t.Fatalf("expired grant counted as pending")
	}
	now := t0.Add(time.Minute)
	// Redeeming before approval must not work.
	_, err = s.RedeemDeviceAuthorization(ctx(t), a.ID, family(c.ID, "x", now), newToken(now), now)
	wantCode(t, err, pairgate.EINVALIDGRANT)

	approved, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, deviceFor(a, "usr_1", now), now)
	must(t, err)
	if p, _ := s.PollDeviceAuthorization(ctx(t), a.DeviceCodeHash); p.State != pairgate.StateApproved || p.UserID != "usr_1" || p.DeviceID != approved.DeviceID {
		t.Fatalf("poll view after approval: %+v", p)
	}
	if approved.State != pairgate.StateApproved || approved.UserID != "usr_1" || approved.DeviceID == "" || !approved.DecidedAt.Equal(now) {
		t.Fatalf("approved: %+v", approved)
	}
	dev, err := s.GetDevice(ctx(t), approved.DeviceID)
	must(t, err)
	if dev.ClientID != c.ID || dev.HardwareID != "hw-1" || dev.UserID != "usr_1" || dev.AuthMethod != pairgate.AuthByDeviceCode {
		t.Fatalf("device recorded at approval: %+v", dev)
	}
	fam := family(c.ID, dev.ID, now)
	tok := newToken(now)
	rdev, err := s.RedeemDeviceAuthorization(ctx(t), a.ID, fam, tok, now)
	must(t, err)
	if rdev.ID != dev.ID || fam.DeviceID != dev.ID {
		t.Fatalf("redeem returned device %q, family device %q, want %q", rdev.ID, fam.DeviceID, dev.ID)
	}
	if n, _ := s.CountPendingDeviceAuthorizations(ctx(t), now); n != 0 {
		t.Fatalf("redeemed grant counted as pending")
	}
	got, _ = s.GetDeviceAuthorizationByDeviceCode(ctx(t), a.DeviceCodeHash)
	if got.State != pairgate.StateRedeemed {
		t.Fatalf("state after redeem = %q", got.State)
	}
	_, err = s.RedeemDeviceAuthorization(ctx(t), a.ID, family(c.ID, dev.ID, now), newToken(now), now)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	f, live, err := s.LookupRefreshToken(ctx(t), tok.Hash, now)
	must(t, err)
	if !live || f.ID != fam.ID || f.Subject != dev.ID || f.DeviceID != dev.ID {
		t.Fatalf("lookup refresh after redeem: %+v live=%v", f, live)
	}

	// Denied grants cannot be redeemed.
	b := mkAuthz(t, s, c, "")
	must(t, s.DenyDeviceAuthorization(ctx(t), b.ID, "usr_1", now))
	got, _ = s.GetDeviceAuthorizationByDeviceCode(ctx(t), b.DeviceCodeHash)
	if got.State != pairgate.StateDenied || got.UserID != "usr_1" {
		t.Fatalf("denied: %+v", got)
	}
	_, err = s.RedeemDeviceAuthorization(ctx(t), b.ID, family(c.ID, "x", now), newToken(now), now)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	wantCode(t, s.DenyDeviceAuthorization(ctx(t), "da_nope", "usr_1", now), pairgate.ENOTFOUND)
	wantCode(t, s.CreateDeviceAuthorization(ctx(t), &pairgate.DeviceAuthorization{
		ID: id("da_"), Kind: pairgate.KindDeviceCode, DeviceCodeHash: rnd(32), UserCodeHash: rnd(32), ClientID: "no-such-client",
		Mode: pairgate.ModeUser, CreatedAt: t0, ExpiresAt: t0.Add(time.Minute), State: pairgate.StatePending,
	}), pairgate.ENOTFOUND)
}

func testCodeCollision(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a := mkAuthz(t, s, c, "")
	b := *a
	b.ID = id("da_")
	b.DeviceCodeHash = rnd(32)
	wantCode(t, s.CreateDeviceAuthorization(ctx(t), &b), pairgate.ECONFLICT)
	b.UserCodeHash = rnd(32)
	b.DeviceCodeHash = a.DeviceCodeHash
	wantCode(t, s.CreateDeviceAuthorization(ctx(t), &b), pairgate.ECONFLICT)
	b.DeviceCodeHash = rnd(32)
	must(t, s.CreateDeviceAuthorization(ctx(t), &b))
}

func testDecisionsExclusive(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a := mkAuthz(t, s, c, "")
	now := t0.Add(time.Minute)
	var wg sync.WaitGroup
	results := make([]error, 20)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if i%2 == 0 {
				_, results[i] = s.ApproveDeviceAuthorization(ctx(t), a.ID, deviceFor(a, "usr_a", now), now)
			} else {
				results[i] = s.DenyDeviceAuthorization(ctx(t), a.ID, "usr_b", now)
			}
		}()
	}
	waitOrDump(t, &wg)
	wins := 0
	for _, err := range results {
		if err == nil {
			wins++
		} else {
			wantCode(t, err, pairgate.ECONFLICT)
		}
	}
	if wins != 1 {
		t.Fatalf("%d decisions succeeded, want exactly 1", wins)
	}
	// A losing approval must not have left a device behind.
	n, err := s.CountDevices(ctx(t))
	must(t, err)
	got, _ := s.GetDeviceAuthorizationByDeviceCode(ctx(t), a.DeviceCodeHash)
	want := 0
	if got.State == pairgate.StateApproved {
		want = 1
	}
	if n != want {
		t.Fatalf("%d devices after state %s, want %d", n, got.State, want)
	}
}

func testExpiredDecision(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a := mkAuthz(t, s, c, "")
	late := a.ExpiresAt
	_, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, deviceFor(a, "u", late), late)
	wantCode(t, err, pairgate.EEXPIRED)
	wantCode(t, s.DenyDeviceAuthorization(ctx(t), a.ID, "u", late), pairgate.EEXPIRED)
	if n, _ := s.CountDevices(ctx(t)); n != 0 {
		t.Fatalf("expired approval left %d devices", n)
	}
	// Approved in time, redeemed too late.
	b := mkAuthz(t, s, c, "")
	_, err = s.ApproveDeviceAuthorization(ctx(t), b.ID, deviceFor(b, "u", t0), t0)
	must(t, err)
	_, err = s.RedeemDeviceAuthorization(ctx(t), b.ID, family(c.ID, "s", late), newToken(late), late)
	wantCode(t, err, pairgate.EINVALIDGRANT)
}

// waitOrDump waits for wg, failing with every goroutine's stack if that
// takes so long that something must be deadlocked.
func waitOrDump(t *testing.T, wg *sync.WaitGroup) {
	t.Helper()
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(45 * time.Second):
		buf := make([]byte, 1<<20)
		t.Fatalf("deadlock? goroutines:\n%s", buf[:runtime.Stack(buf, true)])
	}
}

func testRedeemExactlyOnce(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a := mkAuthz(t, s, c, "hw-race")
	now := t0.Add(time.Minute)
	_, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, deviceFor(a, "u", now), now)
	must(t, err)
	const n = 50
	var wg sync.WaitGroup
	errs := make([]error, n)
	toks := make([]pairgate.NewRefreshToken, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			toks[i] = newToken(now)
			_, errs[i] = s.RedeemDeviceAuthorization(ctx(t), a.ID, family(c.ID, "s", now), toks[i], now)
		}()
	}
	close(start)
	waitOrDump(t, &wg)
	wins := 0
	for i, err := range errs {
		_, live, lerr := s.LookupRefreshToken(ctx(t), toks[i].Hash, now)
		if err == nil {
			wins++
			if lerr != nil || !live {
				t.Errorf("winner's refresh token not live: %v", lerr)
			}
			continue
		}
		wantCode(t, err, pairgate.EINVALIDGRANT)
		wantCode(t, lerr, pairgate.ENOTFOUND)
	}
	if wins != 1 {
		t.Fatalf("%d of %d concurrent redemptions succeeded, want exactly 1", wins, n)
	}
}

func testRefreshRotation(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev, fam, tok := issued(t, s, c, "hw-rot")
	now := t0.Add(time.Hour)
	next := newToken(now)
	rot, err := s.RotateRefreshToken(ctx(t), tok, next, "198.51.100.4", now, 0, nil)
	must(t, err)
	if rot.Family.ID != fam.ID || rot.Family.Generation != 2 || rot.Grace || rot.Family.DeviceID != dev.ID {
		t.Fatalf("rotation: %+v", rot)
	}
	if touched, err := s.GetDevice(ctx(t), dev.ID); err != nil || touched.LastIP != "198.51.100.4" || !touched.LastSeenAt.Equal(now) {
		t.Fatalf("rotation did not touch the device: %+v, %v", touched, err)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, now); live {
		t.Fatal("old token still live after rotation")
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), next.Hash, now); !live {
		t.Fatal("new token not live after rotation")
	}
	third := newToken(now)
	rot, err = s.RotateRefreshToken(ctx(t), next.Hash, third, "", now, 0, nil)
	must(t, err)
	if rot.Family.Generation != 3 {
		t.Fatalf("generation = %d", rot.Family.Generation)
	}
	_, err = s.RotateRefreshToken(ctx(t), rnd(32), newToken(now), "", now, 0, nil)
	wantCode(t, err, pairgate.EINVALIDGRANT)
}

func testRefreshReuse(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, _, tok := issued(t, s, c, "hw-reuse")
	now := t0.Add(time.Hour)
	next := newToken(now)
	_, err := s.RotateRefreshToken(ctx(t), tok, next, "", now, 10*time.Second, nil)
	must(t, err)
	// Outside the grace window the old token is reuse.
	later := now.Add(time.Minute)
	_, err = s.RotateRefreshToken(ctx(t), tok, newToken(later), "", later, 10*time.Second, nil)
	wantCode(t, err, pairgate.EREUSEDETECTED)
	// The whole family is dead, including the token that was live.
	_, err = s.RotateRefreshToken(ctx(t), next.Hash, newToken(later), "", later, 10*time.Second, nil)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	if _, live, _ := s.LookupRefreshToken(ctx(t), next.Hash, later); live {
		t.Fatal("live token survived reuse detection")
	}
}

// testRefreshCheck: a rotation's check sees the token's family and, when it
// refuses, its error comes back unchanged and nothing changes — neither a
// rotation of the live token nor a revocation for a rotated-out one.
func testRefreshCheck(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, fam, tok := issued(t, s, c, "hw-check")
	refusal := pairgate.Errorf(pairgate.EINVALIDSCOPE, "not this family's request")
	var seen *pairgate.RefreshFamily
	refuse := func(f *pairgate.RefreshFamily) error { seen = f; return refusal }
	now := t0.Add(time.Hour)
	next := newToken(now)
	_, err := s.RotateRefreshToken(ctx(t), tok, next, "", now, 10*time.Second, refuse)
	if err != refusal {
		t.Fatalf("a refused rotation: %v, want the check's error", err)
	}
	if seen == nil || seen.ID != fam.ID || seen.ClientID != c.ID || seen.DeviceID == "" || seen.Scopes.String() != fam.Scopes.String() {
		t.Fatalf("the check saw %+v, want family %+v", seen, fam)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, now); !live {
		t.Fatal("a refused rotation rotated the token")
	}
	// Rotated for real, the old token presented again after grace is
	// reuse; refused by the check, it revokes nothing.
	_, err = s.RotateRefreshToken(ctx(t), tok, next, "", now, 10*time.Second, func(*pairgate.RefreshFamily) error { return nil })
	must(t, err)
	later := now.Add(time.Minute)
	seen = nil
	_, err = s.RotateRefreshToken(ctx(t), tok, newToken(later), "", later, 10*time.Second, refuse)
	if err != refusal || seen == nil || seen.ID != fam.ID {
		t.Fatalf("a refused replay: %v (saw %+v), want the check's error", err, seen)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), next.Hash, later); !live {
		t.Fatal("a replay refused by the check revoked the family")
	}
	// Unknown tokens never reach the check.
	seen = nil
	_, err = s.RotateRefreshToken(ctx(t), rnd(32), newToken(later), "", later, 10*time.Second, refuse)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	if seen != nil {
		t.Fatal("the check ran for an unknown token")
	}
}

// again is the same successor as next, presented by a later duplicate of
// the same refresh: the same hash (the caller derives it from the token),
// times of its own.
func again(next pairgate.NewRefreshToken, now time.Time) pairgate.NewRefreshToken {
	return pairgate.NewRefreshToken{Hash: next.Hash, IssuedAt: now, ExpiresAt: now.Add(90 * 24 * time.Hour)}
}

func testRefreshGrace(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, fam, tok := issued(t, s, c, "hw-grace")
	now := t0.Add(time.Hour)
	next := newToken(now)
	_, err := s.RotateRefreshToken(ctx(t), tok, next, "", now, 10*time.Second, nil)
	must(t, err)
	// The response carrying next never arrived; the client retries with
	// the same token, twice, and gets the same successor each time.
	for _, d := range []time.Duration{3 * time.Second, 9 * time.Second} {
		retry := now.Add(d)
		rot, err := s.RotateRefreshToken(ctx(t), tok, again(next, retry), "", retry, 10*time.Second, nil)
		must(t, err)
		if !rot.Grace || rot.Family.ID != fam.ID || rot.Family.Generation != 2 || rot.Family.DeviceID == "" {
			t.Fatalf("retry after %v: %+v", d, rot)
		}
		if _, live, _ := s.LookupRefreshToken(ctx(t), next.Hash, retry); !live {
			t.Fatalf("retry after %v: the successor is no longer live", d)
		}
		if _, live, _ := s.LookupRefreshToken(ctx(t), tok, retry); live {
			t.Fatalf("retry after %v: the retried token is live again", d)
		}
	}
	// The successor rotates normally.
	later := now.Add(5 * time.Second)
	third := newToken(later)
	rot, err := s.RotateRefreshToken(ctx(t), next.Hash, third, "", later, 10*time.Second, nil)
	must(t, err)
	if rot.Grace || rot.Family.Generation != 3 {
		t.Fatalf("rotating the successor: %+v", rot)
	}
	// The first token is two generations back now: reuse, even within
	// the window, and the family dies.
	_, err = s.RotateRefreshToken(ctx(t), tok, again(next, later), "", later, 10*time.Second, nil)
	wantCode(t, err, pairgate.EREUSEDETECTED)
	if _, live, _ := s.LookupRefreshToken(ctx(t), third.Hash, later); live {
		t.Fatal("the live token survived reuse detection")
	}
}

// testRefreshGraceNeedsTheSameSuccessor: within the window, a rotated-out
// token presented with another successor than the one it was rotated to is
// not a duplicate of that refresh: reuse.
func testRefreshGraceNeedsTheSameSuccessor(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, _, tok := issued(t, s, c, "hw-grace-other")
	now := t0.Add(time.Hour)
	next := newToken(now)
	_, err := s.RotateRefreshToken(ctx(t), tok, next, "", now, 10*time.Second, nil)
	must(t, err)
	_, err = s.RotateRefreshToken(ctx(t), tok, newToken(now), "", now.Add(time.Second), 10*time.Second, nil)
	wantCode(t, err, pairgate.EREUSEDETECTED)
	if _, live, _ := s.LookupRefreshToken(ctx(t), next.Hash, now); live {
		t.Fatal("the successor survived reuse detection")
	}
}

// testRefreshDuplicatesGetOneSuccessor: 20 concurrent refreshes of one
// token, each presenting the successor derived from it, all succeed with
// that one successor, and the family stays alive with exactly it live
// (issue 11, case 2: on PostgreSQL, duplicates used to revoke the family).
func testRefreshDuplicatesGetOneSuccessor(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, fam, tok := issued(t, s, c, "hw-dup")
	now := t0.Add(time.Hour)
	next := newToken(now)
	const n = 20
	var wg sync.WaitGroup
	rots := make([]*pairgate.Rotation, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			rots[i], errs[i] = s.RotateRefreshToken(ctx(t), tok, again(next, now), "", now, 30*time.Second, nil)
		}()
	}
	close(start)
	waitOrDump(t, &wg)
	first := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("duplicate %d of %d failed: %v", i, n, errs[i])
		}
		if rots[i].Family.ID != fam.ID || rots[i].Family.Generation != 2 || rots[i].Family.DeviceID == "" {
			t.Fatalf("duplicate %d: %+v", i, rots[i])
		}
		if !rots[i].Grace {
			first++
		}
	}
	if first != 1 {
		t.Fatalf("%d of %d duplicates rotated the token, want exactly 1", first, n)
	}
	f, live, err := s.LookupRefreshToken(ctx(t), next.Hash, now)
	must(t, err)
	if !live || !f.RevokedAt.IsZero() || f.Generation != 2 {
		t.Fatalf("after the duplicates: successor live=%v, family %+v", live, f)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, now); live {
		t.Fatal("the rotated token is still live")
	}
	// The successor rotates on.
	rot, err := s.RotateRefreshToken(ctx(t), next.Hash, newToken(now), "", now.Add(time.Minute), 30*time.Second, nil)
	must(t, err)
	if rot.Family.Generation != 3 {
		t.Fatalf("next rotation: %+v", rot)
	}
}

func testRefreshConcurrent(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, fam, tok := issued(t, s, c, "hw-conc")
	now := t0.Add(time.Hour)
	const n = 20
	var wg sync.WaitGroup
	nexts := make([]pairgate.NewRefreshToken, n)
	errs := make([]error, n)
	start := make(chan struct{})
	for i := range n {
		nexts[i] = newToken(now)
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, errs[i] = s.RotateRefreshToken(ctx(t), tok, nexts[i], "", now, 0, nil)
		}()
	}
	close(start)
	waitOrDump(t, &wg)
	live, ok := 0, 0
	for i := range n {
		if errs[i] == nil {
			ok++
		} else if c := pairgate.ErrorCode(errs[i]); c != pairgate.EREUSEDETECTED && c != pairgate.EINVALIDGRANT {
			t.Fatalf("unexpected error: %v", errs[i])
		}
		if _, l, _ := s.LookupRefreshToken(ctx(t), nexts[i].Hash, now); l {
			live++
		}
	}
	// With no grace window, one rotation wins and the others are reuse,
	// which revokes the family: no token may be left live.
	if ok != 1 || live != 0 {
		t.Fatalf("%d rotations succeeded, %d tokens live; want 1 and 0 (reuse revokes the family %s)", ok, live, fam.ID)
	}
}

func testRefreshExpiry(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, _, tok := issued(t, s, c, "hw-exp")
	late := t0.Add(90 * 24 * time.Hour)
	_, err := s.RotateRefreshToken(ctx(t), tok, newToken(late), "", late, 0, nil)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, late); live {
		t.Fatal("expired token reported live")
	}
}

func testReauthorizeRevokes(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	_, _, first := issuedWithKey(t, s, c, "hw-re", "jkt-re")
	_, _, second := issuedWithKey(t, s, c, "hw-re", "jkt-re")
	if _, live, _ := s.LookupRefreshToken(ctx(t), first, t0); live {
		t.Fatal("the device's previous family survived a new authorization")
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), second, t0); !live {
		t.Fatal("the new family is not live")
	}
}

func testDeleteDevice(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev, _, tok := issued(t, s, c, "hw-del")
	sess := &pairgate.Session{IDHash: rnd(32), DeviceID: dev.ID, CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx(t), sess))
	must(t, s.DeleteDevice(ctx(t), dev.ID, t0))
	_, err := s.GetDevice(ctx(t), dev.ID)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.RotateRefreshToken(ctx(t), tok, newToken(t0), "", t0, time.Minute, nil)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	_, err = s.GetSession(ctx(t), sess.IDHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)
	wantCode(t, s.DeleteDevice(ctx(t), dev.ID, t0), pairgate.ENOTFOUND)
	touch(t, s, dev.ID, "x", t0) // no-op, no error

	// A device deleted between approval and redemption gets no tokens.
	a := mkAuthz(t, s, c, "")
	ap, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, deviceFor(a, "u", t0), t0)
	must(t, err)
	must(t, s.DeleteDevice(ctx(t), ap.DeviceID, t0))
	_, err = s.RedeemDeviceAuthorization(ctx(t), a.ID, family(c.ID, "s", t0), newToken(t0), t0)
	wantCode(t, err, pairgate.EINVALIDGRANT)
}

// touch records one request of device id.
func touch(t *testing.T, s pairgate.Store, id, ip string, at time.Time) {
	t.Helper()
	must(t, s.TouchDevices(ctx(t), []pairgate.DeviceSeen{{ID: id, IP: ip, At: at}}))
}

// testTouchDevices: a batch of touches, larger than one transaction of
// them (100 in sqlstore), records each device's time and address; an
// older touch never moves a device back; unknown devices are skipped; two
// batches of the same devices in opposite orders at once both finish.
func testTouchDevices(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	var seen []pairgate.DeviceSeen
	var ids []string
	for i := range 130 {
		d, _, _ := issued(t, s, c, fmt.Sprintf("hw-touch-%d", i))
		ids = append(ids, d.ID)
		seen = append(seen, pairgate.DeviceSeen{ID: d.ID, IP: fmt.Sprintf("198.51.100.%d", i), At: t0.Add(time.Duration(i) * time.Second)})
	}
	seen = append(seen, pairgate.DeviceSeen{ID: "dev_unknown", IP: "192.0.2.1", At: t0})
	must(t, s.TouchDevices(ctx(t), seen))
	for i, id := range ids {
		d, err := s.GetDevice(ctx(t), id)
		must(t, err)
		if !d.LastSeenAt.Equal(seen[i].At) || d.LastIP != seen[i].IP {
			t.Fatalf("device %d after its touch: seen %v from %s, want %v from %s", i, d.LastSeenAt, d.LastIP, seen[i].At, seen[i].IP)
		}
	}
	// A late write of an earlier request changes nothing.
	touch(t, s, ids[7], "203.0.113.9", t0)
	if d, _ := s.GetDevice(ctx(t), ids[7]); d.LastIP != seen[7].IP || !d.LastSeenAt.Equal(seen[7].At) {
		t.Fatalf("an older touch moved the device back: %+v", d)
	}
	later := t0.Add(time.Hour)
	var fwd, back []pairgate.DeviceSeen
	for i, id := range ids {
		fwd = append(fwd, pairgate.DeviceSeen{ID: id, IP: "192.0.2.50", At: later})
		back = append(back, pairgate.DeviceSeen{ID: ids[len(ids)-1-i], IP: "192.0.2.51", At: later})
	}
	errs := make(chan error, 2)
	go func() { errs <- s.TouchDevices(ctx(t), fwd) }()
	go func() { errs <- s.TouchDevices(ctx(t), back) }()
	must(t, <-errs)
	must(t, <-errs)
	for _, id := range ids {
		if d, _ := s.GetDevice(ctx(t), id); !d.LastSeenAt.Equal(later) {
			t.Fatalf("after two batches at once: %+v", d)
		}
	}
}

func testDeleteClient(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev, _, tok := issued(t, s, c, "hw-c")
	a := mkAuthz(t, s, c, "")
	must(t, s.DeleteClient(ctx(t), c.ID, t0))
	_, err := s.GetDevice(ctx(t), dev.ID)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.GetDeviceAuthorizationByDeviceCode(ctx(t), a.DeviceCodeHash)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, _, err = s.LookupRefreshToken(ctx(t), tok, t0)
	wantCode(t, err, pairgate.ENOTFOUND)
}

func testDeleteUser(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	u := &pairgate.User{ID: id("usr_"), Username: "dana", PasswordHash: "h", Role: pairgate.RoleUser, CreatedAt: t0, PasswordChangedAt: t0}
	must(t, s.CreateUser(ctx(t), u))
	approveAs := func(mode pairgate.Mode) string {
		a := mkAuthz(t, s, c, "")
		d := deviceFor(a, u.ID, t0)
		d.Mode = mode
		ap, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, d, t0)
		must(t, err)
		return ap.DeviceID
	}
	userMode := approveAs(pairgate.ModeUser)
	deviceMode := approveAs(pairgate.ModeDevice)
	must(t, s.DeleteUser(ctx(t), u.ID, t0))
	_, err := s.GetDevice(ctx(t), userMode)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.GetDevice(ctx(t), deviceMode)
	must(t, err)
}

func testListDevices(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	var ids []string
	for i := range 25 {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_%03d", i), ClientID: c.ID, Name: fmt.Sprintf("Printer %d", i),
			HardwareID: fmt.Sprintf("HW-%03d", i), Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode,
			AuthorizedAt: t0, LastSeenAt: t0}
		_, err := s.IssueRefreshFamily(ctx(t), d, family(c.ID, d.ID, t0), newToken(t0))
		must(t, err)
		ids = append(ids, d.ID)
	}
	var got []string
	after := ""
	for {
		page, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{After: after, Limit: 10})
		must(t, err)
		for _, d := range page {
			got = append(got, d.ID)
		}
		if len(page) < 10 {
			break
		}
		after = page[len(page)-1].ID
	}
	if fmt.Sprint(got) != fmt.Sprint(ids) {
		t.Fatalf("paging: %v", got)
	}
	found, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: "hw-01"})
	must(t, err)
	if len(found) != 10 { // HW-010 … HW-019, case-insensitively
		t.Fatalf("search hw-01 found %d", len(found))
	}
	found, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: "printer 7"})
	must(t, err)
	if len(found) != 1 || found[0].ID != "dev_007" {
		t.Fatalf("search by name: %v", found)
	}
	// LIKE wildcards in the search are literal.
	found, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: "%"})
	must(t, err)
	if len(found) != 0 {
		t.Fatalf("search %% matched %d devices", len(found))
	}
	if n, _ := s.CountDevices(ctx(t)); n != 25 {
		t.Fatalf("count = %d", n)
	}
}

func testAccessTokenRevocation(t *testing.T, s pairgate.Store) {
	revoked, err := s.AccessTokenRevoked(ctx(t), "jti-1")
	must(t, err)
	if revoked {
		t.Fatal("fresh jti reported revoked")
	}
	must(t, s.RevokeAccessToken(ctx(t), "jti-1", t0.Add(time.Hour)))
	must(t, s.RevokeAccessToken(ctx(t), "jti-1", t0.Add(time.Hour)))
	if revoked, _ = s.AccessTokenRevoked(ctx(t), "jti-1"); !revoked {
		t.Fatal("revoked jti not reported")
	}
}

func mkKey(now time.Time) *pairgate.SigningKey {
	return &pairgate.SigningKey{ID: id("key-"), Algorithm: "RS256", SealedPrivate: rnd(64), PublicJWK: []byte(`{"kty":"RSA"}`), CreatedAt: now}
}

func testSigningKeys(t *testing.T, s pairgate.Store) {
	keys, err := s.ListSigningKeys(ctx(t), t0)
	must(t, err)
	if len(keys) != 0 {
		t.Fatalf("fresh store has keys")
	}
	k1 := mkKey(t0)
	created, err := s.CreateFirstSigningKey(ctx(t), k1)
	must(t, err)
	if !created {
		t.Fatal("first key not created")
	}
	created, err = s.CreateFirstSigningKey(ctx(t), mkKey(t0))
	must(t, err)
	if created {
		t.Fatal("second first key created")
	}
	k2 := mkKey(t0.Add(time.Hour))
	must(t, s.RotateSigningKey(ctx(t), k1.ID, t0.Add(3*time.Hour), k2))
	wantCode(t, s.RotateSigningKey(ctx(t), k1.ID, t0.Add(3*time.Hour), mkKey(t0)), pairgate.ECONFLICT)
	keys, err = s.ListSigningKeys(ctx(t), t0.Add(2*time.Hour))
	must(t, err)
	if len(keys) != 2 || keys[0].ID != k2.ID || !keys[0].RetiredAt.IsZero() || keys[1].ID != k1.ID ||
		!keys[1].ExpiresAt.Equal(t0.Add(3*time.Hour)) || !bytes.Equal(keys[1].SealedPrivate, k1.SealedPrivate) {
		t.Fatalf("keys after rotation: %+v", keys)
	}
	keys, err = s.ListSigningKeys(ctx(t), t0.Add(3*time.Hour))
	must(t, err)
	if len(keys) != 1 || keys[0].ID != k2.ID {
		t.Fatalf("retired key still listed after it expired: %+v", keys)
	}
}

func testSigningKeyRace(t *testing.T, s pairgate.Store) {
	var wg sync.WaitGroup
	var mu sync.Mutex
	wins := 0
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.CreateFirstSigningKey(ctx(t), mkKey(t0))
			if err != nil {
				t.Error(err)
			}
			if ok {
				mu.Lock()
				wins++
				mu.Unlock()
			}
		}()
	}
	waitOrDump(t, &wg)
	if wins != 1 {
		t.Fatalf("%d replicas created the first key", wins)
	}
	keys, _ := s.ListSigningKeys(ctx(t), t0)
	cur := keys[0].ID
	errs := make([]error, 8)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			errs[i] = s.RotateSigningKey(ctx(t), cur, t0.Add(time.Hour), mkKey(t0.Add(time.Minute)))
		}()
	}
	waitOrDump(t, &wg)
	ok := 0
	for _, err := range errs {
		if err == nil {
			ok++
		} else {
			wantCode(t, err, pairgate.ECONFLICT)
		}
	}
	keys, _ = s.ListSigningKeys(ctx(t), t0)
	current := 0
	for _, k := range keys {
		if k.RetiredAt.IsZero() {
			current++
		}
	}
	if ok != 1 || current != 1 {
		t.Fatalf("%d rotations succeeded, %d current keys; want 1 and 1", ok, current)
	}
}

func testGarbageCollect(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	a := mkAuthz(t, s, c, "")
	_, _, tok := issued(t, s, c, "hw-gc")
	must(t, s.RevokeAccessToken(ctx(t), "jti-gc", t0.Add(time.Hour)))
	sess := &pairgate.Session{IDHash: rnd(32), CreatedAt: t0, LastSeenAt: t0, ExpiresAt: t0.Add(time.Hour)}
	must(t, s.CreateSession(ctx(t), sess))

	// Nothing has expired yet: nothing goes.
	r, err := s.GarbageCollect(ctx(t), t0.Add(time.Minute))
	must(t, err)
	if r.Total() != 0 {
		t.Fatalf("GC before expiry deleted %+v", r)
	}
	// Just past the grant's expiry it is kept, to answer expired_token.
	r, err = s.GarbageCollect(ctx(t), a.ExpiresAt.Add(time.Minute))
	must(t, err)
	if r.DeviceAuthorizations != 0 {
		t.Fatalf("expired grant deleted before its retention ended")
	}
	far := t0.Add(100 * 24 * time.Hour)
	// Run on several "replicas" at once: all succeed, rows go once.
	var wg sync.WaitGroup
	results := make([]pairgate.GCResult, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			results[i], err = s.GarbageCollect(ctx(t), far)
			if err != nil {
				t.Error(err)
			}
		}()
	}
	waitOrDump(t, &wg)
	var total pairgate.GCResult
	for _, r := range results {
		total.DeviceAuthorizations += r.DeviceAuthorizations
		total.RefreshTokens += r.RefreshTokens
		total.RefreshFamilies += r.RefreshFamilies
		total.RevokedAccessTokens += r.RevokedAccessTokens
		total.Sessions += r.Sessions
	}
	if total.DeviceAuthorizations != 1 || total.RefreshTokens != 1 || total.RefreshFamilies != 1 || total.RevokedAccessTokens != 1 || total.Sessions != 1 {
		t.Fatalf("concurrent GC deleted %+v", total)
	}
	_, err = s.GetDeviceAuthorizationByDeviceCode(ctx(t), a.DeviceCodeHash)
	wantCode(t, err, pairgate.ENOTFOUND)
	_, _, err = s.LookupRefreshToken(ctx(t), tok, far)
	wantCode(t, err, pairgate.ENOTFOUND)
	if revoked, _ := s.AccessTokenRevoked(ctx(t), "jti-gc"); revoked {
		t.Fatal("expired revocation kept")
	}
}

func testAuditLog(t *testing.T, s pairgate.Store) {
	actions := []string{pairgate.AuditSignInSucceeded, pairgate.AuditSignInFailed, pairgate.AuditDeviceAuthorized, pairgate.AuditCodeGenerated}
	var all []string
	for i := range 30 {
		at := t0.Add(time.Duration(i) * time.Minute)
		e := &pairgate.AuditEvent{ID: fmt.Sprintf("ev_%03d", i), Time: at, Action: actions[i%4], ActorType: pairgate.ActorUser,
			ActorID: fmt.Sprintf("usr_%d", i%3), ActorName: "alice", Target: fmt.Sprintf("dev_%d", i%5), IP: "192.0.2.1",
			Details: map[string]string{"n": fmt.Sprint(i)}}
		must(t, s.AppendAuditEvent(ctx(t), e))
		all = append(all, e.ID)
	}
	wantCode(t, s.AppendAuditEvent(ctx(t), &pairgate.AuditEvent{ID: "ev_000", Time: t0, Action: "x"}), pairgate.EINTERNAL)
	got, err := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Limit: 5})
	must(t, err)
	if len(got) != 5 || got[0].ID != "ev_029" || got[4].ID != "ev_025" {
		t.Fatalf("newest first: %v", ids(got))
	}
	if got[0].Details["n"] != "29" || got[0].ActorName != "alice" || !got[0].Time.Equal(t0.Add(29*time.Minute)) {
		t.Fatalf("round trip: %+v", got[0])
	}
	// Paging with the cursor walks the whole log once.
	var seen []string
	before := ""
	for {
		page, err := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Before: before, Limit: 7})
		must(t, err)
		for _, e := range page {
			seen = append(seen, e.ID)
		}
		if len(page) < 7 {
			break
		}
		before = page[len(page)-1].ID
	}
	if len(seen) != 30 || seen[0] != "ev_029" || seen[29] != "ev_000" {
		t.Fatalf("paging: %v", seen)
	}
	byPrefix, err := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Action: "signin."})
	must(t, err)
	if len(byPrefix) != 16 {
		t.Fatalf("signin.* = %d events, want 16", len(byPrefix))
	}
	exact, _ := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Action: pairgate.AuditSignInFailed})
	actor, _ := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{ActorID: "usr_1"})
	target, _ := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Target: "dev_2", Since: t0.Add(10 * time.Minute), Until: t0.Add(20 * time.Minute)})
	if len(exact) != 8 || len(actor) != 10 || len(target) != 2 {
		t.Fatalf("filters: exact %d, actor %d, target+time %v", len(exact), len(actor), ids(target))
	}
	// The log keeps events for the retention, then lets them go.
	r, err := s.GarbageCollect(ctx(t), t0.Add(pairgate.AuditRetention).Add(15*time.Minute))
	must(t, err)
	if r.AuditEvents != 16 {
		t.Fatalf("GC removed %d audit events, want the 16 older than the retention", r.AuditEvents)
	}
}

func ids(es []*pairgate.AuditEvent) []string {
	var out []string
	for _, e := range es {
		out = append(out, e.ID)
	}
	return out
}

func testAPIKeys(t *testing.T, s pairgate.Store) {
	admin := &pairgate.User{ID: id("usr_"), Username: "root", PasswordHash: "h", Role: pairgate.RoleAdmin, CreatedAt: t0, PasswordChangedAt: t0}
	plain := &pairgate.User{ID: id("usr_"), Username: "pat", PasswordHash: "h", Role: pairgate.RoleUser, CreatedAt: t0, PasswordChangedAt: t0}
	must(t, s.CreateUser(ctx(t), admin))
	must(t, s.CreateUser(ctx(t), plain))
	k1 := &pairgate.APIKey{ID: "key_1", Name: "install script", KeyHash: rnd(32), Scopes: pairgate.Scopes{"codes:write", "read"},
		CreatedBy: admin.ID, CreatedAt: t0}
	k2 := &pairgate.APIKey{ID: "key_2", Name: "ci", KeyHash: rnd(32), Scopes: pairgate.Scopes{"read"}, CreatedBy: admin.ID, CreatedAt: t0.Add(time.Minute)}
	must(t, s.CreateAPIKey(ctx(t), k1))
	must(t, s.CreateAPIKey(ctx(t), k2))
	dup := *k1
	dup.ID = "key_3"
	wantCode(t, s.CreateAPIKey(ctx(t), &dup), pairgate.ECONFLICT)
	got, err := s.GetAPIKeyByHash(ctx(t), k1.KeyHash)
	must(t, err)
	if got.ID != "key_1" || got.Name != "install script" || got.CreatedBy != admin.ID || !got.LastUsedAt.IsZero() ||
		got.Scopes.String() != "codes:write read" || got.OwnerRole != pairgate.RoleAdmin || got.OwnerName != "root" {
		t.Fatalf("round trip: %+v", got)
	}
	must(t, s.TouchAPIKey(ctx(t), "key_1", t0.Add(time.Hour)))
	got, _ = s.GetAPIKeyByHash(ctx(t), k1.KeyHash)
	if !got.LastUsedAt.Equal(t0.Add(time.Hour)) {
		t.Fatalf("last used: %v", got.LastUsedAt)
	}
	list, err := s.ListAPIKeys(ctx(t))
	must(t, err)
	if len(list) != 2 || list[0].ID != "key_2" {
		t.Fatalf("list: %v", list)
	}
	must(t, s.DeleteAPIKey(ctx(t), "key_2"))
	wantCode(t, s.DeleteAPIKey(ctx(t), "key_2"), pairgate.ENOTFOUND)
	_, err = s.GetAPIKeyByHash(ctx(t), k2.KeyHash)
	wantCode(t, err, pairgate.ENOTFOUND)
	// A key made by someone who is not an admin comes with its owner's
	// role, which bounds what it reaches.
	k4 := &pairgate.APIKey{ID: "key_4", Name: "x", KeyHash: rnd(32), Scopes: pairgate.Scopes{"read"}, CreatedBy: plain.ID, CreatedAt: t0}
	must(t, s.CreateAPIKey(ctx(t), k4))
	got, err = s.GetAPIKeyByHash(ctx(t), k4.KeyHash)
	must(t, err)
	if got.OwnerRole != pairgate.RoleUser || got.OwnerName != "pat" {
		t.Fatalf("owner of a user's key: %q %q", got.OwnerRole, got.OwnerName)
	}
	// The owner's current role comes with the key: a demotion bounds it at
	// once. A deleted owner's key opens nothing.
	must(t, s.SetUserRole(ctx(t), plain.ID, pairgate.RoleAdmin, t0))
	must(t, s.SetUserRole(ctx(t), admin.ID, pairgate.RoleDeviceManager, t0))
	got, err = s.GetAPIKeyByHash(ctx(t), k1.KeyHash)
	must(t, err)
	if got.OwnerRole != pairgate.RoleDeviceManager {
		t.Fatalf("the key of a demoted owner carries role %q", got.OwnerRole)
	}
	must(t, s.DeleteUser(ctx(t), admin.ID, t0))
	_, err = s.GetAPIKeyByHash(ctx(t), k1.KeyHash)
	wantCode(t, err, pairgate.ENOTFOUND)
}
