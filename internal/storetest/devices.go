package storetest

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func wantState(t *testing.T, s pairgate.Store, deviceID, state string, changed time.Time) *pairgate.Device {
	t.Helper()
	d, err := s.GetDevice(ctx(t), deviceID)
	must(t, err)
	if d.State != state || !d.StateChangedAt.Equal(changed) {
		t.Fatalf("device %s: state %q since %v, want %q since %v", deviceID, d.State, d.StateChangedAt, state, changed)
	}
	return d
}

// testDeviceStates: every authorization makes its family the device's live
// one and the device active; revoking that family signs the device out or
// marks it revoked, in the same transaction; revoking a superseded family
// changes nothing (issue 11, case 6).
func testDeviceStates(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev, fam, tok := issuedWithKey(t, s, c, "hw-state", "jkt-state")
	if dev.State != pairgate.DeviceActive || dev.FamilyID != fam.ID || !dev.StateChangedAt.Equal(t0) {
		t.Fatalf("issued device: %+v, family %s", dev, fam.ID)
	}
	wantState(t, s, dev.ID, pairgate.DeviceActive, t0)

	// Rotation keeps the family.
	now := t0.Add(time.Hour)
	next := newToken(now)
	rot, err := s.RotateRefreshToken(ctx(t), tok, next, "", now, 0, nil)
	must(t, err)
	after, err := s.GetDevice(ctx(t), rot.Family.DeviceID)
	must(t, err)
	if rot.Family.ID != fam.ID || after.ID != dev.ID || after.FamilyID != fam.ID || after.State != pairgate.DeviceActive {
		t.Fatalf("device after rotation: %+v, family %+v", after, rot.Family)
	}

	// RFC 7009: the device signed out.
	out := now.Add(time.Minute)
	wantCode(t, s.RevokeRefreshFamily(ctx(t), fam.ID, out, pairgate.DeviceActive), pairgate.EINVALID)
	wantCode(t, s.RevokeRefreshFamily(ctx(t), fam.ID, out, ""), pairgate.EINVALID)
	wantState(t, s, dev.ID, pairgate.DeviceActive, t0)
	must(t, s.RevokeRefreshFamily(ctx(t), fam.ID, out, pairgate.DeviceSignedOut))
	wantState(t, s, dev.ID, pairgate.DeviceSignedOut, out)
	// Revoking it again changes nothing, whatever it says.
	must(t, s.RevokeRefreshFamily(ctx(t), fam.ID, out.Add(time.Minute), pairgate.DeviceRevoked))
	wantState(t, s, dev.ID, pairgate.DeviceSignedOut, out)
	must(t, s.RevokeRefreshFamily(ctx(t), "fam_unknown", out, pairgate.DeviceSignedOut))

	// Authorized again: active, with the new family.
	back := out.Add(time.Hour)
	d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Kiosk", HardwareID: "hw-state", Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: back, LastSeenAt: back,
		DPoPJKT: "jkt-state"}
	fam2 := family(c.ID, "", back)
	dev2, err := s.IssueRefreshFamily(ctx(t), d, fam2, newToken(back))
	must(t, err)
	if dev2.ID != dev.ID || dev2.FamilyID != fam2.ID || dev2.State != pairgate.DeviceActive || !dev2.StateChangedAt.Equal(back) {
		t.Fatalf("re-authorized device: %+v, family %s", dev2, fam2.ID)
	}
	// Authorized once more, through the device flow: the second family is
	// superseded, and revoking it later leaves the device alone.
	again := back.Add(time.Hour)
	a := &pairgate.DeviceAuthorization{
		ID: id("da_"), Kind: pairgate.KindDeviceCode, DeviceCodeHash: rnd(32), UserCodeHash: rnd(32),
		ClientID: c.ID, Scopes: pairgate.ParseScopes("printing"), Mode: pairgate.ModeDevice, HardwareID: "hw-state",
		DeviceName: "Kiosk", CreatedAt: again, ExpiresAt: again.Add(10 * time.Minute), Interval: 5 * time.Second, State: pairgate.StatePending,
		DPoPJKT: "jkt-state",
	}
	must(t, s.CreateDeviceAuthorization(ctx(t), a))
	_, err = s.ApproveDeviceAuthorization(ctx(t), a.ID, deviceFor(a, "u", again), again)
	must(t, err)
	wantState(t, s, dev.ID, pairgate.DeviceActive, back)
	fam3 := family(c.ID, dev.ID, again)
	fam3.DPoPJKT = "jkt-state"
	tok3 := newToken(again)
	dev3, err := s.RedeemDeviceAuthorization(ctx(t), a.ID, fam3, tok3, again)
	must(t, err)
	if dev3.ID != dev.ID || dev3.FamilyID != fam3.ID || dev3.State != pairgate.DeviceActive {
		t.Fatalf("device after redemption: %+v, family %s", dev3, fam3.ID)
	}
	must(t, s.RevokeRefreshFamily(ctx(t), fam2.ID, again, pairgate.DeviceSignedOut))
	wantState(t, s, dev.ID, pairgate.DeviceActive, back)

	// Reuse detection revokes the device.
	r1 := again.Add(time.Minute)
	_, err = s.RotateRefreshToken(ctx(t), tok3.Hash, newToken(r1), "", r1, 10*time.Second, nil)
	must(t, err)
	r2 := r1.Add(time.Minute)
	_, err = s.RotateRefreshToken(ctx(t), tok3.Hash, newToken(r2), "", r2, 10*time.Second, nil)
	wantCode(t, err, pairgate.EREUSEDETECTED)
	wantState(t, s, dev.ID, pairgate.DeviceRevoked, r2)
}

