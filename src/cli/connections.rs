//! `numinv connections|sync|purge|audit|schedules`

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{self, table, tx_suffix, Format};
use super::Global;
use crate::arm::Secret;
use crate::domain::connection::{parse_interval, AuthMethod, Connection};
use crate::ops::{connections as ops, Ctx};
use crate::store::{Store, TxRecord};
use crate::sync::{self, engine, SyncOptions};

#[derive(Debug, Clone, clap::Args)]
pub struct ConnArgs {
    /// ARM address: https://host:port (http:// only if you mean it).
    #[arg(long)]
    pub url: Option<String>,
    /// REST base path (provisional contract).
    #[arg(long)]
    pub base_path: Option<String>,
    /// Account (basic/session) or OAuth client id.
    #[arg(long)]
    pub username: Option<String>,
    #[arg(long, value_enum)]
    pub auth: Option<AuthMethod>,
    /// Read the password (or client secret) from this file's first line.
    #[arg(long)]
    pub password_file: Option<PathBuf>,
    /// Read the password (or client secret) from this environment variable.
    #[arg(long)]
    pub password_env: Option<String>,
    /// OAuth token URL (absolute, or a path on the ARM host).
    #[arg(long)]
    pub token_url: Option<String>,
    #[arg(long)]
    pub scope: Option<String>,
    /// Trust the certificates in this PEM file (a CA, or the device's own).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// Trust exactly the certificate with this SHA-256 (as `numinv sim` or `connections test` prints).
    #[arg(long)]
    pub pin_sha256: Option<String>,
    /// Hierarchy of the numbers this ARM's users hold.
    #[arg(long)]
    pub hierarchy: Option<String>,
    /// Region for national numbers (e.g. GB).
    #[arg(long)]
    pub region: Option<String>,
    /// Run the sync whenever the connection is saved.
    #[arg(long)]
    pub sync_on_save: Option<bool>,
    /// Users per page, 1..=1000.
    #[arg(long)]
    pub page_size: Option<u32>,
    /// Per-request timeout in milliseconds.
    #[arg(long)]
    pub timeout_ms: Option<u64>,
}

#[derive(Debug, Subcommand)]
pub enum ConnectionsCmd {
    /// Add a connection (creates its sync and purge jobs and an inactive schedule).
    Add {
        name: String,
        #[command(flatten)]
        args: ConnArgs,
    },
    List,
    Show {
        name: String,
    },
    /// Change settings; give --password-file/--password-env to change the password.
    Update {
        name: String,
        #[command(flatten)]
        args: ConnArgs,
    },
    /// Delete a connection (purge it first).
    Delete {
        name: String,
    },
    /// Authenticate, read the first page and the node list, show the certificate.
    Test {
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SchedulesCmd {
    List,
    /// e.g. `schedules set ScheduleAudioCodes__lon --every 15m --active true`
    Set {
        name: String,
        #[arg(long)]
        every: Option<String>,
        #[arg(long)]
        active: Option<bool>,
    },
}

fn read_secret(args: &ConnArgs) -> anyhow::Result<Option<Secret>> {
    if let Some(f) = &args.password_file {
        let text = std::fs::read_to_string(f)
            .map_err(|e| anyhow::anyhow!("cannot read --password-file {}: {e}", f.display()))?;
        let line = text.lines().next().unwrap_or("").to_string();
        if line.is_empty() {
            anyhow::bail!("--password-file {} is empty", f.display());
        }
        return Ok(Some(Secret::new(line)));
    }
    if let Some(var) = &args.password_env {
        let v = std::env::var(var)
            .map_err(|_| anyhow::anyhow!("--password-env {var}: the variable is not set"))?;
        return Ok(Some(Secret::new(v)));
    }
    Ok(None)
}

/// The password for a new connection: from a file or variable, else asked for on the
/// terminal without echo. Never a plain argument, which would show in `ps`.
fn require_secret(name: &str, args: &ConnArgs) -> anyhow::Result<Secret> {
    if let Some(s) = read_secret(args)? {
        return Ok(s);
    }
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        anyhow::bail!("connections add {name}: give the password with --password-file F or --password-env VAR (no terminal to ask on)");
    }
    let text = rpassword::prompt_password(format!("password for connection {name}: "))
        .map_err(|e| anyhow::anyhow!("cannot read the password from the terminal: {e}"))?;
    if text.is_empty() {
        anyhow::bail!("connections add {name}: the password is empty");
    }
    Ok(Secret::new(text))
}

fn apply_args(mut c: Connection, a: &ConnArgs) -> anyhow::Result<Connection> {
    if let Some(v) = &a.url {
        c.url = v.clone();
    }
    if let Some(v) = &a.base_path {
        c.base_path = v.clone();
    }
    if let Some(v) = &a.username {
        c.username = v.clone();
    }
    if let Some(v) = a.auth {
        c.auth_method = v;
    }
    if a.token_url.is_some() {
        c.token_url = a.token_url.clone();
    }
    if a.scope.is_some() {
        c.scope = a.scope.clone();
    }
    if let Some(f) = &a.ca_file {
        c.ca_pem = Some(
            std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("cannot read --ca-file {}: {e}", f.display()))?,
        );
    }
    if let Some(p) = &a.pin_sha256 {
        c.pin_sha256 = Some(p.to_ascii_lowercase().replace(':', ""));
    }
    if let Some(v) = &a.hierarchy {
        c.hierarchy = v.trim_matches('/').to_string();
    }
    if a.region.is_some() {
        c.region = a.region.clone().map(|r| r.to_ascii_uppercase());
    }
    if let Some(v) = a.sync_on_save {
        c.sync_on_save = v;
    }
    if let Some(v) = a.page_size {
        c.page_size = v;
    }
    if let Some(v) = a.timeout_ms {
        c.timeout_ms = v;
    }
    Ok(c)
}

