package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

// A leaked code's devices: those whose current authorization came from
// it. A device re-authorized since by another way (pairing, another code)
// has another auth_code_id and is not one of them.

// codeDevices selects the ids of the active devices a code brought in,
// the code's id being the parameter p.
func codeDevices(p string) string {
	return `(SELECT id FROM devices WHERE auth_code_id = ` + p + ` AND auth_code_id <> '' AND state = 'active')`
}

// Bounds of what a preview reads: the addresses a code's devices were
// authorized from (one site's NAT address, usually a handful), and the
// devices seen lately from elsewhere.
const (
	maxAuthorizedFrom = 10000
	maxSeenElsewhere  = 1000
)

func (s *Store) CodeDevices(ctx context.Context, codeID string, seenSince time.Time) (*pairgate.CodeDevices, error) {
	out, err := s.codeDevices(ctx, codeID, seenSince)
	if err != nil {
		return nil, s.fail(err, "read a code's devices")
	}
	return out, nil
}

// codeDevices reads the three parts of a preview one after the other: a
// device moving between them is counted as it was a moment apart, which
// a preview can live with.
func (s *Store) codeDevices(ctx context.Context, codeID string, seenSince time.Time) (*pairgate.CodeDevices, error) {
	out := &pairgate.CodeDevices{CodeID: codeID}
	if err := s.rdb.QueryRowContext(ctx, codeActiveQuery, codeID).Scan(&out.Active); err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, codeAuthorizedFromQuery, codeID, maxAuthorizedFrom)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	for rows.Next() {
		var ip string
		if err := rows.Scan(&ip); err != nil {
			return nil, err
		}
		out.AuthorizedFrom = append(out.AuthorizedFrom, ip)
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	// The candidates' ids first, from the index alone, then their rows:
	// a code's devices seen in the last hour are most of them in a fleet
	// that refreshes hourly, and all but a few were seen from where they
	// were authorized.
	ids, err := s.rdb.QueryContext(ctx, codeSeenElsewhereQuery, codeID, ns(seenSince), maxSeenElsewhere)
	if err != nil {
		return nil, err
	}
	defer ids.Close()
	var picked []any
	for ids.Next() {
		var id string
		if err := ids.Scan(&id); err != nil {
			return nil, err
		}
		picked = append(picked, id)
	}
	if err := ids.Err(); err != nil {
		return nil, err
	}
	if len(picked) == 0 {
		return out, nil
	}
	recent, err := s.rdb.QueryContext(ctx, `SELECT `+deviceRow+` FROM devices WHERE id IN (`+placeholders(1, len(picked))+`)
		ORDER BY last_seen_at DESC, id`, picked...)
	if err != nil {
		return nil, err
	}
	out.SeenElsewhere, err = scanDevices(recent)
	return out, err
}

// The preview's reads, each answered from devices_code_preview alone
// (TestCodePreviewReadsOnlyItsIndex). Each repeats the index's condition
// (a code id that is not empty) for SQLite, which uses a partial index
// only for a query that says its condition, not one that implies it
// through a parameter.
const (
	codeActiveQuery         = `SELECT COUNT(*) FROM devices WHERE auth_code_id = $1 AND auth_code_id <> '' AND state = 'active'`
	codeAuthorizedFromQuery = `SELECT DISTINCT authorized_ip FROM devices WHERE auth_code_id = $1 AND auth_code_id <> '' AND authorized_ip <> '' LIMIT $2`
	codeSeenElsewhereQuery  = `SELECT id FROM devices
		WHERE auth_code_id = $1 AND auth_code_id <> '' AND state = 'active' AND last_seen_at >= $2 AND last_ip <> authorized_ip
		ORDER BY last_seen_at DESC LIMIT $3`
)

func (s *Store) SignOutCodeDevices(ctx context.Context, codeID string, deleteCode bool, now time.Time) ([]*pairgate.Device, error) {
	var out []*pairgate.Device
	err := s.tx(ctx, "sign out a code's devices", func(tx *sql.Tx) error {
		// The families first, as every revocation takes them (a concurrent
		// re-authorization locks its family row before its device's).
		if err := s.revokeStatus(ctx, tx, `revoked_at = 0 AND device_id IN `+codeDevices("$2"), now, codeID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = $1
			WHERE revoked_at = 0 AND device_id IN `+codeDevices("$2"), ns(now), codeID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM sessions WHERE device_id <> '' AND device_id IN `+codeDevices("$1"), codeID); err != nil {
			return err
		}
		// A device whose live family is still live was re-authorized by
		// the code while this ran, on another replica: it is left alone
		// rather than marked signed out with a live authorization.
		rows, err := tx.QueryContext(ctx, `UPDATE devices SET state = 'signed_out', state_changed_at = $1
			WHERE auth_code_id = $2 AND auth_code_id <> '' AND state = 'active'
				AND NOT EXISTS (SELECT 1 FROM refresh_families f WHERE f.id = devices.family_id AND f.revoked_at = 0)
			RETURNING `+deviceRow, ns(now), codeID)
		if err != nil {
			return err
		}
		if out, err = scanDevices(rows); err != nil {
			return err
		}
		if deleteCode {
			_, err = tx.ExecContext(ctx, `DELETE FROM authorization_codes WHERE id = $1`, codeID)
		}
		return err
	})
	if err != nil {
		return nil, s.fail(err, "sign out a code's devices")
	}
	return out, nil
}
