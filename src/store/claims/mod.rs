//! Claiming due deliveries for attempts: leases on pending rows, so that neither this process
//! nor any other instance sharing a PostgreSQL database sends the same attempt twice, and a
//! wake-up for the other instances when work arrives.
//! (A lease left by an instance that died is claimable again once it runs out: every instance
//! looks at the queue at least once a second.) On SQLite, one process, neither is needed.

mod fair;
mod pace;

use super::deliveries::{PENDING, SENDING};
use crate::db::DbConn;
use crate::db::schema::{deliveries, events, webhooks, workspaces};
use diesel::prelude::*;
use diesel::sql_types::{Array, BigInt, Text};
pub use fair::{Due, Picked, Room, fair_pick};
use std::collections::HashMap;

/// The channel instances LISTEN on: a notification means "deliveries are due now".
pub const WAKE_CHANNEL: &str = "aethenox_due";

/// Due deliveries read without locks, at most `per_webhook` of each webhook and none of
/// `full_webhooks` or `full_workspaces`: every webhook's earliest row first, then every
/// webhook's second, and so on (a fresh event to a quiet webhook is among the first whatever
/// the backlog of others). Each webhook's rows are looked up in its own index range, so the
/// cost follows the number of webhooks, not the size of a backlog. Ordered webhooks take part
/// with their next delivery only (`pace::HEADS`), in the same statement.
pub fn pg_candidates(
    conn: &mut diesel::PgConnection,
    now: i64,
    room: i64,
    per_webhook: i64,
    full_webhooks: &[String],
    full_workspaces: &[String],
) -> QueryResult<Vec<Due>> {
    static QUERY: std::sync::LazyLock<String> = std::sync::LazyLock::new(|| {
        format!(
            "(SELECT d.id, d.webhook_id, w.workspace_id, w.rate_limit \
               FROM webhooks w CROSS JOIN LATERAL ( \
               SELECT id, webhook_id, next_attempt_at, \
                      row_number() OVER (ORDER BY next_attempt_at) AS turn FROM ( \
                 SELECT id, webhook_id, next_attempt_at FROM deliveries \
                 WHERE webhook_id = w.id AND status = 'pending' AND next_attempt_at <= $1 \
                   AND (lease_until IS NULL OR lease_until < $1) AND (w.enabled OR is_test) \
                 ORDER BY next_attempt_at LIMIT $2) earliest) d \
             WHERE NOT w.ordered AND NOT (w.id = ANY($3)) AND NOT (w.workspace_id = ANY($4)) \
             ORDER BY d.turn, d.next_attempt_at LIMIT $5) \
             UNION ALL ({})",
            pace::HEADS.replace("{now}", "$1")
        )
    });
    let rows: Vec<pace::DueRow> = diesel::sql_query(QUERY.as_str())
        .bind::<BigInt, _>(now)
        .bind::<BigInt, _>(per_webhook)
        .bind::<Array<Text>, _>(full_webhooks)
        .bind::<Array<Text>, _>(full_workspaces)
        .bind::<BigInt, _>(room)
        .load(conn)?;
    Ok(rows.into_iter().map(pace::DueRow::into_due).collect())
}

#[derive(QueryableByName)]
struct Id {
    #[diesel(sql_type = Text)]
    id: String,
}

/// Of `ids` (due deliveries read without locks), those still claimable, each row locked for
/// this transaction. Rows another instance is claiming right now are skipped rather than
/// waited for, and a row whose lease another instance committed since it was read no longer
/// matches. Only the rows about to be leased are locked (a lock is a write in PostgreSQL).
pub fn lock_claimable(
    conn: &mut diesel::PgConnection,
    ids: &[&str],
    now: i64,
) -> QueryResult<Vec<String>> {
    let rows: Vec<Id> = diesel::sql_query(
        "SELECT id FROM deliveries \
         WHERE id = ANY($1) AND status = 'pending' \
           AND (lease_until IS NULL OR lease_until < $2) \
         FOR UPDATE SKIP LOCKED",
    )
    .bind::<Array<Text>, _>(ids)
    .bind::<BigInt, _>(now)
    .load(conn)?;
    Ok(rows.into_iter().map(|r| r.id).collect())
}

