package storetest

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// testLockouts: a counter that reached its limit is listed with what it
// counts until its window ends, and lifting it forgets it at once.
func testLockouts(t *testing.T, s pairgate.Store) {
	hit := func(c pairgate.RateLimitCounter, n int, now time.Time) {
		t.Helper()
		for range n {
			_, _, err := s.HitRateLimit(ctx(t), c, now)
			must(t, err)
		}
	}
	ip := pairgate.RateLimitCounter{Key: rnd(32), Limit: 3, Window: 10 * time.Minute, Rule: "signin-ip", Subject: "192.0.2.7"}
	acct := pairgate.RateLimitCounter{Key: rnd(32), Limit: 2, Window: 10 * time.Minute, Rule: "signin-account", Subject: "alice"}
	code := pairgate.RateLimitCounter{Key: rnd(32), Limit: 2, Window: 5 * time.Minute, Rule: "code"}
	below := pairgate.RateLimitCounter{Key: rnd(32), Limit: 5, Window: 10 * time.Minute, Rule: "signin-ip", Subject: "192.0.2.8"}
	hit(ip, 4, t0) // one refused attempt past the limit
	hit(acct, 2, t0.Add(time.Minute))
	hit(code, 2, t0)
	hit(below, 4, t0)

	list := func(now time.Time, limit int) []*pairgate.Lockout {
		t.Helper()
		l, err := s.ListLockouts(ctx(t), now, limit)
		must(t, err)
		return l
	}
	got := list(t0.Add(2*time.Minute), 10)
	if len(got) != 3 {
		t.Fatalf("%d lock-outs listed, want 3 (the counter below its limit is none): %+v", len(got), got)
	}
	// The latest to lift first: the account's window started a minute later.
	a, i, c := got[0], got[1], got[2]
	if !bytes.Equal(a.Key, acct.Key) || a.Rule != "signin-account" || a.Subject != "alice" || a.Hits != 2 || a.Limit != 2 ||
		!a.Until.Equal(t0.Add(11*time.Minute)) {
		t.Fatalf("account lock-out: %+v", a)
	}
	if !bytes.Equal(i.Key, ip.Key) || i.Subject != "192.0.2.7" || i.Hits != 4 || i.Limit != 3 || !i.Until.Equal(t0.Add(10*time.Minute)) {
		t.Fatalf("address lock-out: %+v", i)
	}
	if !bytes.Equal(c.Key, code.Key) || c.Rule != "code" || c.Subject != "" || !c.Until.Equal(t0.Add(5*time.Minute)) {
		t.Fatalf("code lock-out: %+v", c)
	}
	if l := list(t0.Add(2*time.Minute), 1); len(l) != 1 || !bytes.Equal(l[0].Key, acct.Key) {
		t.Fatalf("limit 1: %+v", l)
	}
	// A window that ended is no lock-out.
	if l := list(t0.Add(5*time.Minute), 10); len(l) != 2 {
		t.Fatalf("after the code's window: %d lock-outs, want 2", len(l))
	}
	_, err := s.ListLockouts(ctx(t), t0, 0)
	wantCode(t, err, pairgate.EINVALID)

	// Lifting returns the lock-out and forgets the counter: the next
	// attempt is the first of a new window.
	l, err := s.LiftLockout(ctx(t), ip.Key, t0.Add(2*time.Minute))
	must(t, err)
	if l.Subject != "192.0.2.7" || l.Hits != 4 {
		t.Fatalf("lifted: %+v", l)
	}
	_, err = s.LiftLockout(ctx(t), ip.Key, t0.Add(2*time.Minute))
	wantCode(t, err, pairgate.ENOTFOUND)
	if ok, _, err := s.HitRateLimit(ctx(t), ip, t0.Add(3*time.Minute)); err != nil || !ok {
		t.Fatalf("attempt after the lift: allowed %v, %v", ok, err)
	}
	if l := list(t0.Add(3*time.Minute), 10); len(l) != 2 || slices.ContainsFunc(l, func(x *pairgate.Lockout) bool { return bytes.Equal(x.Key, ip.Key) }) {
		t.Fatalf("after the lift: %+v", l)
	}
	// One that lifted by itself, or never was, is not found.
	_, err = s.LiftLockout(ctx(t), code.Key, t0.Add(6*time.Minute))
	wantCode(t, err, pairgate.ENOTFOUND)
	_, err = s.LiftLockout(ctx(t), rnd(32), t0)
	wantCode(t, err, pairgate.ENOTFOUND)
}

