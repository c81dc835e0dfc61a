//! What an attempt's result means for its delivery (retry, give up) and how it is written
//! down and logged.

use super::send;
use crate::domain::{ids, retry, time};
use crate::store::claims::Claimed;
use crate::store::deliveries::{After, NewAttempt, Outcome};
use std::time::Duration;

fn jitter() -> f64 {
    let bytes: [u8; 8] = ids::random_bytes();
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Where the delivery stands after this attempt.
pub(super) fn decide(
    job: &Claimed,
    sent: &send::Sent,
    schedule: &[Duration],
    now_ms: i64,
) -> After {
    if sent.success() {
        return After::Succeeded;
    }
    if sent.status == Some(410) || job.is_test {
        return After::Failed;
    }
    let retry_after = match sent.status {
        Some(429 | 503) => sent
            .header("retry-after")
            .and_then(|v| retry::parse_retry_after(v, now_ms)),
        _ => None,
    };
    // Attempts made by hand (resend) do not move the schedule.
    let attempts = (job.attempt_count - job.manual_attempts + 1).max(1) as u32;
    match retry::after_failure(schedule, attempts, jitter(), retry_after) {
        retry::Next::RetryIn(d) => After::RetryAt(now_ms + d.as_millis() as i64),
        retry::Next::GiveUp => After::Failed,
    }
}

fn headers_json(h: &[(String, String)]) -> String {
    let map: serde_json::Map<String, serde_json::Value> = h
        .iter()
        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
        .collect();
    serde_json::Value::Object(map).to_string()
}

pub(super) fn outcome(job: &Claimed, sent: send::Sent, after: After, trigger: &str) -> Outcome {
    Outcome {
        webhook_id: job.webhook_id.clone(),
        gone: sent.status == Some(410),
        affects_health: !job.is_test,
        ordered: job.ordered,
        after,
        attempt: NewAttempt {
            delivery_id: job.id.clone(),
            attempted_at: sent.attempted_at_ms,
            duration_ms: sent.duration.as_millis().min(i32::MAX as u128) as i32,
            status_code: sent.status.map(i32::from),
            error_class: sent.error_class.map(str::to_owned),
            error: sent.error,
            request_headers: headers_json(&sent.request_headers),
            response_headers: (sent.status.is_some()).then(|| headers_json(&sent.response_headers)),
            response_body: (sent.status.is_some()).then_some(sent.response_body),
            response_truncated: sent.truncated,
            trigger: trigger.to_owned(),
            triggered_by: None,
        },
    }
}

pub(super) fn log_attempt(job: &Claimed, sent: &send::Sent, after: After) {
    let ms = sent.duration.as_millis() as u64;
    match after {
        After::Succeeded => {
            tracing::info!(delivery_id = %job.id, webhook_id = %job.webhook_id, status = sent.status, duration_ms = ms, "delivered")
        }
        After::RetryAt(at) => {
            tracing::warn!(delivery_id = %job.id, webhook_id = %job.webhook_id, status = sent.status,
            error_class = sent.error_class, error = sent.error.as_deref(), duration_ms = ms, retry_in_ms = at - time::now_ms(),
            "attempt failed; retry scheduled")
        }
        After::Failed => {
            tracing::warn!(delivery_id = %job.id, webhook_id = %job.webhook_id, status = sent.status,
            error_class = sent.error_class, error = sent.error.as_deref(), duration_ms = ms, "delivery failed for good")
        }
        After::Unchanged => {
            tracing::warn!(delivery_id = %job.id, webhook_id = %job.webhook_id, status = sent.status,
            error_class = sent.error_class, error = sent.error.as_deref(), duration_ms = ms, "attempt failed")
        }
    }
}