/// Tells every instance listening that deliveries are due (delivered when the surrounding
/// transaction commits). Nothing on SQLite: there the only instance wakes itself.
pub fn wake_others(conn: &mut DbConn) -> QueryResult<()> {
    if let DbConn::Pg(c) = conn {
        diesel::sql_query(format!("NOTIFY {WAKE_CHANNEL}")).execute(c)?;
    }
    Ok(())
}

/// A delivery claimed for an attempt, with everything needed to send it (selected from the
/// delivery joined with its webhook, event and workspace: `with_event_and_workspace!`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = deliveries)]
pub struct Claimed {
    pub id: String,
    pub event_id: String,
    pub webhook_id: String,
    pub event_type: String,
    pub attempt_count: i32,
    pub manual_attempts: i32,
    pub is_test: bool,
    #[diesel(select_expression = webhooks::url)]
    pub url: String,
    #[diesel(select_expression = events::body)]
    pub body: Vec<u8>,
    pub workspace_id: String,
    /// How `X-Aethenox-Workspace` names the workspace: its uid, when it has one.
    #[diesel(select_expression = workspaces::uid)]
    pub workspace_uid: Option<String>,
    /// The webhook's custom headers, sealed (None: none).
    #[diesel(select_expression = webhooks::headers)]
    pub headers: Option<String>,
    /// Whether its webhook is ordered (recording the outcome lets the next one go).
    #[diesel(select_expression = webhooks::ordered)]
    pub ordered: bool,
    /// Whether its webhook has a rate limit (its attempt must start in the second a claim
    /// counted it in, so it never waits in memory for room).
    #[diesel(
        select_expression = webhooks::rate_limit.is_not_null(),
        select_expression_type = diesel::dsl::IsNotNull<webhooks::rate_limit>
    )]
    pub paced: bool,
}

impl Claimed {
    /// The `X-Aethenox-Workspace` header's value: the uid, or the id when there is none.
    pub fn workspace_key(&self) -> &str {
        self.workspace_uid.as_deref().unwrap_or(&self.workspace_id)
    }
}

/// Deliveries joined with their webhook, event and workspace: what sending one needs.
macro_rules! with_event_and_workspace {
    () => {
        deliveries::table
            .inner_join(webhooks::table)
            .inner_join(
                events::table.on(events::workspace_id
                    .eq(deliveries::workspace_id)
                    .and(events::id.eq(deliveries::event_id))),
            )
            .inner_join(workspaces::table.on(workspaces::id.eq(deliveries::workspace_id)))
    };
}

fn full(counts: &HashMap<String, usize>, cap: usize) -> Vec<String> {
    counts
        .iter()
        .filter(|(_, n)| **n >= cap)
        .map(|(id, _)| id.clone())
        .collect()
}

/// What a claim took, and the rate-limited webhooks whose second it used up with rows left.
#[derive(Debug, Default)]
pub struct Claim {
    pub jobs: Vec<Claimed>,
    pub rate_held: Vec<String>,
    /// Something due may have been left unclaimed: the read was cut short, rows of webhooks or
    /// workspaces at their caps were not read, or the fair pick took fewer than it read.
    pub left_behind: bool,
}

/// Most of the newest pending deliveries read beside the oldest due on SQLite.
const FRESH: i64 = 256;

