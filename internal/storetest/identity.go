package storetest

import (
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// Issue 12, docs/design.md 2.1: a device is what it can prove.

// testHardwareIDIsAClaim: authorizations that claim one client and
// hardware id without a key are separate devices, whichever way they came;
// the first keeps its name, its family and its state; both are marked as
// sharing the hardware id.
func testHardwareIDIsAClaim(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	approve := func(hw, name, jkt string) string {
		a := mkAuthz(t, s, c, hw)
		d := deviceFor(a, "u", t0)
		d.Name, d.DPoPJKT = name, jkt
		got, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, d, t0)
		must(t, err)
		return got.DeviceID
	}
	victim, _, victimTok := issued(t, s, c, "PRN-0001")
	second := approve("PRN-0001", "Attacker", "")
	dev3, _, _ := issued(t, s, c, "PRN-0001")
	if second == victim.ID || dev3.ID == victim.ID || dev3.ID == second {
		t.Fatalf("a claimed hardware id merged devices: %s, %s, %s", victim.ID, second, dev3.ID)
	}
	got, err := s.GetDevice(ctx(t), victim.ID)
	must(t, err)
	if got.Name != "Kiosk" || got.State != pairgate.DeviceActive || got.FamilyID != victim.FamilyID {
		t.Fatalf("the first device changed: %+v", got)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), victimTok, t0); !live {
		t.Fatal("the first device's refresh token died")
	}
	// Each is marked with another that claims the same hardware: the
	// oldest other, so the first points at the second and the others at
	// the first.
	if got.SameHardwareAs != second {
		t.Fatalf("first device: same hardware as %q, want %q", got.SameHardwareAs, second)
	}
	for _, id := range []string{second, dev3.ID} {
		d, err := s.GetDevice(ctx(t), id)
		must(t, err)
		if d.SameHardwareAs != victim.ID {
			t.Fatalf("device %s: same hardware as %q, want %q", id, d.SameHardwareAs, victim.ID)
		}
	}
	list, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: "PRN-0001"})
	must(t, err)
	if len(list) != 3 {
		t.Fatalf("listed %d devices for the hardware id, want 3", len(list))
	}
	for _, d := range list {
		if d.SameHardwareAs == "" || d.SameHardwareAs == d.ID {
			t.Fatalf("listed device %s without its mark: %+v", d.ID, d)
		}
	}
	// Deleting the others leaves the first unmarked.
	must(t, s.DeleteDevice(ctx(t), second, t0))
	must(t, s.DeleteDevice(ctx(t), dev3.ID, t0))
	if d, _ := s.GetDevice(ctx(t), victim.ID); d.SameHardwareAs != "" {
		t.Fatalf("mark outlived the other devices: %q", d.SameHardwareAs)
	}
	// No hardware id: never marked, never merged.
	a, b := approve("", "A", ""), approve("", "A", "")
	if a == b {
		t.Fatal("devices without hardware id were merged")
	}
	if d, _ := s.GetDevice(ctx(t), a); d.SameHardwareAs != "" {
		t.Fatalf("devices without hardware id marked: %q", d.SameHardwareAs)
	}
	// The same hardware under another client is not marked.
	other := mkClient(t, s)
	o, _, _ := issued(t, s, other, "PRN-0001")
	if o.SameHardwareAs != "" {
		t.Fatalf("hardware id marked across clients: %q", o.SameHardwareAs)
	}
}

// testKeyIsTheIdentity: a request that proves a device's key updates that
// device, whatever hardware id it claims; another key, or none, makes a
// new device and leaves the first alone; a key is per client.
func testKeyIsTheIdentity(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	dev, _, tok := issuedWithKey(t, s, c, "SN-42", "jkt-A")
	if dev.DPoPJKT != "jkt-A" {
		t.Fatalf("device not bound: %+v", dev)
	}
	// Another key with the same hardware id: a new device.
	other, _, _ := issuedWithKey(t, s, c, "SN-42", "jkt-B")
	if other.ID == dev.ID {
		t.Fatal("another key took over the device")
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, t0); !live {
		t.Fatal("another key's authorization revoked the device")
	}
	// The same key, through the device flow, with another name and
	// hardware id: the same device, updated, its old family gone.
	later := t0.Add(5 * time.Minute)
	a := mkAuthz(t, s, c, "SN-43")
	a2 := *a
	a2.DPoPJKT = "jkt-A"
	d := deviceFor(&a2, "usr_2", later)
	d.Name = "Renamed"
	ap, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, d, later)
	must(t, err)
	if ap.DeviceID != dev.ID {
		t.Fatalf("the device's own key made a new device: %s, want %s", ap.DeviceID, dev.ID)
	}
	fam := family(c.ID, "", later)
	fam.DPoPJKT = "jkt-A"
	got, err := s.RedeemDeviceAuthorization(ctx(t), a.ID, fam, newToken(later), later)
	must(t, err)
	if got.ID != dev.ID || got.Name != "Renamed" || got.HardwareID != "SN-43" || got.UserID != "usr_2" || got.FamilyID != fam.ID || fam.Subject != dev.ID {
		t.Fatalf("re-authorized device: %+v (family subject %q)", got, fam.Subject)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, later); live {
		t.Fatal("the device's earlier family survived its re-authorization")
	}
	f, _, err := s.LookupRefreshToken(ctx(t), tok, later)
	must(t, err)
	if f.DPoPJKT != "jkt-A" {
		t.Fatalf("family key = %q", f.DPoPJKT)
	}
	// The same key under another client is another device.
	oc := mkClient(t, s)
	x, _, _ := issuedWithKey(t, s, oc, "SN-42", "jkt-A")
	if x.ID == dev.ID {
		t.Fatal("a key was shared across clients")
	}
	if n, _ := s.CountDevices(ctx(t)); n != 3 {
		t.Fatalf("devices = %d, want 3", n)
	}
}

