-- +goose Up
-- Keys made before scopes existed were admin keys: they keep what they had.
ALTER TABLE api_keys ADD COLUMN scopes TEXT NOT NULL DEFAULT 'clients:write codes:write devices:write lockouts:write printers:write read';

-- +goose Down
ALTER TABLE api_keys DROP COLUMN scopes;
