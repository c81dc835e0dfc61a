-- The instance's own hidden workspace: its webhooks are the operational webhooks (Settings →
-- Operational webhooks), which hear `webhook.disabled` and `delivery.exhausted` from every
-- other workspace. Its id is fixed so that this migration and the SQLite one agree.
INSERT INTO workspaces (id, uid, name, created_at)
    VALUES ('ws_0000000000000000000000000P', NULL, 'Operational webhooks',
            (extract(epoch FROM now()) * 1000)::BIGINT);
