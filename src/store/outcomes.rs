//! Recording the outcomes of finished attempts: the webhooks' health, the attempts, and each
//! delivery's new state (in one statement per batch on each backend).

use super::deliveries::{After, FAILED, NewAttempt, Outcome, PENDING, SUCCEEDED};
use crate::db::DbConn;
use crate::db::schema::{attempts, deliveries, webhooks};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Integer, Nullable, Text};

/// Writes a batch of outcomes: each webhook's health (a success clears its run of failures;
/// 410, or failing for `disable_after_ms` without a success, disables it), the attempts and
/// the deliveries' new state. Returns the webhooks disabled by this batch.
///
/// Rows are locked in the order every other writer uses: webhooks (in id order) before their
/// deliveries, as deleting or editing a webhook does. The other order let PostgreSQL's deadlock
/// detector abort a webhook's deletion while a batch of its failures was being written.
pub fn record(
    conn: &mut DbConn,
    outcomes: &[Outcome],
    now: i64,
    disable_after_ms: i64,
    disable_after_text: &str,
) -> QueryResult<Vec<(String, String)>> {
    let disabled = record_health(conn, outcomes, now, disable_after_ms, disable_after_text)?;
    let rows: Vec<&NewAttempt> = outcomes.iter().map(|o| &o.attempt).collect();
    match &mut *conn {
        // One cached statement a row (its shape never changes: `None` is bound as NULL).
        DbConn::Sqlite(c) => {
            for a in &rows {
                diesel::insert_into(attempts::table).values(*a).execute(c)?;
            }
        }
        DbConn::Pg(c) => {
            for chunk in rows.chunks(500) {
                diesel::insert_into(attempts::table)
                    .values(chunk.to_vec())
                    .execute(c)?;
            }
        }
    }
    let once = each_delivery_once(outcomes);
    let row_by_row = match conn {
        DbConn::Pg(c) if once => {
            pg_update(c, outcomes, now)?;
            &[][..]
        }
        DbConn::Sqlite(c) if once => {
            for chunk in outcomes.chunks(1000) {
                sqlite_update(c, chunk, now)?;
            }
            &[][..]
        }
        _ => outcomes,
    };
    // Row by row (a batch naming a delivery twice: a resend's outcome beside the actor's).
    crate::db::on_backend!(&mut *conn, c => {
        for o in row_by_row {
            let manual = i32::from(o.attempt.trigger != "automatic");
            let class = o.attempt.status_code.map_or(0, |c| c / 100);
            let error = o.attempt.error.as_deref();
            let target = deliveries::table.find(&o.attempt.delivery_id);
            let common = (
                deliveries::attempt_count.eq(deliveries::attempt_count + 1),
                deliveries::manual_attempts.eq(deliveries::manual_attempts + manual),
                deliveries::lease_until.eq(None::<i64>),
                deliveries::last_status_code.eq(o.attempt.status_code),
                deliveries::last_status_class.eq(Some(class)),
                deliveries::last_duration_ms.eq(Some(o.attempt.duration_ms)),
                deliveries::last_error.eq(error),
                deliveries::updated_at.eq(now),
            );
            let (status, next) = match o.after {
                After::Succeeded => (SUCCEEDED, None),
                After::RetryAt(at) => (PENDING, Some(at)),
                After::Failed => (FAILED, None),
                After::Unchanged => {
                    diesel::update(target).set(common).execute(c)?;
                    continue;
                }
            };
            diesel::update(target)
                .set((
                    common,
                    deliveries::status.eq(status),
                    deliveries::next_attempt_at.eq(next),
                ))
                .execute(c)?;
        }
    });
    Ok(disabled)
}

/// Whether no delivery appears twice in `outcomes` (one statement can write them all).
pub(super) fn each_delivery_once(outcomes: &[Outcome]) -> bool {
    let mut ids: Vec<&str> = outcomes
        .iter()
        .map(|o| o.attempt.delivery_id.as_str())
        .collect();
    ids.sort_unstable();
    ids.windows(2).all(|w| w[0] != w[1])
}

