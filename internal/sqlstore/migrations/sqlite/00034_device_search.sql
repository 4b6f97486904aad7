-- +goose Up
-- Substring search over the inventory through a trigram index (FTS5's
-- trigram tokenizer), so that a rare or missing term does not walk a
-- million rows. The text is the searched columns joined by U+001F, which
-- nobody types, so that a match never spans two of them. detail=none keeps
-- the index to what LIKE needs. Triggers keep it in step with the table;
-- an address change (rare) rewrites a row's entry, a last-seen time does
-- not.
CREATE VIRTUAL TABLE devices_search USING fts5(id UNINDEXED, text, tokenize = 'trigram', detail = 'none');
INSERT INTO devices_search (rowid, id, text)
    SELECT rowid, id, name || char(31) || hardware_id || char(31) || id || char(31) || last_ip FROM devices;
-- +goose StatementBegin
CREATE TRIGGER devices_search_insert AFTER INSERT ON devices BEGIN
    INSERT INTO devices_search (rowid, id, text)
        VALUES (new.rowid, new.id, new.name || char(31) || new.hardware_id || char(31) || new.id || char(31) || new.last_ip);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER devices_search_update AFTER UPDATE OF name, hardware_id, last_ip ON devices
    WHEN old.name IS NOT new.name OR old.hardware_id IS NOT new.hardware_id OR old.last_ip IS NOT new.last_ip BEGIN
    DELETE FROM devices_search WHERE rowid = old.rowid;
    INSERT INTO devices_search (rowid, id, text)
        VALUES (new.rowid, new.id, new.name || char(31) || new.hardware_id || char(31) || new.id || char(31) || new.last_ip);
END;
-- +goose StatementEnd
-- +goose StatementBegin
CREATE TRIGGER devices_search_delete AFTER DELETE ON devices BEGIN
    DELETE FROM devices_search WHERE rowid = old.rowid;
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER devices_search_delete;
DROP TRIGGER devices_search_update;
DROP TRIGGER devices_search_insert;
DROP TABLE devices_search;
