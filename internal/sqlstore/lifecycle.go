package sqlstore

import (
	"context"
	"database/sql"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
)

// The inactivity sweeps work in batches of at most limit devices, each
// batch one short transaction found through an index, so that a sweep of
// a hundred thousand devices never holds the writer for long: requests
// are served between batches.

const nsPerDay = int64(pairgate.Day)

// cutoffSQL is the time before which a device of its client counts as
// inactive: the client's days if it set them, else the server's (a
// parameter; 0 when the server's policy is off, which nothing is before).
func cutoffSQL(column, now, global string) string {
	return `(CASE WHEN c.` + column + ` > 0 THEN ` + now + ` - c.` + column + ` * ` + strconv.FormatInt(nsPerDay, 10) + ` ELSE ` + global + ` END)`
}

// latestCutoff is the latest of the cutoffs of the server's policy and of
// every client that sets its own: a device seen after it is active under
// every policy, which lets the index on last seen answer most of the
// question.
func (s *Store) latestCutoff(ctx context.Context, tx *sql.Tx, column string, global time.Duration, since int64) (int64, bool, error) {
	var minDays sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MIN(`+column+`) FROM clients WHERE `+column+` > 0`).Scan(&minDays); err != nil {
		return 0, false, err
	}
	shortest := global
	if minDays.Valid && (shortest == 0 || time.Duration(minDays.Int64)*pairgate.Day < shortest) {
		shortest = time.Duration(minDays.Int64) * pairgate.Day
	}
	if shortest == 0 {
		return 0, false, nil
	}
	return since - int64(shortest), true, nil
}

// inactiveDevicesQuery picks the oldest-seen active devices past their
// client's (or the global) inactivity limit: $1 the latest cutoff of any
// client, $2 now, $3 the global cutoff, $4 the batch size.
func (s *Store) inactiveDevicesQuery() string {
	return `SELECT d.id FROM devices d JOIN clients c ON c.id = d.client_id
			WHERE d.state = 'active' AND d.last_seen_at < $1 AND d.last_seen_at < ` + cutoffSQL("inactive_sign_out_days", "$2", "$3") + `
			ORDER BY d.last_seen_at LIMIT $4` + s.d.skipLocked
}

func (s *Store) SignOutInactiveDevices(ctx context.Context, p pairgate.InactivityPolicy, now time.Time, limit int) ([]*pairgate.Device, error) {
	var out []*pairgate.Device
	n := ns(now)
	err := s.tx(ctx, "sign out inactive devices", func(tx *sql.Tx) error {
		latest, ok, err := s.latestCutoff(ctx, tx, "inactive_sign_out_days", p.SignOutAfter, n)
		if err != nil || !ok {
			return err
		}
		global := int64(0)
		if p.SignOutAfter > 0 {
			global = n - int64(p.SignOutAfter)
		}
		ids, err := s.pickDevices(ctx, tx, s.inactiveDevicesQuery(), latest, n, global, limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		in, args := inList(ids, 2)
		args[0] = n
		// The authorizations end with the device's activity: the token
		// status lists show it in this transaction.
		if _, err := tx.ExecContext(ctx, `INSERT INTO token_status (idx, changed_at)
			SELECT status_idx, $1 FROM refresh_families WHERE status_idx >= 0 AND revoked_at = 0 AND device_id IN `+in+`
			ON CONFLICT (idx) DO NOTHING`, args...); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE revoked_at = 0 AND device_id IN `+in, args...); err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `UPDATE devices SET state = 'expired', state_changed_at = $1
			WHERE state = 'active' AND id IN `+in+` RETURNING `+deviceRow, args...)
		if err != nil {
			return err
		}
		out, err = scanDevices(rows)
		return err
	})
	if err != nil {
		return nil, s.fail(err, "sign out inactive devices")
	}
	return out, nil
}

