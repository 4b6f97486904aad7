package sqlstore_test

import (
	"context"
	"database/sql"
	"regexp"
	"strings"
	"testing"

	"github.com/pairgate/pairgate"
	"github.com/pairgate/pairgate/internal/sqlstore"
	"github.com/pairgate/pairgate/internal/storetest"
	"github.com/pairgate/pairgate/internal/testenv"
)

// TestMain stops the private PostgreSQL the tests start (testenv.Main).
func TestMain(m *testing.M) { testenv.Main(m) }

func open(t *testing.T, dsn string) pairgate.Store {
	s, err := sqlstore.Open(context.Background(), dsn, sqlstore.Options{})
	if err != nil {
		t.Fatalf("open %s: %v", dsn, err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func TestSQLite(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pairgate.Store { return open(t, testenv.SQLiteDSN(t)) })
}

func TestPostgres(t *testing.T) {
	storetest.Run(t, func(t *testing.T) pairgate.Store { return open(t, testenv.PostgresDSN(t)) })
}

// onBothStores runs f on a fresh SQLite and a fresh PostgreSQL store.
func onBothStores(t *testing.T, f func(t *testing.T, s *sqlstore.Store)) {
	for name, dsn := range map[string]func(testing.TB) string{"SQLite": testenv.SQLiteDSN, "Postgres": testenv.PostgresDSN} {
		t.Run(name, func(t *testing.T) { f(t, open(t, dsn(t)).(*sqlstore.Store)) })
	}
}

// planSorts reports whether a query plan sorts rows: SQLite's TEMP
// B-TREE, PostgreSQL's Sort node.
func planSorts(plan string) bool {
	return strings.Contains(plan, "TEMP B-TREE") || strings.Contains(plan, "Sort  (") || strings.Contains(plan, "Sort (")
}

// TestDeviceReadProbesTheHardwareIndex: a device read finds the other
// devices claiming its hardware id with one probe of the (client,
// hardware) index, never by walking the client's devices in id order
// through the inventory's sort index (which made every refresh at
// 100,000 devices walk them all).
func TestDeviceReadProbesTheHardwareIndex(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		plan, err := s.ExplainDeviceRead(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "devices_client_hardware") || strings.Contains(plan, "devices_sort_client") {
			t.Errorf("the same-hardware probe does not use devices_client_hardware:\n%s", plan)
		}
	})
}

// TestInactivitySweepReadsAnIndex: the sweep's pick walks the active
// devices in last-seen order from an index (00062 dropped one of two that
// could serve it: a test that it still has the other).
func TestInactivitySweepReadsAnIndex(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		plan, err := s.ExplainInactivitySweep(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(plan, "devices_state_sort_last_seen") || planSorts(plan) {
			t.Errorf("the inactivity sweep does not walk devices_state_sort_last_seen:\n%s", plan)
		}
	})
}

// TestDeviceSortsUseIndexes: every order of the inventory, both ways, on
// its own and behind the console's default state filter, with and
// without a cursor, is read from an index in the order asked for: the
// database never sorts the inventory to answer a page.
func TestDeviceSortsUseIndexes(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		ctx := context.Background()
		for _, sort := range pairgate.DeviceSorts {
			for _, desc := range []bool{false, true} {
				for _, f := range []pairgate.DeviceFilter{
					{Sort: sort, Desc: desc, Limit: 51},
					{Sort: sort, Desc: desc, Limit: 51, State: pairgate.DeviceActive},
					{Sort: sort, Desc: desc, Limit: 51, After: pairgate.DeviceCursor(&pairgate.Device{ID: "dev_x", Name: "x", State: "active",
						ClientID: "c", AuthMethod: "pairing", LastIP: "192.0.2.1"}, sort)},
				} {
					plan, err := s.ExplainListDevices(ctx, f)
					if err != nil {
						t.Fatal(err)
					}
					if planSorts(plan) || strings.Contains(plan, "Seq Scan") {
						t.Errorf("sort %s desc %v state %q after %q: the plan sorts or scans:\n%s", sort, desc, f.State, f.After, plan)
					}
				}
			}
		}
	})
}

var indexOnly = regexp.MustCompile(`Index Only Scan (Backward )?using devices_code_preview`)

