//! What the delivery actor has in flight, shared by the dispatcher, the senders and the
//! intake's hand-off (which counts what it hands over as the dispatcher counts what it claims).

use crate::domain::crypto::SecretBox;
use crate::store::claims::Claimed;
use std::collections::{HashMap, HashSet};
use std::sync::Mutex;

/// A claimed delivery with the secrets to sign it, on its way to a sender thread, and whether
/// the intake handed it over straight (no claim).
pub(super) type Job = (Claimed, Vec<String>, bool);

/// Attempts in flight, in all, per webhook and per workspace.
#[derive(Default)]
pub(super) struct InFlight {
    pub(super) total: usize,
    pub(super) per_webhook: HashMap<String, usize>,
    pub(super) per_workspace: HashMap<String, usize>,
    pub(super) ids: HashSet<String>,
}

/// One more (or one fewer) in `counts` under `key`; keys at zero are dropped.
fn count(counts: &mut HashMap<String, usize>, key: &str, up: bool) {
    if up {
        *counts.entry(key.to_owned()).or_default() += 1;
    } else if let Some(n) = counts.get_mut(key) {
        *n -= 1;
        if *n == 0 {
            counts.remove(key);
        }
    }
}

impl InFlight {
    pub(super) fn start(&mut self, id: &str, webhook: &str, workspace: &str) {
        self.total += 1;
        count(&mut self.per_webhook, webhook, true);
        count(&mut self.per_workspace, workspace, true);
        self.ids.insert(id.to_owned());
    }

    pub(super) fn finish(&mut self, id: &str, webhook: &str, workspace: &str) {
        self.total -= 1;
        count(&mut self.per_webhook, webhook, false);
        count(&mut self.per_workspace, workspace, false);
        self.ids.remove(id);
    }

    /// Whether there is room in all and no webhook or workspace is at its cap.
    pub(super) fn none_at_cap(&self, max: usize, per_webhook: usize, per_workspace: usize) -> bool {
        self.total < max
            && self.per_webhook.values().all(|n| *n < per_webhook)
            && self.per_workspace.values().all(|n| *n < per_workspace)
    }
}

/// Each webhook's sealed signing secrets opened (once per webhook). A secret that does not open
/// leaves its webhook's attempts without one, which fails them with a clear error rather than
/// unsigned.
pub(super) fn open_secrets(
    secrets: &SecretBox,
    sealed: HashMap<String, Vec<String>>,
) -> HashMap<String, Vec<String>> {
    sealed
        .into_iter()
        .map(|(id, sealed)| {
            let open = secrets.open_all(&sealed).unwrap_or_else(|e| {
                tracing::error!(webhook_id = %id, error = %e, "a signing secret does not open");
                Vec::new()
            });
            (id, open)
        })
        .collect()
}

pub(super) fn lock(m: &Mutex<InFlight>) -> std::sync::MutexGuard<'_, InFlight> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
