// Package audit records security events in the store's append-only audit
// log, and optionally as JSON lines on a writer (stdout) for a log shipper.
// Recording never fails the request that caused it: a store that cannot
// take the event is logged as an error and counted.
package audit

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/secret"
)

// Recorder writes audit events.
type Recorder struct {
	store pairgate.Store
	now   func() time.Time
	log   *slog.Logger

	mu    sync.Mutex
	lines io.Writer // JSON lines, or nil
}

// New returns a Recorder. lines, if not nil, also receives every event as
// one JSON object per line.
func New(store pairgate.Store, now func() time.Time, log *slog.Logger, lines io.Writer) *Recorder {
	if store == nil || now == nil || log == nil {
		panic("audit.New: store, clock and logger are required")
	}
	return &Recorder{store: store, now: now, log: log, lines: lines}
}

type ctxKey struct{}

// WithIP remembers the client address of a request in ctx, so that events
// recorded deep in the call get it without every function passing it on.
func WithIP(ctx context.Context, ip string) context.Context {
	return context.WithValue(ctx, ctxKey{}, ip)
}

// IP returns the client address WithIP stored, or "".
func IP(ctx context.Context) string {
	ip, _ := ctx.Value(ctxKey{}).(string)
	return ip
}

// Record appends an event. ID and Time are filled in; IP, when empty, comes
// from the context.
func (r *Recorder) Record(ctx context.Context, e pairgate.AuditEvent) {
	e.Time = r.now()
	e.ID = secret.NewID("ev_", e.Time)
	if e.IP == "" {
		e.IP = IP(ctx)
	}
	// The event is written even when the request that caused it was
	// cancelled a moment later.
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	if err := r.store.AppendAuditEvent(sctx, &e); err != nil {
		r.log.ErrorContext(ctx, "audit event not stored", "action", e.Action, "target", e.Target, "err", err)
	}
	if r.lines != nil {
		r.writeLine(e)
	}
}

func (r *Recorder) writeLine(e pairgate.AuditEvent) {
	b, err := json.Marshal(jsonEvent{Type: "audit", ID: e.ID, Time: e.Time, Action: e.Action, ActorType: e.ActorType,
		ActorID: e.ActorID, ActorName: e.ActorName, Target: e.Target, IP: e.IP, Details: e.Details})
	if err == nil {
		r.mu.Lock()
		r.lines.Write(append(b, '\n'))
		r.mu.Unlock()
	}
}

// RecordAll appends events in one transaction, each filled in as Record
// fills one: the events of a sweep's batch.
func (r *Recorder) RecordAll(ctx context.Context, es []pairgate.AuditEvent) {
	if len(es) == 0 {
		return
	}
	ptrs := make([]*pairgate.AuditEvent, len(es))
	for i := range es {
		e := &es[i]
		e.Time = r.now()
		e.ID = secret.NewID("ev_", e.Time)
		if e.IP == "" {
			e.IP = IP(ctx)
		}
		ptrs[i] = e
	}
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := r.store.AppendAuditEvents(sctx, ptrs); err != nil {
		r.log.ErrorContext(ctx, "audit events not stored", "events", len(es), "first_action", es[0].Action, "err", err)
	}
	if r.lines != nil {
		for _, e := range es {
			r.writeLine(e)
		}
	}
}

// jsonEvent is the JSON form of an event, in the API and on stdout.
type jsonEvent struct {
	Type      string            `json:"type,omitempty"`
	ID        string            `json:"id"`
	Time      time.Time         `json:"time"`
	Action    string            `json:"action"`
	ActorType string            `json:"actor_type"`
	ActorID   string            `json:"actor_id,omitempty"`
	ActorName string            `json:"actor_name,omitempty"`
	Target    string            `json:"target,omitempty"`
	IP        string            `json:"ip,omitempty"`
	Details   map[string]string `json:"details,omitempty"`
}
