//! The command line: one file per command group; this file holds the global options and
//! dispatch.

pub mod admin;
pub mod connections;
pub mod demo;
pub mod log;
pub mod numbers;
pub mod output;
pub mod remote;
pub mod serve;
pub mod tokens;

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::{Parser, Subcommand};

use crate::clock::{Clock, FixedClock, SystemClock};
use crate::store::Store;
use output::Format;

/// numinv: a telephone number inventory kept aligned with AudioCodes devices.
#[derive(Debug, Parser)]
#[command(name = "numinv", version, about, propagate_version = true)]
pub struct Cli {
    #[command(flatten)]
    pub global: Global,
    #[command(subcommand)]
    pub command: Command,
}

/// Options every command takes.
#[derive(Debug, clap::Args)]
pub struct Global {
    /// Directory holding the database (created when missing).
    #[arg(long, global = true, env = "NUMINV_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// Output format.
    #[arg(long, global = true, value_enum)]
    pub format: Option<Format>,
    /// Fix the clock to this instant (RFC 3339, e.g. 2026-12-05T00:00:01Z); for tests and diagnosis.
    #[arg(long, global = true, value_parser = parse_time)]
    pub now: Option<DateTime<Utc>>,
    /// How long to wait for another short-lived numinv command holding the data dir.
    #[arg(
        long,
        global = true,
        env = "NUMINV_LOCK_WAIT_MS",
        default_value_t = 10_000
    )]
    pub lock_wait_ms: u64,
    /// Run the command through this server's API (http://host:port), for when `numinv serve`
    /// holds the data dir.
    #[arg(long, global = true, env = "NUMINV_SERVER")]
    pub server: Option<String>,
    /// API token for --server (prefer the NUMINV_TOKEN variable: arguments show in `ps`).
    #[arg(long, global = true, env = "NUMINV_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    /// Whether this command may create a missing database: only commands that change the
    /// inventory do, so a mistyped `--data-dir` on `numbers list` is an error, not an
    /// empty inventory left behind.
    #[arg(skip)]
    pub creates_store: bool,
}

impl Global {
    pub fn format(&self) -> Format {
        self.format.unwrap_or(Format::Table)
    }

    pub fn clock(&self) -> Box<dyn Clock> {
        match self.now {
            Some(t) => Box::new(FixedClock(t)),
            None => Box::new(SystemClock),
        }
    }

    /// The server's client when `--server` / `NUMINV_SERVER` is given.
    pub fn remote(&self) -> anyhow::Result<Option<remote::Remote>> {
        match self.server.as_deref().map(str::trim) {
            Some(url) if !url.is_empty() => Ok(Some(remote::Remote::new(url, self.token.clone())?)),
            _ => Ok(None),
        }
    }

    pub fn open_store(&self) -> anyhow::Result<Store> {
        let dir = self
            .data_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from("numinv-data"));
        if !self.creates_store && !Store::exists(&dir) {
            anyhow::bail!(
                "data dir {} holds no inventory (no {}); check --data-dir or NUMINV_DATA_DIR, or start one with numbers add or numbers import",
                dir.display(),
                crate::store::DB_FILE
            );
        }
        Ok(Store::open(&dir, Duration::from_millis(self.lock_wait_ms))?)
    }
}

