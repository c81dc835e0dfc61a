//! A sender thread: every job it is handed is sent as a task of its own, which then sends the
//! jobs that waited for the room its attempt leaves.

use super::handoff::Handoff;
use super::in_flight::Job;
use super::outcome::{decide, log_attempt, outcome};
use super::send;
use crate::domain::time;
use crate::state::AppState;
use crate::store::deliveries::{After, Outcome};
use actix_web::web::Data;
use std::rc::Rc;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use tokio::sync::mpsc;

/// A sender thread: sends every job it is handed, each as its own task.
pub(super) async fn sender(
    state: Data<AppState>,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    outcomes: mpsc::UnboundedSender<Outcome>,
    handoff: Arc<Handoff>,
) {
    let config = &state.config;
    let client = Rc::new(send::client(
        config.allow_private_targets,
        config.request_timeout,
        config.max_in_flight,
    ));
    while let Some((job, secrets, straight)) = jobs.recv().await {
        state.metrics.in_flight.fetch_add(1, Ordering::Relaxed);
        if straight {
            state
                .metrics
                .deliveries_straight
                .fetch_add(1, Ordering::Relaxed);
        }
        let (state, client, outcomes, handoff) = (
            state.clone(),
            client.clone(),
            outcomes.clone(),
            handoff.clone(),
        );
        actix_web::rt::spawn(async move {
            let config = &state.config;
            let policy = send::Policy::of(&state);
            let m = &state.metrics;
            // One attempt, then the next job that waited for the room it leaves, if any.
            let mut next = Some((job, secrets));
            while let Some((job, secrets)) = next.take() {
                let custom = send::custom_headers(&state.secrets, &job);
                let sent = send::send(
                    &client,
                    &job,
                    &secrets,
                    &custom,
                    policy,
                    config.request_timeout,
                )
                .await;
                let after = decide(&job, &sent, &config.retry_schedule, time::now_ms());
                log_attempt(&job, &sent, after);
                m.attempt(sent.status, sent.duration);
                match after {
                    After::Succeeded => m.deliveries_succeeded.fetch_add(1, Ordering::Relaxed),
                    After::RetryAt(_) => m.deliveries_retried.fetch_add(1, Ordering::Relaxed),
                    After::Failed => m.deliveries_failed.fetch_add(1, Ordering::Relaxed),
                    After::Unchanged => 0,
                };
                let _ = outcomes.send(outcome(&job, sent, after, "automatic"));
                let (wake, waited) = handoff.finished(&job, time::now_ms());
                // Room for what waits in the queue; when nothing does, the dispatcher sleeps on.
                if wake {
                    state.wakeup.notify_one();
                }
                if waited.is_none() {
                    m.in_flight.fetch_sub(1, Ordering::Relaxed);
                }
                next = waited.map(|(job, secrets, _)| (job, secrets));
            }
        });
    }
}
