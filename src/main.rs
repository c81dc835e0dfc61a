//! The command line: `serve` (the default), `workspaces`, `users add`, `api-keys create`,
//! `portal-link`, `verify`, `backup`, `move-to-postgres`.

mod commands;

use aethenox_webhooks::config::{self, Config};
use aethenox_webhooks::delivery::DeliveryWorker;
use aethenox_webhooks::domain::signing;
use aethenox_webhooks::store;
use aethenox_webhooks::{build_state, db, retention, run};
use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use std::io::Read;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

#[derive(Parser)]
#[command(
    name = "aethenox-webhooks",
    version,
    about = "Signed, retried, logged webhook deliveries for AethenoxAI"
)]
#[command(args_conflicts_with_subcommands = true)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (the default).
    Serve(ServeArgs),
    /// Manage workspaces (one per AethenoxAI account).
    #[command(subcommand)]
    Workspaces(commands::WorkspacesCommand),
    /// Manage users.
    #[command(subcommand)]
    Users(UsersCommand),
    /// Manage API keys.
    #[command(subcommand, name = "api-keys")]
    ApiKeys(ApiKeysCommand),
    /// Print a link to a workspace's customer portal (works once, within 5 minutes).
    #[command(name = "portal-link")]
    PortalLink(commands::PortalLinkArgs),
    /// Check an X-Aethenox-Signature against a body (from FILE or stdin); exit 0 valid, 1 not.
    Verify(VerifyArgs),
    /// Write a consistent copy of the database while the server runs (refuses to overwrite).
    Backup {
        /// The new file to write.
        #[arg(long, value_name = "FILE")]
        to: PathBuf,
        #[command(flatten)]
        data: DataDir,
    },
    /// Copy everything of the SQLite database in --data-dir into an empty PostgreSQL database
    /// (stop the server first); the same master key opens the secrets afterwards.
    #[command(name = "move-to-postgres")]
    MoveToPostgres {
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Args, Clone)]
pub(crate) struct DataDir {
    /// Holds aethenox.db and generated keys; created if missing.
    #[arg(
        long,
        env = "AETHENOX_DATA_DIR",
        default_value = "./data",
        value_name = "DIR"
    )]
    data_dir: PathBuf,
    /// PostgreSQL instead of the SQLite file in --data-dir: postgres://user@host:port/db (any
    /// number of instances may share that database).
    #[arg(long, env = "AETHENOX_DATABASE_URL", value_name = "URL")]
    database_url: Option<String>,
}

impl DataDir {
    /// The database these flags name, opened and migrated; or the usage error saying why not.
    pub(crate) fn open(&self) -> anyhow::Result<Result<db::DbPool, ExitCode>> {
        let file = Config::with_data_dir(&self.data_dir).db_path();
        match db::Location::new(self.database_url.as_deref(), &file) {
            Ok(location) => Ok(Ok(db::open(&location)?)),
            Err(e) => Ok(Err(usage_error(e.to_string()))),
        }
    }
}