/// Parses an RFC 3339 time, or a plain date (midnight UTC).
pub fn parse_time(s: &str) -> Result<DateTime<Utc>, String> {
    if let Ok(t) = DateTime::parse_from_rfc3339(s.trim()) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = s.trim().parse::<chrono::NaiveDate>() {
        return Ok(d.and_time(chrono::NaiveTime::MIN).and_utc());
    }
    Err(format!(
        "{s:?} is not a time; use RFC 3339 like 2026-12-05T00:00:01Z or a date like 2026-12-05"
    ))
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the product against the bundled simulator: churn in accelerated virtual time.
    Demo(demo::DemoArgs),
    /// The daemon: HTTP API and web UI, schedules, expiry sweep (graceful stop on SIGTERM).
    Serve(serve::ServeArgs),
    /// Serve the bundled ARM simulator (HTTPS, self-signed; prints the pin).
    Sim(demo::SimArgs),
    /// Manage numbers.
    #[command(subcommand)]
    Numbers(numbers::NumbersCmd),
    /// Macros resolved along the hierarchy (audiocodes_cooling_duration, …).
    #[command(subcommand)]
    Macros(admin::MacrosCmd),
    /// Global settings (number_inventory_cooling_days, …).
    #[command(subcommand)]
    Settings(admin::SettingsCmd),
    /// Release every Cooling number whose release date has come (no look-back cap).
    Expire,
    /// Transaction records.
    #[command(subcommand)]
    Transactions(admin::TransactionsCmd),
    /// The change log: show, verify, replay, dump.
    #[command(subcommand)]
    Log(log::LogCmd),
    /// ARM connections.
    #[command(subcommand)]
    Connections(connections::ConnectionsCmd),
    /// Sync a connection's registered users now (SyncAudioCodes__<name>).
    Sync {
        name: String,
        /// Pass the delete guard.
        #[arg(long)]
        force: bool,
    },
    /// Forget a connection's cached users without asking the device; their numbers cool.
    Purge {
        name: String,
        #[arg(long)]
        force: bool,
    },
    /// Check the AudioCodes numbers against the cached registered users.
    Audit {
        /// Repair what the lifecycle rules can repair (never deletes).
        #[arg(long)]
        fix: bool,
    },
    /// Sync schedules.
    #[command(subcommand)]
    Schedules(connections::SchedulesCmd),
    /// API tokens for the HTTP API and web UI.
    #[command(subcommand)]
    Tokens(tokens::TokensCmd),
    /// Take a consistent copy of the database into DIR.
    Backup {
        /// An empty directory for the copy.
        dir: PathBuf,
    },
}

impl Command {
    /// True for the commands that only read the data dir. (`macros get` and `settings get`
    /// are not among them: on a new data dir they answer the defaults.)
    fn only_reads(&self) -> bool {
        use connections::{ConnectionsCmd, SchedulesCmd};
        use numbers::NumbersCmd;
        match self {
            Command::Numbers(c) => matches!(
                c,
                NumbersCmd::List(_)
                    | NumbersCmd::Show(_)
                    | NumbersCmd::Export { .. }
                    | NumbersCmd::History(_)
            ),
            Command::Connections(c) => matches!(
                c,
                ConnectionsCmd::List | ConnectionsCmd::Show { .. } | ConnectionsCmd::Test { .. }
            ),
            Command::Schedules(c) => matches!(c, SchedulesCmd::List),
            Command::Tokens(c) => matches!(c, tokens::TokensCmd::List),
            Command::Audit { fix } => !fix,
            Command::Transactions(_) | Command::Log(_) | Command::Backup { .. } => true,
            _ => false,
        }
    }
}

/// Runs a parsed command line, returning what to print.
pub fn run(mut cli: Cli) -> anyhow::Result<String> {
    cli.global.creates_store = !cli.command.only_reads();
    let g = &cli.global;
    if g.server.as_deref().is_some_and(|s| !s.trim().is_empty()) {
        let why = "it runs here, not on a server; leave out --server (and unset NUMINV_SERVER)";
        match &cli.command {
            Command::Demo(_) => return Err(remote::local_only("demo", why)),
            Command::Sim(_) => return Err(remote::local_only("sim", why)),
            Command::Serve(_) => return Err(remote::local_only("serve", why)),
            _ => {}
        }
    }
    match cli.command {
        Command::Numbers(cmd) => numbers::run(g, cmd),
        Command::Demo(args) => demo::run_demo(g, args),
        Command::Sim(args) => demo::run_sim(args),
        Command::Serve(args) => serve::run(g, args),
        Command::Macros(cmd) => admin::run_macros(g, cmd),
        Command::Settings(cmd) => admin::run_settings(g, cmd),
        Command::Expire => admin::run_expire(g),
        Command::Transactions(cmd) => admin::run_transactions(g, cmd),
        Command::Log(cmd) => log::run(g, cmd),
        Command::Tokens(cmd) => tokens::run(g, cmd),
        Command::Backup { dir } => admin::run_backup(g, &dir),
        Command::Connections(cmd) => connections::run_connections(g, cmd),
        Command::Sync { name, force } => connections::run_sync(g, &name, force),
        Command::Purge { name, force } => connections::run_purge(g, &name, force),
        Command::Audit { fix } => connections::run_audit(g, fix),
        Command::Schedules(cmd) => connections::run_schedules(g, cmd),
    }
}
