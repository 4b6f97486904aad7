package sqlstore

import (
	"context"
	"database/sql"
	"strings"

	"github.com/pairgate/pairgate"
)

// maxParams bounds the parameters of one statement: SQLite refuses more
// than 32766 (SQLITE_MAX_VARIABLE_NUMBER), PostgreSQL more than 65535.
const maxParams = 32000

// insertRows inserts rows of len(cols) values each into table with as
// few multi-row INSERTs as maxParams allows: one round trip and one
// statement to plan per few thousand rows, instead of one per row.
func (s *Store) insertRows(ctx context.Context, tx *sql.Tx, table, cols string, width int, vals []any, suffix string) error {
	per := maxParams / width
	for len(vals) > 0 {
		n := min(per, len(vals)/width)
		var b strings.Builder
		b.WriteString("INSERT INTO " + table + " (" + cols + ") VALUES ")
		p := 1
		for r := range n {
			if r > 0 {
				b.WriteString(", ")
			}
			b.WriteByte('(')
			for c := range width {
				if c > 0 {
					b.WriteString(", ")
				}
				b.WriteString(s.d.param(p))
				p++
			}
			b.WriteByte(')')
		}
		b.WriteString(suffix)
		if _, err := tx.ExecContext(ctx, b.String(), vals[:n*width]...); err != nil {
			return err
		}
		vals = vals[n*width:]
	}
	return nil
}

func (s *Store) ImportDevices(ctx context.Context, b *pairgate.ImportBatch) error {
	var codes, devices, families, tokens, revoked, events []any
	for _, c := range b.Codes {
		if c.ID == "" || len(c.CodeHash) == 0 {
			return pairgate.Errorf(pairgate.EINVALID, "an imported code needs its ID and hash")
		}
		codes = append(codes, c.ID, c.CodeHash, c.SealedCode, string(c.TTL), ns(c.CreatedAt), ns(c.ExpiresAt), c.CreatedBy, c.Uses,
			ns(c.LastUsedAt), c.Label, int64(c.EphemeralIdle))
	}
	// The families' rows wait for their status indexes, which only the
	// transaction can allocate: famAt[i] is where family i's index goes.
	var famAt []int
	var famRevoked []int64
	for i := range b.Devices {
		im := &b.Devices[i]
		d := im.Device
		if d.ID == "" || d.ClientID == "" {
			return pairgate.Errorf(pairgate.EINVALID, "an imported device needs its ID and client")
		}
		if d.State == "" {
			d.State = pairgate.DeviceActive
		}
		if d.StateChangedAt.IsZero() {
			d.StateChangedAt = d.AuthorizedAt
		}
		live := ""
		for _, f := range im.Families {
			fam := f.Family
			if fam.ID == "" {
				return pairgate.Errorf(pairgate.EINVALID, "device %s: an imported family needs its ID", d.ID)
			}
			if fam.RevokedAt.IsZero() {
				if live != "" {
					return pairgate.Errorf(pairgate.EINVALID, "device %s has two live families", d.ID)
				}
				live = fam.ID
			}
			subject := fam.Subject
			if subject == "" {
				subject = d.ID
			}
			gen, liveExpires := fam.Generation, int64(0)
			for _, t := range f.Tokens {
				if len(t.Hash) == 0 {
					return pairgate.Errorf(pairgate.EINVALID, "family %s: an imported token needs its hash", fam.ID)
				}
				gen = max(gen, t.Generation)
				if t.RotatedAt.IsZero() {
					liveExpires = max(liveExpires, ns(t.ExpiresAt))
				}
				tokens = append(tokens, t.Hash, fam.ID, t.Generation, ns(t.IssuedAt), ns(t.ExpiresAt), ns(t.RotatedAt))
			}
			famAt = append(famAt, len(families)+8)
			famRevoked = append(famRevoked, ns(fam.RevokedAt))
			families = append(families, fam.ID, d.ID, d.ClientID, subject, fam.Scopes.String(), ns(fam.CreatedAt), gen,
				ns(fam.RevokedAt), int64(-1), liveExpires, fam.DPoPJKT)
		}
		if d.FamilyID == "" {
			d.FamilyID = live
		}
		devices = append(devices, d.ID, d.ClientID, d.Name, d.HardwareID, string(d.Mode), d.AuthMethod, d.AuthCodeID, d.UserID,
			d.Scopes.String(), ns(d.AuthorizedAt), ns(d.LastSeenAt), d.LastIP, d.DPoPJKT, authorizedIP(&d), int64(d.EphemeralIdle),
			d.State, ns(d.StateChangedAt), d.FamilyID)
		for j := range im.Audit {
			e := &im.Audit[j]
			if e.ID == "" {
				return pairgate.Errorf(pairgate.EINVALID, "device %s: an imported audit event needs its ID", d.ID)
			}
			args, err := auditArgs(e)
			if err != nil {
				return err
			}
			events = append(events, args...)
		}
	}
	return s.tx(ctx, "import devices", func(tx *sql.Tx) error {
		idx, err := s.d.reserveStatusIndexes(ctx, tx, len(famAt))
		if err != nil {
			return err
		}
		for i, at := range famAt {
			families[at] = idx[i]
			if famRevoked[i] != 0 {
				revoked = append(revoked, idx[i], famRevoked[i])
			}
		}
		steps := []struct {
			table, cols string
			width       int
			vals        []any
			suffix      string
		}{
			{"authorization_codes", authCodeColumns, 11, codes, ""},
			{"devices", deviceRow, 18, devices, ""},
			{"refresh_families", `id, device_id, client_id, subject, scopes, created_at, generation, revoked_at, status_idx, live_expires_at, dpop_jkt`, 11, families, ""},
			{"refresh_tokens", `hash, family_id, generation, issued_at, expires_at, rotated_at`, 6, tokens, ""},
			{"token_status", `idx, changed_at`, 2, revoked, " ON CONFLICT (idx) DO NOTHING"},
			{"audit_events", auditColumns, 9, events, ""},
		}
		for _, st := range steps {
			err := s.insertRows(ctx, tx, st.table, st.cols, st.width, st.vals, st.suffix)
			switch {
			case s.d.isUnique(err):
				return pairgate.Errorf(pairgate.ECONFLICT, "an imported %s's ID or hash is taken", st.table)
			case s.d.isForeignKey(err):
				return pairgate.Errorf(pairgate.EINVALID, "an imported device's client does not exist")
			case err != nil:
				return err
			}
		}
		return nil
	})
}