/// PostgreSQL: the start of an `UPDATE` writing each outcome onto its delivery `d` from `v`
/// (columns id, manual, code, class, duration, error, status, next: one row per outcome), the
/// time bound as parameter `$now`: the attempt counted, the lease released, the last response
/// noted, and the new status and next attempt (kept as they are where `v.status` is NULL).
macro_rules! pg_set_outcomes {
    ($now:literal) => {
        concat!(
            "UPDATE deliveries AS d SET \
               attempt_count = d.attempt_count + 1, \
               manual_attempts = d.manual_attempts + v.manual, \
               lease_until = NULL, \
               last_status_code = v.code, \
               last_status_class = v.class, \
               last_duration_ms = v.duration, \
               last_error = v.error, \
               updated_at = ",
            $now,
            ", \
               status = COALESCE(v.status, d.status), \
               next_attempt_at = CASE WHEN v.status IS NULL THEN d.next_attempt_at ELSE v.next END "
        )
    };
}
pub(super) use pg_set_outcomes;

/// The health part of `record`, one webhook at a time in id order.
fn record_health(
    conn: &mut DbConn,
    outcomes: &[Outcome],
    now: i64,
    disable_after_ms: i64,
    disable_after_text: &str,
) -> QueryResult<Vec<(String, String)>> {
    // The last outcome of each webhook in this batch decides its health.
    let mut last = std::collections::BTreeMap::new();
    for o in outcomes.iter().filter(|o| o.affects_health) {
        last.insert(o.webhook_id.as_str(), o);
    }
    let mut disabled = Vec::new();
    crate::db::on_backend!(&mut *conn, c => {
        for o in last.values() {
            let webhook = webhooks::table.find(&o.webhook_id);
            if o.after == After::Succeeded {
                diesel::update(webhook.filter(webhooks::failing_since.is_not_null()))
                    .set(webhooks::failing_since.eq(None::<i64>))
                    .execute(c)?;
                continue;
            }
            diesel::update(webhook.filter(webhooks::failing_since.is_null()))
                .set(webhooks::failing_since.eq(Some(o.attempt.attempted_at)))
                .execute(c)?;
            let gone = outcomes
                .iter()
                .any(|x| x.gone && x.webhook_id == o.webhook_id);
            let reason = if gone {
                Some("the endpoint answered 410 Gone".to_owned())
            } else {
                let since: Option<i64> = webhook
                    .select(webhooks::failing_since)
                    .first(c)
                    .optional()?
                    .flatten();
                since
                    .filter(|s| now - s >= disable_after_ms)
                    .map(|_| format!("deliveries failed for {disable_after_text} without a success"))
            };
            if let Some(reason) = reason {
                let n = diesel::update(webhook.filter(webhooks::enabled.eq(true)))
                    .set((
                        webhooks::enabled.eq(false),
                        webhooks::disabled_reason.eq(Some(reason.as_str())),
                        webhooks::disabled_at.eq(Some(now)),
                        webhooks::updated_at.eq(now),
                    ))
                    .execute(c)?;
                if n > 0 {
                    disabled.push((o.webhook_id.clone(), reason));
                }
            }
        }
    });
    Ok(disabled)
}

