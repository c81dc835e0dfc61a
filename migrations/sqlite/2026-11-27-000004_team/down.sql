DROP TABLE audit_log;
ALTER TABLE api_keys DROP COLUMN role;
