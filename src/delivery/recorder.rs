//! The recorder: writes finished attempts' outcomes, many per transaction, and the audit
//! entry of each webhook a batch disabled.

use crate::delivery::send;
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::deliveries::{self as store, Outcome};
use crate::store::{operational, pg_batch};
use actix_web::web::Data;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::sync::mpsc;

/// Most outcomes written in one transaction.
const RECORD_BATCH: usize = 1024;
/// How long a batch that found company waits for more before it is written.
const RECORD_LINGER: Duration = Duration::from_millis(5);

pub(super) async fn recorder(state: Data<AppState>, mut rx: mpsc::UnboundedReceiver<Outcome>) {
    let config = &state.config;
    let disable_after_ms = config.disable_after.as_millis() as i64;
    let disable_text = send::human_long(config.disable_after);
    while let Some(first) = rx.recv().await {
        let mut batch = vec![first];
        while batch.len() < RECORD_BATCH {
            match rx.try_recv() {
                Ok(o) => batch.push(o),
                Err(_) => break,
            }
        }
        // A retry time this batch writes may be sooner than what the dispatcher sleeps for, and
        // an ordered webhook's next delivery may go once this one is recorded.
        let urgent = |o: &Outcome| o.ordered || matches!(o.after, store::After::RetryAt(_));
        // Under load, a little company for the batch: each written batch costs the same
        // whatever its size, and its deliveries stay leased (nothing is sent twice) until then.
        if batch.len() > 1 && !batch.iter().any(urgent) {
            let until = actix_web::rt::time::Instant::now() + RECORD_LINGER;
            while batch.len() < RECORD_BATCH {
                let left = until.saturating_duration_since(actix_web::rt::time::Instant::now());
                match actix_web::rt::time::timeout(left, rx.recv()).await {
                    Ok(Some(o)) => {
                        let done = urgent(&o);
                        batch.push(o);
                        if done {
                            break;
                        }
                    }
                    _ => break,
                }
            }
        }
        let wake = batch.iter().any(urgent);
        let mut batch = Arc::new(batch);
        loop {
            let outcomes = batch.clone();
            let text = disable_text.clone();
            let write_lock = state.write_lock.clone();
            let written = crate::db::run(&state.pool, move |conn| {
                // On PostgreSQL a batch of successes is one statement, with no transaction
                // around it: nothing can be disabled and no operational event follows.
                if let crate::db::DbConn::Pg(c) = &mut *conn
                    && pg_batch::all_healthy(&outcomes)
                {
                    pg_batch::record_successes(c, &outcomes, time::now_ms())?;
                    return Ok((Vec::new(), 0));
                }
                crate::db::immediate(conn, &write_lock, |conn| {
                    let now = time::now_ms();
                    let disabled = crate::store::outcomes::record(
                        conn,
                        &outcomes,
                        now,
                        disable_after_ms,
                        &text,
                    )?;
                    // Told in the same transaction as what causes them: none is lost.
                    let occurred = operational::occurrences(conn, &outcomes, &disabled)?;
                    let made = operational::emit(conn, &occurred, now)?;
                    Ok::<_, diesel::result::Error>((disabled, made))
                })
                .map_err(AppError::from)
            })
            .await;
            match written {
                Ok((disabled, made)) => {
                    if made > 0 {
                        tracing::info!(deliveries = made, "operational events made");
                    }
                    for (webhook_id, reason) in disabled {
                        state
                            .metrics
                            .webhooks_auto_disabled
                            .fetch_add(1, Ordering::Relaxed);
                        tracing::warn!(webhook_id = %webhook_id, reason = %reason, "webhook disabled");
                        record_disabled(&state, webhook_id, reason).await;
                    }
                    break;
                }
                Err(e) => {
                    // Nothing is lost while this retries: the outcomes stay here until written,
                    // and a delivery whose lease runs out meanwhile (or whose process dies) is
                    // attempted again: at least once. A fault is logged once, by the health
                    // state.
                    match e.fault() {
                        Some(fault) => state.health.fault(fault),
                        None => {
                            tracing::error!(error = %e, "recording delivery outcomes failed; retrying")
                        }
                    }
                    actix_web::rt::time::sleep(Duration::from_millis(200)).await;
                    // A delivery deleted with its webhook while it was being sent has nowhere to
                    // record its outcome; retrying it would hold up every outcome behind it.
                    if let Ok(kept) = without_deleted(&state, batch.clone()).await {
                        batch = kept;
                    }
                }
            }
        }
        if wake {
            state.wakeup.notify_one();
        }
    }
}

/// The batch without the outcomes of deliveries that no longer exist.
async fn without_deleted(
    state: &AppState,
    batch: Arc<Vec<Outcome>>,
) -> Result<Arc<Vec<Outcome>>, AppError> {
    let ids: Vec<String> = batch
        .iter()
        .map(|o| o.attempt.delivery_id.clone())
        .collect();
    let existing = crate::db::run(&state.pool, move |conn| {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        store::existing(conn, &ids).map_err(AppError::from)
    })
    .await?;
    if batch
        .iter()
        .all(|o| existing.contains(&o.attempt.delivery_id))
    {
        return Ok(batch);
    }
    let kept: Vec<Outcome> = batch
        .iter()
        .filter(|o| {
            let there = existing.contains(&o.attempt.delivery_id);
            if !there {
                tracing::info!(delivery_id = %o.attempt.delivery_id, webhook_id = %o.webhook_id,
                    "outcome not recorded: the delivery was deleted with its webhook while being sent");
            }
            there
        })
        .cloned()
        .collect();
    Ok(Arc::new(kept))
}

/// The audit entry for a webhook this actor disabled; a failure to write it is logged.
async fn record_disabled(state: &AppState, webhook_id: String, reason: String) {
    let written = crate::db::run(&state.pool, move |conn| {
        let workspace = crate::store::webhooks::workspace_of(conn, &webhook_id)?;
        crate::store::audit::record(
            conn,
            &crate::store::audit::NewEntry {
                at: time::now_ms(),
                actor: "delivery actor",
                action: "webhook_disabled",
                target: Some(&webhook_id),
                detail: Some(&reason),
                client_ip: None,
                workspace_id: workspace.as_deref(),
            },
        )
        .map_err(AppError::from)
    })
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}
