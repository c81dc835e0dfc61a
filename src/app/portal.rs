//! The customer portal: the platform asks for a link to one workspace's Automation pages
//! (`create_link`), the customer's browser opens it once (`open`) into a session confined to
//! that workspace (`session`, `scope`), until it expires or the platform ends it (`revoke`).

use super::scope::{self, Scope};
use super::{Actor, Reach, Via, audit};
use crate::domain::ids::{random_token, token_hash};
use crate::domain::portal as rules;
use crate::domain::time;
use crate::domain::workspace::WorkspaceId;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::{self, portal::NewLink, users::Role};

/// What the platform asks a link for (the API's body, as sent).
#[derive(Debug, Default)]
pub struct LinkRequest {
    pub role: Option<String>,
    pub expires_in: Option<i64>,
    pub user: Option<String>,
    pub accent: Option<String>,
}

/// A link made: its token (in the URL only; the database holds its hash) and when the session
/// it opens ends.
pub struct Link {
    pub token: String,
    pub expires_at: i64,
}

/// A link request as checked: what it will store.
pub struct Checked {
    pub role: &'static str,
    pub expires_in: i64,
    pub user: String,
    pub accent: Option<String>,
}

impl Checked {
    /// How the audit entry of a link made describes it.
    pub fn describe(&self, expires_at: i64) -> String {
        let for_whom = if self.user.is_empty() {
            "anyone"
        } else {
            &self.user
        };
        format!(
            "{} portal for {for_whom}, until {}",
            self.role,
            time::display(expires_at)
        )
    }
}

/// Checks what a link asks for; a bad field is a validation error naming it.
pub fn check(request: &LinkRequest) -> Result<Checked, AppError> {
    let field = |name: &'static str| move |m: String| AppError::validation(name, m);
    Ok(Checked {
        role: rules::check_role(request.role.as_deref()).map_err(field("role"))?,
        expires_in: rules::check_expires_in(request.expires_in).map_err(field("expires_in"))?,
        user: rules::check_user(request.user.as_deref()).map_err(field("user"))?,
        accent: request
            .accent
            .as_deref()
            .map(rules::check_accent)
            .transpose()
            .map_err(field("accent"))?,
    })
}

/// Stores a new link to `ws` made at `now` (rows ended over a day ago go at the same time).
pub fn store_link(
    conn: &mut crate::db::DbConn,
    ws: &WorkspaceId,
    link: &Checked,
    now: i64,
) -> Result<Link, AppError> {
    let token = random_token::<32>();
    let expires_at = now + link.expires_in * 1000;
    store::portal::delete_old(conn, now)?;
    store::portal::create(
        conn,
        &NewLink {
            link_hash: &token_hash(&token),
            workspace: ws,
            role: link.role,
            user_label: &link.user,
            accent: link.accent.as_deref(),
            created_at: now,
            open_until: (now + rules::OPEN_WITHIN_MS).min(expires_at),
            expires_at,
        },
    )?;
    Ok(Link { token, expires_at })
}

/// Makes a link to the portal of `scope`'s workspace (its admins, or instance admins).
pub async fn create_link(
    state: &AppState,
    scope: &Scope,
    request: LinkRequest,
) -> Result<Link, AppError> {
    scope.admin()?;
    let checked = check(&request)?;
    let now = state.clock.now_ms();
    let ws = scope.ws().clone();
    let (link, checked) = crate::db::run(&state.pool, move |conn| {
        store_link(conn, &ws, &checked, now).map(|link| (link, checked))
    })
    .await?;
    audit::record_instance(
        state,
        scope.actor(),
        "portal_link_created",
        Some(scope.workspace().key()),
        Some(&checked.describe(link.expires_at)),
    )
    .await;
    Ok(link)
}

/// Ends every portal session of `scope`'s workspace, and every link not opened yet.
pub async fn revoke(state: &AppState, scope: &Scope) -> Result<usize, AppError> {
    scope.admin()?;
    let ws = scope.ws().clone();
    let now = state.clock.now_ms();
    let ended = crate::db::run(&state.pool, move |conn| {
        store::portal::revoke_all(conn, &ws, now).map_err(AppError::from)
    })
    .await?;
    audit::record_instance(
        state,
        scope.actor(),
        "portal_sessions_revoked",
        Some(scope.workspace().key()),
        Some(&format!("{ended} sessions and links ended")),
    )
    .await;
    Ok(ended)
}

/// Why a link or a session no longer opens the portal; each is said in plain words.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ended {
    /// The link was opened already (links work once).
    Used,
    /// The link was not opened within 5 minutes.
    LinkExpired,
    /// The session reached its `expires_at`.
    Expired,
    /// The platform ended the workspace's portal sessions.
    Revoked,
    /// Nothing is known of this link or session (never made, or forgotten a day after).
    Unknown,
}

