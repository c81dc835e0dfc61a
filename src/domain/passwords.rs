//! Password hashing (Argon2id, PHC strings) and the rules a new password must meet.

use argon2::{Argon2, PasswordHasher, PasswordVerifier};

pub const MIN_PASSWORD_CHARS: usize = 10;
pub const MAX_PASSWORD_BYTES: usize = 1024;

pub fn hash(password: &str) -> anyhow::Result<String> {
    Argon2::default()
        .hash_password(password.as_bytes())
        .map(|h| h.to_string())
        .map_err(|e| anyhow::anyhow!("hashing a password: {e}"))
}

pub fn verify(password: &str, phc: &str) -> bool {
    Argon2::default()
        .verify_password(password.as_bytes(), phc)
        .is_ok()
}

/// Spends the same work as a real check, so a missing account answers as slowly as a wrong password.
pub fn verify_dummy(password: &str) {
    static DUMMY: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    let phc =
        DUMMY.get_or_init(|| hash("not a real password, only for timing").unwrap_or_default());
    let _ = verify(password, phc);
}

pub fn check_new_password(password: &str) -> Result<(), String> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(format!("Use at least {MIN_PASSWORD_CHARS} characters."));
    }
    if password.len() > MAX_PASSWORD_BYTES {
        return Err("That password is too long.".into());
    }
    Ok(())
}

/// A plausible e-mail address: a dot-atom local part, @, and a domain of letter/digit/hyphen
/// labels ending in an alphabetic top-level label.
pub fn check_email(email: &str) -> Result<String, String> {
    let e = email.trim();
    let atext = |c: char| c.is_ascii_alphanumeric() || "!#$%&'*+-/=?^_`{|}~.".contains(c);
    let label = |l: &str| {
        !l.is_empty()
            && l.len() <= 63
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    let ok = e.len() <= 254
        && e.split_once('@').is_some_and(|(local, domain)| {
            let labels: Vec<&str> = domain.split('.').collect();
            !local.is_empty()
                && local.len() <= 64
                && local.chars().all(atext)
                && !local.starts_with('.')
                && !local.ends_with('.')
                && !local.contains("..")
                && labels.len() >= 2
                && labels.iter().all(|l| label(l))
                && labels
                    .last()
                    .is_some_and(|t| t.len() >= 2 && t.chars().all(|c| c.is_ascii_alphabetic()))
        });
    if ok {
        Ok(e.to_string())
    } else {
        Err("Enter an e-mail address such as admin@example.com.".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_verify_and_differ() {
        let a = hash("correct horse battery").unwrap();
        let b = hash("correct horse battery").unwrap();
        assert_ne!(a, b);
        assert!(a.starts_with("$argon2id$"));
        assert!(verify("correct horse battery", &a));
        assert!(!verify("correct horse batterz", &a));
        assert!(!verify("x", "not a phc string"));
    }

    #[test]
    fn password_and_email_rules() {
        assert!(check_new_password("short").is_err());
        assert!(check_new_password("long enough!").is_ok());
        assert_eq!(
            check_email(" ada@example.com "),
            Ok("ada@example.com".into())
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@localhost",
            "a b@example.com",
            "ada@@example.com",
            "ada@example.com.",
            "https://example.com@127.0.0.1/",
            "ada@127.0.0.1",
            "<s>@example.com",
            "ada@exa_mple.com",
        ] {
            assert!(check_email(bad).is_err(), "{bad}");
        }
        for good in [
            "ada@example.com",
            "o'brien+ops@mail.example.co.uk",
            "x@a-b.io",
        ] {
            assert!(check_email(good).is_ok(), "{good}");
        }
    }
}