// testUpdateClient: an edit changes the name, grants and scopes only; a
// new secret replaces the old.
func testUpdateClient(t *testing.T, s pairgate.Store) {
	pol := pairgate.DeviceFlowPolicy{Disabled: true}
	c := &pairgate.Client{ID: "svc", Name: "Service", SecretHash: rnd(32), GrantTypes: []string{pairgate.GrantRefreshToken},
		Scopes: pairgate.ParseScopes("a"), RequireDPoP: true, CreatedAt: t0, DeviceFlow: pol}
	must(t, s.CreateClient(ctx(t), c))
	must(t, s.UpdateClient(ctx(t), &pairgate.Client{ID: "svc", Name: "Renamed", GrantTypes: []string{pairgate.GrantDeviceCode, pairgate.GrantRefreshToken},
		Scopes: pairgate.ParseScopes("b c")}))
	got, err := s.GetClient(ctx(t), "svc")
	must(t, err)
	if got.Name != "Renamed" || fmt.Sprint(got.GrantTypes) != fmt.Sprint([]string{pairgate.GrantDeviceCode, pairgate.GrantRefreshToken}) ||
		got.Scopes.String() != "b c" || got.Public || !bytes.Equal(got.SecretHash, c.SecretHash) || !got.RequireDPoP ||
		!got.DeviceFlow.Disabled || !got.CreatedAt.Equal(t0) {
		t.Fatalf("after the update: %+v", got)
	}
	wantCode(t, s.UpdateClient(ctx(t), &pairgate.Client{ID: "nobody", Name: "x"}), pairgate.ENOTFOUND)

	next := rnd(32)
	must(t, s.SetClientSecret(ctx(t), "svc", next))
	if got, _ = s.GetClient(ctx(t), "svc"); !bytes.Equal(got.SecretHash, next) {
		t.Fatal("the secret hash was not replaced")
	}
	pub := &pairgate.Client{ID: "pub", Name: "Public", Public: true, GrantTypes: pairgate.AllGrantTypes, CreatedAt: t0}
	must(t, s.CreateClient(ctx(t), pub))
	wantCode(t, s.SetClientSecret(ctx(t), "pub", rnd(32)), pairgate.ECONFLICT)
	if got, _ = s.GetClient(ctx(t), "pub"); got.SecretHash != nil {
		t.Fatal("a public client got a secret")
	}
	wantCode(t, s.SetClientSecret(ctx(t), "nobody", rnd(32)), pairgate.ENOTFOUND)
}

