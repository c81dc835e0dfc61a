//! Users: administrators add them, change their role, disable, enable and reset passwords (the
//! last active administrator is protected); everyone changes their own password.

use super::{Actor, Via, audit};
use crate::domain::{passwords, time};
use crate::error::AppError;
use crate::limits::throttle;
use crate::state::AppState;
use crate::store::users::{Role, User};
use crate::store::{self};

pub async fn list(state: &AppState, actor: &Actor) -> Result<Vec<User>, AppError> {
    actor.instance_admin()?;
    crate::db::run(&state.pool, |conn| {
        store::users::list(conn).map_err(AppError::from)
    })
    .await
}

/// What was wrong with a new user, by field.
#[derive(Debug, Default)]
pub struct AddErrors {
    pub email: Option<String>,
    pub password: Option<String>,
    /// The e-mail address is taken.
    pub exists: bool,
}

/// Adds a user; Err(errors) says what to fix, next to the fields.
pub async fn add(
    state: &AppState,
    actor: &Actor,
    email: &str,
    role: Option<Role>,
    password: String,
) -> Result<Result<User, AddErrors>, AppError> {
    actor.instance_admin()?;
    let email = passwords::check_email(email);
    let password_error = passwords::check_new_password(&password).err();
    let (email, role) = match (email, role, password_error) {
        (Ok(email), Some(role), None) => (email, role),
        (email, _, password) => {
            return Ok(Err(AddErrors {
                email: email.err(),
                password,
                exists: false,
            }));
        }
    };
    let hash = state.passwords.hash(password).await?;
    let e = email.clone();
    let created = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            if store::users::find_by_email(conn, &e)?.is_some() {
                return Ok(None);
            }
            store::users::create(conn, &e, role, &hash, time::now_ms()).map(Some)
        })
        .map_err(AppError::from)
    })
    .await?;
    let Some(user) = created else {
        return Ok(Err(AddErrors {
            email: Some("A user with this e-mail address already exists.".into()),
            password: None,
            exists: true,
        }));
    };
    audit::record_instance(
        state,
        actor,
        "user_created",
        Some(&email),
        Some(role.as_str()),
    )
    .await;
    Ok(Ok(user))
}

/// One change to one user.
pub enum Change {
    Role(Option<Role>),
    Disable,
    Enable,
    Password(String),
    /// Anything else a form may send.
    Unknown,
}

impl Change {
    fn key(&self) -> &'static str {
        match self {
            Change::Unknown => "unknown",
            Change::Role(_) => "role",
            Change::Disable => "disable",
            Change::Enable => "enable",
            Change::Password(_) => "password",
        }
    }
}

/// Why a change was refused.
pub enum Refused {
    /// The input cannot be used (a weak password).
    Invalid(String),
    /// A rule forbids it now (the last active administrator).
    Conflict(String),
}

