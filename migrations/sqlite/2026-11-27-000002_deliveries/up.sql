-- Accepted events: the body bytes are fixed here and sent unchanged on every attempt.
CREATE TABLE events (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    body BLOB NOT NULL,
    delivery_count INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

-- The queue (a transactional outbox): one row per event and subscribed webhook.
-- status: pending (waiting for next_attempt_at), sending (leased until lease_until),
-- succeeded, failed.
CREATE TABLE deliveries (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL REFERENCES events (id),
    webhook_id TEXT NOT NULL REFERENCES webhooks (id) ON DELETE CASCADE,
    event_type TEXT NOT NULL,
    status TEXT NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
    attempt_count INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT,
    lease_until BIGINT,
    last_status_code INTEGER,
    last_error TEXT,
    is_test BOOLEAN NOT NULL DEFAULT 0,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);

-- Every attempt, as sent and as answered.
CREATE TABLE attempts (
    id INTEGER PRIMARY KEY AUTOINCREMENT NOT NULL,
    delivery_id TEXT NOT NULL REFERENCES deliveries (id) ON DELETE CASCADE,
    attempted_at BIGINT NOT NULL,
    duration_ms INTEGER NOT NULL,
    status_code INTEGER,
    error_class TEXT,
    error TEXT,
    request_headers TEXT NOT NULL,
    response_headers TEXT,
    response_body BLOB,
    response_truncated BOOLEAN NOT NULL DEFAULT 0,
    trigger TEXT NOT NULL DEFAULT 'automatic'
);
CREATE INDEX attempts_delivery ON attempts (delivery_id, id);

-- When the current run of failures without a success began (NULL while healthy).
ALTER TABLE webhooks ADD COLUMN failing_since BIGINT;
