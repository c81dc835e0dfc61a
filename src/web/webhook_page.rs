//! A webhook's page: its tabs (Overview, Delivery Log, Settings), the webhook form and the
//! signing secret panel, as the handlers in `webhooks.rs` render them.

use super::deliveries::LogView;
use super::header_rows::{self, HeaderRow};
use super::overview::{self, Stats};
use super::page::{Layout, Nav, WsCtx};
use crate::app::{self, manual::WINDOWS};
use crate::domain::events::{self, EventType};
use crate::domain::params::Params;
use crate::domain::webhook::{FieldErrors, WebhookInput};
use crate::domain::{secrets, time};
use crate::error::AppError;
use crate::state::AppState;
use crate::store::webhooks::Webhook;
use askama::Template;

pub struct WebhookRow {
    pub id: String,
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    pub enabled: bool,
    pub created: String,
}

pub struct WebhookView {
    pub id: String,
    pub url: String,
    pub description: String,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub events: Vec<&'static EventType>,
    pub created: String,
    pub updated: String,
    /// Its payload filter, pretty-printed (None: every event of its types).
    pub filter: Option<String>,
    pub rate_limit: Option<i32>,
    pub ordered: bool,
    /// The names of its custom headers, for administrators (None for everyone else).
    pub header_names: Option<Vec<String>>,
}

/// What waits in the webhook's queue, as its Overview says it.
pub struct QueueView {
    pub pending: i64,
    pub waiting_rate_limit: bool,
    /// For an ordered webhook with deliveries waiting: the one they wait behind, and why it
    /// has not gone yet.
    pub head: Option<(String, String)>,
    /// How many wait behind the head.
    pub behind: i64,
}

impl QueueView {
    fn new(webhook: &Webhook, q: app::webhooks::QueueState) -> QueueView {
        let head = q.queue.head.filter(|_| webhook.ordered).map(|h| {
            let why = if h.in_flight {
                "being attempted now".to_owned()
            } else {
                match h.next_attempt_at {
                    Some(at) if at > time::now_ms() => format!(
                        "attempt {} failed; next attempt {}",
                        h.attempt_count,
                        time::display(at)
                    ),
                    _ => "due now".to_owned(),
                }
            };
            (h.id, why)
        });
        QueueView {
            pending: q.queue.pending,
            waiting_rate_limit: q.waiting_rate_limit,
            behind: if head.is_some() {
                (q.queue.pending - 1).max(0)
            } else {
                0
            },
            head,
        }
    }
}

/// A stored filter (compact JSON) as people read and edit it.
fn pretty(filter: Option<&str>) -> Option<String> {
    let value: serde_json::Value = serde_json::from_str(filter?).ok()?;
    serde_json::to_string_pretty(&value).ok()
}

impl From<Webhook> for WebhookView {
    fn from(w: Webhook) -> Self {
        WebhookView {
            events: w.events.iter().filter_map(|e| events::find(e)).collect(),
            created: time::display(w.created_at),
            updated: time::display(w.updated_at),
            filter: pretty(w.filter.as_deref()),
            rate_limit: w.rate_limit,
            ordered: w.ordered,
            header_names: None,
            id: w.id,
            url: w.url,
            description: w.description,
            enabled: w.enabled,
            disabled_reason: w.disabled_reason,
        }
    }
}

/// What the webhook form shows: what was typed, and what is wrong with it.
pub struct FormView {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// The payload filter as typed.
    pub filter: String,
    /// The rate limit as typed.
    pub rate_limit: String,
    pub ordered: bool,
    /// Custom headers' rows (the last one blank, to add one).
    pub headers: Vec<HeaderRow>,
    /// Saved header values exist that Reveal could show.
    pub can_reveal_headers: bool,
    pub errors: FieldErrors,
}

impl FormView {
    fn has_event(&self, name: &str) -> bool {
        self.events.iter().any(|e| e == name)
    }
    pub fn from_input(input: WebhookInput, errors: FieldErrors) -> Self {
        FormView {
            url: input.url,
            description: input.description,
            events: input.events,
            filter: input.filter,
            rate_limit: input.rate_limit,
            ordered: input.ordered,
            headers: header_rows::rows(input.headers.as_deref().unwrap_or_default(), &[]),
            can_reveal_headers: false,
            errors,
        }
    }

    /// The header rows as typed, beside what is saved (masked where a value was left empty).
    pub fn with_headers(mut self, typed: &[(String, String)], saved: &[(String, String)]) -> Self {
        self.headers = header_rows::rows(typed, saved);
        self.can_reveal_headers = !saved.is_empty();
        self
    }
}

pub fn input_from(form: &Params) -> WebhookInput {
    WebhookInput {
        url: form.get("url").to_owned(),
        description: form.get("description").to_owned(),
        events: form.get_all("events"),
        filter: form.get("filter").to_owned(),
        // Not on the form yet: what is stored stays.
        headers: None,
        rate_limit: form.get("rate_limit").to_owned(),
        ordered: form.get("ordered") == "on",
    }
}

