package storetest

import (
	"fmt"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// importBatch is n devices of client c, each with a revoked family and a
// live one (its tokens: one rotated out, one live that expires at
// expires) and two audit events; every third came in with code.
func importBatch(c *pairgate.Client, code *pairgate.AuthorizationCode, n int, tag string, expires time.Time) (*pairgate.ImportBatch, [][]byte) {
	b := &pairgate.ImportBatch{}
	if code != nil {
		b.Codes = []*pairgate.AuthorizationCode{code}
	}
	live := make([][]byte, n)
	for i := range n {
		d := pairgate.Device{ID: fmt.Sprintf("dev_imp_%s_%05d", tag, i), ClientID: c.ID, Name: fmt.Sprintf("Imported %s %05d", tag, i),
			HardwareID: fmt.Sprintf("hw-%s-%05d", tag, i), Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByDeviceCode,
			Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: t0.Add(-time.Hour), LastSeenAt: t0.Add(-time.Minute), LastIP: "192.0.2.7"}
		if code != nil && i%3 == 0 {
			d.AuthMethod, d.AuthCodeID = pairgate.AuthByAuthorizationCode, code.ID
		}
		old := pairgate.ImportedFamily{Family: pairgate.RefreshFamily{ID: d.ID + "_f1", ClientID: c.ID, Scopes: d.Scopes,
			CreatedAt: t0.Add(-48 * time.Hour), RevokedAt: t0.Add(-time.Hour)},
			Tokens: []pairgate.ImportedRefreshToken{{Hash: rnd(32), Generation: 1, IssuedAt: t0.Add(-48 * time.Hour), ExpiresAt: t0.Add(24 * time.Hour)}}}
		live[i] = rnd(32)
		cur := pairgate.ImportedFamily{Family: pairgate.RefreshFamily{ID: d.ID + "_f2", ClientID: c.ID, Scopes: d.Scopes, CreatedAt: t0.Add(-time.Hour)},
			Tokens: []pairgate.ImportedRefreshToken{
				{Hash: rnd(32), Generation: 1, IssuedAt: t0.Add(-time.Hour), ExpiresAt: t0.Add(24 * time.Hour), RotatedAt: t0.Add(-30 * time.Minute)},
				{Hash: live[i], Generation: 2, IssuedAt: t0.Add(-30 * time.Minute), ExpiresAt: expires},
			}}
		b.Devices = append(b.Devices, pairgate.ImportedDevice{Device: d, Families: []pairgate.ImportedFamily{old, cur},
			Audit: []pairgate.AuditEvent{
				{ID: fmt.Sprintf("ev_imp_%s_%05d_a", tag, i), Time: t0.Add(-48 * time.Hour), Action: pairgate.AuditDeviceAuthorized,
					ActorType: pairgate.ActorDevice, Target: d.ID, Details: map[string]string{"source": "import"}},
				{ID: fmt.Sprintf("ev_imp_%s_%05d_b", tag, i), Time: t0.Add(-time.Hour), Action: pairgate.AuditDeviceAuthorized,
					ActorType: pairgate.ActorDevice, Target: d.ID},
			}})
	}
	return b, live
}

// testImportDevices: a batch larger than one statement's parameters
// (SQLite allows 32766) is stored whole — devices in their state with
// their live family, tokens that rotate, revoked families published in
// the status lists, audit history, the count and the search index kept —
// and a batch that collides or contradicts itself writes nothing.
func testImportDevices(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	code := &pairgate.AuthorizationCode{ID: id("ac_"), CodeHash: rnd(32), SealedCode: rnd(40), TTL: pairgate.TTLNever,
		CreatedAt: t0.Add(-72 * time.Hour), CreatedBy: "usr_import", Uses: 700}
	const n = 2100 // devices: 18 columns, so two statements; tokens: three per device
	b, live := importBatch(c, code, n, "a", t0.Add(24*time.Hour))
	before, err := s.StatusIndexHighWater(ctx(t))
	must(t, err)
	start := time.Now()
	must(t, s.ImportDevices(ctx(t), b))
	t.Logf("imported %d devices, %d families, %d tokens and %d events in %v", n, 2*n, 3*n, 2*n, time.Since(start))

	if got, err := s.CountDevices(ctx(t)); err != nil || got != n {
		t.Fatalf("count after import: %d, %v; want %d", got, err, n)
	}
	d, err := s.GetDevice(ctx(t), "dev_imp_a_00003")
	must(t, err)
	if d.State != pairgate.DeviceActive || d.FamilyID != "dev_imp_a_00003_f2" || d.AuthCodeID != code.ID ||
		!d.StateChangedAt.Equal(t0.Add(-time.Hour)) || !d.LastSeenAt.Equal(t0.Add(-time.Minute)) || d.Name != "Imported a 00003" {
		t.Fatalf("imported device read back as %+v", d)
	}
	got, err := s.GetAuthorizationCodeByHash(ctx(t), code.CodeHash, t0)
	must(t, err)
	if got.ID != code.ID || got.Uses != 700 {
		t.Fatalf("imported code read back as %+v", got)
	}
	fam, isLive, err := s.LookupRefreshToken(ctx(t), live[7], t0)
	must(t, err)
	if !isLive || fam.ID != "dev_imp_a_00007_f2" || fam.Generation != 2 || fam.DeviceID != "dev_imp_a_00007" || fam.Subject != "dev_imp_a_00007" {
		t.Fatalf("imported live token: live %v, family %+v", isLive, fam)
	}
	rot, err := s.RotateRefreshToken(ctx(t), live[7], newToken(t0), "192.0.2.8", t0, time.Minute, nil)
	must(t, err)
	if rot.Family.Generation != 3 || rot.Family.DeviceID != "dev_imp_a_00007" {
		t.Fatalf("rotating an imported token: %+v", rot.Family)
	}
	// Every family got its own status index; the revoked ones are
	// published as revoked, the live ones not.
	after, err := s.StatusIndexHighWater(ctx(t))
	must(t, err)
	if after-before < 2*n {
		t.Fatalf("status indexes: %d allocated for %d families", after-before, 2*n)
	}
	revoked, err := s.RevokedStatusIndexes(ctx(t), before, after)
	must(t, err)
	if len(revoked) != n {
		t.Fatalf("%d revoked status indexes, want %d (one per imported revoked family)", len(revoked), n)
	}
	if revoked, err := s.RevokedStatusIndexes(ctx(t), fam.StatusIndex, fam.StatusIndex+1); err != nil || len(revoked) != 0 {
		t.Fatalf("a live imported family is published as revoked (%v)", err)
	}
	evs, err := s.ListAuditEvents(ctx(t), pairgate.AuditFilter{Target: "dev_imp_a_02099"})
	must(t, err)
	if len(evs) != 2 || evs[1].Details["source"] != "import" {
		t.Fatalf("imported history: %+v", evs)
	}
	found, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: "ported a 0209"})
	must(t, err)
	if len(found) != 10 {
		t.Fatalf("search of imported names found %d, want 10", len(found))
	}

	// A taken device ID: ECONFLICT, and nothing of the batch, its new
	// code included, is stored.
	code2 := &pairgate.AuthorizationCode{ID: id("ac_"), CodeHash: rnd(32), SealedCode: rnd(40), TTL: pairgate.TTLNever, CreatedAt: t0}
	b2, _ := importBatch(c, code2, 5, "b", t0.Add(time.Hour))
	b2.Devices[4].Device.ID = "dev_imp_a_00001"
	wantCode(t, s.ImportDevices(ctx(t), b2), pairgate.ECONFLICT)
	if _, err := s.GetAuthorizationCodeByHash(ctx(t), code2.CodeHash, t0); pairgate.ErrorCode(err) != pairgate.ENOTFOUND {
		t.Fatalf("a code of a refused batch was stored: %v", err)
	}
	if got, _ := s.CountDevices(ctx(t)); got != n {
		t.Fatalf("a refused batch changed the count to %d", got)
	}
	// Two live families, an unknown client: EINVALID.
	b3, _ := importBatch(c, nil, 1, "c", t0.Add(time.Hour))
	b3.Devices[0].Families[0].Family.RevokedAt = time.Time{}
	wantCode(t, s.ImportDevices(ctx(t), b3), pairgate.EINVALID)
	b4, _ := importBatch(&pairgate.Client{ID: "no-such-client"}, nil, 1, "d", t0.Add(time.Hour))
	wantCode(t, s.ImportDevices(ctx(t), b4), pairgate.EINVALID)

	// Imported rows are like any other to the cleanup: a batch whose
	// live tokens lapsed expires its devices.
	b5, _ := importBatch(c, nil, 3, "e", t0.Add(-time.Second))
	must(t, s.ImportDevices(ctx(t), b5))
	r, err := s.GarbageCollect(ctx(t), t0)
	must(t, err)
	if r.DevicesExpired != 3 {
		t.Fatalf("GC expired %d imported devices whose token lapsed, want 3", r.DevicesExpired)
	}
	if d, err := s.GetDevice(ctx(t), "dev_imp_e_00002"); err != nil || d.State != pairgate.DeviceExpired {
		t.Fatalf("an imported device whose token lapsed: %+v, %v", d, err)
	}
}