func (s *Store) RemoveInactiveDevices(ctx context.Context, p pairgate.InactivityPolicy, now time.Time, limit int) ([]*pairgate.Device, error) {
	var out []*pairgate.Device
	n := ns(now)
	err := s.tx(ctx, "remove inactive devices", func(tx *sql.Tx) error {
		latest, ok, err := s.latestCutoff(ctx, tx, "inactive_remove_days", p.RemoveAfter, n)
		if err != nil || !ok {
			return err
		}
		global := int64(0)
		if p.RemoveAfter > 0 {
			global = n - int64(p.RemoveAfter)
		}
		// A device that ended (signed out, revoked or expired) and was not
		// seen since, for the remove cutoff: nothing will bring it back.
		// Each state is its own walk of devices_state_changed, which stops
		// after limit rows; one walk of the three states had to read every
		// ended device to sort them, for every batch (50,000 ended devices:
		// 100 batches of 50,000 rows read, with the writer held).
		var arms []string
		for _, state := range []string{pairgate.DeviceExpired, pairgate.DeviceSignedOut, pairgate.DeviceRevoked} {
			arms = append(arms, `SELECT * FROM (SELECT d.id, d.state_changed_at FROM devices d JOIN clients c ON c.id = d.client_id
				WHERE d.state = '`+state+`' AND d.state_changed_at < $1
					AND d.last_seen_at <= d.state_changed_at AND d.state_changed_at < `+cutoffSQL("inactive_remove_days", "$2", "$3")+`
				ORDER BY d.state_changed_at LIMIT $4`+s.d.skipLocked+`) AS `+state)
		}
		ids, err := s.pickDevices(ctx, tx, `SELECT id FROM (`+strings.Join(arms, ` UNION ALL `)+`) AS ended
			ORDER BY state_changed_at LIMIT $4`, latest, n, global, limit)
		if err != nil || len(ids) == 0 {
			return err
		}
		in, args := inList(ids, 1)
		rows, err := tx.QueryContext(ctx, `SELECT `+deviceRow+` FROM devices WHERE id IN `+in+` ORDER BY state_changed_at`, args...)
		if err != nil {
			return err
		}
		if out, err = scanDevices(rows); err != nil || len(out) == 0 {
			return err
		}
		return s.removeDevices(ctx, tx, out, n)
	})
	if err != nil {
		return nil, s.fail(err, "remove inactive devices")
	}
	return out, nil
}

func (s *Store) RemoveEphemeralDevices(ctx context.Context, now time.Time, limit int) ([]*pairgate.Device, error) {
	var out []*pairgate.Device
	n := ns(now)
	err := s.tx(ctx, "remove ephemeral devices", func(tx *sql.Tx) error {
		// The partial index devices_ephemeral holds only ephemeral devices,
		// a few among many, so the scan is short at any fleet size.
		rows, err := tx.QueryContext(ctx, `SELECT `+prefixed("d.", deviceRow)+` FROM devices d
			WHERE d.ephemeral_idle > 0 AND (d.state <> 'active' OR d.last_seen_at <= $1 - d.ephemeral_idle)
			ORDER BY d.last_seen_at LIMIT $2`+s.d.skipLocked, n, limit)
		if err != nil {
			return err
		}
		if out, err = scanDevices(rows); err != nil || len(out) == 0 {
			return err
		}
		return s.removeDevices(ctx, tx, out, n)
	})
	if err != nil {
		return nil, s.fail(err, "remove ephemeral devices")
	}
	return out, nil
}

// removeDevices deletes devices in tx; their live authorizations are
// published as revoked in the status lists first, and their families,
// tokens and browser sessions go with them.
func (s *Store) removeDevices(ctx context.Context, tx *sql.Tx, ds []*pairgate.Device, now int64) error {
	ids := make([]string, len(ds))
	for i, d := range ds {
		ids[i] = d.ID
	}
	in, args := inList(ids, 2)
	args[0] = now
	if _, err := tx.ExecContext(ctx, `INSERT INTO token_status (idx, changed_at)
		SELECT status_idx, $1 FROM refresh_families WHERE status_idx >= 0 AND revoked_at = 0 AND device_id IN `+in+`
		ON CONFLICT (idx) DO NOTHING`, args...); err != nil {
		return err
	}
	only, idArgs := inList(ids, 1)
	if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE device_id <> '' AND device_id IN `+only, idArgs...); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE id IN `+only, idArgs...)
	return err
}

// pickDevices runs a query that selects device ids.
func (s *Store) pickDevices(ctx context.Context, tx *sql.Tx, q string, args ...any) ([]string, error) {
	rows, err := tx.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var ids []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		ids = append(ids, id)
	}
	return ids, rows.Err()
}

func scanDevices(rows *sql.Rows) ([]*pairgate.Device, error) {
	defer rows.Close()
	var out []*pairgate.Device
	for rows.Next() {
		d, err := scanDevice(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, d)
	}
	return out, rows.Err()
}

// inList is "($first, …)" for ids, and the arguments: first-1 free slots
// (nil) for the caller's own parameters, then the ids.
func inList(ids []string, first int) (string, []any) {
	args := make([]any, first-1, first-1+len(ids))
	var b strings.Builder
	b.WriteByte('(')
	for i, id := range ids {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(first+i))
		args = append(args, id)
	}
	b.WriteByte(')')
	return b.String(), args
}

// prefixed qualifies a column list with a table alias.
func prefixed(alias, columns string) string {
	parts := strings.Split(columns, ",")
	for i, p := range parts {
		parts[i] = alias + strings.TrimSpace(p)
	}
	return strings.Join(parts, ", ")
}
