-- +goose Up
-- The device count (00033) moves once per statement instead of once per
-- row. A row trigger wrote a new version of a count row for every device
-- a statement inserted or deleted, none of which could be pruned before
-- the transaction ended: a sweep removing 500 devices left 500 versions,
-- and an import of a million left device_count 42 MB for its 16 rows,
-- which every count (each console page, each metrics scrape) then read
-- whole (7 ms at a million devices). A statement trigger counts its
-- transition table and writes one version. It fires for the statements a
-- foreign key's cascade runs too, and for the rows an upsert inserts.
DROP TRIGGER device_count_change ON devices;
DROP FUNCTION device_count_change();
-- +goose StatementBegin
CREATE FUNCTION device_count_moved() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    k bigint;
    s int := floor(random() * 16)::int; -- once: in the WHERE it would be drawn per row scanned
BEGIN
    SELECT COUNT(*) INTO k FROM moved; -- the rows inserted, or deleted
    IF k > 0 THEN
        UPDATE device_count SET n = n + CASE WHEN TG_OP = 'INSERT' THEN k ELSE -k END WHERE shard = s;
    END IF;
    RETURN NULL;
END;
$$;
-- +goose StatementEnd
CREATE TRIGGER device_count_added AFTER INSERT ON devices
    REFERENCING NEW TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION device_count_moved();
CREATE TRIGGER device_count_removed AFTER DELETE ON devices
    REFERENCING OLD TABLE AS moved FOR EACH STATEMENT EXECUTE FUNCTION device_count_moved();

-- +goose Down
DROP TRIGGER device_count_removed ON devices;
DROP TRIGGER device_count_added ON devices;
DROP FUNCTION device_count_moved();
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
