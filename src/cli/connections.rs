//! `numinv connections|sync|purge|audit|schedules`

use std::path::PathBuf;

use clap::Subcommand;

use hyper::Method;

use super::output::{self, table, tx_id_suffix, tx_suffix, Format};
use super::remote::{enc, Remote};
use super::Global;
use crate::api::handlers::sync::audit_view;
use crate::api::wire::{
    AuditView, ConnectionRequest, ConnectionSaved, ConnectionView, ScheduleRequest, ScheduleView,
    SyncRequest, TestView, TxIdView, TxView,
};
use crate::arm::Secret;
use crate::domain::connection::{parse_interval, AuthMethod, Connection};
use crate::ops::{connections as ops, Ctx};
use crate::store::{Store, TxRecord};
use crate::sync::{engine, SyncOptions};

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

/// The fields given on the command line, as the API takes them (never the password: that
/// is added only where it is sent).
fn request_from(a: &ConnArgs) -> anyhow::Result<ConnectionRequest> {
    let ca_pem = match &a.ca_file {
        Some(f) => Some(
            std::fs::read_to_string(f)
                .map_err(|e| anyhow::anyhow!("cannot read --ca-file {}: {e}", f.display()))?,
        ),
        None => None,
    };
    Ok(ConnectionRequest {
        name: None,
        url: a.url.clone(),
        base_path: a.base_path.clone(),
        username: a.username.clone(),
        auth_method: a.auth.map(|m| m.as_str().to_string()),
        password: None,
        token_url: a.token_url.clone(),
        scope: a.scope.clone(),
        ca_pem,
        pin_sha256: a.pin_sha256.clone(),
        hierarchy: a.hierarchy.clone(),
        region: a.region.clone(),
        sync_on_save: a.sync_on_save,
        page_size: a.page_size,
        timeout_ms: a.timeout_ms,
    })
}

fn apply_args(c: Connection, a: &ConnArgs) -> anyhow::Result<Connection> {
    request_from(a)?.apply(c).map_err(anyhow::Error::msg)
}

fn added_line(c: &ConnectionView, tx: Option<u64>) -> String {
    format!(
        "added connection {} with jobs {} and {}, schedule {} (inactive) ({})\n",
        c.name,
        c.sync_job,
        c.purge_job,
        c.schedule,
        tx_id_suffix(tx)
    )
}

fn connections_out(g: &Global, conns: &[ConnectionView]) -> String {
    match g.format() {
        Format::Json => output::json(conns),
        _ => table(
            &["name", "url", "auth", "hierarchy", "region", "sync_on_save"],
            &conns
                .iter()
                .map(|c| {
                    vec![
                        c.name.clone(),
                        format!("{}{}", c.url, c.base_path),
                        c.auth_method.clone(),
                        c.hierarchy.clone(),
                        c.region.clone().unwrap_or_default(),
                        c.sync_on_save.to_string(),
                    ]
                })
                .collect::<Vec<_>>(),
        ),
    }
}

fn sync_out(g: &Global, t: &TxRecord) -> String {
    match g.format() {
        Format::Json => output::transaction(t, Format::Json),
        _ => sync_line(t),
    }
}

