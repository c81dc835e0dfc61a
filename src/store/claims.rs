//! What several instances sharing one PostgreSQL database need of the queue: claims that never
//! hand the same delivery to two instances, and a wake-up for the others when work arrives.
//! (A lease left by an instance that died is claimable again once it runs out: every instance
//! looks at the queue at least once a second.) On SQLite, one process, neither is needed.

use crate::db::DbConn;
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};

/// The channel instances LISTEN on: a notification means "deliveries are due now".
pub const WAKE_CHANNEL: &str = "aethenox_due";

#[derive(QueryableByName)]
struct Candidate {
    #[diesel(sql_type = Text)]
    id: String,
    #[diesel(sql_type = Text)]
    webhook_id: String,
}

/// Due deliveries (id, webhook) in the order they fell due, each row locked for this
/// transaction; rows another instance is claiming right now are skipped rather than waited
/// for, and a row whose lease another instance committed meanwhile no longer matches.
pub fn pg_candidates(
    conn: &mut diesel::PgConnection,
    now: i64,
    room: i64,
    full_webhooks: &[String],
) -> QueryResult<Vec<(String, String)>> {
    let rows: Vec<Candidate> = diesel::sql_query(
        "SELECT d.id, d.webhook_id FROM deliveries d JOIN webhooks w ON w.id = d.webhook_id \
         WHERE d.status = 'pending' AND d.next_attempt_at <= $1 \
           AND (d.lease_until IS NULL OR d.lease_until < $1) \
           AND (w.enabled OR d.is_test) \
           AND NOT (d.webhook_id = ANY($2)) \
         ORDER BY d.next_attempt_at LIMIT $3 \
         FOR UPDATE OF d SKIP LOCKED",
    )
    .bind::<BigInt, _>(now)
    .bind::<Array<Text>, _>(full_webhooks)
    .bind::<BigInt, _>(room)
    .load(conn)?;
    Ok(rows.into_iter().map(|c| (c.id, c.webhook_id)).collect())
}

/// Tells every instance listening that deliveries are due (delivered when the surrounding
/// transaction commits). Nothing on SQLite: there the only instance wakes itself.
pub fn wake_others(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("NOTIFY {WAKE_CHANNEL}")).execute(c)?;
    }
    Ok(())
}
