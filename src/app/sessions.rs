//! Browser sessions: sign-in (throttled, bounded hashing), the session behind a cookie,
//! sign-out, and the one-time setup of the first administrator.

use super::{Actor, audit};
use crate::domain::ids::{random_token, secure_eq, token_hash};
use crate::domain::passwords;
use crate::domain::time::now_ms;
use crate::error::AppError;
use crate::limits::throttle;
use crate::state::AppState;
use crate::store::{self, users::Role, users::User};

/// `last_seen_at` is written at most this often per session.
const TOUCH_EVERY_MS: i64 = 60 * 1000;

/// A new session: the token for the cookie (only its hash is stored).
pub struct Started {
    pub token: String,
}

/// Starts a session for `user`; sign-ins are rare, so expired sessions go now.
async fn start(state: &AppState, user: User) -> Result<Started, AppError> {
    let token = random_token::<32>();
    let hash = token_hash(&token);
    let (idle, max) = (
        state.config.session_idle.as_millis() as i64,
        state.config.session_max.as_millis() as i64,
    );
    let user_id = user.id;
    crate::db::run(&state.pool, move |conn| {
        let now = now_ms();
        store::sessions::delete_expired(conn, now, idle, max)?;
        store::sessions::create(conn, &hash, user_id, now).map_err(AppError::from)
    })
    .await?;
    Ok(Started { token })
}

/// Why a sign-in did not start a session; each is said on the sign-in page.
pub enum Refused {
    /// The same words whether or not the account exists.
    Wrong,
    /// Too many failures for the account or the address: wait this many seconds.
    Throttled(u64),
    /// Every password-hashing turn is taken: try again after this many seconds.
    Busy(String, u64),
}

/// Signs in with an e-mail address and a password, from `client_ip`. Attempts count from the
/// moment they start, so guesses sent together count like guesses sent in turn.
pub async fn sign_in(
    state: &AppState,
    email: &str,
    password: String,
    client_ip: Option<&str>,
) -> Result<Result<Started, Refused>, AppError> {
    let account_key = format!("account:{}", email.to_lowercase());
    let address_key = format!("address:{}", client_ip.unwrap_or("unknown"));
    let throttle = &state.sign_in_throttle;
    let keys = [
        (account_key.as_str(), throttle::FREE_PER_ACCOUNT),
        (address_key.as_str(), throttle::FREE_PER_ADDRESS),
    ];
    if let Err(wait) = throttle.begin(&keys).await? {
        return Ok(Err(Refused::Throttled(wait.as_secs().max(1))));
    }
    let lookup = email.to_owned();
    let user = crate::db::run(&state.pool, move |conn| {
        store::users::find_by_email(conn, &lookup).map_err(AppError::from)
    })
    .await?;
    // Argon2 is slow and large on purpose: it runs a bounded number at a time, without a
    // database connection held; a missing or disabled account costs the same work.
    let phc = user
        .as_ref()
        .filter(|u| !u.disabled)
        .map(|u| u.password_hash.clone());
    let checked = match state.passwords.verify(password, phc).await {
        Ok(ok) => ok,
        Err(AppError::Busy {
            message,
            retry_after_secs,
        }) => {
            throttle
                .refund(&[account_key.as_str(), address_key.as_str()])
                .await?;
            return Ok(Err(Refused::Busy(message, retry_after_secs)));
        }
        Err(e) => return Err(e),
    };
    match user.filter(|u| checked && !u.disabled) {
        Some(user) => {
            throttle
                .succeeded(&[account_key.as_str(), address_key.as_str()])
                .await?;
            audit::record_as(state, &user.email, "sign_in", None, None, client_ip).await;
            start(state, user).await.map(Ok)
        }
        None => {
            let typed: String = email.chars().take(254).collect();
            audit::record_as(state, &typed, "sign_in_failed", None, None, client_ip).await;
            Ok(Err(Refused::Wrong))
        }
    }
}

/// A live session: its user, the hash of its token, and the workspace it was last in.
pub struct SignedIn {
    pub user: User,
    pub hash: String,
    pub workspace: Option<String>,
}

