//! `numinv numbers …`

use std::path::PathBuf;

use clap::Subcommand;

use hyper::Method;

use super::output::{self, tx_id_suffix, Format};
use super::remote::{back, enc, query, Remote};
use super::Global;
use crate::api::wire::{
    AddRequest, AddView, AllocateRequest, ChangeView, CoolRequest, EntryPage, EntryView, EventView,
    ReserveRequest,
};
use crate::domain::{Entry, Status};
use crate::ops::{numbers as ops, Ctx};
use crate::store::{EntryFilter, TxRecord};

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
    if let Some(r) = g.remote()? {
        return run_remote(g, &r, cmd);
    }
    let store = g.open_store()?;
    let ctx = Ctx::new(&store, g.clock().now(), "cli");
    let fmt = g.format();
    let id = |tx: &Option<TxRecord>| tx.as_ref().map(|t| t.id);
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
            add_summary(&r.created, &r.skipped, id(&r.tx), fmt)
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
            add_summary(&r.created, &r.skipped, id(&r.tx), fmt)
        }
        NumbersCmd::Export { filter, out } => {
            exported(&ops::list(&store.read()?, &filter.filter())?, g, out)?
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
            changed(fmt, "reserved", &e, id(&tx))
        }
        NumbersCmd::Unreserve(n) => {
            let (e, tx) = ops::unreserve(&ctx, &n.number, n.hierarchy.as_deref())?;
            changed(fmt, "unreserved", &e, id(&tx))
        }
        NumbersCmd::Cool { number, days } => {
            let (e, tx) = ops::cool(&ctx, &number.number, number.hierarchy.as_deref(), days)?;
            cooled(fmt, &e, id(&tx))
        }
        NumbersCmd::Release(n) => {
            let (e, tx) = ops::release(&ctx, &n.number, n.hierarchy.as_deref())?;
            changed(fmt, "released", &e, id(&tx))
        }
        NumbersCmd::Allocate {
            hierarchy,
            for_user,
            description,
        } => {
            let (e, _tx) = ops::allocate(
                &ctx,
                hierarchy.as_deref(),
                for_user.as_deref(),
                description.as_deref(),
            )?;
            allocated(fmt, &e)
        }
        NumbersCmd::Unassign(n) => {
            let (e, tx) = ops::unassign(&ctx, &n.number, n.hierarchy.as_deref())?;
            changed(fmt, "unassigned", &e, id(&tx))
        }
        NumbersCmd::Delete(n) => {
            let (e, tx) = ops::delete(&ctx, &n.number, n.hierarchy.as_deref())?;
            deleted(&e, id(&tx))
        }
    })
}

/// The same commands through a server's API, printed by the same functions.
fn run_remote(g: &Global, r: &Remote, cmd: NumbersCmd) -> anyhow::Result<String> {
    let fmt = g.format();
    let path = |n: &NumberArg, suffix: &str| {
        format!(
            "/api/numbers/{}{suffix}{}",
            enc(&n.number),
            query(&[("hierarchy", n.hierarchy.as_deref())])
        )
    };
    let change = |v: ChangeView| -> anyhow::Result<(Entry, Option<u64>)> {
        Ok((
            Entry::try_from(&v.entry).map_err(anyhow::Error::msg)?,
            v.transaction,
        ))
    };
    Ok(match cmd {
        NumbersCmd::List(args) => output::entries(&list_remote(r, &args)?, fmt),
        NumbersCmd::Show(n) => {
            let v: EntryView = r.get(&path(&n, ""))?;
            output::entry(&Entry::try_from(&v).map_err(anyhow::Error::msg)?, fmt)
        }
        NumbersCmd::History(n) => {
            let v: Vec<EventView> = r.get(&path(&n, "/history"))?;
            output::event_views(&v, fmt)
        }
        NumbersCmd::Add {
            numbers,
            range,
            hierarchy,
            region,
        } => {
            let req = AddRequest {
                numbers,
                range,
                hierarchy,
                region,
            };
            let v: AddView = r.send(Method::POST, "/api/numbers", &req)?;
            add_summary(&v.created, &v.skipped, v.transaction, fmt)
        }
        NumbersCmd::Import {
            file,
            hierarchy,
            region,
        } => {
            let body = std::fs::read(&file)
                .map_err(|e| anyhow::anyhow!("cannot read {}: {e}", file.display()))?;
            let q = query(&[
                ("hierarchy", Some(hierarchy.as_str())),
                ("region", region.as_deref()),
            ]);
            let v: AddView = r.send_bytes(
                Method::POST,
                &format!("/api/numbers/import{q}"),
                "text/csv",
                body,
            )?;
            add_summary(&v.created, &v.skipped, v.transaction, fmt)
        }
        NumbersCmd::Export { filter, out } => exported(&list_remote(r, &filter)?, g, out)?,
        NumbersCmd::Reserve {
            number,
            notes,
            days,
            reserved_for,
        } => {
            let req = ReserveRequest {
                notes,
                days,
                reserved_for,
            };
            let (e, tx) = change(r.send(Method::POST, &path(&number, "/reserve"), &req)?)?;
            changed(fmt, "reserved", &e, tx)
        }
        NumbersCmd::Unreserve(n) => {
            let (e, tx) = change(r.post(&path(&n, "/unreserve"))?)?;
            changed(fmt, "unreserved", &e, tx)
        }
        NumbersCmd::Cool { number, days } => {
            let req = CoolRequest { days };
            let (e, tx) = change(r.send(Method::POST, &path(&number, "/cool"), &req)?)?;
            cooled(fmt, &e, tx)
        }
        NumbersCmd::Release(n) => {
            let (e, tx) = change(r.post(&path(&n, "/release"))?)?;
            changed(fmt, "released", &e, tx)
        }
        NumbersCmd::Allocate {
            hierarchy,
            for_user,
            description,
        } => {
            let req = AllocateRequest {
                hierarchy,
                reserved_for: for_user,
                description,
            };
            let (e, _tx) = change(r.send(Method::POST, "/api/numbers/allocate", &req)?)?;
            allocated(fmt, &e)
        }
        NumbersCmd::Unassign(n) => {
            let (e, tx) = change(r.post(&path(&n, "/unassign"))?)?;
            changed(fmt, "unassigned", &e, tx)
        }
        NumbersCmd::Delete(n) => {
            let bytes = r.request(Method::DELETE, &path(&n, ""), None, Vec::new())?;
            let v: ChangeView = serde_json::from_slice(&bytes)?;
            let (e, tx) = change(v)?;
            deleted(&e, tx)
        }
    })
}

