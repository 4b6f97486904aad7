package client

import (
	"errors"
	"math/rand/v2"
	"net/http"
	"testing"
	"time"
)

// TestBackoffFullJitterBounds: after the n-th failure in a row without a
// Retry-After, the wait is drawn from [0, min(cap, base·2^(n-1))), and is
// spread over all of it (full jitter), not bunched at one end: a fleet
// that failed in the same second must come back spread over the ceiling.
func TestBackoffFullJitterBounds(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ts := &TokenSource{BackoffBase: time.Second, BackoffCap: time.Minute, Rand: r.Float64}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	down := errors.New("connection refused")
	for n := 1; n <= 10; n++ {
		ceil := backoffCeiling(time.Second, time.Minute, n)
		want := min(time.Second<<(n-1), time.Minute)
		if ceil != want {
			t.Fatalf("ceiling after %d failures: %v, want %v", n, ceil, want)
		}
		const samples = 4000
		var quarters [4]int
		var sum time.Duration
		lo, hi := ceil, time.Duration(0)
		for range samples {
			ts.failures = n - 1
			wait := ts.failed(down, now)
			if wait < 0 || wait >= ceil {
				t.Fatalf("failure %d: waits %v, outside [0, %v)", n, wait, ceil)
			}
			if !ts.notBefore.Equal(now.Add(wait)) || ts.failures != n {
				t.Fatalf("failure %d: the back-off was not recorded", n)
			}
			quarters[int(4*wait/ceil)]++
			sum += wait
			lo, hi = min(lo, wait), max(hi, wait)
		}
		// Uniform: each quarter holds a quarter of the draws (±4 %, about
		// six standard deviations), the mean is half the ceiling, and the
		// draws reach both ends.
		for q, c := range quarters {
			if c < samples*21/100 || c > samples*29/100 {
				t.Fatalf("failure %d: quarter %d of [0, %v) holds %d of %d waits: not spread evenly (%v)", n, q, ceil, c, samples, quarters)
			}
		}
		if mean := sum / samples; mean < ceil*45/100 || mean > ceil*55/100 {
			t.Fatalf("failure %d: mean wait %v, want about %v", n, mean, ceil/2)
		}
		if lo > ceil/50 || hi < ceil*49/50 {
			t.Fatalf("failure %d: waits between %v and %v of [0, %v): the ends are never reached", n, lo, hi, ceil)
		}
	}
	// Defaults: 1 s doubling to 5 min.
	if backoffCeiling(DefaultBackoffBase, DefaultBackoffCap, 100) != DefaultBackoffCap {
		t.Fatal("the ceiling does not stop at the cap")
	}
}

func TestRetryAfterHeader(t *testing.T) {
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	resp := func(kv ...string) *http.Response {
		h := http.Header{}
		for i := 0; i+1 < len(kv); i += 2 {
			h.Set(kv[i], kv[i+1])
		}
		return &http.Response{Header: h}
	}
	date := func(t time.Time) string { return t.Format(http.TimeFormat) }
	for _, c := range []struct {
		name string
		resp *http.Response
		want time.Duration
	}{
		{"delta-seconds", resp("Retry-After", "17"), 17 * time.Second},
		{"HTTP-date against the local clock", resp("Retry-After", date(now.Add(42*time.Second))), 42 * time.Second},
		// The server's clock is ten minutes behind the device's: its
		// Date is the reference, not the device's clock.
		{"HTTP-date against the answer's Date", resp("Retry-After", date(now.Add(-10*time.Minute+30*time.Second)), "Date", date(now.Add(-10*time.Minute))), 30 * time.Second},
		{"obsolete RFC 850 date", resp("Retry-After", now.Add(5*time.Second).Format(time.RFC850)), 5 * time.Second},
		{"a date in the past", resp("Retry-After", date(now.Add(-time.Minute))), 0},
		{"zero", resp("Retry-After", "0"), 0},
		{"negative", resp("Retry-After", "-3"), 0},
		{"garbage", resp("Retry-After", "soon"), 0},
		{"absent", resp(), 0},
		{"no response", nil, 0},
	} {
		if got := retryAfter(c.resp, now); got != c.want {
			t.Errorf("%s: %v, want %v", c.name, got, c.want)
		}
	}
}

// TestFailedRefreshSpreadOverTheTokensTimeLeft: a device whose token
// still has minutes left does not come back within the server's
// Retry-After with everyone else; it comes back at a random point in the
// first half of that time. One whose token is about to run out keeps the
// server's wait.
func TestFailedRefreshSpreadOverTheTokensTimeLeft(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ts := &TokenSource{Rand: r.Float64}
	now := time.Date(2026, 11, 30, 12, 0, 0, 0, time.UTC)
	long := &Credentials{AccessToken: "a", Expiry: now.Add(10*time.Minute + DefaultMinValidity)}
	const samples = 2000
	var above int
	var sum time.Duration
	for range samples {
		w := ts.spreadOver(long, now, 2*time.Second)
		if w < 2*time.Second || w > 5*time.Minute {
			t.Fatalf("wait %v outside [2s, 5m]", w)
		}
		if !ts.notBefore.Equal(now.Add(w)) && w != 2*time.Second {
			t.Fatalf("the spread wait %v was not recorded", w)
		}
		if w > time.Minute {
			above++
		}
		sum += w
	}
	// Uniform over the first half (5 min): about 80 % wait over a minute,
	// and the mean is near 2.5 min.
	if above < samples*75/100 {
		t.Fatalf("only %d of %d waits exceed a minute: not spread over the token's time", above, samples)
	}
	if mean := sum / samples; mean < 2*time.Minute || mean > 3*time.Minute {
		t.Fatalf("mean wait %v, want about 2.5 min", mean)
	}
	short := &Credentials{AccessToken: "a", Expiry: now.Add(DefaultMinValidity + 3*time.Second)}
	for range 100 {
		if w := ts.spreadOver(short, now, 2*time.Second); w != 2*time.Second {
			t.Fatalf("a token about to run out waits %v, want the server's 2s", w)
		}
	}
}
