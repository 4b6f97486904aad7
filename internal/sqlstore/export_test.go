package sqlstore

import (
	"context"
	"fmt"
	"strings"

	"github.com/pairgate/pairgate"
)

// ExplainListDevices returns the plan the database chooses for the query
// of ListDevices with f, one line per step. On PostgreSQL sequential
// scans and sorts are priced out first, so that an empty table's plan
// shows what the indexes allow rather than what is cheapest on no rows:
// a Sort left in the plan means no index gives the order.
func (s *Store) ExplainListDevices(ctx context.Context, f pairgate.DeviceFilter) (string, error) {
	q, args, err := s.listDevicesQuery(ctx, f)
	if err != nil {
		return "", err
	}
	return s.explain(ctx, q, args...)
}

// ExplainDeviceRead is the plan of reading one device with its
// same-hardware mark (a refresh, the device API, the console).
func (s *Store) ExplainDeviceRead(ctx context.Context) (string, error) {
	return s.explain(ctx, `SELECT `+s.deviceRead+` FROM devices WHERE id = $1`, "dev_x")
}

// ExplainInactivitySweep is the plan of the inactivity sweep's pick.
func (s *Store) ExplainInactivitySweep(ctx context.Context) (string, error) {
	return s.explain(ctx, s.inactiveDevicesQuery(), int64(1e18), int64(2e18), int64(1e18), 500)
}

// ExplainCodeDevices is the plans of a code preview's three reads, one
// after the other, each headed by "--".
func (s *Store) ExplainCodeDevices(ctx context.Context) (string, error) {
	var out []string
	for _, q := range []struct {
		sql  string
		args []any
	}{
		{codeActiveQuery, []any{"ac_x"}},
		{codeAuthorizedFromQuery, []any{"ac_x", maxAuthorizedFrom}},
		{codeSeenElsewhereQuery, []any{"ac_x", int64(1e18), maxSeenElsewhere}},
	} {
		plan, err := s.explain(ctx, q.sql, q.args...)
		if err != nil {
			return "", err
		}
		out = append(out, "--\n"+plan)
	}
	return strings.Join(out, "\n"), nil
}

// ExplainLookups is the plans of the statements that find rows by a
// person, a device, an audit target or actor through a partial index,
// by the index each should use.
func (s *Store) ExplainLookups(ctx context.Context) (map[string]string, error) {
	target, targetArgs, err := auditQuery(pairgate.AuditFilter{Target: "dev_x", Limit: 51})
	if err != nil {
		return nil, err
	}
	actor, actorArgs, err := auditQuery(pairgate.AuditFilter{ActorID: "usr_x", Limit: 51})
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, q := range []struct {
		index, sql string
		args       []any
	}{
		{"sessions_device", deleteDeviceSessions, []any{"dev_x"}},
		{"sessions_device", deleteBrowserDeviceSessions, []any{"dev_x"}},
		{"sessions_user", deleteUserSessions, []any{"usr_x"}},
		{"sessions_user", detachUserSessions, []any{"usr_x"}},
		{"devices_user", `DELETE FROM devices WHERE ` + userDevices("$1"), []any{"usr_x"}},
		{"audit_events_target_id", target, targetArgs},
		{"audit_events_actor", actor, actorArgs},
	} {
		plan, err := s.explain(ctx, q.sql, q.args...)
		if err != nil {
			return nil, fmt.Errorf("%s: %w", q.sql, err)
		}
		out[q.index+": "+q.sql] = plan
	}
	return out, nil
}

// SearchQuery is the query of a search for term, and its arguments.
func (s *Store) SearchQuery(ctx context.Context, term string) (string, []any, error) {
	return s.listDevicesQuery(ctx, pairgate.DeviceFilter{Search: term})
}

func (s *Store) explain(ctx context.Context, q string, args ...any) (string, error) {
	conn, err := s.rdb.Conn(ctx)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	explain := "EXPLAIN QUERY PLAN "
	if s.d.name == "postgres" {
		explain = "EXPLAIN "
		for _, set := range []string{"enable_seqscan", "enable_sort"} {
			if _, err := conn.ExecContext(ctx, "SET "+set+" = off"); err != nil {
				return "", err
			}
			defer conn.ExecContext(context.WithoutCancel(ctx), "RESET "+set)
		}
	}
	rows, err := conn.QueryContext(ctx, explain+q, args...)
	if err != nil {
		return "", err
	}
	defer rows.Close()
	cols, _ := rows.Columns()
	var lines []string
	for rows.Next() {
		vals := make([]any, len(cols))
		ptrs := make([]any, len(cols))
		for i := range vals {
			ptrs[i] = &vals[i]
		}
		if err := rows.Scan(ptrs...); err != nil {
			return "", err
		}
		lines = append(lines, fmt.Sprint(vals[len(vals)-1]))
	}
	return strings.Join(lines, "\n"), rows.Err()
}

// SampleTrigrams takes a search estimate now and returns how many devices
// it read and how many of them had each trigram; the store goes on with
// the estimate it had.
func (s *Store) SampleTrigrams(ctx context.Context) (int, map[string]uint16, error) {
	sample, err := s.sampleTrigrams(ctx)
	if err != nil {
		return 0, nil, err
	}
	return sample.n, sample.counts, nil
}

// UseTrigramEstimate makes searches choose their trigrams by counts, as
// if a sample of n devices had found them.
func (s *Store) UseTrigramEstimate(n int, counts map[string]uint16) {
	s.trigrams.cur.Store(&trigramSample{taken: s.trigrams.now(), n: n, counts: counts})
}

// RarestTrigrams is what a search for term asks the trigram index for
// (nil: every trigram of the term, as the database chooses).
func (s *Store) RarestTrigrams(term string) []string { return s.rarest(term) }

// Lower lower-cases as the database does.
func (s *Store) Lower(text string) string { return s.d.lower(text) }

const MatchTrigrams = matchTrigrams