/// The audit's findings as a table (or JSON).
pub fn audit_out(g: &Global, a: &AuditView) -> String {
    match g.format() {
        Format::Json => output::json(a),
        _ => {
            let mut out = table(
                &["finding", "number", "detail", "fixable"],
                &a.findings
                    .iter()
                    .map(|f| {
                        vec![
                            f.kind.clone(),
                            f.number.clone(),
                            f.detail.clone(),
                            f.fixable.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>(),
            );
            out.push_str(&format!(
                "{} findings{}\n",
                a.findings.len(),
                if a.fixed {
                    format!("; fixed ({})", tx_id_suffix(a.transaction))
                } else {
                    String::new()
                }
            ));
            out
        }
    }
}

fn schedules_out(s: &[ScheduleView]) -> String {
    table(
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
    )
}

fn schedule_line(s: &ScheduleView) -> String {
    format!("{} every {}s, active {}\n", s.name, s.every_s, s.active)
}

/// What a server answered to a save, with its sync-on-save run.
fn saved_out(saved: &ConnectionSaved, first_line: String) -> anyhow::Result<String> {
    let mut out = first_line;
    if let Some(t) = &saved.sync {
        let t = TxRecord::try_from(t).map_err(anyhow::Error::msg)?;
        out.push_str(&format!("sync on save: {}", sync_line(&t)));
    }
    if let Some(e) = &saved.sync_error {
        out.push_str(&format!("sync on save failed: {e}\n"));
    }
    Ok(out)
}

fn tx_record(v: &TxView) -> anyhow::Result<TxRecord> {
    TxRecord::try_from(v).map_err(anyhow::Error::msg)
}

fn remote_connections(r: &Remote, g: &Global, cmd: ConnectionsCmd) -> anyhow::Result<String> {
    let at = |name: &str, suffix: &str| format!("/api/connections/{}{suffix}", enc(name));
    match cmd {
        ConnectionsCmd::Add { name, args } => {
            let mut req = request_from(&args)?;
            if req.url.is_none() {
                anyhow::bail!("connections add {name}: --url is required (https://host:port)");
            }
            req.name = Some(name.clone());
            req.password = Some(require_secret(&name, &args)?.expose().to_string());
            let saved: ConnectionSaved = r.send(Method::POST, "/api/connections", &req)?;
            saved_out(&saved, added_line(&saved.connection, saved.transaction))
        }
        ConnectionsCmd::Update { name, args } => {
            let mut req = request_from(&args)?;
            req.password = read_secret(&args)?.map(|s| s.expose().to_string());
            let saved: ConnectionSaved = r.send(Method::PUT, &at(&name, ""), &req)?;
            let line = format!(
                "updated connection {name} ({})\n",
                tx_id_suffix(saved.transaction)
            );
            saved_out(&saved, line)
        }
        ConnectionsCmd::Delete { name } => {
            let bytes = r.request(Method::DELETE, &at(&name, ""), None, Vec::new())?;
            let v: TxIdView = serde_json::from_slice(&bytes)?;
            Ok(format!(
                "deleted connection {name} ({})\n",
                tx_id_suffix(v.transaction)
            ))
        }
        ConnectionsCmd::List => {
            let conns: Vec<ConnectionView> = r.get("/api/connections")?;
            Ok(connections_out(g, &conns))
        }
        ConnectionsCmd::Show { name } => {
            let c: ConnectionView = r.get(&at(&name, ""))?;
            Ok(output::json(&c))
        }
        ConnectionsCmd::Test { name } => {
            let v: TestView = r.post(&at(&name, "/test"))?;
            Ok(format!("{}\n", v.report))
        }
    }
}

/// Two workers: a sync sends the next page's request while it parses the current one.
fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
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
    if let Some(r) = g.remote()? {
        return remote_connections(&r, g, cmd);
    }
    let store = g.open_store()?;
    let ctx = Ctx::new(&store, g.clock().now(), "cli");
    match cmd {
        ConnectionsCmd::Add { name, args } => {
            let conn = apply_args(ConnectionRequest::new_connection(&name), &args)?;
            if conn.url.is_empty() {
                anyhow::bail!("connections add {name}: --url is required (https://host:port)");
            }
            let secret = require_secret(&name, &args)?;
            let tx = ops::add(&ctx, conn.clone(), &secret)?;
            let mut out = added_line(&ConnectionView::from(&conn), tx.as_ref().map(|t| t.id));
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
            Ok(connections_out(
                g,
                &conns.iter().map(ConnectionView::from).collect::<Vec<_>>(),
            ))
        }
        ConnectionsCmd::Show { name } => {
            let c = ops::get(&store.read()?, &name)?;
            Ok(output::json(&ConnectionView::from(&c)))
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

fn save_sync(store: &Store, g: &Global, conn: &Connection) -> String {
    match sync_now(store, g, conn, SyncOptions::default()) {
        Ok(t) => format!("sync on save: {}", sync_line(&t)),
        Err(e) => format!("sync on save failed: {e}\n"),
    }
}

fn job_path(name: &str, job: &str) -> String {
    let name = name
        .strip_prefix(crate::domain::connection::SYNC_JOB_PREFIX)
        .or_else(|| name.strip_prefix(crate::domain::connection::PURGE_JOB_PREFIX))
        .unwrap_or(name);
    format!("/api/connections/{}/{job}", enc(name))
}

pub fn run_sync(g: &Global, name: &str, force: bool) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        let v: TxView = r.send(
            Method::POST,
            &job_path(name, "sync"),
            &SyncRequest { force },
        )?;
        return Ok(sync_out(g, &tx_record(&v)?));
    }
    let store = g.open_store()?;
    let conn = engine::load_connection(&store, name)?;
    let t = sync_now(&store, g, &conn, SyncOptions { force })?;
    Ok(sync_out(g, &t))
}

pub fn run_purge(g: &Global, name: &str, force: bool) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        let v: TxView = r.send(
            Method::POST,
            &job_path(name, "purge"),
            &SyncRequest { force },
        )?;
        return Ok(sync_line(&tx_record(&v)?));
    }
    let store = g.open_store()?;
    let conn = engine::load_connection(&store, name)?;
    let ctx = Ctx::new(&store, g.clock().now(), conn.actor());
    let t = engine::purge(&ctx, &conn, SyncOptions { force })?;
    Ok(sync_line(&t))
}

pub fn run_audit(g: &Global, fix: bool) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        let v: AuditView = if fix {
            r.post("/api/audit/fix")?
        } else {
            r.get("/api/audit")?
        };
        return Ok(audit_out(g, &v));
    }
    let store = g.open_store()?;
    let view = audit_view(&store, g.clock().now(), fix).map_err(|e| anyhow::anyhow!(e.message))?;
    Ok(audit_out(g, &view))
}

pub fn run_schedules(g: &Global, cmd: SchedulesCmd) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        return Ok(match cmd {
            SchedulesCmd::List => schedules_out(&r.get::<Vec<ScheduleView>>("/api/schedules")?),
            SchedulesCmd::Set {
                name,
                every,
                active,
            } => {
                if let Some(e) = &every {
                    parse_interval(e).map_err(anyhow::Error::msg)?;
                }
                let req = ScheduleRequest { every, active };
                let path = format!("/api/schedules/{}", enc(&name));
                schedule_line(&r.send(Method::PUT, &path, &req)?)
            }
        });
    }
    let store = g.open_store()?;
    match cmd {
        SchedulesCmd::List => {
            let s = ops::schedules(&store.read()?)?;
            Ok(schedules_out(
                &s.iter().map(ScheduleView::from).collect::<Vec<_>>(),
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
            Ok(schedule_line(&ScheduleView::from(&s)))
        }
    }
}
