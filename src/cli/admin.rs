//! `numinv macros|settings|expire|transactions|backup`

use std::path::Path;

use clap::Subcommand;

use super::output::{self, tx_suffix, Format};
use super::Global;
use crate::ops::{admin as ops, Ctx};

#[derive(Debug, Subcommand)]
pub enum MacrosCmd {
    /// The effective value at a hierarchy (nearest definition walking up; else the default).
    Get {
        name: String,
        #[arg(long, default_value = "")]
        hierarchy: String,
    },
    /// Define a macro at a hierarchy (blank: global).
    Set {
        name: String,
        value: String,
        #[arg(long, default_value = "")]
        hierarchy: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCmd {
    Get { name: String },
    Set { name: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum TransactionsCmd {
    /// Newest first.
    List {
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// One transaction with its notes.
    Show { id: u64 },
}

pub fn run_macros(g: &Global, cmd: MacrosCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    match cmd {
        MacrosCmd::Get { name, hierarchy } => {
            let v = ops::get_macro(&store.read()?, &name, &hierarchy)?;
            Ok(match g.format() {
                Format::Json => output::json(
                    &serde_json::json!({"name": name, "hierarchy": hierarchy, "value": v}),
                ),
                _ => format!("{}\n", v.unwrap_or_else(|| "(unset)".into())),
            })
        }
        MacrosCmd::Set {
            name,
            value,
            hierarchy,
        } => {
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let tx = ops::set_macro(&ctx, &name, &value, &hierarchy)?;
            let at = if hierarchy.is_empty() {
                "globally".to_string()
            } else {
                format!("at {hierarchy}")
            };
            Ok(format!(
                "{name} = {} {at} ({})\n",
                value.trim(),
                tx_suffix(&tx)
            ))
        }
    }
}

pub fn run_settings(g: &Global, cmd: SettingsCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    match cmd {
        SettingsCmd::Get { name } => {
            let v = ops::get_setting(&store.read()?, &name)?;
            Ok(match g.format() {
                Format::Json => output::json(&serde_json::json!({"name": name, "value": v})),
                _ => format!("{v}\n"),
            })
        }
        SettingsCmd::Set { name, value } => {
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let tx = ops::set_setting(&ctx, &name, &value)?;
            Ok(format!("{name} = {} ({})\n", value.trim(), tx_suffix(&tx)))
        }
    }
}

pub fn run_expire(g: &Global) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let ctx = Ctx::new(&store, g.clock().now(), "expiry");
    let r = ops::expire(&ctx)?;
    Ok(match g.format() {
        Format::Json => output::json(&serde_json::json!({
            "released": r.released, "overdue": r.overdue, "transaction": r.tx.as_ref().map(|t| t.id)
        })),
        _ => format!(
            "released {} ({} overdue) ({})\n",
            r.released,
            r.overdue,
            tx_suffix(&r.tx)
        ),
    })
}

/// Most sub-records `transactions show` prints (the API pages through the rest).
const SUB_RECORDS_SHOWN_MAX: usize = 1000;

pub fn run_transactions(g: &Global, cmd: TransactionsCmd) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let reader = store.read()?;
    match cmd {
        TransactionsCmd::List { limit } => Ok(output::transactions(
            &reader.transactions(limit)?,
            g.format(),
        )),
        TransactionsCmd::Show { id } => {
            let t = reader.transaction(id)?.ok_or_else(|| {
                anyhow::anyhow!("transaction {id} does not exist; see `numinv transactions list`")
            })?;
            // Its events are its sub-records: one per changed entry, user or setting.
            let shown = if t.seq_last > 0 {
                reader.events(
                    t.seq_first.saturating_sub(1),
                    SUB_RECORDS_SHOWN_MAX.min((t.seq_last + 1 - t.seq_first) as usize),
                )?
            } else {
                Vec::new()
            };
            Ok(match g.format() {
                Format::Json => output::json(&serde_json::json!({
                    "transaction": crate::api::wire::TxView::from(&t),
                    "events": shown.iter().map(crate::api::wire::EventView::from).collect::<Vec<_>>(),
                })),
                f => {
                    let mut out = output::transaction(&t, f);
                    if !shown.is_empty() {
                        out.push_str(&output::events(&shown, f));
                    }
                    out
                }
            })
        }
    }
}

pub fn run_backup(g: &Global, dir: &Path) -> anyhow::Result<String> {
    let store = g.open_store()?;
    let rows = store.backup_to(dir)?;
    Ok(format!("backed up {rows} rows to {}\n", dir.display()))
}
