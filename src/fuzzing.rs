//! Entry points for the fuzz targets in `fuzz/` (cargo fuzz) and for the fuzz smoke test that
//! runs with the ordinary tests: every parser that takes outside input, fed arbitrary bytes.
//! None of them may panic; what they accept must satisfy the policy.

use crate::domain::{events, time, url_policy, webhook};
use crate::web::api::body::parse;
use crate::web::api::{deliveries::TestRequest, events::PublishEvent, webhooks};

/// The URL policy: a URL accepted under the strict policy names a public host, uses https,
/// carries no credentials and stays within the length limit.
pub fn url_policy(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(url) = url_policy::parse(text, false) {
        assert_eq!(url.scheme(), "https");
        assert!(url.username().is_empty() && url.password().is_none());
        assert!(url.as_str().len() <= url_policy::MAX_URL_LEN);
        match url.host() {
            Some(url::Host::Ipv4(ip)) => assert!(url_policy::is_public(ip.into()), "{url}"),
            Some(url::Host::Ipv6(ip)) => assert!(url_policy::is_public(ip.into()), "{url}"),
            Some(url::Host::Domain(d)) => {
                assert!(d.contains('.') && !d.trim_end_matches('.').ends_with("localhost"))
            }
            None => panic!("accepted a URL without a host: {url}"),
        }
    }
    let _ = url_policy::parse(text, true);
}

/// The JSON request bodies of the API, and the validation behind them.
pub fn json_requests(data: &[u8]) {
    if let Ok(req) = parse::<webhooks::CreateWebhook>(data) {
        let input = webhook::WebhookInput {
            url: req.url,
            description: req.description.unwrap_or_default(),
            events: req.events,
            filter: req.filter.map(|f| f.to_string()).unwrap_or_default(),
            headers: req.headers.map(|h| h.into_iter().collect()),
            rate_limit: req
                .rate_limit
                .map(|r| r.per_second.to_string())
                .unwrap_or_default(),
            ordered: req.ordered.unwrap_or(false),
        };
        if let Ok(valid) = webhook::validate(&input, false, &events::CATALOGUE) {
            assert!(!valid.events.is_empty() && valid.events.iter().all(|e| events::is_known(e)));
        }
    }
    let _ = parse::<webhooks::UpdateWebhook>(data);
    let _ = parse::<webhooks::RotateSecret>(data);
    let _ = parse::<TestRequest>(data);
    if let Ok(p) = parse::<PublishEvent>(data) {
        if events::is_known(&p.event_type) && p.data.is_object() {
            let body = events::payload("evt_fuzz", &p.event_type, 0, &p.data);
            assert!(serde_json::from_slice::<serde_json::Value>(&body).is_ok());
        }
        if let Some(id) = p.id {
            let _ = events::check_event_id(&id);
        }
    }
}

/// Query strings and form values: the Delivery Log filters, forms, times.
pub fn query_strings(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let params = crate::domain::params::Params::parse(text.as_bytes());
    for names in [
        crate::app::deliveries::PAGE_NAMES,
        crate::app::deliveries::API_NAMES,
    ] {
        let f = crate::app::deliveries::LogQuery::parse(&params, names, None);
        let _ = f.query();
        let _ = f.first_error();
    }
    let form = crate::domain::params::Params::parse(data);
    let _ = form.get_all("events");
    let _ = time::parse_utc(text);
    let _ = crate::config::parse_duration(text);
    let _ = crate::app::audit::parse_filter(&params, "before", true);
}