pub struct SecretView {
    pub ws: String,
    pub webhook_id: String,
    pub csrf: String,
    pub masked: String,
    pub revealed: Option<String>,
    pub previous_expires: Option<String>,
}

/// The secret panel: masked, or revealed (the use case has recorded that it was shown).
pub async fn secret_view(
    state: &AppState,
    ctx: &WsCtx,
    id: &str,
    revealed: Option<String>,
) -> Result<SecretView, AppError> {
    let previous = app::webhook_secrets::previous_secret_expiry(state, &ctx.scope, id).await?;
    Ok(SecretView {
        ws: ctx.scope.base(),
        webhook_id: id.to_owned(),
        csrf: ctx.csrf.clone(),
        masked: secrets::masked(),
        revealed,
        previous_expires: previous.map(time::display),
    })
}

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    Overview,
    Deliveries,
    Settings,
}

#[derive(Template)]
#[template(path = "webhooks/list.html")]
pub struct ListPage {
    pub layout: Layout,
    pub webhooks: Vec<WebhookRow>,
    pub notice: Option<&'static str>,
    pub older: Option<String>,
    pub paged: bool,
}

#[derive(Template)]
#[template(path = "webhooks/new.html")]
pub struct NewPage {
    pub layout: Layout,
    pub form: FormView,
    pub catalogue: &'static [EventType],
    pub action: String,
    pub cancel: String,
}

#[derive(Template)]
#[template(path = "webhooks/show.html")]
pub struct ShowPage {
    pub layout: Layout,
    pub webhook: WebhookView,
    pub tab: Tab,
    pub notice: Option<&'static str>,
    pub secret: Option<SecretView>,
    pub form: Option<FormView>,
    pub catalogue: &'static [EventType],
    pub action: String,
    pub cancel: String,
    pub stats: Option<Stats>,
    pub queue: Option<QueueView>,
    pub log: Option<LogView>,
    pub test_default: String,
    pub windows: &'static [(&'static str, &'static str, i64)],
    pub recovered: Option<String>,
}

#[derive(Template)]
#[template(path = "partials/_secret.html")]
pub struct SecretPartial {
    pub secret: SecretView,
}

pub fn notice_text(code: &str) -> Option<&'static str> {
    Some(match code {
        "created" => "Webhook created. Deliveries start with the next matching event.",
        "saved" => "Changes saved.",
        "enabled" => "Webhook enabled.",
        "disabled" => "Webhook disabled. It gets no new deliveries until you enable it.",
        "deleted" => "Webhook deleted.",
        "rotated" => "Signing secret rotated. Update your receiver with the new secret.",
        _ => return None,
    })
}

/// The webhook's page on `tab`, with the secret panel for administrators (not on the log).
pub async fn show_page(
    state: &AppState,
    ctx: &WsCtx,
    webhook: Webhook,
    tab: Tab,
    notice: Option<&'static str>,
    form: Option<FormView>,
) -> Result<ShowPage, AppError> {
    let secret = if ctx.scope.is_admin() && tab != Tab::Deliveries {
        Some(secret_view(state, ctx, &webhook.id, None).await?)
    } else {
        None
    };
    let mut view: WebhookView = webhook.clone().into();
    let (stats, queue) = match tab {
        Tab::Overview => {
            // The header names, for administrators (None to everyone else).
            view.header_names = app::webhook_secrets::custom_headers(state, &ctx.scope, &webhook)?
                .map(|h| h.into_iter().map(|(name, _)| name).collect());
            (
                Some(overview::stats(state, &ctx.scope, &webhook.id).await?),
                Some(QueueView::new(
                    &webhook,
                    app::webhooks::queue(state, &ctx.scope, &webhook).await?,
                )),
            )
        }
        _ => (None, None),
    };
    Ok(ShowPage {
        stats,
        queue,
        log: None,
        test_default: webhook.events.first().cloned().unwrap_or_default(),
        windows: &WINDOWS,
        recovered: None,
        layout: ctx.layout(webhook.url.clone(), Nav::Webhooks),
        action: format!("{}/webhooks/{}/settings", ctx.scope.base(), webhook.id),
        cancel: format!("{}/webhooks/{}", ctx.scope.base(), webhook.id),
        webhook: view,
        tab,
        notice,
        secret,
        form,
        catalogue: ctx.scope.catalogue(),
    })
}

/// The settings form of a stored webhook, its header values masked (or shown, once revealed).
pub fn form_of(webhook: &Webhook, headers: &[(String, String)], revealed: bool) -> FormView {
    FormView {
        url: webhook.url.clone(),
        description: webhook.description.clone(),
        events: webhook.events.clone(),
        filter: pretty(webhook.filter.as_deref()).unwrap_or_default(),
        rate_limit: webhook
            .rate_limit
            .map(|n| n.to_string())
            .unwrap_or_default(),
        ordered: webhook.ordered,
        headers: header_rows::saved_rows(headers, revealed),
        can_reveal_headers: !headers.is_empty() && !revealed,
        errors: FieldErrors::default(),
    }
}
