//! Use cases: each action's rules, its transaction and its audit entry, written once and called
//! by the browser handlers (`web/*.rs`) and the JSON handlers (`web/api/*.rs`) alike. A use case
//! takes the state, who is acting and plain input, and returns plain results or an `AppError`;
//! it knows nothing of HTTP, forms or templates. One file per area:
//!
//! - `webhooks`: create, update, enable/disable, delete, secrets (reveal, rotate), recover
//! - `deliveries`: the Delivery Log (its one filter parser), a delivery's detail, the overview
//! - `manual`: Send Test, Resend, Retry failed
//! - `inboxes`, `users`, `keys`, `sessions` (sign-in, sign-out, setup), `audit`
//! - `portal`: links to the customer portal, the sessions they open, revoking them

pub mod audit;
pub mod deliveries;
pub mod events;
pub mod filters;
pub mod inboxes;
pub mod keys;
pub mod manual;
pub mod members;
pub mod portal;
pub mod scope;
pub mod sessions;
pub mod status;
pub mod storage;
pub mod users;
pub mod webhook_secrets;
pub mod webhooks;
pub mod workspaces;

use crate::error::AppError;
use crate::store::users::Role;

/// How someone reached the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A signed-in person in a browser.
    Browser {
        user_id: i32,
    },
    ApiKey {
        key_id: i32,
    },
    /// A customer in the portal, through a link the platform asked for.
    Portal,
}

/// Which workspaces someone may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reach {
    /// Instance users and keys: every workspace, with their role.
    Instance,
    /// A workspace key: that workspace (its id) only.
    Workspace(String),
    /// A user who is a member of workspaces, each with its own role.
    Member { user_id: i32 },
}

/// Who is acting: checked by every use case, and named in the audit log.
#[derive(Debug, Clone)]
pub struct Actor {
    /// How the audit log names them: an e-mail address or "API key NAME".
    pub name: String,
    /// The role: an instance user's or key's own; inside a `Scope`, the role there.
    pub role: Role,
    pub via: Via,
    pub reach: Reach,
    /// The peer address of the request, when there is one.
    pub client_ip: Option<String>,
}

impl Actor {
    /// Support may read, Send Test, Resend and Retry failed; everything else needs admin.
    pub fn admin(&self) -> Result<(), AppError> {
        match (self.role, &self.via) {
            (Role::Admin, _) => Ok(()),
            (Role::Support, Via::ApiKey { .. }) => Err(AppError::Forbidden(
                "This API key has the support role; this needs an admin key.".into(),
            )),
            (Role::Support, Via::Browser { .. }) => Err(AppError::Forbidden(
                "Only administrators can do this.".into(),
            )),
            (Role::Support, Via::Portal) => Err(AppError::Forbidden(
                "This view is read-only: it can look, send tests and resend, but not change \
                 settings."
                    .into(),
            )),
        }
    }

    pub fn is_admin(&self) -> bool {
        self.role == Role::Admin
    }

    pub fn is_instance(&self) -> bool {
        self.reach == Reach::Instance
    }

    /// Instance-wide actions (workspaces, instance users and keys, storage): instance admins.
    /// Everyone else is told nothing exists here (404), as for another workspace.
    pub fn instance_admin(&self) -> Result<(), AppError> {
        if !self.is_instance() {
            return Err(AppError::NotFound);
        }
        self.admin()
    }
}

/// Keyset pagination: `rows` was loaded with `limit + 1`; drops the extra row and returns the
/// cursor of the next page (the key of the last row kept), or None on the last page.
pub fn keyset_next<T, K>(rows: &mut Vec<T>, limit: i64, key: impl Fn(&T) -> K) -> Option<K> {
    if rows.len() as i64 <= limit {
        return None;
    }
    rows.truncate(limit as usize);
    rows.last().map(key)
}

/// The `limit` of a list: `default` when absent; when sent (even empty), digits for a number
/// from 1 to 100.
pub fn parse_limit(params: &crate::domain::params::Params, default: i64) -> Result<i64, AppError> {
    let Some(raw) = params.first("limit") else {
        return Ok(default);
    };
    match raw.parse::<i64>() {
        Ok(n) if (1..=100).contains(&n) && raw.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(AppError::validation(
            "limit",
            "limit must be a whole number from 1 to 100",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_next_only_promises_a_page_that_exists() {
        let mut full = vec![1, 2, 3];
        assert_eq!(
            keyset_next(&mut full, 3, |n| *n),
            None,
            "exactly full: no next page"
        );
        assert_eq!(full, [1, 2, 3]);
        let mut more = vec![1, 2, 3, 4];
        assert_eq!(keyset_next(&mut more, 3, |n| *n), Some(3));
        assert_eq!(more, [1, 2, 3]);
        let mut empty: Vec<i32> = vec![];
        assert_eq!(keyset_next(&mut empty, 3, |n| *n), None);
    }

    #[test]
    fn support_is_refused_admin_actions_with_words_that_fit_how_it_came() {
        let mut a = Actor {
            name: "x".into(),
            role: Role::Admin,
            via: Via::ApiKey { key_id: 1 },
            reach: Reach::Instance,
            client_ip: None,
        };
        assert!(a.admin().is_ok());
        a.role = Role::Support;
        assert!(a.admin().unwrap_err().to_string().contains("admin key"));
        a.via = Via::Browser { user_id: 1 };
        assert!(
            a.admin()
                .unwrap_err()
                .to_string()
                .contains("administrators")
        );
    }
}
