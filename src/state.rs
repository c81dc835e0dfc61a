//! `AppState`: what every request handler, use case and the delivery actor share, built once
//! by `build_state` and handed around (never global).

use crate::delivery::intake::Intake;
use crate::store::users::Role;
use crate::{config::Config, db, domain, limits, metrics};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Everything a request handler may need; cloned cheaply through `web::Data`.
pub struct AppState {
    pub config: Config,
    pub pool: db::DbPool,
    /// Whether the database takes writes now (503s, `/healthz`, the banner, the metric).
    pub health: std::sync::Arc<db::health::Health>,
    /// The token of the one-time /setup link while no administrator exists.
    pub setup_token: Mutex<Option<String>>,
    /// Wakes the delivery actor: something was published or an attempt finished.
    pub wakeup: std::sync::Arc<tokio::sync::Notify>,
    pub metrics: metrics::Metrics,
    /// Stores published events, many per transaction.
    pub intake: Intake,
    pub api_key_cache: KeyCache,
    /// Counts workspaces made and deleted through this process (the delivery actor then counts
    /// them again at once).
    pub workspaces_changed: std::sync::atomic::AtomicU64,
    /// Workspaces by the id or uid they were looked up with (scopes resolve through it).
    pub workspace_cache: TtlCache<crate::store::workspaces::Workspace>,
    /// Taken around the delivery pipeline's write transactions (see `db::immediate`).
    pub write_lock: db::WriteLock,
    /// Where the data lives (the SQLite file, or a PostgreSQL database other instances share).
    pub location: db::Location,
    /// The address the server listens on (known once `run` has its listener).
    pub local_addr: std::sync::OnceLock<std::net::SocketAddr>,
    /// Failed sign-ins per account and per client address.
    pub sign_in_throttle: limits::sign_in::SignInThrottle,
    /// Seals and opens signing secrets at rest.
    pub secrets: domain::crypto::SecretBox,
    /// Password hashes run here, a bounded number at once.
    pub passwords: limits::PasswordWork,
    /// Send Test and Resend in flight.
    pub manual_attempts: limits::ManualAttempts,
    /// Delivery Log and audit log queries in flight.
    pub list_queries: limits::ListQueries,
    /// The time portal links and sessions expire by (tests move it on).
    pub clock: domain::time::Clock,
}

/// Free space below which an SQLite database's file system counts as full.
const MIN_FREE_BYTES: u64 = 64 * 1024;

impl AppState {
    /// Whether the SQLite file's file system has no room left (never on PostgreSQL, whose
    /// disk is not ours to look at).
    pub fn file_system_full(&self) -> bool {
        match &self.location {
            db::Location::Sqlite(path) => {
                db::space::available_bytes(path).is_some_and(|free| free < MIN_FREE_BYTES)
            }
            db::Location::Postgres(_) => false,
        }
    }

    /// While the database is down, tries one small write: when it commits, the database is up
    /// again (the health state says so, and logs how long it was down). Returns whether it is
    /// up.
    pub async fn probe_database(&self) -> bool {
        if self.health.current().is_none() {
            return true;
        }
        if self.file_system_full() {
            return false;
        }
        let written = db::run(&self.pool, |conn| {
            db::write_transaction(conn, crate::store::workspaces::probe)
                .map_err(crate::error::AppError::from)
        })
        .await;
        self.health.observe(&written, crate::error::AppError::fault);
        written.is_ok()
    }

    /// Where this server listens; the configured address until `run` knows better.
    pub fn local_addr(&self) -> std::net::SocketAddr {
        *self.local_addr.get_or_init(|| {
            self.config
                .bind
                .parse()
                .unwrap_or_else(|_| std::net::SocketAddr::from(([127, 0, 0, 1], 8080)))
        })
    }
}

/// An API key as verified: who is calling, with which role.
#[derive(Debug, Clone)]
pub struct VerifiedKey {
    pub key_id: i32,
    /// None for instance keys.
    pub workspace_id: Option<String>,
    pub name: String,
    pub role: Role,
}

/// How long a verified key (or a workspace looked up) is trusted without asking the database
/// again.
pub const KEY_CACHE_TTL: Duration = Duration::from_secs(10);

/// Recently read values by key, trusted for `KEY_CACHE_TTL`, so a busy publisher does not cost
/// a database read per request. Whatever changes a value clears the cache.
pub struct TtlCache<V>(Mutex<HashMap<String, (V, Instant)>>);

impl<V> Default for TtlCache<V> {
    fn default() -> Self {
        TtlCache(Mutex::new(HashMap::new()))
    }
}

impl<V: Clone> TtlCache<V> {
    pub fn get(&self, key: &str) -> Option<V> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(key)
            .filter(|(_, at)| at.elapsed() < KEY_CACHE_TTL)
            .map(|(value, _)| value.clone())
    }

    pub fn put(&self, key: String, value: V) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.retain(|_, (_, at)| at.elapsed() < KEY_CACHE_TTL);
        map.insert(key, (value, Instant::now()));
    }

    pub fn clear(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).clear();
    }
}

/// Recently verified keys (hash → key). Revoking a key clears it.
pub type KeyCache = TtlCache<VerifiedKey>;