#[derive(Args, Clone)]
struct ServeArgs {
    /// Address to listen on.
    #[arg(
        long,
        env = "AETHENOX_BIND",
        default_value = "127.0.0.1:8080",
        value_name = "ADDR"
    )]
    bind: String,
    #[command(flatten)]
    data: DataDir,
    /// Allow http:// URLs and loopback, private and link-local targets.
    #[arg(long, env = "AETHENOX_ALLOW_PRIVATE_TARGETS")]
    allow_private_targets: bool,
    /// Delays between delivery attempts.
    #[arg(long, env = "AETHENOX_RETRY_SCHEDULE", default_value = config::DEFAULT_RETRY_SCHEDULE,
        value_name = "LIST", value_parser = parse_schedule)]
    retry_schedule: Schedule,
    /// Timeout of one delivery attempt.
    #[arg(long, env = "AETHENOX_REQUEST_TIMEOUT", default_value = "15s", value_name = "DUR",
        value_parser = config::parse_timeout)]
    request_timeout: Duration,
    /// Most delivery attempts in flight at once.
    #[arg(long, env = "AETHENOX_MAX_IN_FLIGHT", default_value = "256", value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_in_flight: u32,
    /// Most attempts in flight to one webhook at once.
    #[arg(long, env = "AETHENOX_MAX_PER_ENDPOINT", default_value = "16", value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_per_endpoint: u32,
    /// Most attempts in flight for one workspace at once, so one account's backlog cannot hold
    /// up another's fresh events.
    #[arg(long, env = "AETHENOX_MAX_PER_WORKSPACE", default_value = "64", value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=100_000))]
    max_per_workspace: u32,
    /// Disable a webhook whose deliveries have failed this long without a success.
    #[arg(long, env = "AETHENOX_DISABLE_AFTER", default_value = "5d", value_name = "DUR",
        value_parser = config::parse_timeout)]
    disable_after: Duration,
    /// Sign a browser out after this long without a request.
    #[arg(long, env = "AETHENOX_SESSION_IDLE", default_value = "12h", value_name = "DUR",
        value_parser = config::parse_timeout)]
    session_idle: Duration,
    /// Sign a browser out this long after sign-in, however active.
    #[arg(long, env = "AETHENOX_SESSION_MAX", default_value = "7d", value_name = "DUR",
        value_parser = config::parse_timeout)]
    session_max: Duration,
    /// Most password hashes computed at once (each holds 19 MiB); default: the number of cores.
    #[arg(long, env = "AETHENOX_MAX_PASSWORD_HASHES", value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=256))]
    max_password_hashes: Option<u32>,
    /// Most Send Test and Resend attempts in flight at once (a quarter of them to one webhook).
    #[arg(long, env = "AETHENOX_MAX_MANUAL_ATTEMPTS", default_value = "32", value_name = "N",
        value_parser = clap::value_parser!(u32).range(1..=10_000))]
    max_manual_attempts: u32,
    /// Delete deliveries finished longer ago than this (with their attempts), and events left
    /// with no delivery.
    #[arg(long, env = "AETHENOX_RETENTION", default_value = "30d", value_name = "DUR",
        value_parser = config::parse_timeout)]
    retention: Duration,
    /// Delete audit log entries older than this.
    #[arg(long, env = "AETHENOX_AUDIT_RETENTION", default_value = "400d", value_name = "DUR",
        value_parser = config::parse_timeout)]
    audit_retention: Duration,
    /// How users reach this server, e.g. https://hooks.example.com behind a TLS proxy: the
    /// base of portal links; with https, cookies are Secure and pages send HSTS.
    #[arg(long, env = "AETHENOX_PUBLIC_URL", value_name = "URL",
        value_parser = config::parse_public_url)]
    public_url: Option<String>,
    /// Origins that may embed the customer portal in a frame (spaces or commas between them),
    /// e.g. https://app.aethenox.ai; 'none': no site may.
    #[arg(long, env = "AETHENOX_PORTAL_FRAME_ANCESTORS", default_value = "'none'",
        value_name = "LIST", value_parser = parse_ancestors)]
    portal_frame_ancestors: Ancestors,
}

/// The origins of --portal-frame-ancestors, as one value.
#[derive(Clone)]
struct Ancestors(Vec<String>);

fn parse_ancestors(raw: &str) -> Result<Ancestors, String> {
    aethenox_webhooks::domain::portal::parse_frame_ancestors(raw).map(Ancestors)
}

#[derive(Subcommand)]
enum UsersCommand {
    /// Create a user; the password is read from standard input.
    Add {
        #[arg(long, value_name = "E")]
        email: String,
        #[arg(long, value_parser = ["admin", "support"])]
        role: String,
        /// Read the password from standard input (required: passwords never go in arguments).
        #[arg(long, required = true)]
        password_stdin: bool,
        /// Make a member of this workspace (id or uid) instead of an instance user.
        #[arg(long, value_name = "WS")]
        workspace: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Subcommand)]
