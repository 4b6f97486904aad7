package authn

import (
	"context"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/sqlstore"
)

// countingStore counts the TouchDevices calls and the touches in them.
type countingStore struct {
	pairgate.Store
	mu      sync.Mutex
	calls   int
	touches int
	first   time.Time // when the first call came
	fail    error
}

func (c *countingStore) TouchDevices(ctx context.Context, seen []pairgate.DeviceSeen) error {
	c.mu.Lock()
	if c.calls == 0 {
		c.first = time.Now()
	}
	c.calls++
	c.touches += len(seen)
	fail := c.fail
	c.mu.Unlock()
	if fail != nil {
		return fail
	}
	return c.Store.TouchDevices(ctx, seen)
}

func (c *countingStore) counts() (calls, touches int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.calls, c.touches
}

func seenStore(t *testing.T, devices int, at time.Time) (*countingStore, []string) {
	t.Helper()
	ctx := context.Background()
	s, err := sqlstore.Open(ctx, filepath.Join(t.TempDir(), "pairgate.db"), sqlstore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	if err := s.CreateClient(ctx, &pairgate.Client{ID: pairgate.DefaultClientID, Name: "Print Client", Public: true,
		GrantTypes: pairgate.AllGrantTypes, Scopes: pairgate.ParseScopes("printing"), CreatedAt: at}); err != nil {
		t.Fatal(err)
	}
	batch := &pairgate.ImportBatch{}
	var ids []string
	for i := range devices {
		id := fmt.Sprintf("dev_seen_%04d", i)
		ids = append(ids, id)
		batch.Devices = append(batch.Devices, pairgate.ImportedDevice{Device: pairgate.Device{ID: id, ClientID: pairgate.DefaultClientID,
			Name: "Kiosk", Mode: pairgate.ModeDevice, AuthMethod: pairgate.AuthByDeviceCode, Scopes: pairgate.Scopes{"printing"},
			AuthorizedAt: at, LastSeenAt: at, LastIP: "192.0.2.1"}})
	}
	if err := s.ImportDevices(ctx, batch); err != nil {
		t.Fatal(err)
	}
	return &countingStore{Store: s}, ids
}

func lastSeenOf(t *testing.T, s pairgate.Store, id string) (time.Time, string) {
	t.Helper()
	d, err := s.GetDevice(context.Background(), id)
	if err != nil {
		t.Fatal(err)
	}
	return d.LastSeenAt, d.LastIP
}

// TestLastSeenCoalescesAndWritesWithinASecond: many notes of a few devices
// become one write of each device's latest, in a second, without the
// caller waiting; an earlier note that arrives last does not win.
func TestLastSeenCoalescesAndWritesWithinASecond(t *testing.T) {
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	s, ids := seenStore(t, 3, t0)
	l := NewLastSeen(s, slog.New(slog.DiscardHandler))
	defer l.Close()
	for i := range 300 {
		id := ids[i%3]
		l.Seen(pairgate.DeviceSeen{ID: id, IP: fmt.Sprintf("198.51.100.%d", i), At: t0.Add(time.Duration(i) * time.Second)})
	}
	l.Seen(pairgate.DeviceSeen{ID: ids[0], IP: "203.0.113.1", At: t0.Add(time.Second)}) // late, and older
	deadline := time.Now().Add(3 * time.Second)
	for {
		at, ip := lastSeenOf(t, s, ids[2])
		if at.Equal(t0.Add(299*time.Second)) && ip == "198.51.100.299" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("not written within 3 s: %v from %s", at, ip)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if at, ip := lastSeenOf(t, s, ids[0]); !at.Equal(t0.Add(297*time.Second)) || ip != "198.51.100.297" {
		t.Fatalf("device 0: %v from %s, want its latest note", at, ip)
	}
	if calls, touches := s.counts(); calls != 1 || touches != 3 {
		t.Fatalf("%d writes of %d touches, want one write of 3", calls, touches)
	}
}

// TestLastSeenKeepsWhatFailedAndWritesAtClose: a write that fails keeps its
// notes (behind newer ones) for the next; Close writes what is left.
func TestLastSeenKeepsWhatFailedAndWritesAtClose(t *testing.T) {
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	s, ids := seenStore(t, 2, t0)
	l := NewLastSeen(s, slog.New(slog.DiscardHandler))
	s.fail = &pairgate.Error{Code: pairgate.EUNAVAILABLE, Message: "database down"}
	l.Seen(pairgate.DeviceSeen{ID: ids[0], IP: "198.51.100.1", At: t0.Add(time.Minute)})
	l.Seen(pairgate.DeviceSeen{ID: ids[1], IP: "198.51.100.2", At: t0.Add(time.Minute)})
	if err := l.Flush(context.Background()); err == nil {
		t.Fatal("a failed write reported success")
	}
	l.Seen(pairgate.DeviceSeen{ID: ids[1], IP: "198.51.100.3", At: t0.Add(2 * time.Minute)})
	s.mu.Lock()
	s.fail = nil
	s.mu.Unlock()
	l.Close()
	if at, ip := lastSeenOf(t, s, ids[0]); !at.Equal(t0.Add(time.Minute)) || ip != "198.51.100.1" {
		t.Fatalf("device 0 after close: %v from %s", at, ip)
	}
	if at, ip := lastSeenOf(t, s, ids[1]); !at.Equal(t0.Add(2*time.Minute)) || ip != "198.51.100.3" {
		t.Fatalf("device 1 after close: %v from %s, want the newer note", at, ip)
	}
}

// TestLastSeenWritesAFullBatchAtOnce: a thousand devices noted are written
// without waiting for the second to end.
func TestLastSeenWritesAFullBatchAtOnce(t *testing.T) {
	t0 := time.Now().Add(-time.Hour).Truncate(time.Millisecond)
	s, ids := seenStore(t, lastSeenBatch, t0)
	l := NewLastSeen(s, slog.New(slog.DiscardHandler))
	defer l.Close()
	for _, id := range ids {
		l.Seen(pairgate.DeviceSeen{ID: id, IP: "198.51.100.9", At: t0.Add(time.Minute)})
	}
	noted := time.Now()
	for deadline := noted.Add(10 * time.Second); ; time.Sleep(10 * time.Millisecond) {
		if _, touches := s.counts(); touches >= lastSeenBatch || time.Now().After(deadline) {
			break
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.touches != lastSeenBatch || s.first.Sub(noted) > lastSeenEvery/2 {
		t.Fatalf("%d touches, the first write %v after the last note: a full batch waited for the tick", s.touches, s.first.Sub(noted))
	}
}
