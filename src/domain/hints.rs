//! What to tell a person about a failed attempt: the plain cause and what to do.

/// A hint for an attempt's outcome (`error_class` as recorded; `status` when there was a
/// response), or None for a success.
pub fn hint(
    error_class: Option<&str>,
    status: Option<i32>,
    error: Option<&str>,
    timeout: &str,
) -> Option<String> {
    let error = error.unwrap_or_default();
    Some(match (error_class?, status) {
        ("timeout", _) => format!("timed out after {timeout}: answer within the timeout and do slow work after replying"),
        ("connect", _) if error.contains("refused") => {
            "connection refused: is your server listening on that port?".into()
        }
        ("connect", _) => "could not connect: check that the host is up and reachable".into(),
        ("dns", _) => "the host name does not resolve: check its spelling and DNS".into(),
        ("tls", _) => "TLS failed: the certificate must be valid for the host and signed by a public CA".into(),
        ("refused", _) => {
            "refused by the URL policy: use a public address, or run with --allow-private-targets inside your own network"
                .into()
        }
        ("redirect", _) => "redirect not followed: use the final URL".into(),
        (_, Some(401 | 403)) => {
            format!("{}: your server rejected the signature: check the signing secret", status.unwrap_or_default())
        }
        (_, Some(404)) => "404: no such path on your server: check the Endpoint URL".into(),
        (_, Some(410)) => "410 Gone: the webhook was disabled; enable it again when the endpoint is back".into(),
        (_, Some(413)) => "413: your server refused the body size: raise its request size limit".into(),
        (_, Some(429)) => "429: your server is rate limiting; the next attempt waits for its Retry-After".into(),
        (_, Some(s)) if s >= 500 => format!("{s}: your server failed: look at its logs"),
        (_, Some(s)) => format!("{s}: your server refused the request"),
        (other, None) => format!("the attempt failed ({other})"),
    })
}

#[cfg(test)]
mod tests {
    use super::hint;

    #[test]
    fn hints_name_the_cause_and_the_fix() {
        let h = |class, status, error| hint(Some(class), status, Some(error), "15 s").unwrap();
        assert_eq!(
            h(
                "connect",
                None,
                "could not connect: Connection refused (os error 111)"
            ),
            "connection refused: is your server listening on that port?"
        );
        assert_eq!(
            h("http_status", Some(401), "HTTP 401"),
            "401: your server rejected the signature: check the signing secret"
        );
        assert_eq!(
            h("redirect", Some(302), ""),
            "redirect not followed: use the final URL"
        );
        assert!(h("timeout", None, "").starts_with("timed out after 15 s"));
        assert!(h("http_status", Some(503), "").starts_with("503: your server failed"));
        assert!(h("refused", None, "").contains("--allow-private-targets"));
        assert_eq!(hint(None, Some(200), None, "15 s"), None);
    }
}
