//! Registered users as numinv caches them, and the diff of one fetch against the cache.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};

use super::entry::entry_key;
use super::normalize::{normalize, Number};

/// A registered user as cached for one connection (DESIGN §4.2, §4.3). Only device-derived
/// fields: an unchanged user is an unchanged row, so a resync writes only what churned.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CachedUser {
    // `Box<str>`, not `String`: the same encoding, 8 bytes less per field, and a million-user
    // fetch holds a million of these.
    pub node_id: Box<str>,
    pub node_name: Box<str>,
    /// The AOR exactly as the device sent it, for diagnosis.
    pub aor: Box<str>,
    /// Registered with at least one active contact.
    pub online: bool,
    /// The canonical number, when the AOR maps to one.
    pub number: Option<Box<str>>,
    /// The inventory key the number maps to (extensions are scoped to the connection's
    /// hierarchy).
    pub number_key: Option<Box<str>>,
    /// Why the AOR could not be mapped.
    pub unmapped: Option<Box<str>>,
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
            node_id: node_id.into(),
            node_name: node_name.into(),
            aor: aor.into(),
            online,
            number: number.map(String::into_boxed_str),
            number_key: number_key.map(String::into_boxed_str),
            unmapped: unmapped.map(String::into_boxed_str),
        }
    }

    /// The inventory key this user holds right now (online and mapped), if any.
    pub fn held_key(&self) -> Option<&str> {
        self.number_key.as_deref().filter(|_| self.online)
    }
}

/// The leading fields of a [`CachedUser`]'s encoding, borrowed from the stored bytes: what
/// the holders index needs. Same fields in the same order (a test checks it).
#[derive(Deserialize)]
pub struct UserIndexed<'a> {
    #[serde(borrow)]
    _node_id: &'a str,
    #[serde(borrow)]
    _node_name: &'a str,
    #[serde(borrow)]
    _aor: &'a str,
    online: bool,
    #[serde(borrow)]
    _number: Option<&'a str>,
    #[serde(borrow)]
    number_key: Option<&'a str>,
}

impl<'a> UserIndexed<'a> {
    /// [`CachedUser::held_key`].
    pub fn held_key(&self) -> Option<&'a str> {
        self.number_key.filter(|_| self.online)
    }
}

/// A complete fetch, normalized: unique user keys in key order. A sorted `Vec` rather than a
/// map: sorting happens in place, so a million users are never held twice, and it costs no
/// tree nodes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FetchedUsers(Vec<(String, CachedUser)>);

impl FetchedUsers {
    pub fn new() -> Self {
        Self::default()
    }

    /// The users in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&String, &CachedUser)> {
        self.0.iter().map(|(k, u)| (k, u))
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl FromIterator<(String, CachedUser)> for FetchedUsers {
    /// Sorts by key; a repeated key keeps its last user, as a map would.
    fn from_iter<I: IntoIterator<Item = (String, CachedUser)>>(users: I) -> Self {
        let mut users: Vec<_> = users.into_iter().collect();
        users.sort_by(|a, b| a.0.cmp(&b.0)); // stable: repeats stay in fetch order
        users.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                std::mem::swap(later, kept);
            }
            same
        });
        FetchedUsers(users)
    }
}

/// The difference between the cache and a fetch, by user key, each list in key order. It
/// borrows the fetched users, so a first sync of a million users clones none of them.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct UserDiff<'f> {
    pub added: Vec<(&'f str, &'f CachedUser)>,
    pub updated: Vec<(&'f str, &'f CachedUser)>,
    pub removed: Vec<String>,
    /// Inventory keys whose holders may have changed: the only numbers to re-evaluate.
    pub affected: BTreeSet<String>,
    /// Cached users seen, for the delete guard.
    pub cached: usize,
}

/// One cached user as the diff reads it. The store answers `same_as` by comparing encodings,
/// so a user that did not change is never decoded.
pub trait CachedSide {
    type Error;
    /// True when this cached user equals the fetched one.
    fn same_as(&self, fetched: &CachedUser) -> bool;
    /// The cached user, for the number it held.
    fn user(&self) -> Result<CachedUser, Self::Error>;
}

