package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

const userColumns = `id, username, password_hash, role, created_at, password_changed_at`

func scanUser(row interface{ Scan(...any) error }) (*pairgate.User, error) {
	var u pairgate.User
	var created, changed int64
	if err := row.Scan(&u.ID, &u.Username, &u.PasswordHash, &u.Role, &created, &changed); err != nil {
		return nil, err
	}
	u.CreatedAt, u.PasswordChangedAt = tm(created), tm(changed)
	return &u, nil
}

func (s *Store) CreateUser(ctx context.Context, u *pairgate.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
		u.ID, u.Username, u.PasswordHash, u.Role, ns(u.CreatedAt), ns(u.PasswordChangedAt))
	if s.d.isUnique(err) {
		return pairgate.Errorf(pairgate.ECONFLICT, "user '%s' already exists", u.Username)
	}
	if err != nil {
		return s.fail(err, "create user")
	}
	return nil
}

func (s *Store) getUser(ctx context.Context, where string, arg any) (*pairgate.User, error) {
	u, err := scanUser(s.readRow(ctx, `SELECT `+userColumns+` FROM users WHERE `+where+` = $1`, arg))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "user not found")
	}
	if err != nil {
		return nil, s.fail(err, "get user")
	}
	return u, nil
}

func (s *Store) GetUser(ctx context.Context, id string) (*pairgate.User, error) {
	return s.getUser(ctx, "id", id)
}

func (s *Store) GetUserByUsername(ctx context.Context, username string) (*pairgate.User, error) {
	return s.getUser(ctx, "username", username)
}

func (s *Store) ListUsers(ctx context.Context) ([]*pairgate.User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userColumns+` FROM users ORDER BY username`)
	if err != nil {
		return nil, s.fail(err, "list users")
	}
	defer rows.Close()
	var out []*pairgate.User
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, s.fail(err, "list users")
		}
		out = append(out, u)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list users")
	}
	return out, nil
}

func (s *Store) CountUsers(ctx context.Context) (int, error) {
	var n int
	if err := s.readRow(ctx, `SELECT COUNT(*) FROM users`).Scan(&n); err != nil {
		return 0, s.fail(err, "count users")
	}
	return n, nil
}