/// Every entry the filter selects (up to `--limit`), page by page.
fn list_remote(r: &Remote, a: &ListArgs) -> anyhow::Result<Vec<Entry>> {
    use crate::api::handlers::numbers::PAGE_MAX;
    let mut out: Vec<Entry> = Vec::new();
    let mut after = a.after.clone();
    let status = a.status.map(|s| s.to_string());
    // Bounded: every page moves the cursor forward over a finite key space.
    loop {
        let want = match a.limit {
            Some(l) if l <= out.len() => break,
            Some(l) => (l - out.len()).min(PAGE_MAX),
            None => PAGE_MAX,
        };
        let size = want.to_string();
        let q = query(&[
            ("status", status.as_deref()),
            ("vendor", a.vendor.as_deref()),
            ("hierarchy", a.hierarchy.as_deref()),
            ("search", a.search.as_deref()),
            ("after", after.as_deref()),
            ("limit", Some(size.as_str())),
        ]);
        let page: EntryPage = r.get(&format!("/api/numbers{q}"))?;
        let full = page.items.len() == want;
        out.extend(back::<EntryView, Entry>(&page.items)?);
        match page.next {
            Some(next) if full && after.as_deref() != Some(next.as_str()) => after = Some(next),
            _ => break,
        }
    }
    Ok(out)
}

fn changed(fmt: Format, verb: &str, e: &Entry, tx: Option<u64>) -> String {
    if fmt == Format::Table {
        format!("{verb} {}: {} ({})\n", e.number, e.status, tx_id_suffix(tx))
    } else {
        output::entry(e, fmt)
    }
}

fn cooled(fmt: Format, e: &Entry, tx: Option<u64>) -> String {
    if fmt == Format::Table {
        format!(
            "cooling {} until {} ({})\n",
            e.number,
            e.release_date.map(|d| d.to_string()).unwrap_or_default(),
            tx_id_suffix(tx)
        )
    } else {
        output::entry(e, fmt)
    }
}

/// Scripts read the number alone.
fn allocated(fmt: Format, e: &Entry) -> String {
    if fmt == Format::Table {
        format!("{}\n", e.number)
    } else {
        output::entry(e, fmt)
    }
}

fn deleted(e: &Entry, tx: Option<u64>) -> String {
    format!("deleted {} ({})\n", e.number, tx_id_suffix(tx))
}

fn exported(entries: &[Entry], g: &Global, out: Option<PathBuf>) -> anyhow::Result<String> {
    let text = output::entries(entries, g.format.unwrap_or(Format::Csv));
    Ok(match out {
        Some(path) => {
            std::fs::write(&path, text)
                .map_err(|e| anyhow::anyhow!("cannot write {}: {e}", path.display()))?;
            format!("exported {} numbers to {}\n", entries.len(), path.display())
        }
        None => text,
    })
}

fn add_summary(created: &[String], skipped: &[String], tx: Option<u64>, fmt: Format) -> String {
    if fmt == Format::Json {
        return output::json(&serde_json::json!({
            "created": created, "skipped": skipped, "transaction": tx
        }));
    }
    let mut s = format!(
        "created {}, skipped {} ({})\n",
        created.len(),
        skipped.len(),
        tx_id_suffix(tx)
    );
    const SHOWN_MAX: usize = 20;
    for n in skipped.iter().take(SHOWN_MAX) {
        s.push_str(&format!("  skipped {n}: already in the inventory\n"));
    }
    if skipped.len() > SHOWN_MAX {
        s.push_str(&format!(
            "  … and {} more skipped\n",
            skipped.len() - SHOWN_MAX
        ));
    }
    s
}