/// Claims up to `limit` due deliveries fairly, leasing them until `lease_until`: the webhook
/// with the fewest attempts in flight goes next (oldest due first within a webhook), and no
/// webhook or workspace passes its cap in `room`, nor a rate-limited webhook its limit for
/// the second. Deliveries of disabled webhooks wait, except test deliveries; an ordered
/// webhook offers only its next delivery.
pub fn claim_due(
    conn: &mut DbConn,
    now: i64,
    limit: usize,
    room: &Room<'_>,
    lease_until: i64,
) -> QueryResult<Claim> {
    let (per_webhook, per_workspace) = room.caps(false);
    let mut full_webhooks = full(room.webhooks, per_webhook);
    full_webhooks.extend(room.rate_held.iter().cloned());
    let full_workspaces = full(room.workspaces, per_workspace);
    let excluded = !full_webhooks.is_empty() || !full_workspaces.is_empty();
    // Room to skip over a busy webhook's backlog within one claim.
    let reach = (limit * 4).min(4096) as i64;
    if let DbConn::Pg(c) = conn {
        let found = pg_candidates(
            c,
            now,
            reach.max(FRESH),
            // One more than a webhook may take: one left over shows that something waits.
            per_webhook as i64 + 1,
            &full_webhooks,
            &full_workspaces,
        )?;
        let unread = excluded || found.len() as i64 >= reach.max(FRESH);
        return lease_candidates(conn, found, unread, now, limit, room, lease_until);
    }
    let due = || {
        let mut q = deliveries::table
            .inner_join(webhooks::table)
            .filter(deliveries::status.eq(PENDING))
            .filter(deliveries::next_attempt_at.le(now))
            .filter(
                deliveries::lease_until
                    .is_null()
                    .or(deliveries::lease_until.lt(now)),
            )
            .filter(webhooks::enabled.eq(true).or(deliveries::is_test.eq(true)))
            .filter(webhooks::ordered.eq(false))
            .select((
                deliveries::id,
                deliveries::webhook_id,
                deliveries::workspace_id,
                webhooks::rate_limit,
            ))
            .into_boxed();
        if !full_webhooks.is_empty() {
            q = q.filter(deliveries::webhook_id.ne_all(&full_webhooks));
        }
        if !full_workspaces.is_empty() {
            q = q.filter(deliveries::workspace_id.ne_all(&full_workspaces));
        }
        q
    };
    // Two reads: the oldest due (what waited longest) and, behind a backlog, the newest pending (a fresh event
    // to a quiet webhook, which a backlog elsewhere would otherwise keep out of the first).
    let DbConn::Sqlite(c) = conn else {
        unreachable!("PostgreSQL claims above")
    };
    let mut candidates: Vec<Due> = due()
        .order(deliveries::next_attempt_at.asc())
        .limit(reach)
        .load(c)?;
    let unread = excluded || candidates.len() as i64 == reach;
    // Only a backlog longer than what was read can hide a fresh delivery from it.
    if candidates.len() as i64 == reach {
        let mut seen: std::collections::HashSet<String> =
            candidates.iter().map(|d| d.0.clone()).collect();
        let fresh = sqlite_newest(c, now, &full_webhooks, &full_workspaces)?;
        candidates.extend(fresh.into_iter().filter(|d| seen.insert(d.0.clone())));
    }
    candidates.extend(
        pace::ordered_heads(c, now)?
            .into_iter()
            .filter(|d| !full_webhooks.contains(&d.1)),
    );
    lease_candidates(conn, candidates, unread, now, limit, room, lease_until)
}

/// The newest `FRESH` due deliveries on SQLite (the same conditions as the oldest due), read
/// from the top of the partial index of pending ids. `INDEXED BY`, because left to itself the
/// planner reads every due row through `deliveries_due` and sorts them: a claim behind a
/// backlog of 12,000 spent 10 ms on this read alone, and claims slowed as the backlog grew.
fn sqlite_newest(
    c: &mut diesel::SqliteConnection,
    now: i64,
    full_webhooks: &[String],
    full_workspaces: &[String],
) -> QueryResult<Vec<Due>> {
    let json = |ids: &[String]| serde_json::to_string(ids).unwrap_or_else(|_| "[]".into());
    let rows: Vec<pace::DueRow> = diesel::sql_query(NEWEST)
        .bind::<BigInt, _>(now)
        .bind::<Text, _>(json(full_webhooks))
        .bind::<Text, _>(json(full_workspaces))
        .bind::<BigInt, _>(FRESH)
        .load(c)?;
    Ok(rows.into_iter().map(pace::DueRow::into_due).collect())
}

