-- +goose Up
-- The audit log is append-only: the store has no statement that changes an
-- event, and deletes only by age.
CREATE TABLE audit_events (
    id         TEXT PRIMARY KEY,
    time       BIGINT NOT NULL,
    action     TEXT NOT NULL,
    actor_type TEXT NOT NULL,
    actor_id   TEXT NOT NULL,
    actor_name TEXT NOT NULL,
    target     TEXT NOT NULL,
    ip         TEXT NOT NULL,
    details    TEXT NOT NULL
);
CREATE INDEX audit_events_time ON audit_events(time);
CREATE INDEX audit_events_action ON audit_events(action, id);
CREATE INDEX audit_events_target ON audit_events(target) WHERE target <> '';

-- +goose Down
DROP TABLE audit_events;
