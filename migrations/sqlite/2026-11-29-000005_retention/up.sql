-- Retention finds events that never had a delivery (nobody subscribed) by when they were
-- accepted. Only those rows are indexed: every other event is deleted with its last delivery,
-- so publishing (the hot path) pays for no extra index.
CREATE INDEX events_unsubscribed ON events (created_at) WHERE delivery_count = 0;
