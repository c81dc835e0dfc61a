//! The two signatures every delivery carries (see DESIGN.md, "Request headers").

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = Hmac<Sha256>;

fn mac(key: &[u8]) -> HmacSha256 {
    // HMAC accepts keys of any length, so this cannot fail.
    HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length")
}

/// `X-Aethenox-Signature`: lowercase hex HMAC-SHA256 of the body, keyed by the secret's
/// UTF-8 bytes exactly as shown (`whsec_` included).
pub fn aethenox_signature(secret: &str, body: &[u8]) -> String {
    let mut m = mac(secret.as_bytes());
    m.update(body);
    hex::encode(m.finalize().into_bytes())
}

/// Constant-time check of an `X-Aethenox-Signature` value.
pub fn verify_aethenox_signature(secret: &str, body: &[u8], signature_hex: &str) -> bool {
    let Ok(expected) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let mut m = mac(secret.as_bytes());
    m.update(body);
    m.verify_slice(&expected).is_ok()
}

/// One Standard Webhooks `v1,<base64>` entry over `{id}.{timestamp}.{body}`.
pub fn standard_signature(
    secret: &str,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> Option<String> {
    let key = super::secrets::standard_key(secret)?;
    let mut m = mac(&key);
    m.update(msg_id.as_bytes());
    m.update(b".");
    m.update(timestamp.to_string().as_bytes());
    m.update(b".");
    m.update(body);
    Some(format!("v1,{}", STANDARD.encode(m.finalize().into_bytes())))
}

/// `webhook-signature`: one space-separated entry per valid secret, current first.
pub fn standard_signature_header<'a>(
    secrets: impl IntoIterator<Item = &'a str>,
    msg_id: &str,
    timestamp: i64,
    body: &[u8],
) -> String {
    secrets
        .into_iter()
        .filter_map(|s| standard_signature(s, msg_id, timestamp, body))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_webhooks_published_vector() {
        let sig = standard_signature(
            "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
            "msg_p5jXN8AQM9LWM0D4loKWxJek",
            1_614_265_330,
            br#"{"test": 2432232314}"#,
        );
        assert_eq!(
            sig.as_deref(),
            Some("v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=")
        );
    }

    #[test]
    fn aethenox_signature_is_hmac_of_body_with_whole_secret() {
        // RFC 4231 test case 2 shape: key "Jefe", data "what do ya want for nothing?"
        assert_eq!(
            aethenox_signature("Jefe", b"what do ya want for nothing?"),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
        let sig = aethenox_signature("whsec_abc", b"{}");
        assert!(verify_aethenox_signature("whsec_abc", b"{}", &sig));
        assert!(verify_aethenox_signature(
            "whsec_abc",
            b"{}",
            &sig.to_uppercase()
        ));
        assert!(!verify_aethenox_signature("whsec_abd", b"{}", &sig));
        assert!(!verify_aethenox_signature("whsec_abc", b"{} ", &sig));
        assert!(!verify_aethenox_signature("whsec_abc", b"{}", "zz"));
    }

    #[test]
    fn header_carries_one_entry_per_secret() {
        let a = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
        let b = super::super::secrets::generate();
        let h = standard_signature_header([b.as_str(), a], "msg_1", 10, b"x");
        let parts: Vec<_> = h.split(' ').collect();
        assert_eq!(parts.len(), 2);
        assert!(parts.iter().all(|p| p.starts_with("v1,")));
        assert_eq!(parts[1], standard_signature(a, "msg_1", 10, b"x").unwrap());
    }
}
