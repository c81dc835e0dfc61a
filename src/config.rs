//! Typed settings, read from flags and `AETHENOX_*` environment variables by `main.rs` and
//! passed around in `AppState` (never global).

use std::path::PathBuf;
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Config {
    pub bind: String,
    pub data_dir: PathBuf,
    /// PostgreSQL (`postgres://…`) instead of the SQLite file in the data directory.
    pub database_url: Option<String>,
    pub allow_private_targets: bool,
    pub retry_schedule: Vec<Duration>,
    pub request_timeout: Duration,
    /// Most delivery attempts in flight at once.
    pub max_in_flight: usize,
    /// Most attempts in flight to one webhook at once.
    pub max_per_endpoint: usize,
    /// Most attempts in flight for one workspace, so one account's backlog cannot hold up
    /// another's fresh events.
    pub max_per_workspace: usize,
    /// A webhook failing this long without a success is disabled.
    pub disable_after: Duration,
    /// A session ends after this long without a request...
    pub session_idle: Duration,
    /// ...and in any case this long after sign-in.
    pub session_max: Duration,
    /// Most password hashes (Argon2, 19 MiB each) computed at once.
    pub max_password_hashes: usize,
    /// How long a sign-in waits for a turn to hash before it is told the server is busy.
    pub password_hash_wait: Duration,
    /// Most Send Test and Resend attempts in flight at once (a quarter of them, at least one,
    /// to one webhook).
    pub max_manual_attempts: usize,
    /// How long a Delivery Log or audit log query waits for a turn before the answer is "busy".
    pub list_query_wait: Duration,
    /// Most bytes of published events waiting to be stored before publishers are told to retry.
    pub max_queued_event_bytes: usize,
    /// Deliveries finished (succeeded or failed) longer ago than this are deleted with their
    /// attempts, and events left with no delivery too.
    pub retention: Duration,
    /// Audit entries older than this are deleted.
    pub audit_retention: Duration,
    /// How often the pruner runs (at least once a minute).
    pub prune_every: Duration,
    /// The master key for signing secrets at rest (AETHENOX_SECRET_KEY); None: the key file
    /// `secret.key` in the data directory, made on first start.
    pub secret_key: Option<String>,
    /// How users reach this server (`https://hooks.example.com`), when it is not how requests
    /// arrive (behind a TLS-terminating proxy): the base of portal links, and with https every
    /// cookie is `Secure` and pages send `Strict-Transport-Security`.
    pub public_url: Option<String>,
    /// Origins that may frame the customer portal (none: no site may).
    pub portal_frame_ancestors: Vec<String>,
}

impl Config {
    /// The defaults of DESIGN.md, with the data directory given.
    pub fn with_data_dir(data_dir: impl Into<PathBuf>) -> Self {
        Config {
            bind: "127.0.0.1:8080".into(),
            data_dir: data_dir.into(),
            database_url: None,
            allow_private_targets: false,
            retry_schedule: parse_retry_schedule(DEFAULT_RETRY_SCHEDULE).unwrap_or_default(),
            request_timeout: Duration::from_secs(15),
            max_in_flight: 256,
            max_per_endpoint: 16,
            max_per_workspace: 64,
            disable_after: Duration::from_secs(5 * 86_400),
            session_idle: Duration::from_secs(12 * 3600),
            session_max: Duration::from_secs(7 * 86_400),
            max_password_hashes: default_password_hashes(),
            password_hash_wait: Duration::from_secs(2),
            max_manual_attempts: 32,
            list_query_wait: Duration::from_secs(5),
            max_queued_event_bytes: MAX_QUEUED_EVENT_BYTES,
            retention: Duration::from_secs(30 * 86_400),
            audit_retention: Duration::from_secs(400 * 86_400),
            prune_every: Duration::from_secs(60),
            secret_key: None,
            public_url: None,
            portal_frame_ancestors: Vec::new(),
        }
    }

    /// Users reach this server over https (so cookies are `Secure`, and HSTS is sent).
    pub fn public_https(&self) -> bool {
        self.public_url
            .as_deref()
            .is_some_and(|u| u.starts_with("https://"))
    }

    pub fn db_path(&self) -> PathBuf {
        self.data_dir.join("aethenox.db")
    }
}

/// Most bytes of published events waiting to be stored, by default; beyond it publishers are
/// told to retry, so a flood cannot make the queue hold unbounded memory.
pub const MAX_QUEUED_EVENT_BYTES: usize = 32 * 1024 * 1024;

/// One password hash at a time per core.
pub fn default_password_hashes() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get())
}

pub const DEFAULT_RETRY_SCHEDULE: &str = "5s,5m,30m,2h,5h,10h,10h";

/// Parses `500ms`, `5s`, `5m`, `2h`, `5d`.
pub fn parse_duration(raw: &str) -> Result<Duration, String> {
    let s = raw.trim();
    let split = s.find(|c: char| !c.is_ascii_digit()).unwrap_or(s.len());
    let (digits, unit) = s.split_at(split);
    let n: u64 = digits.parse().map_err(|_| {
        format!("'{raw}' is not a duration (write it like 500ms, 5s, 5m, 2h or 5d)")
    })?;
    let ms_per_unit: u64 = match unit {
        "ms" => 1,
        "s" => 1000,
        "m" => 60_000,
        "h" => 3_600_000,
        "d" => 86_400_000,
        _ => return Err(format!("'{raw}' has no known unit (use ms, s, m, h or d)")),
    };
    n.checked_mul(ms_per_unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("'{raw}' is too long"))
}

/// `--public-url`: an origin, `https://hooks.example.com` (a path would not be kept by the
/// pages, whose links start at `/`).
pub fn parse_public_url(raw: &str) -> Result<String, String> {
    crate::domain::portal::check_origin(raw.trim()).map_err(|_| {
        format!(
            "'{raw}' is not a public URL: write it as scheme://host or scheme://host:port, \
             with no path, e.g. https://hooks.example.com"
        )
    })
}

/// A positive duration, for timeouts.
pub fn parse_timeout(raw: &str) -> Result<Duration, String> {
    match parse_duration(raw)? {
        d if d.is_zero() => Err("the timeout must be longer than zero".into()),
        d => Ok(d),
    }
}

/// A comma-separated list of delays between attempts, e.g. `5s,5m,30m`.
pub fn parse_retry_schedule(raw: &str) -> Result<Vec<Duration>, String> {
    if raw.trim().is_empty() {
        return Ok(Vec::new());
    }
    raw.split(',').map(parse_duration).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
        assert_eq!(parse_duration("2h"), Ok(Duration::from_secs(7200)));
        assert_eq!(parse_duration("5d"), Ok(Duration::from_secs(432_000)));
        for bad in ["", "5", "s", "5x", "-5s", "1.5s", "99999999999999999999d"] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
        assert!(parse_timeout("0s").is_err());
    }

    #[test]
    fn default_schedule_is_seven_delays_over_about_27_and_a_half_hours() {
        let s = parse_retry_schedule(DEFAULT_RETRY_SCHEDULE).unwrap();
        assert_eq!(s.len(), 7);
        let total: Duration = s.iter().sum();
        assert_eq!(
            total,
            Duration::from_secs(5 + 300 + 1800 + 7200 + 18000 + 36000 + 36000)
        );
        assert!(parse_retry_schedule("5s,,5m").is_err());
    }
}
