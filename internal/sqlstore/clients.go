package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

const clientColumns = `id, name, public, secret_hash, grant_types, scopes, created_at, require_dpop, inactive_sign_out_days, inactive_remove_days`

func scanClient(row interface{ Scan(...any) error }) (*pairgate.Client, error) {
	var c pairgate.Client
	var gt, sc string
	var created int64
	if err := row.Scan(&c.ID, &c.Name, &c.Public, &c.SecretHash, &gt, &sc, &created, &c.RequireDPoP, &c.InactiveSignOutDays, &c.InactiveRemoveDays); err != nil {
		return nil, err
	}
	c.GrantTypes = splitList(gt)
	c.Scopes = splitList(sc)
	c.CreatedAt = tm(created)
	return &c, nil
}

func (s *Store) CreateClient(ctx context.Context, c *pairgate.Client) error {
	_, err := s.exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
		c.ID, c.Name, c.Public, c.SecretHash, joinList(c.GrantTypes), c.Scopes.String(), ns(c.CreatedAt), c.RequireDPoP,
		c.InactiveSignOutDays, c.InactiveRemoveDays)
	if s.d.isUnique(err) {
		return pairgate.Errorf(pairgate.ECONFLICT, "client '%s' already exists", c.ID)
	}
	if err != nil {
		return s.fail(err, "create client")
	}
	return nil
}

func (s *Store) GetClient(ctx context.Context, id string) (*pairgate.Client, error) {
	c, err := scanClient(s.readRow(ctx, `SELECT `+clientColumns+` FROM clients WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "client not found")
	}
	if err != nil {
		return nil, s.fail(err, "get client")
	}
	return c, nil
}

func (s *Store) ListClients(ctx context.Context) ([]*pairgate.Client, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+clientColumns+` FROM clients ORDER BY id`)
	if err != nil {
		return nil, s.fail(err, "list clients")
	}
	defer rows.Close()
	var out []*pairgate.Client
	for rows.Next() {
		c, err := scanClient(rows)
		if err != nil {
			return nil, s.fail(err, "list clients")
		}
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list clients")
	}
	return out, nil
}

func (s *Store) DeleteClient(ctx context.Context, id string, now time.Time) error {
	return s.tx(ctx, "delete client", func(tx *sql.Tx) error {
		// Devices, their refresh families and tokens, and pending grants go
		// with the client through ON DELETE CASCADE; their status indexes
		// are marked revoked first, in the same transaction.
		if err := s.revokeStatus(ctx, tx, `client_id = $2 AND revoked_at = 0`, now, id); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `DELETE FROM clients WHERE id = $1`, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ENOTFOUND, "client not found")
		}
		return nil
	})
}
