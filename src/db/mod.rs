//! The database: one r2d2 pool of connections to SQLite (the embedded default, one file in the
//! data directory) or to PostgreSQL (`--database-url`, shared by several instances), each set up
//! the same way, and the embedded migrations run before the pool serves anyone.

pub mod conn;
pub mod fault;
pub mod health;
pub mod listen;
pub mod prepared;
pub mod schema;
pub mod space;
pub mod stable_plans;

use anyhow::Context;
use diesel::connection::{AnsiTransactionManager, SimpleConnection, TransactionManager};
use diesel::prelude::*;
use diesel::r2d2::{ManageConnection, Pool, PooledConnection};
use diesel_migrations::{EmbeddedMigrations, MigrationHarness, embed_migrations};
use std::path::Path;
use std::time::Duration;

pub use conn::DbConn;
pub(crate) use conn::on_backend;

pub type DbPool = Pool<Manager>;
pub type PooledConn = PooledConnection<Manager>;

/// Where the data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    /// The SQLite file (the default: `aethenox.db` in the data directory).
    Sqlite(std::path::PathBuf),
    /// A PostgreSQL URL (`postgres://user@host:port/db`).
    Postgres(String),
}

impl Location {
    /// `--database-url` when given (it must be a PostgreSQL URL), else the SQLite file.
    pub fn new(database_url: Option<&str>, sqlite_file: &Path) -> anyhow::Result<Location> {
        match database_url {
            None => Ok(Location::Sqlite(sqlite_file.to_path_buf())),
            Some(url) if is_postgres_url(url) => Ok(Location::Postgres(url.to_owned())),
            Some(_) => anyhow::bail!(
                "--database-url must be a PostgreSQL URL (postgres://user@host:port/database); \
                 leave it out for the SQLite file in the data directory"
            ),
        }
    }

    pub fn is_postgres(&self) -> bool {
        matches!(self, Location::Postgres(_))
    }

    /// For logs: the file, or the URL without its password.
    pub fn describe(&self) -> String {
        match self {
            Location::Sqlite(path) => path.display().to_string(),
            Location::Postgres(url) => redact_password(url),
        }
    }
}

fn is_postgres_url(url: &str) -> bool {
    url.starts_with("postgres://") || url.starts_with("postgresql://")
}

/// `postgres://user:secret@host/db` → `postgres://user:***@host/db`.
pub fn redact_password(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(u) => u.to_string(),
        Err(_) => "(a PostgreSQL URL that does not parse)".into(),
    }
}

/// Initialises OpenSSL, which libpq uses for TLS, without the clean-up OpenSSL otherwise
/// registers to run at exit. Call before the first PostgreSQL connection (it does nothing after
/// the first call). That clean-up frees OpenSSL's global state while other threads may still
/// close connections (the pool's, the LISTEN thread's), and the process then crashes on its way
/// out (SIGSEGV after a clean shutdown or a passing test run). The operating system frees what
/// it would have freed.
pub fn init_tls() {
    openssl_sys::init();
}

/// Connections in the pool.
pub const POOL_SIZE: u32 = 8;

pub const SQLITE_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/sqlite");
pub const POSTGRES_MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations/postgres");

/// Makes the pool's connections: the backend is chosen by the location, never guessed.
#[derive(Debug, Clone)]
pub struct Manager {
    location: Location,
}

impl Manager {
    fn connect(&self) -> ConnectionResult<DbConn> {
        match &self.location {
            Location::Postgres(url) => {
                init_tls();
                let mut conn = PgConnection::establish(url)?;
                conn.set_instrumentation(count_statement);
                // Plans made for the values at hand: a prepared statement's generic plan,
                // chosen while the tables were small, stays with the connection as they grow
                // (a claim's `id = ANY($1)` join went from 0.5 ms to 35 ms that way).
                conn.batch_execute("SET plan_cache_mode = force_custom_plan")
                    .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Pg(conn))
            }
            Location::Sqlite(path) => {
                let mut conn = SqliteConnection::establish(&path.to_string_lossy())?;
                conn.batch_execute(
                    "PRAGMA busy_timeout = 5000; PRAGMA foreign_keys = ON; \
                     PRAGMA synchronous = NORMAL;",
                )
                .map_err(diesel::ConnectionError::CouldntSetupConfiguration)?;
                Ok(DbConn::Sqlite(conn))
            }
        }
    }
}

