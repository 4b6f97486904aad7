package sqlstore

import (
	"context"
	"database/sql"
	"errors"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
)

// Printers and deployments. A device's printers are computed in one read
// (PrintersForDevice) over the few deployments there are; name patterns
// are matched in Go, which no index could serve anyway.

const printerColumns = `id, name, uri, location, description, model, duplex, color, paper_size, created_at, updated_at`

// printerColumnsOf is printerColumns qualified by a table alias.
func printerColumnsOf(alias string) string {
	cols := strings.Split(printerColumns, ", ")
	for i, c := range cols {
		cols[i] = alias + "." + c
	}
	return strings.Join(cols, ", ")
}

func scanPrinter(row interface{ Scan(...any) error }, extra ...any) (*pairgate.Printer, error) {
	var p pairgate.Printer
	var created, updated int64
	dest := append(extra, &p.ID, &p.Name, &p.URI, &p.Location, &p.Description, &p.Model, &p.Options.Duplex, &p.Options.Color,
		&p.Options.PaperSize, &created, &updated)
	if err := row.Scan(dest...); err != nil {
		return nil, err
	}
	p.CreatedAt, p.UpdatedAt = tm(created), tm(updated)
	return &p, nil
}

// nameKey is what two printer names must not share.
func nameKey(name string) string { return strings.ToLower(name) }

func (s *Store) printerConflict(p *pairgate.Printer) error {
	return pairgate.Errorf(pairgate.ECONFLICT, "name: a printer named '%s' already exists", pairgate.Printable(p.Name, 80))
}

// bumpPrinters moves the version of printers and deployments, in the
// transaction that changes them (see printerSnapshot).
func bumpPrinters(ctx context.Context, tx *sql.Tx) error {
	_, err := tx.ExecContext(ctx, `UPDATE printer_config SET version = version + 1 WHERE id = 1`)
	return err
}

func (s *Store) CreatePrinter(ctx context.Context, p *pairgate.Printer) error {
	err := s.tx(ctx, "create printer", func(tx *sql.Tx) error {
		_, err := tx.ExecContext(ctx, `INSERT INTO printers (`+printerColumns+`, name_key) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
			p.ID, p.Name, p.URI, p.Location, p.Description, p.Model, p.Options.Duplex, p.Options.Color, p.Options.PaperSize,
			ns(p.CreatedAt), ns(p.UpdatedAt), nameKey(p.Name))
		if s.d.isUnique(err) {
			return errUnique
		}
		if err != nil {
			return err
		}
		return bumpPrinters(ctx, tx)
	})
	if err == errUnique {
		if _, gerr := s.GetPrinter(ctx, p.ID); gerr == nil {
			return pairgate.Errorf(pairgate.ECONFLICT, "a printer with id '%s' already exists", pairgate.Printable(p.ID, 64))
		}
		return s.printerConflict(p)
	}
	return err
}

// errUnique marks a uniqueness violation inside a transaction, for the
// caller to say which.
var errUnique = &pairgate.Error{Code: pairgate.ECONFLICT, Message: "conflict"}

func (s *Store) GetPrinter(ctx context.Context, id string) (*pairgate.Printer, error) {
	p, err := scanPrinter(s.readRow(ctx, `SELECT `+printerColumns+` FROM printers WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "printer not found")
	}
	if err != nil {
		return nil, s.fail(err, "get printer")
	}
	return p, nil
}

func (s *Store) ListPrinters(ctx context.Context, f pairgate.PrinterFilter) ([]*pairgate.Printer, error) {
	q := `SELECT ` + printerColumns + ` FROM printers`
	var args []any
	if f.Search != "" {
		args = append(args, s.likePattern(f.Search))
		q += ` WHERE name_key LIKE $1 ESCAPE '\' OR lower(location) LIKE $1 ESCAPE '\' OR lower(description) LIKE $1 ESCAPE '\' OR lower(uri) LIKE $1 ESCAPE '\'`
	}
	q += ` ORDER BY name_key, id`
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "list printers")
	}
	defer rows.Close()
	var out []*pairgate.Printer
	for rows.Next() {
		p, err := scanPrinter(rows)
		if err != nil {
			return nil, s.fail(err, "list printers")
		}
		out = append(out, p)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list printers")
	}
	return out, nil
}

