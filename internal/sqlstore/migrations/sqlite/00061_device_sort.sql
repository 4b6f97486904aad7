-- +goose Up
-- The inventory sorted by any column, in either direction, paged by
-- (column, id) keysets: each order reads one of these indexes forwards
-- or backwards, never sorting the inventory for a page. The console
-- shows the active devices by default, so each order has an index
-- behind the state too (devices_state(state, id), from 00006, serves the
-- ID order).
CREATE INDEX devices_sort_name ON devices(name, id);
CREATE INDEX devices_sort_client ON devices(client_id, id);
CREATE INDEX devices_sort_method ON devices(auth_method, id);
CREATE INDEX devices_sort_ip ON devices(last_ip, id);
CREATE INDEX devices_sort_authorized ON devices(authorized_at, id);
CREATE INDEX devices_sort_last_seen ON devices(last_seen_at, id);
CREATE INDEX devices_state_sort_name ON devices(state, name, id);
CREATE INDEX devices_state_sort_client ON devices(state, client_id, id);
CREATE INDEX devices_state_sort_method ON devices(state, auth_method, id);
CREATE INDEX devices_state_sort_ip ON devices(state, last_ip, id);
CREATE INDEX devices_state_sort_authorized ON devices(state, authorized_at, id);
CREATE INDEX devices_state_sort_last_seen ON devices(state, last_seen_at, id);

-- +goose Down
DROP INDEX devices_state_sort_last_seen;
DROP INDEX devices_state_sort_authorized;
DROP INDEX devices_state_sort_ip;
DROP INDEX devices_state_sort_method;
DROP INDEX devices_state_sort_client;
DROP INDEX devices_state_sort_name;
DROP INDEX devices_sort_last_seen;
DROP INDEX devices_sort_authorized;
DROP INDEX devices_sort_ip;
DROP INDEX devices_sort_method;
DROP INDEX devices_sort_client;
DROP INDEX devices_sort_name;
