package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// lastSeen authorizes a device of client c and records it as last seen at.
func lastSeen(t *testing.T, s pairgate.Store, c *pairgate.Client, at time.Time) (*pairgate.Device, *pairgate.RefreshFamily) {
	t.Helper()
	d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Kiosk", Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: at, LastSeenAt: at}
	fam := family(c.ID, d.ID, at)
	dev, err := s.IssueRefreshFamily(ctx(t), d, fam, newToken(at))
	must(t, err)
	touch(t, s, dev.ID, "192.0.2.1", at)
	return dev, fam
}

// testInactivity: devices not seen for the sign-out period are signed out
// in batches (their authorizations revoked, in the status lists too), a
// client's own period wins over the server's, and after the removal
// period ended devices leave the inventory.
func testInactivity(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	strict := &pairgate.Client{ID: id("client-"), Name: "Kiosks", Public: true, GrantTypes: pairgate.AllGrantTypes,
		Scopes: pairgate.ParseScopes("printing"), CreatedAt: t0, InactiveSignOutDays: 1, InactiveRemoveDays: 1}
	must(t, s.CreateClient(ctx(t), strict))
	got, err := s.GetClient(ctx(t), strict.ID)
	must(t, err)
	if got.InactiveSignOutDays != 1 || got.InactiveRemoveDays != 1 {
		t.Fatalf("client policy round trip: %+v", got)
	}
	p := pairgate.InactivityPolicy{SignOutAfter: 90 * pairgate.Day, RemoveAfter: 30 * pairgate.Day}
	now := t0.Add(200 * pairgate.Day)
	var old []string
	for range 5 {
		d, _ := lastSeen(t, s, c, now.Add(-100*pairgate.Day))
		old = append(old, d.ID)
	}
	recent, _ := lastSeen(t, s, c, now.Add(-89*pairgate.Day))
	kiosk, kioskFam := lastSeen(t, s, strict, now.Add(-2*pairgate.Day))
	fresh, _ := lastSeen(t, s, strict, now.Add(-time.Hour))

	// Batches of two: three rounds take the six inactive devices.
	var moved []string
	for range 4 {
		ds, err := s.SignOutInactiveDevices(ctx(t), p, now, 2)
		must(t, err)
		if len(ds) > 2 {
			t.Fatalf("a batch of %d with a limit of 2", len(ds))
		}
		for _, d := range ds {
			if d.State != pairgate.DeviceExpired || !d.StateChangedAt.Equal(now) {
				t.Fatalf("signed out: state %s at %v", d.State, d.StateChangedAt)
			}
			moved = append(moved, d.ID)
		}
	}
	slices.Sort(moved)
	want := append(slices.Clone(old), kiosk.ID)
	slices.Sort(want)
	if !slices.Equal(moved, want) {
		t.Fatalf("signed out %v, want %v", moved, want)
	}
	for _, id := range []string{recent.ID, fresh.ID} {
		d, err := s.GetDevice(ctx(t), id)
		must(t, err)
		if d.State != pairgate.DeviceActive {
			t.Fatalf("a device seen recently was signed out: %s", d.State)
		}
	}
	revoked, err := s.RevokedStatusIndexes(ctx(t), kioskFam.StatusIndex, kioskFam.StatusIndex+1)
	must(t, err)
	if len(revoked) != 1 {
		t.Fatal("an inactive device's authorization is not revoked in the status lists")
	}
	// Removal: the strict client's device after one more day; the others
	// after thirty.
	ds, err := s.RemoveInactiveDevices(ctx(t), p, now.Add(pairgate.Day+time.Minute), 100)
	must(t, err)
	if len(ds) != 1 || ds[0].ID != kiosk.ID {
		t.Fatalf("removed after a day: %v", ds)
	}
	_, err = s.GetDevice(ctx(t), kiosk.ID)
	wantCode(t, err, pairgate.ENOTFOUND)
	ds, err = s.RemoveInactiveDevices(ctx(t), p, now.Add(31*pairgate.Day), 3)
	must(t, err)
	if len(ds) != 3 {
		t.Fatalf("a batch of removals: %d, want 3", len(ds))
	}
	// A policy of never moves nothing.
	ds, err = s.SignOutInactiveDevices(ctx(t), pairgate.InactivityPolicy{}, now.Add(1000*pairgate.Day), 100)
	must(t, err)
	for _, d := range ds {
		if d.ClientID != strict.ID {
			t.Fatalf("the server's policy is off, but %s of %s was signed out", d.ID, d.ClientID)
		}
	}
}

// testInactivityReplicas: sweeps on several replicas at once move each
// device once.
func testInactivityReplicas(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	now := t0.Add(400 * pairgate.Day)
	for range 20 {
		lastSeen(t, s, c, now.Add(-100*pairgate.Day))
	}
	p := pairgate.InactivityPolicy{SignOutAfter: 90 * pairgate.Day}
	var wg sync.WaitGroup
	var mu sync.Mutex
	seen := map[string]int{}
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				ds, err := s.SignOutInactiveDevices(ctx(t), p, now, 3)
				if err != nil {
					t.Error(err)
					return
				}
				if len(ds) == 0 {
					return
				}
				mu.Lock()
				for _, d := range ds {
					seen[d.ID]++
				}
				mu.Unlock()
			}
		}()
	}
	waitOrDump(t, &wg)
	if len(seen) != 20 {
		t.Fatalf("%d devices signed out, want 20", len(seen))
	}
	for id, n := range seen {
		if n != 1 {
			t.Fatalf("device %s signed out %d times", id, n)
		}
	}
}

// testDeviceCount: the kept count follows every way a device comes and
// goes, cascades included.
func testDeviceCount(t *testing.T, s pairgate.Store) {
	count := func() int {
		t.Helper()
		n, err := s.CountDevices(ctx(t))
		must(t, err)
		return n
	}
	base := count()
	c := mkClient(t, s)
	d1, _ := issuedKeyed(t, s, c, "jkt-cnt-1")
	issued(t, s, c, "cnt-2")
	issued(t, s, c, "")
	if n := count(); n != base+3 {
		t.Fatalf("after three authorizations: %d, want %d", n, base+3)
	}
	// Authorizing a known device again, with its key: still three.
	again := *d1
	again.ID = id("dev_")
	fam := family(c.ID, d1.ID, t0)
	fam.DPoPJKT = d1.DPoPJKT
	dev, err := s.IssueRefreshFamily(ctx(t), &again, fam, newToken(t0))
	must(t, err)
	if dev.ID != d1.ID {
		t.Fatalf("re-authorization with the key made a new device %s", dev.ID)
	}
	must(t, s.DeleteDevice(ctx(t), d1.ID, t0))
	if n := count(); n != base+2 {
		t.Fatalf("after a deletion: %d, want %d", n, base+2)
	}
	must(t, s.DeleteClient(ctx(t), c.ID, t0))
	if n := count(); n != base {
		t.Fatalf("after deleting the client (a cascade): %d, want %d", n, base)
	}
}
