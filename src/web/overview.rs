//! A webhook's overview numbers: deliveries per hour over the last 24 hours by outcome (drawn
//! as an SVG chart), the success rate, the p95 duration and the last error.

use crate::app;
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use crate::store::deliveries as store;

pub struct Bar {
    pub x: u32,
    pub label: String,
    pub ok_y: u32,
    pub ok_h: u32,
    pub fail_y: u32,
    pub fail_h: u32,
    pub other_y: u32,
    pub other_h: u32,
    pub title: String,
}

pub struct Stats {
    pub bars: Vec<Bar>,
    pub total: usize,
    pub success_rate: Option<String>,
    pub p95: Option<String>,
    pub last_error: Option<(String, String)>,
}

pub const CHART_HEIGHT: u32 = 120;

/// Deliveries per hour over the last 24 hours by outcome, success rate, p95 duration, last error.
pub async fn stats(
    state: &AppState,
    scope: &app::scope::Scope,
    webhook_id: &str,
) -> Result<Stats, AppError> {
    let now = time::now_ms();
    let hour = 3_600_000;
    let start = (now / hour - 23) * hour;
    let app::deliveries::Recent {
        rows,
        last_error: last,
    } = app::deliveries::recent(state, scope, webhook_id, start).await?;
    let mut buckets = [[0u32; 3]; 24];
    let mut durations: Vec<i32> = Vec::new();
    for (created, status, duration) in &rows {
        let i = (((created - start) / hour).clamp(0, 23)) as usize;
        let k = match status.as_str() {
            store::SUCCEEDED => 0,
            store::FAILED => 1,
            _ => 2,
        };
        buckets[i][k] += 1;
        if let Some(d) = duration {
            durations.push(*d);
        }
    }
    let peak = buckets
        .iter()
        .map(|b| b.iter().sum::<u32>())
        .max()
        .unwrap_or(0)
        .max(1);
    let scale = |n: u32| (n as u64 * CHART_HEIGHT as u64 / peak as u64) as u32;
    let bars = buckets
        .iter()
        .enumerate()
        .map(|(i, [ok, fail, other])| {
            let (ok_h, fail_h, other_h) = (scale(*ok), scale(*fail), scale(*other));
            let ok_y = CHART_HEIGHT - ok_h;
            let fail_y = ok_y - fail_h;
            let label = time::display(start + i as i64 * hour)[11..16].to_owned();
            Bar {
                x: i as u32 * 20,
                title: format!("{label} UTC: {ok} succeeded, {fail} failed, {other} waiting"),
                label,
                ok_y,
                ok_h,
                fail_y,
                fail_h,
                other_y: fail_y - other_h,
                other_h,
            }
        })
        .collect();
    let finished_ok: u32 = buckets.iter().map(|b| b[0]).sum();
    let finished_fail: u32 = buckets.iter().map(|b| b[1]).sum();
    let success_rate = (finished_ok + finished_fail > 0).then(|| {
        format!(
            "{:.1}%",
            finished_ok as f64 * 100.0 / (finished_ok + finished_fail) as f64
        )
    });
    durations.sort_unstable();
    let p95 = (!durations.is_empty())
        .then(|| format!("{} ms", durations[(durations.len() * 95).div_ceil(100) - 1]));
    Ok(Stats {
        bars,
        total: rows.len(),
        success_rate,
        p95,
        last_error: last.map(|(at, _, e)| (time::display_seconds(at), e)),
    })
}
