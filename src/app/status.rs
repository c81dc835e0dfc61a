//! How the server is doing: for `/healthz` (no key) and `/metrics` (an API key).

use crate::error::AppError;
use crate::state::AppState;

/// True when the database answers.
pub async fn healthy(state: &AppState) -> bool {
    crate::db::run(&state.pool, |conn| {
        crate::db::ping(conn).map_err(AppError::from)
    })
    .await
    .is_ok()
}

/// The counters in Prometheus text format, with the queue's depth read now.
pub async fn metrics(state: &AppState) -> Result<String, AppError> {
    let now = crate::domain::time::now_ms();
    let queue = crate::db::run(&state.pool, move |conn| {
        crate::store::deliveries::queue_depth(conn, now).map_err(AppError::from)
    })
    .await?;
    let storage = super::storage::numbers(state).await?;
    let mut text = state.metrics.render(queue);
    text.push_str(&state.metrics.render_storage(&storage));
    Ok(text)
}
