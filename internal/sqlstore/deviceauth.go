package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

const authzColumns = `id, kind, device_code_hash, user_code_hash, client_id, scopes, mode, hardware_id, device_name,
	request_ip, user_agent, created_at, expires_at, interval_ms, state, user_id, device_id, decided_at, dpop_jkt`

func scanAuthz(row interface{ Scan(...any) error }) (*pairgate.DeviceAuthorization, error) {
	var a pairgate.DeviceAuthorization
	var scopes, mode string
	var created, expires, interval, decided int64
	if err := row.Scan(&a.ID, &a.Kind, &a.DeviceCodeHash, &a.UserCodeHash, &a.ClientID, &scopes, &mode, &a.HardwareID,
		&a.DeviceName, &a.RequestIP, &a.UserAgent, &created, &expires, &interval, &a.State, &a.UserID, &a.DeviceID, &decided, &a.DPoPJKT); err != nil {
		return nil, err
	}
	a.Scopes = splitList(scopes)
	a.Mode = pairgate.Mode(mode)
	a.CreatedAt, a.ExpiresAt, a.DecidedAt = tm(created), tm(expires), tm(decided)
	a.Interval = time.Duration(interval) * time.Millisecond
	return &a, nil
}

func (s *Store) CreateDeviceAuthorization(ctx context.Context, a *pairgate.DeviceAuthorization) error {
	return s.gtx(ctx, "create device authorization", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, `INSERT INTO device_authorizations (`+authzColumns+`)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)`,
			a.ID, a.Kind, a.DeviceCodeHash, a.UserCodeHash, a.ClientID, a.Scopes.String(), string(a.Mode), a.HardwareID,
			a.DeviceName, a.RequestIP, a.UserAgent, ns(a.CreatedAt), ns(a.ExpiresAt), a.Interval.Milliseconds(),
			a.State, a.UserID, a.DeviceID, ns(a.DecidedAt), a.DPoPJKT)
		if s.d.isUnique(err) {
			return pairgate.Errorf(pairgate.ECONFLICT, "code collides with a stored one")
		}
		if s.d.isForeignKey(err) {
			return pairgate.Errorf(pairgate.ENOTFOUND, "client not found")
		}
		return err
	})
}

func (s *Store) getAuthz(ctx context.Context, q rowQuerier, column string, arg any) (*pairgate.DeviceAuthorization, error) {
	a, err := scanAuthz(q.QueryRowContext(ctx, `SELECT `+authzColumns+` FROM device_authorizations WHERE `+column+` = $1`, arg))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "device authorization not found")
	}
	if err != nil {
		return nil, s.fail(err, "get device authorization")
	}
	return a, nil
}

func (s *Store) GetDeviceAuthorizationByDeviceCode(ctx context.Context, hash []byte) (*pairgate.DeviceAuthorization, error) {
	return s.getAuthz(ctx, preparedReads{s}, "device_code_hash", hash)
}

// PollDeviceAuthorization reads only what a poll needs: the request that
// fleets send most does not pay for the columns only a consent page shows.
func (s *Store) PollDeviceAuthorization(ctx context.Context, hash []byte) (*pairgate.DeviceAuthorization, error) {
	var a pairgate.DeviceAuthorization
	var scopes, mode string
	var expires, interval int64
	err := s.readRow(ctx, `SELECT id, kind, client_id, scopes, mode, expires_at, interval_ms, state, user_id, device_id, dpop_jkt
		FROM device_authorizations WHERE device_code_hash = $1`, hash).
		Scan(&a.ID, &a.Kind, &a.ClientID, &scopes, &mode, &expires, &interval, &a.State, &a.UserID, &a.DeviceID, &a.DPoPJKT)
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "device authorization not found")
	}
	if err != nil {
		return nil, s.fail(err, "poll device authorization")
	}
	a.DeviceCodeHash = hash
	a.Scopes = splitList(scopes)
	a.Mode = pairgate.Mode(mode)
	a.ExpiresAt = tm(expires)
	a.Interval = time.Duration(interval) * time.Millisecond
	return &a, nil
}

func (s *Store) GetDeviceAuthorizationByUserCode(ctx context.Context, hash []byte) (*pairgate.DeviceAuthorization, error) {
	return s.getAuthz(ctx, preparedReads{s}, "user_code_hash", hash)
}

func (s *Store) CountPendingDeviceAuthorizations(ctx context.Context, now time.Time) (int, error) {
	var n int
	if err := s.readRow(ctx, `SELECT COUNT(*) FROM device_authorizations WHERE state = 'pending' AND expires_at > $1`, ns(now)).Scan(&n); err != nil {
		return 0, s.fail(err, "count pending device authorizations")
	}
	return n, nil
}

// decideError explains why a guarded transition out of pending changed no
// row.
func (s *Store) decideError(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	a, err := s.getAuthz(ctx, tx, "id", id)
	if err != nil {
		return err
	}
	if a.State != pairgate.StatePending {
		return pairgate.Errorf(pairgate.ECONFLICT, "this request was already %s", a.State)
	}
	if a.Expired(now) {
		return pairgate.Errorf(pairgate.EEXPIRED, "this code has expired")
	}
	return pairgate.Errorf(pairgate.ECONFLICT, "this request changed while it was being decided")
}

