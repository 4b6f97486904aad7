package sqlstore

import (
	"context"
	"database/sql"
	"iter"
	"strings"
	"time"

	"github.com/pairgate/pairgate"
)

// Held jobs (the Release Portal). A job's document is stored in sealed
// chunks beside its row and counted in held_job_quota while it is kept;
// every change of state is a guarded UPDATE on the row's state, so that
// of two releases of one job exactly one claims it.

const heldJobColumns = `id, owner_user_id, owner_name, quota_key, device_id, device_name, name, format, size, pages, copies, requested,
	state, reason, printer_id, printer_name, printer_job_id, released_by, created_at, expires_at, released_at, updated_at, data_id, chunks`

func scanHeldJob(row interface{ Scan(...any) error }) (*pairgate.HeldJob, error) {
	var j pairgate.HeldJob
	var created, expires, released, updated int64
	if err := row.Scan(&j.ID, &j.OwnerUserID, &j.OwnerName, &j.QuotaKey, &j.DeviceID, &j.DeviceName, &j.Name, &j.Format, &j.Size,
		&j.Pages, &j.Copies, &j.Requested, &j.State, &j.Reason, &j.PrinterID, &j.PrinterName, &j.PrinterJobID, &j.ReleasedBy,
		&created, &expires, &released, &updated, &j.DataID, &j.Chunks); err != nil {
		return nil, err
	}
	j.CreatedAt, j.ExpiresAt, j.ReleasedAt, j.UpdatedAt = tm(created), tm(expires), tm(released), tm(updated)
	return &j, nil
}

func scanHeldJobs(rows *sql.Rows) ([]*pairgate.HeldJob, error) {
	defer rows.Close()
	var out []*pairgate.HeldJob
	for rows.Next() {
		j, err := scanHeldJob(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, j)
	}
	return out, rows.Err()
}

var errJobNotFound = pairgate.Errorf(pairgate.ENOTFOUND, "no such job")

func (s *Store) CreateHeldJob(ctx context.Context, j *pairgate.HeldJob, chunks iter.Seq2[[]byte, error], q pairgate.HeldJobQuota) error {
	if q.MaxBytes <= 0 || q.MaxJobs <= 0 {
		return pairgate.Errorf(pairgate.EINVALID, "a held job quota needs a positive size and number of jobs")
	}
	if j.State != pairgate.JobHeld || j.Size < 0 || j.QuotaKey == "" || j.DataID == "" {
		return pairgate.Errorf(pairgate.EINVALID, "a new held job is held, has a size, a quota key and a data id")
	}
	return s.tx(ctx, "create held job", func(tx *sql.Tx) error {
		// The quota first: a submission over it writes nothing. One
		// guarded statement counts and checks; concurrent submissions
		// under one key take turns on its row (PostgreSQL re-reads the
		// row a waiting UPDATE finds changed, and judges it again).
		if _, err := tx.ExecContext(ctx, `INSERT INTO held_job_quota (quota_key, bytes, jobs) VALUES ($1, 0, 0) ON CONFLICT (quota_key) DO NOTHING`,
			j.QuotaKey); err != nil {
			return err
		}
		n, err := affected(tx.ExecContext(ctx, `UPDATE held_job_quota SET bytes = bytes + $2, jobs = jobs + 1
			WHERE quota_key = $1 AND bytes + $2 <= $3 AND jobs + 1 <= $4`, j.QuotaKey, j.Size, q.MaxBytes, q.MaxJobs))
		if err != nil {
			return err
		}
		if n == 0 {
			return pairgate.Errorf(pairgate.ETOOLARGE, "the held jobs of this owner would pass the quota of %d jobs and %d bytes", q.MaxJobs, q.MaxBytes)
		}
		err = tx.QueryRowContext(ctx, `INSERT INTO held_jobs (owner_user_id, owner_name, owner_key, quota_key, device_id, device_name, name, format,
			size, pages, copies, requested, state, reason, printer_id, printer_name, printer_job_id, released_by, created_at, expires_at,
			released_at, updated_at, data_id, chunks)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $16, $12, '', '', '', 0, '', $13, $14, 0, $13, $15, 0)
			RETURNING id`,
			j.OwnerUserID, j.OwnerName, pairgate.OwnerKey(j.OwnerName), j.QuotaKey, j.DeviceID, j.DeviceName, j.Name, j.Format,
			j.Size, j.Pages, j.Copies, j.State, ns(j.CreatedAt), ns(j.ExpiresAt), j.DataID, j.Requested).Scan(&j.ID)
		if err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO held_job_chunks (job_id, seq, data) VALUES ($1, $2, $3)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		seq := 0
		for data, err := range chunks {
			if err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, j.ID, seq, data); err != nil {
				return err
			}
			seq++
		}
		if _, err := tx.ExecContext(ctx, `UPDATE held_jobs SET chunks = $2 WHERE id = $1`, j.ID, seq); err != nil {
			return err
		}
		j.Chunks = seq
		j.UpdatedAt = j.CreatedAt
		return nil
	})
}

