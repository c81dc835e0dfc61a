//! Settings → Storage: what the database holds and what retention does about it.

use super::Actor;
use crate::db::space;
use crate::error::AppError;
use crate::metrics::{PruneReport, StorageNumbers};
use crate::state::AppState;
use crate::store::retention as store;
use std::time::Duration;

/// The numbers on the Storage page (and in /metrics).
pub struct Storage {
    pub numbers: StorageNumbers,
    pub retention: Duration,
    pub audit_retention: Duration,
    pub last_prune: Option<PruneReport>,
}

/// Reads the numbers now (no role check: /metrics is guarded by its API key).
pub async fn numbers(state: &AppState) -> Result<StorageNumbers, AppError> {
    let path = state.config.db_path();
    let counts = state
        .metrics
        .last_prune
        .lock()
        .unwrap_or_else(|p| p.into_inner())
        .as_ref()
        .map(|r| r.counts.clone());
    crate::db::run(&state.pool, move |conn| {
        let s = space::space(conn, &path)?;
        let (waiting, retrying) = store::waiting_and_retrying(conn)?;
        Ok::<_, AppError>(StorageNumbers {
            file_bytes: s.file_bytes,
            free_bytes: s.free_bytes,
            wal_bytes: s.wal_bytes,
            counts,
            waiting,
            retrying,
        })
    })
    .await
}

/// Everything the Storage page shows (administrators).
pub async fn storage(state: &AppState, actor: &Actor) -> Result<Storage, AppError> {
    actor.instance_admin()?;
    Ok(Storage {
        numbers: numbers(state).await?,
        retention: state.config.retention,
        audit_retention: state.config.audit_retention,
        last_prune: state
            .metrics
            .last_prune
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone(),
    })
}
