//! The fair choice of which due deliveries to claim (pure: tested without a database).

use std::collections::HashMap;

/// A due delivery that may be claimed: (id, webhook, workspace, the webhook's rate limit).
pub type Due = (String, String, String, Option<i32>);

/// What is in flight already, and how much one webhook and one workspace may have.
pub struct Room<'a> {
    pub per_webhook: usize,
    pub per_workspace: usize,
    pub webhooks: &'a HashMap<String, usize>,
    pub workspaces: &'a HashMap<String, usize>,
    /// Rate-limited webhooks a claim found out of room for the current second: left out of
    /// the reads until it ends.
    pub rate_held: &'a [String],
    /// The caps of a webhook and of a workspace for rows that may wait in memory for room
    /// (all but rate-limited webhooks', whose attempts must start in the second they are
    /// counted in); the counts above then include those waiting.
    pub ahead: (usize, usize),
}

impl Room<'_> {
    /// The caps of a webhook and of a workspace for rows of a rate-limited webhook (`paced`)
    /// or of any other.
    pub fn caps(&self, paced: bool) -> (usize, usize) {
        if paced {
            (self.per_webhook, self.per_workspace)
        } else {
            self.ahead
        }
    }
}

/// What a fair pick took, and the rate-limited webhooks it left rows of because their second
/// was used up.
#[derive(Debug, Default)]
pub struct Picked<'a> {
    pub ids: Vec<&'a str>,
    pub rate_held: Vec<&'a str>,
}

