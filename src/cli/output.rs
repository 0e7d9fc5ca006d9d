//! Rendering command results as a table, JSON or CSV.

use std::fmt::Write as _;

use serde::Serialize;

use crate::api::wire::{EntryView, EventView, TxView};
use crate::domain::Entry;
use crate::store::{Event, TxRecord};

/// How results are printed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Csv,
}

/// Left-aligned columns separated by two spaces; empty cells stay empty.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: &mut dyn Iterator<Item = &str>| {
        let mut s = String::new();
        for (i, (cell, w)) in cells.zip(&widths).enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let _ = write!(s, "{cell:<w$}");
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut headers.iter().copied());
    for row in rows {
        line(&mut row.iter().map(String::as_str));
    }
    out
}

pub fn json<T: Serialize + ?Sized>(v: &T) -> String {
    let mut s =
        serde_json::to_string_pretty(v).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

const ENTRY_HEADERS: &[&str] = &[
    "number",
    "status",
    "usage",
    "vendor",
    "release_date",
    "hierarchy",
    "tag",
    "description",
];

fn entry_row(e: &Entry) -> Vec<String> {
    vec![
        e.number.clone(),
        e.status.to_string(),
        e.usage.to_string(),
        e.vendor.to_string(),
        e.release_date.map(|d| d.to_string()).unwrap_or_default(),
        e.hierarchy.clone(),
        e.tag.clone(),
        e.description.clone(),
    ]
}

/// A list of entries.
pub fn entries(entries: &[Entry], format: Format) -> String {
    match format {
        Format::Json => json(&entries.iter().map(EntryView::from).collect::<Vec<_>>()),
        Format::Csv => {
            let mut buf = Vec::new();
            match crate::ops::numbers::export_csv(entries, &mut buf) {
                Ok(()) => String::from_utf8_lossy(&buf).into_owned(),
                Err(e) => format!("{e}\n"),
            }
        }
        Format::Table => table(
            ENTRY_HEADERS,
            &entries.iter().map(entry_row).collect::<Vec<_>>(),
        ),
    }
}

/// One entry, every field.
pub fn entry(e: &Entry, format: Format) -> String {
    match format {
        Format::Json => json(&EntryView::from(e)),
        Format::Csv => entries(std::slice::from_ref(e), format),
        Format::Table => {
            let v = EntryView::from(e);
            let mut rows = vec![
                ("number", v.number),
                ("status", v.status),
                ("usage", v.usage),
                ("vendor", v.vendor),
                ("tag", v.tag),
                (
                    "release_date",
                    v.release_date.map(|d| d.to_string()).unwrap_or_default(),
                ),
                ("hierarchy", v.hierarchy),
                ("description", v.description),
                ("reservation_notes", v.reservation_notes),
                ("reserved_for", v.reserved_for),
                ("e164", v.e164),
                ("created_at", v.created_at.to_rfc3339()),
                ("updated_at", v.updated_at.to_rfc3339()),
                ("version", v.version.to_string()),
            ];
            rows.extend(
                v.extra
                    .iter()
                    .map(|(k, val)| ("extra", format!("{k}={val}"))),
            );
            let mut out = String::new();
            for (k, val) in rows {
                let _ = writeln!(out, "{k:<18} {val}");
            }
            out
        }
    }
}

/// A short description of an entry change, for history tables.
fn change_summary(ev: &Event) -> String {
    let view = EventView::from(ev);
    let text = |x: &serde_json::Value| match x {
        serde_json::Value::Null => String::new(),
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // Bookkeeping fields change on every write; they say nothing about what happened.
    const QUIET: &[&str] = &[
        "updated_at",
        "created_at",
        "version",
        "finished_at",
        "started_at",
    ];
    match (&view.before, &view.after) {
        (None, Some(a)) => match a.get("status") {
            Some(st) => format!("created {}", text(st)),
            None => "created".to_string(),
        },
        (Some(_), None) => "deleted".to_string(),
        (Some(serde_json::Value::Object(b)), Some(serde_json::Value::Object(a))) => {
            let null = serde_json::Value::Null;
            let parts: Vec<String> = a
                .iter()
                .filter(|(k, _)| !QUIET.contains(&k.as_str()))
                .filter_map(|(k, av)| {
                    let bv = b.get(k).unwrap_or(&null);
                    (bv != av).then(|| format!("{k}: {:?} -> {:?}", text(bv), text(av)))
                })
                .collect();
            parts.join("; ")
        }
        (Some(b), Some(a)) => format!("{:?} -> {:?}", text(b), text(a)),
        (None, None) => String::new(),
    }
}

/// Events (history, log show).
pub fn events(events: &[Event], format: Format) -> String {
    match format {
        Format::Json => json(&events.iter().map(EventView::from).collect::<Vec<_>>()),
        _ => {
            let rows: Vec<Vec<String>> = events
                .iter()
                .map(|ev| {
                    vec![
                        ev.seq.to_string(),
                        ev.at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        ev.actor.clone(),
                        ev.tx_id.to_string(),
                        ev.entity.as_str().to_string(),
                        ev.key.clone(),
                        change_summary(ev),
                    ]
                })
                .collect();
            let headers = [
                "seq",
                "time",
                "actor",
                "transaction",
                "entity",
                "key",
                "change",
            ];
            if format == Format::Csv {
                let mut w = csv::Writer::from_writer(Vec::new());
                let _ = w.write_record(headers);
                for r in &rows {
                    let _ = w.write_record(r);
                }
                String::from_utf8_lossy(&w.into_inner().unwrap_or_default()).into_owned()
            } else {
                table(&headers, &rows)
            }
        }
    }
}

/// Transaction records.
pub fn transactions(txs: &[TxRecord], format: Format) -> String {
    match format {
        Format::Json => json(&txs.iter().map(TxView::from).collect::<Vec<_>>()),
        _ => {
            let rows: Vec<Vec<String>> = txs
                .iter()
                .map(|t| {
                    vec![
                        t.id.to_string(),
                        t.started_at
                            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
                        t.kind.clone(),
                        t.actor.clone(),
                        t.status.as_str().to_string(),
                        t.counts
                            .iter()
                            .map(|(k, v)| format!("{k}={v}"))
                            .collect::<Vec<_>>()
                            .join(" "),
                        t.message.clone(),
                    ]
                })
                .collect();
            table(
                &[
                    "id", "started", "kind", "actor", "status", "counts", "message",
                ],
                &rows,
            )
        }
    }
}

/// One transaction record with its notes.
pub fn transaction(t: &TxRecord, format: Format) -> String {
    if format == Format::Json {
        return json(&TxView::from(t));
    }
    let mut out = transactions(std::slice::from_ref(t), format);
    if t.seq_last > 0 {
        let _ = writeln!(out, "events {}..={}", t.seq_first, t.seq_last);
    }
    for n in &t.notes {
        let _ = writeln!(out, "  {n}");
    }
    if t.notes_dropped > 0 {
        let _ = writeln!(out, "  … and {} more", t.notes_dropped);
    }
    out
}

/// "transaction 7" or "nothing changed".
pub fn tx_suffix(tx: &Option<TxRecord>) -> String {
    match tx {
        Some(t) => format!("transaction {}", t.id),
        None => "nothing changed".to_string(),
    }
}
