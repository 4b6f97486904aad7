package sqlstore_test

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

// TestSearchByRarestTrigrams: a search asks the trigram index (SQLite's
// FTS5 table, PostgreSQL's pg_trgm GIN) for the rarest few of its term's
// trigrams and checks the rest with LIKE. Whatever the estimate says —
// sampled from the inventory, empty, or upside down — a search finds
// exactly the devices whose text contains the term, as a scan of every
// device would; with the sampled one, a serial number's search leaves out
// the trigrams every device has, and PostgreSQL's query lets its index
// look up only the few (the whole pattern would read every trigram's
// list).
func TestSearchByRarestTrigrams(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		pg := strings.HasSuffix(t.Name(), "/Postgres")
		t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
		if err := s.CreateClient(ctx, &pairgate.Client{ID: pairgate.DefaultClientID, Name: "Print Client", Public: true,
			GrantTypes: pairgate.AllGrantTypes, Scopes: pairgate.ParseScopes("printing"), CreatedAt: t0}); err != nil {
			t.Fatal(err)
		}
		batch := &pairgate.ImportBatch{}
		names := []string{"Lab Printer", "Office printer", `Kiosk "Lobby"`, "Front 100% desk", "Café kiosk", "ÉCOLE Printer", "Back_office"}
		for i := range 1200 {
			batch.Devices = append(batch.Devices, pairgate.ImportedDevice{Device: pairgate.Device{
				ID: fmt.Sprintf("dev_rt_%05d", i), ClientID: pairgate.DefaultClientID, Name: fmt.Sprintf("%s %d", names[i%len(names)], i%97),
				HardwareID: fmt.Sprintf("SN%08d-%04x", i, (i*7919)&0xffff), Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByDeviceCode,
				Scopes: pairgate.Scopes{"printing"}, AuthorizedAt: t0, LastSeenAt: t0, LastIP: fmt.Sprintf("10.%d.%d.%d", i>>16&255, i>>8&255, i&255)}})
		}
		if err := s.ImportDevices(ctx, batch); err != nil {
			t.Fatal(err)
		}
		want := func(term string) []string {
			var ids []string
			for _, d := range batch.Devices {
				text := strings.Join([]string{d.Device.Name, d.Device.HardwareID, d.Device.ID, d.Device.LastIP}, "\x1f")
				if strings.Contains(s.Lower(text), s.Lower(term)) {
					ids = append(ids, d.Device.ID)
				}
			}
			return ids
		}
		got := func(term string) []string {
			var ids []string
			after := ""
			for {
				page, err := s.ListDevices(ctx, pairgate.DeviceFilter{Search: term, After: after, Limit: 500})
				if err != nil {
					t.Fatalf("search %q: %v", term, err)
				}
				for _, d := range page {
					ids = append(ids, d.ID)
				}
				if len(page) < 500 {
					return ids
				}
				after = page[len(page)-1].ID
			}
		}
		terms := []string{"SN00001034", "sn0000", "0000", "printer", "zqxj-none", "100% desk", `"lobby"`, "dev_rt_0299", "10.0.11.",
			"-1b", "café", "École", "ab", "x", "kiosk \"l", "k_off", "1.2"}
		n, counts, err := s.SampleTrigrams(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if n < 600 || counts["sn0"] < uint16(n) {
			t.Fatalf("a sample of %d devices counted 'sn0' %d times; every device has it", n, counts["sn0"])
		}
		upsideDown := map[string]uint16{}
		for g, c := range counts {
			upsideDown[g] = uint16(n) - c
		}
		for _, est := range []struct {
			name   string
			counts map[string]uint16
		}{{"sampled", counts}, {"empty", map[string]uint16{}}, {"upside down", upsideDown}} {
			s.UseTrigramEstimate(n, est.counts)
			for _, term := range terms {
				if g, w := got(term), want(term); !slices.Equal(g, w) {
					t.Errorf("%s estimate, search %q: %d devices, want %d", est.name, term, len(g), len(w))
				}
			}
		}
		s.UseTrigramEstimate(n, counts)
		grams := s.RarestTrigrams("SN00001034")
		if len(grams) != sqlstore.MatchTrigrams || slices.Contains(grams, "sn0") || slices.Contains(grams, "000") {
			t.Errorf("rarest trigrams of a serial number: %q", grams)
		}
		if s.RarestTrigrams("École") != nil || s.RarestTrigrams("ab") != nil {
			t.Error("a term that is not ASCII or has no trigram got trigrams")
		}
		// A term whose every trigram most devices have: PostgreSQL looks
		// the whole pattern up (its bitmap scan would read the common
		// lists whole), SQLite still asks for the rarest.
		if got := s.RarestTrigrams("SN0000"); (got == nil) != pg {
			t.Errorf("trigrams of a common term: %q", got)
		}
		// The whole pattern is checked only where no index answers it: a
		// test's thousand devices are planned as a scan whatever the
		// query, so the query itself is what shows it. On PostgreSQL, LIKE
		// on the index's expression is a lookup of every trigram of the
		// pattern; the check is on the expression with '' appended.
		q, args, err := s.SearchQuery(ctx, "SN00001034")
		if err != nil {
			t.Fatal(err)
		}
		bound := false
		for i, a := range args {
			if a != "%sn00001034%" {
				continue
			}
			bound = true
			p := fmt.Sprintf("$%d", i+1)
			if pg && (strings.Contains(q, "last_ip) LIKE "+p+" ") || !strings.Contains(q, "|| '') LIKE "+p+" ")) {
				t.Errorf("the whole pattern %s may be looked up in the trigram index:\n%s", p, q)
			}
		}
		if !bound {
			t.Errorf("the search query does not check the whole pattern: %s %v", q, args)
		}
	})
}

// TestSearchTrigramsThePostgreSQLIndexHolds: pg_trgm indexes the trigrams
// of words (letters and digits), so a trigram with anything else in it is
// never one of the few a PostgreSQL search asks for; SQLite's trigram
// table holds every three characters.
func TestSearchTrigramsThePostgreSQLIndexHolds(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		s.UseTrigramEstimate(100, map[string]uint16{}) // all equally rare: the term's order
		pg := strings.HasSuffix(t.Name(), "/Postgres")
		for term, want := range map[string][]string{
			"10.11":    {"10.", "0.1", ".11"},
			"k_off":    {"k_o", "_of", "off"},
			"1.2":      {"1.2"},
			"serial99": {"ser", "eri", "ria"},
		} {
			if pg {
				want = slices.DeleteFunc(slices.Clone(want), func(g string) bool { return strings.ContainsAny(g, "._") })
			}
			got := s.RarestTrigrams(term)
			if len(want) == 0 {
				want = nil
			}
			if !slices.Equal(got, want) {
				t.Errorf("%q: trigrams %q, want %q", term, got, want)
			}
		}
	})
}
