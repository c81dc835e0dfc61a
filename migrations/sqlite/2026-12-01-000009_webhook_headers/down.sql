ALTER TABLE webhooks DROP COLUMN headers;
