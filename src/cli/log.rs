//! `numinv log show|verify|replay|dump`

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::output;
use super::Global;
use crate::store::{LogSource, ReplayStop, Store};

#[derive(Debug, Subcommand)]
pub enum LogCmd {
    /// Show events, optionally of one number, since a sequence number or a time.
    Show {
        #[arg(long)]
        number: Option<String>,
        #[arg(long)]
        hierarchy: Option<String>,
        /// A sequence number (events after it) or an RFC 3339 time.
        #[arg(long)]
        since: Option<String>,
        #[arg(long, default_value_t = 1000)]
        limit: usize,
    },
    /// Check the hash chain and that replaying the log gives exactly the tables.
    Verify,
    /// Rebuild the state as it was at a sequence number or a time into a new data dir.
    Replay {
        /// Stop after this sequence number.
        #[arg(long, conflicts_with = "at")]
        to: Option<u64>,
        /// Stop after the last event at or before this time (RFC 3339).
        #[arg(long, value_parser = super::parse_time)]
        at: Option<DateTime<Utc>>,
        /// Replay a log written by `log dump` instead of this data dir's log.
        #[arg(long)]
        from: Option<PathBuf>,
        /// An empty directory for the rebuilt data dir.
        #[arg(long)]
        out: PathBuf,
    },
    /// Write the whole log to FILE, to carry to another machine.
    Dump { file: PathBuf },
}

enum Since {
    Seq(u64),
    Time(DateTime<Utc>),
}

fn parse_since(s: &str) -> anyhow::Result<Since> {
    if let Ok(n) = s.trim().parse::<u64>() {
        return Ok(Since::Seq(n));
    }
    super::parse_time(s)
        .map(Since::Time)
        .map_err(|_| anyhow::anyhow!("--since {s:?}: give a sequence number or an RFC 3339 time"))
}

pub fn run(g: &Global, cmd: LogCmd) -> anyhow::Result<String> {
    match cmd {
        LogCmd::Show {
            number,
            hierarchy,
            since,
            limit,
        } => {
            let store = g.open_store()?;
            let reader = store.read()?;
            let since = since.as_deref().map(parse_since).transpose()?;
            let mut events = match &number {
                Some(n) => {
                    crate::ops::numbers::history_with_causes(&reader, n, hierarchy.as_deref())?
                }
                None => {
                    let after = match since {
                        Some(Since::Seq(s)) => s,
                        _ => 0,
                    };
                    reader.events(
                        after,
                        if matches!(since, Some(Since::Time(_))) {
                            usize::MAX
                        } else {
                            limit
                        },
                    )?
                }
            };
            events.retain(|e| match since {
                Some(Since::Seq(s)) => e.seq > s,
                Some(Since::Time(t)) => e.at >= t,
                None => true,
            });
            events.truncate(limit);
            Ok(output::events(&events, g.format()))
        }
        LogCmd::Verify => {
            let store = g.open_store()?;
            let r = store.verify()?;
            Ok(format!(
                "log ok: {} events, chain intact, replay matches all {} rows\n",
                r.events, r.rows
            ))
        }
        LogCmd::Dump { file } => {
            let store = g.open_store()?;
            let n = store.dump(&file)?;
            Ok(format!("dumped {n} events to {}\n", file.display()))
        }
        LogCmd::Replay { to, at, from, out } => {
            let stop = match (to, at) {
                (Some(s), _) => ReplayStop::Seq(s),
                (None, Some(t)) => ReplayStop::Time(t),
                (None, None) => ReplayStop::End,
            };
            if out.join(crate::store::DB_FILE).exists() {
                anyhow::bail!(
                    "--out {}: it already holds a database; give an empty directory",
                    out.display()
                );
            }
            let target = Store::open(&out, Duration::ZERO)?;
            let last = match from {
                Some(file) => target.replay_from(LogSource::File(file), stop)?,
                None => {
                    let src = g.open_store()?;
                    target.replay_from(LogSource::Store(&src), stop)?
                }
            };
            Ok(format!("replayed {last} events into {}\n", out.display()))
        }
    }
}
