-- +goose Up
-- Fixed-window counters that limit guessing (DESIGN.md 2.6). They live in
-- the database so that the limits hold across replicas. key_hash is a keyed
-- hash of what is counted (a source address, a code, an account), never the
-- value itself; window_end is Unix nanoseconds.
CREATE TABLE rate_limits (
    key_hash   BYTEA PRIMARY KEY,
    hits       BIGINT NOT NULL,
    window_end BIGINT NOT NULL
);
CREATE INDEX rate_limits_window_end ON rate_limits(window_end);

-- +goose Down
DROP TABLE rate_limits;
