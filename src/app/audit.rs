//! The audit log: who did what, to what, when and from where. Every use case that changes
//! something or reveals a secret records here; administrators read it with one filter parser
//! for the page and the API.

use super::Actor;
use super::scope::Scope;
use crate::domain::{params::Params, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::audit::{self as store, AuditEntry, AuditFilter, NewEntry};

/// Every action the log records, for the filter.
pub const ACTIONS: [&str; 34] = [
    "sign_in",
    "sign_in_failed",
    "sign_out",
    "password_changed",
    "webhook_created",
    "webhook_updated",
    "webhook_deleted",
    "webhook_enabled",
    "webhook_disabled",
    "webhook_recovered",
    "secret_revealed",
    "secret_rotated",
    "headers_revealed",
    "test_sent",
    "delivery_resent",
    "retry_failed",
    "user_created",
    "user_role_changed",
    "user_disabled",
    "user_enabled",
    "user_password_reset",
    "api_key_created",
    "api_key_revoked",
    "inbox_created",
    "inbox_purged",
    "workspace_created",
    "workspace_updated",
    "workspace_deleted",
    "member_added",
    "member_role_changed",
    "member_removed",
    "portal_link_created",
    "portal_sessions_revoked",
    "portal_opened",
];

/// Records what someone did in a workspace; a failure to record is logged, and does not undo
/// what was done.
pub async fn record(
    state: &AppState,
    scope: &Scope,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) {
    let actor = scope.actor();
    write(
        state,
        Some(scope.ws().as_str()),
        &actor.name,
        action,
        target,
        detail,
        actor.client_ip.as_deref(),
    )
    .await
}

/// Records what someone did to the instance itself (workspaces, instance users and keys,
/// signing in and out): listed with the default workspace's log, to instance users.
pub async fn record_instance(
    state: &AppState,
    actor: &Actor,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
) {
    write(
        state,
        None,
        &actor.name,
        action,
        target,
        detail,
        actor.client_ip.as_deref(),
    )
    .await
}

/// Records an instance entry for someone who is not (yet) an actor, such as a failed sign-in.
pub async fn record_as(
    state: &AppState,
    name: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
    ip: Option<&str>,
) {
    write(state, None, name, action, target, detail, ip).await
}

async fn write(
    state: &AppState,
    workspace: Option<&str>,
    name: &str,
    action: &str,
    target: Option<&str>,
    detail: Option<&str>,
    ip: Option<&str>,
) {
    let (name, action) = (name.to_owned(), action.to_owned());
    let workspace = workspace.map(str::to_owned);
    let (target, detail, ip) = (
        target.map(str::to_owned),
        detail.map(str::to_owned),
        ip.map(str::to_owned),
    );
    let written = crate::db::run(&state.pool, move |conn| {
        store::record(
            conn,
            &NewEntry {
                at: time::now_ms(),
                actor: &name,
                action: &action,
                target: target.as_deref(),
                detail: detail.as_deref(),
                client_ip: ip.as_deref(),
                workspace_id: workspace.as_deref(),
            },
        )
        .map_err(AppError::from)
    })
    .await;
    if let Err(e) = written {
        tracing::error!(error = %e, "writing the audit log failed");
    }
}

/// The filters as typed: actor, action, from, to.
pub type Typed = [String; 4];

/// Parses the filters shared by the page and the API; the error names the field. The page
/// calls its cursor `before`, the API `cursor`; the page trims what people type, the API reads
/// values exactly as sent.
pub fn parse_filter(
    q: &Params,
    cursor: &'static str,
    trim: bool,
) -> Result<(AuditFilter, Typed), (&'static str, String)> {
    let read = |s: &str| if trim { s.trim() } else { s }.to_owned();
    let typed = [q.get("actor"), q.get("action"), q.get("from"), q.get("to")].map(read);
    let mut f = AuditFilter::default();
    if !typed[0].is_empty() {
        if typed[0].chars().count() > 254 || typed[0].chars().any(char::is_control) {
            return Err((
                "actor",
                "Enter an e-mail address or an API key name.".into(),
            ));
        }
        f.actor = Some(typed[0].clone());
    }
    if !typed[1].is_empty() {
        if !ACTIONS.contains(&typed[1].as_str()) {
            return Err(("action", "Choose an action from the list.".into()));
        }
        f.action = Some(typed[1].clone());
    }
    for (i, slot, field) in [(2, &mut f.from, "from"), (3, &mut f.to, "to")] {
        if !typed[i].is_empty() {
            *slot = Some(time::parse_utc(&typed[i]).ok_or((
                field,
                "Enter a date and time such as 2026-11-27T20:00 (UTC).".to_owned(),
            ))?);
        }
    }
    match q.get(cursor) {
        "" => {}
        b if !b.bytes().all(|c| c.is_ascii_digit()) => {
            return Err((cursor, "Not a page of this log.".to_owned()));
        }
        b => {
            f.before = Some(
                b.parse()
                    .map_err(|_| (cursor, "Not a page of this log.".to_owned()))?,
            )
        }
    }
    Ok((f, typed))
}

/// One page of a workspace's log, newest first, and the id to continue from (administrators
/// only). Instance users see the instance's own entries with the default workspace's.
pub async fn page(
    state: &AppState,
    scope: &Scope,
    filter: AuditFilter,
    limit: i64,
) -> Result<(Vec<AuditEntry>, Option<i32>), AppError> {
    scope.admin()?;
    let _turn = state.list_queries.turn().await?;
    let ws = scope.ws().clone();
    let with_instance = scope.workspace().is_default() && scope.actor().is_instance();
    let mut rows = crate::db::run(&state.pool, move |conn| {
        store::page(conn, &ws, with_instance, &filter, limit + 1).map_err(AppError::from)
    })
    .await?;
    let next = super::keyset_next(&mut rows, limit, |e| e.id);
    Ok((rows, next))
}
