package storetest

import (
	"slices"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// byCode authorizes a device of client c with authorization code ac from
// ip at at, bound to key jkt ("" for none), ephemeral for idle (0: not).
func byCode(t *testing.T, s pairgate.Store, c *pairgate.Client, ac *pairgate.AuthorizationCode, ip, jkt string, idle time.Duration,
	at time.Time) (*pairgate.Device, *pairgate.RefreshFamily, []byte) {
	t.Helper()
	d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Lab PC", Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, AuthCodeID: ac.ID, Scopes: pairgate.ParseScopes("printing"),
		AuthorizedAt: at, LastSeenAt: at, LastIP: ip, AuthorizedIP: ip, DPoPJKT: jkt, EphemeralIdle: idle}
	fam := family(c.ID, "", at)
	fam.DPoPJKT = jkt
	tok := newToken(at)
	dev, err := s.IssueRefreshFamily(ctx(t), d, fam, tok)
	must(t, err)
	return dev, fam, tok.Hash
}

func sortedIDs(ds []*pairgate.Device) []string {
	out := make([]string, len(ds))
	for i, d := range ds {
		out[i] = d.ID
	}
	slices.Sort(out)
	return out
}

func sorted(s ...string) []string {
	slices.Sort(s)
	return s
}

// testCodeDevices: a leaked code's devices are previewed (those seen
// lately from elsewhere picked out) and signed out in one transaction,
// with the code deleted; a device re-authorized since by another way, and
// the devices of other codes, are not touched.
func testCodeDevices(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	leaked := mkCode(t, s, pairgate.TTLNever, t0)
	other := mkCode(t, s, pairgate.TTLNever, t0)
	now := t0.Add(2 * time.Hour)

	quiet, quietFam, quietTok := byCode(t, s, c, leaked, "192.0.2.10", "", 0, t0)
	roaming, _, _ := byCode(t, s, c, leaked, "192.0.2.11", "", 0, t0)
	moved, _, _ := byCode(t, s, c, leaked, "192.0.2.12", "jkt-moved", 0, t0)
	neighbour, _, _ := byCode(t, s, c, other, "192.0.2.13", "", 0, t0)
	touch(t, s, quiet.ID, "192.0.2.10", now.Add(-5*time.Minute))
	touch(t, s, roaming.ID, "203.0.113.5", now.Add(-10*time.Minute))
	// moved proves its key in a device flow: the same device, now
	// authorized by a person, no longer by the code.
	re := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Lab PC", Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByDeviceCode, Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: t0.Add(time.Hour),
		LastSeenAt: t0.Add(time.Hour), LastIP: "198.51.100.1", DPoPJKT: "jkt-moved"}
	reFam := family(c.ID, "", t0.Add(time.Hour))
	reFam.DPoPJKT = "jkt-moved"
	if dev, err := s.IssueRefreshFamily(ctx(t), re, reFam, newToken(t0.Add(time.Hour))); err != nil || dev.ID != moved.ID || dev.AuthCodeID != "" {
		t.Fatalf("re-authorization by key: %+v %v", dev, err)
	}

	cd, err := s.CodeDevices(ctx(t), leaked.ID, now.Add(-time.Hour))
	must(t, err)
	if cd.Active != 2 || !slices.Equal(sorted(cd.AuthorizedFrom...), []string{"192.0.2.10", "192.0.2.11"}) {
		t.Fatalf("preview: %d active, authorized from %v", cd.Active, cd.AuthorizedFrom)
	}
	if len(cd.SeenElsewhere) != 1 || cd.SeenElsewhere[0].ID != roaming.ID || cd.SeenElsewhere[0].AuthorizedIP != "192.0.2.11" {
		t.Fatalf("seen elsewhere: %v", sortedIDs(cd.SeenElsewhere))
	}
	if cd, err := s.CodeDevices(ctx(t), "ac_none", now); err != nil || cd.Active != 0 || len(cd.SeenElsewhere) != 0 {
		t.Fatalf("a code without devices: %+v %v", cd, err)
	}

	ds, err := s.SignOutCodeDevices(ctx(t), leaked.ID, true, now)
	must(t, err)
	if got := sortedIDs(ds); !slices.Equal(got, sorted(quiet.ID, roaming.ID)) {
		t.Fatalf("signed out %v, want the code's two", got)
	}
	for _, d := range ds {
		if d.State != pairgate.DeviceSignedOut || !d.StateChangedAt.Equal(now) {
			t.Fatalf("%s: %s at %v", d.ID, d.State, d.StateChangedAt)
		}
	}
	for _, id := range []string{moved.ID, neighbour.ID} {
		d, err := s.GetDevice(ctx(t), id)
		must(t, err)
		if d.State != pairgate.DeviceActive {
			t.Fatalf("%s was touched: %s", id, d.State)
		}
	}
	// The authorization is over, in the status lists too, in the same
	// transaction; and the code is gone.
	fam, live, err := s.LookupRefreshToken(ctx(t), quietTok, now)
	must(t, err)
	if live && fam.RevokedAt.IsZero() {
		t.Fatal("a signed-out device's refresh family is still live")
	}
	revoked, err := s.RevokedStatusIndexes(ctx(t), quietFam.StatusIndex, quietFam.StatusIndex+1)
	must(t, err)
	if len(revoked) != 1 {
		t.Fatal("a signed-out device's authorization is not revoked in the status lists")
	}
	if _, err := s.GetAuthorizationCodeByHash(ctx(t), leaked.CodeHash, now); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("the leaked code outlived its revocation: %v", err)
	}
	if _, err := s.GetAuthorizationCodeByHash(ctx(t), other.CodeHash, now); err != nil {
		t.Fatalf("the other code: %v", err)
	}
	// Again: nothing left to do.
	if ds, err := s.SignOutCodeDevices(ctx(t), leaked.ID, true, now); err != nil || len(ds) != 0 {
		t.Fatalf("a second revocation: %v %v", sortedIDs(ds), err)
	}
	// Keeping the code: its devices are signed out, the code stays.
	if ds, err := s.SignOutCodeDevices(ctx(t), other.ID, false, now); err != nil || len(ds) != 1 {
		t.Fatalf("keeping the code: %v %v", sortedIDs(ds), err)
	}
	if _, err := s.GetAuthorizationCodeByHash(ctx(t), other.CodeHash, now); err != nil {
		t.Fatalf("a kept code: %v", err)
	}
}

