-- +goose Up
-- Every device has a state (DESIGN.md section 3): active, signed_out (its
-- refresh token was revoked, RFC 7009), revoked (reuse detection) or
-- expired (its refresh token went unused until it expired). family_id is
-- the refresh family of its latest authorization: access tokens carry it
-- as their sid, and only those of that family work, so that the tokens of
-- a superseded or revoked authorization stop at once (DESIGN.md 2.2).
ALTER TABLE devices ADD COLUMN state TEXT NOT NULL DEFAULT 'active';
ALTER TABLE devices ADD COLUMN state_changed_at INTEGER NOT NULL DEFAULT 0;
ALTER TABLE devices ADD COLUMN family_id TEXT NOT NULL DEFAULT '';
-- The inventory filtered by state, in its order.
CREATE INDEX devices_state ON devices(state, id);
-- Devices authorized before this migration: their live family, if any
-- (a device holds at most one), and since when they have been active.
UPDATE devices SET family_id = COALESCE((SELECT f.id FROM refresh_families f
    WHERE f.device_id = devices.id AND f.revoked_at = 0 ORDER BY f.created_at DESC LIMIT 1), ''),
    state_changed_at = authorized_at;

-- +goose Down
DROP INDEX devices_state;
ALTER TABLE devices DROP COLUMN family_id;
ALTER TABLE devices DROP COLUMN state_changed_at;
ALTER TABLE devices DROP COLUMN state;
