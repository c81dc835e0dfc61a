//! Signing secrets: `whsec_` + standard base64 (padded) of 32 CSPRNG bytes.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;

pub const PREFIX: &str = "whsec_";

pub fn generate() -> String {
    format!(
        "{PREFIX}{}",
        STANDARD.encode(super::ids::random_bytes::<32>())
    )
}

/// The key bytes Standard Webhooks signs with: the base64-decoded part after `whsec_`.
pub fn standard_key(secret: &str) -> Option<Vec<u8>> {
    STANDARD.decode(secret.strip_prefix(PREFIX)?).ok()
}

/// What the UI shows until someone chooses to reveal the secret.
pub fn masked() -> String {
    format!("{PREFIX}{}", "•".repeat(24))
}

/// Grace periods an administrator may keep the previous secret valid for.
pub const MAX_GRACE_SECONDS: i64 = 7 * 24 * 3600;
pub const DEFAULT_GRACE_SECONDS: i64 = 24 * 3600;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_secrets_have_the_contract_format() {
        let s = generate();
        assert!(s.starts_with("whsec_"));
        assert_eq!(s.len(), 6 + 44);
        assert!(s.ends_with('='));
        assert_eq!(standard_key(&s).map(|k| k.len()), Some(32));
        assert_ne!(s, generate());
        assert!(!masked().contains(&s[6..]));
    }

    #[test]
    fn rejects_foreign_formats() {
        assert!(standard_key("sk_abc").is_none());
        assert!(standard_key("whsec_***").is_none());
    }
}
