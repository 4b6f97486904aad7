-- +goose Up
-- Substring search over the inventory through a trigram index (pg_trgm),
-- so that a rare or missing term does not walk a million rows. The
-- indexed text is the searched columns joined by U+001F, which nobody
-- types, so that a match never spans two of them. pg_trgm is a trusted
-- extension that a database owner may create; where even that is refused,
-- search works without the index (slowly on a large inventory) and the
-- server logs nothing worse than this notice.
-- +goose StatementBegin
DO $$
BEGIN
    CREATE EXTENSION IF NOT EXISTS pg_trgm;
EXCEPTION WHEN insufficient_privilege THEN
    RAISE NOTICE 'pg_trgm could not be created: device search will scan';
END;
$$;
-- +goose StatementEnd
-- +goose StatementBegin
DO $$
BEGIN
    IF EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') THEN
        CREATE INDEX devices_search ON devices USING gin
            ((lower(name || chr(31) || hardware_id || chr(31) || id || chr(31) || last_ip)) gin_trgm_ops);
    END IF;
END;
$$;
-- +goose StatementEnd

-- +goose Down
DROP INDEX IF EXISTS devices_search;
