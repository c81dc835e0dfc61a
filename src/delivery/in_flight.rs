//! What the delivery actor has in flight, shared by the dispatcher, the senders and the
//! intake's hand-off (which counts what it hands over as the dispatcher counts what it claims).

use crate::domain::crypto::SecretBox;
use crate::store::claims::Claimed;
use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;

/// A claimed delivery with the secrets to sign it, on its way to a sender thread, and whether
/// the intake handed it over straight (no claim).
pub(super) type Job = (Claimed, Vec<String>, bool);

/// Attempts in flight, in all, per webhook and per workspace, and the claimed deliveries that
/// wait in memory for room.
#[derive(Default)]
pub(super) struct InFlight {
    pub(super) total: usize,
    pub(super) per_webhook: HashMap<String, usize>,
    pub(super) per_workspace: HashMap<String, usize>,
    pub(super) ids: HashSet<String>,
    pub(super) waiting: Waiting,
}

/// How many times the caps on attempts in flight claims may take, the rest waiting in memory.
pub(super) const AHEAD: usize = 4;

/// Claimed deliveries (leased to this process) waiting for room under their webhook's or
/// workspace's cap, each webhook's in the order claimed, with the time by which each must
/// start (after it, the lease may run out before the attempt ends: it is left for a claim once
/// the lease has run out). A claim may take up to `AHEAD` times the caps in all, so
/// an attempt that finishes starts the next at once rather than after the next claim's
/// transaction: what kept one busy workspace among several to a third of what a lone one
/// delivers (BENCHMARKS.md, issue 21).
#[derive(Default)]
pub(super) struct Waiting {
    by_webhook: HashMap<String, VecDeque<(Job, i64)>>,
    per_workspace: HashMap<String, usize>,
    len: usize,
}

impl Waiting {
    pub(super) fn len(&self) -> usize {
        self.len
    }

    pub(super) fn push(&mut self, job: Job, start_by: i64) {
        count(&mut self.per_workspace, &job.0.workspace_id, true);
        self.by_webhook
            .entry(job.0.webhook_id.clone())
            .or_default()
            .push_back((job, start_by));
        self.len += 1;
    }

    /// Takes the next job of the webhook with the fewest attempts in flight (`room`: how many
    /// a webhook has, None when it or the workspace has no room), dropping the ones whose time
    /// to start has passed.
    fn pop(&mut self, now: i64, room: impl Fn(&str, &str) -> Option<usize>) -> Option<Job> {
        loop {
            let webhook = self
                .by_webhook
                .iter()
                .filter_map(|(w, q)| {
                    let (job, _) = q.front()?;
                    room(w, &job.0.workspace_id).map(|n| (n, w))
                })
                .min_by_key(|(n, _)| *n)
                .map(|(_, w)| w.clone())?;
            let queue = self.by_webhook.get_mut(&webhook)?;
            let (job, start_by) = queue.pop_front()?;
            if queue.is_empty() {
                self.by_webhook.remove(&webhook);
            }
            count(&mut self.per_workspace, &job.0.workspace_id, false);
            self.len -= 1;
            if start_by >= now {
                return Some(job);
            }
            tracing::debug!(delivery_id = %job.0.id, "waited too long for room: left for a claim");
        }
    }

    /// Every job waiting, for release (shutting down).
    pub(super) fn drain(&mut self) -> Vec<String> {
        self.per_workspace.clear();
        self.len = 0;
        self.by_webhook
            .drain()
            .flat_map(|(_, q)| q.into_iter().map(|(j, _)| j.0.id))
            .collect()
    }
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

    /// Whether an attempt of `webhook` in `workspace` may start now under the caps.
    pub(super) fn may_start(&self, caps: Caps, webhook: &str, workspace: &str) -> bool {
        self.total < caps.max
            && self.per_webhook.get(webhook).copied().unwrap_or(0) < caps.per_webhook
            && self.per_workspace.get(workspace).copied().unwrap_or(0) < caps.per_workspace
    }