fn new_connection(name: &str) -> Connection {
    Connection {
        name: name.to_string(),
        url: String::new(),
        base_path: "/ARM/v1".into(),
        username: String::new(),
        auth_method: AuthMethod::Basic,
        token_url: None,
        scope: None,
        ca_pem: None,
        pin_sha256: None,
        hierarchy: String::new(),
        region: None,
        sync_on_save: false,
        page_size: 1000,
        timeout_ms: 10_000,
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

/// Runs a sync and renders its result line.
pub fn sync_now(
    store: &Store,
    g: &Global,
    conn: &Connection,
    opts: SyncOptions,
) -> anyhow::Result<TxRecord> {
    let clock = g.clock();
    let rt = runtime()?;
    Ok(rt.block_on(engine::run_sync(
        store,
        clock.as_ref(),
        conn,
        opts,
        &mut |_| {},
    ))?)
}

/// One line summarising a sync or purge.
pub fn sync_line(t: &TxRecord) -> String {
    format!(
        "{} {}: {} users ({} added, {} updated, {} removed); entries {} created, {} used, {} restored, {} cooled; {} conflicts, {} unmapped ({})\n",
        t.kind,
        t.status.as_str(),
        t.get("users_total"),
        t.get("users_added"),
        t.get("users_updated"),
        t.get("users_removed"),
        t.get("entries_created"),
        t.get("entries_used"),
        t.get("entries_restored"),
        t.get("entries_cooled"),
        t.get("conflicts"),
        t.get("unmapped"),
        tx_suffix(&Some(t.clone())),
    )
}

pub fn run_connections(g: &Global, cmd: ConnectionsCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let ctx = Ctx::new(&store, g.clock().now(), "cli");
    match cmd {
        ConnectionsCmd::Add { name, args } => {
            let conn = apply_args(new_connection(&name), &args)?;
            if conn.url.is_empty() {
                anyhow::bail!("connections add {name}: --url is required (https://host:port)");
            }
            let secret = require_secret(&name, &args)?;
            let tx = ops::add(&ctx, conn.clone(), &secret)?;
            let mut out = format!(
                "added connection {name} with jobs {} and {}, schedule {} (inactive) ({})\n",
                conn.sync_job(),
                conn.purge_job(),
                conn.schedule_name(),
                tx_suffix(&tx)
            );
            if conn.sync_on_save {
                out.push_str(&save_sync(&store, g, &conn));
            }
            Ok(out)
        }
        ConnectionsCmd::Update { name, args } => {
            let current = ops::get(&store.read()?, &name)?;
            let conn = apply_args(current, &args)?;
            let secret = read_secret(&args)?;
            let tx = ops::update(&ctx, conn.clone(), secret.as_ref())?;
            let mut out = format!("updated connection {name} ({})\n", tx_suffix(&tx));
            if conn.sync_on_save {
                out.push_str(&save_sync(&store, g, &conn));
            }
            Ok(out)
        }
        ConnectionsCmd::Delete { name } => {
            let tx = ops::delete(&ctx, &name)?;
            Ok(format!("deleted connection {name} ({})\n", tx_suffix(&tx)))
        }
        ConnectionsCmd::List => {
            let conns = ops::list(&store.read()?)?;
            Ok(match g.format() {
                Format::Json => {
                    output::json(&conns.iter().map(connection_json).collect::<Vec<_>>())
                }
                _ => table(
                    &["name", "url", "auth", "hierarchy", "region", "sync_on_save"],
                    &conns
                        .iter()
                        .map(|c| {
                            vec![
                                c.name.clone(),
                                format!("{}{}", c.url, c.base_path),
                                c.auth_method.as_str().into(),
                                c.hierarchy.clone(),
                                c.region.clone().unwrap_or_default(),
                                c.sync_on_save.to_string(),
                            ]
                        })
                        .collect::<Vec<_>>(),
                ),
            })
        }
        ConnectionsCmd::Show { name } => {
            let c = ops::get(&store.read()?, &name)?;
            Ok(output::json(&connection_json(&c)))
        }
        ConnectionsCmd::Test { name } => {
            let c = ops::get(&store.read()?, &name)?;
            let cfg = engine::client_config(&store, &c)?;
            let rt = runtime()?;
            let report =
                rt.block_on(async { crate::arm::ArmClient::new(cfg)?.test_connection().await })?;
            Ok(format!("{report}\n"))
        }
    }
}

/// A connection as shown to people: never a secret (the password is not even in the record).
fn connection_json(c: &Connection) -> serde_json::Value {
    serde_json::json!({
        "name": c.name, "url": c.url, "base_path": c.base_path, "username": c.username,
        "auth_method": c.auth_method.as_str(), "token_url": c.token_url, "scope": c.scope,
        "ca_file": c.ca_pem.is_some(), "pin_sha256": c.pin_sha256, "hierarchy": c.hierarchy,
        "region": c.region, "sync_on_save": c.sync_on_save, "page_size": c.page_size,
        "timeout_ms": c.timeout_ms, "sync_job": c.sync_job(), "purge_job": c.purge_job(),
        "schedule": c.schedule_name(),
    })
}

fn save_sync(store: &Store, g: &Global, conn: &Connection) -> String {
    match sync_now(store, g, conn, SyncOptions::default()) {
        Ok(t) => format!("sync on save: {}", sync_line(&t)),
        Err(e) => format!("sync on save failed: {e}\n"),
    }
}

pub fn run_sync(g: &Global, name: &str, force: bool) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let conn = engine::load_connection(&store, name)?;
    let t = sync_now(&store, g, &conn, SyncOptions { force })?;
    Ok(match g.format() {
        Format::Json => output::transaction(&t, Format::Json),
        _ => sync_line(&t),
    })
}

pub fn run_purge(g: &Global, name: &str, force: bool) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let conn = engine::load_connection(&store, name)?;
    let ctx = Ctx::new(&store, g.clock().now(), conn.actor());
    let t = engine::purge(&ctx, &conn, SyncOptions { force })?;
    Ok(sync_line(&t))
}

