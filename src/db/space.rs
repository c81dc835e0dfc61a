//! The database itself: SQLite's incremental vacuum (so space freed by retention goes back to
//! the system in small steps), the size on disk of either backend, SQLite's consistent online
//! copies for backups, and which migrations a database has seen. Backend-specific statements
//! about storage live here and nowhere else.

use anyhow::Context;
use diesel::connection::SimpleConnection;
use diesel::migration::MigrationSource;
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Text};
use std::path::Path;

/// SQLite's connection: most of what is here is SQLite's own.
type DbConn = diesel::SqliteConnection;

#[derive(QueryableByName)]
struct Number {
    #[diesel(sql_type = BigInt)]
    n: i64,
}

fn pragma(conn: &mut DbConn, name: &str) -> QueryResult<i64> {
    diesel::sql_query(format!("SELECT {name} AS n FROM pragma_{name}()"))
        .get_result::<Number>(conn)
        .map(|r| r.n)
}

/// Turns on incremental vacuum. A new database gets it before its first table; an existing one
/// (from a version before retention) is rewritten once by VACUUM, which is logged.
pub fn ensure_incremental_vacuum(conn: &mut DbConn) -> anyhow::Result<()> {
    const INCREMENTAL: i64 = 2;
    if pragma(conn, "auto_vacuum")? == INCREMENTAL {
        return Ok(());
    }
    let empty = pragma(conn, "page_count")? <= 1;
    conn.batch_execute("PRAGMA auto_vacuum = INCREMENTAL;")?;
    if !empty {
        tracing::info!("turning on incremental vacuum: rewriting the database once (VACUUM)");
        conn.batch_execute("VACUUM;")
            .context("rewriting the database for incremental vacuum")?;
    }
    Ok(())
}

/// Gives up to `pages` free pages back to the file system; returns how many remain free.
pub fn incremental_vacuum(conn: &mut DbConn, pages: i64) -> QueryResult<i64> {
    conn.batch_execute(&format!("PRAGMA incremental_vacuum({pages});"))?;
    pragma(conn, "freelist_count")
}

/// How much the database holds on disk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Space {
    /// The main file.
    pub file_bytes: i64,
    /// Pages in the file that are free (given back by the next incremental vacuum).
    pub free_bytes: i64,
    /// The write-ahead log beside it.
    pub wal_bytes: i64,
}

/// How much the database holds: on SQLite the file, its free pages and its log; on PostgreSQL
/// the database's size (`pg_database_size`; PostgreSQL's autovacuum reuses freed space itself
/// and keeps its log apart, so those two read 0).
pub fn space(conn: &mut super::conn::DbConn, db_path: &Path) -> QueryResult<Space> {
    match conn {
        super::conn::DbConn::Sqlite(c) => sqlite_space(c, db_path),
        super::conn::DbConn::Pg(c) => Ok(Space {
            file_bytes: diesel::sql_query("SELECT pg_database_size(current_database()) AS n")
                .get_result::<Number>(c)?
                .n,
            free_bytes: 0,
            wal_bytes: 0,
        }),
    }
}

fn sqlite_space(conn: &mut DbConn, db_path: &Path) -> QueryResult<Space> {
    let page = pragma(conn, "page_size")?;
    let wal = db_path.with_extension("db-wal");
    Ok(Space {
        file_bytes: pragma(conn, "page_count")? * page,
        free_bytes: pragma(conn, "freelist_count")? * page,
        wal_bytes: std::fs::metadata(wal).map_or(0, |m| m.len() as i64),
    })
}

/// A consistent copy of the whole database in `to`, taken inside one read transaction while
/// the server goes on writing (VACUUM INTO: SQLite's online copy). Refuses an existing file.
pub fn copy_to(conn: &mut DbConn, to: &Path) -> anyhow::Result<()> {
    if to.exists() {
        anyhow::bail!("{} exists already; choose a new file name", to.display());
    }
    let target = to.to_str().context("the backup path is not valid UTF-8")?;
    diesel::sql_query("VACUUM INTO ?")
        .bind::<Text, _>(target)
        .execute(conn)
        .with_context(|| format!("writing {}", to.display()))?;
    Ok(())
}

