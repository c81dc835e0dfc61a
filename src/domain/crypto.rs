//! Signing secrets are stored encrypted (XChaCha20-Poly1305) under a master key that lives
//! outside the database: AETHENOX_SECRET_KEY, or a key file made in the data directory.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use chacha20poly1305::aead::Aead;
use chacha20poly1305::{KeyInit, XChaCha20Poly1305, XNonce};

/// What sealed values start with (and plaintext ones never do: they start with `whsec_`).
pub const SEALED_PREFIX: &str = "enc:v1:";

#[derive(Clone)]
pub struct SecretBox {
    cipher: XChaCha20Poly1305,
}

impl std::fmt::Debug for SecretBox {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretBox(..)")
    }
}

/// Reads a master key: 32 bytes as standard base64 or as 64 hex digits.
pub fn parse_key(text: &str) -> Result<[u8; 32], String> {
    let t = text.trim();
    let bytes = if t.len() == 64 && t.bytes().all(|b| b.is_ascii_hexdigit()) {
        hex::decode(t).map_err(|e| e.to_string())?
    } else {
        STANDARD
            .decode(t)
            .map_err(|_| "the key must be 32 bytes in base64 or 64 hex digits".to_owned())?
    };
    bytes
        .try_into()
        .map_err(|_| "the key must be exactly 32 bytes".to_owned())
}

pub fn new_key_text() -> String {
    STANDARD.encode(super::ids::random_bytes::<32>())
}

impl SecretBox {
    pub fn new(key: [u8; 32]) -> SecretBox {
        SecretBox {
            cipher: XChaCha20Poly1305::new(&key.into()),
        }
    }

    /// `enc:v1:` + base64(24-byte random nonce ‖ ciphertext and tag).
    pub fn seal(&self, plaintext: &str) -> String {
        let nonce_bytes: [u8; 24] = super::ids::random_bytes();
        let nonce = XNonce::from(nonce_bytes);
        // Encryption into a Vec cannot fail for inputs this small.
        let ciphertext = self
            .cipher
            .encrypt(&nonce, plaintext.as_bytes())
            .unwrap_or_default();
        let mut out = nonce_bytes.to_vec();
        out.extend_from_slice(&ciphertext);
        format!("{SEALED_PREFIX}{}", STANDARD.encode(out))
    }

    /// The plaintext of a sealed value; fails on a wrong key or tampering.
    pub fn open(&self, stored: &str) -> Result<String, String> {
        let Some(b64) = stored.strip_prefix(SEALED_PREFIX) else {
            return Err("the secret is not sealed".into());
        };
        let raw = STANDARD
            .decode(b64)
            .map_err(|_| "a sealed secret is not valid base64".to_owned())?;
        if raw.len() < 24 + 16 {
            return Err("a sealed secret is too short".into());
        }
        let (nonce, ciphertext) = raw.split_at(24);
        let nonce = XNonce::try_from(nonce).map_err(|_| "bad nonce".to_owned())?;
        let plain = self.cipher.decrypt(&nonce, ciphertext).map_err(|_| {
            "a sealed secret does not open with this master key (wrong AETHENOX_SECRET_KEY?)"
                .to_owned()
        })?;
        String::from_utf8(plain).map_err(|_| "a sealed secret is not UTF-8".into())
    }

    pub fn open_all(&self, stored: &[String]) -> Result<Vec<String>, String> {
        stored.iter().map(|s| self.open(s)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_and_opens_with_the_same_key_only() {
        let b = SecretBox::new([7; 32]);
        let sealed = b.seal("whsec_abc");
        assert!(sealed.starts_with(SEALED_PREFIX));
        assert!(!sealed.contains("whsec_abc"));
        assert_ne!(sealed, b.seal("whsec_abc"), "a fresh nonce every time");
        assert_eq!(b.open(&sealed).as_deref(), Ok("whsec_abc"));
        assert!(SecretBox::new([8; 32]).open(&sealed).is_err());
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push(if sealed.ends_with('A') { 'B' } else { 'A' });
        assert!(b.open(&tampered).is_err());
        assert!(b.open("whsec_plain").is_err());
        assert!(b.open("enc:v1:AAAA").is_err());
    }

    #[test]
    fn keys_are_read_in_base64_or_hex() {
        let k = new_key_text();
        assert!(parse_key(&k).is_ok());
        assert_eq!(parse_key(&"ab".repeat(32)), Ok([0xab; 32]));
        assert!(parse_key("short").is_err());
        assert!(parse_key(&STANDARD.encode([1u8; 31])).is_err());
    }
}