pub fn run_audit(g: &Global, fix: bool) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let now = g.clock().now();
    let (findings, tx) = if fix {
        let ctx = Ctx::new(&store, now, "audit");
        sync::audit::fix(&ctx)?
    } else {
        (sync::audit::audit(&store.read()?, now)?, None)
    };
    Ok(match g.format() {
        Format::Json => output::json(&serde_json::json!({
            "findings": findings, "fixed": fix, "transaction": tx.as_ref().map(|t| t.id)
        })),
        _ => {
            let mut out = table(
                &["finding", "number", "detail", "fixable"],
                &findings
                    .iter()
                    .map(|f| {
                        vec![
                            f.kind.as_str().into(),
                            f.number.clone(),
                            f.detail.clone(),
                            f.kind.fixable().to_string(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            out.push_str(&format!(
                "{} findings{}\n",
                findings.len(),
                if fix {
                    format!("; fixed ({})", tx_suffix(&tx))
                } else {
                    String::new()
                }
            ));
            out
        }
    })
}

pub fn run_schedules(g: &Global, cmd: SchedulesCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    match cmd {
        SchedulesCmd::List => {
            let s = ops::schedules(&store.read()?)?;
            Ok(table(
                &["name", "connection", "every_s", "active"],
                &s.iter()
                    .map(|s| {
                        vec![
                            s.name.clone(),
                            s.connection.clone(),
                            s.every_s.to_string(),
                            s.active.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            ))
        }
        SchedulesCmd::Set {
            name,
            every,
            active,
        } => {
            let every_s = every
                .as_deref()
                .map(parse_interval)
                .transpose()
                .map_err(anyhow::Error::msg)?;
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let s = ops::set_schedule(&ctx, &name, every_s, active)?;
            Ok(format!(
                "{} every {}s, active {}\n",
                s.name, s.every_s, s.active
            ))
        }
    }
}
