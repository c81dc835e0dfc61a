//! URL-encoded parameters (a form body or a query string) as ordered pairs, so repeated fields
//! (one per ticked event) survive. The web layer reads requests into this; use cases read it.

#[derive(Debug, Clone, Default)]
pub struct Params(pub Vec<(String, String)>);

impl Params {
    pub fn parse(body: &[u8]) -> Params {
        Params(form_urlencoded::parse(body).into_owned().collect())
    }

    /// The first value of `name`, or "" when absent.
    pub fn get(&self, name: &str) -> &str {
        self.first(name).unwrap_or("")
    }

    /// The first value of `name`, or `None` when absent (`Some("")` when sent empty).
    pub fn first(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    pub fn get_all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_repeated_fields_in_order() {
        let f = Params::parse(
            b"events=message.sent&url=https%3A%2F%2Fx.io&events=call.missed&d=%3Cb%3E",
        );
        assert_eq!(f.get_all("events"), ["message.sent", "call.missed"]);
        assert_eq!(f.get("url"), "https://x.io");
        assert_eq!(f.get("d"), "<b>");
        assert_eq!(f.get("missing"), "");
    }
}