impl ManageConnection for Manager {
    type Connection = DbConn;
    type Error = diesel::r2d2::Error;

    fn connect(&self) -> Result<DbConn, Self::Error> {
        Manager::connect(self).map_err(diesel::r2d2::Error::ConnectionError)
    }

    fn is_valid(&self, conn: &mut DbConn) -> Result<(), Self::Error> {
        ping(conn).map_err(diesel::r2d2::Error::QueryError)
    }

    fn has_broken(&self, conn: &mut DbConn) -> bool {
        // A connection left inside a transaction (a panic mid-way), or one whose server went
        // away, is not handed out again.
        !matches!(
            on_backend!(conn, c => AnsiTransactionManager::transaction_manager_status_mut(c)
                .transaction_depth()),
            Ok(None)
        ) || diesel::r2d2::R2D2Connection::is_broken(conn)
    }
}

/// Statements this process has run on PostgreSQL (all pooled connections), for /metrics: how
/// many a delivery costs decides how far several instances on one database can go. Not counted
/// on SQLite, where a statement is a function call and counting it measurably costs throughput.
pub static STATEMENTS: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

fn count_statement(event: diesel::connection::InstrumentationEvent<'_>) {
    if let diesel::connection::InstrumentationEvent::FinishQuery { .. } = event {
        STATEMENTS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Opens (creating the SQLite file if needed) the database, migrates it and returns a pool.
pub fn open(location: &Location) -> anyhow::Result<DbPool> {
    let manager = Manager {
        location: location.clone(),
    };
    match location {
        Location::Sqlite(path) => prepare_sqlite(path)?,
        Location::Postgres(_) => prepare_postgres(&manager)?,
    }
    Pool::builder()
        .max_size(POOL_SIZE)
        .connection_timeout(Duration::from_secs(10))
        // No `SELECT 1` before every use (a round trip each on PostgreSQL): a broken
        // connection is found when it is returned, and its error reaches the caller once.
        .test_on_check_out(false)
        .build(manager)
        .context("opening the database pool")
}

fn prepare_sqlite(path: &Path) -> anyhow::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating the data directory {}", dir.display()))?;
    }
    let url = path
        .to_str()
        .context("the database path is not valid UTF-8")?;
    // Before the first connection: every one opened from now on (the pool's too) has it.
    stable_plans::install();
    let mut conn = SqliteConnection::establish(url)
        .with_context(|| format!("opening the database {}", path.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000;")
        .context("setting up the database")?;
    space::check_known_migrations(&mut conn, &SQLITE_MIGRATIONS)?;
    space::ensure_incremental_vacuum(&mut conn)?;
    // Foreign keys stay off while migrating: SQLite rebuilds a table by copying it, dropping
    // the old one and renaming the copy, and with them on the drop would cascade. They are
    // checked once afterwards instead (every pooled connection turns them on).
    conn.batch_execute("PRAGMA journal_mode = WAL; PRAGMA foreign_keys = OFF;")
        .context("setting up the database")?;
    let applied: Vec<String> = conn
        .run_pending_migrations(SQLITE_MIGRATIONS)
        .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?
        .into_iter()
        .map(|v| v.to_string())
        .collect();
    if !applied.is_empty() {
        space::check_foreign_keys(&mut conn)?;
    }
    for version in applied {
        tracing::info!(%version, "applied database migration");
    }
    Ok(())
}

/// Any number of instances may start together on an empty database: a session advisory lock
/// makes one of them migrate while the others wait, then find nothing left to do.
fn prepare_postgres(manager: &Manager) -> anyhow::Result<()> {
    const MIGRATION_LOCK: i64 = 0x4145_5448_4e58; // "AETHNX"
    let DbConn::Pg(mut conn) = manager.connect().with_context(|| {
        format!(
            "connecting to PostgreSQL at {}",
            manager.location.describe()
        )
    })?
    else {
        unreachable!("a PostgreSQL location makes PostgreSQL connections")
    };
    diesel::sql_query(format!("SELECT pg_advisory_lock({MIGRATION_LOCK})"))
        .execute(&mut conn)
        .context("waiting for the migration lock")?;
    let outcome = (|| {
        space::check_known_pg_migrations(&mut conn, &POSTGRES_MIGRATIONS)?;
        let applied = conn
            .run_pending_migrations(POSTGRES_MIGRATIONS)
            .map_err(|e| anyhow::anyhow!("migrating the database: {e}"))?;
        for version in applied {
            tracing::info!(%version, "applied database migration");
        }
        anyhow::Ok(())
    })();
    let _ = diesel::sql_query(format!("SELECT pg_advisory_unlock({MIGRATION_LOCK})"))
        .execute(&mut conn);
    outcome
}

/// Serialises this process's busiest write transactions on SQLite: waiting on a mutex is
/// prompt, where SQLite's busy handler sleeps between retries (and adds milliseconds to every
/// collision). PostgreSQL locks rows, not the database, so there it is not taken.
pub type WriteLock = std::sync::Arc<std::sync::Mutex<()>>;

/// A write transaction: on SQLite an immediate one taken under `lock`, on PostgreSQL a plain
/// one (row locks do the work).
pub fn immediate<T, E>(
    conn: &mut DbConn,
    lock: &WriteLock,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    let _guard =
        matches!(conn, DbConn::Sqlite(_)).then(|| lock.lock().unwrap_or_else(|p| p.into_inner()));
    write_transaction(conn, f)
}

/// A write transaction without the process lock: SQLite's `BEGIN IMMEDIATE` (so a transaction
/// that reads and then writes never fails to upgrade its lock), PostgreSQL's `BEGIN`.
pub fn write_transaction<T, E>(
    conn: &mut DbConn,
    f: impl FnOnce(&mut DbConn) -> Result<T, E>,
) -> Result<T, E>
where
    E: From<diesel::result::Error>,
{
    if let DbConn::Sqlite(c) = conn {
        AnsiTransactionManager::begin_transaction_sql(c, "BEGIN IMMEDIATE")?;
    } else {
        <DbConn as Connection>::TransactionManager::begin_transaction(conn)?;
    }
    match f(conn) {
        Ok(value) => {
            <DbConn as Connection>::TransactionManager::commit_transaction(conn)?;
            Ok(value)
        }
        Err(e) => {
            // The error that ended the transaction is the one worth reporting.
            let _ = <DbConn as Connection>::TransactionManager::rollback_transaction(conn);
            Err(e)
        }
    }
}

/// A trivial query: does the database answer?
pub fn ping(conn: &mut DbConn) -> diesel::QueryResult<()> {
    diesel::sql_query("SELECT 1").execute(conn).map(|_| ())
}

/// Runs `f` with a pooled connection on the blocking thread pool (Diesel is blocking).
/// A connection whose server went away is not handed out again: each stale one would fail
/// once more after the server is back.
pub async fn run<T, E, F>(pool: &DbPool, f: F) -> Result<T, E>
where
    T: Send + 'static,
    E: From<diesel::r2d2::PoolError>
        + From<actix_web::error::BlockingError>
        + fault::HasFault
        + Send
        + 'static,
    F: FnOnce(&mut DbConn) -> Result<T, E> + Send + 'static,
{
    let pool = pool.clone();
    actix_web::web::block(move || {
        let mut conn = pool.get()?;
        let result = f(&mut conn);
        if let Err(e) = &result
            && e.fault() == Some(fault::Fault::Unavailable)
        {
            discard(&mut conn);
        }
        result
    })
    .await?
}

/// Marks a connection so that the pool drops it when it comes back (see `has_broken`).
pub fn discard(conn: &mut DbConn) {
    on_backend!(conn, c => AnsiTransactionManager::transaction_manager_status_mut(c).set_in_error());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_location_is_chosen_by_the_flag_and_never_guessed() {
        let file = Path::new("/data/aethenox.db");
        assert_eq!(
            Location::new(None, file).unwrap(),
            Location::Sqlite(file.into())
        );
        assert!(
            Location::new(Some("postgresql://u@h/db"), file)
                .unwrap()
                .is_postgres()
        );
        let err = Location::new(Some("/tmp/other.db"), file).unwrap_err();
        assert!(err.to_string().contains("--database-url"), "{err}");
    }

    #[test]
    fn passwords_never_reach_the_logs() {
        let shown = redact_password("postgres://app:hunter2@db.internal:5432/hooks");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(shown.contains("app:***@db.internal:5432/hooks"), "{shown}");
        assert_eq!(
            redact_password("postgres://app@db/hooks"),
            "postgres://app@db/hooks"
        );
    }
}