/// SQLite: the per-row updates of `record` as one statement per batch, as on PostgreSQL. Diesel
/// compiles every UPDATE anew (it never caches one), so one statement for the batch costs one
/// compilation instead of one per outcome. Each delivery must appear once in `outcomes`.
pub(super) fn sqlite_update(
    conn: &mut SqliteConnection,
    outcomes: &[Outcome],
    now: i64,
) -> QueryResult<usize> {
    let rows = vec!["(?, ?, ?, ?, ?, ?, ?, ?)"; outcomes.len()].join(", ");
    let mut query = diesel::sql_query(format!(
        "UPDATE deliveries SET \
           attempt_count = attempt_count + 1, \
           manual_attempts = manual_attempts + v.column2, \
           lease_until = NULL, \
           last_status_code = v.column3, \
           last_status_class = v.column4, \
           last_duration_ms = v.column5, \
           last_error = v.column6, \
           updated_at = ?, \
           status = COALESCE(v.column7, status), \
           next_attempt_at = CASE WHEN v.column7 IS NULL THEN next_attempt_at ELSE v.column8 END \
         FROM (VALUES {rows}) AS v \
         WHERE deliveries.id = v.column1"
    ))
    .into_boxed::<diesel::sqlite::Sqlite>()
    .bind::<BigInt, _>(now);
    for o in outcomes {
        let a = &o.attempt;
        let (status, next) = new_state(o.after);
        query = query
            .bind::<Text, _>(&a.delivery_id)
            .bind::<Integer, _>(i32::from(a.trigger != "automatic"))
            .bind::<Nullable<Integer>, _>(a.status_code)
            .bind::<Integer, _>(a.status_code.map_or(0, |c| c / 100))
            .bind::<Integer, _>(a.duration_ms)
            .bind::<Nullable<Text>, _>(a.error.as_deref())
            .bind::<Nullable<Text>, _>(status)
            .bind::<Nullable<BigInt>, _>(next);
    }
    query.execute(conn)
}

/// The status and next attempt an outcome leaves its delivery with (None: unchanged).
fn new_state(after: After) -> (Option<&'static str>, Option<i64>) {
    match after {
        After::Succeeded => (Some(SUCCEEDED), None),
        After::RetryAt(at) => (Some(PENDING), Some(at)),
        After::Failed => (Some(FAILED), None),
        After::Unchanged => (None, None),
    }
}

/// The columns an outcome writes on its delivery beyond its attempt's own, one array each (for
/// PostgreSQL's `unnest`).
pub(super) struct NewStates {
    pub manual: Vec<i32>,
    pub classes: Vec<i32>,
    pub statuses: Vec<Option<&'static str>>,
    pub next: Vec<Option<i64>>,
}

impl NewStates {
    pub fn of(outcomes: &[Outcome]) -> NewStates {
        let (statuses, next) = outcomes.iter().map(|o| new_state(o.after)).unzip();
        NewStates {
            manual: outcomes
                .iter()
                .map(|o| i32::from(o.attempt.trigger != "automatic"))
                .collect(),
            classes: outcomes
                .iter()
                .map(|o| o.attempt.status_code.map_or(0, |c| c / 100))
                .collect(),
            statuses,
            next,
        }
    }
}

/// PostgreSQL: the per-row updates of `record` as one statement (`pg_set_outcomes`). Each
/// delivery must appear once in `outcomes`.
pub(super) fn pg_update(
    conn: &mut PgConnection,
    outcomes: &[Outcome],
    now: i64,
) -> QueryResult<usize> {
    let ids: Vec<&str> = outcomes
        .iter()
        .map(|o| o.attempt.delivery_id.as_str())
        .collect();
    let codes: Vec<Option<i32>> = outcomes.iter().map(|o| o.attempt.status_code).collect();
    let durations: Vec<i32> = outcomes.iter().map(|o| o.attempt.duration_ms).collect();
    let errors: Vec<Option<&str>> = outcomes
        .iter()
        .map(|o| o.attempt.error.as_deref())
        .collect();
    let state = NewStates::of(outcomes);
    crate::db::prepared::Prepared::new(concat!(
        pg_set_outcomes!("$9"),
        "FROM unnest($1, $2, $3, $4, $5, $6, $7, $8) \
           AS v(id, manual, code, class, duration, error, status, next) \
         WHERE d.id = v.id"
    ))
    .bind::<Array<Text>, _>(&ids)
    .bind::<Array<Integer>, _>(&state.manual)
    .bind::<Array<Nullable<Integer>>, _>(&codes)
    .bind::<Array<Integer>, _>(&state.classes)
    .bind::<Array<Integer>, _>(&durations)
    .bind::<Array<Nullable<Text>>, _>(&errors)
    .bind::<Array<Nullable<Text>>, _>(&state.statuses)
    .bind::<Array<Nullable<BigInt>>, _>(&state.next)
    .bind::<BigInt, _>(now)
    .execute(conn)
}
