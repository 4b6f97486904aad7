-- +goose Up
-- Times are Unix nanoseconds (0 = unset) and scope lists are space-separated,
-- so that the same queries run unchanged on SQLite and PostgreSQL.
CREATE TABLE clients (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public      BOOLEAN NOT NULL,
    secret_hash BYTEA,
    grant_types TEXT NOT NULL,
    scopes      TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    username            TEXT NOT NULL UNIQUE,
    password_hash       TEXT NOT NULL,
    role                TEXT NOT NULL,
    created_at          BIGINT NOT NULL,
    password_changed_at BIGINT NOT NULL
);

CREATE TABLE devices (
    id            TEXT PRIMARY KEY,
    client_id     TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    name          TEXT NOT NULL,
    hardware_id   TEXT NOT NULL,
    mode          TEXT NOT NULL,
    auth_method   TEXT NOT NULL,
    auth_code_id  TEXT NOT NULL,
    user_id       TEXT NOT NULL,
    scopes        TEXT NOT NULL,
    authorized_at BIGINT NOT NULL,
    last_seen_at  BIGINT NOT NULL,
    last_ip       TEXT NOT NULL
);
-- DESIGN.md 2.1: one row per client and hardware id.
CREATE UNIQUE INDEX devices_client_hardware ON devices(client_id, hardware_id) WHERE hardware_id <> '';
CREATE INDEX devices_user ON devices(user_id) WHERE user_id <> '';

CREATE TABLE device_authorizations (
    id               TEXT PRIMARY KEY,
    kind             TEXT NOT NULL,
    device_code_hash BYTEA NOT NULL UNIQUE,
    user_code_hash   BYTEA NOT NULL UNIQUE,
    client_id        TEXT NOT NULL REFERENCES clients(id) ON DELETE CASCADE,
    scopes           TEXT NOT NULL,
    mode             TEXT NOT NULL,
    hardware_id      TEXT NOT NULL,
    device_name      TEXT NOT NULL,
    request_ip       TEXT NOT NULL,
    user_agent       TEXT NOT NULL,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT NOT NULL,
    interval_ms      BIGINT NOT NULL,
    state            TEXT NOT NULL,
    user_id          TEXT NOT NULL,
    device_id        TEXT NOT NULL,
    decided_at       BIGINT NOT NULL
);
CREATE INDEX device_authorizations_expires ON device_authorizations(expires_at);

CREATE TABLE refresh_families (
    id         TEXT PRIMARY KEY,
    device_id  TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    client_id  TEXT NOT NULL,
    subject    TEXT NOT NULL,
    scopes     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    generation BIGINT NOT NULL,
    revoked_at BIGINT NOT NULL
);
CREATE INDEX refresh_families_device ON refresh_families(device_id);

CREATE TABLE refresh_tokens (
    hash       BYTEA PRIMARY KEY,
    family_id  TEXT NOT NULL REFERENCES refresh_families(id) ON DELETE CASCADE,
    generation BIGINT NOT NULL,
    issued_at  BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    rotated_at BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens(family_id, generation);
CREATE INDEX refresh_tokens_expires ON refresh_tokens(expires_at);

CREATE TABLE revoked_access_tokens (
    jti        TEXT PRIMARY KEY,
    expires_at BIGINT NOT NULL
);

CREATE TABLE signing_keys (
    id             TEXT PRIMARY KEY,
    algorithm      TEXT NOT NULL,
    sealed_private BYTEA NOT NULL,
    public_jwk     TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    retired_at     BIGINT NOT NULL,
    expires_at     BIGINT NOT NULL
);
-- At most one current key, so that replicas racing to create or rotate
-- cannot both win.
CREATE UNIQUE INDEX signing_keys_one_current ON signing_keys(retired_at) WHERE retired_at = 0;

-- Browser sessions: a signed-in person (user_id), a browser authorized as a
-- device (device_id), or both. Only the keyed hash of the cookie is stored.
CREATE TABLE sessions (
    id_hash      BYTEA PRIMARY KEY,
    user_id      TEXT NOT NULL,
    device_id    TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    ip           TEXT NOT NULL,
    user_agent   TEXT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id) WHERE user_id <> '';
CREATE INDEX sessions_device ON sessions(device_id) WHERE device_id <> '';
CREATE INDEX sessions_expires ON sessions(expires_at);

-- +goose Down
DROP TABLE sessions;
DROP TABLE signing_keys;
DROP TABLE revoked_access_tokens;
DROP TABLE refresh_tokens;
DROP TABLE refresh_families;
DROP TABLE device_authorizations;
DROP TABLE devices;
DROP TABLE users;
DROP TABLE clients;