func (s *Store) UpdatePrinter(ctx context.Context, p *pairgate.Printer) error {
	err := s.tx(ctx, "update printer", func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE printers SET name = $1, name_key = $2, uri = $3, location = $4, description = $5,
			model = $6, duplex = $7, color = $8, paper_size = $9, updated_at = $10 WHERE id = $11`,
			p.Name, nameKey(p.Name), p.URI, p.Location, p.Description, p.Model, p.Options.Duplex, p.Options.Color, p.Options.PaperSize,
			ns(p.UpdatedAt), p.ID))
		if s.d.isUnique(err) {
			return s.printerConflict(p)
		}
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ENOTFOUND, "printer not found")
		}
		return bumpPrinters(ctx, tx)
	})
	return err
}

func (s *Store) DeletePrinter(ctx context.Context, id string) ([]string, error) {
	var deleted []string
	err := s.tx(ctx, "delete printer", func(tx *sql.Tx) error {
		// The row lock first (PostgreSQL): a deployment being created with
		// this printer holds a key-share lock on it until it commits, so
		// that it is either among the deployments read below or fails its
		// foreign key after this commits; never left behind empty.
		var got string
		err := tx.QueryRowContext(ctx, `SELECT id FROM printers WHERE id = $1`+s.d.forUpdate, id).Scan(&got)
		if err == sql.ErrNoRows {
			return pairgate.Errorf(pairgate.ENOTFOUND, "printer not found")
		}
		if err != nil {
			return err
		}
		deps, err := queryStrings(ctx, tx, `SELECT deployment_id FROM deployment_printers WHERE printer_id = $1`, id)
		if err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE deployments SET default_printer_id = '' WHERE default_printer_id = $1`, id); err != nil {
			return err
		}
		// deployment_printers go by ON DELETE CASCADE.
		if _, err := tx.ExecContext(ctx, `DELETE FROM printers WHERE id = $1`, id); err != nil {
			return err
		}
		if err := bumpPrinters(ctx, tx); err != nil {
			return err
		}
		for _, dep := range deps {
			n, err := affected(tx.ExecContext(ctx, `DELETE FROM deployments WHERE id = $1
				AND NOT EXISTS (SELECT 1 FROM deployment_printers dp WHERE dp.deployment_id = $1)`, dep))
			if err != nil {
				return err
			}
			if n > 0 {
				deleted = append(deleted, dep)
			}
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	slices.Sort(deleted)
	return deleted, nil
}

// queryStrings returns the one text column of every row of q.
func queryStrings(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}, query string, args ...any) ([]string, error) {
	rows, err := q.QueryContext(ctx, query, args...)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, rows.Err()
}

// placeholders returns "$from, $from+1, …" for n parameters.
func placeholders(from, n int) string {
	var b strings.Builder
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString("$" + strconv.Itoa(from+i))
	}
	return b.String()
}

// missing returns the first of want that is not in got.
func missing(want, got []string) string {
	for _, w := range want {
		if !slices.Contains(got, w) {
			return w
		}
	}
	return ""
}

