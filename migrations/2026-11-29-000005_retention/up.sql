-- Retention finds events left with no delivery by when they were accepted.
CREATE INDEX events_created ON events (created_at);