#[derive(QueryableByName)]
struct Version {
    #[diesel(sql_type = Text)]
    version: String,
}

/// Refuses a database migrated by a newer version: running on a schema this binary does not
/// know could lose data.
pub fn check_known_migrations(
    conn: &mut DbConn,
    embedded: &impl MigrationSource<diesel::sqlite::Sqlite>,
) -> anyhow::Result<()> {
    let has_table: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM sqlite_master WHERE type = 'table' AND name = '__diesel_schema_migrations'",
    )
    .get_result::<Number>(conn)?
    .n;
    if has_table == 0 {
        return Ok(());
    }
    let applied: Vec<Version> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn)?;
    refuse_unknown(&applied, embedded)
}

/// After migrating with foreign keys off: every reference must still hold, or the migration
/// is reported instead of leaving rows that point nowhere.
pub fn check_foreign_keys(conn: &mut DbConn) -> anyhow::Result<()> {
    let broken: i64 = diesel::sql_query("SELECT count(*) AS n FROM pragma_foreign_key_check()")
        .get_result::<Number>(conn)?
        .n;
    if broken > 0 {
        anyhow::bail!("after migrating, {broken} rows refer to rows that do not exist");
    }
    Ok(())
}

/// The same refusal on PostgreSQL.
pub fn check_known_pg_migrations(
    conn: &mut diesel::PgConnection,
    embedded: &impl MigrationSource<diesel::pg::Pg>,
) -> anyhow::Result<()> {
    let has_table: i64 = diesel::sql_query(
        "SELECT count(*) AS n FROM pg_tables WHERE schemaname = current_schema() \
         AND tablename = '__diesel_schema_migrations'",
    )
    .get_result::<Number>(conn)?
    .n;
    if has_table == 0 {
        return Ok(());
    }
    let applied: Vec<Version> =
        diesel::sql_query("SELECT version FROM __diesel_schema_migrations").load(conn)?;
    refuse_unknown(&applied, embedded)
}

fn refuse_unknown<DB: diesel::backend::Backend>(
    applied: &[Version],
    embedded: &impl MigrationSource<DB>,
) -> anyhow::Result<()> {
    let known: Vec<String> = embedded
        .migrations()
        .map_err(|e| anyhow::anyhow!("reading the embedded migrations: {e}"))?
        .iter()
        .map(|m| m.name().version().to_string())
        .collect();
    if let Some(unknown) = applied.iter().find(|v| !known.contains(&v.version)) {
        anyhow::bail!(
            "this database was upgraded by a newer aethenox-webhooks (it has migration {}, which \
             this binary does not know); run that version or a newer one. Nothing was changed.",
            unknown.version
        );
    }
    Ok(())
}

/// Bytes an unprivileged process may still write on the file system holding `path` (its
/// directory when the file does not exist yet); None when that cannot be asked.
pub fn available_bytes(path: &Path) -> Option<u64> {
    use std::os::unix::ffi::OsStrExt;
    let dir = if path.exists() { path } else { path.parent()? };
    let c = std::ffi::CString::new(dir.as_os_str().as_bytes()).ok()?;
    let mut st = std::mem::MaybeUninit::<libc::statvfs>::uninit();
    // SAFETY: `c` is a NUL-terminated path and `st` a buffer of the size statvfs writes.
    let rc = unsafe { libc::statvfs(c.as_ptr(), st.as_mut_ptr()) };
    if rc != 0 {
        return None;
    }
    // SAFETY: statvfs returned 0, so it filled `st`.
    let st = unsafe { st.assume_init() };
    Some(st.f_bavail.saturating_mul(st.f_frsize))
}
