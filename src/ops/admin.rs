//! Macros, settings, the expiry sweep, transactions.

use chrono::NaiveDate;

use crate::domain::settings::{self, validate_macro, validate_setting};
use crate::domain::{clean_hierarchy, lifecycle};
use crate::store::{macro_key, Entity, Reader, TxRecord};

use super::{Ctx, OpError, OpResult};

/// Sets a macro at a hierarchy (`""` is global), after validating it.
pub fn set_macro(
    ctx: &Ctx<'_>,
    name: &str,
    value: &str,
    hierarchy: &str,
) -> OpResult<Option<TxRecord>> {
    validate_macro(name, value).map_err(|e| OpError::Invalid(format!("macro {name}: {e}")))?;
    let hierarchy = clean_hierarchy(hierarchy).map_err(OpError::Invalid)?;
    let value = value.trim().to_string();
    let w = ctx.store.write("macros.set", &ctx.actor, ctx.now, |w| {
        w.put(Entity::Macro, &macro_key(hierarchy, name), &value)?;
        w.tx.count("set", 1);
        Ok::<_, OpError>(())
    })?;
    Ok(w.tx)
}

/// A macro's effective value at a hierarchy, with its default when unset.
pub fn get_macro(reader: &Reader, name: &str, hierarchy: &str) -> OpResult<Option<String>> {
    let default = settings::MACROS
        .iter()
        .find(|m| m.0 == name)
        .ok_or_else(|| OpError::Invalid(validate_macro(name, "").unwrap_err()))?
        .1;
    Ok(reader
        .macro_value(hierarchy, name)?
        .or(default.map(str::to_string)))
}

/// Sets a global setting, after validating it.
pub fn set_setting(ctx: &Ctx<'_>, name: &str, value: &str) -> OpResult<Option<TxRecord>> {
    validate_setting(name, value).map_err(|e| OpError::Invalid(format!("setting {name}: {e}")))?;
    let value = value.trim().to_string();
    let w = ctx.store.write("settings.set", &ctx.actor, ctx.now, |w| {
        w.put(Entity::Setting, name.as_bytes(), &value)?;
        w.tx.count("set", 1);
        Ok::<_, OpError>(())
    })?;
    Ok(w.tx)
}

/// A setting's value, or its default.
pub fn get_setting(reader: &Reader, name: &str) -> OpResult<String> {
    let default = settings::SETTINGS
        .iter()
        .find(|s| s.0 == name)
        .ok_or_else(|| OpError::Invalid(validate_setting(name, "").unwrap_err()))?
        .1;
    Ok(reader.setting(name)?.unwrap_or_else(|| default.to_string()))
}

/// What an expiry sweep did.
#[derive(Debug, Default)]
pub struct ExpireReport {
    pub released: u64,
    /// Released later than their date (the service was down on the day).
    pub overdue: u64,
    pub tx: Option<TxRecord>,
}

/// The expiry sweep: every Cooling (or timed Reserved) number whose release date is today
/// or earlier returns to Available. No look-back cap. One change for the whole sweep.
pub fn expire(ctx: &Ctx<'_>) -> OpResult<ExpireReport> {
    let today: NaiveDate = ctx.now.date_naive();
    let written = ctx.store.write("expiry", &ctx.actor, ctx.now, |w| {
        let mut report = ExpireReport::default();
        for key in w.keys_due(today)? {
            let Some(e) = w.entry(&key)? else { continue };
            if let Some(next) = lifecycle::on_expiry(&e, ctx.now) {
                if e.release_date.is_some_and(|d| d < today) {
                    report.overdue += 1;
                }
                // A timed reservation that a device registers ends in the device's hands.
                let next = lifecycle::settle_held(next, w.is_held(&key)?, ctx.now);
                w.put_entry(&next)?;
                report.released += 1;
            }
        }
        w.tx.count("released", report.released);
        w.tx.count("overdue", report.overdue);
        Ok::<_, OpError>(report)
    })?;
    Ok(ExpireReport {
        tx: written.tx,
        ..written.value
    })
}
