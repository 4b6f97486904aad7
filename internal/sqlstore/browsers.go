package sqlstore

import (
	"context"
	"database/sql"

	"github.com/pairgate/pairgate"
)

func (s *Store) AuthorizeBrowser(ctx context.Context, d *pairgate.Device, sess *pairgate.Session) (*pairgate.Device, error) {
	var dev *pairgate.Device
	err := s.tx(ctx, "authorize browser", func(tx *sql.Tx) error {
		if d.AuthCodeID != "" {
			if err := s.useAuthCode(ctx, tx, d.AuthCodeID, d.AuthorizedAt); err != nil {
				return err
			}
		}
		var err error
		dev, err = s.upsertDevice(ctx, tx, d)
		if s.d.isForeignKey(err) {
			return pairgate.Errorf(pairgate.ENOTFOUND, "client '%s' not found", d.ClientID)
		}
		if err != nil {
			return err
		}
		// Concurrent authorizations of one browser serialise on the device
		// row that the upsert locks: each ends the sessions committed
		// before it, so exactly one session survives (the last to commit).
		if _, err := tx.ExecContext(ctx, deleteBrowserDeviceSessions, dev.ID); err != nil {
			return err
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO sessions (`+sessionColumns+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
			sess.IDHash, sess.UserID, dev.ID, ns(sess.CreatedAt), ns(sess.LastSeenAt), ns(sess.ExpiresAt), sess.IP, sess.UserAgent)
		return err
	})
	if err != nil {
		return nil, err
	}
	sess.DeviceID = dev.ID
	return dev, nil
}
