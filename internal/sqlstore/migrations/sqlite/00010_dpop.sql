-- +goose Up
-- Issue 12: a device is a key it holds (DPoP, RFC 9449), not the hardware
-- id it claims (DESIGN.md 2.1).
--
-- dpop_jkt is the RFC 7638 thumbprint of the key a device, a pending code
-- (RFC 9449 §10) or a refresh family (§5) is bound to; '' for none.
ALTER TABLE devices ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE device_authorizations ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE refresh_families ADD COLUMN dpop_jkt TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN require_dpop BOOLEAN NOT NULL DEFAULT FALSE;
-- A claimed hardware id no longer makes two authorizations one device: the
-- index that merged them goes, an ordinary one marks devices that share a
-- hardware id. A key is one device per client. Browsers keep one row per
-- browser: their hardware id is the random id of their cookie, a secret
-- they hold, not a claim.
DROP INDEX devices_client_hardware;
CREATE INDEX devices_client_hardware ON devices(client_id, hardware_id) WHERE hardware_id <> '';
CREATE UNIQUE INDEX devices_client_browser ON devices(client_id, hardware_id)
    WHERE client_id = 'pairgate-browser' AND hardware_id <> '';
CREATE UNIQUE INDEX devices_client_key ON devices(client_id, dpop_jkt) WHERE dpop_jkt <> '';
-- RFC 9449 §11.1: every proof's jti is used once, on any replica. The hash
-- is keyed and covers the key's thumbprint; a row leaves when its proof's
-- iat leaves the accepted window.
CREATE TABLE dpop_proofs (
    hash       BLOB PRIMARY KEY,
    expires_at INTEGER NOT NULL
);
CREATE INDEX dpop_proofs_expires ON dpop_proofs(expires_at);

-- +goose Down
-- Going down fails while two devices share a client and hardware id: an
-- administrator deletes the stale one first.
DROP TABLE dpop_proofs;
DROP INDEX devices_client_key;
DROP INDEX devices_client_browser;
DROP INDEX devices_client_hardware;
CREATE UNIQUE INDEX devices_client_hardware ON devices(client_id, hardware_id) WHERE hardware_id <> '';
ALTER TABLE clients DROP COLUMN require_dpop;
ALTER TABLE refresh_families DROP COLUMN dpop_jkt;
ALTER TABLE device_authorizations DROP COLUMN dpop_jkt;
ALTER TABLE devices DROP COLUMN dpop_jkt;
