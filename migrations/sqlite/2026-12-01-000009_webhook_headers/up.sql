-- A webhook's custom request headers: JSON of [name, value] pairs, sealed with the master key
-- like the signing secrets (NULL: none).
ALTER TABLE webhooks ADD COLUMN headers TEXT;
