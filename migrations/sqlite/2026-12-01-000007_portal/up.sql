-- The customer portal: a link (its token hashed) that opens once into a session (its token
-- hashed too) confined to one workspace's Automation pages. Rows outlive their session by a day,
-- so that a late visit is told what happened (used, expired, ended by the platform).
CREATE TABLE portal_sessions (
    link_hash TEXT PRIMARY KEY NOT NULL,
    session_hash TEXT UNIQUE,
    workspace_id TEXT NOT NULL REFERENCES workspaces (id),
    role TEXT NOT NULL,
    user_label TEXT NOT NULL,
    accent TEXT,
    created_at BIGINT NOT NULL,
    open_until BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    opened_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX portal_sessions_workspace ON portal_sessions (workspace_id, expires_at);
CREATE INDEX portal_sessions_expires ON portal_sessions (expires_at);