/// Applies `change` to user `id`, or says why not. Disabling and resetting a password end the
/// user's sessions.
pub async fn change(
    state: &AppState,
    actor: &Actor,
    id: i32,
    change: Change,
) -> Result<Result<(), Refused>, AppError> {
    actor.instance_admin()?;
    let key = change.key();
    let (role, hash) = match change {
        Change::Password(p) => {
            if let Err(m) = passwords::check_new_password(&p) {
                return Ok(Err(Refused::Invalid(format!("Password not reset: {m}"))));
            }
            (None, Some(state.passwords.hash(p).await?))
        }
        Change::Role(r) => (r, None),
        Change::Unknown => return Ok(Err(Refused::Conflict("Unknown change.".into()))),
        _ => (None, None),
    };
    let outcome = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            let user: User = store::users::get(conn, id)?;
            let last_admin =
                user.is_admin() && !user.disabled && store::users::active_admins(conn)? <= 1;
            let refused = |m: &str| Ok::<_, diesel::result::Error>(Err(m.to_owned()));
            match key {
                "role" => match role {
                    Some(Role::Support) if last_admin => {
                        return refused("The last active administrator cannot be demoted.");
                    }
                    Some(r) => store::users::set_role(conn, id, r)?,
                    None => return refused("Choose the role admin or support."),
                },
                "disable" if last_admin => {
                    return refused("The last active administrator cannot be disabled.");
                }
                "disable" => {
                    store::users::set_disabled(conn, id, true)?;
                    store::sessions::end_all_of(conn, id, None)?;
                }
                "enable" => store::users::set_disabled(conn, id, false)?,
                "password" => {
                    store::users::set_password_hash(conn, id, hash.as_deref().unwrap_or_default())?;
                    store::sessions::end_all_of(conn, id, None)?;
                }
                _ => return refused("Unknown change."),
            }
            Ok(Ok(user.email))
        })
        .map_err(AppError::from)
    })
    .await?;
    let email = match outcome {
        Ok(email) => email,
        Err(message) => return Ok(Err(Refused::Conflict(message))),
    };
    let (action, detail) = match key {
        "role" => ("user_role_changed", role.map(|r| r.as_str())),
        "disable" => ("user_disabled", None),
        "enable" => ("user_enabled", None),
        _ => ("user_password_reset", None),
    };
    audit::record_instance(state, actor, action, Some(&email), detail).await;
    Ok(Ok(()))
}

/// What was wrong with a change of one's own password, by field.
#[derive(Debug, Default)]
pub struct OwnPasswordErrors {
    pub current: Option<String>,
    pub new: Option<String>,
}

/// Changes the signed-in person's own password; their other sessions end (`keep_session` is
/// the hash of the one they are using). Guesses at the current password are throttled like
/// sign-ins to the same account.
pub async fn change_own_password(
    state: &AppState,
    actor: &Actor,
    current: String,
    new: String,
    confirm: &str,
    keep_session: Option<String>,
) -> Result<Result<(), OwnPasswordErrors>, AppError> {
    let Via::Browser { user_id } = actor.via else {
        return Err(AppError::Forbidden(
            "Only a signed-in person has a password.".into(),
        ));
    };
    let mut new_error = passwords::check_new_password(&new).err();
    if new_error.is_none() && new != confirm {
        new_error = Some("The two new passwords differ.".into());
    }
    let user = crate::db::run(&state.pool, move |conn| {
        store::users::get(conn, user_id).map_err(AppError::from)
    })
    .await?;
    let account_key = format!("account:{}", user.email.to_lowercase());
    let throttle = &state.sign_in_throttle;
    if let Err(wait) = throttle
        .begin(&[(account_key.as_str(), throttle::FREE_PER_ACCOUNT)])
        .await?
    {
        let secs = wait.as_secs().max(1);
        return Err(AppError::Busy {
            message: format!("Too many wrong current passwords. Try again in {secs} seconds."),
            retry_after_secs: secs,
        });
    }
    let current_ok = match state
        .passwords
        .verify(current, Some(user.password_hash.clone()))
        .await
    {
        Ok(ok) => ok,
        Err(e) => {
            throttle.refund(&[account_key.as_str()]).await?;
            return Err(e);
        }
    };
    if current_ok {
        throttle.succeeded(&[account_key.as_str()]).await?;
    }
    if !current_ok || new_error.is_some() {
        return Ok(Err(OwnPasswordErrors {
            current: (!current_ok).then(|| "That is not your current password.".to_owned()),
            new: new_error,
        }));
    }
    let hash = state.passwords.hash(new).await?;
    crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            store::users::set_password_hash(conn, user_id, &hash)?;
            store::sessions::end_all_of(conn, user_id, keep_session.as_deref())
        })
        .map_err(AppError::from)
    })
    .await?;
    audit::record_instance(state, actor, "password_changed", Some(&user.email), None).await;
    Ok(Ok(()))
}
