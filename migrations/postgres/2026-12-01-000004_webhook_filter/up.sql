-- A webhook's payload filter (JSON, as written; NULL: every event of its types).
ALTER TABLE webhooks ADD COLUMN filter TEXT;