// testListDevicesSorted: every order, both ways, paged in small pages
// over many ties, yields every device exactly once, in the order the
// values and then the IDs give.
func testListDevicesSorted(t *testing.T, s pairgate.Store) {
	c1, c2 := mkClient(t, s), mkClient(t, s)
	var all []*pairgate.Device
	methods := []string{pairgate.AuthByAuthorizationCode, pairgate.AuthByDeviceCode, pairgate.AuthByPairing}
	for i := range 23 {
		c := c1
		if i%2 == 1 {
			c = c2
		}
		seen := t0.Add(time.Duration(i%4) * time.Minute) // ties by fours
		if i%7 == 0 {
			seen = time.Time{} // never seen: stored as 0
		}
		d := &pairgate.Device{ID: fmt.Sprintf("dev_s%03d", (i*7)%23), ClientID: c.ID, Name: fmt.Sprintf("Printer %d", i%3),
			Mode: pairgate.ModeDevice, AuthMethod: methods[i%3], AuthorizedAt: t0.Add(-time.Duration(i%5) * time.Hour),
			LastSeenAt: seen, LastIP: fmt.Sprintf("192.0.2.%d", i%6)}
		_, err := s.IssueRefreshFamily(ctx(t), d, family(c.ID, d.ID, t0), newToken(t0))
		must(t, err)
		if i%5 == 0 {
			must(t, s.DeleteDevice(ctx(t), d.ID, t0)) // gone from the list
			continue
		}
	}
	// Some devices change state, so that the state order has ties too.
	every, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{})
	must(t, err)
	for i, d := range every {
		if i%3 == 0 {
			must(t, s.RevokeRefreshFamily(ctx(t), d.FamilyID, t0, pairgate.DeviceSignedOut))
		}
	}
	all, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{})
	must(t, err)
	// With a term every device matches, the few it finds are sorted
	// rather than found along the order's index: the same pages.
	for _, sort := range pairgate.DeviceSorts {
		for _, desc := range []bool{false, true} {
			for _, search := range []string{"", "printer"} {
				want := slices.Clone(all)
				slices.SortFunc(want, func(a, b *pairgate.Device) int {
					ka, kb := pairgate.DeviceSortKey(a, sort), pairgate.DeviceSortKey(b, sort)
					r := 0
					if sort == pairgate.SortByAuthorized || sort == pairgate.SortByLastSeen {
						r = cmpNumeric(ka, kb)
					} else {
						r = strings.Compare(ka, kb)
					}
					if r == 0 {
						r = strings.Compare(a.ID, b.ID)
					}
					if desc {
						r = -r
					}
					return r
				})
				var got []string
				after := ""
				for range len(all) + 1 {
					page, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: search, Sort: sort, Desc: desc, After: after, Limit: 4})
					must(t, err)
					for _, d := range page {
						got = append(got, d.ID)
					}
					if len(page) < 4 {
						break
					}
					after = pairgate.DeviceCursor(page[len(page)-1], sort)
				}
				var wantIDs []string
				for _, d := range want {
					wantIDs = append(wantIDs, d.ID)
				}
				if fmt.Sprint(got) != fmt.Sprint(wantIDs) {
					t.Fatalf("sort %s desc %v search %q:\n got %v\nwant %v", sort, desc, search, got, wantIDs)
				}
			}
		}
	}
	// A filter and an order together.
	page, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{ClientID: c2.ID, Sort: pairgate.SortByLastSeen, Desc: true})
	must(t, err)
	for i, d := range page {
		if d.ClientID != c2.ID || i > 0 && page[i-1].LastSeenAt.Before(d.LastSeenAt) {
			t.Fatalf("client %s by last seen, descending: %+v", c2.ID, page)
		}
	}
	// A cursor that is no cursor of the order, and an order that is none.
	_, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{Sort: pairgate.SortByName, After: "dev_s001"})
	wantCode(t, err, pairgate.EINVALID)
	_, err = s.ListDevices(ctx(t), pairgate.DeviceFilter{Sort: "colour"})
	wantCode(t, err, pairgate.EINVALID)
	// A cursor of a device deleted meanwhile still continues after it.
	first, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Sort: pairgate.SortByName, Limit: 3})
	must(t, err)
	must(t, s.DeleteDevice(ctx(t), first[2].ID, t0))
	rest, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Sort: pairgate.SortByName, After: pairgate.DeviceCursor(first[2], pairgate.SortByName)})
	must(t, err)
	if len(rest) != len(all)-3 || slices.ContainsFunc(rest, func(d *pairgate.Device) bool { return d.ID == first[0].ID || d.ID == first[1].ID }) {
		t.Fatalf("after a deleted cursor device: %d devices, want %d", len(rest), len(all)-3)
	}
}

func cmpNumeric(a, b string) int {
	if len(a) != len(b) {
		// Unix nanoseconds of one era, or 0: the shorter is the smaller.
		return len(a) - len(b)
	}
	return strings.Compare(a, b)
}
