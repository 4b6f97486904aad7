-- +goose Up
-- How many devices the inventory holds, kept by triggers, so that a console
-- page or a metrics scrape reads one row instead of counting a million
-- (cascading deletes of a client's devices fire them too). SQLite has one
-- writer, so one row is never contended.
CREATE TABLE device_count (shard INTEGER PRIMARY KEY, n INTEGER NOT NULL);
INSERT INTO device_count (shard, n) SELECT 0, COUNT(*) FROM devices;
-- +goose StatementBegin
CREATE TRIGGER device_count_insert AFTER INSERT ON devices BEGIN
    UPDATE device_count SET n = n + 1 WHERE shard = 0;
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER device_count_delete AFTER DELETE ON devices BEGIN
    UPDATE device_count SET n = n - 1 WHERE shard = 0;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER device_count_delete;
DROP TRIGGER device_count_insert;
DROP TABLE device_count;
