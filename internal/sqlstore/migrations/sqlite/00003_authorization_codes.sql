-- +goose Up
-- Admin-issued authorization codes (DESIGN.md section 3). The console shows
-- a code, so it is kept sealed (AES-GCM, bound to the row's id) next to the
-- keyed hash it is looked up by. expires_at 0 = never. Devices keep the id
-- of the code that authorized them (devices.auth_code_id) without a foreign
-- key: deleting a code stops new redemptions, it does not revoke devices.
CREATE TABLE authorization_codes (
    id           TEXT PRIMARY KEY,
    code_hash    BLOB NOT NULL UNIQUE,
    sealed_code  BLOB NOT NULL,
    ttl          TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    created_by   TEXT NOT NULL,
    uses         INTEGER NOT NULL,
    last_used_at INTEGER NOT NULL
);
CREATE INDEX authorization_codes_expires ON authorization_codes(expires_at) WHERE expires_at <> 0;

-- +goose Down
DROP TABLE authorization_codes;
