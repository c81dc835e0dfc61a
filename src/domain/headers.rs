//! Custom request headers of a webhook: which names and values may be sent beside the
//! product's own headers, and how their values show once saved (masked, like secrets).

/// Most custom headers per webhook.
pub const MAX_HEADERS: usize = 20;
/// Most bytes of one value.
pub const MAX_VALUE_BYTES: usize = 1024;
/// Most characters of one name (receivers refuse longer header lines).
pub const MAX_NAME_CHARS: usize = 256;

/// Names a webhook may not set (compared in any case): the product's own headers, and the
/// hop-by-hop and framing headers the HTTP client owns.
const RESERVED: [&str; 18] = [
    "content-type",
    "content-length",
    "user-agent",
    "host",
    "connection",
    "transfer-encoding",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "upgrade",
    "expect",
    "x-aethenox-signature",
    "x-aethenox-event",
    "x-aethenox-delivery",
    "x-aethenox-timestamp",
    "x-aethenox-workspace",
    "x-aethenox-test",
];

/// An HTTP token (RFC 9110 `tchar`s).
fn is_token(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b))
}

fn reserved(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    RESERVED.contains(&lower.as_str())
        || lower.starts_with("x-aethenox-")
        || lower.starts_with("webhook-")
}

/// Checks one header; the message names it.
pub fn check(name: &str, value: &str) -> Result<(), String> {
    let shown: String = name.chars().take(64).collect();
    if name.len() > MAX_NAME_CHARS {
        return Err(format!(
            "The header name {shown}… is {} characters; at most {MAX_NAME_CHARS}",
            name.len()
        ));
    }
    if !is_token(name) {
        return Err(format!(
            "'{shown}' is not a header name: use letters, digits and - (e.g. X-Api-Key)"
        ));
    }
    if reserved(name) {
        return Err(format!(
            "{shown} cannot be set: the server sends it itself, or it belongs to the connection"
        ));
    }
    if value.bytes().any(|b| b == b'\r' || b == b'\n' || b == 0) {
        return Err(format!(
            "The value of {shown} cannot hold a line break or a NUL character"
        ));
    }
    // What an HTTP client can put in a header: visible ASCII, spaces and tabs.
    if value
        .bytes()
        .any(|b| !(b == b'\t' || (0x20..0x7f).contains(&b)))
    {
        return Err(format!(
            "The value of {shown} can hold only printable ASCII characters and spaces"
        ));
    }
    if value.len() > MAX_VALUE_BYTES {
        return Err(format!(
            "The value of {shown} is {} bytes; at most {MAX_VALUE_BYTES}",
            value.len()
        ));
    }
    Ok(())
}

/// Checks a webhook's custom headers: at most 20, each valid, no name twice (in any case).
pub fn check_all(headers: &[(String, String)]) -> Result<(), String> {
    if headers.len() > MAX_HEADERS {
        return Err(format!(
            "A webhook has at most {MAX_HEADERS} custom headers; this one has {}",
            headers.len()
        ));
    }
    for (i, (name, value)) in headers.iter().enumerate() {
        check(name, value)?;
        if headers[..i]
            .iter()
            .any(|(other, _)| other.eq_ignore_ascii_case(name))
        {
            return Err(format!("{name} is given twice"));
        }
    }
    Ok(())
}

/// A saved value as pages and logs show it: `••••` and its last 4 characters (all of it hidden
/// when it is that short).
pub fn masked(value: &str) -> String {
    let chars: Vec<char> = value.chars().collect();
    if chars.len() <= 8 {
        return "••••".into();
    }
    let tail: String = chars[chars.len() - 4..].iter().collect();
    format!("••••{tail}")
}

/// A webhook's custom headers as stored: sealed with the master key (None when there are none).
pub fn seal(boxed: &super::crypto::SecretBox, headers: &[(String, String)]) -> Option<String> {
    if headers.is_empty() {
        return None;
    }
    serde_json::to_string(headers)
        .ok()
        .map(|json| boxed.seal(&json))
}

