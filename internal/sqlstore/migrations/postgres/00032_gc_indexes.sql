-- +goose Up
-- Expiry cleanup walks indexes in small batches instead of scanning
-- tables: every condition it deletes by has one.
--
-- A family knows when its live token expires, so that a family whose
-- authorization lapsed is found without probing its tokens.
ALTER TABLE refresh_families ADD COLUMN live_expires_at BIGINT NOT NULL DEFAULT 0;
UPDATE refresh_families SET live_expires_at = COALESCE((SELECT MAX(t.expires_at) FROM refresh_tokens t
    WHERE t.family_id = refresh_families.id AND t.rotated_at = 0), 0);
CREATE INDEX refresh_families_live_expires ON refresh_families(live_expires_at) WHERE revoked_at = 0;
CREATE INDEX refresh_families_revoked ON refresh_families(revoked_at) WHERE revoked_at <> 0;
CREATE INDEX refresh_tokens_rotated ON refresh_tokens(rotated_at) WHERE rotated_at <> 0;
CREATE INDEX revoked_access_tokens_expires ON revoked_access_tokens(expires_at);

-- +goose Down
DROP INDEX revoked_access_tokens_expires;
DROP INDEX refresh_tokens_rotated;
DROP INDEX refresh_families_revoked;
DROP INDEX refresh_families_live_expires;
ALTER TABLE refresh_families DROP COLUMN live_expires_at;
