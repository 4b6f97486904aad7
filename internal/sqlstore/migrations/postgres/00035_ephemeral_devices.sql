-- +goose Up
-- Ephemeral devices (kiosks, classrooms, CI runners): a code may make the
-- devices it brings in ephemeral, removed as soon as they sign out or after
-- a short time unseen (ephemeral_idle, in nanoseconds; 0: not ephemeral).
ALTER TABLE authorization_codes ADD COLUMN ephemeral_idle BIGINT NOT NULL DEFAULT 0;
ALTER TABLE authorization_codes ADD COLUMN label TEXT NOT NULL DEFAULT '';
ALTER TABLE devices ADD COLUMN ephemeral_idle BIGINT NOT NULL DEFAULT 0;
-- Where a device was authorized from: a leaked code's devices seen from
-- elsewhere stand out.
ALTER TABLE devices ADD COLUMN authorized_ip TEXT NOT NULL DEFAULT '';
UPDATE devices SET authorized_ip = last_ip;
CREATE INDEX devices_ephemeral ON devices(last_seen_at) WHERE ephemeral_idle > 0;
CREATE INDEX devices_auth_code ON devices(auth_code_id) WHERE auth_code_id <> '';

-- +goose Down
DROP INDEX devices_auth_code;
DROP INDEX devices_ephemeral;
ALTER TABLE devices DROP COLUMN authorized_ip;
ALTER TABLE devices DROP COLUMN ephemeral_idle;
ALTER TABLE authorization_codes DROP COLUMN label;
ALTER TABLE authorization_codes DROP COLUMN ephemeral_idle;
