package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

func mkCode(t *testing.T, s pairgate.Store, ttl pairgate.CodeTTL, created time.Time) *pairgate.AuthorizationCode {
	t.Helper()
	c := &pairgate.AuthorizationCode{ID: id("ac_"), CodeHash: rnd(32), SealedCode: rnd(44), TTL: ttl,
		CreatedAt: created, ExpiresAt: ttl.ExpiresAt(created), CreatedBy: "usr_admin"}
	must(t, s.CreateAuthorizationCode(ctx(t), c))
	return c
}

// redeemCode authorizes a device with an authorization code the way the
// grant does: IssueRefreshFamily with the code's ID on the device and an
// empty family subject (device mode).
func redeemCode(t *testing.T, s pairgate.Store, c *pairgate.Client, codeID, hw, name string, now time.Time) (*pairgate.Device, *pairgate.RefreshFamily, []byte, error) {
	t.Helper()
	return redeemCodeWithKey(t, s, c, codeID, hw, name, "", now)
}

func redeemCodeWithKey(t *testing.T, s pairgate.Store, c *pairgate.Client, codeID, hw, name, jkt string, now time.Time) (*pairgate.Device, *pairgate.RefreshFamily, []byte, error) {
	t.Helper()
	d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: name, HardwareID: hw, Mode: pairgate.ModeDevice,
		AuthMethod: pairgate.AuthByAuthorizationCode, AuthCodeID: codeID, Scopes: pairgate.ParseScopes("printing"),
		AuthorizedAt: now, LastSeenAt: now, LastIP: "192.0.2.30", DPoPJKT: jkt}
	fam := family(c.ID, "", now)
	fam.DPoPJKT = jkt
	tok := newToken(now)
	dev, err := s.IssueRefreshFamily(ctx(t), d, fam, tok)
	return dev, fam, tok.Hash, err
}

func codeIDs(list []*pairgate.AuthorizationCode) []string {
	var out []string
	for _, c := range list {
		out = append(out, c.ID)
	}
	return out
}

func testAuthorizationCodes(t *testing.T, s pairgate.Store) {
	a := mkCode(t, s, pairgate.TTL24Hours, t0)
	got, err := s.GetAuthorizationCodeByHash(ctx(t), a.CodeHash, t0)
	must(t, err)
	if got.ID != a.ID || !bytes.Equal(got.SealedCode, a.SealedCode) || !bytes.Equal(got.CodeHash, a.CodeHash) ||
		got.TTL != pairgate.TTL24Hours || !got.CreatedAt.Equal(t0) || !got.ExpiresAt.Equal(t0.Add(24*time.Hour)) ||
		got.CreatedBy != "usr_admin" || got.Uses != 0 || !got.LastUsedAt.IsZero() {
		t.Fatalf("round trip: %+v", got)
	}
	_, err = s.GetAuthorizationCodeByHash(ctx(t), rnd(32), t0)
	wantCode(t, err, pairgate.ENOTFOUND)

	// A colliding hash is a conflict, so the caller regenerates the code;
	// so is a reused ID. Neither changes the stored code.
	dup := *a
	dup.ID = id("ac_")
	wantCode(t, s.CreateAuthorizationCode(ctx(t), &dup), pairgate.ECONFLICT)
	dup = *a
	dup.CodeHash = rnd(32)
	wantCode(t, s.CreateAuthorizationCode(ctx(t), &dup), pairgate.ECONFLICT)
	if _, err := s.GetAuthorizationCodeByHash(ctx(t), dup.CodeHash, t0); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("a refused code was stored: %v", err)
	}

	b := mkCode(t, s, pairgate.TTLNever, t0.Add(time.Minute))
	c := mkCode(t, s, pairgate.TTL30Minutes, t0.Add(2*time.Minute))
	list, err := s.ListAuthorizationCodes(ctx(t), t0.Add(3*time.Minute))
	must(t, err)
	if fmt.Sprint(codeIDs(list)) != fmt.Sprint([]string{c.ID, b.ID, a.ID}) {
		t.Fatalf("list = %v, want newest first %v", codeIDs(list), []string{c.ID, b.ID, a.ID})
	}
	if !list[1].ExpiresAt.IsZero() || list[1].TTL != pairgate.TTLNever {
		t.Fatalf("never-expiring code listed as %+v", list[1])
	}

	must(t, s.DeleteAuthorizationCode(ctx(t), b.ID))
	wantCode(t, s.DeleteAuthorizationCode(ctx(t), b.ID), pairgate.ENOTFOUND)
	wantCode(t, s.DeleteAuthorizationCode(ctx(t), "ac_nope"), pairgate.ENOTFOUND)
	_, err = s.GetAuthorizationCodeByHash(ctx(t), b.CodeHash, t0)
	wantCode(t, err, pairgate.ENOTFOUND)
	list, err = s.ListAuthorizationCodes(ctx(t), t0.Add(3*time.Minute))
	must(t, err)
	if fmt.Sprint(codeIDs(list)) != fmt.Sprint([]string{c.ID, a.ID}) {
		t.Fatalf("list after delete = %v", codeIDs(list))
	}
	// The hash of a deleted code is free again.
	again := *b
	again.ID = id("ac_")
	must(t, s.CreateAuthorizationCode(ctx(t), &again))
}

