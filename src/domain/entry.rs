//! The inventory entry (DESIGN §2.1) and its managed fields.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

/// Where a number stands in its lifecycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Status {
    Available,
    Used,
    UsedUtility,
    Reserved,
    Cooling,
}

impl Status {
    /// Every status, in display order.
    pub const ALL: [Status; 5] = [
        Status::Available,
        Status::Used,
        Status::UsedUtility,
        Status::Reserved,
        Status::Cooling,
    ];

    /// The name administrators see and type.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Available => "Available",
            Status::Used => "Used",
            Status::UsedUtility => "Used-Utility",
            Status::Reserved => "Reserved",
            Status::Cooling => "Cooling",
        }
    }

    /// Parses a status name, case-insensitively; `Used_Utility` is accepted too.
    pub fn parse(s: &str) -> Option<Status> {
        let s = s.trim();
        Status::ALL.into_iter().find(|st| {
            st.as_str().eq_ignore_ascii_case(s)
                || (st.as_str().replace('-', "_")).eq_ignore_ascii_case(s)
        })
    }

    /// A stable one-byte code, used as the prefix of the status index.
    pub fn code(self) -> u8 {
        self as u8
    }

    /// `Used` and `Used-Utility` both mean "someone has it".
    pub fn is_used(self) -> bool {
        matches!(self, Status::Used | Status::UsedUtility)
    }
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Who uses a number: none, `Microsoft`, `AudioCodes`, or free text.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub enum Vendor {
    #[default]
    None,
    Microsoft,
    AudioCodes,
    Other(String),
}

impl Vendor {
    /// Parses the rendered form; blank means none. Known vendors match case-insensitively.
    pub fn parse(s: &str) -> Vendor {
        let s = s.trim();
        if s.is_empty() {
            Vendor::None
        } else if s.eq_ignore_ascii_case("microsoft") {
            Vendor::Microsoft
        } else if s.eq_ignore_ascii_case("audiocodes") {
            Vendor::AudioCodes
        } else {
            Vendor::Other(s.to_string())
        }
    }

    /// The rendered form (blank for none).
    pub fn as_str(&self) -> &str {
        match self {
            Vendor::None => "",
            Vendor::Microsoft => "Microsoft",
            Vendor::AudioCodes => "AudioCodes",
            Vendor::Other(s) => s,
        }
    }
}

impl fmt::Display for Vendor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of usages (`Device`, `User`, `Hunt_Pilot`, …), rendered comma-joined.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
pub struct Usage(BTreeSet<String>);

impl Usage {
    pub const DEVICE: &'static str = "Device";
    pub const USER: &'static str = "User";

    /// A usage set holding exactly one usage.
    pub fn only(usage: &str) -> Usage {
        Usage(BTreeSet::from([usage.to_string()]))
    }

    /// Parses `Device, User`; blank parts are dropped.
    pub fn parse(s: &str) -> Usage {
        Usage(
            s.split(',')
                .map(str::trim)
                .filter(|p| !p.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }

    pub fn contains(&self, usage: &str) -> bool {
        self.0.contains(usage)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Display for Usage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut first = true;
        for u in &self.0 {
            if !first {
                f.write_str(",")?;
            }
            f.write_str(u)?;
            first = false;
        }
        Ok(())
    }
}

/// One number of the inventory (DESIGN §2.1).
///
/// `status`, `usage` and `vendor` are managed: only the workflows of `domain` change them.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    /// The canonical number: `+442079460001`, `+14155550123;ext=12`, or an extension `1001`.
    pub number: String,
    /// Where the number lives, e.g. `Provider/Contoso/London`; also the scope of an extension.
    pub hierarchy: String,
    pub status: Status,
    pub usage: Usage,
    pub vendor: Vendor,
    pub tag: String,
    /// The UTC date on which a Cooling (or timed Reserved) number returns to Available.
    #[serde(with = "date_days")]
    pub release_date: Option<NaiveDate>,
    pub description: String,
    pub reservation_notes: String,
    pub reserved_for: String,
    pub e164: String,
    pub extra: BTreeMap<String, String>,
    #[serde(with = "time_ms")]
    pub created_at: DateTime<Utc>,
    #[serde(with = "time_ms")]
    pub updated_at: DateTime<Utc>,
    /// Increases by one on every change.
    pub version: u64,
}

impl Entry {
    /// A fresh `Available` entry.
    pub fn new(number: &str, hierarchy: &str, now: DateTime<Utc>) -> Entry {
        Entry {
            number: number.to_string(),
            hierarchy: hierarchy.to_string(),
            status: Status::Available,
            usage: Usage::default(),
            vendor: Vendor::None,
            tag: String::new(),
            release_date: None,
            description: String::new(),
            reservation_notes: String::new(),
            reserved_for: String::new(),
            e164: String::new(),
            extra: BTreeMap::new(),
            created_at: now,
            updated_at: now,
            version: 1,
        }
    }

