package authn

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
)

// LastSeen records when devices were last seen without making their
// requests wait for the write. Writing it in the request cost a device API
// call a transaction of its own on PostgreSQL, where the update of an
// indexed column writes every index of the devices table (22, 1.4 GB at a
// million devices): the first calls of the day waited for it (p99 1.6× of
// what it is at a thousand devices). Requests now note the time here;
// notes of one device are coalesced, and every second the latest of each
// is written in batches (Store.TouchDevices), in id order, in a few
// transactions for all. A touch that is written late never moves a device
// back. What a crash loses is at most the last second's notes, which the
// next request of each device writes again: last-seen times are only ever
// minutes-precise (touchEvery), and the inactivity sweep counts in days.
type LastSeen struct {
	store pairgate.Store
	log   *slog.Logger

	mu      sync.Mutex
	pending map[string]pairgate.DeviceSeen

	kick chan struct{}
	quit chan struct{}
	done chan struct{}
	once sync.Once
}

const (
	// lastSeenEvery is how long a note waits to be written at most.
	lastSeenEvery = time.Second
	// lastSeenBatch notes waiting have them written at once.
	lastSeenBatch = 1000
	// lastSeenMax bounds the notes kept while the store cannot take them;
	// beyond it, devices seen for the first time since are not noted.
	lastSeenMax = 200_000
)

// NewLastSeen starts a recorder of last-seen times; Close writes what it
// holds and stops it.
func NewLastSeen(store pairgate.Store, log *slog.Logger) *LastSeen {
	if store == nil || log == nil {
		panic("authn.NewLastSeen: store and logger are required")
	}
	l := &LastSeen{store: store, log: log, pending: map[string]pairgate.DeviceSeen{},
		kick: make(chan struct{}, 1), quit: make(chan struct{}), done: make(chan struct{})}
	go l.run()
	return l
}

// Seen notes a request of a device. It never blocks on the store.
func (l *LastSeen) Seen(d pairgate.DeviceSeen) {
	l.mu.Lock()
	l.note(d)
	n := len(l.pending)
	l.mu.Unlock()
	if n >= lastSeenBatch {
		select {
		case l.kick <- struct{}{}:
		default:
		}
	}
}

// note keeps d unless a later request of its device is noted; l.mu held.
func (l *LastSeen) note(d pairgate.DeviceSeen) {
	cur, ok := l.pending[d.ID]
	if ok && cur.At.After(d.At) {
		return
	}
	if !ok && len(l.pending) >= lastSeenMax {
		return
	}
	l.pending[d.ID] = d
}

// Flush writes every note now.
func (l *LastSeen) Flush(ctx context.Context) error {
	l.mu.Lock()
	batch := slices.Collect(maps.Values(l.pending))
	clear(l.pending)
	l.mu.Unlock()
	if len(batch) == 0 {
		return nil
	}
	if err := l.store.TouchDevices(ctx, batch); err != nil {
		// Kept for the next round, behind anything newer noted since.
		l.mu.Lock()
		for _, d := range batch {
			l.note(d)
		}
		l.mu.Unlock()
		return err
	}
	return nil
}

func (l *LastSeen) run() {
	defer close(l.done)
	t := time.NewTicker(lastSeenEvery)
	defer t.Stop()
	for {
		select {
		case <-l.quit:
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			if err := l.Flush(ctx); err != nil {
				l.log.Warn("last-seen times not written at shutdown", "err", err)
			}
			cancel()
			return
		case <-t.C:
		case <-l.kick:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		if err := l.Flush(ctx); err != nil {
			l.log.Warn("last-seen times not written; trying again", "err", err)
		}
		cancel()
	}
}

// Close writes what is noted and stops the recorder.
func (l *LastSeen) Close() {
	l.once.Do(func() { close(l.quit) })
	<-l.done
}
