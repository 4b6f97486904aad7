package sqlstore

import (
	"context"
	"database/sql"
	"encoding/json"
	"strconv"
	"strings"

	"github.com/pairgate/pairgate"
)

const auditColumns = `id, time, action, actor_type, actor_id, actor_name, target, ip, details`

const insertAuditEvent = `INSERT INTO audit_events (` + auditColumns + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`

func auditArgs(e *pairgate.AuditEvent) ([]any, error) {
	details := "{}"
	if len(e.Details) > 0 {
		b, err := json.Marshal(e.Details)
		if err != nil {
			return nil, pairgate.Internal(err, "audit details")
		}
		details = string(b)
	}
	return []any{e.ID, ns(e.Time), e.Action, e.ActorType, e.ActorID, e.ActorName, e.Target, e.IP, details}, nil
}

func (s *Store) AppendAuditEvent(ctx context.Context, e *pairgate.AuditEvent) error {
	args, err := auditArgs(e)
	if err != nil {
		return err
	}
	return s.gtx(ctx, "append audit event", func(ctx context.Context, tx *sql.Tx) error {
		_, err := s.txExec(ctx, tx, insertAuditEvent, args...)
		return err
	})
}

func (s *Store) AppendAuditEvents(ctx context.Context, es []*pairgate.AuditEvent) error {
	if len(es) == 0 {
		return nil
	}
	// One multi-row INSERT: a sweep's batch of 500 events was 500
	// statements, each a round trip and a plan, with the writer held.
	var vals []any
	for _, e := range es {
		args, err := auditArgs(e)
		if err != nil {
			return err
		}
		vals = append(vals, args...)
	}
	return s.tx(ctx, "append audit events", func(tx *sql.Tx) error {
		return s.insertRows(ctx, tx, "audit_events", auditColumns, 9, vals, "")
	})
}

// auditQuery is the query of a page of the audit log, and its arguments.
func auditQuery(f pairgate.AuditFilter) (string, []any, error) {
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
	switch {
	case strings.HasSuffix(f.Action, "."):
		conds = append(conds, `action LIKE `+arg(strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(f.Action)+"%")+` ESCAPE '\'`)
	case f.Action != "":
		conds = append(conds, `action = `+arg(f.Action))
	}
	// Each repeats its partial index's condition (an id that is not
	// empty): SQLite uses a partial index only for a query that says
	// its condition, not one that implies it through a parameter.
	if f.ActorID != "" {
		conds = append(conds, `actor_id = `+arg(f.ActorID)+` AND actor_id <> ''`)
	}
	if f.Target != "" {
		conds = append(conds, `target = `+arg(f.Target)+` AND target <> ''`)
	}
	if !f.Since.IsZero() {
		conds = append(conds, `time >= `+arg(ns(f.Since)))
	}
	if !f.Until.IsZero() {
		conds = append(conds, `time < `+arg(ns(f.Until)))
	}
	if f.Before != "" {
		conds = append(conds, `id < `+arg(f.Before))
	}
	q := `SELECT id, time, action, actor_type, actor_id, actor_name, target, ip, details FROM audit_events`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " AND ")
	}
	q += ` ORDER BY id DESC LIMIT ` + arg(limit)
	return q, args, nil
}

func (s *Store) ListAuditEvents(ctx context.Context, f pairgate.AuditFilter) ([]*pairgate.AuditEvent, error) {
	q, args, err := auditQuery(f)
	if err != nil {
		return nil, err
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "list audit events")
	}
	defer rows.Close()
	var out []*pairgate.AuditEvent
	for rows.Next() {
		var e pairgate.AuditEvent
		var t int64
		var details string
		if err := rows.Scan(&e.ID, &t, &e.Action, &e.ActorType, &e.ActorID, &e.ActorName, &e.Target, &e.IP, &details); err != nil {
			return nil, s.fail(err, "list audit events")
		}
		e.Time = tm(t)
		if details != "{}" {
			if err := json.Unmarshal([]byte(details), &e.Details); err != nil {
				return nil, pairgate.Internal(err, "audit details")
			}
		}
		out = append(out, &e)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list audit events")
	}
	return out, nil
}
