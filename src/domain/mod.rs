//! Pure code: no database, no HTTP. Everything here is unit-tested in place.
pub mod crypto;
pub mod events;
pub mod filter;
pub mod headers;
pub mod hints;
pub mod ids;
pub mod pacing;
pub mod params;
pub mod passwords;
pub mod portal;
pub mod retry;
pub mod secrets;
pub mod signing;
pub mod time;
pub mod url_policy;
pub mod webhook;
pub mod workspace;
