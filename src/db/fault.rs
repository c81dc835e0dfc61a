//! Which database errors mean "the database cannot be used now" rather than a bug: it cannot
//! be reached (refused, reset, shutting down, starting up, read-only after a failover, the
//! pool timing out) or its storage is full. Those are answered 503 with `Retry-After`, never
//! 500, and reported once by the health state until the database takes a write again.

use diesel::result::{DatabaseErrorKind, Error};

/// Why the database cannot take work now.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// Not reachable, not accepting connections or writes (`database_unavailable`).
    Unavailable,
    /// Its disk is full (`storage_full`).
    Full,
}

impl Fault {
    /// The code in the JSON error and on `/healthz`.
    pub fn code(self) -> &'static str {
        match self {
            Fault::Unavailable => "database_unavailable",
            Fault::Full => "storage_full",
        }
    }

    /// What an operator or a publisher reads.
    pub fn message(self) -> &'static str {
        match self {
            Fault::Unavailable => {
                "The database cannot be reached right now; nothing was changed. Retry shortly."
            }
            Fault::Full => {
                "The database's storage is full; nothing was changed. Retry once space is freed."
            }
        }
    }

    /// Seconds a client should wait before trying again.
    pub fn retry_after_secs(self) -> u64 {
        match self {
            Fault::Unavailable => 5,
            Fault::Full => 30,
        }
    }
}

/// Errors that may be a database fault.
pub trait HasFault {
    fn fault(&self) -> Option<Fault>;
}

impl HasFault for Error {
    fn fault(&self) -> Option<Fault> {
        of_error(self)
    }
}

/// Words of the messages SQLite and PostgreSQL (and libpq) give for a full disk.
const FULL: [&str; 4] = [
    "database or disk is full",
    "no space left on device",
    "could not extend file",
    "disk quota exceeded",
];

/// Words of the messages for a database that is not there or not taking writes.
const UNAVAILABLE: [&str; 14] = [
    "disk i/o error",
    "unable to open database file",
    "attempt to write a readonly database",
    "terminating connection",
    "server closed the connection",
    "connection refused",
    "connection reset",
    "could not connect",
    "could not receive data",
    "could not send data",
    "the database system is",
    "no connection to the server",
    "broken pipe",
    // "cannot execute INSERT in a read-only transaction": a standby after a failover.
    "read-only transaction",
];

/// The fault a message names, if any.
pub fn of_message(message: &str) -> Option<Fault> {
    let m = message.to_ascii_lowercase();
    if FULL.iter().any(|w| m.contains(w)) {
        return Some(Fault::Full);
    }
    UNAVAILABLE
        .iter()
        .any(|w| m.contains(w))
        .then_some(Fault::Unavailable)
}

/// The fault a Diesel error is, if it is one.
pub fn of_error(e: &Error) -> Option<Fault> {
    match e {
        Error::DatabaseError(kind, info) => match kind {
            DatabaseErrorKind::ClosedConnection
            | DatabaseErrorKind::UnableToSendCommand
            | DatabaseErrorKind::ReadOnlyTransaction => {
                Some(of_message(info.message()).unwrap_or(Fault::Unavailable))
            }
            _ => of_message(info.message()),
        },
        Error::BrokenTransactionManager => Some(Fault::Unavailable),
        Error::RollbackErrorOnCommit {
            rollback_error,
            commit_error,
        } => of_error(commit_error).or_else(|| of_error(rollback_error)),
        _ => None,
    }
}

/// A pool that could not hand out a connection: the database is not taking them.
pub fn of_pool(e: &diesel::r2d2::PoolError) -> Fault {
    of_message(&e.to_string()).unwrap_or(Fault::Unavailable)
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Info(&'static str);
    impl diesel::result::DatabaseErrorInformation for Info {
        fn message(&self) -> &str {
            self.0
        }
        fn details(&self) -> Option<&str> {
            None
        }
        fn hint(&self) -> Option<&str> {
            None
        }
        fn table_name(&self) -> Option<&str> {
            None
        }
        fn column_name(&self) -> Option<&str> {
            None
        }
        fn constraint_name(&self) -> Option<&str> {
            None
        }
        fn statement_position(&self) -> Option<i32> {
            None
        }
    }

    fn db(kind: DatabaseErrorKind, message: &'static str) -> Error {
        Error::DatabaseError(kind, Box::new(Info(message)))
    }

    #[test]
    fn faults_are_told_from_bugs_by_what_the_database_says() {
        use DatabaseErrorKind::*;
        for (error, want) in [
            // SQLite: SQLITE_FULL, SQLITE_IOERR, SQLITE_CANTOPEN, SQLITE_READONLY.
            (db(Unknown, "database or disk is full"), Some(Fault::Full)),
            (db(Unknown, "disk I/O error"), Some(Fault::Unavailable)),
            (
                db(Unknown, "unable to open database file"),
                Some(Fault::Unavailable),
            ),
            (
                db(Unknown, "attempt to write a readonly database"),
                Some(Fault::Unavailable),
            ),
            // PostgreSQL: 53100 disk_full, 57P01 admin_shutdown, 57P03 cannot_connect_now,
            // 25006 read_only_sql_transaction, a connection gone.
            (
                db(
                    Unknown,
                    "could not extend file \"base/16384/16385\": No space left on device",
                ),
                Some(Fault::Full),
            ),
            (
                db(
                    Unknown,
                    "terminating connection due to administrator command",
                ),
                Some(Fault::Unavailable),
            ),
            (
                db(Unknown, "the database system is starting up"),
                Some(Fault::Unavailable),
            ),
            (
                db(
                    ReadOnlyTransaction,
                    "cannot execute INSERT in a read-only transaction",
                ),
                Some(Fault::Unavailable),
            ),
            (
                db(Unknown, "cannot execute UPDATE in a read-only transaction"),
                Some(Fault::Unavailable),
            ),
            (
                db(
                    ClosedConnection,
                    "server closed the connection unexpectedly",
                ),
                Some(Fault::Unavailable),
            ),
            (
                db(UnableToSendCommand, "no connection to the server"),
                Some(Fault::Unavailable),
            ),
            (Error::BrokenTransactionManager, Some(Fault::Unavailable)),
            // Bugs and bad input stay what they are.
            (
                db(UniqueViolation, "UNIQUE constraint failed: webhooks.id"),
                None,
            ),
            (db(Unknown, "no such column: nope"), None),
            (db(Unknown, "syntax error at or near \"SELEC\""), None),
            (Error::NotFound, None),
        ] {
            assert_eq!(of_error(&error), want, "{error:?}");
        }
        assert_eq!(Fault::Full.code(), "storage_full");
        assert_eq!(Fault::Unavailable.code(), "database_unavailable");
    }
}
