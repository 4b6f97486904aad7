package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

const apiKeyColumns = `k.id, k.name, k.key_hash, k.scopes, k.created_by, k.created_at, k.last_used_at, COALESCE(u.role, ''), COALESCE(u.username, '')`

func scanAPIKey(row interface{ Scan(...any) error }) (*pairgate.APIKey, error) {
	var k pairgate.APIKey
	var created, used int64
	var scopes string
	if err := row.Scan(&k.ID, &k.Name, &k.KeyHash, &scopes, &k.CreatedBy, &created, &used, &k.OwnerRole, &k.OwnerName); err != nil {
		return nil, err
	}
	k.Scopes = splitList(scopes)
	k.CreatedAt, k.LastUsedAt = tm(created), tm(used)
	return &k, nil
}

func (s *Store) CreateAPIKey(ctx context.Context, k *pairgate.APIKey) error {
	_, err := s.exec(ctx, `INSERT INTO api_keys (id, name, key_hash, scopes, created_by, created_at, last_used_at) VALUES ($1, $2, $3, $4, $5, $6, 0)`,
		k.ID, k.Name, k.KeyHash, k.Scopes.String(), k.CreatedBy, ns(k.CreatedAt))
	if s.d.isUnique(err) {
		return pairgate.Errorf(pairgate.ECONFLICT, "API key collides with a stored one")
	}
	if err != nil {
		return s.fail(err, "create API key")
	}
	return nil
}

func (s *Store) GetAPIKeyByHash(ctx context.Context, hash []byte) (*pairgate.APIKey, error) {
	// A key speaks for the account that made it: when that account is
	// deleted, the key stops working with it; its role is read with it.
	k, err := scanAPIKey(s.readRow(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k JOIN users u ON u.id = k.created_by
		WHERE k.key_hash = $1`, hash))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "API key not found")
	}
	if err != nil {
		return nil, s.fail(err, "get API key")
	}
	return k, nil
}

func (s *Store) ListAPIKeys(ctx context.Context) ([]*pairgate.APIKey, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+apiKeyColumns+` FROM api_keys k LEFT JOIN users u ON u.id = k.created_by ORDER BY k.created_at DESC, k.id DESC`)
	if err != nil {
		return nil, s.fail(err, "list API keys")
	}
	defer rows.Close()
	var out []*pairgate.APIKey
	for rows.Next() {
		k, err := scanAPIKey(rows)
		if err != nil {
			return nil, s.fail(err, "list API keys")
		}
		out = append(out, k)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list API keys")
	}
	return out, nil
}

func (s *Store) DeleteAPIKey(ctx context.Context, id string) error {
	n, err := affected(s.exec(ctx, `DELETE FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return s.fail(err, "delete API key")
	}
	if n == 0 {
		return pairgate.Errorf(pairgate.ENOTFOUND, "API key not found")
	}
	return nil
}

func (s *Store) TouchAPIKey(ctx context.Context, id string, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE api_keys SET last_used_at = $1 WHERE id = $2`, ns(now), id); err != nil {
		return s.fail(err, "touch API key")
	}
	return nil
}
