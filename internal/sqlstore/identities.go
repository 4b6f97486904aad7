package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

// Both are returned from inside SignInUpstream's transaction to say which
// uniqueness rule a concurrent sign-in won.
var (
	errUsernameTaken = pairgate.Errorf(pairgate.ECONFLICT, "username taken")
	errIdentityTaken = pairgate.Errorf(pairgate.ECONFLICT, "identity linked concurrently")
)

func (s *Store) SignInUpstream(ctx context.Context, ident *pairgate.UserIdentity, newUser *pairgate.User) (*pairgate.User, bool, error) {
	u, err := s.linkedUser(ctx, ident)
	if err != nil || u != nil {
		return u, false, err
	}
	err = s.tx(ctx, "sign in upstream", func(tx *sql.Tx) error {
		// Checked again in the transaction: on SQLite this is the whole
		// race, since its writer runs one transaction at a time.
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM user_identities WHERE issuer = $1 AND subject = $2`,
			ident.Issuer, ident.Subject).Scan(&n); err != nil {
			return err
		}
		if n > 0 {
			return errIdentityTaken
		}
		_, err := tx.ExecContext(ctx, `INSERT INTO users (`+userColumns+`) VALUES ($1, $2, $3, $4, $5, $6)`,
			newUser.ID, newUser.Username, newUser.PasswordHash, newUser.Role, ns(newUser.CreatedAt), ns(newUser.PasswordChangedAt))
		if s.d.isUnique(err) {
			return errUsernameTaken
		}
		if err != nil {
			return err
		}
		// On PostgreSQL two first sign-ins of one identity both get here;
		// the primary key lets one of them commit.
		_, err = tx.ExecContext(ctx, `INSERT INTO user_identities (issuer, subject, user_id, provider, created_at, last_signin_at)
			VALUES ($1, $2, $3, $4, $5, $6)`, ident.Issuer, ident.Subject, newUser.ID, ident.Provider, ns(ident.CreatedAt), ns(ident.LastSignInAt))
		if s.d.isUnique(err) {
			return errIdentityTaken
		}
		return err
	})
	switch err {
	case nil:
		return newUser, true, nil
	case errIdentityTaken, errUsernameTaken:
		// Another sign-in may have linked this identity first (its
		// account can hold the name this one wanted): that account is
		// the person's.
		u, lerr := s.linkedUser(ctx, ident)
		if lerr != nil || u != nil {
			return u, false, lerr
		}
		if err == errUsernameTaken {
			return nil, false, pairgate.Errorf(pairgate.ECONFLICT, "an account named '%s' already exists", newUser.Username)
		}
		return nil, false, pairgate.Internal(err, "sign in upstream: identity linked but not found")
	}
	return nil, false, err
}

// linkedUser returns the account linked to ident, recording the sign-in,
// or nil when none is.
func (s *Store) linkedUser(ctx context.Context, ident *pairgate.UserIdentity) (*pairgate.User, error) {
	u, err := scanUser(s.wdb.QueryRowContext(ctx, `SELECT `+userColumns+` FROM users WHERE id =
		(SELECT user_id FROM user_identities WHERE issuer = $1 AND subject = $2)`, ident.Issuer, ident.Subject))
	if err == sql.ErrNoRows {
		return nil, nil
	}
	if err != nil {
		return nil, s.fail(err, "find upstream identity")
	}
	if _, err := s.exec(ctx, `UPDATE user_identities SET last_signin_at = $1 WHERE issuer = $2 AND subject = $3`,
		ns(ident.LastSignInAt), ident.Issuer, ident.Subject); err != nil {
		return nil, s.fail(err, "record upstream sign-in")
	}
	return u, nil
}

func (s *Store) ListUserIdentities(ctx context.Context, userID string) ([]*pairgate.UserIdentity, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT issuer, subject, user_id, provider, created_at, last_signin_at
		FROM user_identities WHERE user_id = $1 ORDER BY created_at, issuer, subject`, userID)
	if err != nil {
		return nil, s.fail(err, "list user identities")
	}
	defer rows.Close()
	var out []*pairgate.UserIdentity
	for rows.Next() {
		var i pairgate.UserIdentity
		var created, last int64
		if err := rows.Scan(&i.Issuer, &i.Subject, &i.UserID, &i.Provider, &created, &last); err != nil {
			return nil, s.fail(err, "list user identities")
		}
		i.CreatedAt, i.LastSignInAt = tm(created), tm(last)
		out = append(out, &i)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list user identities")
	}
	return out, nil
}

func (s *Store) CreateUpstreamState(ctx context.Context, st *pairgate.UpstreamState) error {
	_, err := s.exec(ctx, `INSERT INTO upstream_states (state_hash, provider, binding_hash, next, created_at, expires_at)
		VALUES ($1, $2, $3, $4, $5, $6)`, st.StateHash, st.Provider, st.BindingHash, st.Next, ns(st.CreatedAt), ns(st.ExpiresAt))
	if s.d.isUnique(err) {
		return pairgate.Errorf(pairgate.ECONFLICT, "state collides with a stored one")
	}
	if err != nil {
		return s.fail(err, "create upstream state")
	}
	return nil
}

func (s *Store) TakeUpstreamState(ctx context.Context, stateHash []byte, now time.Time) (*pairgate.UpstreamState, error) {
	// One statement deletes and returns: of concurrent callers, the one
	// whose DELETE finds the row gets it (a state is used once).
	st := pairgate.UpstreamState{StateHash: stateHash}
	var created, expires int64
	err := s.wdb.QueryRowContext(ctx, `DELETE FROM upstream_states WHERE state_hash = $1
		RETURNING provider, binding_hash, next, created_at, expires_at`, stateHash).
		Scan(&st.Provider, &st.BindingHash, &st.Next, &created, &expires)
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "no such sign-in in progress")
	}
	if err != nil {
		return nil, s.fail(err, "take upstream state")
	}
	st.CreatedAt, st.ExpiresAt = tm(created), tm(expires)
	if !now.Before(st.ExpiresAt) {
		return nil, pairgate.Errorf(pairgate.EEXPIRED, "the sign-in took too long")
	}
	return &st, nil
}
