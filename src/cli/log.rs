//! `numinv log show|verify|replay|dump`

use std::path::PathBuf;
use std::time::Duration;

use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::output;
use super::remote::{enc, local_only, query, Remote};
use super::Global;
use crate::api::wire::{EventPage, EventView};
use crate::store::{LogSource, ReplayStop, Store, StoreError};

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

/// Keeps the events after `since` and at most `limit` of them.
fn since_filter(mut events: Vec<EventView>, since: &Option<Since>, limit: usize) -> Vec<EventView> {
    events.retain(|e| match since {
        Some(Since::Seq(s)) => e.seq > *s,
        Some(Since::Time(t)) => e.at >= *t,
        None => true,
    });
    events.truncate(limit);
    events
}

/// `log show` through a server: a number's history, or the log page by page.
fn show_remote(
    g: &Global,
    r: &Remote,
    number: Option<String>,
    hierarchy: Option<String>,
    since: Option<Since>,
    limit: usize,
) -> anyhow::Result<String> {
    use crate::api::handlers::admin::EVENTS_PAGE_MAX;
    let events = match &number {
        Some(n) => {
            let q = query(&[
                ("hierarchy", hierarchy.as_deref()),
                ("causes", Some("true")),
            ]);
            r.get::<Vec<EventView>>(&format!("/api/numbers/{}/history{q}", enc(n)))?
        }
        None => {
            let mut after = match since {
                Some(Since::Seq(s)) => s,
                _ => 0,
            };
            let mut out: Vec<EventView> = Vec::new();
            // Bounded: each page moves `after` forward over a finite log.
            while out.len() < limit {
                let page: EventPage = r.get(&format!(
                    "/api/events?after={after}&limit={EVENTS_PAGE_MAX}"
                ))?;
                if page.events.is_empty() || page.next <= after {
                    break;
                }
                after = page.next;
                out.extend(
                    page.events
                        .into_iter()
                        .filter(|e| !matches!(since, Some(Since::Time(t)) if e.at < t)),
                );
            }
            out
        }
    };
    Ok(output::event_views(
        &since_filter(events, &since, limit),
        g.format(),
    ))
}

pub fn run(g: &Global, cmd: LogCmd) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        return match cmd {
            LogCmd::Show {
                number,
                hierarchy,
                since,
                limit,
            } => {
                let since = since.as_deref().map(parse_since).transpose()?;
                show_remote(g, &r, number, hierarchy, since, limit)
            }
            LogCmd::Verify => Err(local_only(
                "log verify",
                "it reads the server's database file; run it on that machine with the server stopped, or take `numinv backup DIR` and verify the copy",
            )),
            LogCmd::Replay { .. } => Err(local_only(
                "log replay",
                "it reads a database file; take `numinv backup DIR` and replay with --data-dir DIR, or use --from a dump",
            )),
            LogCmd::Dump { .. } => Err(local_only(
                "log dump",
                "it reads the server's database file; take `numinv backup DIR` and dump with --data-dir DIR",
            )),
        };
    }
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
            let events = match &number {
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
            let views = events.iter().map(EventView::from).collect();
            Ok(output::event_views(
                &since_filter(views, &since, limit),
                g.format(),
            ))
        }
        LogCmd::Verify => {
            let store = open_file_store(g)?;
            let r = store.verify()?;
            Ok(format!(
                "log ok: {} events, chain intact, replay matches all {} rows\n",
                r.events, r.rows
            ))
        }
        LogCmd::Dump { file } => {
            let store = open_file_store(g)?;
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
            // The source first: a refused source must not leave a half-made --out behind.
            let src_store;
            let source = match from {
                Some(file) => LogSource::File(file),
                None => {
                    src_store = open_file_store(g)?;
                    LogSource::Store(&src_store)
                }
            };
            let made_dir = !out.exists();
            let target = Store::open(&out, Duration::ZERO)?;
            let replayed = target.replay_from(source, stop);
            match replayed {
                Ok(last) => Ok(format!("replayed {last} events into {}\n", out.display())),
                Err(e) => {
                    drop(target);
                    remove_partial_replay(&out, made_dir);
                    Err(e.into())
                }
            }
        }
    }
}

/// Removes what a failed replay created in `--out`, so running it again just works.
fn remove_partial_replay(out: &std::path::Path, made_dir: bool) {
    for name in [crate::store::DB_FILE, crate::store::HOLDER_FILE] {
        let _ = std::fs::remove_file(out.join(name));
    }
    if made_dir {
        let _ = std::fs::remove_dir(out); // only if now empty
    }
}

/// Opens the data dir for `log verify|dump|replay`, which read the database file and cannot
/// go through a server: a held data dir gets the backup route, not the `--server` hint.
fn open_file_store(g: &Global) -> anyhow::Result<Store> {
    g.open_store().map_err(|e| match e.downcast_ref::<StoreError>() {
        Some(StoreError::Locked {
            dir,
            holder,
            server,
        }) => anyhow::anyhow!(
            "cannot open data dir {}: another numinv process holds it{holder}; this command reads the database file itself: copy it with `numinv --server {server} backup DIR` and run the command with --data-dir DIR, or stop that process",
            dir.display()
        ),
        _ => e,
    })
}
