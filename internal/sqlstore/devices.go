package sqlstore

import (
	"context"
	"database/sql"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/pairgate/pairgate"
)

// deviceColumns are what an authorization writes; a device's state and
// family are written by the operations that change them.
const deviceColumns = `id, client_id, name, hardware_id, mode, auth_method, auth_code_id, user_id, scopes, authorized_at, last_seen_at, last_ip, dpop_jkt, authorized_ip, ephemeral_idle`

// deviceRow is every column scanDevice reads.
const deviceRow = deviceColumns + `, state, state_changed_at, family_id`

// deviceReadOf is deviceRow and the mark of docs/design.md 2.1, computed when
// read, from a query whose table is devices: the oldest other device of
// the same client that claims the same hardware id. Computing it keeps it
// true whatever happens to the other device, with no column to keep in
// step; devices_client_hardware makes it one index probe.
// The test that o's hardware id is not empty is implied by the others;
// written out, it lets SQLite use that partial index instead of walking
// every device in id order for each row read.
func deviceReadOf(d dialect) string {
	return deviceRow + `, COALESCE((SELECT MIN(o.id) FROM ` + d.sameHardwareFrom + ` WHERE o.client_id = devices.client_id
	AND o.hardware_id = devices.hardware_id AND o.hardware_id <> '' AND o.id <> devices.id AND devices.hardware_id <> ''), '')`
}

func scanDevice(row interface{ Scan(...any) error }) (*pairgate.Device, error) {
	return scanDeviceInto(row)
}

// scanDeviceMarked scans deviceRead.
func scanDeviceMarked(row interface{ Scan(...any) error }) (*pairgate.Device, error) {
	var same string
	d, err := scanDeviceInto(row, &same)
	if err != nil {
		return nil, err
	}
	d.SameHardwareAs = same
	return d, nil
}

func scanDeviceInto(row interface{ Scan(...any) error }, extra ...any) (*pairgate.Device, error) {
	var d pairgate.Device
	var mode, scopes string
	var authorized, seen, changed, idle int64
	dest := []any{&d.ID, &d.ClientID, &d.Name, &d.HardwareID, &mode, &d.AuthMethod, &d.AuthCodeID, &d.UserID,
		&scopes, &authorized, &seen, &d.LastIP, &d.DPoPJKT, &d.AuthorizedIP, &idle, &d.State, &changed, &d.FamilyID}
	if err := row.Scan(append(dest, extra...)...); err != nil {
		return nil, err
	}
	d.Mode = pairgate.Mode(mode)
	d.Scopes = splitList(scopes)
	d.AuthorizedAt, d.LastSeenAt, d.StateChangedAt = tm(authorized), tm(seen), tm(changed)
	d.EphemeralIdle = time.Duration(idle)
	return &d, nil
}

// reauthorized is what an authorization changes on a device it updates.
const reauthorized = `name = excluded.name, hardware_id = excluded.hardware_id, mode = excluded.mode,
	auth_method = excluded.auth_method, auth_code_id = excluded.auth_code_id, user_id = excluded.user_id,
	scopes = excluded.scopes, authorized_at = excluded.authorized_at, last_seen_at = excluded.last_seen_at,
	last_ip = excluded.last_ip, authorized_ip = excluded.authorized_ip, ephemeral_idle = excluded.ephemeral_idle`

// upsertDevice records d under the identity rule of docs/design.md 2.1 (see
// pairgate.Store): the device of the same client that holds the key the
// request proved (d.DPoPJKT) is updated in place; a browser coming back
// with its own random id updates its row; anything else is a new row,
// whatever hardware id it claims. It returns the stored row.
//
// Two requests proving one key at once both reach the unique index on
// (client_id, dpop_jkt): one inserts, the other waits for it (PostgreSQL)
// or runs after it (SQLite's single writer) and updates the row it made.
func (s *Store) upsertDevice(ctx context.Context, tx *sql.Tx, d *pairgate.Device) (*pairgate.Device, error) {
	// A new device is active from its authorization on; an existing one
	// keeps its state until the authorization issues tokens (insertFamily).
	q := `INSERT INTO devices (` + deviceColumns + `, state_changed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $10)`
	// The conflict targets name their partial index's predicate, which
	// both SQLite and PostgreSQL require to pick a partial index.
	switch {
	case d.DPoPJKT != "":
		q += ` ON CONFLICT (client_id, dpop_jkt) WHERE dpop_jkt <> '' DO UPDATE SET ` + reauthorized
	case d.ClientID == pairgate.BrowserClientID && d.HardwareID != "":
		q += ` ON CONFLICT (client_id, hardware_id) WHERE client_id = 'pairgate-browser' AND hardware_id <> '' DO UPDATE SET ` + reauthorized
	}
	q += ` RETURNING ` + deviceRow
	return scanDevice(tx.QueryRowContext(ctx, q, d.ID, d.ClientID, d.Name, d.HardwareID, string(d.Mode), d.AuthMethod,
		d.AuthCodeID, d.UserID, d.Scopes.String(), ns(d.AuthorizedAt), ns(d.LastSeenAt), d.LastIP, d.DPoPJKT, authorizedIP(d), int64(d.EphemeralIdle)))
}