func anys(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

func (s *Store) CreateDeployment(ctx context.Context, d *pairgate.Deployment, now time.Time) error {
	return s.tx(ctx, "create deployment", func(tx *sql.Tx) error {
		// Checked here for a clear error; the foreign keys keep the
		// invariant against a printer or device deleted concurrently.
		got, err := queryStrings(ctx, tx, `SELECT id FROM printers WHERE id IN (`+placeholders(1, len(d.PrinterIDs))+`)`, anys(d.PrinterIDs)...)
		if err != nil {
			return err
		}
		if m := missing(d.PrinterIDs, got); m != "" {
			return pairgate.Errorf(pairgate.EINVALID, "printers: there is no printer '%s'", pairgate.Printable(m, 64))
		}
		t := d.Target
		if t.AuthCodeID != "" {
			var one int
			err := tx.QueryRowContext(ctx, `SELECT 1 FROM authorization_codes WHERE id = $1 AND `+unexpired("$2"), t.AuthCodeID, ns(now)).Scan(&one)
			if err == sql.ErrNoRows {
				return pairgate.Errorf(pairgate.EINVALID, "target.authorization_code: there is no active authorization code '%s'", pairgate.Printable(t.AuthCodeID, 64))
			}
			if err != nil {
				return err
			}
		}
		if len(t.DeviceIDs) > 0 {
			got, err := queryStrings(ctx, tx, `SELECT id FROM devices WHERE id IN (`+placeholders(1, len(t.DeviceIDs))+`)`, anys(t.DeviceIDs)...)
			if err != nil {
				return err
			}
			if m := missing(t.DeviceIDs, got); m != "" {
				return pairgate.Errorf(pairgate.EINVALID, "target.devices: there is no device '%s'", pairgate.Printable(m, 64))
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO deployments (id, target_kind, auth_code_id, name_pattern, default_printer_id, created_by, created_at)
			VALUES ($1, $2, $3, $4, $5, $6, $7)`, d.ID, t.Kind(), t.AuthCodeID, t.NamePattern, d.DefaultPrinterID, d.CreatedBy, ns(d.CreatedAt))
		if s.d.isUnique(err) {
			return pairgate.Errorf(pairgate.ECONFLICT, "a deployment with id '%s' already exists", pairgate.Printable(d.ID, 64))
		}
		if err != nil {
			return err
		}
		for _, p := range d.PrinterIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_printers (deployment_id, printer_id) VALUES ($1, $2)`, d.ID, p); err != nil {
				return s.refGone(err, "printers: a printer was deleted meanwhile")
			}
		}
		for _, dev := range t.DeviceIDs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO deployment_devices (deployment_id, device_id) VALUES ($1, $2)`, d.ID, dev); err != nil {
				return s.refGone(err, "target.devices: a device was deleted meanwhile")
			}
		}
		return bumpPrinters(ctx, tx)
	})
}

// refGone turns a foreign key violation into the caller's error.
func (s *Store) refGone(err error, msg string) error {
	if s.d.isForeignKey(err) {
		return &pairgate.Error{Code: pairgate.EINVALID, Message: msg, Err: err}
	}
	return err
}

func (s *Store) ListDeployments(ctx context.Context) ([]*pairgate.Deployment, error) {
	// One read transaction, so that the three reads see one state.
	tx, err := s.rdb.BeginTx(ctx, s.d.snapshot)
	if err != nil {
		return nil, s.fail(err, "list deployments")
	}
	defer tx.Rollback()
	rows, err := tx.QueryContext(ctx, `SELECT id, target_kind, auth_code_id, name_pattern, default_printer_id, created_by, created_at
		FROM deployments ORDER BY created_at DESC, id DESC`)
	if err != nil {
		return nil, s.fail(err, "list deployments")
	}
	var out []*pairgate.Deployment
	byID := map[string]*pairgate.Deployment{}
	for rows.Next() {
		d, err := scanDeployment(rows)
		if err != nil {
			rows.Close()
			return nil, s.fail(err, "list deployments")
		}
		out = append(out, d)
		byID[d.ID] = d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list deployments")
	}
	for _, q := range []struct {
		sql string
		add func(d *pairgate.Deployment, id string)
	}{
		{`SELECT deployment_id, printer_id FROM deployment_printers ORDER BY deployment_id, printer_id`,
			func(d *pairgate.Deployment, id string) { d.PrinterIDs = append(d.PrinterIDs, id) }},
		{`SELECT deployment_id, device_id FROM deployment_devices ORDER BY deployment_id, device_id`,
			func(d *pairgate.Deployment, id string) { d.Target.DeviceIDs = append(d.Target.DeviceIDs, id) }},
	} {
		rows, err := tx.QueryContext(ctx, q.sql)
		if err != nil {
			return nil, s.fail(err, "list deployments")
		}
		for rows.Next() {
			var dep, id string
			if err := rows.Scan(&dep, &id); err != nil {
				rows.Close()
				return nil, s.fail(err, "list deployments")
			}
			if d := byID[dep]; d != nil {
				q.add(d, id)
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, s.fail(err, "list deployments")
		}
	}
	return out, nil
}

func scanDeployment(row interface{ Scan(...any) error }) (*pairgate.Deployment, error) {
	var d pairgate.Deployment
	var kind string
	var created int64
	if err := row.Scan(&d.ID, &kind, &d.Target.AuthCodeID, &d.Target.NamePattern, &d.DefaultPrinterID, &d.CreatedBy, &created); err != nil {
		return nil, err
	}
	d.Target.All = kind == pairgate.TargetAll
	d.CreatedAt = tm(created)
	return &d, nil
}

func (s *Store) DeleteDeployment(ctx context.Context, id string) error {
	return s.tx(ctx, "delete deployment", func(tx *sql.Tx) error {
		// Its printers and devices go by ON DELETE CASCADE.
		n, err := affected(tx.ExecContext(ctx, `DELETE FROM deployments WHERE id = $1`, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ENOTFOUND, "deployment not found")
		}
		return bumpPrinters(ctx, tx)
	})
}

// printersForDevice selects the (deployment, printer) pairs that may
// apply to a device: every deployment for all or by name pattern (the
// pattern is matched in Go), the ones for its code, and the ones naming
// it (through the primary key of deployment_devices). One statement: one
// snapshot, on both databases.
var printersForDevice = `SELECT d.id, d.target_kind, d.auth_code_id, d.name_pattern, d.default_printer_id, d.created_by, d.created_at, ` +
	printerColumnsOf("p") + `
	FROM deployments d
	JOIN deployment_printers dp ON dp.deployment_id = d.id
	JOIN printers p ON p.id = dp.printer_id
	WHERE d.target_kind IN ('all', 'name_pattern')
	   OR (d.target_kind = 'authorization_code' AND d.auth_code_id = $1)
	   OR (d.target_kind = 'devices' AND EXISTS (SELECT 1 FROM deployment_devices dd WHERE dd.device_id = $2 AND dd.deployment_id = d.id))`

// printersForDeviceJoin is PrintersForDevice in one statement, for when
// the printers change faster than a snapshot can be taken.
func (s *Store) printersForDeviceJoin(ctx context.Context, dev *pairgate.Device) ([]pairgate.DevicePrinter, error) {
	st, err := s.reads.get(ctx, printersForDevice)
	if err != nil {
		return nil, s.fail(err, "printers for device")
	}
	// A code target never has an empty code id: a device authorized
	// without a code matches none.
	rows, err := st.QueryContext(ctx, dev.AuthCodeID, dev.ID)
	if err != nil {
		return nil, s.fail(err, "printers for device")
	}
	defer rows.Close()
	deps := map[string]*pairgate.Deployment{}
	var order []*pairgate.Deployment
	printers := map[string]*pairgate.Printer{}
	for rows.Next() {
		var d pairgate.Deployment
		var kind string
		var created int64
		p, err := scanPrinter(rows, &d.ID, &kind, &d.Target.AuthCodeID, &d.Target.NamePattern, &d.DefaultPrinterID, &d.CreatedBy, &created)
		if err != nil {
			return nil, s.fail(err, "printers for device")
		}
		dep := deps[d.ID]
		if dep == nil {
			d.CreatedAt = tm(created)
			d.Target.All = kind == pairgate.TargetAll
			if kind == pairgate.TargetDevices {
				// The query selected it for naming this device.
				d.Target.DeviceIDs = []string{dev.ID}
			}
			dep = &d
			deps[d.ID] = dep
			order = append(order, dep)
		}
		dep.PrinterIDs = append(dep.PrinterIDs, p.ID)
		printers[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "printers for device")
	}
	return pairgate.ResolveDevicePrinters(dev, order, printers), nil
}

// printerSnapshot is every printer and deployment (without the devices a
// devices target names, which are read per device) as of one version of
// printer_config. Each replica keeps the latest it read: a poll then
// reads the version and the deployments naming the device, one indexed
// row or two, instead of every matching deployment's printers. Its
// contents are shared by every answer built from it and never changed.
type printerSnapshot struct {
	version     int64
	deployments []*pairgate.Deployment
	devicesKind map[string]bool // deployments whose target is devices
	printers    map[string]*pairgate.Printer
}

// pollQuery reads the version and, in the same statement (one snapshot),
// the deployments that name the device.
const pollQuery = `SELECT c.version, COALESCE(dd.deployment_id, '') FROM printer_config c
	LEFT JOIN deployment_devices dd ON dd.device_id = $1 WHERE c.id = 1`

func (s *Store) PrintersForDevice(ctx context.Context, dev *pairgate.Device) ([]pairgate.DevicePrinter, error) {
	for range 3 {
		version, named, err := s.devicePoll(ctx, dev.ID)
		if err != nil {
			return nil, err
		}
		snap := s.printerSnap.Load()
		if snap == nil || snap.version != version {
			if snap, err = s.loadPrinterSnapshot(ctx); err != nil {
				return nil, err
			}
			if old := s.printerSnap.Load(); old == nil || old.version < snap.version {
				s.printerSnap.Store(snap)
			}
			if snap.version != version {
				continue // changed between the two reads: read both again
			}
		}
		deps := make([]*pairgate.Deployment, 0, len(snap.deployments))
		for _, d := range snap.deployments {
			if !snap.devicesKind[d.ID] {
				deps = append(deps, d)
			} else if named[d.ID] {
				c := *d
				c.Target.DeviceIDs = []string{dev.ID}
				deps = append(deps, &c)
			}
		}
		return pairgate.ResolveDevicePrinters(dev, deps, snap.printers), nil
	}
	return s.printersForDeviceJoin(ctx, dev)
}

func (s *Store) devicePoll(ctx context.Context, deviceID string) (int64, map[string]bool, error) {
	st, err := s.reads.get(ctx, pollQuery)
	if err != nil {
		return 0, nil, s.fail(err, "printers for device")
	}
	rows, err := st.QueryContext(ctx, deviceID)
	if err != nil {
		return 0, nil, s.fail(err, "printers for device")
	}
	defer rows.Close()
	var version int64 = -1
	var named map[string]bool
	for rows.Next() {
		var dep string
		if err := rows.Scan(&version, &dep); err != nil {
			return 0, nil, s.fail(err, "printers for device")
		}
		if dep != "" {
			if named == nil {
				named = map[string]bool{}
			}
			named[dep] = true
		}
	}
	if err := rows.Err(); err != nil {
		return 0, nil, s.fail(err, "printers for device")
	}
	if version < 0 {
		return 0, nil, pairgate.Internal(errors.New("no printer_config row"), "printers for device")
	}
	return version, named, nil
}

// loadPrinterSnapshot reads every printer and deployment in one read
// transaction.
func (s *Store) loadPrinterSnapshot(ctx context.Context) (*printerSnapshot, error) {
	tx, err := s.rdb.BeginTx(ctx, s.d.snapshot)
	if err != nil {
		return nil, s.fail(err, "load printers")
	}
	defer tx.Rollback()
	snap := &printerSnapshot{devicesKind: map[string]bool{}, printers: map[string]*pairgate.Printer{}}
	if err := tx.QueryRowContext(ctx, `SELECT version FROM printer_config WHERE id = 1`).Scan(&snap.version); err != nil {
		return nil, s.fail(err, "load printers")
	}
	rows, err := tx.QueryContext(ctx, `SELECT id, target_kind, auth_code_id, name_pattern, default_printer_id, created_by, created_at FROM deployments`)
	if err != nil {
		return nil, s.fail(err, "load printers")
	}
	byID := map[string]*pairgate.Deployment{}
	for rows.Next() {
		var kind string
		var d pairgate.Deployment
		var created int64
		if err := rows.Scan(&d.ID, &kind, &d.Target.AuthCodeID, &d.Target.NamePattern, &d.DefaultPrinterID, &d.CreatedBy, &created); err != nil {
			rows.Close()
			return nil, s.fail(err, "load printers")
		}
		d.Target.All = kind == pairgate.TargetAll
		d.CreatedAt = tm(created)
		snap.devicesKind[d.ID] = kind == pairgate.TargetDevices
		snap.deployments = append(snap.deployments, &d)
		byID[d.ID] = &d
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "load printers")
	}
	rows, err = tx.QueryContext(ctx, `SELECT deployment_id, printer_id FROM deployment_printers ORDER BY deployment_id, printer_id`)
	if err != nil {
		return nil, s.fail(err, "load printers")
	}
	for rows.Next() {
		var dep, p string
		if err := rows.Scan(&dep, &p); err != nil {
			rows.Close()
			return nil, s.fail(err, "load printers")
		}
		if d := byID[dep]; d != nil {
			d.PrinterIDs = append(d.PrinterIDs, p)
		}
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "load printers")
	}
	rows, err = tx.QueryContext(ctx, `SELECT `+printerColumns+` FROM printers`)
	if err != nil {
		return nil, s.fail(err, "load printers")
	}
	defer rows.Close()
	for rows.Next() {
		p, err := scanPrinter(rows)
		if err != nil {
			return nil, s.fail(err, "load printers")
		}
		snap.printers[p.ID] = p
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "load printers")
	}
	return snap, nil
}
