//! Workspaces: one AethenoxAI account each. Their identity rules (the platform's own `uid`,
//! a name), checked before anything is stored.

/// The workspace everything of a single-workspace installation lives in (fixed, so that the
/// SQLite and PostgreSQL migrations agree on it).
pub const DEFAULT_ID: &str = "ws_00000000000000000000000000";
pub const DEFAULT_UID: &str = "default";
/// The instance's own hidden workspace: its webhooks are the operational webhooks (Settings →
/// Operational webhooks). No list, search, count or `/w/…` path shows it, and nothing in it
/// makes an operational event (no loops).
pub const OPERATIONAL_ID: &str = "ws_0000000000000000000000000P";

/// A workspace's id as stored: what every store function that touches workspace data takes.
/// Handlers never make one from their input; they get one from a resolved scope.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct WorkspaceId(String);

impl WorkspaceId {
    /// An id read from the database (or a known constant).
    pub fn from_stored(id: impl Into<String>) -> Self {
        WorkspaceId(id.into())
    }

    pub fn default_workspace() -> Self {
        WorkspaceId(DEFAULT_ID.to_owned())
    }

    pub fn operational() -> Self {
        WorkspaceId(OPERATIONAL_ID.to_owned())
    }

    pub fn is_operational(&self) -> bool {
        self.0 == OPERATIONAL_ID
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for WorkspaceId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Longest name.
pub const MAX_NAME_CHARS: usize = 200;
/// Longest uid.
pub const MAX_UID_CHARS: usize = 64;

/// A workspace's name: 1 to 200 characters after trimming, no control characters.
pub fn check_name(raw: &str) -> Result<String, String> {
    let name = raw.trim();
    if name.is_empty() {
        return Err("Give the workspace a name.".into());
    }
    if name.chars().count() > MAX_NAME_CHARS {
        return Err(format!(
            "Keep the name to {MAX_NAME_CHARS} characters or fewer."
        ));
    }
    if name.chars().any(char::is_control) {
        return Err("The name cannot contain control characters.".into());
    }
    Ok(name.to_owned())
}

/// The platform's own account id: 1 to 64 of `A–Z a–z 0–9 . _ -`, not starting with `ws_`
/// (that is how ids begin, and either may name a workspace).
pub fn check_uid(raw: &str) -> Result<String, String> {
    if raw.is_empty() {
        return Err("The uid cannot be empty: leave it out for none.".into());
    }
    if raw.len() > MAX_UID_CHARS {
        return Err(format!("A uid is at most {MAX_UID_CHARS} characters."));
    }
    if !raw
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
    {
        return Err("A uid may only hold letters A–Z and a–z, digits, '.', '_' and '-'.".into());
    }
    if raw.starts_with("ws_") {
        return Err("A uid cannot start with \"ws_\" (workspace ids do).".into());
    }
    Ok(raw.to_owned())
}

/// Whether `key` (from a path) is written as an id rather than a uid.
pub fn is_id_form(key: &str) -> bool {
    key.starts_with("ws_")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uids_are_the_platforms_account_ids_and_never_look_like_ids() {
        for ok in ["default", "acct_42", "A.b-c_9", &"x".repeat(64)] {
            assert_eq!(check_uid(ok).as_deref(), Ok(ok), "{ok}");
        }
        for bad in [
            "",
            &"x".repeat(65),
            "a b",
            "a/b",
            "é",
            "ws_123",
            "a\0",
            "<script>",
        ] {
            assert!(check_uid(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn names_are_trimmed_and_bounded() {
        assert_eq!(check_name("  Acme  ").as_deref(), Ok("Acme"));
        assert!(check_name("   ").is_err());
        assert!(check_name(&"é".repeat(200)).is_ok());
        assert!(check_name(&"é".repeat(201)).is_err());
        assert!(check_name("a\nb").is_err());
    }

    #[test]
    fn the_default_workspace_id_is_an_id() {
        assert!(crate::domain::ids::is_id("ws", DEFAULT_ID));
        assert!(is_id_form(DEFAULT_ID));
        assert!(!is_id_form(DEFAULT_UID));
    }
}
