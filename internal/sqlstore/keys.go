package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

const keyColumns = `id, algorithm, sealed_private, public_jwk, created_at, retired_at, expires_at`

func (s *Store) ListSigningKeys(ctx context.Context, now time.Time) ([]*pairgate.SigningKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+keyColumns+` FROM signing_keys
		WHERE retired_at = 0 OR expires_at > $1 ORDER BY created_at DESC, id DESC`, ns(now))
	if err != nil {
		return nil, s.fail(err, "list signing keys")
	}
	defer rows.Close()
	var out []*pairgate.SigningKey
	for rows.Next() {
		var k pairgate.SigningKey
		var jwk string
		var created, retired, expires int64
		if err := rows.Scan(&k.ID, &k.Algorithm, &k.SealedPrivate, &jwk, &created, &retired, &expires); err != nil {
			return nil, s.fail(err, "list signing keys")
		}
		k.PublicJWK = []byte(jwk)
		k.CreatedAt, k.RetiredAt, k.ExpiresAt = tm(created), tm(retired), tm(expires)
		out = append(out, &k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list signing keys")
	}
	return out, nil
}

func insertKey(ctx context.Context, tx *sql.Tx, k *pairgate.SigningKey) error {
	_, err := tx.ExecContext(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, 0, 0)`,
		k.ID, k.Algorithm, k.SealedPrivate, string(k.PublicJWK), ns(k.CreatedAt))
	return err
}

func (s *Store) CreateFirstSigningKey(ctx context.Context, k *pairgate.SigningKey) (bool, error) {
	// Replicas starting together race here; the unique index on the current
	// key lets exactly one insert, and the others change nothing.
	n, err := affected(s.exec(ctx, `INSERT INTO signing_keys (`+keyColumns+`) VALUES ($1, $2, $3, $4, $5, 0, 0)
		ON CONFLICT (retired_at) WHERE retired_at = 0 DO NOTHING`,
		k.ID, k.Algorithm, k.SealedPrivate, string(k.PublicJWK), ns(k.CreatedAt)))
	if err != nil {
		return false, s.fail(err, "create signing key")
	}
	return n == 1, nil
}

func (s *Store) RotateSigningKey(ctx context.Context, currentID string, retiredUntil time.Time, next *pairgate.SigningKey) error {
	return s.tx(ctx, "rotate signing key", func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE signing_keys SET retired_at = $1, expires_at = $2 WHERE id = $3 AND retired_at = 0`,
			ns(next.CreatedAt), ns(retiredUntil), currentID))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ECONFLICT, "the signing key was rotated meanwhile")
		}
		err = insertKey(ctx, tx, next)
		if s.d.isUnique(err) {
			return pairgate.Errorf(pairgate.ECONFLICT, "the signing key was rotated meanwhile")
		}
		return err
	})
}