// testAuthorizationCodeExpiry: docs/design.md 2.7 for every lifetime the console
// offers. A code works up to the last instant before its expiry and not at
// it: lookups, lists and redemption agree, with or without GC.
func testAuthorizationCodeExpiry(t *testing.T, s pairgate.Store) {
	cl := mkClient(t, s)
	codes := map[pairgate.CodeTTL]*pairgate.AuthorizationCode{}
	for _, ttl := range pairgate.CodeTTLs {
		codes[ttl] = mkCode(t, s, ttl, t0)
	}
	listed := func(at time.Time) []string {
		list, err := s.ListAuthorizationCodes(ctx(t), at)
		must(t, err)
		return codeIDs(list)
	}
	for _, ttl := range pairgate.CodeTTLs {
		c := codes[ttl]
		if ttl == pairgate.TTLNever {
			if !c.ExpiresAt.IsZero() {
				t.Fatalf("never: expires at %v", c.ExpiresAt)
			}
			far := t0.Add(10 * 365 * 24 * time.Hour)
			if _, err := s.GetAuthorizationCodeByHash(ctx(t), c.CodeHash, far); err != nil {
				t.Fatalf("never-expiring code not found ten years on: %v", err)
			}
			if !slices.Contains(listed(far), c.ID) {
				t.Fatal("never-expiring code not listed ten years on")
			}
			if _, _, _, err := redeemCode(t, s, cl, c.ID, "hw-never", "Never", far); err != nil {
				t.Fatalf("never-expiring code not redeemable ten years on: %v", err)
			}
			continue
		}
		if !c.ExpiresAt.Equal(t0.Add(ttl.Duration())) {
			t.Fatalf("%s: expires at %v, want %v", ttl, c.ExpiresAt, t0.Add(ttl.Duration()))
		}
		before, at := c.ExpiresAt.Add(-time.Nanosecond), c.ExpiresAt
		if _, err := s.GetAuthorizationCodeByHash(ctx(t), c.CodeHash, before); err != nil {
			t.Fatalf("%s: not found just before expiry: %v", ttl, err)
		}
		if !slices.Contains(listed(before), c.ID) {
			t.Fatalf("%s: not listed just before expiry", ttl)
		}
		if _, _, _, err := redeemCode(t, s, cl, c.ID, "hw-"+string(ttl), "ok", before); err != nil {
			t.Fatalf("%s: not redeemable just before expiry: %v", ttl, err)
		}
		_, err := s.GetAuthorizationCodeByHash(ctx(t), c.CodeHash, at)
		wantCode(t, err, pairgate.ENOTFOUND)
		if slices.Contains(listed(at), c.ID) {
			t.Fatalf("%s: still listed at expiry", ttl)
		}
		devices, _ := s.CountDevices(ctx(t))
		_, _, tok, err := redeemCode(t, s, cl, c.ID, "hw-late-"+string(ttl), "late", at)
		wantCode(t, err, pairgate.EINVALIDGRANT)
		if n, _ := s.CountDevices(ctx(t)); n != devices {
			t.Fatalf("%s: a refused redemption left a device", ttl)
		}
		if _, _, err := s.LookupRefreshToken(ctx(t), tok, at); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("%s: a refused redemption left a refresh token: %v", ttl, err)
		}
	}
	// GC removes the expired codes from the store, and only them.
	r, err := s.GarbageCollect(ctx(t), t0.Add(48*time.Hour-time.Nanosecond))
	must(t, err)
	if r.AuthorizationCodes != 4 {
		t.Fatalf("GC before the 48 h code expired deleted %d codes, want 4", r.AuthorizationCodes)
	}
	r, err = s.GarbageCollect(ctx(t), t0.Add(48*time.Hour))
	must(t, err)
	if r.AuthorizationCodes != 1 {
		t.Fatalf("GC at 48 h deleted %d codes, want 1", r.AuthorizationCodes)
	}
	// Deleted from the store, not merely hidden: looking back in time
	// finds nothing.
	for _, ttl := range pairgate.CodeTTLs[:5] {
		if _, err := s.GetAuthorizationCodeByHash(ctx(t), codes[ttl].CodeHash, t0); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("%s: still stored after GC: %v", ttl, err)
		}
	}
	if got := listed(t0.Add(100 * 365 * 24 * time.Hour)); len(got) != 1 || got[0] != codes[pairgate.TTLNever].ID {
		t.Fatalf("after GC: %v, want only the never-expiring code", got)
	}
}

