-- +goose Up
-- Every refresh family (an authorization) gets an index in the token status
-- lists (draft-ietf-oauth-status-list): its access tokens carry it, and
-- resource servers learn from the published lists when it was revoked.
ALTER TABLE refresh_families ADD COLUMN status_idx INTEGER NOT NULL DEFAULT -1;
-- The families that exist get theirs now, so that every token minted from
-- here on carries a status.
UPDATE refresh_families SET status_idx = r.n
    FROM (SELECT id, row_number() OVER (ORDER BY id) - 1 AS n FROM refresh_families) AS r
    WHERE r.id = refresh_families.id;
CREATE TABLE status_counter (
    id   INTEGER PRIMARY KEY CHECK (id = 1),
    next INTEGER NOT NULL
);
INSERT INTO status_counter (id, next) SELECT 1, COUNT(*) FROM refresh_families;
-- The revoked indexes, kept while a token carrying one can still be
-- unexpired; deleting a device deletes its families, not these rows.
CREATE TABLE token_status (
    idx        INTEGER PRIMARY KEY,
    changed_at INTEGER NOT NULL
);
CREATE INDEX token_status_changed_at ON token_status (changed_at);
INSERT INTO token_status (idx, changed_at) SELECT status_idx, revoked_at FROM refresh_families WHERE revoked_at <> 0;

-- +goose Down
DROP TABLE token_status;
DROP TABLE status_counter;
ALTER TABLE refresh_families DROP COLUMN status_idx;
