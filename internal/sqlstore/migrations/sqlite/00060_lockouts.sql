-- +goose Up
-- What a guessing counter counts, so that an administrator can list the
-- lock-outs and lift one (issue 14): the rule's name, its subject when
-- that is no secret (an address, an account name; never a code), and the
-- limit it was counted against. A row from before this migration learns
-- them at its next hit.
ALTER TABLE rate_limits ADD COLUMN rule TEXT NOT NULL DEFAULT '';
ALTER TABLE rate_limits ADD COLUMN subject TEXT NOT NULL DEFAULT '';
ALTER TABLE rate_limits ADD COLUMN hit_limit INTEGER NOT NULL DEFAULT 0;

-- +goose Down
ALTER TABLE rate_limits DROP COLUMN hit_limit;
ALTER TABLE rate_limits DROP COLUMN subject;
ALTER TABLE rate_limits DROP COLUMN rule;
