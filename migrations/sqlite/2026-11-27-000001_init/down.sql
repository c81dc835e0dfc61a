DROP TABLE webhook_secrets;
DROP TABLE webhook_events;
DROP TABLE webhooks;
DROP TABLE api_keys;
DROP TABLE sessions;
DROP TABLE users;
