//! `numinv audit [--fix]`: compare the inventory with the cached registered users.

use std::collections::{BTreeMap, BTreeSet};

use crate::domain::audit::{check, Finding, FindingKind};
use crate::domain::lifecycle;
use crate::domain::settings::{self, audiocodes_cooling_days};
use crate::domain::{Status, Vendor};
use crate::ops::{Ctx, OpResult};
use crate::store::{Reader, TxRecord, Writer};

/// The numbers worth checking: held ones, AudioCodes-used ones, cooling ones.
fn candidates(reader: &Reader) -> OpResult<(BTreeSet<String>, BTreeMap<String, String>)> {
    let held = reader.held_keys()?;
    let mut keys: BTreeSet<String> = held.keys().cloned().collect();
    for st in [Status::Used, Status::Cooling] {
        let filter = crate::store::EntryFilter {
            status: Some(st),
            ..Default::default()
        };
        for e in reader.entries(&filter)? {
            if st == Status::Cooling || e.vendor == Vendor::AudioCodes {
                keys.insert(e.key());
            }
        }
    }
    Ok((keys, held))
}

/// Findings, in key order.
pub fn audit(reader: &Reader, now: chrono::DateTime<chrono::Utc>) -> OpResult<Vec<Finding>> {
    let (keys, held) = candidates(reader)?;
    let today = now.date_naive();
    let mut out = Vec::new();
    for key in keys {
        let entry = reader.entry(&key)?;
        out.extend(check(&key, entry.as_ref(), held.contains_key(&key), today));
    }
    Ok(out)
}

/// Repairs every fixable finding by the lifecycle rules, in one change. Never deletes.
pub fn fix(ctx: &Ctx<'_>) -> OpResult<(Vec<Finding>, Option<TxRecord>)> {
    let reader = ctx.store.read()?;
    let findings = audit(&reader, ctx.now)?;
    // A missing public number is created at the hierarchy of a connection that holds it.
    let held = reader.held_keys()?;
    let mut hierarchies = BTreeMap::new();
    for conn in crate::ops::connections::list(&reader)? {
        hierarchies.insert(conn.name, conn.hierarchy);
    }
    drop(reader);
    let written = ctx.store.write("audit.fix", &ctx.actor, ctx.now, |w| {
        for f in findings.iter().filter(|f| f.kind.fixable()) {
            let hierarchy = held
                .get(&f.number)
                .and_then(|c| hierarchies.get(c))
                .map_or("", String::as_str);
            repair(w, f, hierarchy, ctx.now)?;
        }
        w.tx.count("findings", findings.len() as u64);
        Ok::<_, crate::ops::OpError>(())
    })?;
    Ok((findings, written.tx))
}

fn repair(
    w: &mut Writer<'_>,
    f: &Finding,
    holder_hierarchy: &str,
    now: chrono::DateTime<chrono::Utc>,
) -> OpResult<()> {
    let existing = w.entry(&f.number)?;
    let next = match f.kind {
        FindingKind::HeldMissing | FindingKind::HeldNotDevice => {
            // An extension's key carries its hierarchy; a public number takes its holder's.
            let (number, hierarchy) = f
                .number
                .split_once('@')
                .unwrap_or((&f.number, holder_hierarchy));
            match lifecycle::on_held(existing.as_ref(), number, hierarchy, now) {
                lifecycle::Held::Create(e) | lifecycle::Held::Update(e) => Some(e),
                _ => None,
            }
        }
        FindingKind::UsedNotHeld | FindingKind::CoolingWithoutDate => match existing {
            Some(mut e) => {
                let days = cooling_days(w, &e)?;
                if f.kind == FindingKind::CoolingWithoutDate {
                    // Re-enter cooling from Used so the AudioCodes rule sets date and tag.
                    e.status = Status::Used;
                }
                match lifecycle::on_released(&e, days, now) {
                    Some(next) => Some(next),
                    None => {
                        let release = lifecycle::release_date(now, days);
                        e.status = Status::Cooling;
                        e.release_date = Some(release);
                        e.touch(now);
                        Some(e)
                    }
                }
            }
            None => None,
        },
        FindingKind::CoolingOverdue => existing.map(|e| lifecycle::make_available(&e, now)),
        FindingKind::Conflict => None,
    };
    if let Some(e) = next {
        w.put_entry(&e)?;
        w.tx.count(&format!("fixed_{}", f.kind.as_str()), 1);
    }
    Ok(())
}

/// AudioCodes numbers cool by the macro at their hierarchy; others by the global setting.
fn cooling_days(w: &Writer<'_>, e: &crate::domain::Entry) -> OpResult<u32> {
    if e.vendor == Vendor::AudioCodes {
        let stored = w.macro_value(&e.hierarchy, settings::AUDIOCODES_COOLING_DURATION)?;
        Ok(audiocodes_cooling_days(stored.as_deref()).0)
    } else {
        Ok(w.setting(settings::INVENTORY_COOLING_DAYS)?
            .and_then(|v| settings::parse_days(&v).ok())
            .unwrap_or(settings::INVENTORY_COOLING_DAYS_DEFAULT))
    }
}
