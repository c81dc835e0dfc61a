-- Back to one workspace: only the default workspace's data can be kept.
DELETE FROM attempts WHERE delivery_id IN
    (SELECT id FROM deliveries WHERE workspace_id <> 'ws_00000000000000000000000000');
DELETE FROM deliveries WHERE workspace_id <> 'ws_00000000000000000000000000';
DELETE FROM events WHERE workspace_id <> 'ws_00000000000000000000000000';
DELETE FROM webhooks WHERE workspace_id <> 'ws_00000000000000000000000000';
DELETE FROM inboxes WHERE workspace_id <> 'ws_00000000000000000000000000';
ALTER TABLE sessions DROP COLUMN workspace_id;
DROP TABLE memberships;
DELETE FROM users WHERE NOT instance;
ALTER TABLE users DROP COLUMN instance;
DELETE FROM api_keys WHERE workspace_id IS NOT NULL;
ALTER TABLE api_keys DROP COLUMN workspace_id;
DROP INDEX audit_log_workspace;
ALTER TABLE audit_log DROP COLUMN workspace_id;
ALTER TABLE inboxes DROP COLUMN workspace_id;
CREATE TABLE deliveries_old (
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
    updated_at BIGINT NOT NULL,
    manual_attempts INTEGER NOT NULL DEFAULT 0,
    last_status_class INTEGER,
    last_duration_ms INTEGER
);
INSERT INTO deliveries_old SELECT id, event_id, webhook_id, event_type, status, attempt_count,
    next_attempt_at, lease_until, last_status_code, last_error, is_test, created_at, updated_at,
    manual_attempts, last_status_class, last_duration_ms FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_old RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_status_id ON deliveries (status, id);
CREATE INDEX deliveries_type_id ON deliveries (event_type, id);
CREATE INDEX deliveries_class_id ON deliveries (last_status_class, id);
CREATE INDEX deliveries_webhook_status_id ON deliveries (webhook_id, status, id);
CREATE TABLE events_old (
    id TEXT PRIMARY KEY NOT NULL,
    event_type TEXT NOT NULL,
    body BLOB NOT NULL,
    delivery_count INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO events_old SELECT id, event_type, body, delivery_count, created_at FROM events;
DROP TABLE events;
ALTER TABLE events_old RENAME TO events;
CREATE INDEX events_unsubscribed ON events (created_at) WHERE delivery_count = 0;
DROP INDEX webhooks_workspace;
ALTER TABLE webhooks DROP COLUMN workspace_id;
DROP TABLE workspaces;
