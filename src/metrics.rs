//! Counters for GET /metrics (Prometheus text format). Plain atomics: no registry needed.

use std::fmt::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};

/// Upper bounds (seconds) of the attempt duration histogram.
const BUCKETS: [f64; 12] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

#[derive(Default)]
pub struct Metrics {
    pub events_accepted: AtomicU64,
    pub deliveries_created: AtomicU64,
    pub deliveries_succeeded: AtomicU64,
    pub deliveries_failed: AtomicU64,
    pub deliveries_retried: AtomicU64,
    /// Attempts by outcome: 2xx, 3xx, 4xx, 5xx, error (no HTTP status).
    attempts: [AtomicU64; 5],
    duration_buckets: [AtomicU64; BUCKETS.len()],
    duration_sum_micros: AtomicU64,
    duration_count: AtomicU64,
    pub in_flight: AtomicU64,
    /// Deliveries the intake handed straight to a sender (stored leased; no claim read them).
    pub deliveries_straight: AtomicU64,
    pub webhooks_auto_disabled: AtomicU64,
    /// What retention removed, in all: deliveries, attempts, events, audit entries.
    pub pruned: [AtomicU64; 4],
    /// The last retention pass.
    pub last_prune: Mutex<Option<PruneReport>>,
}

/// Rows kept per table and the oldest delivery, counted at the end of each retention pass
/// (counting a table of millions of rows on every page view or scrape would cost more than
/// the page itself).
#[derive(Debug, Clone, Default)]
pub struct RowCounts {
    pub at_ms: i64,
    pub rows: Vec<(&'static str, i64)>,
    pub oldest_delivery_ms: Option<i64>,
}

/// What one retention pass removed, and when.
#[derive(Debug, Clone, Default)]
pub struct PruneReport {
    pub at_ms: i64,
    /// What the tables held when the pass ended.
    pub counts: RowCounts,
    pub took_ms: u64,
    pub deliveries: u64,
    pub attempts: u64,
    pub events: u64,
    pub audit: u64,
    /// Bytes the file shrank by (incremental vacuum).
    pub freed_bytes: i64,
}

/// Numbers read from the database when /metrics is scraped or the Storage page is shown.
#[derive(Debug, Clone, Default)]
pub struct StorageNumbers {
    pub file_bytes: i64,
    pub free_bytes: i64,
    pub wal_bytes: i64,
    /// As counted by the last retention pass (None before the first).
    pub counts: Option<RowCounts>,
    pub waiting: i64,
    pub retrying: i64,
}

const PRUNED: [&str; 4] = ["deliveries", "attempts", "events", "audit_log"];

const CLASSES: [&str; 5] = ["2xx", "3xx", "4xx", "5xx", "error"];

impl Metrics {
    pub fn attempt(&self, status: Option<u16>, duration: std::time::Duration) {
        let class = match status {
            Some(200..=299) => 0,
            Some(300..=399) => 1,
            Some(400..=499) => 2,
            Some(500..=599) => 3,
            _ => 4,
        };
        self.attempts[class].fetch_add(1, Relaxed);
        let secs = duration.as_secs_f64();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                self.duration_buckets[i].fetch_add(1, Relaxed);
            }
        }
        self.duration_sum_micros
            .fetch_add(duration.as_micros() as u64, Relaxed);
        self.duration_count.fetch_add(1, Relaxed);
    }

    /// Counts what a retention pass removed and keeps it as the last pass.
    pub fn pruned(&self, report: PruneReport) {
        for (n, v) in [
            report.deliveries,
            report.attempts,
            report.events,
            report.audit,
        ]
        .iter()
        .zip(&self.pruned)
        {
            v.fetch_add(*n, Relaxed);
        }
        *self.last_prune.lock().unwrap_or_else(|p| p.into_inner()) = Some(report);
    }

    /// The storage part of the exposition text.
    pub fn render_storage(&self, s: &StorageNumbers) -> String {
        let mut out = String::with_capacity(1024);
        let mut gauge = |name: &str, help: &str, lines: &[(String, i64)]| {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
            for (labels, v) in lines {
                let _ = writeln!(out, "{name}{labels} {v}");
            }
        };
        gauge(
            "aethenox_database_bytes",
            "The database on disk: the file, its free pages, the write-ahead log.",
            &[
                ("{part=\"file\"}".into(), s.file_bytes),
                ("{part=\"free\"}".into(), s.free_bytes),
                ("{part=\"wal\"}".into(), s.wal_bytes),
            ],
        );
        let counts = s.counts.clone().unwrap_or_default();
        let rows: Vec<(String, i64)> = counts
            .rows
            .iter()
            .map(|(t, n)| (format!("{{table=\"{t}\"}}"), *n))
            .collect();
        gauge(
            "aethenox_rows",
            "Rows kept per table, as counted by the last retention pass.",
            &rows,
        );
        gauge(
            "aethenox_oldest_delivery_timestamp_seconds",
            "When the oldest delivery kept was created (0 when there is none).",
            &[(
                String::new(),
                counts.oldest_delivery_ms.map_or(0, |ms| ms / 1000),
            )],
        );
        gauge(
            "aethenox_deliveries_waiting",
            "Pending deliveries: before their first attempt, or waiting for a retry.",
            &[
                ("{state=\"first_attempt\"}".into(), s.waiting),
                ("{state=\"retrying\"}".into(), s.retrying),
            ],
        );
        let last = self
            .last_prune
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        gauge(
            "aethenox_retention_last_run_timestamp_seconds",
            "When retention last ran (0 before its first pass).",
            &[(String::new(), last.map_or(0, |r| r.at_ms / 1000))],
        );
        let _ = writeln!(
            out,
            "# HELP aethenox_pruned_total Rows deleted by retention.\n# TYPE aethenox_pruned_total counter"
        );
        for (table, v) in PRUNED.iter().zip(&self.pruned) {
            let _ = writeln!(
                out,
                "aethenox_pruned_total{{table=\"{table}\"}} {}",
                v.load(Relaxed)
            );
        }
        out
    }

    /// The exposition text; `queue` is (due now, scheduled later), read from the database.
    /// The counters and gauges; the queue's depth when it could be read (not while the
    /// database is down), and whether the database takes writes.
    pub fn render(&self, queue: Option<(i64, i64)>, database_up: bool) -> String {
        let mut out = String::with_capacity(2048);
        let mut counter = |name: &str, help: &str, v: u64| {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {v}"
            );
        };
        counter(
            "aethenox_events_accepted_total",
            "Events accepted through the API.",
            self.events_accepted.load(Relaxed),
        );
        counter(
            "aethenox_deliveries_created_total",
            "Deliveries created (one per event and subscribed webhook).",
            self.deliveries_created.load(Relaxed),
        );
        counter(
            "aethenox_webhooks_auto_disabled_total",
            "Webhooks disabled by 410 Gone or by failing too long.",
            self.webhooks_auto_disabled.load(Relaxed),
        );
        let _ = writeln!(
            out,
            "# HELP aethenox_deliveries_total Delivery attempts' outcomes for the delivery: succeeded, retry scheduled, failed for good.\n# TYPE aethenox_deliveries_total counter"
        );
        for (outcome, v) in [
            ("succeeded", &self.deliveries_succeeded),
            ("retry_scheduled", &self.deliveries_retried),
            ("failed", &self.deliveries_failed),
        ] {
            let _ = writeln!(
                out,
                "aethenox_deliveries_total{{outcome=\"{outcome}\"}} {}",
                v.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP aethenox_attempts_total Delivery attempts by response status class.\n# TYPE aethenox_attempts_total counter"
        );
        for (class, v) in CLASSES.iter().zip(&self.attempts) {
            let _ = writeln!(
                out,
                "aethenox_attempts_total{{class=\"{class}\"}} {}",
                v.load(Relaxed)
            );
        }
        let _ = writeln!(
            out,
            "# HELP aethenox_attempt_duration_seconds Time from sending a delivery to its outcome.\n# TYPE aethenox_attempt_duration_seconds histogram"
        );
        for (le, v) in BUCKETS.iter().zip(&self.duration_buckets) {
            let _ = writeln!(
                out,
                "aethenox_attempt_duration_seconds_bucket{{le=\"{le}\"}} {}",
                v.load(Relaxed)
            );
        }
        let count = self.duration_count.load(Relaxed);
        let _ = writeln!(
            out,
            "aethenox_attempt_duration_seconds_bucket{{le=\"+Inf\"}} {count}"
        );
        let _ = writeln!(
            out,
            "aethenox_attempt_duration_seconds_sum {}",
            self.duration_sum_micros.load(Relaxed) as f64 / 1e6
        );
        let _ = writeln!(out, "aethenox_attempt_duration_seconds_count {count}");
        let _ = writeln!(
            out,
            "# HELP aethenox_database_up 1 while the database takes writes, 0 while it cannot be reached or is full.\n# TYPE aethenox_database_up gauge\naethenox_database_up {}",
            u8::from(database_up)
        );
        if let Some(queue) = queue {
            let _ = writeln!(
                out,
                "# HELP aethenox_queue_depth Pending deliveries: due now, or scheduled for a later retry.\n# TYPE aethenox_queue_depth gauge"
            );
            let _ = writeln!(out, "aethenox_queue_depth{{state=\"due\"}} {}", queue.0);
            let _ = writeln!(
                out,
                "aethenox_queue_depth{{state=\"scheduled\"}} {}",
                queue.1
            );
        }
        let _ = writeln!(
            out,
            "# HELP aethenox_attempts_in_flight Attempts being sent right now.\n# TYPE aethenox_attempts_in_flight gauge"
        );
        let _ = writeln!(
            out,
            "aethenox_attempts_in_flight {}",
            self.in_flight.load(Relaxed)
        );
        let _ = writeln!(
            out,
            "# HELP aethenox_deliveries_straight_total Deliveries sent without a claim: stored leased by the intake while nothing waited.\n# TYPE aethenox_deliveries_straight_total counter\naethenox_deliveries_straight_total {}",
            self.deliveries_straight.load(Relaxed)
        );
        let statements = crate::db::STATEMENTS.load(Relaxed);
        if statements > 0 {
            let _ = writeln!(
                out,
                "# HELP aethenox_db_statements_total Statements this process ran on PostgreSQL (BEGIN and COMMIT included).\n# TYPE aethenox_db_statements_total counter\naethenox_db_statements_total {statements}",
            );
        }
        out
    }
}

