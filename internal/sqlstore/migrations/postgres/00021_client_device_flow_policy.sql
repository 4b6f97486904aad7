-- +goose Up
-- Cross-device phishing defences per client: the device flow switched off,
-- the networks it may start from (space-separated CIDR prefixes; empty:
-- anywhere), and the prefix lengths an approver must share with the
-- requester (0: no check).
ALTER TABLE clients ADD COLUMN device_flow_disabled BOOLEAN NOT NULL DEFAULT false;
ALTER TABLE clients ADD COLUMN device_flow_networks TEXT NOT NULL DEFAULT '';
ALTER TABLE clients ADD COLUMN approval_prefix_v4 INTEGER NOT NULL DEFAULT 0;
ALTER TABLE clients ADD COLUMN approval_prefix_v6 INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE clients DROP COLUMN approval_prefix_v6;
ALTER TABLE clients DROP COLUMN approval_prefix_v4;
ALTER TABLE clients DROP COLUMN device_flow_networks;
ALTER TABLE clients DROP COLUMN device_flow_disabled;
