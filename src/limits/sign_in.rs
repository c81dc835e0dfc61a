//! Which throttle sign-ins go through: the in-memory one of a single SQLite process, or rows in
//! PostgreSQL that every instance sharing the database counts in (the same rules, so a guesser
//! gains nothing by spreading guesses over instances behind a load balancer).

use super::throttle::{Throttle, delay};
use crate::db::{DbConn, DbPool, Location};
use crate::domain::time;
use crate::error::AppError;
use crate::store::sign_in_attempts as store;
use std::time::Duration;

pub enum SignInThrottle {
    Local(Throttle),
    Shared(DbPool),
}

impl SignInThrottle {
    pub fn new(location: &Location, pool: &DbPool) -> SignInThrottle {
        if location.is_postgres() {
            SignInThrottle::Shared(pool.clone())
        } else {
            SignInThrottle::Local(Throttle::default())
        }
    }

    /// Counts an attempt for every key as it starts (see [`Throttle::begin`]). Inner Err: the
    /// longest any key must still wait (nothing is counted then).
    pub async fn begin(&self, keys: &[(&str, u32)]) -> Result<Result<(), Duration>, AppError> {
        let pool = match self {
            SignInThrottle::Local(t) => return Ok(t.begin(keys)),
            SignInThrottle::Shared(pool) => pool,
        };
        let keys: Vec<(String, u32)> = keys.iter().map(|(k, f)| ((*k).to_owned(), *f)).collect();
        on_postgres(pool, move |conn| {
            use diesel::Connection;
            conn.transaction(|conn| {
                let names: Vec<String> = keys.iter().map(|(k, _)| k.clone()).collect();
                let now = time::now_ms();
                let wait = store::lock(conn, &names, now)?
                    .iter()
                    .filter_map(|row| {
                        let free = keys.iter().find(|(k, _)| *k == row.key)?.1;
                        let since = Duration::from_millis((now - row.last_at).max(0) as u64);
                        delay(row.attempts.max(0) as u32, free)
                            .checked_sub(since)
                            .filter(|d| !d.is_zero())
                    })
                    .max();
                if let Some(wait) = wait {
                    return Ok(Err(wait));
                }
                store::count(conn, &names, now)?;
                Ok(Ok(()))
            })
        })
        .await
    }

    /// Takes back an attempt counted by `begin` that never checked a password.
    pub async fn refund(&self, keys: &[&str]) -> Result<(), AppError> {
        match self {
            SignInThrottle::Local(t) => {
                t.refund(keys);
                Ok(())
            }
            SignInThrottle::Shared(pool) => {
                let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
                on_postgres(pool, move |conn| store::refund(conn, &keys)).await
            }
        }
    }

    /// Forgets the attempts of `keys` (the password was right).
    pub async fn succeeded(&self, keys: &[&str]) -> Result<(), AppError> {
        match self {
            SignInThrottle::Local(t) => {
                keys.iter().for_each(|k| t.succeeded(k));
                Ok(())
            }
            SignInThrottle::Shared(pool) => {
                let keys: Vec<String> = keys.iter().map(|k| (*k).to_owned()).collect();
                on_postgres(pool, move |conn| store::forget(conn, &keys)).await
            }
        }
    }
}

/// Runs `f` on a PostgreSQL connection of the pool (a shared throttle is only made for one).
async fn on_postgres<T: Send + 'static>(
    pool: &DbPool,
    f: impl FnOnce(&mut diesel::PgConnection) -> diesel::QueryResult<T> + Send + 'static,
) -> Result<T, AppError> {
    crate::db::run(pool, move |conn| match conn {
        DbConn::Pg(c) => f(c).map_err(AppError::from),
        DbConn::Sqlite(_) => Err(AppError::Internal(anyhow::anyhow!(
            "the shared sign-in throttle needs PostgreSQL"
        ))),
    })
    .await
}