// authorizedIP is where an authorization came from: its request's address,
// which is the device's last address at that moment.
func authorizedIP(d *pairgate.Device) string {
	if d.AuthorizedIP != "" {
		return d.AuthorizedIP
	}
	return d.LastIP
}

func (s *Store) GetDevice(ctx context.Context, id string) (*pairgate.Device, error) {
	d, err := scanDeviceMarked(s.readRow(ctx, `SELECT `+s.deviceRead+` FROM devices WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "device not found")
	}
	if err != nil {
		return nil, s.fail(err, "get device")
	}
	return d, nil
}

// likePattern escapes LIKE's wildcards so that a search is a substring
// match of exactly what was typed, lower-cased as the database's lower()
// lower-cases the text it is matched against.
func (s *Store) likePattern(q string) string {
	r := strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`)
	return "%" + r.Replace(s.d.lower(q)) + "%"
}

func (s *Store) ListDevices(ctx context.Context, f pairgate.DeviceFilter) ([]*pairgate.Device, error) {
	q, args, err := s.listDevicesQuery(ctx, f)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "list devices")
	}
	defer rows.Close()
	var out []*pairgate.Device
	for rows.Next() {
		d, err := scanDeviceMarked(rows)
		if err != nil {
			return nil, s.fail(err, "list devices")
		}
		out = append(out, d)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list devices")
	}
	return out, nil
}

// listDevicesQuery is the query of ListDevices for f, and its arguments.
func (s *Store) listDevicesQuery(ctx context.Context, f pairgate.DeviceFilter) (string, []any, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return "", nil, err
	}
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + strconv.Itoa(len(args))
	}
	// fewRows: a condition picks at most searchCap devices by an index
	// of its own, and the page is sorted from them.
	fewRows := false
	if f.Search != "" {
		p := arg(s.likePattern(f.Search))
		match := `lower(` + s.d.searchText + `) LIKE ` + p + ` ESCAPE '\'`
		// A term of three characters or more is looked up in the trigram
		// index first. When it matches few devices (a rare or a missing
		// term: the case a scan is slow for) the page is found among them;
		// a common term fills a page quickly in id order, index or not.
		if n := utf8.RuneCountInString(f.Search); n >= 3 {
			ip := s.d.searchPattern(s, f.Search)
			ids := func(arg func(any) string) string { return s.d.searchIDs(arg(ip)) }
			grams := s.rarest(f.Search)
			if len(grams) > 0 {
				// The rarest few of the term's trigrams, and LIKE on what
				// they find (search.go).
				ids = func(arg func(any) string) string { return s.d.rareIDs(grams, ip, arg) }
			}
			few, err := s.searchFew(ctx, ids)
			if err != nil {
				return "", nil, s.fail(err, "search devices")
			}
			if few {
				fewRows = true
				if len(grams) > 0 {
					match = s.d.recheck(p)
				}
				match = `id IN (` + ids(arg) + `)` + ` AND ` + match
			}
		}
		conds = append(conds, match)
	}
	if f.ClientID != "" {
		conds = append(conds, `client_id = `+arg(f.ClientID))
	}
	if f.State != "" {
		conds = append(conds, `state = `+arg(f.State))
	}
	if f.AuthCodeID != "" {
		// The partial index's condition is said for SQLite, which does not
		// infer it from the parameter. A code of few devices (a handful of
		// kiosks among a million) is looked up in its index first: the
		// planners walk the order's index instead, reading every device to
		// find the code's few. A code of many fills a page quickly that way.
		codeIDs := func(arg func(any) string) string {
			return `SELECT id FROM devices WHERE auth_code_id = ` + arg(f.AuthCodeID) + ` AND auth_code_id <> ''`
		}
		few, err := s.searchFew(ctx, codeIDs)
		if err != nil {
			return "", nil, s.fail(err, "list a code's devices")
		}
		if few {
			fewRows = true
			conds = append(conds, `id IN (`+codeIDs(arg)+`)`)
		} else {
			conds = append(conds, `auth_code_id = `+arg(f.AuthCodeID)+` AND auth_code_id <> ''`)
		}
	}
	if f.AuthMethod != "" {
		conds = append(conds, `auth_method = `+arg(f.AuthMethod))
	}
	col, ok := deviceSortColumns[f.Sort]
	if !ok {
		return "", nil, pairgate.Errorf(pairgate.EINVALID, "sort must be one of %s", strings.Join(pairgate.DeviceSorts, ", "))
	}
	dir, cmp := "", ">"
	if f.Desc {
		dir, cmp = " DESC", "<"
	}
	if f.After != "" {
		key, id, err := pairgate.ParseDeviceCursor(f.Sort, f.After)
		if err != nil {
			return "", nil, err
		}
		if col == "id" {
			conds = append(conds, `id `+cmp+` `+arg(id))
		} else {
			// Keyset paging on (col, id): the first condition is a range
			// on the order's index, the second skips the ties already
			// shown. Written out rather than as a row value, which not
			// every planner turns into an index range.
			var k any = key
			if col == "authorized_at" || col == "last_seen_at" {
				k, _ = strconv.ParseInt(key, 10, 64)
			}
			kp := arg(k)
			conds = append(conds, ``+col+` `+cmp+`= `+kp+` AND (`+col+` `+cmp+` `+kp+` OR id `+cmp+` `+arg(id)+`)`)
		}
	}
	q := `SELECT ` + s.deviceRead + ` FROM devices`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	switch {
	case col == "id":
		q += ` ORDER BY id` + dir
	case fewRows:
		// Sorting the few is cheaper than walking the order's index to
		// find them (at a million devices, every entry of it), and the
		// planners walk it whenever it gives the order: an expression
		// gives the same order and no index has it.
		q += ` ORDER BY ` + unindexed(col) + dir + `, id` + dir
	default:
		q += ` ORDER BY ` + col + dir + `, id` + dir
	}
	q += ` LIMIT ` + arg(limit)
	return q, args, nil
}

