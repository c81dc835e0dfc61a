DROP INDEX webhooks_ordered;
ALTER TABLE webhooks DROP COLUMN rate_used;
ALTER TABLE webhooks DROP COLUMN rate_window;
ALTER TABLE webhooks DROP COLUMN ordered;
ALTER TABLE webhooks DROP COLUMN rate_limit;