// TestCodePreviewReadsOnlyItsIndex: each of a code preview's reads is
// answered from devices_code_preview alone, never from the rows (a
// site's code has its devices spread over the whole table: at a million
// devices, reading the rows of one code's 10,000 took 0.6 s).
func TestCodePreviewReadsOnlyItsIndex(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		plan, err := s.ExplainCodeDevices(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for i, p := range strings.Split(plan, "--\n")[1:] {
			if !strings.Contains(p, "COVERING INDEX devices_code_preview") && !indexOnly.MatchString(p) {
				t.Errorf("read %d of a code preview does not come from devices_code_preview alone:\n%s", i+1, p)
			}
		}
	})
}

// TestDeviceCountMovesOncePerStatement: on PostgreSQL a statement that
// inserts or deletes many devices writes one new version of a count row,
// not one per device: with a version per device, an import of a million
// left device_count 42 MB for its 16 rows, and every count read it all.
func TestDeviceCountMovesOncePerStatement(t *testing.T) {
	dsn := testenv.PostgresDSN(t)
	s := open(t, dsn)
	ctx := context.Background()
	raw, err := sql.Open("pgx", dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer raw.Close()
	for _, q := range []string{
		`INSERT INTO clients (id, name, public, grant_types, scopes, created_at) VALUES ('c', 'C', true, '', '', 1)`,
		`INSERT INTO devices (id, client_id, name, hardware_id, mode, auth_method, auth_code_id, user_id, scopes, authorized_at, last_seen_at, last_ip)
			SELECT 'dev_' || i, 'c', 'D', '', 'device', 'device_code', '', '', '', 1, 1, '' FROM generate_series(1, 5000) AS i`,
	} {
		if _, err := raw.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	if n, err := s.CountDevices(ctx); err != nil || n != 5000 {
		t.Fatalf("after inserting 5,000 in one statement: %d, %v", n, err)
	}
	if _, err := raw.ExecContext(ctx, `DELETE FROM devices WHERE id <> 'dev_1'`); err != nil {
		t.Fatal(err)
	}
	if n, err := s.CountDevices(ctx); err != nil || n != 1 {
		t.Fatalf("after deleting 4,999 in one statement: %d, %v", n, err)
	}
	var size int64
	if err := raw.QueryRowContext(ctx, `SELECT pg_relation_size('device_count')`).Scan(&size); err != nil {
		t.Fatal(err)
	}
	// 16 rows and a few versions of them fit in one page; 10,000
	// versions take about 50.
	if size > 8192 {
		t.Errorf("device_count takes %d bytes after two statements: a version per device", size)
	}
}

// TestLookupsUseTheirIndexes: what is found by a person, a device, an
// audit target or an actor is found through its partial index, on both
// stores: SQLite uses one only when the query says the index's
// condition, and without it deleting a person scanned every device,
// deleting a device every session, and a device's history in the audit
// log walked the whole log (0.7 s at a million events).
func TestLookupsUseTheirIndexes(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		plans, err := s.ExplainLookups(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		for what, plan := range plans {
			index := what[:strings.Index(what, ":")]
			if !strings.Contains(plan, index) || planSorts(plan) {
				t.Errorf("%s\ndoes not read %s in order:\n%s", what, index, plan)
			}
		}
	})
}

// TestAFewDevicesAreSortedNotSought: the device list of a code with few
// devices, in any order, reads the code's devices from its index and
// sorts them, instead of walking the order's index through the whole
// inventory to find them (at 200,000 devices, a code of 200 sorted by
// name: 132 ms walking, 0.8 ms sorting).
func TestAFewDevicesAreSortedNotSought(t *testing.T) {
	onBothStores(t, func(t *testing.T, s *sqlstore.Store) {
		for _, sort := range pairgate.DeviceSorts {
			plan, err := s.ExplainListDevices(context.Background(), pairgate.DeviceFilter{AuthCodeID: "ac_x", State: pairgate.DeviceActive, Sort: sort, Limit: 51})
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(plan, "devices_code_preview") || strings.Contains(plan, "devices_state_sort_") || strings.Contains(plan, "devices_sort_") {
				t.Errorf("sort %q: the list of a code's few devices does not start from the code's index:\n%s", sort, plan)
			}
		}
	})
}
