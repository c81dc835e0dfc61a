//! The scope of a request: which workspace it works in and with what role, resolved once from
//! who is calling. Use cases that touch workspace data take a `Scope`, which only `resolve`
//! makes, so a handler that forgot to resolve one has nothing to call them with. Another
//! workspace is simply not found, whoever asks.

use super::{Actor, Reach};
use crate::domain::events::{self, EventType};
use crate::domain::workspace::{self, WorkspaceId};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users::Role;
use crate::store::{self, workspaces::Workspace};

/// A workspace and the actor's role in it.
#[derive(Debug, Clone)]
pub struct Scope {
    workspace: Workspace,
    id: WorkspaceId,
    actor: Actor,
    /// Where its pages are: `/w/<key>`, or a portal session's `/p/<token>`.
    base: String,
}

impl Scope {
    pub fn workspace(&self) -> &Workspace {
        &self.workspace
    }

    /// The id every store function of workspace data takes.
    pub fn ws(&self) -> &WorkspaceId {
        &self.id
    }

    /// Who is acting, with their role in this workspace.
    pub fn actor(&self) -> &Actor {
        &self.actor
    }

    pub fn admin(&self) -> Result<(), AppError> {
        self.actor.admin()
    }

    pub fn is_admin(&self) -> bool {
        self.actor.is_admin()
    }

    /// The base of this workspace's pages, e.g. `/w/default`.
    pub fn base(&self) -> String {
        self.base.clone()
    }

    /// The event types its webhooks subscribe to: the platform's, or for the operational
    /// webhooks the instance's own.
    pub fn catalogue(&self) -> &'static [EventType] {
        if self.id.is_operational() {
            &events::OPERATIONAL
        } else {
            &events::CATALOGUE
        }
    }

    /// Whether these are the instance's operational webhooks (Settings → Operational webhooks).
    pub fn is_operational(&self) -> bool {
        self.id.is_operational()
    }

    /// The same scope, its pages under `base` (a portal session's own path).
    pub fn with_base(self, base: String) -> Scope {
        Scope { base, ..self }
    }
}

/// The role `actor` has in `ws`, or None when it may not see it.
async fn role_in(
    state: &AppState,
    actor: &Actor,
    ws: &Workspace,
) -> Result<Option<Role>, AppError> {
    match &actor.reach {
        Reach::Instance => Ok(Some(actor.role)),
        Reach::Workspace(own) => Ok((*own == ws.id).then_some(actor.role)),
        Reach::Member { user_id } => {
            let (user_id, id) = (*user_id, ws.id.clone());
            crate::db::run(&state.pool, move |conn| {
                store::workspaces::member_role(conn, user_id, &id).map_err(AppError::from)
            })
            .await
        }
    }
}

/// The workspace `key` names (id or uid), as `actor` may reach it; anything else is 404.
pub async fn resolve(state: &AppState, actor: &Actor, key: &str) -> Result<Scope, AppError> {
    let valid = workspace::is_id_form(key) && crate::domain::ids::is_id("ws", key)
        || workspace::check_uid(key).is_ok();
    if !valid {
        return Err(AppError::NotFound);
    }
    let found = match state.workspace_cache.get(key) {
        Some(ws) => ws,
        None => {
            let lookup = key.to_owned();
            let found = crate::db::run(&state.pool, move |conn| {
                store::workspaces::find(conn, &lookup).map_err(AppError::from)
            })
            .await?
            .ok_or(AppError::NotFound)?;
            state.workspace_cache.put(key.to_owned(), found.clone());
            found
        }
    };
    let role = role_in(state, actor, &found)
        .await?
        .ok_or(AppError::NotFound)?;
    Ok(Scope {
        base: format!("/w/{}", found.key()),
        id: found.workspace_id(),
        workspace: found,
        actor: Actor {
            role,
            ..actor.clone()
        },
    })
}

/// The operational webhooks' scope (pages under `/operational`, the API's
/// `/operational-webhooks`): instance admins only. Nobody else learns it exists (404), but an
/// instance support user is told it is not theirs (403).
pub async fn operational(state: &AppState, actor: &Actor) -> Result<Scope, AppError> {
    if !matches!(actor.reach, Reach::Instance) {
        return Err(AppError::NotFound);
    }
    actor.admin()?;
    let id = WorkspaceId::operational();
    let found = crate::db::run(&state.pool, move |conn| {
        store::workspaces::get(conn, &id).map_err(AppError::from)
    })
    .await?;
    Ok(Scope {
        base: "/operational".to_owned(),
        id: found.workspace_id(),
        workspace: found,
        actor: actor.clone(),
    })
}

/// The workspace the first release's paths mean: a workspace key's own, the default one for
/// instance users and keys, and for a member the workspace `preferred` (the one their browser
/// was last in) or else the first they joined.
pub async fn own(
    state: &AppState,
    actor: &Actor,
    preferred: Option<&str>,
) -> Result<Scope, AppError> {
    match &actor.reach {
        Reach::Workspace(id) => resolve(state, actor, &id.clone()).await,
        Reach::Instance => {
            let key = preferred.unwrap_or(workspace::DEFAULT_ID).to_owned();
            match resolve(state, actor, &key).await {
                Err(AppError::NotFound) => resolve(state, actor, workspace::DEFAULT_ID).await,
                other => other,
            }
        }
        Reach::Member { user_id } => {
            if let Some(key) = preferred
                && let Ok(scope) = resolve(state, actor, key).await
            {
                return Ok(scope);
            }
            let user_id = *user_id;
            let first = crate::db::run(&state.pool, move |conn| {
                store::workspaces::of_member(conn, user_id).map_err(AppError::from)
            })
            .await?
            .into_iter()
            .next()
            .ok_or(AppError::NotFound)?;
            resolve(state, actor, &first.id).await
        }
    }
}
