//! The commands that manage what the server serves: workspaces, users and API keys, each
//! straight on the database the flags name (the server may be running).

use crate::{DataDir, usage_error};
use aethenox_webhooks::db;
use aethenox_webhooks::domain::{ids, passwords, time, workspace};
use aethenox_webhooks::store::{self, users::Role, workspaces::Workspace};
use anyhow::Context;
use clap::Subcommand;
use std::io::BufRead;
use std::process::ExitCode;

#[derive(Subcommand)]
pub enum WorkspacesCommand {
    /// Make a workspace and print its id alone on standard output.
    Add {
        #[arg(long)]
        name: String,
        /// The platform's own account id (1–64 of A–Z a–z 0–9 . _ -).
        #[arg(long)]
        uid: Option<String>,
        #[command(flatten)]
        data: DataDir,
    },
    /// Print every workspace: id, uid and name, separated by tabs.
    List {
        #[command(flatten)]
        data: DataDir,
    },
}

pub fn workspaces(command: WorkspacesCommand) -> anyhow::Result<ExitCode> {
    match command {
        WorkspacesCommand::Add { name, uid, data } => add_workspace(&name, uid.as_deref(), data),
        WorkspacesCommand::List { data } => list_workspaces(data),
    }
}

fn add_workspace(name: &str, uid: Option<&str>, data: DataDir) -> anyhow::Result<ExitCode> {
    let name = match workspace::check_name(name) {
        Ok(n) => n,
        Err(m) => return Ok(usage_error(format!("--name: {m}"))),
    };
    let uid = match uid.map(workspace::check_uid).transpose() {
        Ok(u) => u,
        Err(m) => return Ok(usage_error(format!("--uid: {m}"))),
    };
    let pool = match data.open()? {
        Ok(pool) => pool,
        Err(code) => return Ok(code),
    };
    let mut conn = pool.get()?;
    let made = db::write_transaction(&mut conn, |conn| {
        if let Some(uid) = &uid
            && store::workspaces::uid_taken(conn, uid, None)?
        {
            return Ok(None);
        }
        let id = ids::new_id("ws");
        store::workspaces::create(conn, &id, uid.as_deref(), &name, time::now_ms()).map(Some)
    })
    .context("making the workspace")?;
    match made {
        Some(ws) => {
            println!("{}", ws.id);
            Ok(ExitCode::SUCCESS)
        }
        None => Ok(usage_error(format!(
            "--uid: another workspace has the uid {}",
            uid.unwrap_or_default()
        ))),
    }
}

