//! API keys: list, create with a role (the key itself is returned once, never stored in clear),
//! revoke, and the check of a presented key that guards the JSON API.

use super::scope::Scope;
use super::{Actor, audit};
use crate::domain::ids::{self, token_hash};
use crate::domain::time::{self, now_ms};
use crate::domain::workspace::WorkspaceId;
use crate::error::AppError;
use crate::state::{AppState, VerifiedKey};
use crate::store::api_keys::{self as store, ApiKey};
use crate::store::users::Role;

/// `last_used_at` is written at most this often per key.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// Whose keys are being managed: the instance's own (by instance admins) or one workspace's
/// (by its admins). A workspace's keys reach that workspace only.
#[derive(Clone, Copy)]
pub enum Keyring<'a> {
    Instance(&'a Actor),
    Workspace(&'a Scope),
}

impl Keyring<'_> {
    fn check(&self) -> Result<(), AppError> {
        match self {
            Keyring::Instance(actor) => actor.instance_admin(),
            Keyring::Workspace(scope) => scope.admin(),
        }
    }

    fn owner(&self) -> Option<WorkspaceId> {
        match self {
            Keyring::Instance(_) => None,
            Keyring::Workspace(scope) => Some(scope.ws().clone()),
        }
    }

    async fn audit(&self, state: &AppState, action: &str, target: &str, detail: Option<&str>) {
        match self {
            Keyring::Instance(actor) => {
                audit::record_instance(state, actor, action, Some(target), detail).await
            }
            Keyring::Workspace(scope) => {
                audit::record(state, scope, action, Some(target), detail).await
            }
        }
    }
}

fn owner_of(ws: &Option<WorkspaceId>) -> store::Owner<'_> {
    match ws {
        None => store::Owner::Instance,
        Some(ws) => store::Owner::Workspace(ws),
    }
}

pub async fn list(state: &AppState, ring: Keyring<'_>) -> Result<Vec<ApiKey>, AppError> {
    ring.check()?;
    let ws = ring.owner();
    crate::db::run(&state.pool, move |conn| {
        store::list_active(conn, owner_of(&ws)).map_err(AppError::from)
    })
    .await
}

/// Why a key was not created: a name to fix (said next to the field), or anything else.
pub enum CreateError {
    Name(String),
    Failed(AppError),
}

impl From<AppError> for CreateError {
    fn from(e: AppError) -> Self {
        CreateError::Failed(e)
    }
}

/// Creates a key: returns it (to be shown once) with what is stored of it.
pub async fn create(
    state: &AppState,
    ring: Keyring<'_>,
    name: &str,
    role: Role,
) -> Result<(String, ApiKey), CreateError> {
    ring.check()?;
    let name = ids::check_key_name(name).map_err(CreateError::Name)?;
    let key = ids::new_api_key();
    let (stored, key_name, ws) = (key.clone(), name.clone(), ring.owner());
    let created = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let owner = owner_of(&ws);
            if store::count_active(conn, owner)? >= store::MAX_ACTIVE {
                return Ok(None);
            }
            store::create_for_key(conn, &key_name, &stored, role, owner, time::now_ms()).map(Some)
        })
        .map_err(AppError::from)
    })
    .await?;
    let Some(created) = created else {
        return Err(CreateError::Name(format!(
            "There are {} active keys already: revoke the ones no longer used first.",
            store::MAX_ACTIVE
        )));
    };
    let target = format!("{} ({}…)", name, created.prefix);
    ring.audit(state, "api_key_created", &target, Some(role.as_str()))
        .await;
    Ok((key, created))
}

/// A key of the ring that still works; another's is not found.
pub async fn get_active(state: &AppState, ring: Keyring<'_>, id: i32) -> Result<ApiKey, AppError> {
    ring.check()?;
    let ws = ring.owner();
    let key = crate::db::run(&state.pool, move |conn| {
        store::get_owned(conn, owner_of(&ws), id).map_err(AppError::from)
    })
    .await?;
    if key.revoked_at.is_some() {
        Err(AppError::NotFound)
    } else {
        Ok(key)
    }
}

/// Revokes a key: refused from now on by this instance at once (its cache is cleared).
pub async fn revoke(state: &AppState, ring: Keyring<'_>, id: i32) -> Result<ApiKey, AppError> {
    let key = get_active(state, ring, id).await?;
    crate::db::run(&state.pool, move |conn| {
        store::revoke(conn, id, time::now_ms()).map_err(AppError::from)
    })
    .await?;
    state.api_key_cache.clear();
    let target = format!("{} ({}…)", key.name, key.prefix);
    ring.audit(state, "api_key_revoked", &target, None).await;
    Ok(key)
}

/// Checks a presented key: looked up by its hash (the clear key is never stored or compared
/// byte by byte), cached for a few seconds; anything not shaped like a key is refused at once.
pub async fn verify(state: &AppState, presented: &str) -> Result<VerifiedKey, AppError> {
    if !ids::looks_like_api_key(presented) {
        return Err(AppError::Unauthorized);
    }
    let hash = token_hash(presented);
    if let Some(key) = state.api_key_cache.get(&hash) {
        return Ok(key);
    }
    let lookup = hash.clone();
    let found = crate::db::run(&state.pool, move |conn| {
        let found = store::find_active_by_hash(conn, &lookup)?;
        if let Some(k) = &found {
            let now = now_ms();
            if k.last_used_at.is_none_or(|t| now - t > TOUCH_EVERY_MS) {
                store::touch(conn, k.id, now)?;
            }
        }
        Ok::<_, AppError>(found)
    })
    .await?;
    let key = found.ok_or(AppError::Unauthorized)?;
    let verified = VerifiedKey {
        workspace_id: key.workspace_id,
        key_id: key.id,
        role: Role::parse(&key.role).unwrap_or(Role::Support),
        name: key.name,
    };
    state.api_key_cache.put(hash, verified.clone());
    Ok(verified)
}
