//! The manual number-management workflows (DESIGN §2.3) as pure functions.
//!
//! Each takes the current entry and the time and returns the next entry, or an error that
//! says what is wrong and what to do. The store applies the result; nothing here does I/O.

use chrono::{DateTime, Utc};

use super::entry::{hierarchy_within, Entry, Status, Usage, Vendor};
use super::lifecycle::{make_available, release_date};
use super::normalize::{normalize, Number};
use super::settings::DAYS_MAX;

/// Most numbers one range add may create.
pub const RANGE_LEN_MAX: u64 = 1_000_000;

/// A workflow refused: the message names the number and what to do.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct Refused(pub String);

fn refuse<T>(msg: impl Into<String>) -> Result<T, Refused> {
    Err(Refused(msg.into()))
}

/// Parses a number an administrator typed; `region` reads national input.
pub fn parse_number(raw: &str, region: Option<&str>) -> Result<Number, Refused> {
    normalize(raw, region).map_err(|u| {
        let hint = if region.is_none() && raw.trim_start().starts_with('0') {
            "; a national number needs --region (e.g. --region GB)"
        } else {
            ""
        };
        Refused(format!(
            "{raw:?} is not a phone number ({u}); use E.164 like +442079460001 or a short extension{hint}"
        ))
    })
}

/// Expands `START..END` (inclusive): both ends the same length, digits only after an
/// optional `+`, leading zeros kept, at most [`RANGE_LEN_MAX`] numbers.
pub fn parse_range(range: &str) -> Result<Vec<String>, Refused> {
    let Some((start, end)) = range.split_once("..") else {
        return refuse(format!("range {range:?} must look like START..END"));
    };
    let (start, end) = (start.trim(), end.trim());
    let plus = start.starts_with('+');
    if plus != end.starts_with('+') {
        return refuse(format!("range {range:?}: both ends need a + or neither"));
    }
    let (a, b) = (start.trim_start_matches('+'), end.trim_start_matches('+'));
    if a.is_empty() || !a.bytes().chain(b.bytes()).all(|c| c.is_ascii_digit()) {
        return refuse(format!("range {range:?}: ends must be digits"));
    }
    if a.len() != b.len() {
        return refuse(format!(
            "range {range:?}: ends have different lengths ({} and {} digits); write both in full",
            a.len(),
            b.len()
        ));
    }
    if a.len() > 15 {
        return refuse(format!("range {range:?}: more than 15 digits"));
    }
    let (lo, hi): (u64, u64) = (a.parse().unwrap_or(0), b.parse().unwrap_or(0));
    if lo > hi {
        return refuse(format!("range {range:?}: start is after end"));
    }
    let count = hi - lo + 1;
    if count > RANGE_LEN_MAX {
        return refuse(format!(
            "range {range:?} has {count} numbers; at most {RANGE_LEN_MAX} per add, split it"
        ));
    }
    let width = a.len();
    let sign = if plus { "+" } else { "" };
    Ok((lo..=hi).map(|n| format!("{sign}{n:0width$}")).collect())
}

/// Reserve an Available number, optionally for `days` and for a user.
pub fn reserve(
    e: &Entry,
    notes: &str,
    days: Option<u32>,
    reserved_for: Option<&str>,
    now: DateTime<Utc>,
) -> Result<Entry, Refused> {
    if e.status != Status::Available {
        return refuse(format!(
            "{} is {}; only Available numbers can be reserved",
            e.number, e.status
        ));
    }
    let until = days
        .map(|d| check_days(d).map(|d| release_date(now, d)))
        .transpose()?;
    let mut next = e.clone();
    next.status = Status::Reserved;
    next.reservation_notes = notes.to_string();
    next.release_date = until;
    if let Some(who) = reserved_for {
        next.reserved_for = who.to_string();
    }
    next.touch(now);
    Ok(next)
}

/// End a reservation: the number is Available again.
pub fn unreserve(e: &Entry, now: DateTime<Utc>) -> Result<Entry, Refused> {
    if e.status != Status::Reserved {
        return refuse(format!("{} is {}, not Reserved", e.number, e.status));
    }
    let mut next = e.clone();
    next.status = Status::Available;
    next.reservation_notes.clear();
    next.reserved_for.clear();
    next.release_date = None;
    next.touch(now);
    Ok(next)
}

/// Manual cooling: for `days` (≤ 999), else the global duration.
pub fn cool(
    e: &Entry,
    days: Option<u32>,
    global_days: u32,
    now: DateTime<Utc>,
) -> Result<Entry, Refused> {
    if matches!(e.status, Status::Cooling | Status::Reserved) {
        return refuse(format!(
            "{} is {}; release or unreserve it first",
            e.number, e.status
        ));
    }
    let days = check_days(days.unwrap_or(global_days))?;
    let release = release_date(now, days);
    let mut next = e.clone();
    next.status = Status::Cooling;
    next.release_date = Some(release);
    next.tag = format!("Manually cooled, release date {release}");
    next.touch(now);
    Ok(next)
}