enum ApiKeysCommand {
    /// Create an API key and print it alone on standard output.
    Create {
        #[arg(long)]
        name: String,
        /// admin: everything; support: read, Send Test and Resend.
        #[arg(long, default_value = "admin", value_parser = ["admin", "support"])]
        role: String,
        /// A key of this workspace (id or uid) instead of an instance key.
        #[arg(long, value_name = "WS")]
        workspace: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
}

#[derive(Args)]
struct VerifyArgs {
    /// The webhook's signing secret (whsec_…).
    #[arg(long, value_name = "S")]
    secret: String,
    /// The X-Aethenox-Signature header value.
    #[arg(long, value_name = "HEX")]
    signature: String,
    /// The raw body; standard input when absent.
    file: Option<PathBuf>,
}

/// One value holding the whole list (clap would read a `Vec` as a repeated flag).
#[derive(Clone)]
struct Schedule(Vec<Duration>);

fn parse_schedule(raw: &str) -> Result<Schedule, String> {
    config::parse_retry_schedule(raw).map(Schedule)
}

/// A bad flag or value: one line naming it, exit code 2, nothing written.
pub(crate) fn usage_error(message: impl std::fmt::Display) -> ExitCode {
    eprintln!("error: {message}");
    ExitCode::from(2)
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            use clap::error::ErrorKind;
            if matches!(e.kind(), ErrorKind::DisplayHelp | ErrorKind::DisplayVersion) {
                let _ = e.print();
                return ExitCode::SUCCESS;
            }
            let rendered = e.render().to_string();
            let line = rendered.lines().next().unwrap_or("invalid arguments");
            eprintln!("{}", line.trim());
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Command::Serve(cli.serve)) {
        Command::Serve(args) => serve(args),
        Command::Workspaces(command) => commands::workspaces(command),
        Command::Users(UsersCommand::Add {
            email,
            role,
            password_stdin: _,
            workspace,
            data,
        }) => commands::add_user(&email, &role, workspace.as_deref(), data),
        Command::ApiKeys(ApiKeysCommand::Create {
            name,
            role,
            workspace,
            data,
        }) => commands::create_api_key(&name, &role, workspace.as_deref(), data),
        Command::PortalLink(args) => commands::portal_link(args),
        Command::Verify(args) => return verify(args),
        Command::Backup { to, data } => backup(&to, data),
        Command::MoveToPostgres { data } => move_to_postgres(data),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn serve(args: ServeArgs) -> anyhow::Result<ExitCode> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("AETHENOX_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
        .init();
    let listener = match std::net::TcpListener::bind(&args.bind) {
        Ok(l) => l,
        Err(e) => return Ok(usage_error(format!("--bind {}: {e}", args.bind))),
    };
    let config = Config {
        bind: args.bind,
        allow_private_targets: args.allow_private_targets,
        retry_schedule: args.retry_schedule.0,
        request_timeout: args.request_timeout,
        max_in_flight: args.max_in_flight as usize,
        max_per_endpoint: args.max_per_endpoint as usize,
        max_per_workspace: args.max_per_workspace as usize,
        disable_after: args.disable_after,
        session_idle: args.session_idle,
        session_max: args.session_max,
        max_password_hashes: args
            .max_password_hashes
            .map_or_else(config::default_password_hashes, |n| n as usize),
        max_manual_attempts: args.max_manual_attempts as usize,
        retention: args.retention,
        audit_retention: args.audit_retention,
        // Read from the environment only: a key on the command line would show in `ps`.
        secret_key: std::env::var("AETHENOX_SECRET_KEY")
            .ok()
            .filter(|k| !k.trim().is_empty()),
        database_url: args.data.database_url,
        public_url: args.public_url,
        portal_frame_ancestors: args.portal_frame_ancestors.0,
        ..Config::with_data_dir(args.data.data_dir)
    };
    let state = build_state(config)?;
    let addr = listener.local_addr()?;
    let base = format!("http://{addr}");
    tracing::info!(database = %state.location.describe(), "database ready");
    if state.config.allow_private_targets {
        tracing::warn!(
            "--allow-private-targets is on: http:// and private addresses are allowed as webhook targets"
        );
    }
    let setup_token = state
        .setup_token
        .lock()
        .map(|t| t.clone())
        .unwrap_or_default();
    match setup_token {
        // The link is the only way in until an administrator exists, so it is logged once.
        Some(token) => {
            tracing::info!("no administrator yet: open {base}/setup?token={token} to create one")
        }
        None => tracing::info!("open {base}/webhooks"),
    }
    let delivery = DeliveryWorker::start(state.clone())?;
    let pruner = retention::Pruner::start(state.clone())?;
    // The server stops on SIGINT or SIGTERM; the delivery actor then finishes what is in flight.
    actix_web::rt::System::new().block_on(async move { run(state, listener)?.await })?;
    pruner.stop();
    delivery.stop();
    tracing::info!("stopped");
    Ok(ExitCode::SUCCESS)
}

fn backup(to: &std::path::Path, data: DataDir) -> anyhow::Result<ExitCode> {
    use diesel::Connection;
    use diesel::connection::SimpleConnection;
    if data.database_url.is_some() {
        return Ok(usage_error(
            "--database-url: backup copies the SQLite file; back PostgreSQL up with its own tools \
             (pg_dump, or continuous archiving), as the README says",
        ));
    }
    let source = Config::with_data_dir(data.data_dir).db_path();
    if !source.exists() {
        return Ok(usage_error(format!(
            "--data-dir: there is no database at {}",
            source.display()
        )));
    }
    if to.exists() {
        return Ok(usage_error(format!(
            "--to: {} exists already; choose a new file name",
            to.display()
        )));
    }
    let url = source
        .to_str()
        .context("the database path is not valid UTF-8")?;
    let mut conn = diesel::SqliteConnection::establish(url)
        .with_context(|| format!("opening {}", source.display()))?;
    conn.batch_execute("PRAGMA busy_timeout = 5000;")?;
    db::space::copy_to(&mut conn, to)?;
    // Read back from the copy: what it holds, and that it opens.
    let copy = to.to_str().context("the backup path is not valid UTF-8")?;
    let mut check = db::DbConn::Sqlite(
        diesel::SqliteConnection::establish(copy)
            .with_context(|| format!("opening the copy {}", to.display()))?,
    );
    let rows = store::retention::row_counts(&mut check).context("reading the copy")?;
    let size = std::fs::metadata(to).map_or(0, |m| m.len());
    let counts: Vec<String> = rows.iter().map(|(t, n)| format!("{n} {t}")).collect();
    println!(
        "wrote {} ({:.1} MiB): {}",
        to.display(),
        size as f64 / 1_048_576.0,
        counts.join(", ")
    );
    Ok(ExitCode::SUCCESS)
}

fn move_to_postgres(data: DataDir) -> anyhow::Result<ExitCode> {
    let Some(url) = data.database_url.as_deref() else {
        return Ok(usage_error(
            "--database-url: the empty PostgreSQL database to copy into",
        ));
    };
    let file = Config::with_data_dir(&data.data_dir).db_path();
    let target = match db::Location::new(Some(url), &file) {
        Ok(target) => target,
        Err(e) => return Ok(usage_error(e.to_string())),
    };
    if !file.exists() {
        return Ok(usage_error(format!(
            "--data-dir: there is no database at {}",
            file.display()
        )));
    }
    eprintln!("copying {} into {}", file.display(), target.describe());
    let source = db::open(&db::Location::Sqlite(file.clone()))?; // both at the latest schema
    let dest = db::open(&target)?;
    let (mut from, mut to) = (source.get()?, dest.get()?);
    let (db::DbConn::Sqlite(from), db::DbConn::Pg(to)) = (&mut *from, &mut *to) else {
        anyhow::bail!("the two databases opened as the wrong backends");
    };
    let full = store::copy::non_empty(to).context("reading the target database")?;
    if !full.is_empty() {
        let held: Vec<String> = full.iter().map(|(t, n)| format!("{n} {t}")).collect();
        anyhow::bail!(
            "the PostgreSQL database is not empty ({}); move-to-postgres only copies into an \
             empty one. Nothing was copied.",
            held.join(", ")
        );
    }
    let (started, mut shown) = (std::time::Instant::now(), std::time::Instant::now());
    let mut progress = |table: &str, done: i64, total: i64| {
        if done == total || shown.elapsed() >= Duration::from_secs(2) {
            eprintln!("  {table}: {done} of {total} rows");
            shown = std::time::Instant::now();
        }
    };
    let copied = {
        use diesel::Connection;
        to.transaction(|to| store::copy::copy(from, to, &mut progress))
            .context("copying (nothing was kept in PostgreSQL)")?
    };
    eprintln!(
        "copied {} rows in {:.1} s. Start every instance with --database-url and the same \
         master key as before (AETHENOX_SECRET_KEY, or {} copied beside each).",
        copied.iter().map(|(_, n)| n).sum::<i64>(),
        started.elapsed().as_secs_f64(),
        data.data_dir.join("secret.key").display()
    );
    Ok(ExitCode::SUCCESS)
}

fn verify(args: VerifyArgs) -> ExitCode {
    let mut body = Vec::new();
    let read = match &args.file {
        Some(path) => std::fs::File::open(path).and_then(|mut f| f.read_to_end(&mut body)),
        None => std::io::stdin().lock().read_to_end(&mut body),
    };
    if let Err(e) = read {
        let source = args
            .file
            .as_ref()
            .map(|p| p.display().to_string())
            .unwrap_or_else(|| "standard input".into());
        return usage_error(format!("reading {source}: {e}"));
    }
    if signing::verify_aethenox_signature(&args.secret, &body, &args.signature) {
        println!("valid");
        ExitCode::SUCCESS
    } else {
        println!("invalid");
        ExitCode::FAILURE
    }
}
