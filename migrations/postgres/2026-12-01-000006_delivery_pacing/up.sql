-- A webhook's rate limit (attempts started per second; NULL: none) and ordered delivery, and
-- the rate limit's current window: the second (ms since the epoch, a multiple of 1000) and how
-- many attempts started in it. The window is written by the claim that starts attempts, in the
-- claim's transaction, so instances sharing a database share it.
ALTER TABLE webhooks ADD COLUMN rate_limit INTEGER;
ALTER TABLE webhooks ADD COLUMN ordered BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE webhooks ADD COLUMN rate_window BIGINT NOT NULL DEFAULT 0;
ALTER TABLE webhooks ADD COLUMN rate_used INTEGER NOT NULL DEFAULT 0;
CREATE INDEX webhooks_ordered ON webhooks (id) WHERE ordered;
