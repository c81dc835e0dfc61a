//! A workspace's members (Settings → Users inside a workspace): its admins add people, change
//! their role there, and remove them. Members see that workspace only; instance users are
//! managed on the instance's own Settings → Users.

use super::scope::Scope;
use super::{audit, users::AddErrors};
use crate::domain::{passwords, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::users::{Role, User};
use crate::store::{self};

/// A member: the user, their role in the workspace, when they joined.
pub struct Member {
    pub user: User,
    pub role: Role,
    pub joined_at: i64,
}

pub async fn list(state: &AppState, scope: &Scope) -> Result<Vec<Member>, AppError> {
    scope.admin()?;
    let ws = scope.ws().clone();
    let rows = crate::db::run(&state.pool, move |conn| {
        store::workspaces::members(conn, &ws).map_err(AppError::from)
    })
    .await?;
    Ok(rows
        .into_iter()
        .map(|(user, role, joined_at)| Member {
            user,
            role: Role::parse(&role).unwrap_or(Role::Support),
            joined_at,
        })
        .collect())
}

/// What adding found: a new user made a member, or an existing member of other workspaces
/// joining this one (their password stays theirs).
enum Added {
    Made(User),
    Joined(User),
    /// An instance user, who sees every workspace already.
    Instance,
}

/// Adds a member: a new user (the password is needed), or a member of other workspaces by
/// their e-mail address (the password is ignored). Err(errors) says what to fix.
pub async fn add(
    state: &AppState,
    scope: &Scope,
    email: &str,
    role: Role,
    password: String,
) -> Result<Result<User, AddErrors>, AppError> {
    scope.admin()?;
    let email = match passwords::check_email(email) {
        Ok(e) => e,
        Err(m) => {
            return Ok(Err(AddErrors {
                email: Some(m),
                ..Default::default()
            }));
        }
    };
    let lookup = email.clone();
    let existing = crate::db::run(&state.pool, move |conn| {
        store::users::find_by_email(conn, &lookup).map_err(AppError::from)
    })
    .await?;
    // A password is hashed only for a new user (hashing is deliberately slow).
    let hash = match &existing {
        Some(_) => None,
        None => {
            if let Err(m) = passwords::check_new_password(&password) {
                return Ok(Err(AddErrors {
                    password: Some(m),
                    ..Default::default()
                }));
            }
            Some(state.passwords.hash(password).await?)
        }
    };
    let (ws, e) = (scope.ws().clone(), email.clone());
    let added = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let now = time::now_ms();
            let added = match (store::users::find_by_email(conn, &e)?, &hash) {
                (Some(u), _) if u.instance => return Ok(Added::Instance),
                (Some(u), _) => Added::Joined(u),
                (None, Some(hash)) => {
                    Added::Made(store::users::create_member(conn, &e, hash, now)?)
                }
                // Made by someone else since it was looked up: the admin tries again.
                (None, None) => return Err(diesel::result::Error::RollbackTransaction),
            };
            let user = match &added {
                Added::Made(u) | Added::Joined(u) => u,
                Added::Instance => unreachable!("returned above"),
            };
            store::workspaces::add_member(conn, user.id, &ws, role, now)?;
            Ok(added)
        })
        .map_err(AppError::from)
    })
    .await?;
    let user = match added {
        Added::Instance => {
            return Ok(Err(AddErrors {
                email: Some("This is an instance user, who sees every workspace already.".into()),
                exists: true,
                ..Default::default()
            }));
        }
        Added::Made(u) | Added::Joined(u) => u,
    };
    audit::record(
        state,
        scope,
        "member_added",
        Some(&email),
        Some(role.as_str()),
    )
    .await;
    Ok(Ok(user))
}

/// One change to one member.
#[derive(Debug, Clone, Copy)]
pub enum Change {
    Role(Role),
    Remove,
    /// Anything else a form may send (said once the member is found).
    Unknown,
}

/// Changes a member's role in the workspace, or removes them from it. Another workspace's
/// people are not found. The last admin of a workspace stays (409).
pub async fn change(
    state: &AppState,
    scope: &Scope,
    user_id: i32,
    change: Change,
) -> Result<(), AppError> {
    scope.admin()?;
    let ws = scope.ws().clone();
    let role = match change {
        Change::Role(r) => Some(r),
        _ => None,
    };
    let email = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let members = store::workspaces::members(conn, &ws)?;
            let Some((user, current, _)) = members.iter().find(|(u, _, _)| u.id == user_id) else {
                return Err(AppError::NotFound);
            };
            if let Change::Unknown = change {
                return Err(AppError::validation(
                    "action",
                    "Choose a role for the member, or remove them.",
                ));
            }
            let admins = members.iter().filter(|(_, r, _)| r == "admin").count();
            if current == "admin" && role != Some(Role::Admin) && admins <= 1 {
                return Err(AppError::Conflict(
                    "This is the workspace's last administrator: make another one first.".into(),
                ));
            }
            match role {
                Some(role) => {
                    store::workspaces::add_member(conn, user_id, &ws, role, time::now_ms())?
                }
                None => {
                    store::workspaces::remove_member(conn, user_id, &ws)?;
                }
            }
            Ok(user.email.clone())
        })
    })
    .await?;
    let (action, detail) = match role {
        Some(r) => ("member_role_changed", Some(r.as_str())),
        None => ("member_removed", None),
    };
    audit::record(state, scope, action, Some(&email), detail).await;
    Ok(())
}
