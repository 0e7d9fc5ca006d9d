//! The AudioCodes lifecycle rules (DESIGN §2.2) as pure functions of an entry and the time.
//!
//! This is the one place that decides what holding, releasing and expiring do to a number.
//! Sync, purge, audit `--fix` and the expiry sweep all call these functions.

use chrono::{DateTime, Days, NaiveDate, Utc};

use super::entry::{Entry, Status, Usage, Vendor};

/// The tag text of an AudioCodes number that is cooling.
pub fn audiocodes_cooling_tag(release: NaiveDate) -> String {
    format!("Registered user is either offline or deleted, release date {release}")
}

/// `today + days`, saturating at the last representable date.
pub fn release_date(now: DateTime<Utc>, days: u32) -> NaiveDate {
    let today = now.date_naive();
    today
        .checked_add_days(Days::new(u64::from(days)))
        .unwrap_or(NaiveDate::MAX)
}

/// Why a held number could not be taken for the device.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Conflict {
    /// `Used` / `Used-Utility` by another vendor (or none).
    UsedByOther { status: Status, vendor: String },
    /// Reserved by an administrator.
    Reserved,
}

impl std::fmt::Display for Conflict {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Conflict::UsedByOther { status, vendor } if vendor.is_empty() => {
                write!(f, "{status} with no vendor")
            }
            Conflict::UsedByOther { status, vendor } => write!(f, "{status} by {vendor}"),
            Conflict::Reserved => f.write_str("Reserved"),
        }
    }
}

/// What becoming held does to a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Held {
    /// No entry: create this one.
    Create(Entry),
    /// The entry changes to this.
    Update(Entry),
    /// Already `Used` / `Device` / `AudioCodes`.
    Unchanged,
    /// Left as it is and reported.
    Conflict(Conflict),
}

/// A number becomes held by an AudioCodes device (DESIGN §2.2, "X becomes held").
pub fn on_held(
    existing: Option<&Entry>,
    number: &str,
    hierarchy: &str,
    now: DateTime<Utc>,
) -> Held {
    let Some(e) = existing else {
        let mut e = Entry::new(number, hierarchy, now);
        make_device(&mut e);
        return Held::Create(e);
    };
    match e.status {
        _ if e.is_audiocodes_device() && e.tag.is_empty() && e.release_date.is_none() => {
            Held::Unchanged
        }
        Status::Reserved => Held::Conflict(Conflict::Reserved),
        s if s.is_used() && e.vendor != Vendor::AudioCodes => {
            Held::Conflict(Conflict::UsedByOther {
                status: s,
                vendor: e.vendor.as_str().to_string(),
            })
        }
        // Available, Cooling (any vendor), or an AudioCodes number that drifted.
        _ => {
            let mut next = e.clone();
            make_device(&mut next);
            next.touch(now);
            Held::Update(next)
        }
    }
}

/// A manual workflow or the expiry sweep never leaves a number a device holds `Available` or
/// `Cooling` (DESIGN §2.2: "X becomes held"): such a result goes to the device at once.
/// Anything else, or a number nobody holds, is returned as it is.
pub fn settle_held(next: Entry, held: bool, now: DateTime<Utc>) -> Entry {
    if !(held && matches!(next.status, Status::Available | Status::Cooling)) {
        return next;
    }
    match on_held(Some(&next), &next.number, &next.hierarchy, now) {
        Held::Update(e) => e,
        _ => next,
    }
}

fn make_device(e: &mut Entry) {
    e.status = Status::Used;
    e.usage = Usage::only(Usage::DEVICE);
    e.vendor = Vendor::AudioCodes;
    e.tag.clear();
    e.release_date = None;
}

/// A number stops being held (its last online user went offline or away): an AudioCodes
/// `Used` number cools for `cooling_days`. Anything else is not ours to change: `None`.
pub fn on_released(e: &Entry, cooling_days: u32, now: DateTime<Utc>) -> Option<Entry> {
    if !(e.status == Status::Used && e.vendor == Vendor::AudioCodes) {
        return None;
    }
    let release = release_date(now, cooling_days);
    let mut next = e.clone();
    next.status = Status::Cooling;
    next.release_date = Some(release);
    next.tag = audiocodes_cooling_tag(release);
    next.touch(now);
    Some(next)
}