func (s *Store) ApproveDeviceAuthorization(ctx context.Context, id string, d *pairgate.Device, now time.Time) (*pairgate.DeviceAuthorization, error) {
	var out *pairgate.DeviceAuthorization
	err := s.gtx(ctx, "approve device authorization", func(ctx context.Context, tx *sql.Tx) error {
		dev, err := s.upsertDevice(ctx, tx, d)
		if err != nil {
			return err
		}
		// The guard on state makes approve and deny mutually exclusive and
		// single-shot, whichever replica the person's requests reach.
		n, err := affected(tx.ExecContext(ctx, `UPDATE device_authorizations
			SET state = 'approved', user_id = $1, device_id = $2, decided_at = $3
			WHERE id = $4 AND state = 'pending' AND expires_at > $3`, d.UserID, dev.ID, ns(now), id))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.decideError(ctx, tx, id, now)
		}
		out, err = s.getAuthz(ctx, tx, "id", id)
		return err
	})
	return out, err
}

func (s *Store) DenyDeviceAuthorization(ctx context.Context, id, userID string, now time.Time) error {
	return s.tx(ctx, "deny device authorization", func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE device_authorizations
			SET state = 'denied', user_id = $1, decided_at = $2
			WHERE id = $3 AND state = 'pending' AND expires_at > $2`, userID, ns(now), id))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.decideError(ctx, tx, id, now)
		}
		return nil
	})
}

func (s *Store) RedeemDeviceAuthorization(ctx context.Context, id string, fam *pairgate.RefreshFamily, first pairgate.NewRefreshToken, now time.Time) (*pairgate.Device, error) {
	var dev *pairgate.Device
	subject := fam.Subject
	err := s.gtx(ctx, "redeem device authorization", func(ctx context.Context, tx *sql.Tx) error {
		// docs/design.md 2.3: of any number of concurrent polls, on any number
		// of replicas, only the one whose UPDATE changes the row goes on to
		// issue tokens. On PostgreSQL the losers' UPDATEs wait for the
		// winner's row lock, re-check the WHERE clause, and change nothing.
		n, err := affected(tx.ExecContext(ctx, `UPDATE device_authorizations SET state = 'redeemed'
			WHERE id = $1 AND state = 'approved' AND expires_at > $2`, id, ns(now)))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.EINVALIDGRANT, "the code was already used or is no longer approved")
		}
		var deviceID, bound string
		if err := tx.QueryRowContext(ctx, `SELECT device_id, dpop_jkt FROM device_authorizations WHERE id = $1`, id).Scan(&deviceID, &bound); err != nil {
			return err
		}
		if fam.DPoPJKT != "" && bound == "" {
			if deviceID, err = s.bindRedeemed(ctx, tx, id, deviceID, fam.ClientID, fam.DPoPJKT); err != nil {
				return err
			}
		}
		fam.DeviceID = deviceID
		if subject == "" {
			fam.Subject = deviceID
		}
		if err := s.insertFamily(ctx, tx, fam, first); err != nil {
			return err
		}
		dev, err = s.deviceInTx(ctx, tx, deviceID)
		return err
	})
	if err != nil {
		fam.Subject = subject
		return nil, err
	}
	return dev, nil
}

// bindRedeemed binds the device an unbound grant's approval recorded to
// the key its redeeming poll proved (see RedeemDeviceAuthorization) and
// returns the device that redeems the grant. The approval inserted that
// device (an unbound approval never updates one), so binding it takes
// nothing from anyone; but when another device of the client holds the
// key, the poll proved that device's key: it is the device re-authorized,
// it takes the approval's name, approver and scopes, and the approval's
// own row, which nothing has used yet, goes.
func (s *Store) bindRedeemed(ctx context.Context, tx *sql.Tx, authzID, fresh, clientID, jkt string) (string, error) {
	var exists int
	if err := tx.QueryRowContext(ctx, `SELECT 1 FROM devices WHERE id = $1`, fresh).Scan(&exists); err == sql.ErrNoRows {
		return "", pairgate.Errorf(pairgate.EINVALIDGRANT, "the device was deleted")
	} else if err != nil {
		return "", err
	}
	var holder string
	err := tx.QueryRowContext(ctx, `SELECT id FROM devices WHERE client_id = $1 AND dpop_jkt = $2`, clientID, jkt).Scan(&holder)
	if err == sql.ErrNoRows || (err == nil && holder == fresh) {
		_, err := tx.ExecContext(ctx, `UPDATE devices SET dpop_jkt = $1 WHERE id = $2`, jkt, fresh)
		if s.d.isUnique(err) {
			// Another grant bound the same key to another device of the
			// client in a concurrent transaction; retrying finds it.
			return "", pairgate.Errorf(pairgate.EINVALIDGRANT, "the key was bound concurrently; try again")
		}
		return fresh, err
	}
	if err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE devices SET (name, hardware_id, mode, auth_method, auth_code_id, user_id, scopes, authorized_at, last_seen_at, last_ip) =
		(SELECT name, hardware_id, mode, auth_method, auth_code_id, user_id, scopes, authorized_at, last_seen_at, last_ip FROM devices WHERE id = $1)
		WHERE id = $2`, fresh, holder); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `UPDATE device_authorizations SET device_id = $1 WHERE id = $2`, holder, authzID); err != nil {
		return "", err
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE id = $1`, fresh); err != nil {
		return "", err
	}
	return holder, nil
}

func (s *Store) deviceInTx(ctx context.Context, tx *sql.Tx, id string) (*pairgate.Device, error) {
	d, err := scanDeviceMarked(txReads{s, tx}.QueryRowContext(ctx, `SELECT `+s.deviceRead+` FROM devices WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.EINVALIDGRANT, "the device was deleted")
	}
	return d, err
}
