//! Validation of what an administrator or an API client submits for a webhook.

use super::events::{self, EventType};
use super::url_policy;

pub const MAX_DESCRIPTION_CHARS: usize = 500;

/// What was typed, kept as typed so a form can show it again.
#[derive(Debug, Clone, Default)]
pub struct WebhookInput {
    pub url: String,
    pub description: String,
    pub events: Vec<String>,
    /// The payload filter as JSON text ("" for none).
    pub filter: String,
    /// Custom request headers (None: none when made, unchanged when changed).
    pub headers: Option<Vec<(String, String)>>,
    /// The rate limit in attempts per second as typed ("" for none).
    pub rate_limit: String,
    /// Whether its deliveries go one at a time, in the order events were accepted.
    pub ordered: bool,
}

/// A webhook that passed every rule that needs no network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidWebhook {
    pub url: url::Url,
    pub description: String,
    pub events: Vec<String>,
    /// The payload filter, checked, as compact JSON; None: every event of its types.
    pub filter: Option<String>,
    /// Custom request headers, checked (None: as `WebhookInput::headers` says).
    pub headers: Option<Vec<(String, String)>>,
    /// Attempts that may start per second (None: no limit).
    pub rate_limit: Option<i32>,
    pub ordered: bool,
}

/// Messages keyed by the field they belong to, in the order they were found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FieldErrors(pub Vec<(&'static str, String)>);

impl FieldErrors {
    pub fn add(&mut self, field: &'static str, message: impl Into<String>) {
        self.0.push((field, message.into()));
    }
    pub fn get(&self, field: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(f, _)| *f == field)
            .map(|(_, m)| m.as_str())
    }
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    pub fn first(&self) -> Option<(&'static str, &str)> {
        self.0.first().map(|(f, m)| (*f, m.as_str()))
    }
}

pub fn validate_description(raw: &str) -> Result<String, String> {
    // Checked as sent, so that what the API document says holds exactly; then trimmed.
    if raw.chars().count() > MAX_DESCRIPTION_CHARS {
        return Err(format!(
            "Keep the description under {MAX_DESCRIPTION_CHARS} characters."
        ));
    }
    if raw.chars().any(char::is_control) {
        return Err("The description cannot contain control characters.".into());
    }
    Ok(raw.trim().to_string())
}

/// The events a webhook subscribes to, from its workspace's `catalogue`.
pub fn validate_events(raw: &[String], catalogue: &[EventType]) -> Result<Vec<String>, String> {
    if raw.is_empty() {
        return Err("Choose at least one event.".into());
    }
    if let Some(unknown) = raw.iter().find(|e| !events::is_in(catalogue, e)) {
        let shown: String = unknown.chars().take(64).collect();
        return Err(format!("Unknown event type: {shown}"));
    }
    let mut out = raw.to_vec();
    events::catalogue_order(&mut out);
    out.dedup();
    Ok(out)
}

/// A payload filter as typed or sent: empty (or `null`) for none; else JSON that parses as a
/// filter, kept as compact JSON.
pub fn validate_filter(raw: &str) -> Result<Option<String>, String> {
    let filter = super::filter::Filter::parse_text(raw)?;
    Ok(filter.map(|f| f.source().to_string()))
}

