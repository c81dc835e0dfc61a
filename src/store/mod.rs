//! All SQL, one file per table group. Every function takes `&mut DbConn`, so a handler can run
//! several inside one `immediate_transaction`.
pub mod api_keys;
pub mod audit;
pub mod claims;
pub mod copy;
pub mod deliveries;
pub mod delivery_log;
pub mod events;
pub mod inboxes;
pub mod operational;
pub mod outcomes;
pub mod pg_batch;
pub mod portal;
pub mod queue;
pub mod retention;
pub mod sessions;
pub mod settings;
pub mod sign_in_attempts;
pub mod subscribers;
pub mod users;
pub mod webhooks;
pub mod workspaces;
