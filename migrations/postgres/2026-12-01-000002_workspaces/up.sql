-- Workspaces: one AethenoxAI account each. Everything that existed before belongs to the
-- `default` workspace, whose id is fixed so that this migration and the SQLite one agree.
CREATE TABLE workspaces (
    id TEXT COLLATE "C" PRIMARY KEY,
    uid TEXT COLLATE "C" UNIQUE,
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO workspaces (id, uid, name, created_at)
    VALUES ('ws_00000000000000000000000000', 'default', 'Default',
            (extract(epoch FROM now()) * 1000)::BIGINT);

ALTER TABLE webhooks ADD COLUMN workspace_id TEXT COLLATE "C" NOT NULL
    DEFAULT 'ws_00000000000000000000000000' REFERENCES workspaces (id);
ALTER TABLE webhooks ALTER COLUMN workspace_id DROP DEFAULT;
CREATE INDEX webhooks_workspace ON webhooks (workspace_id, id);

-- Event ids are unique per workspace: the key becomes (workspace, id), and deliveries refer
-- to their event by both.
ALTER TABLE deliveries DROP CONSTRAINT deliveries_event_id_fkey;
ALTER TABLE events ADD COLUMN workspace_id TEXT COLLATE "C" NOT NULL
    DEFAULT 'ws_00000000000000000000000000' REFERENCES workspaces (id);
ALTER TABLE events ALTER COLUMN workspace_id DROP DEFAULT;
ALTER TABLE events DROP CONSTRAINT events_pkey;
ALTER TABLE events ADD PRIMARY KEY (workspace_id, id);
ALTER TABLE deliveries ADD COLUMN workspace_id TEXT COLLATE "C" NOT NULL
    DEFAULT 'ws_00000000000000000000000000';
ALTER TABLE deliveries ALTER COLUMN workspace_id DROP DEFAULT;
ALTER TABLE deliveries ADD FOREIGN KEY (workspace_id, event_id)
    REFERENCES events (workspace_id, id);
DROP INDEX deliveries_status_id;
DROP INDEX deliveries_type_id;
DROP INDEX deliveries_class_id;
CREATE INDEX deliveries_workspace_id ON deliveries (workspace_id, id);
CREATE INDEX deliveries_status_id ON deliveries (workspace_id, status, id);
CREATE INDEX deliveries_type_id ON deliveries (workspace_id, event_type, id);
CREATE INDEX deliveries_class_id ON deliveries (workspace_id, last_status_class, id);

ALTER TABLE inboxes ADD COLUMN workspace_id TEXT COLLATE "C" NOT NULL
    DEFAULT 'ws_00000000000000000000000000' REFERENCES workspaces (id);
ALTER TABLE inboxes ALTER COLUMN workspace_id DROP DEFAULT;

-- Entries about a workspace belong to it; NULL for the instance's own (workspaces made and
-- deleted, instance users and keys).
ALTER TABLE audit_log ADD COLUMN workspace_id TEXT COLLATE "C";
UPDATE audit_log SET workspace_id = 'ws_00000000000000000000000000';
CREATE INDEX audit_log_workspace ON audit_log (workspace_id, id);

-- Keys made without a workspace (all that exist) are instance keys.
ALTER TABLE api_keys ADD COLUMN workspace_id TEXT COLLATE "C"
    REFERENCES workspaces (id) ON DELETE CASCADE;

-- Users: instance users (all that exist) see every workspace with their role; the others are
-- members of workspaces, each membership with its own role.
ALTER TABLE users ADD COLUMN instance BOOLEAN NOT NULL DEFAULT TRUE;
CREATE TABLE memberships (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    workspace_id TEXT COLLATE "C" NOT NULL REFERENCES workspaces (id) ON DELETE CASCADE,
    role TEXT NOT NULL CHECK (role IN ('admin', 'support')),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (user_id, workspace_id)
);
CREATE INDEX memberships_workspace ON memberships (workspace_id, user_id);

-- The workspace a browser was last in: where the first release's page paths lead.
ALTER TABLE sessions ADD COLUMN workspace_id TEXT COLLATE "C";
