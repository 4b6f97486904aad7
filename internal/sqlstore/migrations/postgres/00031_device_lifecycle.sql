-- +goose Up
-- Inactivity policy per client (0: the server's): devices not seen for
-- inactive_sign_out_days are signed out (state expired), and removed
-- inactive_remove_days later.
ALTER TABLE clients ADD COLUMN inactive_sign_out_days INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN inactive_remove_days INTEGER NOT NULL DEFAULT 0;
-- The sweeps walk these in small batches, oldest first.
CREATE INDEX devices_state_last_seen ON devices(state, last_seen_at);
CREATE INDEX devices_state_changed ON devices(state, state_changed_at);

-- +goose Down
DROP INDEX devices_state_changed;
DROP INDEX devices_state_last_seen;
ALTER TABLE clients DROP COLUMN inactive_remove_days;
ALTER TABLE clients DROP COLUMN inactive_sign_out_days;