func testAuthorizationCodeReusable(t *testing.T, s pairgate.Store) {
	cl := mkClient(t, s)
	code := mkCode(t, s, pairgate.TTL6Hours, t0)
	var toks [][]byte
	for i := range 6 {
		hw := fmt.Sprintf("hw-reuse-%d", i)
		if i >= 4 {
			hw = "" // no hardware id: a device of its own each time
		}
		now := t0.Add(time.Duration(i) * time.Minute)
		dev, fam, tok, err := redeemCode(t, s, cl, code.ID, hw, fmt.Sprintf("Printer %d", i), now)
		must(t, err)
		if dev.AuthCodeID != code.ID || dev.AuthMethod != pairgate.AuthByAuthorizationCode || fam.Subject != dev.ID || fam.DeviceID != dev.ID {
			t.Fatalf("device %d: %+v, family %+v", i, dev, fam)
		}
		toks = append(toks, tok)
	}
	for i, tok := range toks {
		if _, live, err := s.LookupRefreshToken(ctx(t), tok, t0.Add(time.Hour)); err != nil || !live {
			t.Fatalf("token of device %d not live: %v", i, err)
		}
	}
	if n, _ := s.CountDevices(ctx(t)); n != 6 {
		t.Fatalf("devices = %d, want 6", n)
	}
	got, err := s.GetAuthorizationCodeByHash(ctx(t), code.CodeHash, t0.Add(time.Hour))
	must(t, err)
	if got.Uses != 6 || !got.LastUsedAt.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("uses %d, last used %v; want 6 and %v", got.Uses, got.LastUsedAt, t0.Add(5*time.Minute))
	}
}

// testAuthorizationCodeSameHardware: docs/design.md 2.1 for codes. The same
// client and hardware id redeeming again without the device's key, even
// with another code, is a new device and leaves the first alone; with the
// key it updates its one device, and the device's earlier family dies.
func testAuthorizationCodeSameHardware(t *testing.T, s pairgate.Store) {
	cl := mkClient(t, s)
	first := mkCode(t, s, pairgate.TTL60Minutes, t0)
	second := mkCode(t, s, pairgate.TTLNever, t0)
	d1, _, tok1, err := redeemCodeWithKey(t, s, cl, first.ID, "SN-42", "Old name", "jkt-42", t0)
	must(t, err)
	later := t0.Add(10 * time.Minute)
	imp, _, _, err := redeemCode(t, s, cl, second.ID, "SN-42", "Impostor", later)
	must(t, err)
	if imp.ID == d1.ID || imp.SameHardwareAs != d1.ID {
		t.Fatalf("a redemption without the key: %+v, first %s", imp, d1.ID)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok1, later); !live {
		t.Fatal("a redemption without the key revoked the device")
	}
	d2, fam2, tok2, err := redeemCodeWithKey(t, s, cl, second.ID, "SN-42", "New name", "jkt-42", later)
	must(t, err)
	if d2.ID != d1.ID {
		t.Fatalf("the device's own key made a second device: %s, %s", d1.ID, d2.ID)
	}
	// The subject was filled in from the stored row, not the new ID the
	// request proposed.
	if fam2.Subject != d1.ID {
		t.Fatalf("family subject %q, want the existing device %q", fam2.Subject, d1.ID)
	}
	dev, err := s.GetDevice(ctx(t), d1.ID)
	must(t, err)
	if dev.Name != "New name" || dev.AuthCodeID != second.ID || !dev.AuthorizedAt.Equal(later) || dev.SameHardwareAs != imp.ID {
		t.Fatalf("device not updated: %+v", dev)
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok1, later); live {
		t.Fatal("the device's earlier family survived its re-authorization")
	}
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok2, later); !live {
		t.Fatal("the new family is not live")
	}
	if n, _ := s.CountDevices(ctx(t)); n != 2 {
		t.Fatalf("devices = %d, want 2", n)
	}
}

