DROP INDEX events_unsubscribed;
