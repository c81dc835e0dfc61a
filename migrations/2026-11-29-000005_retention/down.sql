DROP INDEX events_created;