func (s *Store) GetHeldJob(ctx context.Context, id int64) (*pairgate.HeldJob, error) {
	j, err := scanHeldJob(s.readRow(ctx, `SELECT `+heldJobColumns+` FROM held_jobs WHERE id = $1`, id))
	if err == sql.ErrNoRows {
		return nil, errJobNotFound
	}
	if err != nil {
		return nil, s.fail(err, "get held job")
	}
	return j, nil
}

func (s *Store) ListHeldJobs(ctx context.Context, f pairgate.HeldJobFilter) ([]*pairgate.HeldJob, error) {
	limit, err := pageLimit(f.Limit)
	if err != nil {
		return nil, err
	}
	var conds []string
	var args []any
	arg := func(v any) string {
		args = append(args, v)
		return "$" + itoa(len(args))
	}
	if !f.All {
		if f.UserID != "" {
			conds = append(conds, `(owner_user_id <> '' AND owner_user_id = `+arg(f.UserID)+`)`)
		}
		if f.Username != "" {
			conds = append(conds, `(owner_user_id = '' AND owner_key = `+arg(pairgate.OwnerKey(f.Username))+`)`)
		}
		if f.DeviceID != "" {
			conds = append(conds, `device_id = `+arg(f.DeviceID))
		}
		if len(conds) == 0 {
			return nil, nil
		}
	}
	q := `SELECT ` + heldJobColumns + ` FROM held_jobs`
	if len(conds) > 0 {
		q += ` WHERE ` + strings.Join(conds, " OR ")
	}
	q += ` ORDER BY id LIMIT ` + arg(limit)
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, s.fail(err, "list held jobs")
	}
	out, err := scanHeldJobs(rows)
	if err != nil {
		return nil, s.fail(err, "list held jobs")
	}
	return out, nil
}

func (s *Store) HeldJobChunk(ctx context.Context, id int64, seq int) ([]byte, error) {
	var data []byte
	err := s.readRow(ctx, `SELECT data FROM held_job_chunks WHERE job_id = $1 AND seq = $2`, id, seq).Scan(&data)
	if err == sql.ErrNoRows {
		return nil, pairgate.Errorf(pairgate.ENOTFOUND, "the job's document is gone")
	}
	if err != nil {
		return nil, s.fail(err, "read held job document")
	}
	return data, nil
}

// jobConflict says why a job is not in the state an operation needs.
func (s *Store) jobConflict(ctx context.Context, tx *sql.Tx, id int64, what string) error {
	var state string
	err := tx.QueryRowContext(ctx, `SELECT state FROM held_jobs WHERE id = $1`, id).Scan(&state)
	if err == sql.ErrNoRows {
		return errJobNotFound
	}
	if err != nil {
		return err
	}
	return pairgate.Errorf(pairgate.ECONFLICT, "the job is %s: %s", state, what)
}