// testRedeemBindsKey: a proof at the poll of an unbound grant binds the
// device its approval recorded; when the key is another device's of the
// client, that device is the one re-authorized and the approval's unused
// row goes.
func testRedeemBindsKey(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	redeem := func(hw, name, jkt string, now time.Time) (*pairgate.Device, *pairgate.RefreshFamily, string) {
		a := mkAuthz(t, s, c, hw)
		d := deviceFor(a, "u", now)
		d.Name = name
		ap, err := s.ApproveDeviceAuthorization(ctx(t), a.ID, d, now)
		must(t, err)
		fam := family(c.ID, "", now)
		fam.DPoPJKT = jkt
		dev, err := s.RedeemDeviceAuthorization(ctx(t), a.ID, fam, newToken(now), now)
		must(t, err)
		return dev, fam, ap.DeviceID
	}
	first, fam, approved := redeem("hw-bind", "First", "jkt-X", t0)
	if first.ID != approved || first.DPoPJKT != "jkt-X" || fam.Subject != first.ID {
		t.Fatalf("redeemed with a key: %+v (approved %s, subject %s)", first, approved, fam.Subject)
	}
	later := t0.Add(5 * time.Minute)
	again, fam2, approved2 := redeem("hw-bind", "Again", "jkt-X", later)
	if again.ID != first.ID || again.Name != "Again" || again.FamilyID != fam2.ID || fam2.Subject != first.ID {
		t.Fatalf("the key's device was not the one re-authorized: %+v, want %s", again, first.ID)
	}
	if _, err := s.GetDevice(ctx(t), approved2); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("the approval's unused row stayed: %v", err)
	}
	if n, _ := s.CountDevices(ctx(t)); n != 1 {
		t.Fatalf("devices = %d, want 1", n)
	}
	// Without a key: a device of its own, unbound.
	plain, _, _ := redeem("hw-bind", "Plain", "", later)
	if plain.ID == first.ID || plain.DPoPJKT != "" || plain.SameHardwareAs != first.ID {
		t.Fatalf("unbound redemption: %+v", plain)
	}
}

// testDPoPProofOnce: RFC 9449 §11.1 across replicas. Of any number of
// concurrent uses of one proof, exactly one is the first; garbage
// collection forgets a proof only once it has expired.
func testDPoPProofOnce(t *testing.T, s pairgate.Store) {
	hash := rnd(32)
	exp := t0.Add(time.Minute)
	const n = 16
	var wg sync.WaitGroup
	var mu sync.Mutex
	firsts := 0
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ok, err := s.UseDPoPProof(ctx(t), hash, exp)
			if err != nil {
				t.Error(err)
				return
			}
			if ok {
				mu.Lock()
				firsts++
				mu.Unlock()
			}
		}()
	}
	waitOrDump(t, &wg)
	if firsts != 1 {
		t.Fatalf("%d of %d concurrent uses of one proof were first, want exactly 1", firsts, n)
	}
	other := rnd(32)
	ok, err := s.UseDPoPProof(ctx(t), other, t0.Add(time.Hour))
	must(t, err)
	if !ok {
		t.Fatal("a new proof was not first")
	}
	r, err := s.GarbageCollect(ctx(t), exp)
	must(t, err)
	if r.DPoPProofs != 1 {
		t.Fatalf("GC removed %d proofs, want 1", r.DPoPProofs)
	}
	if ok, _ := s.UseDPoPProof(ctx(t), other, t0.Add(time.Hour)); ok {
		t.Fatal("GC forgot a proof that had not expired")
	}
}
