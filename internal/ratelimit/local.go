package ratelimit

import (
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// Local is a token-bucket limiter per key, kept in this replica's memory.
// It protects capacity (a client or an address sending too fast), not a
// secret, so replicas need not share it; limits that guard secrets use the
// store-backed Limiter. Its keys are attacker input (source addresses), so
// the map is bounded: past max keys, idle ones are dropped, and failing
// that, arbitrary ones — which only ever makes the limit more lenient.
type Local struct {
	rate  rate.Limit
	burst int
	max   int
	now   func() time.Time

	mu sync.Mutex
	m  map[string]*bucket
}

type bucket struct {
	lim  *rate.Limiter
	last time.Time
}

// NewLocal allows perSecond requests per key with bursts of twice that.
// perSecond <= 0 disables the limiter (Allow always says yes).
func NewLocal(perSecond float64, max int, now func() time.Time) *Local {
	if now == nil {
		now = time.Now
	}
	burst := int(2 * perSecond)
	if burst < 1 {
		burst = 1
	}
	return &Local{rate: rate.Limit(perSecond), burst: burst, max: max, now: now, m: map[string]*bucket{}}
}

// Allow takes one request from key's bucket, or says how long to wait.
func (l *Local) Allow(key string) (bool, time.Duration) {
	if l == nil || l.rate <= 0 {
		return true, 0
	}
	now := l.now()
	l.mu.Lock()
	defer l.mu.Unlock()
	b := l.m[key]
	if b == nil {
		if len(l.m) >= l.max {
			l.evict(now)
		}
		b = &bucket{lim: rate.NewLimiter(l.rate, l.burst)}
		l.m[key] = b
	}
	b.last = now
	r := b.lim.ReserveN(now, 1)
	if d := r.DelayFrom(now); d > 0 {
		r.CancelAt(now)
		return false, d
	}
	return true, 0
}

// evict frees room: first the keys idle long enough to have a full bucket
// again (forgetting them changes nothing), then, if an attacker fills the
// map faster than that, a tenth of the map at random.
func (l *Local) evict(now time.Time) {
	full := time.Duration(float64(l.burst) / float64(l.rate) * float64(time.Second))
	for k, b := range l.m {
		if now.Sub(b.last) > full {
			delete(l.m, k)
		}
	}
	for k := range l.m {
		if len(l.m) < l.max*9/10 {
			break
		}
		delete(l.m, k)
	}
}

// Len is the number of keys held, for tests.
func (l *Local) Len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.m)
}
