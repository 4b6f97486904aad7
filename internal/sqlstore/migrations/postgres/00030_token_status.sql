-- +goose Up
-- Every refresh family (an authorization) gets an index in the token status
-- lists (draft-ietf-oauth-status-list): its access tokens carry it, and
-- resource servers learn from the published lists when it was revoked.
ALTER TABLE refresh_families ADD COLUMN status_idx BIGINT NOT NULL DEFAULT -1;
-- The families that exist get theirs now, so that every token minted from
-- here on carries a status.
UPDATE refresh_families f SET status_idx = r.n
    FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM refresh_families) AS r
    WHERE r.id = f.id;
-- A sequence, not a counter row: nextval takes no lock that concurrent
-- authorizations would queue on. A gap (a rolled-back transaction) only
-- leaves an index unused.
CREATE SEQUENCE status_idx_seq MINVALUE 0 START 0;
SELECT setval('status_idx_seq', (SELECT COUNT(*) FROM refresh_families), false);
-- The revoked indexes, kept while a token carrying one can still be
-- unexpired; deleting a device deletes its families, not these rows.
CREATE TABLE token_status (
    idx        BIGINT PRIMARY KEY,
    changed_at BIGINT NOT NULL
);
CREATE INDEX token_status_changed_at ON token_status (changed_at);
INSERT INTO token_status (idx, changed_at) SELECT status_idx, revoked_at FROM refresh_families WHERE revoked_at <> 0;

-- +goose Down
DROP TABLE token_status;
DROP SEQUENCE status_idx_seq;
ALTER TABLE refresh_families DROP COLUMN status_idx;
