// Package metrics holds pairgate's Prometheus metrics: requests by route and
// status, latency, grant outcomes, rate-limit hits, store errors, and gauges
// read from the store at scrape time. Transports and the store report into
// one *Metrics; the server serves it at /metrics.
package metrics

import (
	"context"
	"net/http"
	"strconv"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Metrics is the set of pairgate's metrics, on its own registry (no
// globals, so tests and replicas in one process do not collide).
type Metrics struct {
	reg         *prometheus.Registry
	requests    *prometheus.CounterVec
	latency     *prometheus.HistogramVec
	grants      *prometheus.CounterVec
	rateLimited *prometheus.CounterVec
	storeErrors *prometheus.CounterVec
	commits     prometheus.Histogram
}

// New creates the metrics.
func New() *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pairgate_http_requests_total", Help: "HTTP requests by route pattern, method and status code.",
		}, []string{"route", "method", "code"}),
		latency: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "pairgate_http_request_duration_seconds", Help: "HTTP request latency by route pattern.",
			Buckets: []float64{.0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5},
		}, []string{"route"}),
		grants: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pairgate_grants_total", Help: "Token endpoint requests by grant type and outcome (issued, or the OAuth error code).",
		}, []string{"grant_type", "outcome"}),
		rateLimited: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pairgate_rate_limited_total", Help: "Requests refused by a rate limit, by limit.",
		}, []string{"limit"}),
		storeErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "pairgate_store_errors_total", Help: "Store operations that failed: unavailable (database unreachable) or internal.",
		}, []string{"kind"}),
		commits: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "pairgate_store_commit_writes", Help: "Writes per commit of SQLite's group committer: 1 when idle, more under load (none on PostgreSQL).",
			Buckets: []float64{1, 2, 4, 8, 16, 32, 64},
		}),
	}
	m.reg.MustRegister(m.requests, m.latency, m.grants, m.rateLimited, m.storeErrors, m.commits,
		collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Handler serves the metrics in the Prometheus text format.
func (m *Metrics) Handler() http.Handler {
	return promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{})
}

// Request records one HTTP request.
func (m *Metrics) Request(route, method string, code int, d time.Duration) {
	if m == nil {
		return
	}
	m.requests.WithLabelValues(route, method, strconv.Itoa(code)).Inc()
	m.latency.WithLabelValues(route).Observe(d.Seconds())
}

// Grant records the outcome of a token endpoint request.
func (m *Metrics) Grant(grantType, outcome string) {
	if m == nil {
		return
	}
	m.grants.WithLabelValues(grantType, outcome).Inc()
}

// RateLimited records a request refused by the named limit.
func (m *Metrics) RateLimited(limit string) {
	if m == nil {
		return
	}
	m.rateLimited.WithLabelValues(limit).Inc()
}

// StoreError records a failed store operation.
func (m *Metrics) StoreError(kind string) {
	if m == nil {
		return
	}
	m.storeErrors.WithLabelValues(kind).Inc()
}

// StoreCommit records how many writes one commit carried.
func (m *Metrics) StoreCommit(writes int) {
	if m == nil {
		return
	}
	m.commits.Observe(float64(writes))
}

// Gauge registers a gauge whose value is read when Prometheus scrapes, such
// as the number of devices in the store. A failing read reports nothing.
func (m *Metrics) Gauge(name, help string, read func(ctx context.Context) (float64, error)) {
	m.reg.MustRegister(gaugeFunc{desc: prometheus.NewDesc(name, help, nil, nil), read: read})
}

type gaugeFunc struct {
	desc *prometheus.Desc
	read func(ctx context.Context) (float64, error)
}

func (g gaugeFunc) Describe(ch chan<- *prometheus.Desc) { ch <- g.desc }

func (g gaugeFunc) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	v, err := g.read(ctx)
	if err != nil {
		return
	}
	ch <- prometheus.MustNewConstMetric(g.desc, prometheus.GaugeValue, v)
}
