package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

// insertFamily creates a refresh family with its first token and revokes the
// device's other families: a device holds one live authorization at a time.
// The device is active again, with fam as its family: the access tokens of
// the families it revoked stop working with it. A deleted device makes the
// insert fail its foreign key.
func (s *Store) insertFamily(ctx context.Context, tx *sql.Tx, fam *pairgate.RefreshFamily, first pairgate.NewRefreshToken) error {
	if err := s.revokeStatus(ctx, tx, `device_id = $2 AND revoked_at = 0`, fam.CreatedAt, fam.DeviceID); err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE device_id = $2 AND revoked_at = 0`,
		ns(fam.CreatedAt), fam.DeviceID); err != nil {
		return err
	}
	fam.Generation = 1
	if err := tx.QueryRowContext(ctx, s.d.nextStatusIndex).Scan(&fam.StatusIndex); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO refresh_families (id, device_id, client_id, subject, scopes, created_at, generation, revoked_at, status_idx, live_expires_at, dpop_jkt)
		VALUES ($1, $2, $3, $4, $5, $6, 1, 0, $7, $8, $9)`, fam.ID, fam.DeviceID, fam.ClientID, fam.Subject, fam.Scopes.String(), ns(fam.CreatedAt), fam.StatusIndex, ns(first.ExpiresAt), fam.DPoPJKT)
	if s.d.isForeignKey(err) {
		return pairgate.Errorf(pairgate.EINVALIDGRANT, "the device was deleted")
	}
	if err != nil {
		return err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET family_id = $1, state = 'active',
		state_changed_at = CASE WHEN state = 'active' AND state_changed_at <> 0 THEN state_changed_at ELSE $2 END
		WHERE id = $3`, fam.ID, ns(fam.CreatedAt), fam.DeviceID); err != nil {
		return err
	}
	return s.insertToken(ctx, tx, fam.ID, 1, first)
}

func (s *Store) insertToken(ctx context.Context, tx *sql.Tx, familyID string, gen int, t pairgate.NewRefreshToken) error {
	_, err := s.txExec(ctx, tx, `INSERT INTO refresh_tokens (hash, family_id, generation, issued_at, expires_at, rotated_at)
		VALUES ($1, $2, $3, $4, $5, 0)`, t.Hash, familyID, gen, ns(t.IssuedAt), ns(t.ExpiresAt))
	return err
}

func (s *Store) IssueRefreshFamily(ctx context.Context, d *pairgate.Device, fam *pairgate.RefreshFamily, first pairgate.NewRefreshToken) (*pairgate.Device, error) {
	var dev *pairgate.Device
	subject := fam.Subject
	err := s.gtx(ctx, "issue refresh family", func(ctx context.Context, tx *sql.Tx) error {
		if d.AuthCodeID != "" {
			if err := s.useAuthCode(ctx, tx, d.AuthCodeID, d.AuthorizedAt); err != nil {
				return err
			}
		}
		var err error
		if dev, err = s.upsertDevice(ctx, tx, d); err != nil {
			return err
		}
		fam.DeviceID = dev.ID
		if subject == "" {
			fam.Subject = dev.ID
		}
		if err := s.insertFamily(ctx, tx, fam, first); err != nil {
			return err
		}
		dev, err = s.deviceInTx(ctx, tx, dev.ID) // with its new family and state
		return err
	})
	if err != nil {
		fam.Subject = subject
		return nil, err
	}
	return dev, nil
}

// tokenState is a refresh token joined with its family.
type tokenState struct {
	fam       pairgate.RefreshFamily
	gen       int
	expiresAt int64
	rotatedAt int64
}

func (s *Store) readToken(ctx context.Context, q rowQuerier, hash []byte) (*tokenState, error) {
	var t tokenState
	var scopes string
	var created, revoked int64
	err := q.QueryRowContext(ctx, `SELECT f.id, f.device_id, f.client_id, f.subject, f.scopes, f.created_at, f.generation, f.revoked_at,
			f.status_idx, f.dpop_jkt, t.generation, t.expires_at, t.rotated_at
		FROM refresh_tokens t JOIN refresh_families f ON f.id = t.family_id WHERE t.hash = $1`, hash).
		Scan(&t.fam.ID, &t.fam.DeviceID, &t.fam.ClientID, &t.fam.Subject, &scopes, &created, &t.fam.Generation, &revoked,
			&t.fam.StatusIndex, &t.fam.DPoPJKT, &t.gen, &t.expiresAt, &t.rotatedAt)
	if err != nil {
		return nil, err
	}
	t.fam.Scopes = splitList(scopes)
	t.fam.CreatedAt, t.fam.RevokedAt = tm(created), tm(revoked)
	return &t, nil
}

var errInvalidRefresh = pairgate.Errorf(pairgate.EINVALIDGRANT, "the refresh token is invalid, expired or revoked")

func (s *Store) RotateRefreshToken(ctx context.Context, old []byte, next pairgate.NewRefreshToken, ip string, now time.Time, grace time.Duration, check func(*pairgate.RefreshFamily) error) (*pairgate.Rotation, error) {
	var rot *pairgate.Rotation
	reused := "" // the family to revoke
	err := s.gtx(ctx, "rotate refresh token", func(ctx context.Context, tx *sql.Tx) error {
		rot, reused = nil, ""
		t, err := s.readToken(ctx, txReads{s, tx}, old)
		if err == sql.ErrNoRows {
			return errInvalidRefresh
		}
		if err != nil {
			return err
		}
		if !t.fam.RevokedAt.IsZero() {
			return errInvalidRefresh
		}
		if check != nil {
			if err := check(&t.fam); err != nil {
				return err
			}
		}
		if t.rotatedAt == 0 {
			if t.expiresAt <= ns(now) {
				return errInvalidRefresh
			}
			// Of concurrent callers presenting the same live token, only the
			// one whose UPDATE changes the row rotates it. On PostgreSQL the
			// others' UPDATEs wait for its row lock, find the row rotated
			// and change nothing; they read it again below, committed, and
			// are judged as duplicates.
			n, err := affected(s.txExec(ctx, tx, `UPDATE refresh_tokens SET rotated_at = $1 WHERE hash = $2 AND rotated_at = 0`, ns(now), old))
			if err != nil {
				return err
			}
			if n == 1 {
				gen := t.gen + 1
				if _, err := s.txExec(ctx, tx, `UPDATE refresh_families SET generation = $1, live_expires_at = $2 WHERE id = $3`, gen, ns(next.ExpiresAt), t.fam.ID); err != nil {
					return err
				}
				if err := s.insertToken(ctx, tx, t.fam.ID, gen, next); err != nil {
					return err
				}
				t.fam.Generation = gen
				rot = &pairgate.Rotation{Family: &t.fam}
				return s.touchInTx(ctx, tx, rot, ip, now)
			}
			if t, err = s.readToken(ctx, txReads{s, tx}, old); err != nil {
				return err
			}
			if !t.fam.RevokedAt.IsZero() {
				return errInvalidRefresh
			}
		}
		// A rotated-out token. RFC 9700 §4.14.2 allows a grace period: a
		// retry of the immediately previous token (its response lost) or a
		// concurrent duplicate of it gets the same answer as the one that
		// rotated it — the same successor, which the caller derived from
		// the token as the first caller did — and nothing changes, so the
		// family keeps exactly one live token whatever the number of
		// duplicates. The successor must still be live: once the client
		// has used it, the old token is reuse. Anything else is reuse.
		if t.gen == t.fam.Generation-1 && now.Sub(tm(t.rotatedAt)) < grace {
			succ, err := s.readToken(ctx, txReads{s, tx}, next.Hash)
			if err != nil && err != sql.ErrNoRows {
				return err
			}
			if err == nil && succ.fam.ID == t.fam.ID && succ.gen == t.fam.Generation && succ.rotatedAt == 0 && succ.expiresAt > ns(now) {
				rot = &pairgate.Rotation{Family: &t.fam, Grace: true}
				return s.touchInTx(ctx, tx, rot, ip, now)
			}
		}
		reused = t.fam.ID
		return nil
	})
	if err != nil {
		return nil, err
	}
	if reused != "" {
		// Revoked in a transaction of its own: the caller's request fails,
		// but the revocation must stick.
		if err := s.RevokeRefreshFamily(ctx, reused, now, pairgate.DeviceRevoked); err != nil {
			return nil, err
		}
		return nil, &pairgate.Error{Code: pairgate.EREUSEDETECTED, Message: "the refresh token was already used; its family is revoked"}
	}
	return rot, nil
}

func (s *Store) touchInTx(ctx context.Context, tx *sql.Tx, rot *pairgate.Rotation, ip string, now time.Time) error {
	n, err := affected(s.txExec(ctx, tx, `UPDATE devices SET last_seen_at = $1, last_ip = $2 WHERE id = $3`, ns(now), ip, rot.Family.DeviceID))
	if err == nil && n == 0 {
		return pairgate.Errorf(pairgate.EINVALIDGRANT, "the device was deleted")
	}
	return err
}

func (s *Store) LookupRefreshToken(ctx context.Context, hash []byte, now time.Time) (*pairgate.RefreshFamily, bool, error) {
	t, err := s.readToken(ctx, preparedReads{s}, hash)
	if err == sql.ErrNoRows {
		return nil, false, pairgate.Errorf(pairgate.ENOTFOUND, "refresh token not found")
	}
	if err != nil {
		return nil, false, s.fail(err, "lookup refresh token")
	}
	live := t.rotatedAt == 0 && t.fam.RevokedAt.IsZero() && t.expiresAt > ns(now)
	return &t.fam, live, nil
}

func (s *Store) RevokeRefreshFamily(ctx context.Context, familyID string, now time.Time, state string) error {
	switch state {
	case pairgate.DeviceSignedOut, pairgate.DeviceRevoked, pairgate.DeviceExpired:
	default:
		return pairgate.Errorf(pairgate.EINVALID, "a revoked device's state cannot be '%s'", state)
	}
	return s.tx(ctx, "revoke refresh family", func(tx *sql.Tx) error {
		if err := s.revokeStatus(ctx, tx, `id = $2 AND revoked_at = 0`, now, familyID); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `UPDATE refresh_families SET revoked_at = $1 WHERE id = $2 AND revoked_at = 0`, ns(now), familyID))
		if err != nil || n == 0 {
			return err
		}
		// Only the device's live family speaks for it: revoking a family
		// that a newer authorization superseded leaves the device as it is.
		// A concurrent re-authorization (insertFamily) locks the family
		// row first too, so one of the two waits for the other to commit.
		_, err = tx.ExecContext(ctx, `UPDATE devices SET state = $1, state_changed_at = $2
			WHERE id = (SELECT device_id FROM refresh_families WHERE id = $3) AND family_id = $3`, state, ns(now), familyID)
		return err
	})
}

func (s *Store) RevokeAccessToken(ctx context.Context, jti string, expiresAt time.Time) error {
	_, err := s.exec(ctx, `INSERT INTO revoked_access_tokens (jti, expires_at) VALUES ($1, $2) ON CONFLICT (jti) DO NOTHING`, jti, ns(expiresAt))
	if err != nil {
		return s.fail(err, "revoke access token")
	}
	return nil
}

func (s *Store) AccessTokenRevoked(ctx context.Context, jti string) (bool, error) {
	var one int
	err := s.readRow(ctx, `SELECT 1 FROM revoked_access_tokens WHERE jti = $1`, jti).Scan(&one)
	if err == sql.ErrNoRows {
		return false, nil
	}
	if err != nil {
		return false, s.fail(err, "check access token")
	}
	return true, nil
}

// revokeStatus marks, in tx, the status indexes of the families that
// where selects (its parameter $2 is arg) as revoked at now: the published
// token status lists flip their bits with the revocation, in the same
// transaction. Families from before status lists have none.
func (s *Store) revokeStatus(ctx context.Context, tx *sql.Tx, where string, now time.Time, arg any) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO token_status (idx, changed_at)
		SELECT status_idx, $1 FROM refresh_families WHERE status_idx >= 0 AND `+where+`
		ON CONFLICT (idx) DO NOTHING`, ns(now), arg)
	return err
}

func (s *Store) RevokedStatusIndexes(ctx context.Context, from, to int64) ([]int64, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT idx FROM token_status WHERE idx >= $1 AND idx < $2 ORDER BY idx`, from, to)
	if err != nil {
		return nil, s.fail(err, "read token status")
	}
	defer rows.Close()
	var out []int64
	for rows.Next() {
		var i int64
		if err := rows.Scan(&i); err != nil {
			return nil, s.fail(err, "read token status")
		}
		out = append(out, i)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "read token status")
	}
	return out, nil
}

func (s *Store) StatusIndexHighWater(ctx context.Context) (int64, error) {
	var n int64
	if err := s.rdb.QueryRowContext(ctx, s.d.statusHighWater).Scan(&n); err != nil {
		return 0, s.fail(err, "read token status high water")
	}
	return n, nil
}
