package sqlstore

import (
	"context"
	"database/sql"
	"fmt"
	"net/netip"
	"time"

	"github.com/pairgate/pairgate"
)

const clientColumns = `id, name, public, secret_hash, grant_types, scopes, created_at, require_dpop, inactive_sign_out_days, inactive_remove_days,
	device_flow_disabled, device_flow_networks, approval_prefix_v4, approval_prefix_v6`

func scanClient(row interface{ Scan(...any) error }) (*pairgate.Client, error) {
	var c pairgate.Client
	var gt, sc, nets string
	var created int64
	if err := row.Scan(&c.ID, &c.Name, &c.Public, &c.SecretHash, &gt, &sc, &created, &c.RequireDPoP, &c.InactiveSignOutDays, &c.InactiveRemoveDays,
		&c.DeviceFlow.Disabled, &nets, &c.DeviceFlow.ApprovalPrefixV4, &c.DeviceFlow.ApprovalPrefixV6); err != nil {
		return nil, err
	}
	c.GrantTypes = splitList(gt)
	c.Scopes = splitList(sc)
	c.CreatedAt = tm(created)
	for _, n := range splitList(nets) {
		p, err := netip.ParsePrefix(n)
		if err != nil {
			return nil, fmt.Errorf("client %s: stored network %q: %w", c.ID, n, err)
		}
		c.DeviceFlow.Networks = append(c.DeviceFlow.Networks, p)
	}
	return &c, nil
}

func joinNetworks(ps []netip.Prefix) string {
	l := make([]string, len(ps))
	for i, p := range ps {
		l[i] = p.String()
	}
	return joinList(l)
}

func (s *Store) CreateClient(ctx context.Context, c *pairgate.Client) error {
	p := c.DeviceFlow
	_, err := s.exec(ctx, `INSERT INTO clients (`+clientColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`,
		c.ID, c.Name, c.Public, c.SecretHash, joinList(c.GrantTypes), c.Scopes.String(), ns(c.CreatedAt), c.RequireDPoP,
		c.InactiveSignOutDays, c.InactiveRemoveDays, p.Disabled, joinNetworks(p.Networks), p.ApprovalPrefixV4, p.ApprovalPrefixV6)
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

func (s *Store) SetClientDeviceFlowPolicy(ctx context.Context, id string, p pairgate.DeviceFlowPolicy) error {
	n, err := affected(s.exec(ctx, `UPDATE clients SET device_flow_disabled = $1, device_flow_networks = $2,
		approval_prefix_v4 = $3, approval_prefix_v6 = $4 WHERE id = $5`,
		p.Disabled, joinNetworks(p.Networks), p.ApprovalPrefixV4, p.ApprovalPrefixV6, id))
	if err != nil {
		return s.fail(err, "set client device flow policy")
	}
	if n == 0 {
		return pairgate.Errorf(pairgate.ENOTFOUND, "client not found")
	}
	return nil
}

func (s *Store) UpdateClient(ctx context.Context, c *pairgate.Client) error {
	n, err := affected(s.exec(ctx, `UPDATE clients SET name = $1, grant_types = $2, scopes = $3 WHERE id = $4`,
		c.Name, joinList(c.GrantTypes), c.Scopes.String(), c.ID))
	if err != nil {
		return s.fail(err, "update client")
	}
	if n == 0 {
		return pairgate.Errorf(pairgate.ENOTFOUND, "client not found")
	}
	return nil
}

func (s *Store) SetClientSecret(ctx context.Context, id string, hash []byte) error {
	if len(hash) == 0 {
		return pairgate.Errorf(pairgate.EINVALID, "a client secret hash is required")
	}
	// Guarded by public = false, so that a client made public meanwhile
	// never gets a secret.
	n, err := affected(s.exec(ctx, `UPDATE clients SET secret_hash = $1 WHERE id = $2 AND public = $3`, hash, id, false))
	if err != nil {
		return s.fail(err, "set client secret")
	}
	if n == 1 {
		return nil
	}
	if _, err := s.GetClient(ctx, id); err != nil {
		return err
	}
	return pairgate.Errorf(pairgate.ECONFLICT, "client '%s' is public: it has no secret", id)
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
