//! Read helpers shared by the read path and the write path (redb's `ReadableTable`
//! covers both, so each lookup is written once).

use chrono::NaiveDate;
use redb::ReadableTable;

use super::codec::decode;
use super::tables::{Bytes, Entity};
use super::write::day_bytes;
use super::StoreError;
use crate::domain::settings::hierarchy_walk;
use crate::domain::Status;

pub(crate) fn keys_with_status(
    idx: &impl ReadableTable<Bytes, ()>,
    status: Status,
) -> Result<Vec<String>, StoreError> {
    let lo = [status.code()];
    let hi = [status.code() + 1];
    let mut keys = Vec::new();
    for row in idx.range(lo.as_slice()..hi.as_slice())? {
        let (k, _) = row?;
        keys.push(String::from_utf8_lossy(&k.value()[1..]).into_owned());
    }
    Ok(keys)
}

pub(crate) fn keys_due(
    idx: &impl ReadableTable<Bytes, ()>,
    day: NaiveDate,
) -> Result<Vec<String>, StoreError> {
    let end = day.succ_opt().map(day_bytes).unwrap_or([0xff; 4]);
    let mut keys = Vec::new();
    for row in idx.range(..end.as_slice())? {
        let (k, _) = row?;
        keys.push(String::from_utf8_lossy(&k.value()[4..]).into_owned());
    }
    Ok(keys)
}

/// The key of a macro defined at `hierarchy` (`""` is global).
pub fn macro_key(hierarchy: &str, name: &str) -> Vec<u8> {
    let mut k = crate::domain::trim_hierarchy(hierarchy).as_bytes().to_vec();
    k.push(0);
    k.extend_from_slice(name.as_bytes());
    k
}

pub(crate) fn macro_value(
    table: &impl ReadableTable<Bytes, Bytes>,
    hierarchy: &str,
    name: &str,
) -> Result<Option<String>, StoreError> {
    for level in hierarchy_walk(hierarchy) {
        let key = macro_key(level, name);
        if let Some(v) = table.get(key.as_slice())? {
            return decode(Entity::Macro.table_name(), &key, v.value()).map(Some);
        }
    }
    Ok(None)
}