/// The fair choice among `candidates` (in the order they fell due): again and again the next
/// row of the webhook with the fewest attempts in flight and taken so far, within each
/// webhook's and workspace's cap and, for rate-limited webhooks, the attempts `rate` says may
/// still start this second, up to `limit`.
pub fn fair_pick<'a>(
    candidates: &'a [Due],
    limit: usize,
    room: &Room<'_>,
    rate: &HashMap<String, usize>,
) -> Picked<'a> {
    use std::cmp::Reverse;
    use std::collections::{BinaryHeap, VecDeque};
    let mut queues: HashMap<&str, VecDeque<&Due>> = HashMap::new();
    let mut order: Vec<&str> = Vec::new();
    for c in candidates {
        let queue = queues.entry(&c.1).or_default();
        if queue.is_empty() {
            order.push(&c.1);
        }
        queue.push_back(c);
    }
    let count = |m: &HashMap<String, usize>, k: &str| m.get(k).copied().unwrap_or(0);
    // Fewest in flight first; among equals, the webhook whose rows fell due first.
    let mut heap: BinaryHeap<Reverse<(usize, usize, &str)>> = order
        .iter()
        .enumerate()
        .map(|(i, w)| Reverse((count(room.webhooks, w), i, *w)))
        .collect();
    let mut workspaces: HashMap<&str, usize> = HashMap::new();
    let mut taken: HashMap<&str, usize> = HashMap::new();
    let mut picked = Picked {
        ids: Vec::with_capacity(limit),
        rate_held: Vec::new(),
    };
    while picked.ids.len() < limit {
        let Some(Reverse((n, i, webhook))) = heap.pop() else {
            break;
        };
        let Some(next) = queues.get(webhook).and_then(|q| q.front()).copied() else {
            continue;
        };
        let took = taken.entry(webhook).or_default();
        if next.3.is_some() && rate.get(webhook).is_some_and(|left| *took >= *left) {
            picked.rate_held.push(webhook);
            continue;
        }
        queues.get_mut(webhook).map(VecDeque::pop_front);
        let in_ws = workspaces
            .entry(&next.2)
            .or_insert_with(|| count(room.workspaces, &next.2));
        let (per_webhook, per_workspace) = room.caps(next.3.is_some());
        if n >= per_webhook || *in_ws >= per_workspace {
            continue;
        }
        *in_ws += 1;
        *took += 1;
        picked.ids.push(next.0.as_str());
        if queues.get(webhook).is_some_and(|q| !q.is_empty()) {
            heap.push(Reverse((n + 1, i, webhook)));
        }
    }
    picked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn due(id: &str, webhook: &str, ws: &str) -> Due {
        (id.into(), webhook.into(), ws.into(), None)
    }

    fn pick(
        candidates: &[Due],
        limit: usize,
        busy: &[(&str, usize)],
        busy_ws: &[(&str, usize)],
    ) -> Vec<String> {
        let webhooks = busy.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        let workspaces = busy_ws.iter().map(|(k, n)| (k.to_string(), *n)).collect();
        let room = Room {
            per_webhook: 3,
            per_workspace: 4,
            webhooks: &webhooks,
            workspaces: &workspaces,
            rate_held: &[],
            ahead: (3, 4),
        };
        fair_pick(candidates, limit, &room, &HashMap::new())
            .ids
            .into_iter()
            .map(str::to_owned)
            .collect()
    }

    #[test]
    fn taking_ahead_multiplies_the_caps_except_for_rate_limited_webhooks() {
        let (webhooks, workspaces) = (HashMap::new(), HashMap::new());
        let room = |ahead: usize| Room {
            per_webhook: 2,
            per_workspace: 10,
            webhooks: &webhooks,
            workspaces: &workspaces,
            rate_held: &[],
            ahead: (2 * ahead, 10 * ahead),
        };
        let backlog: Vec<Due> = (0..6).map(|i| due(&format!("a{i}"), "A", "X")).collect();
        let none = HashMap::new();
        assert_eq!(fair_pick(&backlog, 10, &room(1), &none).ids.len(), 2);
        assert_eq!(fair_pick(&backlog, 10, &room(2), &none).ids.len(), 4);
        let paced: Vec<Due> = (0..6)
            .map(|i| (format!("p{i}"), "P".into(), "X".into(), Some(100)))
            .collect();
        let rate = HashMap::from([("P".to_owned(), 100)]);
        assert_eq!(fair_pick(&paced, 10, &room(2), &rate).ids.len(), 2);
    }

    #[test]
    fn the_webhook_with_the_fewest_in_flight_goes_first_whatever_waited_longer() {
        let backlog: Vec<Due> = (0..10)
            .map(|i| due(&format!("a{i}"), "A", "X"))
            .chain([due("b0", "B", "X")])
            .collect();
        assert_eq!(
            pick(&backlog, 1, &[("A", 2)], &[]),
            ["b0"],
            "A has two in flight"
        );
        assert_eq!(pick(&backlog, 1, &[], &[]), ["a0"], "equal: the oldest");
        // Round robin from equal counts, oldest due first within a webhook.
        assert_eq!(pick(&backlog, 3, &[], &[]), ["a0", "b0", "a1"]);
    }

    #[test]
    fn no_webhook_or_workspace_passes_its_cap() {
        let c: Vec<Due> = (0..5)
            .map(|i| due(&format!("a{i}"), "A", "X"))
            .chain((0..5).map(|i| due(&format!("b{i}"), "B", "X")))
            .chain((0..5).map(|i| due(&format!("c{i}"), "C", "Y")))
            .collect();
        let got = pick(&c, 20, &[], &[]);
        let of = |p: char| got.iter().filter(|id| id.starts_with(p)).count();
        assert_eq!(
            (of('a'), of('b'), of('c')),
            (2, 2, 3),
            "X takes 4 in all, C at most 3"
        );
        // In flight counts already: X has 3 of its 4, A two of its three.
        let got = pick(&c, 20, &[("A", 2)], &[("X", 3)]);
        assert_eq!(
            got.iter().filter(|id| !id.starts_with('c')).count(),
            1,
            "{got:?}"
        );
        assert!(pick(&c, 0, &[], &[]).is_empty());
        assert!(pick(&[], 5, &[], &[]).is_empty());
    }

    #[test]
    fn a_rate_limited_webhook_takes_what_its_second_has_left_and_others_go_on() {
        let mut c: Vec<Due> = (0..6)
            .map(|i| (format!("a{i}"), "A".into(), "X".into(), Some(10)))
            .collect();
        c.extend((0..2).map(|i| due(&format!("b{i}"), "B", "Y")));
        let rate: HashMap<String, usize> = [("A".to_string(), 2)].into();
        let webhooks = HashMap::new();
        let workspaces = HashMap::new();
        let room = Room {
            per_webhook: 16,
            per_workspace: 16,
            webhooks: &webhooks,
            workspaces: &workspaces,
            rate_held: &[],
            ahead: (16, 16),
        };
        let got = fair_pick(&c, 10, &room, &rate);
        assert_eq!(got.ids, ["a0", "b0", "a1", "b1"]);
        assert_eq!(got.rate_held, ["A"]);
        // No room this second at all: none of A, and B untouched.
        let none: HashMap<String, usize> = [("A".to_string(), 0)].into();
        let got = fair_pick(&c, 10, &room, &none);
        assert_eq!(got.ids, ["b0", "b1"]);
        assert_eq!(got.rate_held, ["A"]);
        // Nothing held when the window has room for everything.
        let lots: HashMap<String, usize> = [("A".to_string(), 100)].into();
        assert!(fair_pick(&c, 10, &room, &lots).rate_held.is_empty());
    }
}