fn list_workspaces(data: DataDir) -> anyhow::Result<ExitCode> {
    let pool = match data.open()? {
        Ok(pool) => pool,
        Err(code) => return Ok(code),
    };
    let mut conn = pool.get()?;
    let mut after: Option<String> = None;
    loop {
        let page = store::workspaces::list(&mut conn, None, after.as_deref(), 500)?;
        for w in &page {
            println!("{}\t{}\t{}", w.id, w.uid.as_deref().unwrap_or(""), w.name);
        }
        match page.last() {
            Some(last) if page.len() == 500 => after = Some(last.id.clone()),
            _ => break,
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The workspace `--workspace` names, or the usage error saying there is none.
fn named_workspace(
    conn: &mut db::DbConn,
    key: Option<&str>,
) -> anyhow::Result<Result<Option<Workspace>, ExitCode>> {
    let Some(key) = key else {
        return Ok(Ok(None));
    };
    match store::workspaces::find(conn, key)? {
        Some(ws) => Ok(Ok(Some(ws))),
        None => Ok(Err(usage_error(format!(
            "--workspace: no workspace has the id or uid {key}"
        )))),
    }
}

pub fn add_user(
    email: &str,
    role: &str,
    workspace: Option<&str>,
    data: DataDir,
) -> anyhow::Result<ExitCode> {
    let email = match passwords::check_email(email) {
        Ok(e) => e,
        Err(m) => return Ok(usage_error(format!("--email: {m}"))),
    };
    let Some(role) = Role::parse(role) else {
        return Ok(usage_error("--role: use admin or support"));
    };
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("reading the password from standard input")?;
    let password = line.trim_end_matches(['\n', '\r']);
    if let Err(m) = passwords::check_new_password(password) {
        return Ok(usage_error(format!("--password-stdin: {m}")));
    }
    let pool = match data.open()? {
        Ok(pool) => pool,
        Err(code) => return Ok(code),
    };
    let mut conn = pool.get()?;
    let ws = match named_workspace(&mut conn, workspace)? {
        Ok(ws) => ws,
        Err(code) => return Ok(code),
    };
    let hash = passwords::hash(password)?;
    let created = db::write_transaction(&mut conn, |conn| {
        if store::users::find_by_email(conn, &email)?.is_some() {
            return Ok(None);
        }
        let now = time::now_ms();
        match &ws {
            None => store::users::create(conn, &email, role, &hash, now).map(Some),
            Some(ws) => {
                let user = store::users::create_member(conn, &email, &hash, now)?;
                store::workspaces::add_member(conn, user.id, &ws.workspace_id(), role, now)?;
                Ok(Some(user))
            }
        }
    });
    match (created.context("creating the user")?, &ws) {
        (Some(user), None) => {
            eprintln!("created {} {} (id {})", user.role, user.email, user.id);
            Ok(ExitCode::SUCCESS)
        }
        (Some(user), Some(ws)) => {
            eprintln!(
                "created {} {} (id {}) in workspace {}",
                role.as_str(),
                user.email,
                user.id,
                ws.key()
            );
            Ok(ExitCode::SUCCESS)
        }
        (None, _) => anyhow::bail!("a user with the e-mail address {email} already exists"),
    }
}

pub fn create_api_key(
    name: &str,
    role: &str,
    workspace: Option<&str>,
    data: DataDir,
) -> anyhow::Result<ExitCode> {
    let Some(role) = Role::parse(role) else {
        return Ok(usage_error("--role: use admin or support"));
    };
    let name = match ids::check_key_name(name) {
        Ok(n) => n,
        Err(m) => return Ok(usage_error(format!("--name: {m}"))),
    };
    let pool = match data.open()? {
        Ok(pool) => pool,
        Err(code) => return Ok(code),
    };
    let mut conn = pool.get()?;
    let ws = match named_workspace(&mut conn, workspace)? {
        Ok(ws) => ws.map(|w| w.workspace_id()),
        Err(code) => return Ok(code),
    };
    let key = ids::new_api_key();
    let owner = match &ws {
        None => store::api_keys::Owner::Instance,
        Some(ws) => store::api_keys::Owner::Workspace(ws),
    };
    let stored = db::write_transaction(&mut conn, |conn| {
        if store::api_keys::count_active(conn, owner)? >= store::api_keys::MAX_ACTIVE {
            return Ok::<_, diesel::result::Error>(false);
        }
        store::api_keys::create_for_key(conn, &name, &key, role, owner, time::now_ms())
            .map(|_| true)
    })
    .context("storing the key")?;
    if !stored {
        anyhow::bail!(
            "there are {} active API keys already: revoke the ones no longer used first",
            store::api_keys::MAX_ACTIVE
        );
    }
    println!("{key}");
    Ok(ExitCode::SUCCESS)
}

/// `portal-link`: a link to a workspace's customer portal, made as the API makes them.
#[derive(clap::Args)]
pub struct PortalLinkArgs {
    /// The workspace (id or uid).
    #[arg(long, value_name = "WS")]
    workspace: String,
    /// admin: the workspace's Automation pages; support: read, Send Test and Resend.
    #[arg(long, default_value = "admin", value_parser = ["admin", "support"])]
    role: String,
    /// Seconds the session lasts (300 to 86400); the link must be opened within 5 minutes.
    #[arg(long, default_value = "3600", value_name = "SECS")]
    expires_in: i64,
    /// Who the link is for, as the audit log names them.
    #[arg(long, value_name = "WHO")]
    user: Option<String>,
    /// An accent colour for buttons and links, #rrggbb.
    #[arg(long, value_name = "COLOUR")]
    accent: Option<String>,
    /// How browsers reach the server (the base of the link).
    #[arg(long, env = "AETHENOX_PUBLIC_URL", value_name = "URL",
        value_parser = aethenox_webhooks::config::parse_public_url)]
    public_url: Option<String>,
    #[command(flatten)]
    data: DataDir,
}

pub fn portal_link(args: PortalLinkArgs) -> anyhow::Result<ExitCode> {
    use aethenox_webhooks::app::portal::{self, LinkRequest};
    use aethenox_webhooks::error::AppError;
    let Some(public_url) = args.public_url else {
        return Ok(usage_error(
            "--public-url: say how browsers reach the server (e.g. https://hooks.example.com), \
             or set AETHENOX_PUBLIC_URL",
        ));
    };
    let request = LinkRequest {
        role: Some(args.role),
        expires_in: Some(args.expires_in),
        user: args.user,
        accent: args.accent,
    };
    let checked = match portal::check(&request) {
        Ok(c) => c,
        Err(AppError::Validation { field, message }) => {
            return Ok(usage_error(format!(
                "--{}: {message}",
                field.replace('_', "-")
            )));
        }
        Err(e) => return Err(e.into()),
    };
    let pool = match args.data.open()? {
        Ok(pool) => pool,
        Err(code) => return Ok(code),
    };
    let mut conn = pool.get()?;
    let ws = match named_workspace(&mut conn, Some(&args.workspace))? {
        Ok(Some(ws)) => ws,
        Ok(None) => unreachable!("a workspace was named"),
        Err(code) => return Ok(code),
    };
    let now = time::now_ms();
    let link = db::write_transaction(&mut conn, |conn| {
        let link = portal::store_link(conn, &ws.workspace_id(), &checked, now)?;
        store::audit::record(
            conn,
            &store::audit::NewEntry {
                at: now,
                actor: "command line",
                action: "portal_link_created",
                target: Some(ws.key()),
                detail: Some(&checked.describe(link.expires_at)),
                client_ip: None,
                workspace_id: None,
            },
        )?;
        Ok::<_, AppError>(link)
    })
    .map_err(|e| anyhow::anyhow!("storing the link: {e}"))?;
    println!("{public_url}/portal/{}", link.token);
    eprintln!(
        "open it within 5 minutes; the session lasts until {}",
        time::display(link.expires_at)
    );
    Ok(ExitCode::SUCCESS)
}
