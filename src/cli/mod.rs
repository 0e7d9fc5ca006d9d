//! The command line: one file per command group; this file holds the global options and
//! dispatch.

pub mod admin;
pub mod log;
pub mod numbers;
pub mod output;
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
    #[arg(
        long,
        global = true,
        env = "NUMINV_DATA_DIR",
        default_value = "numinv-data"
    )]
    pub data_dir: PathBuf,
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

    pub fn open_store(&self) -> Result<Store, crate::store::StoreError> {
        Store::open(&self.data_dir, Duration::from_millis(self.lock_wait_ms))
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
    /// API tokens for the HTTP API and web UI.
    #[command(subcommand)]
    Tokens(tokens::TokensCmd),
    /// Take a consistent copy of the database into DIR.
    Backup {
        /// An empty directory for the copy.
        dir: PathBuf,
    },
}

/// Runs a parsed command line, returning what to print.
pub fn run(cli: Cli) -> anyhow::Result<String> {
    let g = &cli.global;
    match cli.command {
        Command::Numbers(cmd) => numbers::run(g, cmd),
        Command::Macros(cmd) => admin::run_macros(g, cmd),
        Command::Settings(cmd) => admin::run_settings(g, cmd),
        Command::Expire => admin::run_expire(g),
        Command::Transactions(cmd) => admin::run_transactions(g, cmd),
        Command::Log(cmd) => log::run(g, cmd),
        Command::Tokens(cmd) => tokens::run(g, cmd),
        Command::Backup { dir } => admin::run_backup(g, &dir),
    }
}