// testListDevicesByState: the inventory filtered by state, with the other
// filters and paging.
func testListDevicesByState(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	codes := []*pairgate.AuthorizationCode{mkCode(t, s, pairgate.TTLNever, t0), mkCode(t, s, pairgate.TTLNever, t0)}
	want := map[string][]string{}
	for i := range 12 {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_%03d", i), ClientID: c.ID, Name: fmt.Sprintf("Printer %d", i), Mode: pairgate.ModeDevice,
			AuthMethod: pairgate.AuthByAuthorizationCode, AuthCodeID: codes[i%2].ID, AuthorizedAt: t0, LastSeenAt: t0}
		if i%4 == 3 {
			d.AuthMethod, d.AuthCodeID = pairgate.AuthByPairing, ""
		}
		fam := family(c.ID, d.ID, t0)
		_, err := s.IssueRefreshFamily(ctx(t), d, fam, newToken(t0))
		must(t, err)
		state := []string{pairgate.DeviceActive, pairgate.DeviceSignedOut, pairgate.DeviceRevoked}[i%3]
		if state != pairgate.DeviceActive {
			must(t, s.RevokeRefreshFamily(ctx(t), fam.ID, t0, state))
		}
		want[state] = append(want[state], d.ID)
	}
	for state, ids := range want {
		var got []string
		after := ""
		for {
			page, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{State: state, After: after, Limit: 3})
			must(t, err)
			for _, d := range page {
				if d.State != state {
					t.Fatalf("filter %s listed a device in state %s", state, d.State)
				}
				got = append(got, d.ID)
			}
			if len(page) < 3 {
				break
			}
			after = page[len(page)-1].ID
		}
		if fmt.Sprint(got) != fmt.Sprint(ids) {
			t.Fatalf("state %s: %v, want %v", state, got, ids)
		}
	}
	found, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{State: pairgate.DeviceSignedOut, Search: "printer 1", ClientID: c.ID})
	must(t, err)
	if len(found) != 2 || found[0].ID != "dev_001" || found[1].ID != "dev_010" { // Printer 1, 10, 11: 11 is revoked
		t.Fatalf("state with search: %d devices", len(found))
	}
	if all, _ := s.ListDevices(ctx(t), pairgate.DeviceFilter{}); len(all) != 12 {
		t.Fatalf("no state filter: %d devices", len(all))
	}
	if none, _ := s.ListDevices(ctx(t), pairgate.DeviceFilter{State: pairgate.DeviceExpired}); len(none) != 0 {
		t.Fatalf("expired: %d devices", len(none))
	}
	// By the code they came in with, and by how they were authorized:
	// devices 0, 2, 4, 6, 8, 10 came with the first code, and 1, 5, 9
	// with the second (3, 7, 11 were paired).
	byCode, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{AuthCodeID: codes[1].ID})
	must(t, err)
	if ids := deviceIDs(byCode); fmt.Sprint(ids) != "[dev_001 dev_005 dev_009]" {
		t.Fatalf("by the second code: %v", ids)
	}
	paired, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{AuthMethod: pairgate.AuthByPairing, State: pairgate.DeviceActive})
	must(t, err)
	if ids := deviceIDs(paired); fmt.Sprint(ids) != "[dev_003]" { // 7 is signed out, 11 revoked
		t.Fatalf("paired and active: %v", ids)
	}
}

func deviceIDs(ds []*pairgate.Device) []string {
	var ids []string
	for _, d := range ds {
		ids = append(ids, d.ID)
	}
	return ids
}

// testRenameDevice: an administrator's name sticks, is searched, and a
// missing device is ENOTFOUND.
func testRenameDevice(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev, _, _ := issued(t, s, c, "hw-rename")
	must(t, s.RenameDevice(ctx(t), dev.ID, "Front desk printer"))
	got, err := s.GetDevice(ctx(t), dev.ID)
	must(t, err)
	if got.Name != "Front desk printer" || got.HardwareID != "hw-rename" || got.State != pairgate.DeviceActive {
		t.Fatalf("renamed device: %+v", got)
	}
	found, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: "front desk"})
	must(t, err)
	if len(found) != 1 || found[0].ID != dev.ID {
		t.Fatalf("search for the new name found %v", deviceIDs(found))
	}
	wantCode(t, s.RenameDevice(ctx(t), "dev_missing", "x"), pairgate.ENOTFOUND)
}

// testDevicesExpire: a device whose refresh token went unused until it
// expired is marked expired by GarbageCollect, once, on any number of
// replicas at once; a device that kept refreshing stays active.
func testDevicesExpire(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	idle, _, _ := issued(t, s, c, "hw-idle")
	busy, _, tok := issued(t, s, c, "hw-busy")
	mid := t0.Add(60 * 24 * time.Hour)
	_, err := s.RotateRefreshToken(ctx(t), tok, newToken(mid), "", mid, 0, nil)
	must(t, err)
	r, err := s.GarbageCollect(ctx(t), mid)
	must(t, err)
	if r.DevicesExpired != 0 {
		t.Fatalf("GC before any expiry expired %d devices", r.DevicesExpired)
	}
	late := t0.Add(91 * 24 * time.Hour)
	var wg sync.WaitGroup
	results := make([]pairgate.GCResult, 4)
	for i := range results {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var err error
			if results[i], err = s.GarbageCollect(ctx(t), late); err != nil {
				t.Error(err)
			}
		}()
	}
	waitOrDump(t, &wg)
	total := int64(0)
	for _, r := range results {
		total += r.DevicesExpired
	}
	if total != 1 {
		t.Fatalf("concurrent GC expired %d devices, want 1", total)
	}
	wantState(t, s, idle.ID, pairgate.DeviceExpired, late)
	wantState(t, s, busy.ID, pairgate.DeviceActive, t0)
}
