package storetest

import (
	"fmt"
	"testing"

	"github.com/pairgate/pairgate"
)

// testSearch: substring search, case-insensitive, over name, hardware id,
// id and address; a rare term (found through the trigram index) and a
// common one (found in id order) both page correctly, and a renamed or
// deleted device is found by what it is now.
func testSearch(t *testing.T, s pairgate.Store) {
	c := mkClient(t, s)
	const printers = 2100 // more than the store's cap for a rare term
	for i := range printers {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_search_%05d", i), ClientID: c.ID, Name: fmt.Sprintf("Printer %d", i),
			HardwareID: fmt.Sprintf("PRN-%05d", i), Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByAuthorizationCode,
			Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: t0, LastSeenAt: t0, LastIP: fmt.Sprintf("10.1.%d.%d", i/250, i%250)}
		_, err := s.IssueRefreshFamily(ctx(t), d, family(c.ID, d.ID, t0), newToken(t0))
		must(t, err)
	}
	for i, name := range []string{"Kiosk Lobby", "kiosk CAFÉ", "Front 100% desk"} {
		d := &pairgate.Device{ID: fmt.Sprintf("dev_search_k%d", i), ClientID: c.ID, Name: name, Mode: pairgate.ModeDevice,
			AuthMethod: pairgate.AuthByAuthorizationCode, Scopes: pairgate.ParseScopes("printing"), AuthorizedAt: t0, LastSeenAt: t0}
		_, err := s.IssueRefreshFamily(ctx(t), d, family(c.ID, d.ID, t0), newToken(t0))
		must(t, err)
	}
	all := func(q string) []string {
		t.Helper()
		var ids []string
		after := ""
		for {
			page, err := s.ListDevices(ctx(t), pairgate.DeviceFilter{Search: q, After: after, Limit: 500})
			must(t, err)
			for _, d := range page {
				ids = append(ids, d.ID)
			}
			if len(page) < 500 {
				return ids
			}
			after = page[len(page)-1].ID
		}
	}
	for q, want := range map[string]int{
		"KIOSK":        2,        // rare: through the index
		"zzz":          0,        // missing
		"printer":      printers, // common: in id order
		"prn-0001":     10,       // a hardware id's prefix, inside the text
		"10.1.3.":      250,      // an address
		"100% desk":    1,        // LIKE's wildcards are text
		"dev_search_k": 3,        // '_' too
		"CAFÉ":         1,        // not ASCII (lower case is ASCII-only on SQLite, Unicode on PostgreSQL)
	} {
		if got := all(q); len(got) != want {
			t.Errorf("search %q: %d devices, want %d", q, len(got), want)
		}
	}
	// A short term has no trigram: it is found all the same.
	if got := all("ka"); len(got) != 0 {
		t.Errorf("search 'ka': %d", len(got))
	}
	if got := all("K"); len(got) < 3 {
		t.Errorf("search 'K': %d", len(got))
	}
	// What a device is now is what is found.
	must(t, s.DeleteDevice(ctx(t), "dev_search_k0", t0))
	if got := all("lobby"); len(got) != 0 {
		t.Errorf("a deleted device is still found: %v", got)
	}
	touch(t, s, "dev_search_k1", "192.0.2.77", t0)
	if got := all("192.0.2.77"); len(got) != 1 {
		t.Errorf("a device's new address is not found: %v", got)
	}
}
