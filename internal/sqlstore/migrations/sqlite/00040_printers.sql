-- +goose Up
-- Printers and their deployments (DESIGN.md section 3). A device's
-- printers are the union of the deployments whose target selects it;
-- the store computes it in one read (PrintersForDevice). name_key is the
-- name in lower case: two printers cannot share a name, because devices
-- install them as queues named after them.
CREATE TABLE printers (
    id          TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    name_key    TEXT NOT NULL UNIQUE,
    uri         TEXT NOT NULL,
    location    TEXT NOT NULL,
    description TEXT NOT NULL,
    model       TEXT NOT NULL,
    duplex      BOOLEAN NOT NULL,
    color       BOOLEAN NOT NULL,
    paper_size  TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
);

-- target_kind is all, authorization_code, name_pattern or devices. A code
-- target keeps the code's id without a foreign key: the devices
-- installed with a code keep its printers after the code is deleted or
-- expires. default_printer_id is '' or one of the deployment's printers;
-- deleting that printer clears it in the same transaction.
CREATE TABLE deployments (
    id                 TEXT PRIMARY KEY,
    target_kind        TEXT NOT NULL,
    auth_code_id       TEXT NOT NULL,
    name_pattern       TEXT NOT NULL,
    default_printer_id TEXT NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         INTEGER NOT NULL
);

CREATE TABLE deployment_printers (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    printer_id    TEXT NOT NULL REFERENCES printers(id) ON DELETE CASCADE,
    PRIMARY KEY (deployment_id, printer_id)
);
CREATE INDEX deployment_printers_printer ON deployment_printers(printer_id);

-- A deleted device leaves the deployments that named it.
CREATE TABLE deployment_devices (
    deployment_id TEXT NOT NULL REFERENCES deployments(id) ON DELETE CASCADE,
    device_id     TEXT NOT NULL REFERENCES devices(id) ON DELETE CASCADE,
    PRIMARY KEY (device_id, deployment_id)
);
CREATE INDEX deployment_devices_deployment ON deployment_devices(deployment_id);

-- One row whose version every change to printers and deployments bumps,
-- in the same transaction: a replica keeps the printers and deployments
-- in memory and reloads them when the version it reads has moved, so
-- that a device's poll reads one row, not every deployment's printers.
CREATE TABLE printer_config (
    id      INTEGER PRIMARY KEY,
    version INTEGER NOT NULL
);
INSERT INTO printer_config (id, version) VALUES (1, 0);

-- +goose Down
DROP TABLE printer_config;
DROP TABLE deployment_devices;
DROP TABLE deployment_printers;
DROP TABLE deployments;
DROP TABLE printers;