/// Checks the URL's form and policy, the description and the events. The URL's host is
/// resolved separately (see `url_policy::resolve`), because that needs the network.
pub fn validate(
    input: &WebhookInput,
    allow_private: bool,
    catalogue: &[EventType],
) -> Result<ValidWebhook, FieldErrors> {
    let mut errors = FieldErrors::default();
    let url = url_policy::parse(&input.url, allow_private)
        .map_err(|e| errors.add("url", e.to_string()))
        .ok();
    let description = validate_description(&input.description)
        .map_err(|e| errors.add("description", e))
        .ok();
    let events = validate_events(&input.events, catalogue)
        .map_err(|e| errors.add("events", e))
        .ok();
    let filter = validate_filter(&input.filter)
        .map_err(|e| errors.add("filter", e))
        .ok();
    let headers_ok = match &input.headers {
        Some(h) => super::headers::check_all(h)
            .map_err(|e| errors.add("headers", e))
            .is_ok(),
        None => true,
    };
    let rate_limit = super::pacing::validate_rate_limit(&input.rate_limit)
        .map_err(|e| errors.add("rate_limit", e))
        .ok();
    match (url, description, events, filter, headers_ok, rate_limit) {
        (Some(url), Some(description), Some(events), Some(filter), true, Some(rate_limit)) => {
            Ok(ValidWebhook {
                url,
                description,
                events,
                filter,
                headers: input.headers.clone(),
                rate_limit,
                ordered: input.ordered,
            })
        }
        _ => Err(errors),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn input(url: &str, description: &str, events: &[&str]) -> WebhookInput {
        WebhookInput {
            url: url.into(),
            description: description.into(),
            events: events.iter().map(|s| s.to_string()).collect(),
            filter: String::new(),
            headers: None,
            rate_limit: String::new(),
            ordered: false,
        }
    }

    #[test]
    fn filters_are_checked_and_kept_as_compact_json() {
        assert_eq!(validate_filter(""), Ok(None));
        assert_eq!(validate_filter(" null "), Ok(None));
        assert_eq!(
            validate_filter("{ \"amount\": {\"$gt\": 5} }"),
            Ok(Some(r#"{"amount":{"$gt":5}}"#.into()))
        );
        assert!(validate_filter("{").unwrap_err().contains("not JSON"));
        let e = validate_filter(r#"{"a": {"$gt": true}}"#).unwrap_err();
        assert!(e.contains("a.$gt") && e.contains("$gt"), "{e}");
        let mut i = input("https://93.184.215.14/x", "", &["message.sent"]);
        i.rate_limit = "0".into();
        assert!(
            validate(&i, false, &events::CATALOGUE)
                .unwrap_err()
                .get("rate_limit")
                .is_some()
        );
        i.rate_limit = "50".into();
        i.ordered = true;
        let v = validate(&i, false, &events::CATALOGUE).unwrap();
        assert_eq!((v.rate_limit, v.ordered), (Some(50), true));
        i.filter = "[1]".into();
        assert!(
            validate(&i, false, &events::CATALOGUE)
                .unwrap_err()
                .get("filter")
                .is_some()
        );
        i.filter = String::new();
        i.headers = Some(vec![("Host".into(), "evil".into())]);
        assert!(
            validate(&i, false, &events::CATALOGUE)
                .unwrap_err()
                .get("headers")
                .unwrap()
                .contains("Host")
        );
    }

    #[test]
    fn valid_input_is_normalised() {
        let v = validate(
            &input(
                " https://Example.COM/hook ",
                "  CRM sync ",
                &["contact.updated", "message.sent", "message.sent"],
            ),
            false,
            &events::CATALOGUE,
        )
        .unwrap();
        assert_eq!(v.url.as_str(), "https://example.com/hook");
        assert_eq!(v.description, "CRM sync");
        assert_eq!(v.events, ["message.sent", "contact.updated"]);
    }

    #[test]
    fn every_bad_field_is_reported_at_once() {
        let e = validate(
            &input("http://10.0.0.1/", &"x".repeat(501), &[]),
            false,
            &events::CATALOGUE,
        )
        .unwrap_err();
        assert_eq!(e.get("url"), Some("The URL must start with https://."));
        assert!(e.get("description").unwrap().contains("500"));
        assert_eq!(e.get("events"), Some("Choose at least one event."));
    }

    #[test]
    fn unknown_events_and_control_characters_are_refused() {
        let e = validate(
            &input(
                "https://example.com/",
                "a\0b",
                &["message.sent", "user.deleted"],
            ),
            false,
            &events::CATALOGUE,
        )
        .unwrap_err();
        assert_eq!(e.get("events"), Some("Unknown event type: user.deleted"));
        // Each workspace subscribes from its own catalogue: operational types are not a
        // workspace's, and a workspace's are not the operational webhooks'.
        let ops = |names: &[&str]| {
            validate(
                &input("https://example.com/", "", names),
                false,
                &events::OPERATIONAL,
            )
        };
        assert!(ops(&["delivery.exhausted", "webhook.disabled"]).is_ok());
        assert!(ops(&["message.sent"]).unwrap_err().get("events").is_some());
        let ws = validate(
            &input("https://example.com/", "", &["webhook.disabled"]),
            false,
            &events::CATALOGUE,
        );
        assert!(ws.unwrap_err().get("events").is_some());
        assert!(e.get("description").unwrap().contains("control"));
        assert_eq!(e.get("url"), None);
    }

    #[test]
    fn description_limit_counts_characters_not_bytes() {
        assert!(validate_description(&"é".repeat(500)).is_ok());
        assert!(validate_description(&"é".repeat(501)).is_err());
    }
}