/// Release a Cooling number now, whatever its date.
pub fn release(e: &Entry, now: DateTime<Utc>) -> Result<Entry, Refused> {
    if e.status != Status::Cooling {
        return refuse(format!("{} is {}, not Cooling", e.number, e.status));
    }
    Ok(make_available(e, now))
}

/// True when allocation may offer this entry to `for_user` below `hierarchy`.
///
/// Only `Available` numbers are offered; one whose `reserved_for` names someone else is not.
/// "At or above": the number's hierarchy is the requested one or one of its ancestors.
pub fn allocatable(e: &Entry, hierarchy: Option<&str>, for_user: Option<&str>) -> bool {
    e.status == Status::Available
        && (e.reserved_for.is_empty() || Some(e.reserved_for.as_str()) == for_user)
        && hierarchy.is_none_or(|h| hierarchy_within(h, &e.hierarchy))
}

/// Hand an allocatable number to a user: `Used` / `User`.
pub fn assign(e: &Entry, description: Option<&str>, now: DateTime<Utc>) -> Entry {
    let mut next = e.clone();
    next.status = Status::Used;
    next.usage = Usage::only(Usage::USER);
    if let Some(d) = description {
        next.description = d.to_string();
    }
    next.touch(now);
    next
}

/// Take a number back from its user: Cooling for the global duration when cooling is
/// enabled, else Available. AudioCodes numbers belong to the sync, not to this workflow.
pub fn unassign(
    e: &Entry,
    cooling_enabled: bool,
    global_days: u32,
    now: DateTime<Utc>,
) -> Result<Entry, Refused> {
    if !e.status.is_used() {
        return refuse(format!("{} is {}, not Used", e.number, e.status));
    }
    if e.vendor == Vendor::AudioCodes {
        return refuse(format!(
            "{} is held by an AudioCodes device; it is released by the sync when the device lets it go",
            e.number
        ));
    }
    if cooling_enabled {
        let mut next = cool(e, Some(global_days), global_days, now)?;
        next.tag = format!(
            "Unassigned, release date {}",
            next.release_date.map(|d| d.to_string()).unwrap_or_default()
        );
        Ok(next)
    } else {
        Ok(make_available(e, now))
    }
}

/// Only Available numbers may be deleted.
pub fn check_delete(e: &Entry) -> Result<(), Refused> {
    if e.status != Status::Available {
        return refuse(format!(
            "{} is {}; only Available numbers can be deleted",
            e.number, e.status
        ));
    }
    Ok(())
}

fn check_days(days: u32) -> Result<u32, Refused> {
    if days > DAYS_MAX {
        return refuse(format!("{days} days is too long; at most {DAYS_MAX}"));
    }
    Ok(days)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn now() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
    }

    #[test]
    fn range_expansion_keeps_zeros_and_checks_ends() {
        assert_eq!(
            parse_range("0098..0101").unwrap(),
            ["0098", "0099", "0100", "0101"]
        );
        assert_eq!(
            parse_range("+442079460100..+442079460199").unwrap().len(),
            100
        );
        assert!(parse_range("100..1000").is_err());
        assert!(parse_range("+1000000..+3000000")
            .unwrap_err()
            .0
            .contains("at most"));
        assert!(parse_range("5..3").is_err());
        assert!(parse_range("+12..13").is_err());
        assert!(parse_range("abc").is_err());
    }

    #[test]
    fn reserve_cycle() {
        let e = Entry::new("+1", "H", now());
        let r = reserve(&e, "CEO", Some(3), Some("bob"), now()).unwrap();
        assert_eq!(r.status, Status::Reserved);
        assert!(reserve(&r, "x", None, None, now()).is_err());
        let a = unreserve(&r, now()).unwrap();
        assert_eq!(a.status, Status::Available);
        assert!(a.reserved_for.is_empty());
    }

    #[test]
    fn allocation_skips_other_users_reservations_and_other_sites() {
        let mut e = Entry::new("+1", "P/C", now());
        assert!(allocatable(&e, Some("P/C/London"), None));
        assert!(!allocatable(&e, Some("P/D"), None));
        e.reserved_for = "alice".into();
        assert!(!allocatable(&e, None, Some("bob")));
        assert!(allocatable(&e, None, Some("alice")));
        e.status = Status::Cooling;
        assert!(!allocatable(&e, None, Some("alice")));
    }

    #[test]
    fn unassign_respects_cooling_setting() {
        let used = assign(&Entry::new("+1", "H", now()), None, now());
        assert_eq!(
            unassign(&used, false, 30, now()).unwrap().status,
            Status::Available
        );
        let c = unassign(&used, true, 30, now()).unwrap();
        assert_eq!(c.status, Status::Cooling);
        assert_eq!(c.release_date, Some(release_date(now(), 30)));
    }

    #[test]
    fn manual_cool_limits() {
        let e = Entry::new("+1", "H", now());
        assert!(cool(&e, Some(1000), 30, now()).is_err());
        assert_eq!(
            cool(&e, None, 30, now()).unwrap().release_date,
            Some(release_date(now(), 30))
        );
        assert!(check_delete(&cool(&e, Some(1), 30, now()).unwrap()).is_err());
    }
}