/// `sqlite_newest`'s statement: the time, the full webhooks and workspaces (JSON arrays), how many.
const NEWEST: &str = "SELECT d.id, d.webhook_id, d.workspace_id, w.rate_limit \
    FROM deliveries d INDEXED BY deliveries_pending_id JOIN webhooks w ON w.id = d.webhook_id \
    WHERE d.status = 'pending' AND d.next_attempt_at <= ?1 \
      AND (d.lease_until IS NULL OR d.lease_until < ?1) AND (w.enabled OR d.is_test) \
      AND NOT w.ordered \
      AND d.webhook_id NOT IN (SELECT value FROM json_each(?2)) \
      AND d.workspace_id NOT IN (SELECT value FROM json_each(?3)) \
    ORDER BY d.id DESC LIMIT ?4";

/// Takes up to `limit` of `candidates` fairly, leases them, counts them in their webhooks'
/// rate windows, and loads what sending them needs.
fn lease_candidates(
    conn: &mut DbConn,
    candidates: Vec<Due>,
    unread: bool,
    now: i64,
    limit: usize,
    room: &Room<'_>,
    lease_until: i64,
) -> QueryResult<Claim> {
    // The windows of the rate-limited webhooks among the candidates, read (and on PostgreSQL
    // locked) in this transaction.
    let mut limited: Vec<&str> = candidates
        .iter()
        .filter(|d| d.3.is_some())
        .map(|d| d.1.as_str())
        .collect();
    limited.sort_unstable();
    limited.dedup();
    let windows = if limited.is_empty() {
        Vec::new()
    } else {
        pace::windows(conn, &limited)?
    };
    let rate: HashMap<String, usize> = windows
        .iter()
        .map(|(id, per_second, w)| (id.clone(), w.room(*per_second, now)))
        .collect();
    let Picked { mut ids, rate_held } = fair_pick(&candidates, limit, room, &rate);
    let rate_held = rate_held.into_iter().map(str::to_owned).collect();
    let left_behind = unread || ids.len() < candidates.len();
    // Instances sharing PostgreSQL: keep only the rows this transaction could lock and that
    // are still claimable (another instance may have leased some since they were read).
    let locked;
    if let DbConn::Pg(c) = conn {
        locked = lock_claimable(c, &ids, now)?;
        ids = locked.iter().map(String::as_str).collect();
    }
    if ids.is_empty() {
        return Ok(Claim {
            jobs: Vec::new(),
            rate_held,
            left_behind,
        });
    }
    if !windows.is_empty() {
        let leased: std::collections::HashSet<&str> = ids.iter().copied().collect();
        let mut taken: HashMap<&str, usize> = HashMap::new();
        for d in candidates.iter().filter(|d| leased.contains(d.0.as_str())) {
            *taken.entry(d.1.as_str()).or_default() += 1;
        }
        for (webhook, _, window) in &windows {
            let Some(&taken) = taken.get(webhook.as_str()) else {
                continue;
            };
            pace::save_window(conn, webhook, window.after(taken, now))?;
        }
    }
    // A lease on a pending row is what "sending" is: the status itself is written once, when
    // the outcome is known, which halves the index updates of every delivery.
    let lease = diesel::update(deliveries::table.filter(deliveries::id.eq_any(&ids)))
        .set(deliveries::lease_until.eq(Some(lease_until)));
    let jobs = crate::db::on_backend!(conn, c => {
        lease.execute(c)?;
        with_event_and_workspace!()
            .filter(deliveries::id.eq_any(&ids))
            .select(Claimed::as_select())
            .load(c)
    })?;
    Ok(Claim {
        jobs,
        rate_held,
        left_behind,
    })
}

/// One delivery of a workspace with what sending it needs, without claiming it (for attempts
/// made by hand).
pub fn load_claimed(
    conn: &mut DbConn,
    ws: &crate::domain::workspace::WorkspaceId,
    id: &str,
) -> QueryResult<Claimed> {
    with_event_and_workspace!()
        .filter(deliveries::id.eq(id))
        .filter(deliveries::workspace_id.eq(ws.as_str()))
        .select(Claimed::as_select())
        .first(conn)
}