    /// The storage key of this entry (see [`entry_key`]).
    pub fn key(&self) -> String {
        entry_key(&self.number, &self.hierarchy)
    }

    /// True for a number the devices hold: `Used` / `Device` / `AudioCodes`.
    pub fn is_audiocodes_device(&self) -> bool {
        self.status == Status::Used
            && self.vendor == Vendor::AudioCodes
            && self.usage.contains(Usage::DEVICE)
    }

    /// Marks the entry as changed at `now`: bumps `version` and `updated_at`.
    pub fn touch(&mut self, now: DateTime<Utc>) {
        self.version += 1;
        self.updated_at = now;
    }
}

/// The leading fields of an [`Entry`]'s encoding, up to `release_date`, borrowed from the
/// stored bytes: what the status and release-date indexes need, without allocating the
/// rest. Its fields follow `Entry`'s order; `indexed_view_reads_what_entry_wrote` checks it.
#[derive(Deserialize)]
pub struct EntryIndexed<'a> {
    #[serde(borrow)]
    _number: &'a str,
    #[serde(borrow)]
    _hierarchy: &'a str,
    pub status: Status,
    _usage: SkippedStrs,
    #[serde(borrow)]
    _vendor: VendorIndexed<'a>,
    #[serde(borrow)]
    _tag: &'a str,
    #[serde(with = "date_days")]
    pub release_date: Option<NaiveDate>,
}

/// [`Vendor`]'s encoding, borrowed (same variants, same order).
#[derive(Deserialize)]
enum VendorIndexed<'a> {
    None,
    Microsoft,
    AudioCodes,
    Other(#[allow(dead_code)] &'a str),
}

/// A sequence of strings read and dropped without allocating ([`Usage`]'s encoding).
struct SkippedStrs;

impl<'de> Deserialize<'de> for SkippedStrs {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct Skip;
        impl<'de> serde::de::Visitor<'de> for Skip {
            type Value = SkippedStrs;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a sequence of strings")
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut s: A,
            ) -> Result<SkippedStrs, A::Error> {
                while s.next_element::<&'de str>()?.is_some() {}
                Ok(SkippedStrs)
            }
        }
        d.deserialize_seq(Skip)
    }
}

/// The storage key of a number: public numbers are global (`+442079460001`,
/// `+14155550123;ext=12`); a private extension is scoped to its hierarchy
/// (`1001@Provider/Contoso/London`), so the same extension can live at two sites.
pub fn entry_key(number: &str, hierarchy: &str) -> String {
    if number.starts_with('+') {
        number.to_string()
    } else {
        format!("{number}@{hierarchy}")
    }
}

/// A hierarchy path as it is compared and stored: `Provider/Contoso/London`, without the
/// slashes or blanks typed around it. Trimming both at once keeps it idempotent.
pub fn trim_hierarchy(raw: &str) -> &str {
    raw.trim_matches(|c: char| c == '/' || c.is_whitespace())
}

/// A hierarchy path fit to store: trimmed, without control characters (`\0` separates
/// hierarchy and name in macro keys, and none of them survives a CSV or a web form).
pub fn clean_hierarchy(raw: &str) -> Result<&str, String> {
    let path = trim_hierarchy(raw);
    match path.chars().find(|c| c.is_control()) {
        Some(c) => Err(format!(
            "hierarchy {raw:?} contains the control character {c:?}; \
             use printable text with `/` between levels, like Provider/Contoso/London"
        )),
        None => Ok(path),
    }
}

/// True when `path` is `ancestor` itself or lies below it (`A/B` is below `A`, `AB` is not).
pub fn hierarchy_within(path: &str, ancestor: &str) -> bool {
    let ancestor = trim_hierarchy(ancestor);
    ancestor.is_empty()
        || path == ancestor
        || (path.starts_with(ancestor) && path.as_bytes().get(ancestor.len()) == Some(&b'/'))
}

