-- +goose Up
-- How many devices the inventory holds, kept by triggers, so that a console
-- page or a metrics scrape reads a few rows instead of counting a million
-- (cascading deletes of a client's devices fire them too). The count is
-- spread over 16 rows, each transaction updating one at random, so that
-- concurrent authorizations do not queue on one row's lock.
CREATE TABLE device_count (shard INTEGER PRIMARY KEY, n BIGINT NOT NULL);
INSERT INTO device_count (shard, n) SELECT s, 0 FROM generate_series(0, 15) AS s;
UPDATE device_count SET n = (SELECT COUNT(*) FROM devices) WHERE shard = 0;
-- +goose StatementBegin
CREATE FUNCTION device_count_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    s int := floor(random() * 16)::int; -- once, not per row scanned
BEGIN
    UPDATE device_count SET n = n + CASE WHEN TG_OP = 'INSERT' THEN 1 ELSE -1 END WHERE shard = s;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER device_count_change AFTER INSERT OR DELETE ON devices
    FOR EACH ROW EXECUTE FUNCTION device_count_change();

-- +goose Down
DROP TRIGGER device_count_change ON devices;
DROP FUNCTION device_count_change();
DROP TABLE device_count;
