package sqlstore_test

import (
	"context"
	"database/sql"
	"os"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestDeviceStateMigration: devices authorized before migration 00006 come
// out of it active, each with its live refresh family, so that their
// refreshed tokens keep working; a device with no live family has none.
func TestDeviceStateMigration(t *testing.T) {
	for _, db := range []struct {
		name, driver, dsn string
		dialect           goose.Dialect
	}{
		{"sqlite", "sqlite", testenv.SQLiteDSN(t), goose.DialectSQLite3},
		{"postgres", "pgx", testenv.PostgresDSN(t), goose.DialectPostgres},
	} {
		t.Run(db.name, func(t *testing.T) {
			ctx := context.Background()
			raw, err := sql.Open(db.driver, db.dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer raw.Close()
			p, err := goose.NewProvider(db.dialect, raw, os.DirFS("migrations/"+db.name), goose.WithDisableGlobalRegistry(true))
			if err != nil {
				t.Fatal(err)
			}
			if _, err := p.UpTo(ctx, 5); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{
				`INSERT INTO clients (id, name, public, grant_types, scopes, created_at) VALUES ('c', 'C', true, '', '', 1)`,
				`INSERT INTO devices (id, client_id, name, hardware_id, mode, auth_method, auth_code_id, user_id, scopes, authorized_at, last_seen_at, last_ip)
					VALUES ('dev_live', 'c', 'A', '', 'device', 'device_code', '', '', '', 1000, 0, ''),
					       ('dev_out', 'c', 'B', '', 'device', 'device_code', '', '', '', 2000, 0, '')`,
				`INSERT INTO refresh_families (id, device_id, client_id, subject, scopes, created_at, generation, revoked_at)
					VALUES ('fam_old', 'dev_live', 'c', 'dev_live', '', 10, 1, 20),
					       ('fam_live', 'dev_live', 'c', 'dev_live', '', 20, 1, 0),
					       ('fam_out', 'dev_out', 'c', 'dev_out', '', 30, 1, 40)`,
			} {
				if _, err := raw.ExecContext(ctx, q); err != nil {
					t.Fatalf("%s: %v", q, err)
				}
			}
			s := open(t, db.dsn)
			for _, want := range []struct{ id, family string }{{"dev_live", "fam_live"}, {"dev_out", ""}} {
				d, err := s.GetDevice(ctx, want.id)
				if err != nil {
					t.Fatal(err)
				}
				if d.State != pairgate.DeviceActive || d.FamilyID != want.family || !d.StateChangedAt.Equal(d.AuthorizedAt) {
					t.Fatalf("%s after the migration: state %q since %v, family %q; want active since %v, family %q",
						want.id, d.State, d.StateChangedAt, d.FamilyID, d.AuthorizedAt, want.family)
				}
			}
		})
	}
}