/// The deliveries this instance has claimed that wait in memory for room under the caps on
/// attempts in flight (claims take up to four times the caps ahead, `delivery::in_flight`).
pub fn render_held(held: usize) -> String {
    format!(
        "# HELP aethenox_deliveries_held Deliveries this instance has claimed that wait in memory for room under the caps on attempts in flight.\n# TYPE aethenox_deliveries_held gauge\naethenox_deliveries_held {held}\n"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn histogram_is_cumulative_and_classes_add_up() {
        let m = Metrics::default();
        m.attempt(Some(204), Duration::from_millis(3));
        m.attempt(Some(503), Duration::from_millis(40));
        m.attempt(None, Duration::from_secs(15));
        let text = m.render(Some((2, 5)), true);
        assert!(text.contains("aethenox_attempts_total{class=\"2xx\"} 1"));
        assert!(text.contains("aethenox_attempts_total{class=\"5xx\"} 1"));
        assert!(text.contains("aethenox_attempts_total{class=\"error\"} 1"));
        assert!(text.contains("aethenox_attempt_duration_seconds_bucket{le=\"0.005\"} 1"));
        assert!(text.contains("aethenox_attempt_duration_seconds_bucket{le=\"0.05\"} 2"));
        assert!(text.contains("aethenox_attempt_duration_seconds_bucket{le=\"30\"} 3"));
        assert!(text.contains("aethenox_attempt_duration_seconds_bucket{le=\"+Inf\"} 3"));
        assert!(text.contains("aethenox_queue_depth{state=\"due\"} 2"));
        assert!(text.contains("aethenox_queue_depth{state=\"scheduled\"} 5"));
    }
}
