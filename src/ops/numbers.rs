//! Number management: add, import/export, reserve, cool, release, allocate, unassign, delete.

use std::collections::BTreeMap;
use std::io::{Read, Write};

use crate::domain::lifecycle;
use crate::domain::normalize::Number;
use crate::domain::workflows::{self, parse_number, parse_range};
use crate::domain::{clean_hierarchy, entry_key, settings, Entry, Status, Usage, Vendor};
use crate::store::{Entity, EntryFilter, Event, Reader, StoreError, TxRecord, Writer};

use super::{Ctx, OpError, OpResult};

/// What an add or import did.
#[derive(Debug, Default)]
pub struct AddReport {
    pub created: Vec<String>,
    pub skipped: Vec<String>,
    pub tx: Option<TxRecord>,
}

/// Adds numbers (and/or an inclusive range) at `hierarchy`; existing ones are skipped.
pub fn add(
    ctx: &Ctx<'_>,
    numbers: &[String],
    range: Option<&str>,
    hierarchy: &str,
    region: Option<&str>,
) -> OpResult<AddReport> {
    let mut wanted: Vec<String> = Vec::new();
    for raw in numbers {
        wanted.push(parse_number(raw, region)?.canonical());
    }
    if let Some(r) = range {
        for n in parse_range(r)? {
            wanted.push(parse_number(&n, region)?.canonical());
        }
    }
    if wanted.is_empty() {
        return Err(OpError::Invalid(
            "nothing to add: give numbers or --range START..END".into(),
        ));
    }
    let hierarchy = clean_hierarchy(hierarchy).map_err(OpError::Invalid)?;
    let written = ctx.store.write("numbers.add", &ctx.actor, ctx.now, |w| {
        let mut report = AddReport::default();
        for number in wanted {
            let e = Entry::new(&number, hierarchy, ctx.now);
            if w.entry(&e.key())?.is_some() {
                report.skipped.push(number);
            } else {
                w.put_entry(&e)?;
                report.created.push(number);
            }
        }
        w.tx.count("created", report.created.len() as u64);
        w.tx.count("skipped", report.skipped.len() as u64);
        Ok::<_, OpError>(report)
    })?;
    Ok(AddReport {
        tx: written.tx,
        ..written.value
    })
}

/// Finds the entry a typed number means; an extension needs its hierarchy unless only one
/// site has it.
pub fn resolve_key(
    reader: &Reader,
    raw: &str,
    hierarchy: Option<&str>,
    region: Option<&str>,
) -> OpResult<String> {
    let number = parse_number(raw, region)?;
    match (&number, hierarchy) {
        (Number::Extension(_), Some(h)) => Ok(entry_key(
            &number.canonical(),
            clean_hierarchy(h).map_err(OpError::Invalid)?,
        )),
        (Number::Extension(x), None) => {
            let prefix = format!("{x}@");
            let found: Vec<(Vec<u8>, Entry)> = reader.scan(Entity::Entry, prefix.as_bytes())?;
            match found.len() {
                0 => Err(OpError::NotFound(format!(
                    "extension {x} is not in the inventory"
                ))),
                1 => Ok(found[0].1.key()),
                n => Err(OpError::Invalid(format!(
                    "extension {x} exists at {n} hierarchies; add --hierarchy to say which"
                ))),
            }
        }
        _ => Ok(number.canonical()),
    }
}

/// One entry by typed number.
pub fn show(reader: &Reader, raw: &str, hierarchy: Option<&str>) -> OpResult<Entry> {
    let key = resolve_key(reader, raw, hierarchy, None)?;
    reader.entry(&key)?.ok_or_else(|| {
        OpError::NotFound(format!(
            "{raw} is not in the inventory; add it with `numbers add`"
        ))
    })
}

/// The events of one number, oldest first.
pub fn history(reader: &Reader, raw: &str, hierarchy: Option<&str>) -> OpResult<Vec<Event>> {
    let key = resolve_key(reader, raw, hierarchy, None)?;
    let events = reader.history(Entity::Entry, key.as_bytes())?;
    if events.is_empty() {
        return Err(OpError::NotFound(format!(
            "{raw} has no history: it was never in the inventory"
        )));
    }
    Ok(events)
}