    /// The next waiting job that may start now, counted in flight from now on.
    pub(super) fn start_waiting(&mut self, caps: Caps, now: i64) -> Option<Job> {
        if self.waiting.len == 0 || self.total >= caps.max {
            return None;
        }
        let (per_webhook, per_workspace) = (&self.per_webhook, &self.per_workspace);
        let job = self.waiting.pop(now, |webhook, workspace| {
            let n = per_webhook.get(webhook).copied().unwrap_or(0);
            (n < caps.per_webhook
                && per_workspace.get(workspace).copied().unwrap_or(0) < caps.per_workspace)
                .then_some(n)
        })?;
        self.start(&job.0.id, &job.0.webhook_id, &job.0.workspace_id);
        Some(job)
    }

    /// What claims count against their caps: attempts in flight and jobs waiting, per webhook
    /// and per workspace.
    pub(super) fn claimed(&self) -> (HashMap<String, usize>, HashMap<String, usize>) {
        let mut webhooks = self.per_webhook.clone();
        for (w, q) in &self.waiting.by_webhook {
            *webhooks.entry(w.clone()).or_default() += q.len();
        }
        let mut workspaces = self.per_workspace.clone();
        for (ws, n) in &self.waiting.per_workspace {
            *workspaces.entry(ws.clone()).or_default() += n;
        }
        (webhooks, workspaces)
    }

    /// Whether a claim could take a row of `webhook` in `workspace`: in flight and waiting
    /// together below `AHEAD` times the cap in all and below `Caps::ahead`.
    pub(super) fn claim_room(&self, caps: Caps, webhook: &str, workspace: &str) -> bool {
        let waiting_of = |w: &str| self.waiting.by_webhook.get(w).map_or(0, VecDeque::len);
        let waiting_in = |ws: &str| self.waiting.per_workspace.get(ws).copied().unwrap_or(0);
        let (per_webhook, per_workspace) = caps.ahead();
        self.total + self.waiting.len < caps.max * AHEAD
            && self.per_webhook.get(webhook).copied().unwrap_or(0) + waiting_of(webhook)
                < per_webhook
            && self.per_workspace.get(workspace).copied().unwrap_or(0) + waiting_in(workspace)
                < per_workspace
    }

    /// Whether there is room in all and no webhook or workspace is at its cap.
    pub(super) fn none_at_cap(&self, max: usize, per_webhook: usize, per_workspace: usize) -> bool {
        self.total < max
            && self.per_webhook.values().all(|n| *n < per_webhook)
            && self.per_workspace.values().all(|n| *n < per_workspace)
    }
}

/// The caps on attempts in flight: in all, per webhook, per workspace.
#[derive(Clone, Copy)]
pub(super) struct Caps {
    pub(super) max: usize,
    pub(super) per_webhook: usize,
    pub(super) per_workspace: usize,
}

impl Caps {
    /// What claims may take of one webhook and of one workspace, in flight and waiting
    /// together: `AHEAD` times their caps, but one workspace never all that may be taken in
    /// all, nor one webhook all its workspace may take (never less than its cap), so that a
    /// fresh delivery of a quiet webhook can still be claimed behind a busy one. Waiting, it
    /// starts before the others: the webhook with the fewest in flight goes first.
    pub(super) fn ahead(&self) -> (usize, usize) {
        let workspace = (self.per_workspace * AHEAD).min(self.max * (AHEAD - 1));
        let webhook = (self.per_webhook * AHEAD)
            .min(workspace.saturating_sub(self.per_webhook))
            .max(self.per_webhook);
        (webhook, workspace)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claims_take_ahead_but_leave_room_for_a_quiet_webhook_and_another_workspace() {
        let caps = |max, per_webhook, per_workspace| Caps {
            max,
            per_webhook,
            per_workspace,
        };
        // The defaults: four times each cap.
        assert_eq!(caps(256, 16, 64).ahead(), (64, 256));
        // A lone workspace (its cap is --max-in-flight): never all there is room for in all,
        // and one webhook never all of its workspace's.
        assert_eq!(caps(256, 64, 256).ahead(), (256, 768));
        assert_eq!(caps(4, 4, 4).ahead(), (8, 12));
        // Never less than a webhook's own cap.
        assert_eq!(caps(8, 8, 1).ahead(), (8, 4));
    }
}
