//! `numinv macros|settings|expire|transactions|backup`

use std::path::Path;

use clap::Subcommand;

use hyper::Method;

use super::output::{self, tx_id_suffix, Format};
use super::remote::{back, enc, query, Remote};
use super::Global;
use crate::api::wire::{
    BackupRequest, BackupView, ExpireView, SetRequest, TxDetailView, TxView, ValueView,
};
use crate::ops::{admin as ops, Ctx};
use crate::store::TxRecord;

fn id(tx: &Option<TxRecord>) -> Option<u64> {
    tx.as_ref().map(|t| t.id)
}

fn macro_value(g: &Global, name: &str, hierarchy: &str, v: Option<String>) -> String {
    match g.format() {
        Format::Json => {
            output::json(&serde_json::json!({"name": name, "hierarchy": hierarchy, "value": v}))
        }
        _ => format!("{}\n", v.unwrap_or_else(|| "(unset)".into())),
    }
}

fn macro_set(name: &str, value: &str, hierarchy: &str, tx: Option<u64>) -> String {
    let at = if hierarchy.is_empty() {
        "globally".to_string()
    } else {
        format!("at {hierarchy}")
    };
    format!("{name} = {} {at} ({})\n", value.trim(), tx_id_suffix(tx))
}

fn setting_value(g: &Global, name: &str, v: String) -> String {
    match g.format() {
        Format::Json => output::json(&serde_json::json!({"name": name, "value": v})),
        _ => format!("{v}\n"),
    }
}

fn setting_set(name: &str, value: &str, tx: Option<u64>) -> String {
    format!("{name} = {} ({})\n", value.trim(), tx_id_suffix(tx))
}

fn expired(g: &Global, released: u64, overdue: u64, tx: Option<u64>) -> String {
    match g.format() {
        Format::Json => output::json(&serde_json::json!({
            "released": released, "overdue": overdue, "transaction": tx
        })),
        _ => format!(
            "released {released} ({overdue} overdue) ({})\n",
            tx_id_suffix(tx)
        ),
    }
}

fn remote_macros(g: &Global, r: &Remote, cmd: MacrosCmd) -> anyhow::Result<String> {
    Ok(match cmd {
        MacrosCmd::Get { name, hierarchy } => {
            let q = query(&[("hierarchy", Some(hierarchy.as_str()))]);
            let v: ValueView = r.get(&format!("/api/macros/{}{q}", enc(&name)))?;
            macro_value(g, &name, &hierarchy, v.value)
        }
        MacrosCmd::Set {
            name,
            value,
            hierarchy,
        } => {
            let req = SetRequest {
                value: value.clone(),
                hierarchy: hierarchy.clone(),
            };
            let v: ValueView = r.send(Method::PUT, &format!("/api/macros/{}", enc(&name)), &req)?;
            macro_set(&name, &value, &hierarchy, v.transaction)
        }
    })
}

fn remote_settings(g: &Global, r: &Remote, cmd: SettingsCmd) -> anyhow::Result<String> {
    Ok(match cmd {
        SettingsCmd::Get { name } => {
            let v: ValueView = r.get(&format!("/api/settings/{}", enc(&name)))?;
            setting_value(g, &name, v.value.unwrap_or_default())
        }
        SettingsCmd::Set { name, value } => {
            let req = SetRequest {
                value: value.clone(),
                hierarchy: String::new(),
            };
            let v: ValueView =
                r.send(Method::PUT, &format!("/api/settings/{}", enc(&name)), &req)?;
            setting_set(&name, &value, v.transaction)
        }
    })
}

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
    if let Some(r) = g.remote()? {
        return remote_macros(g, &r, cmd);
    }
    let store = g.open_store()?;
    match cmd {
        MacrosCmd::Get { name, hierarchy } => {
            let v = ops::get_macro(&store.read()?, &name, &hierarchy)?;
            Ok(macro_value(g, &name, &hierarchy, v))
        }
        MacrosCmd::Set {
            name,
            value,
            hierarchy,
        } => {
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let tx = ops::set_macro(&ctx, &name, &value, &hierarchy)?;
            Ok(macro_set(&name, &value, &hierarchy, id(&tx)))
        }
    }
}

pub fn run_settings(g: &Global, cmd: SettingsCmd) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        return remote_settings(g, &r, cmd);
    }
    let store = g.open_store()?;
    match cmd {
        SettingsCmd::Get { name } => {
            let v = ops::get_setting(&store.read()?, &name)?;
            Ok(setting_value(g, &name, v))
        }
        SettingsCmd::Set { name, value } => {
            let ctx = Ctx::new(&store, g.clock().now(), "cli");
            let tx = ops::set_setting(&ctx, &name, &value)?;
            Ok(setting_set(&name, &value, id(&tx)))
        }
    }
}

pub fn run_expire(g: &Global) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        let v: ExpireView = r.post("/api/expire")?;
        return Ok(expired(g, v.released, v.overdue, v.transaction));
    }
    let store = g.open_store()?;
    let ctx = Ctx::new(&store, g.clock().now(), "expiry");
    let r = ops::expire(&ctx)?;
    Ok(expired(g, r.released, r.overdue, id(&r.tx)))
}

pub fn run_transactions(g: &Global, cmd: TransactionsCmd) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        return Ok(match cmd {
            TransactionsCmd::List { limit } => {
                let v: Vec<TxView> = r.get(&format!("/api/transactions?limit={limit}"))?;
                output::transactions(&back::<TxView, TxRecord>(&v)?, g.format())
            }
            TransactionsCmd::Show { id } => {
                let v: TxDetailView = r.get(&format!("/api/transactions/{id}"))?;
                output::transaction_detail(&v, g.format())?
            }
        });
    }
    let store = g.open_store()?;
    let reader = store.read()?;
    match cmd {
        TransactionsCmd::List { limit } => Ok(output::transactions(
            &reader.transactions(limit)?,
            g.format(),
        )),
        TransactionsCmd::Show { id } => {
            drop(reader);
            // The same detail the API answers: the record and its events (its sub-records).
            let v = crate::api::handlers::admin::transaction_detail(&store, id)
                .map_err(|e| anyhow::anyhow!("{}", e.message))?;
            output::transaction_detail(&v, g.format())
        }
    }
}

pub fn run_backup(g: &Global, dir: &Path) -> anyhow::Result<String> {
    if let Some(r) = g.remote()? {
        // The server writes the copy on its own machine; name the directory in full.
        let full = std::path::absolute(dir)
            .map_err(|e| anyhow::anyhow!("backup dir {}: {e}", dir.display()))?;
        let req = BackupRequest {
            dir: full.display().to_string(),
        };
        let v: BackupView = r.send(Method::POST, "/api/backup", &req)?;
        return Ok(format!("backed up {} rows to {}\n", v.rows, dir.display()));
    }
    let store = g.open_store()?;
    let rows = store.backup_to(dir)?;
    crate::ops::secrets::backup_key(&store, dir)?;
    Ok(format!("backed up {rows} rows to {}\n", dir.display()))
}
