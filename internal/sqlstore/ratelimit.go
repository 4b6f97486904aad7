package sqlstore

import (
	"context"
	"database/sql"
	"time"

	"github.com/pairgate/pairgate"
)

func (s *Store) HitRateLimit(ctx context.Context, key []byte, limit int, window time.Duration, now time.Time) (bool, time.Duration, error) {
	if len(key) == 0 || limit < 1 || window <= 0 {
		return false, 0, pairgate.Errorf(pairgate.EINVALID, "rate limit: empty key, or limit or window not positive")
	}
	// One statement, so that concurrent hits on one key serialise on its
	// row (PostgreSQL's ON CONFLICT takes the row lock; SQLite has one
	// writer) and each sees a distinct count: exactly limit of them pass.
	// A window that has ended restarts at this hit.
	var hits, end int64
	err := s.wdb.QueryRowContext(ctx, `INSERT INTO rate_limits (key_hash, hits, window_end) VALUES ($1, 1, $3)
		ON CONFLICT (key_hash) DO UPDATE SET
			hits = CASE WHEN rate_limits.window_end <= $2 THEN 1 ELSE rate_limits.hits + 1 END,
			window_end = CASE WHEN rate_limits.window_end <= $2 THEN $3 ELSE rate_limits.window_end END
		RETURNING hits, window_end`, key, ns(now), ns(now.Add(window))).Scan(&hits, &end)
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
