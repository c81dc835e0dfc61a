//! Trying a payload filter before saving it: against the sample of each event type the webhook
//! subscribes to, and against data pasted in (the form's **Try it**).

use crate::domain::events::{self, EventType};
use crate::domain::filter::Filter;

/// One trial: what the filter was tried on, and whether it matched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tried {
    pub on: String,
    pub matched: bool,
}

/// What trying a filter found: an error in the filter or in the data, no filter at all, or the
/// trials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trial {
    NoFilter,
    Invalid {
        field: &'static str,
        message: String,
    },
    Tried(Vec<Tried>),
}

/// Tries the filter `filter_text` on `data_text` (when not empty) and on the sample of each of
/// `types` (every event type of `catalogue` when none of it is chosen).
pub fn try_filter(
    filter_text: &str,
    data_text: &str,
    types: &[String],
    catalogue: &[EventType],
) -> Trial {
    let filter = match Filter::parse_text(filter_text) {
        Err(message) => {
            return Trial::Invalid {
                field: "filter",
                message,
            };
        }
        Ok(None) => return Trial::NoFilter,
        Ok(Some(filter)) => filter,
    };
    let mut tried = Vec::new();
    let data_text = data_text.trim();
    if !data_text.is_empty() {
        match serde_json::from_str::<serde_json::Value>(data_text) {
            Ok(data) if data.is_object() => tried.push(Tried {
                on: "the data you gave".into(),
                matched: filter.matches(&data),
            }),
            Ok(_) => {
                return Trial::Invalid {
                    field: "filter_data",
                    message: "The data must be a JSON object, as an event's data is.".into(),
                };
            }
            Err(e) => {
                return Trial::Invalid {
                    field: "filter_data",
                    message: format!("The data is not JSON: {e}"),
                };
            }
        }
    }
    let names: Vec<&str> = if types.iter().any(|t| events::is_in(catalogue, t)) {
        types
            .iter()
            .map(String::as_str)
            .filter(|t| events::is_in(catalogue, t))
            .collect()
    } else {
        catalogue.iter().map(|e| e.name).collect()
    };
    for name in names {
        if let Some(sample) = events::sample_data(name) {
            tried.push(Tried {
                on: format!("the sample {name}"),
                matched: filter.matches(&sample),
            });
        }
    }
    Trial::Tried(tried)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_filter_is_tried_on_pasted_data_and_on_the_chosen_types_samples() {
        let types = vec!["message.received".to_owned(), "call.missed".to_owned()];
        let Trial::Tried(tried) = try_filter(
            r#"{"amount": {"$gt": 5}}"#,
            r#"{"amount": 9}"#,
            &types,
            &events::CATALOGUE,
        ) else {
            panic!("tried");
        };
        assert_eq!(tried.len(), 3);
        assert_eq!(
            tried[0],
            Tried {
                on: "the data you gave".into(),
                matched: true
            }
        );
        assert!(tried[1].on.contains("message.received") && !tried[1].matched);
        let Trial::Tried(all) =
            try_filter(r#"{"x": {"$exists": false}}"#, "", &[], &events::CATALOGUE)
        else {
            panic!("tried");
        };
        assert_eq!(all.len(), events::CATALOGUE.len());
        assert!(all.iter().all(|t| t.matched));
        assert_eq!(
            try_filter("  ", "", &types, &events::CATALOGUE),
            Trial::NoFilter
        );
        assert!(matches!(
            try_filter(r#"{"a": {"$in": 1}}"#, "", &types, &events::CATALOGUE),
            Trial::Invalid {
                field: "filter",
                ..
            }
        ));
        assert!(matches!(
            try_filter(r#"{"a": 1}"#, "[1]", &types, &events::CATALOGUE),
            Trial::Invalid {
                field: "filter_data",
                ..
            }
        ));
    }
}
