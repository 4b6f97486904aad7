package sqlstore

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

// TestSearchByRarestTrigrams: on SQLite a search asks the trigram index
// for the rarest few of its term's trigrams and checks the rest with
// LIKE. Whatever the estimate says — taken from the inventory, empty, or
// upside down — a search finds exactly the devices whose text contains
// the term, as a scan of every device would.
func TestSearchByRarestTrigrams(t *testing.T) {
	ctx := context.Background()
	s := tempSQLite(t)
	t0 := time.Date(2026, 11, 1, 0, 0, 0, 0, time.UTC)
	if err := s.CreateClient(ctx, &pairgate.Client{ID: pairgate.DefaultClientID, Name: "Print Client", Public: true,
		GrantTypes: pairgate.AllGrantTypes, Scopes: pairgate.ParseScopes("printing"), CreatedAt: t0}); err != nil {
		t.Fatal(err)
	}
	batch := &pairgate.ImportBatch{}
	names := []string{"Lab Printer", "Office printer", `Kiosk "Lobby"`, "Front 100% desk", "Café kiosk", "ÉCOLE Printer"}
	for i := range 3000 {
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
			if strings.Contains(s.d.lower(text), s.d.lower(term)) {
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
	terms := []string{"SN00001234", "sn0000", "0000", "printer", "zqxj-none", "100% desk", `"lobby"`, "dev_rt_0299", "10.0.11.",
		"-1b", "café", "École", "ab", "x", "kiosk \"l"}
	sample, err := s.sampleTrigrams(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if sample.n < 1000 || sample.counts["sn0"] < uint16(sample.n) {
		t.Fatalf("a sample of %d devices counted 'sn0' %d times; every device has it", sample.n, sample.counts["sn0"])
	}
	upsideDown := &trigramSample{taken: time.Now(), n: sample.n, counts: map[string]uint16{}}
	for g, n := range sample.counts {
		upsideDown.counts[g] = uint16(sample.n) - n
	}
	for name, est := range map[string]*trigramSample{"sampled": sample, "empty": {taken: time.Now(), counts: map[string]uint16{}}, "upside down": upsideDown} {
		s.trigrams.cur.Store(est)
		for _, term := range terms {
			if g, w := got(term), want(term); !slices.Equal(g, w) {
				t.Errorf("%s estimate, search %q: %d devices, want %d", name, term, len(g), len(w))
			}
		}
	}
	// The sampled estimate asks for the serial number's rare trigrams,
	// not the "sn0" and "000" that every device has.
	s.trigrams.cur.Store(sample)
	grams := s.rarest("SN00001234")
	if len(grams) != matchTrigrams || slices.Contains(grams, "sn0") || slices.Contains(grams, "000") {
		t.Errorf("rarest trigrams of a serial number: %q", grams)
	}
	if s.rarest("École") != nil || s.rarest("ab") != nil {
		t.Error("a term that is not ASCII or has no trigram got trigrams")
	}
}

// TestSearchEstimateIsTakenAndRenewed: the first search has an estimate
// taken in the background; one older than sampleEvery is taken again.
func TestSearchEstimateIsTakenAndRenewed(t *testing.T) {
	ctx := context.Background()
	s := tempSQLite(t)
	now := time.Now()
	s.trigrams.now = func() time.Time { return now }
	if _, err := s.ListDevices(ctx, pairgate.DeviceFilter{Search: "printer"}); err != nil {
		t.Fatal(err)
	}
	s.trigrams.wg.Wait()
	first := s.trigrams.cur.Load()
	if first == nil {
		t.Fatal("no estimate after the first search")
	}
	now = now.Add(sampleEvery + time.Second)
	if _, err := s.ListDevices(ctx, pairgate.DeviceFilter{Search: "printer"}); err != nil {
		t.Fatal(err)
	}
	s.trigrams.wg.Wait()
	if s.trigrams.cur.Load() == first {
		t.Fatal("an old estimate was not renewed")
	}
}