// unindexed is an expression of column col that orders as it does and
// that no index holds.
func unindexed(col string) string {
	if col == "authorized_at" || col == "last_seen_at" {
		return `(` + col + ` + 0)`
	}
	return `(` + col + ` || '')`
}

// deviceSortColumns maps each order of the inventory to its column;
// migration 00061 indexes each with id.
var deviceSortColumns = map[string]string{"": "id", pairgate.SortByID: "id", pairgate.SortByName: "name",
	pairgate.SortByState: "state", pairgate.SortByClient: "client_id", pairgate.SortByMethod: "auth_method",
	pairgate.SortByIP: "last_ip", pairgate.SortByAuthorized: "authorized_at", pairgate.SortByLastSeen: "last_seen_at"}

// searchCap is how many matches make a term (or a code) common.
const searchCap = 2000

// searchFew reports whether the query of ids that ids builds (given how
// to add an argument) finds at most searchCap devices.
func (s *Store) searchFew(ctx context.Context, ids func(arg func(any) string) string) (bool, error) {
	var args []any
	q := ids(func(v any) string {
		args = append(args, v)
		return s.d.param(len(args))
	})
	var n int
	err := s.rdb.QueryRowContext(ctx, `SELECT COUNT(*) FROM (`+q+` LIMIT `+strconv.Itoa(searchCap+1)+`) AS m`, args...).Scan(&n)
	return n <= searchCap, err
}

func (s *Store) CountDevices(ctx context.Context) (int, error) {
	var n int
	// A count kept by triggers (migration 00033): reading it costs the
	// same with a thousand devices or a million.
	if err := s.readRow(ctx, `SELECT COALESCE(SUM(n), 0) FROM device_count`).Scan(&n); err != nil {
		return 0, s.fail(err, "count devices")
	}
	return n, nil
}

func (s *Store) DeleteDevice(ctx context.Context, id string, now time.Time) error {
	return s.tx(ctx, "delete device", func(tx *sql.Tx) error {
		// Refresh families and their tokens go by ON DELETE CASCADE, in this
		// transaction; access tokens fail from the next request on because
		// every check of one looks the device up, and resource servers learn
		// it from the token status lists.
		if err := s.revokeStatus(ctx, tx, `device_id = $2 AND revoked_at = 0`, now, id); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `DELETE FROM devices WHERE id = $1`, id))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ENOTFOUND, "device not found")
		}
		_, err = tx.ExecContext(ctx, deleteDeviceSessions, id)
		return err
	})
}

func (s *Store) RenameDevice(ctx context.Context, id, name string) error {
	n, err := affected(s.exec(ctx, `UPDATE devices SET name = $1 WHERE id = $2`, name, id))
	if err != nil {
		return s.fail(err, "rename device")
	}
	if n == 0 {
		return pairgate.Errorf(pairgate.ENOTFOUND, "device not found")
	}
	return nil
}

// touchBatch bounds a transaction of TouchDevices: a few milliseconds of
// SQLite's writer, and of PostgreSQL's row locks.
const touchBatch = 100

func (s *Store) TouchDevices(ctx context.Context, seen []pairgate.DeviceSeen) error {
	// In id order, so that replicas touching the same devices take their
	// rows in the same order and never wait for each other in a circle.
	seen = slices.SortedFunc(slices.Values(seen), func(a, b pairgate.DeviceSeen) int { return strings.Compare(a.ID, b.ID) })
	for batch := range slices.Chunk(seen, touchBatch) {
		err := s.gtx(ctx, "touch devices", func(ctx context.Context, tx *sql.Tx) error {
			for _, d := range batch {
				if _, err := s.txExec(ctx, tx, `UPDATE devices SET last_seen_at = $1, last_ip = $2 WHERE id = $3 AND last_seen_at <= $1`,
					ns(d.At), d.IP, d.ID); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			return err
		}
	}
	return nil
}
