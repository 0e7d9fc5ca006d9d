//! `numinv numbers …`

use std::path::PathBuf;

use clap::Subcommand;

use super::output::{self, tx_suffix, Format};
use super::Global;
use crate::domain::Status;
use crate::ops::{numbers as ops, Ctx};
use crate::store::EntryFilter;

#[derive(Debug, Subcommand)]
pub enum NumbersCmd {
    /// List numbers, filtered.
    List(ListArgs),
    /// Show one number.
    Show(NumberArg),
    /// Add numbers, or an inclusive range START..END (existing numbers are skipped).
    Add {
        /// Numbers to add.
        numbers: Vec<String>,
        /// An inclusive range, e.g. +442079460100..+442079460199 (ends of equal length).
        #[arg(long)]
        range: Option<String>,
        /// Where the numbers live, e.g. Provider/Contoso/London.
        #[arg(long, default_value = "")]
        hierarchy: String,
        /// Region for national input, e.g. GB.
        #[arg(long)]
        region: Option<String>,
    },
    /// Import a CSV file with a header row (number,status,usage,vendor,…,extra.<name>).
    Import {
        file: PathBuf,
        /// Hierarchy for rows without one.
        #[arg(long, default_value = "")]
        hierarchy: String,
        #[arg(long)]
        region: Option<String>,
    },
    /// Export numbers as CSV (or JSON with --format json).
    Export {
        #[command(flatten)]
        filter: ListArgs,
        /// Write to this file instead of standard output.
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Reserve an Available number.
    Reserve {
        #[command(flatten)]
        number: NumberArg,
        #[arg(long, default_value = "")]
        notes: String,
        /// End the reservation after this many days.
        #[arg(long)]
        days: Option<u32>,
        /// The user it is reserved for.
        #[arg(long = "for")]
        reserved_for: Option<String>,
    },
    /// End a reservation.
    Unreserve(NumberArg),
    /// Cool a number for --days (at most 999), else the global duration.
    Cool {
        #[command(flatten)]
        number: NumberArg,
        #[arg(long)]
        days: Option<u32>,
    },
    /// Release a Cooling number now.
    Release(NumberArg),
    /// Take the next Available number at or above a hierarchy (atomic).
    Allocate {
        #[arg(long)]
        hierarchy: Option<String>,
        /// The user it is for (may take numbers reserved for this user).
        #[arg(long = "for")]
        for_user: Option<String>,
        #[arg(long)]
        description: Option<String>,
    },
    /// Take a number back from its user.
    Unassign(NumberArg),
    /// Delete an Available number.
    Delete(NumberArg),
    /// Every change of a number: time, actor, transaction.
    History(NumberArg),
}

#[derive(Debug, clap::Args)]
pub struct NumberArg {
    /// The number (E.164, national, or an extension).
    pub number: String,
    /// The hierarchy of an extension, when several sites have it.
    #[arg(long)]
    pub hierarchy: Option<String>,
}

#[derive(Debug, Clone, clap::Args)]
pub struct ListArgs {
    /// Available, Used, Used-Utility, Reserved or Cooling.
    #[arg(long, value_parser = parse_status)]
    pub status: Option<Status>,
    /// Microsoft, AudioCodes, … (blank for none).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Only numbers at or below this hierarchy.
    #[arg(long)]
    pub hierarchy: Option<String>,
    /// Text to find in number, description, tag, reservation or hierarchy.
    #[arg(long)]
    pub search: Option<String>,
    /// Only numbers after this key (paging).
    #[arg(long)]
    pub after: Option<String>,
    #[arg(long)]
    pub limit: Option<usize>,
}

impl ListArgs {
    pub fn filter(&self) -> EntryFilter {
        EntryFilter {
            status: self.status,
            vendor: self.vendor.clone(),
            hierarchy: self.hierarchy.clone(),
            search: self.search.clone(),
            after: self.after.clone(),
            limit: self.limit,
        }
    }
}

fn parse_status(s: &str) -> Result<Status, String> {
    Status::parse(s).ok_or_else(|| {
        format!("unknown status {s:?}; use Available, Used, Used-Utility, Reserved or Cooling")
    })
}

pub fn run(g: &Global, cmd: NumbersCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let ctx = Ctx::new(&store, g.clock().now(), "cli");
    let fmt = g.format();
    let changed = |verb: &str, e: &crate::domain::Entry, tx: &Option<crate::store::TxRecord>| {
        if fmt == Format::Table {
            format!("{verb} {}: {} ({})\n", e.number, e.status, tx_suffix(tx))
        } else {
            output::entry(e, fmt)
        }
    };
    Ok(match cmd {
        NumbersCmd::List(args) => output::entries(&ops::list(&store.read()?, &args.filter())?, fmt),
        NumbersCmd::Show(n) => output::entry(
            &ops::show(&store.read()?, &n.number, n.hierarchy.as_deref())?,
            fmt,
        ),
        NumbersCmd::History(n) => output::events(
            &ops::history(&store.read()?, &n.number, n.hierarchy.as_deref())?,
            fmt,
        ),
        NumbersCmd::Add {
            numbers,
            range,
            hierarchy,
            region,
        } => {
            let r = ops::add(
                &ctx,
                &numbers,
                range.as_deref(),
                &hierarchy,
                region.as_deref(),
            )?;
            add_summary(&r, fmt)
        }
        NumbersCmd::Import {
            file,
            hierarchy,
            region,
        } => {
            let input = std::fs::File::open(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let r = ops::import(
                &ctx,
                input,
                &file.display().to_string(),
                &hierarchy,
                region.as_deref(),
            )?;
            add_summary(&r, fmt)
        }
        NumbersCmd::Export { filter, out } => {
            let entries = ops::list(&store.read()?, &filter.filter())?;
            let text = output::entries(&entries, g.format.unwrap_or(Format::Csv));
            match out {
                Some(path) => {
                    std::fs::write(&path, text)
                        .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
                    format!("exported {} numbers to {}\n", entries.len(), path.display())
                }
                None => text,
            }
        }
        NumbersCmd::Reserve {
            number,
            notes,
            days,
            reserved_for,
        } => {
            let (e, tx) = ops::reserve(
                &ctx,
                &number.number,
                number.hierarchy.as_deref(),
                &notes,
                days,
                reserved_for.as_deref(),
            )?;
            changed("reserved", &e, &tx)
        }
        NumbersCmd::Unreserve(n) => {
            let (e, tx) = ops::unreserve(&ctx, &n.number, n.hierarchy.as_deref())?;
            changed("unreserved", &e, &tx)
        }
        NumbersCmd::Cool { number, days } => {
            let (e, tx) = ops::cool(&ctx, &number.number, number.hierarchy.as_deref(), days)?;
            if fmt == Format::Table {
                format!(
                    "cooling {} until {} ({})\n",
                    e.number,
                    e.release_date.map(|d| d.to_string()).unwrap_or_default(),
                    tx_suffix(&tx)
                )
            } else {
                output::entry(&e, fmt)
            }
        }
        NumbersCmd::Release(n) => {
            let (e, tx) = ops::release(&ctx, &n.number, n.hierarchy.as_deref())?;
            changed("released", &e, &tx)
        }
        NumbersCmd::Allocate {
            hierarchy,
            for_user,
            description,
        } => {
            let (e, tx) = ops::allocate(
                &ctx,
                hierarchy.as_deref(),
                for_user.as_deref(),
                description.as_deref(),
            )?;
            if fmt == Format::Table {
                let _ = tx; // scripts read the number alone
                format!("{}\n", e.number)
            } else {
                output::entry(&e, fmt)
            }
        }
        NumbersCmd::Unassign(n) => {
            let (e, tx) = ops::unassign(&ctx, &n.number, n.hierarchy.as_deref())?;
            changed("unassigned", &e, &tx)
        }
        NumbersCmd::Delete(n) => {
            let (e, tx) = ops::delete(&ctx, &n.number, n.hierarchy.as_deref())?;
            format!("deleted {} ({})\n", e.number, tx_suffix(&tx))
        }
    })
}

fn add_summary(r: &ops::AddReport, fmt: Format) -> String {
    if fmt == Format::Json {
        return output::json(&serde_json::json!({
            "created": r.created, "skipped": r.skipped, "transaction": r.tx.as_ref().map(|t| t.id)
        }));
    }
    let mut s = format!(
        "created {}, skipped {} ({})\n",
        r.created.len(),
        r.skipped.len(),
        tx_suffix(&r.tx)
    );
    const SHOWN_MAX: usize = 20;
    for n in r.skipped.iter().take(SHOWN_MAX) {
        s.push_str(&format!("  skipped {n}: already in the inventory\n"));
    }
    if r.skipped.len() > SHOWN_MAX {
        s.push_str(&format!(
            "  … and {} more skipped\n",
            r.skipped.len() - SHOWN_MAX
        ));
    }
    s
}
