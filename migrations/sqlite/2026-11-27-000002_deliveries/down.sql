ALTER TABLE webhooks DROP COLUMN failing_since;
DROP TABLE attempts;
DROP TABLE deliveries;
DROP TABLE events;
