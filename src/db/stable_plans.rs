//! SQLite's query planner stability guarantee, on every connection this process opens.
//!
//! Without it, SQLite plans some statements for the values bound to them (a bound `status`
//! compared with a partial index's `WHERE status = 'pending'`, say) and then throws the
//! compiled statement away whenever such a parameter is bound again, compiling it anew at the
//! next step. Diesel binds every parameter on every execution, so a cached statement of that
//! kind was compiled on every use: `sqlite3Reprepare` was 7.5% of every delivery's
//! instructions (BENCHMARKS.md, issue 21). With the guarantee a statement keeps one plan; where
//! a partial index is meant, the query names its condition literally (as the claims' and
//! retention's do).

use std::ffi::{c_char, c_int};
use std::sync::Once;

/// Turns the guarantee on for `db` as SQLite opens it (an automatic extension).
unsafe extern "C" fn stable_plans(
    db: *mut libsqlite3_sys::sqlite3,
    _error: *mut *mut c_char,
    _api: *const libsqlite3_sys::sqlite3_api_routines,
) -> c_int {
    // SAFETY: SQLite calls this with the connection it is opening; `sqlite3_db_config` with
    // ENABLE_QPSG takes an int and a nullable int pointer for the new state.
    unsafe {
        libsqlite3_sys::sqlite3_db_config(
            db,
            libsqlite3_sys::SQLITE_DBCONFIG_ENABLE_QPSG,
            1 as c_int,
            std::ptr::null_mut::<c_int>(),
        )
    }
}

/// Registers `stable_plans` for every SQLite connection opened from now on (once per process).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // SAFETY: registering an entry point with the signature SQLite expects; it stays valid
        // for the life of the process.
        let rc = unsafe { libsqlite3_sys::sqlite3_auto_extension(Some(stable_plans)) };
        if rc != libsqlite3_sys::SQLITE_OK {
            tracing::warn!(
                code = rc,
                "SQLite's query planner stability guarantee is not on"
            );
        }
    });
}

/// A row of `EXPLAIN QUERY PLAN`, for tests that check which index a statement uses.
#[cfg(test)]
#[derive(diesel::QueryableByName)]
pub(crate) struct Plan {
    #[diesel(sql_type = diesel::sql_types::Text)]
    pub(crate) detail: String,
}

#[cfg(test)]
mod tests {
    use super::Plan;
    use diesel::connection::SimpleConnection;
    use diesel::prelude::*;

    fn plan(conn: &mut SqliteConnection, status: &str) -> String {
        let rows: Vec<Plan> = diesel::sql_query(
            "EXPLAIN QUERY PLAN SELECT id FROM d WHERE status = ? ORDER BY id DESC LIMIT 5",
        )
        .bind::<diesel::sql_types::Text, _>(status)
        .load(conn)
        .unwrap();
        rows.into_iter()
            .map(|r| r.detail)
            .collect::<Vec<_>>()
            .join("; ")
    }

    #[test]
    fn a_statement_keeps_its_plan_whatever_is_bound() {
        super::install();
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.batch_execute(
            "CREATE TABLE d (id TEXT PRIMARY KEY, status TEXT NOT NULL); \
             CREATE INDEX d_pending ON d (id) WHERE status = 'pending';",
        )
        .unwrap();
        // Without the guarantee SQLite plans for the bound 'pending' (the partial index) and
        // recompiles the statement whenever it is bound again.
        let pending = plan(&mut conn, "pending");
        assert!(!pending.contains("d_pending"), "{pending}");
        assert_eq!(pending, plan(&mut conn, "failed"));
    }
}