/// The custom headers a webhook stores (none when `sealed` is None).
pub fn open(
    boxed: &super::crypto::SecretBox,
    sealed: Option<&str>,
) -> Result<Vec<(String, String)>, String> {
    let Some(sealed) = sealed else {
        return Ok(Vec::new());
    };
    let json = boxed.open(sealed)?;
    serde_json::from_str(&json).map_err(|e| format!("stored custom headers do not read: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_are_sealed_at_rest_and_open_again() {
        let boxed = super::super::crypto::SecretBox::new([7; 32]);
        let headers = vec![("X-Api-Key".to_owned(), "k_0123456789".to_owned())];
        let sealed = seal(&boxed, &headers).unwrap();
        assert!(!sealed.contains("k_0123456789"));
        assert_eq!(open(&boxed, Some(&sealed)).unwrap(), headers);
        assert_eq!(seal(&boxed, &[]), None);
        assert_eq!(open(&boxed, None).unwrap(), Vec::<(String, String)>::new());
        let other = super::super::crypto::SecretBox::new([8; 32]);
        assert!(open(&other, Some(&sealed)).is_err());
    }

    #[test]
    fn names_and_values_are_checked_and_named_in_the_message() {
        assert!(check("X-Api-Key", "k_123").is_ok());
        assert!(check("authorization", "Bearer abc").is_ok());
        assert!(check("X-Tenant_ID.v2", "").is_ok());
        for (name, value, words) in [
            ("", "x", "not a header name"),
            ("X Api", "x", "not a header name"),
            ("X-Ä", "x", "not a header name"),
            ("X-Api:", "x", "not a header name"),
            ("Content-Type", "text/plain", "cannot be set"),
            ("HOST", "evil", "cannot be set"),
            ("Transfer-Encoding", "chunked", "cannot be set"),
            ("x-aethenox-signature", "0", "cannot be set"),
            ("X-Aethenox-Anything", "0", "cannot be set"),
            ("Webhook-Id", "1", "cannot be set"),
            ("X-Note", "a\r\nX-Evil: 1", "line break"),
            ("X-Note", "a\0b", "NUL"),
            ("X-Note", "a\u{1}b", "printable ASCII"),
            ("X-Note", "café", "printable ASCII"),
        ] {
            let e = check(name, value).unwrap_err();
            assert!(e.contains(words), "{name}: {e}");
            if !name.is_empty() && words != "not a header name" {
                assert!(e.contains(name), "{name}: {e}");
            }
        }
        assert!(check("X-Big", &"v".repeat(1024)).is_ok());
        assert!(check(&"X".repeat(256), "v").is_ok());
        assert!(
            check(&"X".repeat(257), "v")
                .unwrap_err()
                .contains("at most 256")
        );
        let e = check("X-Big", &"v".repeat(1025)).unwrap_err();
        assert!(e.contains("X-Big") && e.contains("1025 bytes"), "{e}");
    }

    #[test]
    fn a_webhook_has_at_most_20_and_no_name_twice() {
        let h = |n: usize| -> Vec<(String, String)> {
            (0..n).map(|i| (format!("X-H{i}"), "v".into())).collect()
        };
        assert!(check_all(&h(20)).is_ok());
        assert!(check_all(&h(21)).unwrap_err().contains("at most 20"));
        let twice = vec![
            ("X-Key".to_owned(), "a".to_owned()),
            ("x-key".to_owned(), "b".to_owned()),
        ];
        assert!(check_all(&twice).unwrap_err().contains("twice"));
    }

    #[test]
    fn saved_values_show_only_their_last_4_characters() {
        assert_eq!(masked("sk_live_0123456789abcd"), "••••abcd");
        assert_eq!(masked("short"), "••••");
        assert_eq!(masked(""), "••••");
    }
}
