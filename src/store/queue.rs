//! What waits in a webhook's queue, for its page: how many deliveries are pending and, for an
//! ordered webhook, the one the others wait behind.

use super::deliveries::PENDING;
use crate::db::DbConn;
use crate::db::schema::deliveries;
use crate::domain::workspace::WorkspaceId;
use diesel::prelude::*;

/// The oldest pending delivery of a webhook.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Head {
    pub id: String,
    pub next_attempt_at: Option<i64>,
    pub attempt_count: i32,
    /// An attempt of it is under way (leased).
    pub in_flight: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Queue {
    /// Pending deliveries (tests left out, as in the Delivery Log).
    pub pending: i64,
    pub head: Option<Head>,
}

pub fn of_webhook(
    conn: &mut DbConn,
    ws: &WorkspaceId,
    webhook_id: &str,
    now: i64,
) -> QueryResult<Queue> {
    let pending = || {
        deliveries::table
            .filter(deliveries::webhook_id.eq(webhook_id))
            .filter(deliveries::workspace_id.eq(ws.as_str()))
            .filter(deliveries::status.eq(PENDING))
            .filter(deliveries::is_test.eq(false))
    };
    let count: i64 = pending().count().get_result(conn)?;
    let head = pending()
        .order(deliveries::id.asc())
        .select((
            deliveries::id,
            deliveries::next_attempt_at,
            deliveries::attempt_count,
            deliveries::lease_until,
        ))
        .first::<(String, Option<i64>, i32, Option<i64>)>(conn)
        .optional()?
        .map(|(id, next_attempt_at, attempt_count, lease)| Head {
            id,
            next_attempt_at,
            attempt_count,
            in_flight: lease.is_some_and(|l| l >= now),
        });
    Ok(Queue {
        pending: count,
        head,
    })
}
