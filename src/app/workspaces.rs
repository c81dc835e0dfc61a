//! Workspaces: list (with their health), create, the platform's upsert by uid, rename, change
//! the uid, delete. Instance admins only: to anyone else there are no workspaces to manage.

use super::{Actor, audit};
use crate::domain::workspace::{self, WorkspaceId};
use crate::domain::{ids, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, workspaces::Counts, workspaces::Workspace};

/// A workspace with what the Workspaces page and the API show beside it.
#[derive(Debug, Clone)]
pub struct Listed {
    pub workspace: Workspace,
    pub counts: Counts,
}

impl Listed {
    /// Failed deliveries of the last 24 hours, in percent of those made.
    pub fn failure_rate(&self) -> f64 {
        if self.counts.deliveries == 0 {
            0.0
        } else {
            100.0 * self.counts.failed as f64 / self.counts.deliveries as f64
        }
    }
}

const DAY_MS: i64 = 24 * 3600 * 1000;

async fn with_counts(state: &AppState, rows: Vec<Workspace>) -> Result<Vec<Listed>, AppError> {
    let since = ids::id_floor("dlv", time::now_ms() - DAY_MS);
    let ids: Vec<String> = rows.iter().map(|w| w.id.clone()).collect();
    let mut counts = crate::db::run(&state.pool, move |conn| {
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        let mut all = std::collections::HashMap::new();
        for chunk in ids.chunks(500) {
            all.extend(store::workspaces::counts(conn, chunk, &since)?);
        }
        Ok::<_, AppError>(all)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|w| Listed {
            counts: counts.remove(&w.id).unwrap_or_default(),
            workspace: w,
        })
        .collect())
}

/// A page of workspaces in creation order, with their counts, and the next page's cursor.
pub async fn list(
    state: &AppState,
    actor: &Actor,
    q: Option<String>,
    after: Option<String>,
    limit: i64,
) -> Result<(Vec<Listed>, Option<String>), AppError> {
    actor.instance_admin().or_else(|_| instance_reader(actor))?;
    let mut rows = crate::db::run(&state.pool, move |conn| {
        store::workspaces::list(conn, q.as_deref(), after.as_deref(), limit + 1)
            .map_err(AppError::from)
    })
    .await?;
    let next = super::keyset_next(&mut rows, limit, |w| w.id.clone());
    Ok((with_counts(state, rows).await?, next))
}

/// Instance support users and keys may read the list too (support staff start from it).
fn instance_reader(actor: &Actor) -> Result<(), AppError> {
    if actor.is_instance() {
        Ok(())
    } else {
        Err(AppError::NotFound)
    }
}

/// The Workspaces page: those matching `q` (up to `limit`), the ones with failing webhooks
/// first (worst failure rate first), then the rest in the order they were made.
pub async fn overview(
    state: &AppState,
    actor: &Actor,
    q: Option<String>,
    limit: i64,
) -> Result<Vec<Listed>, AppError> {
    instance_reader(actor)?;
    let rows = crate::db::run(&state.pool, move |conn| {
        let mut rows = store::workspaces::with_failing_webhooks(conn, q.as_deref(), limit)?;
        let failing: std::collections::HashSet<String> =
            rows.iter().map(|w| w.id.clone()).collect();
        let rest = store::workspaces::list(conn, q.as_deref(), None, limit)?;
        rows.extend(rest.into_iter().filter(|w| !failing.contains(&w.id)));
        rows.truncate(limit as usize);
        Ok::<_, AppError>(rows)
    })
    .await?;
    let mut listed = with_counts(state, rows).await?;
    // Stable: the rest keep their order.
    listed.sort_by(|a, b| {
        (b.counts.failing_webhooks > 0)
            .cmp(&(a.counts.failing_webhooks > 0))
            .then(if a.counts.failing_webhooks > 0 {
                b.failure_rate().total_cmp(&a.failure_rate())
            } else {
                std::cmp::Ordering::Equal
            })
    });
    Ok(listed)
}

/// One workspace with its counts (instance users; anyone else: not found).
pub async fn get(state: &AppState, actor: &Actor, key: &str) -> Result<Listed, AppError> {
    instance_reader(actor)?;
    let scope = super::scope::resolve(state, actor, key).await?;
    Ok(with_counts(state, vec![scope.workspace().clone()])
        .await?
        .remove(0))
}

/// A workspace was made or deleted: the delivery actor counts them again.
fn changed(state: &AppState) {
    state
        .workspaces_changed
        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
}

fn valid_name(raw: &str) -> Result<String, AppError> {
    workspace::check_name(raw).map_err(|m| AppError::validation("name", m))
}

fn valid_uid(raw: &str) -> Result<String, AppError> {
    workspace::check_uid(raw).map_err(|m| AppError::validation("uid", m))
}

fn uid_conflict(uid: &str) -> AppError {
    AppError::Conflict(format!("Another workspace has the uid \"{uid}\"."))
}

/// Makes a workspace; a uid already in use is a conflict.
pub async fn create(
    state: &AppState,
    actor: &Actor,
    name: &str,
    uid: Option<&str>,
) -> Result<Workspace, AppError> {
    actor.instance_admin()?;
    let name = valid_name(name)?;
    let uid = uid.map(valid_uid).transpose()?;
    let made = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            if let Some(uid) = &uid
                && store::workspaces::uid_taken(conn, uid, None)?
            {
                return Err(uid_conflict(uid));
            }
            let id = ids::new_id("ws");
            store::workspaces::create(conn, &id, uid.as_deref(), &name, time::now_ms())
                .map_err(AppError::from)
        })
    })
    .await?;
    tracing::info!(workspace_id = %made.id, actor = %actor.name, "workspace created");
    changed(state);
    audit::record_instance(
        state,
        actor,
        "workspace_created",
        Some(&made.id),
        Some(&made.name),
    )
    .await;
    Ok(made)
}

