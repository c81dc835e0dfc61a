//! The database: one r2d2 pool of SQLite connections, each set up the same way, and the
//! embedded migrations run before the pool serves anyone.

pub mod schema;
pub mod space;

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::prelude::*;
use diesel::r2d2::{ConnectionManager, CustomizeConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::path::Path;
use std::time::Duration;

/// The one place that names the backend.
pub type DbConn = SqliteConnection;
pub type DbPool = Pool<ConnectionManager<DbConn>>;
pub type PooledConn = PooledConnection<ConnectionManager<DbConn>>;

/// Connections in the pool.
pub const POOL_SIZE: u32 = 8;

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

#[derive(Debug, Clone, Copy)]
struct Pragmas;

impl CustomizeConnection<DbConn, diesel::r2d2::Error> for Pragmas {
    fn on_acquire(&self, conn: &mut DbConn) -> Result<(), diesel::r2d2::Error> {
        conn.batch_execute(
            "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; PRAGMA synchronous = NORMAL;",
        )
        .map_err(diesel::r2d2::Error::QueryError)
    }
}

/// Opens (creating if needed) the database at `path`, migrates it and returns a pool.
pub fn open(path: &Path) -> anyhow::Result<DbPool> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let url = path
        .to_str()
        .context("the database path is not valid UTF-8")?;
    {
        let mut conn = SqliteConnection::establish(url)
            .with_context(|| format!("opening the database {}", path.display()))?;
        conn.batch_execute("PRAGMA busy_timeout = 5000;")
            .context("setting up the database")?;
        space::check_known_migrations(&mut conn, &MIGRATIONS)?;
        space::ensure_incremental_vacuum(&mut conn)?;
        conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = ON;")
            .context("setting up the database")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
        for version in applied {
            tracing::info!(%version, "applied database migration");
        }
    }
    Pool::builder()
        .max_size(POOL_SIZE)
        .connection_timeout(Duration::from_secs(10))
        .connection_customizer(Box::new(Pragmas))
        .build(ConnectionManager::new(url))
        .context("opening the database pool")
}

/// Serialises this process's busiest write transactions: waiting on a mutex is prompt, where
/// SQLite's busy handler sleeps between retries (and adds milliseconds to every collision).
pub type WriteLock = std::sync::Arc<std::sync::Mutex<()>>;

/// An immediate (write) transaction taken under `lock`.
pub fn immediate<T>(
    conn: &mut DbConn,
    lock: &WriteLock,
    f: impl FnOnce(&mut DbConn) -> diesel::QueryResult<T>,
) -> diesel::QueryResult<T> {
    let _guard = lock.lock().unwrap_or_else(|p| p.into_inner());
    conn.immediate_transaction(f)
}

/// A trivial query: does the database answer?
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    use diesel::RunQueryDsl;
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Runs `f` with a pooled connection on the blocking thread pool (Diesel is blocking).
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<diesel::r2d2::PoolError> + From<actix_web::error::BlockingError> + Send + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        f(&mut conn)
    })
    .await?
}