impl Ended {
    pub fn title(self) -> &'static str {
        match self {
            Ended::Used => "This link has been used already",
            Ended::LinkExpired => "This link has expired",
            Ended::Expired => "This session has ended",
            Ended::Revoked => "This session was ended",
            Ended::Unknown => "This link is not valid",
        }
    }

    pub fn explanation(self) -> &'static str {
        match self {
            Ended::Used => {
                "Each link opens the webhook settings once, so that a copied or leaked link \
                 cannot be used again."
            }
            Ended::LinkExpired => "A link must be opened within 5 minutes of being made.",
            Ended::Expired => "Sessions last a limited time, for your account's safety.",
            Ended::Revoked => "Access to these webhook settings was ended by the application.",
            Ended::Unknown => "It may have been mistyped, or it ended more than a day ago.",
        }
    }
}

/// A session opened: the token its pages carry in their path.
pub struct Opened {
    pub session_token: String,
}

fn ended_by(row: &store::portal::PortalRow, now: i64) -> Ended {
    if row.revoked_at.is_some() {
        Ended::Revoked
    } else if row.expires_at <= now {
        Ended::Expired
    } else if row.opened_at.is_some() {
        Ended::Used
    } else {
        Ended::LinkExpired
    }
}

/// Opens a link (once): starts its session, or says why it cannot.
pub async fn open(
    state: &AppState,
    link_token: &str,
    client_ip: Option<&str>,
) -> Result<Result<Opened, Ended>, AppError> {
    if !crate::domain::ids::is_token_32(link_token) {
        return Ok(Err(Ended::Unknown));
    }
    let link_hash = token_hash(link_token);
    let session_token = random_token::<32>();
    let session_hash = token_hash(&session_token);
    let now = state.clock.now_ms();
    let (opened, row) = crate::db::run(&state.pool, move |conn| {
        let opened = store::portal::open(conn, &link_hash, &session_hash, now)?;
        let row = store::portal::by_link(conn, &link_hash)?;
        Ok::<_, AppError>((opened, row))
    })
    .await?;
    let Some(row) = row else {
        return Ok(Err(Ended::Unknown));
    };
    if !opened {
        return Ok(Err(ended_by(&row, now)));
    }
    let session = PortalSession::from_row(row);
    if let Ok(scope) = session.scope(state, client_ip).await {
        audit::record(
            state,
            &scope,
            "portal_opened",
            None,
            Some(session.role.as_str()),
        )
        .await;
    }
    Ok(Ok(Opened { session_token }))
}

/// A live portal session.
#[derive(Debug, Clone)]
pub struct PortalSession {
    pub workspace_id: String,
    pub role: Role,
    /// Who the link was for ("" for nobody in particular).
    pub user: String,
    pub accent: Option<String>,
    pub expires_at: i64,
}

impl PortalSession {
    fn from_row(row: store::portal::PortalRow) -> Self {
        PortalSession {
            role: Role::parse(&row.role).unwrap_or(Role::Support),
            workspace_id: row.workspace_id,
            user: row.user_label,
            accent: row.accent,
            expires_at: row.expires_at,
        }
    }

    /// The customer, as use cases know them: `portal: <user>` in the audit log, reaching
    /// their workspace only.
    pub fn actor(&self, client_ip: Option<&str>) -> Actor {
        Actor {
            name: rules::actor_name(&self.user),
            role: self.role,
            via: Via::Portal,
            reach: Reach::Workspace(self.workspace_id.clone()),
            client_ip: client_ip.map(str::to_owned),
        }
    }

    /// The session's workspace, as its scope (a workspace deleted since: not found).
    pub async fn scope(
        &self,
        state: &AppState,
        client_ip: Option<&str>,
    ) -> Result<Scope, AppError> {
        scope::resolve(state, &self.actor(client_ip), &self.workspace_id).await
    }
}

/// The session behind a token, or why there is none.
pub async fn session(
    state: &AppState,
    session_token: &str,
) -> Result<Result<PortalSession, Ended>, AppError> {
    if !crate::domain::ids::is_token_32(session_token) {
        return Ok(Err(Ended::Unknown));
    }
    let hash = token_hash(session_token);
    let row = crate::db::run(&state.pool, move |conn| {
        store::portal::by_session(conn, &hash).map_err(AppError::from)
    })
    .await?;
    let now = state.clock.now_ms();
    Ok(match row {
        None => Err(Ended::Unknown),
        Some(row) if row.revoked_at.is_some() || row.expires_at <= now => Err(ended_by(&row, now)),
        Some(row) => Ok(PortalSession::from_row(row)),
    })
}
