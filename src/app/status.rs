//! How the server is doing: for `/healthz` (no key) and `/metrics` (an API key).

use crate::db::fault::Fault;
use crate::error::AppError;
use crate::state::AppState;

/// Why the database cannot take a write now, if it cannot: the fault in force (until the probe
/// writes again), a file system with no room left (SQLite), or a ping that fails. Cheap: no
/// write per check.
pub async fn database_fault(state: &AppState) -> Option<Fault> {
    if let Some(fault) = state.health.current() {
        return Some(fault);
    }
    if state.file_system_full() {
        state.health.fault(Fault::Full);
        return Some(Fault::Full);
    }
    let pinged = crate::db::run(&state.pool, |conn| {
        crate::db::ping(conn).map_err(AppError::from)
    })
    .await;
    let fault = pinged
        .err()
        .map(|e| e.fault().unwrap_or(Fault::Unavailable))?;
    state.health.fault(fault);
    Some(fault)
}

/// The counters in Prometheus text format, with the queue's depth read now (left out while
/// the database cannot be read).
pub async fn metrics(state: &AppState) -> Result<String, AppError> {
    let now = crate::domain::time::now_ms();
    let queue = crate::db::run(&state.pool, move |conn| {
        crate::store::deliveries::queue_depth(conn, now).map_err(AppError::from)
    })
    .await;
    let queue = match queue {
        Ok(q) => Some(q),
        Err(AppError::Database(fault)) => {
            state.health.fault(fault);
            None
        }
        Err(e) => return Err(e),
    };
    let up = state.health.current().is_none();
    let mut text = state.metrics.render(queue, up);
    text.push_str(&crate::metrics::render_held(state.intake.held()));
    if queue.is_some() {
        let storage = super::storage::numbers(state).await?;
        text.push_str(&state.metrics.render_storage(&storage));
    }
    Ok(text)
}