impl CachedSide for CachedUser {
    type Error = std::convert::Infallible;
    fn same_as(&self, fetched: &CachedUser) -> bool {
        self == fetched
    }
    fn user(&self) -> Result<CachedUser, Self::Error> {
        Ok(self.clone())
    }
}

/// Diffs a complete fetch against the cached users of the same connection: a merge of two
/// sequences in key order, so neither side is ever held twice in memory.
pub fn diff_users<'f, C: CachedSide>(
    cached: impl IntoIterator<Item = Result<(String, C), C::Error>>,
    fetched: &'f FetchedUsers,
) -> Result<UserDiff<'f>, C::Error> {
    let mut d = UserDiff::default();
    let mut fresh = fetched.iter().peekable();
    let added = |d: &mut UserDiff<'f>, (key, user): (&'f String, &'f CachedUser)| {
        d.affected
            .extend(user.number_key.as_deref().map(String::from));
        d.added.push((key, user));
    };
    for row in cached {
        let (key, old) = row?;
        d.cached += 1;
        while let Some(next) = fresh.next_if(|(k, _)| **k < key) {
            added(&mut d, next);
        }
        match fresh.next_if(|(k, _)| **k == key) {
            Some((k, user)) if !old.same_as(user) => {
                d.affected.extend(old.user()?.number_key.map(String::from));
                d.affected
                    .extend(user.number_key.as_deref().map(String::from));
                d.updated.push((k, user));
            }
            Some(_) => {}
            None => {
                d.affected.extend(old.user()?.number_key.map(String::from));
                d.removed.push(key);
            }
        }
    }
    for next in fresh {
        added(&mut d, next);
    }
    Ok(d)
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
        let cached = [
            ("a".to_string(), user("+442079460001@x", true)),
            ("b".to_string(), user("+442079460002@x", true)),
            ("c".to_string(), user("+442079460003@x", true)),
            ("e".to_string(), user("+442079460005@x", true)),
        ];
        let fetched = FetchedUsers::from_iter([
            ("0".to_string(), user("+442079460000@x", true)),
            ("a".to_string(), user("+442079460001@x", true)),
            ("b".to_string(), user("+442079460002@x", false)),
            ("d".to_string(), user("+442079460004@x", true)),
            ("f".to_string(), user("+442079460006@x", true)),
        ]);
        let d = diff_users(cached.into_iter().map(Ok), &fetched).unwrap();
        let keys =
            |v: &[(&str, &CachedUser)]| v.iter().map(|(k, _)| k.to_string()).collect::<Vec<_>>();
        assert_eq!(keys(&d.added), ["0", "d", "f"]);
        assert_eq!(keys(&d.updated), ["b"]);
        assert_eq!(d.removed, ["c", "e"]);
        assert_eq!(d.cached, 4);
        let affected: Vec<_> = d.affected.iter().map(String::as_str).collect();
        assert_eq!(
            affected,
            [
                "+442079460000",
                "+442079460002",
                "+442079460003",
                "+442079460004",
                "+442079460005",
                "+442079460006"
            ]
        );
    }

    #[test]
    fn indexed_view_reads_what_cached_user_wrote() {
        for u in [
            user("+442079460001@x", true),
            user("+442079460001@x", false),
            user("1004@192.0.2.14", true),
            user("reception@192.0.2.15", true),
        ] {
            let bytes = postcard::to_allocvec(&u).unwrap();
            let view: UserIndexed = postcard::from_bytes(&bytes).unwrap();
            assert_eq!(view.held_key(), u.held_key());
        }
    }

    #[test]
    fn fetched_users_are_sorted_and_a_repeated_key_keeps_its_last_user() {
        let fetched = FetchedUsers::from_iter([
            ("b".to_string(), user("+442079460002@x", true)),
            ("a".to_string(), user("+442079460001@x", true)),
            ("b".to_string(), user("+442079460002@x", false)),
        ]);
        let seen: Vec<_> = fetched
            .iter()
            .map(|(k, u)| (k.as_str(), u.online))
            .collect();
        assert_eq!(seen, [("a", true), ("b", false)]);
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
