//! The audit rules (DESIGN §4.5): what is wrong with an AudioCodes number, as a pure check.

use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use super::entry::{Entry, Status, Vendor};

/// What the audit found wrong with one number.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum FindingKind {
    /// A device holds it, the inventory does not have it.
    HeldMissing,
    /// A device holds it, but it is not `Used` / `Device` / `AudioCodes`.
    HeldNotDevice,
    /// `Used` by AudioCodes, but no online registered user holds it.
    UsedNotHeld,
    /// Cooling without a release date.
    CoolingWithoutDate,
    /// Cooling past its release date (the sweep did not run).
    CoolingOverdue,
    /// A device holds a Reserved number or one another vendor uses: reported, never changed.
    Conflict,
}

impl FindingKind {
    pub fn as_str(self) -> &'static str {
        match self {
            FindingKind::HeldMissing => "held-missing",
            FindingKind::HeldNotDevice => "held-not-device",
            FindingKind::UsedNotHeld => "used-not-held",
            FindingKind::CoolingWithoutDate => "cooling-without-date",
            FindingKind::CoolingOverdue => "cooling-overdue",
            FindingKind::Conflict => "conflict",
        }
    }

    /// Whether `audit --fix` repairs it (conflicts need a person).
    pub fn fixable(self) -> bool {
        self != FindingKind::Conflict
    }
}

/// One finding.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Finding {
    pub kind: FindingKind,
    pub number: String,
    pub detail: String,
}

/// Checks one number given whether a device holds it now.
pub fn check(key: &str, entry: Option<&Entry>, held: bool, today: NaiveDate) -> Option<Finding> {
    let finding = |kind, detail: String| {
        Some(Finding {
            kind,
            number: key.to_string(),
            detail,
        })
    };
    match (entry, held) {
        (None, true) => finding(
            FindingKind::HeldMissing,
            "held by a device, not in the inventory".into(),
        ),
        (None, false) => None,
        (Some(e), true)
            if e.is_audiocodes_device() && e.tag.is_empty() && e.release_date.is_none() =>
        {
            None
        }
        (Some(e), true)
            if e.status == Status::Reserved
                || (e.status.is_used() && e.vendor != Vendor::AudioCodes) =>
        {
            finding(
                FindingKind::Conflict,
                format!("held by a device but {} {}", e.status, e.vendor.as_str())
                    .trim_end()
                    .to_string(),
            )
        }
        (Some(e), true) => finding(
            FindingKind::HeldNotDevice,
            format!(
                "held by a device but {} / {} / {}",
                e.status, e.usage, e.vendor
            ),
        ),
        (Some(e), false) if e.status == Status::Used && e.vendor == Vendor::AudioCodes => finding(
            FindingKind::UsedNotHeld,
            "Used by AudioCodes, but no online registered user holds it".into(),
        ),
        (Some(e), false) if e.status == Status::Cooling => match e.release_date {
            None => finding(
                FindingKind::CoolingWithoutDate,
                "Cooling without a release date".into(),
            ),
            Some(d) if d < today => finding(
                FindingKind::CoolingOverdue,
                format!("Cooling past its release date {d}"),
            ),
            Some(_) => None,
        },
        _ => None,
    }
}