/// Serde for an optional date as days since the Unix epoch: compact in postcard.
mod date_days {
    use chrono::NaiveDate;
    use serde::{Deserialize, Deserializer, Serializer};

    const EPOCH: NaiveDate = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap();

    pub fn serialize<S: Serializer>(d: &Option<NaiveDate>, s: S) -> Result<S::Ok, S::Error> {
        let days = d.map(|d| (d - EPOCH).num_days() as i32);
        serde::Serialize::serialize(&days, s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<NaiveDate>, D::Error> {
        let days: Option<i32> = Option::deserialize(d)?;
        days.map(|n| {
            EPOCH
                .checked_add_signed(chrono::Duration::days(n as i64))
                .ok_or_else(|| serde::de::Error::custom("date out of range"))
        })
        .transpose()
    }
}

/// Serde for a timestamp as milliseconds since the Unix epoch: compact in postcard.
pub(crate) mod time_ms {
    use chrono::{DateTime, Utc};
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_i64(t.timestamp_millis())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
        let ms = i64::deserialize(d)?;
        DateTime::from_timestamp_millis(ms)
            .ok_or_else(|| serde::de::Error::custom("timestamp out of range"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_names_round_trip() {
        for st in Status::ALL {
            assert_eq!(Status::parse(st.as_str()), Some(st));
        }
        assert_eq!(Status::parse("used_utility"), Some(Status::UsedUtility));
        assert_eq!(Status::parse("Free"), None);
    }

    #[test]
    fn extension_keys_are_scoped_by_hierarchy() {
        assert_ne!(
            entry_key("1001", "Provider/Contoso/London"),
            entry_key("1001", "Provider/Fabrikam")
        );
        assert_eq!(entry_key("+442079460001", "X"), "+442079460001");
    }

    #[test]
    fn indexed_view_reads_what_entry_wrote() {
        let now = chrono::Utc::now();
        let mut entries = vec![Entry::new("+442079460001", "P/C/L", now)];
        for (status, vendor, usage, date) in [
            (
                Status::Cooling,
                Vendor::AudioCodes,
                "Device",
                Some((2026, 12, 5)),
            ),
            (
                Status::Used,
                Vendor::Other("Acme, Inc".into()),
                "User,Hunt_Pilot",
                None,
            ),
            (Status::Reserved, Vendor::Microsoft, "", Some((1969, 1, 1))),
        ] {
            let mut e = Entry::new("1001", "P/C/L", now);
            e.status = status;
            e.vendor = vendor;
            e.usage = Usage::parse(usage);
            e.tag = "a tag".into();
            e.release_date = date.and_then(|(y, m, d)| NaiveDate::from_ymd_opt(y, m, d));
            e.extra.insert("k".into(), "v".into());
            entries.push(e);
        }
        for e in entries {
            let bytes = postcard::to_allocvec(&e).unwrap();
            let view: EntryIndexed = postcard::from_bytes(&bytes).unwrap();
            assert_eq!((view.status, view.release_date), (e.status, e.release_date));
        }
    }

    #[test]
    fn hierarchy_cleaning_is_idempotent_and_refuses_control_characters() {
        assert_eq!(
            clean_hierarchy(" /Provider/Contoso/ "),
            Ok("Provider/Contoso")
        );
        // The fuzzer's find: whitespace inside slashes used to survive the first import.
        assert_eq!(trim_hierarchy("/\tC/"), "C");
        assert_eq!(trim_hierarchy(trim_hierarchy("/ /\t/C/ /")), "C");
        let err = clean_hierarchy("/\t\0C/").unwrap_err();
        assert!(err.contains("control character '\\0'"), "{err}");
        assert_eq!(clean_hierarchy(""), Ok(""));
    }

    #[test]
    fn hierarchy_within_respects_path_segments() {
        assert!(hierarchy_within("A/B/C", "A/B"));
        assert!(hierarchy_within("A/B", "A/B"));
        assert!(!hierarchy_within("A/BC", "A/B"));
        assert!(hierarchy_within("A", ""));
    }

    #[test]
    fn usage_renders_comma_joined() {
        let u = Usage::parse("User, Device,,");
        assert_eq!(u.to_string(), "Device,User");
    }
}
