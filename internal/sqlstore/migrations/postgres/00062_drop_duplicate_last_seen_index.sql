-- +goose Up
-- devices_state_sort_last_seen(state, last_seen_at, id), from 00061, serves
-- everything devices_state_last_seen(state, last_seen_at) did (the
-- inactivity sweep's range), and every last-seen update, one a refresh,
-- kept both up to date.
DROP INDEX devices_state_last_seen;

-- +goose Down
CREATE INDEX devices_state_last_seen ON devices(state, last_seen_at);
