package client

import (
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Back-off between refresh attempts that the server answered without
// saying when to come back (it was unreachable, or failed without a
// Retry-After): full jitter, each wait drawn uniformly from zero to a
// ceiling that doubles with every failure up to the cap. Full jitter
// rather than a fixed or "equal" jitter because it spreads a fleet that
// failed at the same instant (the server went down) over the whole
// ceiling, instead of sending it back in waves.
const (
	DefaultBackoffBase = time.Second
	DefaultBackoffCap  = 5 * time.Minute
)

// backoffCeiling is the upper bound of the wait after the n-th failure in
// a row (n >= 1): base·2^(n-1), at most max.
func backoffCeiling(base, max time.Duration, n int) time.Duration {
	if n < 1 {
		n = 1
	}
	d := base
	for i := 1; i < n && d < max; i++ {
		d *= 2
	}
	return min(d, max)
}

// retryAfter is the wait an HTTP answer asks for in its Retry-After
// header (RFC 9110 §10.2.3): delta-seconds, or an HTTP-date, which is read
// against the answer's own Date (so that a device clock that is off does
// not stretch or cut the wait), or against now when there is none. Zero
// when the header is missing, malformed or in the past.
func retryAfter(resp *http.Response, now time.Time) time.Duration {
	if resp == nil {
		return 0
	}
	v := strings.TrimSpace(resp.Header.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.ParseInt(v, 10, 64); err == nil {
		if n <= 0 {
			return 0
		}
		return time.Duration(min(n, int64(24*time.Hour/time.Second))) * time.Second
	}
	at, err := http.ParseTime(v)
	if err != nil {
		return 0
	}
	if d, err := http.ParseTime(resp.Header.Get("Date")); err == nil {
		now = d
	}
	return max(at.Sub(now), 0)
}

// retryError is ErrUnavailable with the time after which the next
// attempt will be made.
type retryError struct {
	err error
	in  time.Duration
}

func (e *retryError) Error() string {
	return fmt.Sprintf("%v (next attempt in %v)", e.err, e.in.Round(100*time.Millisecond))
}

func (e *retryError) Unwrap() error { return e.err }

// RetryAfter returns how long from when it was returned an ErrUnavailable
// of TokenSource said to wait before the server is asked again: the
// server's Retry-After, or the back-off. Zero for other errors.
func RetryAfter(err error) time.Duration {
	var re *retryError
	if errors.As(err, &re) {
		return re.in
	}
	return 0
}