// testEphemeralDevices: an ephemeral device is removed once it ended or
// stayed unseen for its idle time, in batches; others stay.
func testEphemeralDevices(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	ac := mkCode(t, s, pairgate.TTLNever, t0)
	idle := 10 * time.Minute
	unseen, unseenFam, _ := byCode(t, s, c, ac, "192.0.2.1", "", idle, t0)
	busy, _, _ := byCode(t, s, c, ac, "192.0.2.2", "", idle, t0)
	left, leftFam, _ := byCode(t, s, c, ac, "192.0.2.3", "", idle, t0)
	lasting, _, _ := byCode(t, s, c, ac, "192.0.2.4", "", 0, t0)
	touch(t, s, busy.ID, "192.0.2.2", t0.Add(9*time.Minute))
	must(t, s.RevokeRefreshFamily(ctx(t), leftFam.ID, t0.Add(time.Minute), pairgate.DeviceSignedOut))
	got, err := s.GetDevice(ctx(t), busy.ID)
	must(t, err)
	if got.EphemeralIdle != idle || got.AuthorizedIP != "192.0.2.2" || got.LastIP != "192.0.2.2" {
		t.Fatalf("round trip: idle %v, authorized from %q", got.EphemeralIdle, got.AuthorizedIP)
	}

	at := t0.Add(idle)
	first, err := s.RemoveEphemeralDevices(ctx(t), at, 1)
	must(t, err)
	rest, err := s.RemoveEphemeralDevices(ctx(t), at, 100)
	must(t, err)
	if len(first) != 1 || !slices.Equal(sortedIDs(append(first, rest...)), sorted(unseen.ID, left.ID)) {
		t.Fatalf("removed %v then %v, want the unseen and the signed-out one", sortedIDs(first), sortedIDs(rest))
	}
	for _, id := range []string{unseen.ID, left.ID} {
		_, err := s.GetDevice(ctx(t), id)
		wantCode(t, err, pairgate.ENOTFOUND)
	}
	for _, id := range []string{busy.ID, lasting.ID} {
		if _, err := s.GetDevice(ctx(t), id); err != nil {
			t.Fatalf("%s was removed: %v", id, err)
		}
	}
	revoked, err := s.RevokedStatusIndexes(ctx(t), unseenFam.StatusIndex, unseenFam.StatusIndex+1)
	must(t, err)
	if len(revoked) != 1 {
		t.Fatal("a removed ephemeral device's authorization is not revoked in the status lists")
	}
	// A non-ephemeral device unseen for ages is the inactivity policy's,
	// never this sweep's.
	if ds, err := s.RemoveEphemeralDevices(ctx(t), t0.Add(1000*pairgate.Day), 100); err != nil || len(ds) != 1 || ds[0].ID != busy.ID {
		t.Fatalf("much later: %v %v", sortedIDs(ds), err)
	}
}
