// Package lifecycle keeps the inventory from only growing: devices not
// seen for the inactivity policy's sign-out period are signed out (state
// expired, their authorizations revoked and published as such in the
// token status lists), and removed once the removal period has passed
// too. Every step is an audit event. The sweep works in small batches,
// each one short transaction, pausing between them, so that a sweep of a
// hundred thousand devices never stalls the requests it runs beside; it
// is safe to run on every replica at once.
package lifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/audit"
)

// Deps are what the sweep works with. Every field is required.
type Deps struct {
	Store pairgate.Store
	Audit *audit.Recorder
	Log   *slog.Logger
	Now   func() time.Time
}

// Config is the server's policy and the size of a batch.
type Config struct {
	Policy pairgate.InactivityPolicy
	Batch  int           // devices per transaction
	Pause  time.Duration // between batches: the writer is free for others
}

// Service sweeps the inventory.
type Service struct {
	store pairgate.Store
	audit *audit.Recorder
	log   *slog.Logger
	now   func() time.Time
	cfg   Config
}

// New returns the sweeper.
func New(cfg Config, d Deps) (*Service, error) {
	if d.Store == nil || d.Audit == nil || d.Log == nil || d.Now == nil || cfg.Batch <= 0 || cfg.Pause < 0 {
		return nil, errors.New("lifecycle: every dependency and a positive batch size are required")
	}
	return &Service{store: d.Store, audit: d.Audit, log: d.Log, now: d.Now, cfg: cfg}, nil
}

// Result counts what a sweep did.
type Result struct {
	SignedOut int
	Removed   int
}

// Sweep signs out and removes what the policy says, batch by batch, until
// nothing is left or ctx ends.
func (s *Service) Sweep(ctx context.Context) (Result, error) {
	var r Result
	p := s.cfg.Policy
	for {
		ds, err := s.store.SignOutInactiveDevices(ctx, p, s.now(), s.cfg.Batch)
		if err != nil {
			return r, err
		}
		s.record(ctx, ds, pairgate.AuditDeviceExpired, func(d *pairgate.Device) string {
			return "not seen since " + d.LastSeenAt.UTC().Format(time.RFC3339)
		})
		r.SignedOut += len(ds)
		if len(ds) < s.cfg.Batch || !s.pause(ctx) {
			break
		}
	}
	for {
		ds, err := s.store.RemoveInactiveDevices(ctx, p, s.now(), s.cfg.Batch)
		if err != nil {
			return r, err
		}
		s.record(ctx, ds, pairgate.AuditDeviceRemoved, func(d *pairgate.Device) string {
			return fmt.Sprintf("%s since %s and not seen since", d.State, d.StateChangedAt.UTC().Format(time.RFC3339))
		})
		r.Removed += len(ds)
		if len(ds) < s.cfg.Batch || !s.pause(ctx) {
			break
		}
	}
	if r.SignedOut > 0 || r.Removed > 0 {
		s.log.Info("inactive devices swept", "signed_out", r.SignedOut, "removed", r.Removed)
	}
	return r, nil
}

func (s *Service) pause(ctx context.Context) bool {
	if s.cfg.Pause == 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(s.cfg.Pause)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (s *Service) record(ctx context.Context, ds []*pairgate.Device, action string, why func(*pairgate.Device) string) {
	if len(ds) == 0 {
		return
	}
	es := make([]pairgate.AuditEvent, 0, len(ds))
	for _, d := range ds {
		es = append(es, pairgate.AuditEvent{Action: action, ActorType: pairgate.ActorSystem, ActorName: "inactivity policy",
			Target: d.ID, Details: map[string]string{"reason": why(d), "name": d.Name, "client_id": d.ClientID,
				"hardware_id": d.HardwareID, "last_ip": d.LastIP}})
	}
	s.audit.RecordAll(ctx, es)
}