/// True when the expiry sweep must release this entry today.
pub fn is_due(e: &Entry, today: NaiveDate) -> bool {
    matches!(e.status, Status::Cooling | Status::Reserved)
        && e.release_date.is_some_and(|d| d <= today)
}

/// The expiry sweep: a Cooling number whose release date has come returns to Available,
/// with `tag`, `release_date`, `usage`, `vendor` and `description` cleared (`extra` kept).
/// A timed reservation ends the same way. There is no look-back cap.
pub fn on_expiry(e: &Entry, now: DateTime<Utc>) -> Option<Entry> {
    is_due(e, now.date_naive()).then(|| make_available(e, now))
}

/// The entry returned to the Available pool.
pub fn make_available(e: &Entry, now: DateTime<Utc>) -> Entry {
    let mut next = e.clone();
    next.status = Status::Available;
    next.tag.clear();
    next.release_date = None;
    next.usage = Usage::default();
    next.vendor = Vendor::None;
    next.description.clear();
    next.reservation_notes.clear();
    next.touch(now);
    next
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn at(y: i32, m: u32, d: u32, h: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0).unwrap()
    }

    #[test]
    fn held_creates_device_entry() {
        let Held::Create(e) = on_held(None, "+442079460001", "P/C/L", at(2026, 12, 3, 10)) else {
            panic!("expected create")
        };
        assert!(e.is_audiocodes_device());
        assert_eq!(e.hierarchy, "P/C/L");
    }

    #[test]
    fn cooling_then_back_then_expiry() {
        let now = at(2026, 12, 3, 10);
        let Held::Create(e) = on_held(None, "+442079460001", "H", now) else {
            panic!()
        };
        let cooled = on_released(&e, 2, now).unwrap();
        assert_eq!(cooled.status, Status::Cooling);
        assert_eq!(cooled.release_date, NaiveDate::from_ymd_opt(2026, 12, 5));
        assert_eq!(
            cooled.tag,
            "Registered user is either offline or deleted, release date 2026-12-05"
        );
        assert!(cooled.usage.contains(Usage::DEVICE));
        assert_eq!(cooled.vendor, Vendor::AudioCodes);
        let Held::Update(back) = on_held(Some(&cooled), "+442079460001", "H", at(2026, 12, 4, 0))
        else {
            panic!()
        };
        assert!(back.is_audiocodes_device());
        assert!(back.tag.is_empty() && back.release_date.is_none());
        assert_eq!(on_expiry(&cooled, at(2026, 12, 4, 23)), None);
        let free = on_expiry(&cooled, at(2026, 12, 5, 0)).unwrap();
        assert_eq!(free.status, Status::Available);
        assert!(free.usage.is_empty() && free.vendor == Vendor::None && free.tag.is_empty());
    }

    #[test]
    fn zero_days_releases_on_next_sweep() {
        let now = at(2026, 12, 3, 10);
        let Held::Create(e) = on_held(None, "+1", "H", now) else {
            panic!()
        };
        let cooled = on_released(&e, 0, now).unwrap();
        assert!(on_expiry(&cooled, now).is_some());
    }

    #[test]
    fn a_held_number_never_settles_available_or_cooling() {
        let now = at(2026, 12, 3, 10);
        let free = Entry::new("+1", "H", now);
        assert!(settle_held(free.clone(), true, now).is_audiocodes_device());
        assert_eq!(settle_held(free.clone(), false, now), free);
        let mut reserved = free.clone();
        reserved.status = Status::Reserved;
        assert_eq!(settle_held(reserved.clone(), true, now), reserved);
    }

    #[test]
    fn conflicts_are_left_alone() {
        let now = at(2026, 12, 3, 10);
        let mut ms = Entry::new("+1", "H", now);
        ms.status = Status::Used;
        ms.vendor = Vendor::Microsoft;
        assert!(matches!(
            on_held(Some(&ms), "+1", "H", now),
            Held::Conflict(_)
        ));
        let mut res = Entry::new("+1", "H", now);
        res.status = Status::Reserved;
        assert_eq!(
            on_held(Some(&res), "+1", "H", now),
            Held::Conflict(Conflict::Reserved)
        );
        assert_eq!(on_released(&ms, 2, now), None);
    }
}