/// Leases one delivery for an attempt made by hand (the actor leaves leased rows alone);
/// false when an attempt of it is under way already.
pub fn lease_one(conn: &mut DbConn, id: &str, lease_until: i64, now: i64) -> QueryResult<bool> {
    let n = diesel::update(
        deliveries::table
            .find(id)
            .filter(deliveries::status.ne(SENDING))
            .filter(
                deliveries::lease_until
                    .is_null()
                    .or(deliveries::lease_until.lt(now)),
            ),
    )
    .set(deliveries::lease_until.eq(Some(lease_until)))
    .execute(conn)?;
    Ok(n == 1)
}

/// Puts every leased delivery back in the queue, at start-up (nothing can be in flight yet).
pub fn release_leases(conn: &mut DbConn, now: i64) -> QueryResult<usize> {
    let legacy = diesel::update(deliveries::table.filter(deliveries::status.eq(SENDING)))
        .set((
            deliveries::status.eq(PENDING),
            deliveries::lease_until.eq(None::<i64>),
            deliveries::next_attempt_at.eq(Some(now)),
        ))
        .execute(conn)?;
    let leased = diesel::update(
        deliveries::table
            .filter(deliveries::status.eq(PENDING))
            .filter(deliveries::lease_until.is_not_null()),
    )
    .set(deliveries::lease_until.eq(None::<i64>))
    .execute(conn)?;
    Ok(legacy + leased)
}

/// Releases specific leased deliveries unattempted (shutdown).
pub fn release(conn: &mut DbConn, ids: &[String]) -> QueryResult<usize> {
    diesel::update(
        deliveries::table
            .filter(deliveries::id.eq_any(ids))
            .filter(deliveries::status.eq(PENDING)),
    )
    .set(deliveries::lease_until.eq(None::<i64>))
    .execute(conn)
}

/// When the next pending delivery (of an enabled webhook, or a test) falls due after `after`.
pub fn next_due_after(conn: &mut DbConn, after: i64) -> QueryResult<Option<i64>> {
    let query = deliveries::table
        .inner_join(webhooks::table)
        .filter(deliveries::status.eq(PENDING))
        .filter(deliveries::next_attempt_at.gt(after))
        .filter(webhooks::enabled.eq(true).or(deliveries::is_test.eq(true)))
        .select(diesel::dsl::min(deliveries::next_attempt_at));
    crate::db::on_backend!(conn, c => query.first(c))
}

#[cfg(test)]
mod tests {
    use crate::db::stable_plans::Plan;
    use diesel::prelude::*;
    use diesel_migrations::MigrationHarness;

    #[test]
    fn the_newest_due_are_read_from_the_top_of_the_pending_ids_not_sorted() {
        crate::db::stable_plans::install();
        let mut conn = SqliteConnection::establish(":memory:").unwrap();
        conn.run_pending_migrations(crate::db::SQLITE_MIGRATIONS)
            .unwrap();
        let plan: Vec<Plan> = diesel::sql_query(format!("EXPLAIN QUERY PLAN {}", super::NEWEST))
            .bind::<diesel::sql_types::BigInt, _>(0)
            .bind::<diesel::sql_types::Text, _>("[]")
            .bind::<diesel::sql_types::Text, _>("[\"ws\"]")
            .bind::<diesel::sql_types::BigInt, _>(256)
            .load(&mut conn)
            .unwrap();
        let plan: Vec<String> = plan.into_iter().map(|p| p.detail).collect();
        assert!(
            plan.iter()
                .any(|p| p.contains("SCAN d USING INDEX deliveries_pending_id")),
            "{plan:?}"
        );
        assert!(!plan.iter().any(|p| p.contains("TEMP B-TREE")), "{plan:?}");
        // And it runs: rows of full workspaces are left out.
        super::sqlite_newest(&mut conn, 0, &[], &["ws".into()]).unwrap();
    }
}
