-- +goose Up
-- The Release Portal's held jobs. AUTOINCREMENT: a job's id is its IPP
-- job-id, and an id is never given to a second job after the first was
-- deleted, so that a client asking about its job never sees another's.
-- owner_key is the owner name in lower case, for the jobs a device-mode
-- client submitted in a name it claimed (owner_user_id = '').
CREATE TABLE held_jobs (
    id             INTEGER PRIMARY KEY AUTOINCREMENT,
    owner_user_id  TEXT NOT NULL,
    owner_name     TEXT NOT NULL,
    owner_key      TEXT NOT NULL,
    quota_key      TEXT NOT NULL,
    device_id      TEXT NOT NULL,
    device_name    TEXT NOT NULL,
    name           TEXT NOT NULL,
    format         TEXT NOT NULL,
    size           BIGINT NOT NULL,
    pages          INTEGER NOT NULL,
    copies         INTEGER NOT NULL,
    requested      TEXT NOT NULL,
    state          TEXT NOT NULL,
    reason         TEXT NOT NULL,
    printer_id     TEXT NOT NULL,
    printer_name   TEXT NOT NULL,
    printer_job_id INTEGER NOT NULL,
    released_by    TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL,
    released_at    BIGINT NOT NULL,
    updated_at     BIGINT NOT NULL,
    data_id        TEXT NOT NULL,
    chunks         INTEGER NOT NULL
);
CREATE INDEX held_jobs_owner ON held_jobs(owner_user_id) WHERE owner_user_id <> '';
CREATE INDEX held_jobs_claimed ON held_jobs(owner_key) WHERE owner_user_id = '';
CREATE INDEX held_jobs_device ON held_jobs(device_id);
CREATE INDEX held_jobs_expiry ON held_jobs(expires_at);
CREATE INDEX held_jobs_releasing ON held_jobs(updated_at) WHERE state = 'releasing';

-- The document, sealed with the master key in chunks (each chunk's
-- associated data names the job's data_id, its place and whether it is
-- the last), deleted as soon as a printer has accepted the job.
CREATE TABLE held_job_chunks (
    job_id INTEGER NOT NULL REFERENCES held_jobs(id) ON DELETE CASCADE,
    seq    INTEGER NOT NULL,
    data   BLOB NOT NULL,
    PRIMARY KEY (job_id, seq)
);

-- What each person (or device-mode device) holds, kept in the
-- transactions that add and remove documents: the quota is one guarded
-- UPDATE, whatever the number of jobs.
CREATE TABLE held_job_quota (
    quota_key TEXT PRIMARY KEY,
    bytes     BIGINT NOT NULL,
    jobs      INTEGER NOT NULL
);

-- +goose Down
DROP TABLE held_job_quota;
DROP TABLE held_job_chunks;
DROP TABLE held_jobs;
