package storetest

import (
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// testTokenStatus: every authorization gets its own status index, and
// every way an authorization ends (revocation, re-authorization, deleting
// the device, its client or its user-mode account) sets the index in the
// same transaction; the bits outlive the rows that named them until every
// token that could carry them has expired.
func testTokenStatus(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	high0, err := s.StatusIndexHighWater(ctx(t))
	must(t, err)
	revoked := func() []int64 {
		t.Helper()
		got, err := s.RevokedStatusIndexes(ctx(t), high0, high0+1000)
		must(t, err)
		return got
	}
	d1, f1 := issuedKeyed(t, s, c, "jkt-st-1")
	_, f2, _ := issued(t, s, c, "st-2")
	_, f3, _ := issued(t, s, c, "st-3")
	if f1.StatusIndex < high0 || f2.StatusIndex == f1.StatusIndex || f3.StatusIndex == f2.StatusIndex {
		t.Fatalf("status indexes %d %d %d (high water was %d)", f1.StatusIndex, f2.StatusIndex, f3.StatusIndex, high0)
	}
	if high, _ := s.StatusIndexHighWater(ctx(t)); high <= f3.StatusIndex {
		t.Fatalf("high water %d, the last index given %d", high, f3.StatusIndex)
	}
	if got := revoked(); len(got) != 0 {
		t.Fatalf("indexes set before anything was revoked: %v", got)
	}
	must(t, s.RevokeRefreshFamily(ctx(t), f2.ID, t0.Add(time.Minute), pairgate.DeviceSignedOut))
	if got := revoked(); !slices.Contains(got, f2.StatusIndex) || len(got) != 1 {
		t.Fatalf("after a revocation: %v, want [%d]", got, f2.StatusIndex)
	}
	// The index is read back with the family; a new authorization of the
	// device ends the one before.
	fam, _, err := s.LookupRefreshToken(ctx(t), mustIssuedHash(t, s, c, d1), t0)
	must(t, err)
	if fam.StatusIndex < 0 || fam.StatusIndex == f1.StatusIndex {
		t.Fatalf("a family read back has index %d", fam.StatusIndex)
	}
	if got := revoked(); !slices.Contains(got, f1.StatusIndex) || slices.Contains(got, fam.StatusIndex) {
		t.Fatalf("after re-authorization: %v, want %d set and %d not", got, f1.StatusIndex, fam.StatusIndex)
	}
	must(t, s.DeleteDevice(ctx(t), d1.ID, t0))
	if got := revoked(); !slices.Contains(got, fam.StatusIndex) {
		t.Fatalf("after deleting a device: %v lacks its index %d", got, fam.StatusIndex)
	}
	d4, f4 := issuedKeyed(t, s, c, "jkt-st-4")
	d4again := *d4
	d4again.ID = id("dev_")
	d4again.AuthorizedAt = t0.Add(time.Hour)
	f5 := family(c.ID, d4.ID, t0.Add(time.Hour))
	f5.DPoPJKT = d4.DPoPJKT
	_, err = s.IssueRefreshFamily(ctx(t), &d4again, f5, newToken(t0.Add(time.Hour)))
	must(t, err)
	if got := revoked(); !slices.Contains(got, f4.StatusIndex) || slices.Contains(got, f5.StatusIndex) {
		t.Fatalf("after re-authorization: %v, want %d set and %d not", got, f4.StatusIndex, f5.StatusIndex)
	}
	// Deleting a client ends its devices' authorizations.
	must(t, s.DeleteClient(ctx(t), c.ID, t0))
	if got := revoked(); !slices.Contains(got, f3.StatusIndex) || !slices.Contains(got, f5.StatusIndex) {
		t.Fatalf("after deleting the client: %v lacks %d or %d", got, f3.StatusIndex, f5.StatusIndex)
	}
	// The bits stay until no token can carry them, then go.
	r, err := s.GarbageCollect(ctx(t), t0.Add(pairgate.StatusRetention-time.Minute))
	must(t, err)
	if r.TokenStatuses != 0 || len(revoked()) == 0 {
		t.Fatalf("GC dropped status bits early: %d", r.TokenStatuses)
	}
	r, err = s.GarbageCollect(ctx(t), t0.Add(pairgate.StatusRetention+time.Hour))
	must(t, err)
	if r.TokenStatuses == 0 || len(revoked()) != 0 {
		t.Fatalf("GC kept status bits past their retention: %d, %v left", r.TokenStatuses, revoked())
	}
}

// issuedKeyed authorizes a device that holds a key (so that it can be
// authorized again as itself).
func issuedKeyed(t *testing.T, s pairgate.Store, c *pairgate.Client, jkt string) (*pairgate.Device, *pairgate.RefreshFamily) {
	t.Helper()
	d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "Kiosk", Mode: pairgate.ModeDevice, DPoPJKT: jkt,
		AuthMethod: pairgate.AuthByAuthorizationCode, Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: t0, LastSeenAt: t0}
	fam := family(c.ID, d.ID, t0)
	fam.DPoPJKT = jkt
	dev, err := s.IssueRefreshFamily(ctx(t), d, fam, newToken(t0))
	must(t, err)
	return dev, fam
}

// mustIssuedHash authorizes the device again, proving its key, and
// returns the new refresh token's hash.
func mustIssuedHash(t *testing.T, s pairgate.Store, c *pairgate.Client, d *pairgate.Device) []byte {
	t.Helper()
	again := *d
	again.ID = id("dev_") // a new row's id, which the proof of the key turns into d's
	fam := family(c.ID, d.ID, t0)
	fam.DPoPJKT = d.DPoPJKT
	tok := newToken(t0)
	_, err := s.IssueRefreshFamily(ctx(t), &again, fam, tok)
	must(t, err)
	return tok.Hash
}

// testStatusIndexesUnderConcurrency: authorizations on any number of
// connections (replicas) never share an index.
func testStatusIndexesUnderConcurrency(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	const n = 30
	var wg sync.WaitGroup
	idx := make([]int64, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			d := &pairgate.Device{ID: id("dev_"), ClientID: c.ID, Name: "K", Mode: pairgate.ModeDevice,
				AuthMethod: pairgate.AuthByAuthorizationCode, Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: t0, LastSeenAt: t0}
			fam := family(c.ID, d.ID, t0)
			_, errs[i] = s.IssueRefreshFamily(ctx(t), d, fam, newToken(t0))
			idx[i] = fam.StatusIndex
		}()
	}
	waitOrDump(t, &wg)
	seen := map[int64]bool{}
	for i := range n {
		must(t, errs[i])
		if seen[idx[i]] || idx[i] < 0 {
			t.Fatalf("status index %d given twice (or negative)", idx[i])
		}
		seen[idx[i]] = true
	}
}
