//! Registered users as numinv caches them, and the diff of one fetch against the cache.

use std::collections::{BTreeSet, HashMap};

use serde::{Deserialize, Serialize};

use super::entry::entry_key;
use super::normalize::{normalize, Number};

/// A registered user as cached for one connection (DESIGN §4.2, §4.3). Only device-derived
/// fields: an unchanged user is an unchanged row, so a resync writes only what churned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedUser {
    pub node_id: String,
    pub node_name: String,
    /// The AOR exactly as the device sent it, for diagnosis.
    pub aor: String,
    /// Registered with at least one active contact.
    pub online: bool,
    /// The canonical number, when the AOR maps to one.
    pub number: Option<String>,
    /// The inventory key the number maps to (extensions are scoped to the connection's
    /// hierarchy).
    pub number_key: Option<String>,
    /// Why the AOR could not be mapped.
    pub unmapped: Option<String>,
}

impl CachedUser {
    /// Builds the cached form of a device user: normalization happens here, once.
    pub fn from_device(
        node_id: &str,
        node_name: &str,
        aor: &str,
        online: bool,
        hierarchy: &str,
        region: Option<&str>,
    ) -> CachedUser {
        let (number, number_key, unmapped) = match normalize(aor, region) {
            Ok(n) => {
                let canonical = n.canonical();
                let key = match n {
                    Number::Extension(_) => entry_key(&canonical, hierarchy),
                    Number::Public { .. } => canonical.clone(),
                };
                (Some(canonical), Some(key), None)
            }
            Err(u) => (None, None, Some(u.reason)),
        };
        CachedUser {
            node_id: node_id.to_string(),
            node_name: node_name.to_string(),
            aor: aor.to_string(),
            online,
            number,
            number_key,
            unmapped,
        }
    }

    /// The inventory key this user holds right now (online and mapped), if any.
    pub fn held_key(&self) -> Option<&str> {
        self.number_key.as_deref().filter(|_| self.online)
    }
}

/// The difference between the cache and a fetch, by user key.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UserDiff {
    pub added: Vec<(String, CachedUser)>,
    pub updated: Vec<(String, CachedUser)>,
    pub removed: Vec<String>,
    /// Inventory keys whose holders may have changed: the only numbers to re-evaluate.
    pub affected: BTreeSet<String>,
}

/// Diffs a complete fetch against the cached users of the same connection.
pub fn diff_users(
    cached: &HashMap<String, CachedUser>,
    fetched: &HashMap<String, CachedUser>,
) -> UserDiff {
    let mut d = UserDiff::default();
    for (key, user) in fetched {
        match cached.get(key) {
            None => {
                d.affected.extend(user.number_key.clone());
                d.added.push((key.clone(), user.clone()));
            }
            Some(old) if old != user => {
                d.affected.extend(old.number_key.clone());
                d.affected.extend(user.number_key.clone());
                d.updated.push((key.clone(), user.clone()));
            }
            Some(_) => {}
        }
    }
    for (key, old) in cached {
        if !fetched.contains_key(key) {
            d.affected.extend(old.number_key.clone());
            d.removed.push(key.clone());
        }
    }
    d.added.sort_by(|a, b| a.0.cmp(&b.0));
    d.updated.sort_by(|a, b| a.0.cmp(&b.0));
    d.removed.sort();
    d
}

/// The delete guard (DESIGN §4.2 step 4): `Err` explains why this many removals are refused.
/// The half-of-the-cache rule applies from [`GUARD_HALF_MIN_USERS`] cached users, so a tiny
/// estate can still lose its only phone without `--force`.
pub fn delete_guard(
    removed: usize,
    cached: usize,
    threshold: Option<u64>,
    force: bool,
) -> Result<(), String> {
    if force {
        return Ok(());
    }
    if let Some(t) = threshold {
        if removed as u64 > t {
            return Err(format!(
                "{removed} registered users would be removed, more than PULL_SYNC_DELETE_THRESHOLD_AudioCodes = {t}; if that is right, run again with --force"
            ));
        }
    }
    if cached >= GUARD_HALF_MIN_USERS && removed * 2 > cached {
        return Err(format!(
            "{removed} of {cached} cached registered users would be removed (more than half); if that is right, run again with --force"
        ));
    }
    Ok(())
}

/// Smallest cache the half rule protects.
pub const GUARD_HALF_MIN_USERS: usize = 10;

#[cfg(test)]
mod tests {
    use super::*;

    fn user(aor: &str, online: bool) -> CachedUser {
        CachedUser::from_device("1", "SBC", aor, online, "P/C/L", Some("GB"))
    }

    #[test]
    fn extensions_are_scoped_and_unmapped_kept() {
        assert_eq!(
            user("1004@192.0.2.14", true).number_key.as_deref(),
            Some("1004@P/C/L")
        );
        let u = user("reception@192.0.2.15", true);
        assert!(u.number_key.is_none() && u.unmapped.is_some());
        assert_eq!(u.held_key(), None);
        assert_eq!(user("+442079460001@x", false).held_key(), None);
    }

    #[test]
    fn diff_finds_added_updated_removed_and_affected_numbers() {
        let cached = HashMap::from([
            ("a".to_string(), user("+442079460001@x", true)),
            ("b".to_string(), user("+442079460002@x", true)),
            ("c".to_string(), user("+442079460003@x", true)),
        ]);
        let fetched = HashMap::from([
            ("a".to_string(), user("+442079460001@x", true)),
            ("b".to_string(), user("+442079460002@x", false)),
            ("d".to_string(), user("+442079460004@x", true)),
        ]);
        let d = diff_users(&cached, &fetched);
        assert_eq!(d.added.len(), 1);
        assert_eq!(d.updated.len(), 1);
        assert_eq!(d.removed, ["c"]);
        let affected: Vec<_> = d.affected.iter().map(String::as_str).collect();
        assert_eq!(
            affected,
            ["+442079460002", "+442079460003", "+442079460004"]
        );
    }

    #[test]
    fn guard_trips_at_threshold_plus_one() {
        assert!(delete_guard(3, 100, Some(3), false).is_ok());
        assert!(delete_guard(4, 100, Some(3), false).is_err());
        assert!(delete_guard(4, 100, Some(3), true).is_ok());
        assert!(delete_guard(51, 100, None, false).is_err());
        assert!(delete_guard(2, 3, None, false).is_ok());
    }
}
