package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

func (s *Store) HitRateLimit(ctx context.Context, c pairgate.RateLimitCounter, now time.Time) (bool, time.Duration, error) {
	key, limit, window := c.Key, c.Limit, c.Window
	if len(key) == 0 || limit < 1 || window <= 0 {
		return false, 0, pairgate.Errorf(pairgate.EINVALID, "rate limit: empty key, or limit or window not positive")
	}
	// One statement, so that concurrent hits on one key serialise on its
	// row (PostgreSQL's ON CONFLICT takes the row lock; SQLite has one
	// writer) and each sees a distinct count: exactly limit of them pass.
	// A window that has ended restarts at this hit.
	var hits, end int64
	// The rule, subject and limit ride along for ListLockouts; a row
	// written before migration 00060 gets them at its next hit.
	err := s.wdb.QueryRowContext(ctx, `INSERT INTO rate_limits (key_hash, hits, window_end, rule, subject, hit_limit)
		VALUES ($1, 1, $3, $4, $5, $6)
		ON CONFLICT (key_hash) DO UPDATE SET
			hits = CASE WHEN rate_limits.window_end <= $2 THEN 1 ELSE rate_limits.hits + 1 END,
			window_end = CASE WHEN rate_limits.window_end <= $2 THEN $3 ELSE rate_limits.window_end END,
			rule = $4, subject = $5, hit_limit = $6
		RETURNING hits, window_end`, key, ns(now), ns(now.Add(window)), c.Rule, c.Subject, limit).Scan(&hits, &end)
	if err != nil {
		return false, 0, s.fail(err, "hit rate limit")
	}
	if hits <= int64(limit) {
		return true, 0, nil
	}
	return false, tm(end).Sub(now), nil
}

func (s *Store) RateLimitHits(ctx context.Context, key []byte, now time.Time) (int, time.Time, error) {
	var hits, end int64
	err := s.readRow(ctx, `SELECT hits, window_end FROM rate_limits WHERE key_hash = $1 AND window_end > $2`, key, ns(now)).Scan(&hits, &end)
	if err == sql.ErrNoRows {
		return 0, time.Time{}, nil
	}
	if err != nil {
		return 0, time.Time{}, s.fail(err, "read rate limit")
	}
	return int(hits), tm(end), nil
}

func (s *Store) RefundRateLimit(ctx context.Context, key []byte, now time.Time) error {
	if _, err := s.exec(ctx, `UPDATE rate_limits SET hits = hits - 1 WHERE key_hash = $1 AND window_end > $2 AND hits > 0`, key, ns(now)); err != nil {
		return s.fail(err, "refund rate limit")
	}
	return nil
}

func (s *Store) ResetRateLimit(ctx context.Context, key []byte) error {
	if _, err := s.exec(ctx, `DELETE FROM rate_limits WHERE key_hash = $1`, key); err != nil {
		return s.fail(err, "reset rate limit")
	}
	return nil
}

const lockoutColumns = `key_hash, rule, subject, hits, hit_limit, window_end`

func scanLockout(row interface{ Scan(...any) error }) (*pairgate.Lockout, error) {
	var l pairgate.Lockout
	var hits, limit, end int64
	if err := row.Scan(&l.Key, &l.Rule, &l.Subject, &hits, &limit, &end); err != nil {
		return nil, err
	}
	l.Hits, l.Limit, l.Until = int(hits), int(limit), tm(end)
	return &l, nil
}

func (s *Store) ListLockouts(ctx context.Context, now time.Time, limit int) ([]*pairgate.Lockout, error) {
	if limit < 1 || limit > pairgate.MaxPageSize+1 {
		return nil, pairgate.Errorf(pairgate.EINVALID, "limit must be between 1 and %d", pairgate.MaxPageSize+1)
	}
	// The running windows come from the window_end index, latest first;
	// hit_limit 0 is a row from before migration 00060 that has not been
	// hit since, whose limit is unknown.
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+lockoutColumns+` FROM rate_limits
		WHERE window_end > $1 AND hit_limit > 0 AND hits >= hit_limit ORDER BY window_end DESC, key_hash LIMIT $2`, ns(now), limit)
	if err != nil {
		return nil, s.fail(err, "list lock-outs")
	}
	defer rows.Close()
	var out []*pairgate.Lockout
	for rows.Next() {
		l, err := scanLockout(rows)
		if err != nil {
			return nil, s.fail(err, "list lock-outs")
		}
		out = append(out, l)
	}
	if err := rows.Err(); err != nil {
		return nil, s.fail(err, "list lock-outs")
	}
	return out, nil
}

func (s *Store) LiftLockout(ctx context.Context, key []byte, now time.Time) (*pairgate.Lockout, error) {
	// One statement: of concurrent lifts, the one whose DELETE finds the
	// row returns it.
	l, err := scanLockout(s.wdb.QueryRowContext(ctx, `DELETE FROM rate_limits WHERE key_hash = $1 AND window_end > $2
		RETURNING `+lockoutColumns, key, ns(now)))
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "no such lock-out: it may have lifted by itself")
	}
	if err != nil {
		return nil, s.fail(err, "lift lock-out")
	}
	return l, nil
}