/// The platform's upsert: the workspace with this uid gets `name`, made if it does not exist.
/// Returns it and whether it was made.
pub async fn put(
    state: &AppState,
    actor: &Actor,
    uid: &str,
    name: &str,
) -> Result<(Workspace, bool), AppError> {
    actor.instance_admin()?;
    // Named by its id, a workspace that exists is renamed; one cannot be made with an id.
    if workspace::is_id_form(uid) {
        let scope = super::scope::resolve(state, actor, uid).await?;
        let change = Change {
            name: Some(name.to_owned()),
            uid: None,
        };
        return Ok((
            update(state, actor, scope.ws().as_str(), change).await?,
            false,
        ));
    }
    let uid = valid_uid(uid)?;
    let name = valid_name(name)?;
    let (ws, created) = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let now = time::now_ms();
            match store::workspaces::find(conn, &uid)? {
                Some(found) => {
                    let id = found.workspace_id();
                    if found.name != name {
                        store::workspaces::rename(conn, &id, &name)?;
                    }
                    Ok::<_, AppError>((store::workspaces::get(conn, &id)?, false))
                }
                None => {
                    let id = ids::new_id("ws");
                    Ok((
                        store::workspaces::create(conn, &id, Some(&uid), &name, now)?,
                        true,
                    ))
                }
            }
        })
    })
    .await?;
    if created {
        changed(state);
    }
    let action = if created {
        "workspace_created"
    } else {
        "workspace_updated"
    };
    state.workspace_cache.clear();
    audit::record_instance(state, actor, action, Some(&ws.id), Some(&ws.name)).await;
    Ok((ws, created))
}

/// What changes: absent fields stay; `uid: Some(None)` removes the uid.
#[derive(Debug, Default)]
pub struct Change {
    pub name: Option<String>,
    pub uid: Option<Option<String>>,
}

pub async fn update(
    state: &AppState,
    actor: &Actor,
    key: &str,
    change: Change,
) -> Result<Workspace, AppError> {
    actor.instance_admin()?;
    let scope = super::scope::resolve(state, actor, key).await?;
    let name = change.name.as_deref().map(valid_name).transpose()?;
    let uid = match change.uid {
        None => None,
        Some(None) => Some(None),
        Some(Some(u)) => Some(Some(valid_uid(&u)?)),
    };
    if scope.workspace().is_default()
        && matches!(&uid, Some(u) if u.as_deref() != Some(workspace::DEFAULT_UID))
    {
        return Err(AppError::Conflict(
            "The default workspace keeps the uid \"default\".".into(),
        ));
    }
    let id = scope.ws().clone();
    let updated = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            if let Some(name) = &name {
                store::workspaces::rename(conn, &id, name)?;
            }
            if let Some(uid) = &uid {
                if let Some(u) = uid
                    && store::workspaces::uid_taken(conn, u, Some(&id))?
                {
                    return Err(uid_conflict(u));
                }
                store::workspaces::set_uid(conn, &id, uid.as_deref())?;
            }
            store::workspaces::get(conn, &id).map_err(AppError::from)
        })
    })
    .await?;
    state.workspace_cache.clear();
    audit::record_instance(
        state,
        actor,
        "workspace_updated",
        Some(&updated.id),
        Some(&updated.name),
    )
    .await;
    Ok(updated)
}

/// Deletes a workspace with everything in it; the default one cannot be deleted.
pub async fn delete(state: &AppState, actor: &Actor, key: &str) -> Result<Workspace, AppError> {
    actor.instance_admin()?;
    let scope = super::scope::resolve(state, actor, key).await?;
    if scope.workspace().is_default() {
        return Err(AppError::Conflict(
            "The default workspace cannot be deleted.".into(),
        ));
    }
    let id: WorkspaceId = scope.ws().clone();
    crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| store::workspaces::delete(conn, &id))
            .map_err(AppError::from)
    })
    .await?;
    state.api_key_cache.clear();
    state.workspace_cache.clear();
    let ws = scope.workspace().clone();
    tracing::info!(workspace_id = %ws.id, actor = %actor.name, "workspace deleted");
    changed(state);
    audit::record_instance(
        state,
        actor,
        "workspace_deleted",
        Some(&ws.id),
        Some(&ws.name),
    )
    .await;
    Ok(ws)
}

/// Deliveries whose id or event id is `id`, in every workspace (instance users; to anyone
/// else there is nothing to search). An id of no shape an id can have finds nothing.
pub async fn find_delivery(
    state: &AppState,
    actor: &Actor,
    id: &str,
) -> Result<Vec<store::delivery_log::Found>, AppError> {
    instance_reader(actor)?;
    let id = id.trim().to_owned();
    if crate::domain::events::check_event_id(&id).is_err() {
        return Ok(Vec::new());
    }
    crate::db::run(&state.pool, move |conn| {
        store::delivery_log::find_everywhere(conn, &id, 50).map_err(AppError::from)
    })
    .await
}
