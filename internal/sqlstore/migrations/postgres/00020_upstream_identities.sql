-- +goose Up
-- Accounts linked to people at upstream OpenID Connect providers, by the
-- provider's issuer and the person's subject there (never by e-mail).
CREATE TABLE user_identities (
    issuer         TEXT NOT NULL,
    subject        TEXT NOT NULL,
    user_id        TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    provider       TEXT NOT NULL,
    created_at     BIGINT NOT NULL,
    last_signin_at BIGINT NOT NULL,
    PRIMARY KEY (issuer, subject)
);
CREATE INDEX user_identities_user ON user_identities(user_id);

-- Upstream sign-ins in progress: the keyed hashes of the state parameter
-- and of the cookie that binds the sign-in to its browser. Each is used once.
CREATE TABLE upstream_states (
    state_hash   BYTEA PRIMARY KEY,
    provider     TEXT NOT NULL,
    binding_hash BYTEA NOT NULL,
    next         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL
);
CREATE INDEX upstream_states_expires ON upstream_states(expires_at);

-- +goose Down
DROP TABLE upstream_states;
DROP TABLE user_identities;
