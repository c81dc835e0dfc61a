//! Settings → Storage (administrators): the database's size, rows kept per table, the oldest
//! delivery kept, the retention in force, the last retention pass, and what is waiting.

use super::page::{Ctx, Layout, Nav, render};
use crate::app;
use crate::delivery::send::human_long;
use crate::domain::time;
use crate::error::AppError;
use crate::state::AppState;
use actix_web::{HttpResponse, web};
use askama::Template;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/settings/storage", web::get().to(page));
}

/// `1.5 MiB`, `312 KiB`, `18 B`.
pub fn bytes(n: i64) -> String {
    let n = n.max(0) as f64;
    match n {
        n if n >= 1024.0 * 1024.0 * 1024.0 => format!("{:.1} GiB", n / 1073741824.0),
        n if n >= 1024.0 * 1024.0 => format!("{:.1} MiB", n / 1048576.0),
        n if n >= 1024.0 => format!("{:.0} KiB", n / 1024.0),
        n => format!("{n} B"),
    }
}

struct LastPass {
    at: String,
    took_ms: u64,
    deliveries: u64,
    attempts: u64,
    events: u64,
    audit: u64,
    freed: String,
}

#[derive(Template)]
#[template(path = "storage.html")]
struct StoragePage {
    layout: Layout,
    file: String,
    free: String,
    wal: String,
    /// Rows per table and when they were counted (by the last retention pass).
    rows: Option<(Vec<(&'static str, i64)>, String)>,
    oldest: Option<String>,
    retention: String,
    audit_retention: String,
    last: Option<LastPass>,
    waiting: i64,
    retrying: i64,
}

async fn page(state: web::Data<AppState>, ctx: Ctx) -> Result<HttpResponse, AppError> {
    let s = app::storage::storage(&state, &ctx.actor()?).await?;
    let n = s.numbers;
    render(&StoragePage {
        layout: ctx.layout("Storage", Nav::Storage),
        file: bytes(n.file_bytes),
        free: bytes(n.free_bytes),
        wal: bytes(n.wal_bytes),
        oldest: n
            .counts
            .as_ref()
            .and_then(|c| c.oldest_delivery_ms)
            .map(time::display),
        rows: n.counts.map(|c| (c.rows, time::display_seconds(c.at_ms))),
        retention: human_long(s.retention),
        audit_retention: human_long(s.audit_retention),
        last: s.last_prune.map(|r| LastPass {
            at: time::display_seconds(r.at_ms),
            took_ms: r.took_ms,
            deliveries: r.deliveries,
            attempts: r.attempts,
            events: r.events,
            audit: r.audit,
            freed: bytes(r.freed_bytes),
        }),
        waiting: n.waiting,
        retrying: n.retrying,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn sizes_read_like_people_write_them() {
        assert_eq!(super::bytes(18), "18 B");
        assert_eq!(super::bytes(312 * 1024), "312 KiB");
        assert_eq!(super::bytes(3 * 1024 * 1024 / 2), "1.5 MiB");
        assert_eq!(super::bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
    }
}