func (s *Store) SetUserPassword(ctx context.Context, id, hash string, now time.Time) error {
	return s.tx(ctx, "set password", func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE users SET password_hash = $1, password_changed_at = $2 WHERE id = $3`, hash, ns(now), id))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ENOTFOUND, "user not found")
		}
		return s.endUserSessions(ctx, tx, id)
	})
}

// lockRoles reads the account id and every admin account in tx, and on
// PostgreSQL locks them until tx ends. It returns the account (nil if
// there is none) and how many other admins there are.
//
// The race it closes: two admins deleting (or demoting) each other at
// once each counted two admins and both succeeded, leaving none. Every
// admin counted here is locked, so it is still an admin when tx commits;
// an admin this read does not see (promoted after its snapshot) can only
// make the count too low, never too high. The rows are locked in one pass
// in id order, so that two of these transactions never wait for each
// other in a cycle. On SQLite the single writer serialises them.
func (s *Store) lockRoles(ctx context.Context, tx *sql.Tx, id string) (*pairgate.User, int, error) {
	rows, err := tx.QueryContext(ctx, `SELECT `+userColumns+` FROM users WHERE role = $1 OR id = $2 ORDER BY id`+s.d.forUpdate,
		pairgate.RoleAdmin, id)
	if err != nil {
		return nil, 0, err
	}
	defer rows.Close()
	var target *pairgate.User
	others := 0
	for rows.Next() {
		u, err := scanUser(rows)
		if err != nil {
			return nil, 0, err
		}
		if u.ID == id {
			target = u
		} else if u.Role == pairgate.RoleAdmin {
			others++
		}
	}
	return target, others, rows.Err()
}

func lastAdmin(u *pairgate.User) error {
	return pairgate.Errorf(pairgate.ECONFLICT, "'%s' is the last admin account; create another admin first", u.Username)
}

func (s *Store) SetUserRole(ctx context.Context, id, role string, now time.Time) error {
	if role == "" {
		return pairgate.Errorf(pairgate.EINVALID, "role is required")
	}
	return s.tx(ctx, "set role", func(tx *sql.Tx) error {
		u, others, err := s.lockRoles(ctx, tx, id)
		if err != nil {
			return err
		}
		if u == nil {
			return pairgate.Errorf(pairgate.ENOTFOUND, "user not found")
		}
		if u.Role == role {
			return nil
		}
		if u.Role == pairgate.RoleAdmin && others == 0 {
			return lastAdmin(u)
		}
		if _, err := tx.ExecContext(ctx, `UPDATE users SET role = $1 WHERE id = $2`, role, id); err != nil {
			return err
		}
		// What a session may reach was decided at sign-in under the old
		// role: the person signs in again under the new one.
		return s.endUserSessions(ctx, tx, id)
	})
}

func (s *Store) DeleteUser(ctx context.Context, id string, now time.Time) error {
	return s.tx(ctx, "delete user", func(tx *sql.Tx) error {
		u, others, err := s.lockRoles(ctx, tx, id)
		if err != nil {
			return err
		}
		if u == nil {
			return pairgate.Errorf(pairgate.ENOTFOUND, "user not found")
		}
		if u.Role == pairgate.RoleAdmin && others == 0 {
			return lastAdmin(u)
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM users WHERE id = $1`, id); err != nil {
			return err
		}
		// A user-mode token speaks for the person; with the person gone it
		// must stop working (the families go by cascade).
		if err := s.revokeStatus(ctx, tx, `revoked_at = 0 AND device_id IN (SELECT id FROM devices WHERE `+userDevices("$2")+`)`, now, id); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM devices WHERE `+userDevices("$1"), id); err != nil {
			return err
		}
		return s.endUserSessions(ctx, tx, id)
	})
}

// endUserSessions signs an account out everywhere. A session that also
// carries a browser's device authorization loses only the person: the
// device stays authorized until it is deleted.
func (s *Store) endUserSessions(ctx context.Context, tx *sql.Tx, userID string) error {
	if _, err := tx.ExecContext(ctx, deleteUserSessions, userID); err != nil {
		return err
	}
	_, err := tx.ExecContext(ctx, detachUserSessions, userID)
	return err
}

const sessionColumns = `id_hash, user_id, device_id, created_at, last_seen_at, expires_at, ip, user_agent`

func (s *Store) CreateSession(ctx context.Context, sess *pairgate.Session) error {
	_, err := s.exec(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		sess.IDHash, sess.UserID, sess.DeviceID, ns(sess.CreatedAt), ns(sess.LastSeenAt), ns(sess.ExpiresAt), sess.IP, sess.UserAgent)
	if err != nil {
		return s.fail(err, "create session")
	}
	return nil
}

func (s *Store) GetSession(ctx context.Context, idHash []byte, now time.Time) (*pairgate.Session, error) {
	var sess pairgate.Session
	var created, seen, expires int64
	err := s.readRow(ctx, `SELECT `+sessionColumns+` FROM sessions WHERE id_hash = $1 AND expires_at > $2`, idHash, ns(now)).
		Scan(&sess.IDHash, &sess.UserID, &sess.DeviceID, &created, &seen, &expires, &sess.IP, &sess.UserAgent)
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "session not found")
	}
	if err != nil {
		return nil, s.fail(err, "get session")
	}
	sess.CreatedAt, sess.LastSeenAt, sess.ExpiresAt = tm(created), tm(seen), tm(expires)
	return &sess, nil
}

func (s *Store) TouchSession(ctx context.Context, idHash []byte, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE sessions SET last_seen_at = $1 WHERE id_hash = $2`, ns(now), idHash); err != nil {
		return s.fail(err, "touch session")
	}
	return nil
}

func (s *Store) DeleteSession(ctx context.Context, idHash []byte) error {
	if _, err := s.exec(ctx, `DELETE FROM sessions WHERE id_hash = $1`, idHash); err != nil {
		return s.fail(err, "delete session")
	}
	return nil
}

// Lookups by a person or a device through the partial indexes
// sessions_user, sessions_device and devices_user (an id that is not
// empty). Each says the index's condition itself: SQLite uses a partial
// index only for a query that says its condition, not one that implies
// it through a parameter, and without it deleting a person scanned every
// device and deleting a device every session (TestLookupsUseTheirIndexes).
const (
	deleteDeviceSessions        = `DELETE FROM sessions WHERE device_id = $1 AND device_id <> ''`
	deleteBrowserDeviceSessions = `DELETE FROM sessions WHERE device_id = $1 AND device_id <> '' AND user_id = ''`
	deleteUserSessions          = `DELETE FROM sessions WHERE user_id = $1 AND user_id <> '' AND device_id = ''`
	detachUserSessions          = `UPDATE sessions SET user_id = '' WHERE user_id = $1 AND user_id <> ''`
)

// userDevices is the condition of a person's user-mode devices, the
// person's id being the parameter p.
func userDevices(p string) string {
	return `mode = 'user' AND user_id = ` + p + ` AND user_id <> ''`
}