/// The user behind a session token, if the session is alive (and marks it seen).
pub async fn current(state: &AppState, token: &str) -> Result<Option<SignedIn>, AppError> {
    let hash = token_hash(token);
    let idle = state.config.session_idle.as_millis() as i64;
    let max = state.config.session_max.as_millis() as i64;
    // Touching at most every minute, or twice per idle period when that is shorter.
    let touch_every = TOUCH_EVERY_MS.min(idle / 2);
    crate::db::run(&state.pool, move |conn| {
        let now = now_ms();
        let found = store::sessions::find_user(conn, &hash, now, idle, max)?;
        if let Some((_, last_seen, _)) = &found
            && now - last_seen > touch_every
        {
            // Reading pages goes on while the disk is full: a touch that cannot be written
            // waits for the next request.
            if let Err(e) = store::sessions::touch(conn, &hash, now)
                && crate::db::fault::of_error(&e) != Some(crate::db::fault::Fault::Full)
            {
                return Err(e.into());
            }
        }
        Ok(found.map(|(user, _, workspace)| SignedIn {
            user,
            hash,
            workspace,
        }))
    })
    .await
}

/// Remembers the workspace a browser is in (its session's), when it changed.
pub async fn remember_workspace(
    state: &AppState,
    hash: &str,
    workspace_id: &str,
) -> Result<(), AppError> {
    let (hash, id) = (hash.to_owned(), workspace_id.to_owned());
    crate::db::run(&state.pool, move |conn| {
        store::sessions::set_workspace(conn, &hash, &id).map_err(AppError::from)
    })
    .await
}

/// Ends the session whose token hashes to `hash`.
pub async fn sign_out(state: &AppState, actor: &Actor, hash: String) -> Result<(), AppError> {
    crate::db::run(&state.pool, move |conn| {
        store::sessions::delete(conn, &hash).map_err(AppError::from)
    })
    .await?;
    audit::record_instance(state, actor, "sign_out", None, None).await;
    Ok(())
}

/// True while `presented` is the one-time setup token (no administrator exists yet).
pub fn setup_token_ok(state: &AppState, presented: &str) -> bool {
    let guard = state.setup_token.lock().unwrap_or_else(|p| p.into_inner());
    guard.as_deref().is_some_and(|t| secure_eq(t, presented))
}

pub fn setup_link_invalid() -> AppError {
    AppError::Forbidden(
        "This setup link is not valid. Setup links work once, until the first administrator exists; \
         after that, sign in, or add users with `aethenox-webhooks users add`."
            .into(),
    )
}

/// What was wrong with the setup form, by field.
#[derive(Debug, Default)]
pub struct SetupErrors {
    pub email: Option<String>,
    pub password: Option<String>,
}

/// Creates the first administrator through the setup link and signs them in.
pub async fn setup(
    state: &AppState,
    token: &str,
    email: &str,
    password: String,
    confirm: &str,
    client_ip: Option<&str>,
) -> Result<Result<Started, SetupErrors>, AppError> {
    if !setup_token_ok(state, token) {
        return Err(setup_link_invalid());
    }
    let email = passwords::check_email(email);
    let mut password_error = passwords::check_new_password(&password).err();
    if password_error.is_none() && password != confirm {
        password_error = Some("The two passwords differ.".into());
    }
    let email = match (email, password_error) {
        (Ok(email), None) => email,
        (email, password) => {
            return Ok(Err(SetupErrors {
                email: email.err(),
                password,
            }));
        }
    };
    let hash = state.passwords.hash(password).await?;
    let user = crate::db::run(&state.pool, move |conn| {
        crate::db::write_transaction(conn, |conn| {
            if store::users::any_admin(conn)? {
                return Err(setup_link_invalid());
            }
            if store::users::find_by_email(conn, &email)?.is_some() {
                return Err(AppError::Conflict(
                    "A user with this e-mail address already exists.".into(),
                ));
            }
            Ok(store::users::create(
                conn,
                &email,
                Role::Admin,
                &hash,
                now_ms(),
            )?)
        })
    })
    .await?;
    *state.setup_token.lock().unwrap_or_else(|p| p.into_inner()) = None;
    tracing::info!(
        user_id = user.id,
        "first administrator created through the setup link"
    );
    audit::record_as(
        state,
        "setup link",
        "user_created",
        Some(&user.email),
        Some("admin"),
        client_ip,
    )
    .await;
    start(state, user).await.map(Ok)
}
