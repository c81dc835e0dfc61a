//! aethenox-webhooks: the webhooks subsystem of AethenoxAI as one self-hosted binary.
//!
//! `build_state` opens the database; `run` serves the app on a listener. Tests start the
//! real app through the same two functions.

pub mod app;
pub mod config;
pub mod db;
pub mod delivery;
pub mod domain;
pub mod error;
#[doc(hidden)]
pub mod fuzzing;
pub mod limits;
pub mod metrics;
pub mod retention;
pub mod state;
pub mod store;
pub mod web;

use actix_web::{App, HttpServer, dev::Server, middleware::from_fn, web::Data};
use std::net::TcpListener;
use std::sync::Mutex;

pub use config::Config;
pub use state::AppState;

/// The master key: AETHENOX_SECRET_KEY, else `secret.key` in the data directory (made with
/// mode 0600 on first start).
fn master_key(config: &Config) -> anyhow::Result<domain::crypto::SecretBox> {
    use anyhow::Context;
    let text = match &config.secret_key {
        Some(k) => k.clone(),
        None => {
            let path = config.data_dir.join("secret.key");
            if !path.exists() {
                use std::io::Write;
                std::fs::create_dir_all(&config.data_dir).with_context(|| {
                    format!("creating the data directory {}", config.data_dir.display())
                })?;
                let mut options = std::fs::OpenOptions::new();
                options.write(true).create_new(true);
                #[cfg(unix)]
                std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
                let mut file = options
                    .open(&path)
                    .with_context(|| format!("creating {}", path.display()))?;
                writeln!(file, "{}", domain::crypto::new_key_text())?;
                tracing::info!(path = %path.display(), "made a master key for signing secrets; back it up with the database");
            }
            std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?
        }
    };
    let key = domain::crypto::parse_key(&text)
        .map_err(|e| anyhow::anyhow!("the master key (AETHENOX_SECRET_KEY or secret.key): {e}"))?;
    Ok(domain::crypto::SecretBox::new(key))
}

/// Seals signing secrets stored in plaintext by an earlier version; refuses to start when
/// sealed ones do not open (the wrong master key).
fn seal_stored_secrets(
    conn: &mut db::DbConn,
    secrets: &domain::crypto::SecretBox,
) -> anyhow::Result<()> {
    let plain = store::webhooks::unsealed_secrets(conn)?;
    if !plain.is_empty() {
        db::write_transaction(conn, |conn| {
            for (id, s) in &plain {
                store::webhooks::replace_secret(conn, *id, &secrets.seal(s))?;
            }
            Ok::<_, diesel::result::Error>(())
        })?;
        tracing::info!(
            secrets = plain.len(),
            "signing secrets stored in plaintext were encrypted"
        );
    }
    if let Some(sample) = store::webhooks::any_secret(conn)? {
        secrets.open(&sample).map_err(|e| anyhow::anyhow!(e))?;
    }
    Ok(())
}

/// Instances sharing PostgreSQL must share the master key: the first to start seals a known
/// value with its key; every later one must open it, or refuses to start (before it could seal
/// a secret the others cannot open).
fn check_shared_key(
    conn: &mut db::DbConn,
    secrets: &domain::crypto::SecretBox,
) -> anyhow::Result<()> {
    const CHECK: &str = "aethenox master key check";
    let db::DbConn::Pg(conn) = conn else {
        return Ok(());
    };
    let stored = store::settings::get_or_insert(conn, "key_check", &secrets.seal(CHECK))?;
    match secrets.open(&stored) {
        Ok(text) if text == CHECK => Ok(()),
        _ => anyhow::bail!(
            "the master key (AETHENOX_SECRET_KEY or secret.key) differs from the one this \
             PostgreSQL database was first served with: give every instance the same key"
        ),
    }
}

/// Opens and migrates the database; when nobody can sign in yet, makes a setup token.
pub fn build_state(config: Config) -> anyhow::Result<Data<AppState>> {
    limits::tune_allocator();
    let location = db::Location::new(config.database_url.as_deref(), &config.db_path())?;
    let pool = db::open(&location)?;
    let needs_setup = {
        let mut conn = pool.get()?;
        !store::users::any_admin(&mut conn)?
    };
    let setup_token = needs_setup.then(domain::ids::random_token::<24>);
    let secrets = master_key(&config)?;
    seal_stored_secrets(&mut *pool.get()?, &secrets)?;
    check_shared_key(&mut *pool.get()?, &secrets)?;
    let wakeup = std::sync::Arc::new(tokio::sync::Notify::new());
    let write_lock = db::WriteLock::default();
    let health = std::sync::Arc::new(db::health::Health::default());
    let intake = delivery::intake::Intake::start(
        pool.clone(),
        health.clone(),
        wakeup.clone(),
        write_lock.clone(),
        config.max_queued_event_bytes,
        location.is_postgres(),
    )?;
    let passwords =
        limits::PasswordWork::new(config.max_password_hashes, config.password_hash_wait);
    let manual_attempts = limits::ManualAttempts::new(
        config.max_manual_attempts,
        (config.max_manual_attempts / 4).max(1),
    );
    // Half the pool at most, so deliveries and sign-ins always find a connection.
    let list_queries =
        limits::ListQueries::new((db::POOL_SIZE as usize / 2).max(1), config.list_query_wait);
    let sign_in_throttle = limits::sign_in::SignInThrottle::new(&location, &pool);
    Ok(Data::new(AppState {
        config,
        location,
        pool,
        health,
        setup_token: Mutex::new(setup_token),
        wakeup,
        metrics: Default::default(),
        intake,
        api_key_cache: Default::default(),
        workspace_cache: Default::default(),
        workspaces_changed: Default::default(),
        write_lock,
        local_addr: Default::default(),
        sign_in_throttle,
        secrets,
        passwords,
        manual_attempts,
        list_queries,
        clock: Default::default(),
    }))
}

/// Serves the app on `listener` until the returned server is stopped (or gets SIGINT/SIGTERM).
pub fn run(state: Data<AppState>, listener: TcpListener) -> std::io::Result<Server> {
    let _ = state.local_addr.set(listener.local_addr()?);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(state.clone())
            .app_data(web::forms::payload_config())
            .wrap(from_fn(web::guard::guard))
            .wrap(actix_web::middleware::Compress::default())
            .wrap(from_fn(web::compress::reads_only))
            .wrap(from_fn(web::guard::head_as_get))
            // Outermost: a fault met anywhere (the guard's session lookup too) is reported.
            .wrap(from_fn(web::observe_faults))
            .configure(web::configure)
    })
    // Slow or idle clients are cut off instead of holding a worker's connection.
    .client_request_timeout(std::time::Duration::from_secs(10))
    .client_disconnect_timeout(std::time::Duration::from_secs(2))
    .keep_alive(std::time::Duration::from_secs(30))
    .shutdown_timeout(10)
    .listen(listener)?
    .run();
    Ok(server)
}