/// The events of one number and, for diagnosis, the registered-user changes in the same
/// transactions that concern it ("why is this number Cooling?"), oldest first.
pub fn history_with_causes(
    reader: &Reader,
    raw: &str,
    hierarchy: Option<&str>,
) -> OpResult<Vec<Event>> {
    let key = resolve_key(reader, raw, hierarchy, None)?;
    let mut events = history(reader, raw, hierarchy)?;
    let mut causes = Vec::new();
    const TX_EVENTS_SCANNED_MAX: usize = 100_000;
    for ev in &events {
        let Some(tx) = reader.transaction(ev.tx_id)? else {
            continue;
        };
        if tx.seq_last == 0 {
            continue;
        }
        let span = ((tx.seq_last + 1 - tx.seq_first) as usize).min(TX_EVENTS_SCANNED_MAX);
        for other in reader.events(tx.seq_first.saturating_sub(1), span)? {
            if other.entity == Entity::RegisteredUser && user_event_concerns(&other, &key) {
                causes.push(other);
            }
        }
    }
    events.extend(causes);
    events.sort_by_key(|e| e.seq);
    events.dedup_by_key(|e| e.seq);
    Ok(events)
}

fn user_event_concerns(ev: &Event, number_key: &str) -> bool {
    let holds = |bytes: &Option<Vec<u8>>| {
        bytes.as_deref().is_some_and(|b| {
            crate::store::decode::<crate::domain::device::CachedUser>(
                "registered_users",
                ev.key.as_bytes(),
                b,
            )
            .is_ok_and(|u| u.number_key.as_deref() == Some(number_key))
        })
    };
    holds(&ev.before) || holds(&ev.after)
}

/// Lists entries.
pub fn list(reader: &Reader, filter: &EntryFilter) -> OpResult<Vec<Entry>> {
    Ok(reader.entries(filter)?)
}