func (s *Store) ClaimHeldJob(ctx context.Context, id int64, c pairgate.JobClaim, now time.Time) (*pairgate.HeldJob, error) {
	var j *pairgate.HeldJob
	err := s.tx(ctx, "claim held job", func(tx *sql.Tx) error {
		// The race of two releases of one job ends here: the guard on
		// state lets exactly one UPDATE through.
		rows, err := tx.QueryContext(ctx, `UPDATE held_jobs SET state = 'releasing', reason = '', printer_id = $2, printer_name = $3,
			released_by = $4, released_at = $5, updated_at = $5, expires_at = CASE WHEN expires_at < $6 THEN $6 ELSE expires_at END
			WHERE id = $1 AND state IN ('held', 'failed') AND chunks > 0 RETURNING `+heldJobColumns,
			id, c.PrinterID, c.PrinterName, c.By, ns(now), ns(c.KeepUntil))
		if err != nil {
			return err
		}
		js, err := scanHeldJobs(rows)
		if err != nil {
			return err
		}
		if len(js) == 0 {
			return s.jobConflict(ctx, tx, id, "it cannot be released now")
		}
		j = js[0]
		return nil
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

// releaseQuota gives a job's bytes back to its quota, in tx.
func releaseQuota(ctx context.Context, tx *sql.Tx, quotaKey string, size int64) error {
	_, err := tx.ExecContext(ctx, `UPDATE held_job_quota SET bytes = bytes - $2, jobs = jobs - 1 WHERE quota_key = $1`, quotaKey, size)
	return err
}

func (s *Store) HeldJobSent(ctx context.Context, id int64, printerJobID int, now time.Time) error {
	return s.tx(ctx, "held job sent", func(tx *sql.Tx) error {
		var quotaKey string
		var size int64
		err := tx.QueryRowContext(ctx, `UPDATE held_jobs SET state = 'sent', printer_job_id = $2, chunks = 0, updated_at = $3
			WHERE id = $1 AND state = 'releasing' AND chunks > 0 RETURNING quota_key, size`, id, printerJobID, ns(now)).Scan(&quotaKey, &size)
		if err == sql.ErrNoRows {
			return s.jobConflict(ctx, tx, id, "only a job being released can be sent")
		}
		if err != nil {
			return err
		}
		// The printer has the document: pairgate keeps no copy.
		if _, err := tx.ExecContext(ctx, `DELETE FROM held_job_chunks WHERE job_id = $1`, id); err != nil {
			return err
		}
		return releaseQuota(ctx, tx, quotaKey, size)
	})
}

func (s *Store) HeldJobProgress(ctx context.Context, id int64, state, reason string, now time.Time) error {
	switch state {
	case pairgate.JobPrinting, pairgate.JobDone, pairgate.JobFailed:
	default:
		return pairgate.Errorf(pairgate.EINVALID, "a printer's progress is printing, done or failed")
	}
	return s.tx(ctx, "held job progress", func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE held_jobs SET state = $2, reason = $3, updated_at = $4
			WHERE id = $1 AND state IN ('sent', 'printing')`, id, state, reason, ns(now)))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.jobConflict(ctx, tx, id, "only a job a printer accepted has progress")
		}
		return nil
	})
}

func (s *Store) HeldJobReleaseFailed(ctx context.Context, id int64, reason string, now time.Time) error {
	return s.tx(ctx, "held job release failed", func(tx *sql.Tx) error {
		n, err := affected(tx.ExecContext(ctx, `UPDATE held_jobs SET state = 'failed', reason = $2, updated_at = $3
			WHERE id = $1 AND state = 'releasing'`, id, reason, ns(now)))
		if err != nil {
			return err
		}
		if n == 0 {
			return s.jobConflict(ctx, tx, id, "only a job being released can fail to be sent")
		}
		return nil
	})
}

// deleteHeldJobs deletes jobs (their chunks go by cascade) and gives
// back the quota of those that still held their documents, in tx.
func deleteHeldJobs(ctx context.Context, tx *sql.Tx, js []*pairgate.HeldJob) error {
	for _, j := range js {
		if _, err := tx.ExecContext(ctx, `DELETE FROM held_jobs WHERE id = $1`, j.ID); err != nil {
			return err
		}
		if j.Chunks > 0 {
			if err := releaseQuota(ctx, tx, j.QuotaKey, j.Size); err != nil {
				return err
			}
		}
	}
	return nil
}

func (s *Store) DeleteHeldJob(ctx context.Context, id int64) (*pairgate.HeldJob, error) {
	var j *pairgate.HeldJob
	err := s.tx(ctx, "delete held job", func(tx *sql.Tx) error {
		var err error
		// Locked, so that a claim waits for the deletion or the deletion
		// for the claim, and each sees what the other did.
		j, err = scanHeldJob(tx.QueryRowContext(ctx, `SELECT `+heldJobColumns+` FROM held_jobs WHERE id = $1`+s.d.forUpdate, id))
		if err == sql.ErrNoRows {
			return errJobNotFound
		}
		if err != nil {
			return err
		}
		if j.State == pairgate.JobReleasing {
			return pairgate.Errorf(pairgate.ECONFLICT, "the job is being sent to a printer: wait until it is")
		}
		return deleteHeldJobs(ctx, tx, []*pairgate.HeldJob{j})
	})
	if err != nil {
		return nil, err
	}
	return j, nil
}

func (s *Store) ExpireHeldJobs(ctx context.Context, now, stuckBefore time.Time, limit int) ([]*pairgate.HeldJob, error) {
	if _, err := s.exec(ctx, `UPDATE held_jobs SET state = 'failed', reason = 'the release was interrupted; release the job again', updated_at = $1
		WHERE state = 'releasing' AND updated_at < $2`, ns(now), ns(stuckBefore)); err != nil {
		return nil, s.fail(err, "fail interrupted releases")
	}
	var out []*pairgate.HeldJob
	err := s.tx(ctx, "expire held jobs", func(tx *sql.Tx) error {
		rows, err := tx.QueryContext(ctx, `SELECT `+heldJobColumns+` FROM held_jobs WHERE expires_at <= $1 AND state <> 'releasing'
			ORDER BY expires_at LIMIT $2`+s.d.skipLockedRows, ns(now), limit)
		if err != nil {
			return err
		}
		if out, err = scanHeldJobs(rows); err != nil || len(out) == 0 {
			return err
		}
		return deleteHeldJobs(ctx, tx, out)
	})
	if err != nil {
		return nil, s.fail(err, "expire held jobs")
	}
	return out, nil
}