func testDeletedAuthorizationCode(t *testing.T, s pairgate.Store) {
	cl := mkClient(t, s)
	code := mkCode(t, s, pairgate.TTLNever, t0)
	dev, _, tok, err := redeemCode(t, s, cl, code.ID, "hw-kept", "Kept", t0)
	must(t, err)
	must(t, s.DeleteAuthorizationCode(ctx(t), code.ID))
	_, _, tok2, err := redeemCode(t, s, cl, code.ID, "hw-after", "After", t0)
	wantCode(t, err, pairgate.EINVALIDGRANT)
	if _, _, err := s.LookupRefreshToken(ctx(t), tok2, t0); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("refused redemption stored a token: %v", err)
	}
	// Re-authorizing a known device with a deleted code changes nothing
	// about it either.
	_, _, _, err = redeemCode(t, s, cl, code.ID, "hw-kept", "Renamed", t0.Add(time.Minute))
	wantCode(t, err, pairgate.EINVALIDGRANT)
	got, err := s.GetDevice(ctx(t), dev.ID)
	must(t, err)
	if got.Name != "Kept" {
		t.Fatalf("refused redemption renamed the device: %+v", got)
	}
	// Deleting a code does not revoke the devices it authorized.
	if _, live, _ := s.LookupRefreshToken(ctx(t), tok, t0); !live {
		t.Fatal("deleting the code revoked a device it had authorized")
	}
	if n, _ := s.CountDevices(ctx(t)); n != 1 {
		t.Fatalf("devices = %d, want 1", n)
	}
	_, _, _, err = redeemCode(t, s, cl, "ac_never_existed", "hw-x", "X", t0)
	wantCode(t, err, pairgate.EINVALIDGRANT)
}

// testAuthorizationCodeDeleteRace: redemptions race a deletion. Each
// redemption either issues completely or writes nothing, none that starts
// after DeleteAuthorizationCode has returned succeeds, and none commits
// after it returned.
func testAuthorizationCodeDeleteRace(t *testing.T, s pairgate.Store) {
	cl := mkClient(t, s)
	code := mkCode(t, s, pairgate.TTLNever, t0)
	const workers = 8
	var deleted atomic.Bool
	var wg sync.WaitGroup
	var mu sync.Mutex
	var wins, lateWins int
	var lost [][]byte
	var nth atomic.Int64
	start := make(chan struct{})
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			for {
				after := deleted.Load()
				n := nth.Add(1)
				_, _, tok, err := redeemCode(t, s, cl, code.ID, fmt.Sprintf("hw-race-%d-%d", w, n), "racer", t0)
				mu.Lock()
				switch pairgate.ErrorCode(err) {
				case "":
					wins++
					if after {
						lateWins++
					}
				case pairgate.EINVALIDGRANT:
					lost = append(lost, tok)
				default:
					t.Errorf("redemption: %v", err)
				}
				mu.Unlock()
				if err != nil {
					return
				}
			}
		}()
	}
	close(start)
	// Let some redemptions through before the code goes.
	for nth.Load() < 2*workers {
		time.Sleep(time.Millisecond)
	}
	must(t, s.DeleteAuthorizationCode(ctx(t), code.ID))
	deleted.Store(true)
	// What the inventory holds once the admin has been told the code is
	// gone is final: a redemption that checked the code before the delete
	// committed must not commit after it.
	atDelete, err := s.CountDevices(ctx(t))
	must(t, err)
	waitOrDump(t, &wg)
	if n, _ := s.CountDevices(ctx(t)); n != atDelete {
		t.Fatalf("%d devices when the deletion returned, %d after: redemptions committed after the code was deleted", atDelete, n)
	}
	if lateWins != 0 {
		t.Fatalf("%d redemptions that started after the code was deleted succeeded", lateWins)
	}
	if wins == 0 {
		t.Fatal("no redemption succeeded before the deletion; the race was not exercised")
	}
	if n, _ := s.CountDevices(ctx(t)); n != wins {
		t.Fatalf("%d devices for %d successful redemptions: a refused one left a device", n, wins)
	}
	for _, tok := range lost {
		if _, _, err := s.LookupRefreshToken(ctx(t), tok, t0); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
			t.Fatalf("a refused redemption left a refresh token: %v", err)
		}
	}
}
