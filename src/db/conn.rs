//! The connection type of both backends.

use diesel::prelude::*;

/// A connection to either backend. Code above `store/` sees only this type; the few statements
/// that differ between the backends match on it (see [`on_backend!`]).
#[derive(diesel::MultiConnection)]
pub enum DbConn {
    Pg(PgConnection),
    Sqlite(SqliteConnection),
}

/// Runs the same generic statement on the inner connection of either backend. For statements
/// Diesel cannot build for the combined backend (multi-row inserts), and for speed where the
/// concrete backend's query builder is faster.
macro_rules! on_backend {
    ($conn:expr, $c:ident => $body:expr) => {
        match $conn {
            $crate::db::conn::DbConn::Pg($c) => $body,
            $crate::db::conn::DbConn::Sqlite($c) => $body,
        }
    };
}
pub(crate) use on_backend;
