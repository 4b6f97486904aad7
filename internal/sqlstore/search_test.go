package sqlstore

import (
	"context"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
)

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
