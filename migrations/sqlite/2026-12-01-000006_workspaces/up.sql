-- Workspaces: one AethenoxAI account each. Everything that existed before belongs to the
-- `default` workspace, whose id is fixed so that this migration and the PostgreSQL one agree.
-- Run with foreign keys off (db::prepare_sqlite), as SQLite's table rebuilds require; the
-- foreign keys are checked once afterwards.
CREATE TABLE workspaces (
    id TEXT PRIMARY KEY NOT NULL,
    uid TEXT UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO workspaces (id, uid, name, created_at)
    VALUES ('ws_00000000000000000000000000', 'default', 'Default',
            CAST(strftime('%s', 'now') AS INTEGER) * 1000);

ALTER TABLE webhooks ADD COLUMN workspace_id TEXT NOT NULL
    DEFAULT 'ws_00000000000000000000000000' REFERENCES workspaces (id);
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

-- Event ids are unique per workspace: the key becomes (workspace, id).
CREATE TABLE events_new (
    id TEXT NOT NULL,
    event_type TEXT NOT NULL,
    body BLOB NOT NULL,
    delivery_count INTEGER NOT NULL,
    created_at BIGINT NOT NULL,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    PRIMARY KEY (workspace_id, id)
);
INSERT INTO events_new (id, event_type, body, delivery_count, created_at, workspace_id)
    SELECT id, event_type, body, delivery_count, created_at, 'ws_00000000000000000000000000'
    FROM events;
DROP TABLE events;
ALTER TABLE events_new RENAME TO events;
CREATE INDEX events_unsubscribed ON events (created_at) WHERE delivery_count = 0;

-- Deliveries carry their workspace (the Delivery Log and fair claiming read by it) and refer
-- to their event by (workspace, id).
CREATE TABLE deliveries_new (
    id TEXT PRIMARY KEY NOT NULL,
    event_id TEXT NOT NULL,
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
    last_duration_ms INTEGER,
    workspace_id TEXT NOT NULL,
    FOREIGN KEY (workspace_id, event_id) REFERENCES events (workspace_id, id)
);
INSERT INTO deliveries_new (id, event_id, webhook_id, event_type, status, attempt_count,
        next_attempt_at, lease_until, last_status_code, last_error, is_test, created_at,
        updated_at, manual_attempts, last_status_class, last_duration_ms, workspace_id)
    SELECT id, event_id, webhook_id, event_type, status, attempt_count, next_attempt_at,
        lease_until, last_status_code, last_error, is_test, created_at, updated_at,
        manual_attempts, last_status_class, last_duration_ms, 'ws_00000000000000000000000000'
    FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (status, next_attempt_at);
CREATE INDEX deliveries_webhook ON deliveries (webhook_id, id);
CREATE INDEX deliveries_event ON deliveries (event_id);
CREATE INDEX deliveries_workspace_id ON deliveries (workspace_id, id);
CREATE INDEX deliveries_status_id ON deliveries (workspace_id, status, id);
CREATE INDEX deliveries_type_id ON deliveries (workspace_id, event_type, id);
CREATE INDEX deliveries_class_id ON deliveries (workspace_id, last_status_class, id);
CREATE INDEX deliveries_webhook_status_id ON deliveries (webhook_id, status, id);
-- Fair claiming also reads the newest pending deliveries (a fresh event to a quiet webhook).
CREATE INDEX deliveries_pending_id ON deliveries (id) WHERE status = 'pending';

ALTER TABLE inboxes ADD COLUMN workspace_id TEXT NOT NULL
    DEFAULT 'ws_00000000000000000000000000' REFERENCES workspaces (id);

-- Entries about a workspace belong to it; NULL for the instance's own (workspaces made and
-- deleted, instance users and keys).
ALTER TABLE audit_log ADD COLUMN workspace_id TEXT;
UPDATE audit_log SET workspace_id = 'ws_00000000000000000000000000';
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);

-- Keys made without a workspace (all that exist) are instance keys.
ALTER TABLE api_keys ADD COLUMN workspace_id TEXT REFERENCES workspaces (id) ON DELETE CASCADE;

-- Users: instance users (all that exist) see every workspace with their role; the others are
-- members of workspaces, each membership with its own role.
ALTER TABLE users ADD COLUMN instance BOOLEAN NOT NULL DEFAULT 1;
CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'support')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);
CREATE INDEX memberships_workspace ON memberships (workspace_id, user_id);

-- The workspace a browser was last in: where the first release's page paths lead.
ALTER TABLE sessions ADD COLUMN workspace_id TEXT;