/// Applies a workflow to one existing entry, in one change.
fn update_one(
    ctx: &Ctx<'_>,
    kind: &str,
    raw: &str,
    hierarchy: Option<&str>,
    f: impl FnOnce(&Entry, &Writer<'_>) -> OpResult<Entry>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    let key = resolve_key(&ctx.store.read()?, raw, hierarchy, None)?;
    let written = ctx.store.write(kind, &ctx.actor, ctx.now, |w| {
        let e = w
            .entry(&key)?
            .ok_or_else(|| OpError::NotFound(format!("{raw} is not in the inventory")))?;
        // A device may hold the number (a conflict that this workflow ends): it must not be
        // left Available or Cooling under the device.
        let next = lifecycle::settle_held(f(&e, w)?, w.is_held(&key)?, ctx.now);
        w.put_entry(&next)?;
        w.tx.count("changed", 1);
        Ok::<_, OpError>(next)
    })?;
    Ok((written.value, written.tx))
}

pub fn reserve(
    ctx: &Ctx<'_>,
    raw: &str,
    hierarchy: Option<&str>,
    notes: &str,
    days: Option<u32>,
    reserved_for: Option<&str>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    update_one(ctx, "numbers.reserve", raw, hierarchy, |e, _| {
        Ok(workflows::reserve(e, notes, days, reserved_for, ctx.now)?)
    })
}

pub fn unreserve(
    ctx: &Ctx<'_>,
    raw: &str,
    hierarchy: Option<&str>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    update_one(ctx, "numbers.unreserve", raw, hierarchy, |e, _| {
        Ok(workflows::unreserve(e, ctx.now)?)
    })
}

pub fn cool(
    ctx: &Ctx<'_>,
    raw: &str,
    hierarchy: Option<&str>,
    days: Option<u32>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    update_one(ctx, "numbers.cool", raw, hierarchy, |e, w| {
        if w.is_held(&e.key())? {
            return Err(OpError::Invalid(format!(
                "{} is held by an AudioCodes device; it cools when the device lets it go",
                e.number
            )));
        }
        let global = global_cooling_days(w)?;
        Ok(workflows::cool(e, days, global, ctx.now)?)
    })
}

pub fn release(
    ctx: &Ctx<'_>,
    raw: &str,
    hierarchy: Option<&str>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    update_one(ctx, "numbers.release", raw, hierarchy, |e, _| {
        Ok(workflows::release(e, ctx.now)?)
    })
}

pub fn unassign(
    ctx: &Ctx<'_>,
    raw: &str,
    hierarchy: Option<&str>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    update_one(ctx, "numbers.unassign", raw, hierarchy, |e, w| {
        let enabled = w
            .setting(settings::INVENTORY_COOLING_ENABLED)?
            .and_then(|v| settings::parse_bool(&v).ok())
            .unwrap_or(false);
        let global = global_cooling_days(w)?;
        Ok(workflows::unassign(e, enabled, global, ctx.now)?)
    })
}

/// The global cooling length of manual workflows (never used for AudioCodes numbers).
fn global_cooling_days(w: &Writer<'_>) -> Result<u32, StoreError> {
    Ok(w.setting(settings::INVENTORY_COOLING_DAYS)?
        .and_then(|v| settings::parse_days(&v).ok())
        .unwrap_or(settings::INVENTORY_COOLING_DAYS_DEFAULT))
}

/// Deletes an Available number.
pub fn delete(
    ctx: &Ctx<'_>,
    raw: &str,
    hierarchy: Option<&str>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    let key = resolve_key(&ctx.store.read()?, raw, hierarchy, None)?;
    let written = ctx
        .store
        .write("numbers.delete", &ctx.actor, ctx.now, |w| {
            let e = w
                .entry(&key)?
                .ok_or_else(|| OpError::NotFound(format!("{raw} is not in the inventory")))?;
            workflows::check_delete(&e)?;
            w.delete(Entity::Entry, key.as_bytes())?;
            w.tx.count("deleted", 1);
            Ok::<_, OpError>(e)
        })?;
    Ok((written.value, written.tx))
}

/// Atomically takes the next allocatable number (lowest key) and makes it `Used` / `User`.
/// Runs inside one write transaction, so two callers never receive the same number.
pub fn allocate(
    ctx: &Ctx<'_>,
    hierarchy: Option<&str>,
    for_user: Option<&str>,
    description: Option<&str>,
) -> OpResult<(Entry, Option<TxRecord>)> {
    let written = ctx
        .store
        .write("numbers.allocate", &ctx.actor, ctx.now, |w| {
            let found = w.first_with_status(Status::Available, |e| {
                workflows::allocatable(e, hierarchy, for_user)
            })?;
            if let Some(e) = found {
                let next = workflows::assign(&e, description.or(for_user), ctx.now);
                w.put_entry(&next)?;
                w.tx.count("allocated", 1);
                return Ok(next);
            }
            Err(OpError::NotFound(format!(
                "no Available number{}{}; add numbers or widen the hierarchy",
                hierarchy
                    .map(|h| format!(" at or above {h}"))
                    .unwrap_or_default(),
                for_user.map(|u| format!(" for {u}")).unwrap_or_default(),
            )))
        })?;
    Ok((written.value, written.tx))
}

/// CSV columns, in export order. `extra.<name>` columns follow.
pub const CSV_COLUMNS: &[&str] = &[
    "number",
    "status",
    "usage",
    "vendor",
    "tag",
    "release_date",
    "description",
    "reservation_notes",
    "reserved_for",
    "e164",
    "hierarchy",
];

/// Imports a CSV with a header row. Every row is checked first: one bad row (named by its
/// line) fails the whole import and changes nothing. Existing numbers are skipped.
pub fn import(
    ctx: &Ctx<'_>,
    input: impl Read,
    source: &str,
    default_hierarchy: &str,
    region: Option<&str>,
) -> OpResult<AddReport> {
    let entries = parse_csv(input, source, default_hierarchy, region, ctx.now)?;
    let written = ctx
        .store
        .write("numbers.import", &ctx.actor, ctx.now, |w| {
            let mut report = AddReport::default();
            for e in entries {
                if w.entry(&e.key())?.is_some() {
                    report.skipped.push(e.number);
                } else {
                    w.put_entry(&e)?;
                    report.created.push(e.number);
                }
            }
            w.tx.count("created", report.created.len() as u64);
            w.tx.count("skipped", report.skipped.len() as u64);
            Ok::<_, OpError>(report)
        })?;
    Ok(AddReport {
        tx: written.tx,
        ..written.value
    })
}

/// Parses import rows into entries (pure but for reading `input`).
pub fn parse_csv(
    input: impl Read,
    source: &str,
    default_hierarchy: &str,
    region: Option<&str>,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<Vec<Entry>> {
    let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(input);
    let bad = |line: u64, msg: String| OpError::Invalid(format!("{source} line {line}: {msg}"));
    let headers = reader
        .headers()
        .map_err(|e| bad(1, format!("cannot read the header row: {e}")))?
        .clone();
    let col = |name: &str| {
        headers
            .iter()
            .position(|h| h.trim().eq_ignore_ascii_case(name))
    };
    let Some(number_col) = col("number") else {
        return Err(bad(1, "the header has no `number` column".into()));
    };
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let line = i as u64 + 2;
        let row = row.map_err(|e| bad(line, e.to_string()))?;
        let field = |name: &str| col(name).and_then(|c| row.get(c)).unwrap_or("").trim();
        let raw = row.get(number_col).unwrap_or("").trim();
        let number = parse_number(raw, region)
            .map_err(|r| bad(line, r.0))?
            .canonical();
        let hierarchy = match field("hierarchy") {
            "" => default_hierarchy,
            h => h,
        };
        let hierarchy = clean_hierarchy(hierarchy).map_err(|e| bad(line, e))?;
        let mut e = Entry::new(&number, hierarchy, now);
        let status = field("status");
        if !status.is_empty() {
            e.status = Status::parse(status).ok_or_else(|| {
                bad(line, format!("unknown status {status:?}; use Available, Used, Used-Utility, Reserved or Cooling"))
            })?;
        }
        e.usage = Usage::parse(field("usage"));
        e.vendor = Vendor::parse(field("vendor"));
        e.tag = field("tag").to_string();
        e.description = field("description").to_string();
        e.reservation_notes = field("reservation_notes").to_string();
        e.reserved_for = field("reserved_for").to_string();
        e.e164 = field("e164").to_string();
        let date = field("release_date");
        if !date.is_empty() {
            e.release_date = Some(date.parse().map_err(|_| {
                bad(
                    line,
                    format!("release_date {date:?} is not a date like 2026-12-05"),
                )
            })?);
        }
        if e.status == Status::Cooling && e.release_date.is_none() {
            return Err(bad(line, "a Cooling number needs a release_date".into()));
        }
        for (h, v) in headers.iter().zip(row.iter()) {
            if let Some(k) = h.trim().strip_prefix("extra.") {
                if !v.trim().is_empty() {
                    e.extra.insert(k.to_string(), v.trim().to_string());
                }
            }
        }
        if !seen.insert(e.key()) {
            return Err(bad(line, format!("{number} appears twice in the file")));
        }
        out.push(e);
    }
    Ok(out)
}

/// Writes entries as CSV (`+` and leading zeros kept: every field is text).
pub fn export_csv(entries: &[Entry], out: impl Write) -> OpResult<()> {
    let extra_keys: std::collections::BTreeSet<&str> = entries
        .iter()
        .flat_map(|e| e.extra.keys().map(String::as_str))
        .collect();
    let mut w = csv::Writer::from_writer(out);
    let io = |e: csv::Error| OpError::Invalid(format!("cannot write CSV: {e}"));
    let mut header: Vec<String> = CSV_COLUMNS.iter().map(|c| c.to_string()).collect();
    header.extend(extra_keys.iter().map(|k| format!("extra.{k}")));
    w.write_record(&header).map_err(io)?;
    for e in entries {
        let mut row = csv_row(e);
        row.extend(
            extra_keys
                .iter()
                .map(|k| e.extra.get(*k).cloned().unwrap_or_default()),
        );
        w.write_record(&row).map_err(io)?;
    }
    w.flush()
        .map_err(|e| OpError::Invalid(format!("cannot write CSV: {e}")))?;
    Ok(())
}

/// The fixed columns of one entry, in [`CSV_COLUMNS`] order.
pub fn csv_row(e: &Entry) -> Vec<String> {
    vec![
        e.number.clone(),
        e.status.to_string(),
        e.usage.to_string(),
        e.vendor.to_string(),
        e.tag.clone(),
        e.release_date.map(|d| d.to_string()).unwrap_or_default(),
        e.description.clone(),
        e.reservation_notes.clone(),
        e.reserved_for.clone(),
        e.e164.clone(),
        e.hierarchy.clone(),
    ]
}

/// Counts of entries by status, for summaries.
pub fn status_counts(reader: &Reader) -> OpResult<BTreeMap<Status, u64>> {
    Ok(reader.status_counts()?)
}
