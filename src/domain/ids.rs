//! Identifiers and random tokens.

const CROCKFORD: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";

/// Fills a fixed-size array from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> [u8; N] {
    let mut buf = [0u8; N];
    // The OS CSPRNG failing is not something a request can cause or recover from.
    getrandom::fill(&mut buf).expect("the operating system's random number generator failed");
    buf
}

/// A sortable identifier: `prefix_` then 26 Crockford base32 characters of a ULID
/// (48 bits of milliseconds, 80 random bits), so newer ids sort after older ones. Within this
/// process every id sorts after the one made before it, also within one millisecond (the
/// random part of the last one plus one, as monotonic ULIDs do): ordered delivery sends in
/// the order of the deliveries' ids.
pub fn new_id(prefix: &str) -> String {
    static LAST: std::sync::Mutex<u128> = std::sync::Mutex::new(0);
    let mut value = ulid_value(super::time::now_ms());
    let mut last = LAST.lock().unwrap_or_else(|p| p.into_inner());
    if value >> 80 <= *last >> 80 {
        // The same millisecond (or the clock stepped back): one after the last.
        value = *last + 1;
    }
    *last = value;
    drop(last);
    encode(prefix, value)
}

pub fn new_id_at(prefix: &str, ms: i64) -> String {
    encode(prefix, ulid_value(ms))
}

fn ulid_value(ms: i64) -> u128 {
    let random: [u8; 10] = random_bytes();
    let mut value: u128 = (ms.max(0) as u128 & ((1 << 48) - 1)) << 80;
    for (i, b) in random.iter().enumerate() {
        value |= (*b as u128) << (8 * (9 - i));
    }
    value
}

fn encode(prefix: &str, value: u128) -> String {
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        out.push(CROCKFORD[((value >> (5 * i)) & 31) as usize] as char);
    }
    out
}

/// The smallest id `new_id` could make at `ms`: ids from then on sort at or after it.
pub fn id_floor(prefix: &str, ms: i64) -> String {
    let value: u128 = (ms.max(0) as u128 & ((1 << 48) - 1)) << 80;
    let mut out = String::with_capacity(prefix.len() + 27);
    out.push_str(prefix);
    out.push('_');
    for i in (0..26).rev() {
        out.push(CROCKFORD[((value >> (5 * i)) & 31) as usize] as char);
    }
    out
}

/// A URL-safe random token of `N` bytes (used for sessions, CSRF, setup links and API keys).
pub fn random_token<const N: usize>() -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(random_bytes::<N>())
}

/// True when `t` has the shape of a `random_token::<32>()` (43 URL-safe characters): session,
/// CSRF and portal tokens are checked so before anything looks them up.
pub fn is_token_32(t: &str) -> bool {
    t.len() == 43
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// True when `s` looks like an id this module made with `prefix` (cheap input check).
pub fn is_id(prefix: &str, s: &str) -> bool {
    s.strip_prefix(prefix)
        .and_then(|rest| rest.strip_prefix('_'))
        .is_some_and(|rest| rest.len() == 26 && rest.bytes().all(|b| CROCKFORD.contains(&b)))
}

/// What is stored in place of a session token or API key: its SHA-256, hex.
pub fn token_hash(token: &str) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Constant-time equality of two secrets (their lengths are not hidden).
pub fn secure_eq(a: &str, b: &str) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.as_bytes().ct_eq(b.as_bytes()))
}

pub const API_KEY_PREFIX: &str = "aex_";

/// A new API key: `aex_` and 43 URL-safe characters (32 random bytes).
pub fn new_api_key() -> String {
    format!("{API_KEY_PREFIX}{}", random_token::<32>())
}

/// True when `key` has the shape of a key `new_api_key` makes; anything else is refused
/// without asking the database.
pub fn looks_like_api_key(key: &str) -> bool {
    key.strip_prefix(API_KEY_PREFIX).is_some_and(|rest| {
        rest.len() == 43
            && rest
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    })
}

/// The part of a key that is kept in clear to tell keys apart in lists.
pub fn api_key_display_prefix(key: &str) -> String {
    key.chars().take(API_KEY_PREFIX.len() + 8).collect()
}

/// A key name: 1 to 100 characters, no control characters.
pub fn check_key_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Give the key a name that says who uses it.".into());
    }
    if name.chars().count() > 100 {
        return Err("Keep the name under 100 characters.".into());
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".into());
    }
    Ok(name.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_sort_by_time_and_are_unique() {
        let a = new_id_at("wh", 1_000);
        let b = new_id_at("wh", 1_001);
        assert!(a < b);
        assert_ne!(new_id_at("wh", 5), new_id_at("wh", 5));
        assert!(is_id("wh", &a));
        assert!(!is_id("evt", &a));
        assert!(!is_id("wh", "wh_short"));
        assert!(!is_id("wh", "wh_<script>alert(1)</script>aaaaaaa"));
    }

    #[test]
    fn ids_made_one_after_another_sort_in_that_order_within_a_millisecond() {
        let ids: Vec<String> = (0..20_000).map(|_| new_id("dlv")).collect();
        assert!(
            ids.windows(2).all(|w| w[0] < w[1]),
            "not strictly increasing"
        );
        assert!(ids.iter().all(|id| is_id("dlv", id)));
    }

    #[test]
    fn tokens_are_url_safe_and_long() {
        let t = random_token::<32>();
        assert_eq!(t.len(), 43);
        assert!(
            t.bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        );
        assert_ne!(t, random_token::<32>());
    }

    #[test]
    fn api_keys_and_hashes() {
        let k = new_api_key();
        assert!(k.starts_with("aex_") && k.len() == 47);
        assert_eq!(api_key_display_prefix(&k).len(), 12);
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert!(secure_eq("same", "same"));
        assert!(!secure_eq("same", "samf"));
        assert!(!secure_eq("same", "same!"));
        assert!(check_key_name("  ops  ").is_ok_and(|n| n == "ops"));
        assert!(check_key_name("").is_err());
        assert!(check_key_name("a\0b").is_err());
        assert!(check_key_name(&"x".repeat(101)).is_err());
    }

    #[test]
    fn api_keys_have_one_shape() {
        let key = new_api_key();
        assert!(looks_like_api_key(&key), "{key}");
        for bad in [
            "",
            "aex_",
            "aex_short",
            "xyz_",
            &key[1..],
            &format!("{key}x"),
        ] {
            assert!(!looks_like_api_key(bad), "{bad}");
        }
        let spaced = format!("aex_{}", " ".repeat(43));
        assert!(!looks_like_api_key(&spaced));
    }
}
