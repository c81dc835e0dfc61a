-- Who or what made an attempt: NULL for the schedule, else e.g. "admin@example.com" or "API key ops".
ALTER TABLE attempts ADD COLUMN triggered_by TEXT;
-- Attempts made by hand (resend) do not move the retry schedule.
ALTER TABLE deliveries ADD COLUMN manual_attempts INTEGER NOT NULL DEFAULT 0;
-- The last response's class (2, 3, 4, 5; 0 when there was no response) and duration.
ALTER TABLE deliveries ADD COLUMN last_status_class INTEGER;
ALTER TABLE deliveries ADD COLUMN last_duration_ms INTEGER;
-- When the webhook was last disabled, for "recover".
ALTER TABLE webhooks ADD COLUMN disabled_at BIGINT;

-- The Delivery Log reads newest first (by id, which is time-ordered) under each filter.
CREATE INDEX deliveries_status_id ON deliveries (status, id);
CREATE INDEX deliveries_type_id ON deliveries (event_type, id);
CREATE INDEX deliveries_class_id ON deliveries (last_status_class, id);
CREATE INDEX deliveries_webhook_status_id ON deliveries (webhook_id, status, id);
CREATE INDEX attempts_time ON attempts (attempted_at);

-- "Retry failed" for a webhook: which deliveries it queued again, to show progress.
CREATE TABLE bulk_retries (
    id TEXT PRIMARY KEY NOT NULL,
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    total INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE bulk_retry_items (
    bulk_id TEXT NOT NULL REFERENCES bulk_retries (id) ON DELETE CASCADE,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    PRIMARY KEY (bulk_id, delivery_id)
);

-- Test inboxes: URLs on this server that record what they receive.
CREATE TABLE inboxes (
    id TEXT PRIMARY KEY NOT NULL,
    token TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE TABLE inbox_requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    inbox_id TEXT NOT NULL REFERENCES inboxes (id) ON DELETE CASCADE,
    received_at BIGINT NOT NULL,
    headers TEXT NOT NULL,
    body BLOB NOT NULL,
    body_truncated BOOLEAN NOT NULL DEFAULT 0,
    signature_valid BOOLEAN NOT NULL,
    webhook_id TEXT
);
CREATE INDEX inbox_requests_inbox ON inbox_requests (inbox_id, id);
