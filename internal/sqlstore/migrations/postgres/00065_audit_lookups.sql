-- +goose Up
-- The audit log filtered by target (a device's history) or by actor
-- (what one administrator did) walked the whole log newest first until it
-- found a page: at a million events 0.6-0.7 s for a device with one
-- event or an administrator with none, and the log only grows. Each
-- filter now seeks its own index in the log's order (id).
CREATE INDEX audit_events_target_id ON audit_events(target, id) WHERE target <> '';
DROP INDEX audit_events_target;
CREATE INDEX audit_events_actor ON audit_events(actor_id, id) WHERE actor_id <> '';

-- +goose Down
DROP INDEX audit_events_actor;
CREATE INDEX audit_events_target ON audit_events(target) WHERE target <> '';
DROP INDEX audit_events_target_id;
