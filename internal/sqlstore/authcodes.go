package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

const authCodeColumns = `id, code_hash, sealed_code, ttl, created_at, expires_at, created_by, uses, last_used_at, label, ephemeral_idle`

func scanAuthCode(row interface{ Scan(...any) error }) (*pairgate.AuthorizationCode, error) {
	var c pairgate.AuthorizationCode
	var ttl string
	var created, expires, used, idle int64
	if err := row.Scan(&c.ID, &c.CodeHash, &c.SealedCode, &ttl, &created, &expires, &c.CreatedBy, &c.Uses, &used, &c.Label, &idle); err != nil {
		return nil, err
	}
	c.EphemeralIdle = time.Duration(idle)
	c.TTL = pairgate.CodeTTL(ttl)
	c.CreatedAt, c.ExpiresAt, c.LastUsedAt = tm(created), tm(expires), tm(used)
	return &c, nil
}

// unexpired is the condition, on parameter $n, that a code can still be
// redeemed; expires_at 0 means never.
func unexpired(n string) string { return `(expires_at = 0 OR expires_at > ` + n + `)` }

func (s *Store) CreateAuthorizationCode(ctx context.Context, c *pairgate.AuthorizationCode) error {
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO authorization_codes (`+authCodeColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		c.ID, c.CodeHash, c.SealedCode, string(c.TTL), ns(c.CreatedAt), ns(c.ExpiresAt), c.CreatedBy, c.Uses, ns(c.LastUsedAt),
		c.Label, int64(c.EphemeralIdle))
	if s.d.isUnique(err) {
		return pairgate.Errorf(pairgate.ECONFLICT, "code collides with a stored one")
	}
	if err != nil {
		return s.fail(err, "create authorization code")
	}
	return nil
}

func (s *Store) GetAuthorizationCodeByHash(ctx context.Context, hash []byte, now time.Time) (*pairgate.AuthorizationCode, error) {
	c, err := scanAuthCode(s.rdb.QueryRowContext(ctx, `SELECT `+authCodeColumns+` FROM authorization_codes
		WHERE code_hash = $1 AND `+unexpired("$2"), hash, ns(now)))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "authorization code not found")
	}
	if err != nil {
		return nil, s.fail(err, "get authorization code")
	}
	return c, nil
}

func (s *Store) ListAuthorizationCodes(ctx context.Context, now time.Time) ([]*pairgate.AuthorizationCode, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+authCodeColumns+` FROM authorization_codes
		WHERE `+unexpired("$1")+` ORDER BY created_at DESC, id DESC`, ns(now))
	if err != nil {
		return nil, s.fail(err, "list authorization codes")
	}
	defer rows.Close()
	var out []*pairgate.AuthorizationCode
	for rows.Next() {
		c, err := scanAuthCode(rows)
		if err != nil {
			return nil, s.fail(err, "list authorization codes")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list authorization codes")
	}
	return out, nil
}

func (s *Store) DeleteAuthorizationCode(ctx context.Context, id string) error {
	n, err := affected(s.wdb.ExecContext(ctx, `DELETE FROM authorization_codes WHERE id = $1`, id))
	if err != nil {
		return s.fail(err, "delete authorization code")
	}
	if n == 0 {
		return pairgate.Errorf(pairgate.ENOTFOUND, "authorization code not found")
	}
	return nil
}

// useAuthCode counts a redemption of code id, in the redeeming transaction,
// and fails when the code is gone or expired at now. It is an UPDATE, not a
// SELECT, because of the race with DeleteAuthorizationCode: on PostgreSQL a
// SELECT would let a delete commit between this check and the redemption's
// commit, and a device would be authorized by a code the admin had already
// been told is deleted. The UPDATE takes the row lock, so the delete waits
// for the redemption to commit (and the redemption is ordered before it),
// or, if the delete came first, the UPDATE re-reads the row, finds it gone
// and changes nothing. On SQLite the single writer orders them anyway.
func (s *Store) useAuthCode(ctx context.Context, tx *sql.Tx, id string, now time.Time) error {
	n, err := affected(tx.ExecContext(ctx, `UPDATE authorization_codes SET uses = uses + 1, last_used_at = $1
		WHERE id = $2 AND `+unexpired("$1"), ns(now), id))
	if err != nil {
		return err
	}
	if n == 0 {
		return pairgate.Errorf(pairgate.EINVALIDGRANT, "the authorization code is wrong, expired or deleted")
	}
	return nil
}
