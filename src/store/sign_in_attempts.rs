//! Sign-in attempts per key in PostgreSQL, so that every instance sharing the database counts
//! the same guesses (the rules are in `limits::throttle`; SQLite's one process keeps them in
//! memory and has no such table).

use diesel::PgConnection;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Text};

#[derive(QueryableByName)]
pub struct Counted {
    #[diesel(sql_type = Text)]
    pub key: String,
    #[diesel(sql_type = Integer)]
    pub attempts: i32,
    #[diesel(sql_type = BigInt)]
    pub last_at: i64,
}

/// The counts of `keys`, their rows locked until the transaction ends, so that attempts for
/// the same account or address on any instance take turns. A key seen for the first time gets
/// a row first (with no attempts), so there is always a row to lock; rows are taken in key
/// order, so two attempts sharing keys cannot deadlock.
pub fn lock(conn: &mut PgConnection, keys: &[String], now: i64) -> QueryResult<Vec<Counted>> {
    let mut keys = keys.to_vec();
    keys.sort_unstable();
    diesel::sql_query(
        "INSERT INTO sign_in_attempts (key, attempts, last_at) \
         SELECT k, 0, $2 FROM unnest($1::text[]) AS k ORDER BY k ON CONFLICT (key) DO NOTHING",
    )
    .bind::<Array<Text>, _>(&keys)
    .bind::<BigInt, _>(now)
    .execute(conn)?;
    diesel::sql_query(
        "SELECT key, attempts, last_at FROM sign_in_attempts WHERE key = ANY($1) \
         ORDER BY key FOR UPDATE",
    )
    .bind::<Array<Text>, _>(&keys)
    .load(conn)
}

/// Counts one more attempt for each key, started at `now`.
pub fn count(conn: &mut PgConnection, keys: &[String], now: i64) -> QueryResult<()> {
    diesel::sql_query(
        "INSERT INTO sign_in_attempts (key, attempts, last_at) SELECT k, 1, $2 FROM unnest($1) AS k \
         ON CONFLICT (key) DO UPDATE SET attempts = sign_in_attempts.attempts + 1, last_at = $2",
    )
    .bind::<Array<Text>, _>(keys)
    .bind::<BigInt, _>(now)
    .execute(conn)
    .map(|_| ())
}

/// Takes back one attempt of each key.
pub fn refund(conn: &mut PgConnection, keys: &[String]) -> QueryResult<()> {
    diesel::sql_query(
        "UPDATE sign_in_attempts SET attempts = GREATEST(attempts - 1, 0) WHERE key = ANY($1)",
    )
    .bind::<Array<Text>, _>(keys)
    .execute(conn)
    .map(|_| ())
}

/// Forgets `keys` (a sign-in succeeded).
pub fn forget(conn: &mut PgConnection, keys: &[String]) -> QueryResult<()> {
    diesel::sql_query("DELETE FROM sign_in_attempts WHERE key = ANY($1)")
        .bind::<Array<Text>, _>(keys)
        .execute(conn)
        .map(|_| ())
}

/// Forgets keys quiet since before `before` (retention; a flood of made-up addresses cannot
/// grow the table for long).
pub fn forget_quiet(conn: &mut PgConnection, before: i64) -> QueryResult<usize> {
    diesel::sql_query("DELETE FROM sign_in_attempts WHERE last_at < $1")
        .bind::<BigInt, _>(before)
        .execute(conn)
}
