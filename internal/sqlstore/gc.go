package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"time"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/pace"
)

// gcBatch is the most rows one cleanup statement touches, and
// gcTarget how long one should hold the writer: every batch is timed,
// and one that took longer halves the next (package pace), so that a
// backlog of a hundred thousand expired rows is worked off between the
// requests rather than in front of them, whatever the inventory's size.
// Every condition below has an index (migration 00032), so a batch never
// scans a table.
const (
	gcBatch  = 500
	gcMin    = 50
	gcTarget = 5 * time.Millisecond
)

// gcPause is the least rest between two full batches (and at least as
// long as the batch took): the requests waiting for the writer (SQLite)
// or for the processor take their turn. Back to back, the batches of a
// cleanup of 100,000 lapsed authorizations raised the p99 of refresh and
// device authorization 2.4 times.
const gcPause = 20 * time.Millisecond

func gcPacer() *pace.Pacer { return pace.New(gcTarget, gcMin, gcBatch, gcPause) }

func (s *Store) GarbageCollect(ctx context.Context, now time.Time) (pairgate.GCResult, error) {
	var r pairgate.GCResult
	n := ns(now)
	// The families whose live token expired unused: the device can
	// never refresh again, so the device is expired and the family goes
	// with its tokens. Replicas running this at once move each one once:
	// the device update is guarded by its state, and a family deleted by
	// one is not found by another.
	lapseAll := func() error {
		pc := gcPacer()
		pctx := pc.Attach(ctx)
		for {
			moved, fams, err := s.lapseFamilies(pctx, n, pc.Next())
			if err != nil {
				return s.fail(err, "garbage collect: lapsed families")
			}
			r.DevicesExpired += moved
			r.RefreshFamilies += fams
			if !pc.Done(ctx, int(fams)) {
				return nil
			}
		}
	}
	// Every statement deletes only rows whose time has passed, so replicas
	// running this at once delete each row once and disagree about nothing.
	steps := []struct {
		count *int64
		table string
		cond  string
		arg   int64
	}{
		{&r.DeviceAuthorizations, "device_authorizations", `expires_at <= $1`, n - int64(pairgate.ExpiredGrantRetention)},
		{&r.AuthorizationCodes, "authorization_codes", `expires_at <> 0 AND expires_at <= $1`, n},
		{&r.RefreshTokens, "refresh_tokens", `expires_at <= $1`, n},
		{&r.RefreshTokens, "refresh_tokens", `rotated_at <> 0 AND rotated_at <= $1`, n - int64(pairgate.RotatedTokenRetention)},
		{&r.RefreshFamilies, "refresh_families", `revoked_at <> 0 AND revoked_at <= $1`, n - int64(pairgate.RotatedTokenRetention)},
		{&r.RevokedAccessTokens, "revoked_access_tokens", `expires_at <= $1`, n},
		{&r.SigningKeys, "signing_keys", `retired_at <> 0 AND expires_at <= $1`, n},
		{&r.Sessions, "sessions", `expires_at <= $1`, n},
		{&r.AuditEvents, "audit_events", `time <= $1`, n - int64(pairgate.AuditRetention)},
		{&r.RateLimits, "rate_limits", `window_end <= $1`, n},
		{&r.TokenStatuses, "token_status", `changed_at <= $1`, n - int64(pairgate.StatusRetention)},
		{&r.DPoPProofs, "dpop_proofs", `expires_at <= $1`, n},
		{&r.UpstreamStates, "upstream_states", `expires_at <= $1`, n},
	}
	for i, st := range steps {
		if i == 4 {
			// Before the families' own step: the families whose live token
			// expired unused (its row just went above).
			if err := lapseAll(); err != nil {
				return r, err
			}
		}
		pc := gcPacer()
		pctx := pc.Attach(ctx)
		q := `DELETE FROM ` + st.table + ` WHERE ` + s.d.rowID + ` IN (SELECT ` + s.d.rowID + ` FROM ` + st.table +
			` WHERE ` + st.cond + ` LIMIT $2` + s.d.skipLockedRows + `)`
		for {
			var c int64
			limit := pc.Next()
			err := s.tx(pctx, "garbage collect "+st.table, func(tx *sql.Tx) (err error) {
				c, err = affected(s.txExec(pctx, tx, q, st.arg, limit))
				return err
			})
			if err != nil {
				return r, err
			}
			*st.count += c
			if !pc.Done(ctx, int(c)) {
				break
			}
		}
	}
	return r, nil
}

// lapseFamilies ends one batch of families whose live token expired:
// their devices expire, their status indexes are set (an access token of
// theirs may outlive a short refresh lifetime), and they are deleted with
// their tokens, at most limit of them.
func (s *Store) lapseFamilies(ctx context.Context, n int64, limit int) (moved, families int64, err error) {
	err = s.tx(ctx, "lapse families", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT id, device_id FROM refresh_families WHERE revoked_at = 0 AND live_expires_at <= $1
			LIMIT $2`+s.d.skipLockedRows, n, limit)
		if err != nil {
			return err
		}
		var ids, devices []string
		for rows.Next() {
			var id, device string
			if err := rows.Scan(&id, &device); err != nil {
				rows.Close()
				return err
			}
			ids = append(ids, id)
			devices = append(devices, device)
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		if len(ids) == 0 {
			return nil
		}
		in, args := inList(ids, 2)
		args[0] = n
		// The devices are found by their ids (the families name them):
		// family_id has no index, and matching it walked every device for
		// every batch (100,000 lapsed among 200,000 devices: 34 s, and the
		// writer held for each walk). A device whose live family is
		// another is not one of these.
		devIn, devArgs := inList(devices, 2+len(ids))
		if moved, err = affected(tx.ExecContext(ctx, `UPDATE devices SET state = 'expired', state_changed_at = $1
			WHERE id IN `+devIn+` AND state = 'active' AND family_id IN `+in, append(args, devArgs[1+len(ids):]...)...)); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO token_status (idx, changed_at)
			SELECT status_idx, $1 FROM refresh_families WHERE status_idx >= 0 AND id IN `+in+`
			ON CONFLICT (idx) DO NOTHING`, args...); err != nil {
			return err
		}
		only, idArgs := inList(ids, 1)
		families, err = affected(tx.ExecContext(ctx, `DELETE FROM refresh_families WHERE id IN `+only, idArgs...))
		return err
	})
	return moved, families, err
}

func itoa(n int) string { return strconv.Itoa(n) }
