//! The webhook form's Custom headers: rows of name and value. A saved value is never put back
//! in the page (it shows masked as the field's placeholder); an empty value on a saved name
//! keeps what is saved; clearing a name (or Remove) drops the header. Reveal shows the values
//! to administrators, and is audited.

use crate::domain::headers;
use crate::domain::params::Params;

/// One row as the form shows it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HeaderRow {
    pub name: String,
    pub value: String,
    /// The saved value, masked, when the field is left empty.
    pub placeholder: String,
}

/// The rows as typed: (name, value), names trimmed, rows with neither left out.
pub fn typed(form: &Params) -> Vec<(String, String)> {
    let names = form.get_all("header_name");
    let values = form.get_all("header_value");
    names
        .iter()
        .enumerate()
        .map(|(i, n)| {
            (
                n.trim().to_owned(),
                values.get(i).cloned().unwrap_or_default(),
            )
        })
        .filter(|(n, v)| !n.is_empty() || !v.is_empty())
        .collect()
}

fn saved_value<'a>(saved: &'a [(String, String)], name: &str) -> Option<&'a str> {
    saved
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// The headers to save: each typed row, an empty value taking the saved one of that name.
/// A row with a value but no name, or a new name without a value, is an error naming it.
pub fn to_save(
    typed: &[(String, String)],
    saved: &[(String, String)],
) -> Result<Vec<(String, String)>, String> {
    typed
        .iter()
        .map(|(name, value)| {
            if name.is_empty() {
                return Err("A header value needs a name (or clear the value).".to_owned());
            }
            if value.is_empty() {
                return match saved_value(saved, name) {
                    Some(v) => Ok((name.clone(), v.to_owned())),
                    None => Err(format!("Enter a value for {name}, or remove the row.")),
                };
            }
            Ok((name.clone(), value.clone()))
        })
        .collect()
}

/// The rows a form shows: `typed` as typed (a saved value masked where it was left empty),
/// then one blank row to add another (while there is room).
pub fn rows(typed: &[(String, String)], saved: &[(String, String)]) -> Vec<HeaderRow> {
    let mut rows: Vec<HeaderRow> = typed
        .iter()
        .map(|(name, value)| HeaderRow {
            placeholder: match (value.is_empty(), saved_value(saved, name)) {
                (true, Some(v)) => headers::masked(v),
                _ => String::new(),
            },
            name: name.clone(),
            value: value.clone(),
        })
        .collect();
    if rows.len() < headers::MAX_HEADERS {
        rows.push(HeaderRow::default());
    }
    rows
}

/// The rows of saved headers: names shown, values masked (or shown, once revealed).
pub fn saved_rows(saved: &[(String, String)], revealed: bool) -> Vec<HeaderRow> {
    let typed: Vec<(String, String)> = saved
        .iter()
        .map(|(n, v)| (n.clone(), if revealed { v.clone() } else { String::new() }))
        .collect();
    rows(&typed, saved)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &[(&str, &str)]) -> Vec<(String, String)> {
        p.iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    #[test]
    fn rows_pair_names_with_values_and_skip_blank_ones() {
        let form = Params::parse(
            b"header_name=X-Api-Key&header_value=k1&header_name=&header_value=&header_name=+X-Tenant+&header_value=acme",
        );
        assert_eq!(
            typed(&form),
            pairs(&[("X-Api-Key", "k1"), ("X-Tenant", "acme")])
        );
    }

    #[test]
    fn an_empty_value_keeps_the_saved_one_and_never_shows_it() {
        let saved = pairs(&[("X-Api-Key", "k_live_0123456789")]);
        let typed = pairs(&[("x-api-key", ""), ("X-New", "v")]);
        assert_eq!(
            to_save(&typed, &saved).unwrap(),
            pairs(&[("x-api-key", "k_live_0123456789"), ("X-New", "v")])
        );
        let shown = rows(&typed, &saved);
        assert_eq!(shown[0].value, "");
        assert_eq!(shown[0].placeholder, "••••6789");
        assert_eq!(shown.len(), 3, "a blank row to add one");
        assert!(
            to_save(&pairs(&[("X-Other", "")]), &saved)
                .unwrap_err()
                .contains("X-Other")
        );
        assert!(to_save(&pairs(&[("", "v")]), &saved).is_err());
        let masked = saved_rows(&saved, false);
        assert_eq!((masked[0].value.as_str(), masked.len()), ("", 2));
        assert_eq!(saved_rows(&saved, true)[0].value, "k_live_0123456789");
    }
}
