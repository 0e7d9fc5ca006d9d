//! Macros (resolved along the hierarchy path) and global settings, with their validation.

/// Days an AudioCodes number cools; resolved at the number's hierarchy.
pub const AUDIOCODES_COOLING_DURATION: &str = "audiocodes_cooling_duration";
/// When set, a sync removing more users than this fails (the delete guard).
pub const DELETE_THRESHOLD_AUDIOCODES: &str = "PULL_SYNC_DELETE_THRESHOLD_AudioCodes";
/// Days a manually unassigned number cools. Never used for AudioCodes numbers.
pub const INVENTORY_COOLING_DAYS: &str = "number_inventory_cooling_days";
/// Whether manual unassignment cools at all.
pub const INVENTORY_COOLING_ENABLED: &str = "number_inventory_cooling_enabled";
/// Interval given to the schedule of a new connection (`15m`, `1h`, …).
pub const SCHEDULE_DEFAULT_EVERY: &str = "schedule_default_every";

pub const AUDIOCODES_COOLING_DAYS_DEFAULT: u32 = 2;
pub const INVENTORY_COOLING_DAYS_DEFAULT: u32 = 30;
/// Longest cooling or reservation, in days.
pub const DAYS_MAX: u32 = 999;

/// The macros numinv knows, with their defaults (None: unset by default).
pub const MACROS: &[(&str, Option<&str>)] = &[
    (AUDIOCODES_COOLING_DURATION, Some("2")),
    (DELETE_THRESHOLD_AUDIOCODES, None),
];

/// The settings numinv knows, with their defaults.
pub const SETTINGS: &[(&str, &str)] = &[
    (INVENTORY_COOLING_DAYS, "30"),
    (INVENTORY_COOLING_ENABLED, "false"),
    (SCHEDULE_DEFAULT_EVERY, "15m"),
];

/// Checks a macro value before it is stored; the error says what is accepted.
pub fn validate_macro(name: &str, value: &str) -> Result<(), String> {
    match name {
        AUDIOCODES_COOLING_DURATION => parse_days(value).map(|_| ()),
        DELETE_THRESHOLD_AUDIOCODES => value
            .trim()
            .parse::<u64>()
            .map(|_| ())
            .map_err(|_| format!("{value:?} is not a whole number of users (0 or more)")),
        _ => Err(format!(
            "unknown macro {name:?}; known: {}",
            MACROS.iter().map(|m| m.0).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// Checks a setting value before it is stored.
pub fn validate_setting(name: &str, value: &str) -> Result<(), String> {
    match name {
        INVENTORY_COOLING_DAYS => parse_days(value).map(|_| ()),
        INVENTORY_COOLING_ENABLED => parse_bool(value).map(|_| ()),
        SCHEDULE_DEFAULT_EVERY => super::connection::parse_interval(value).map(|_| ()),
        _ => Err(format!(
            "unknown setting {name:?}; known: {}",
            SETTINGS.iter().map(|s| s.0).collect::<Vec<_>>().join(", ")
        )),
    }
}

/// A whole number of days, 0..=999.
pub fn parse_days(value: &str) -> Result<u32, String> {
    match value.trim().parse::<u32>() {
        Ok(d) if d <= DAYS_MAX => Ok(d),
        _ => Err(format!(
            "{value:?} is not a whole number of days from 0 to {DAYS_MAX}"
        )),
    }
}

/// `true`/`false` (also `1`/`0`, `yes`/`no`).
pub fn parse_bool(value: &str) -> Result<bool, String> {
    match value.trim().to_ascii_lowercase().as_str() {
        "true" | "1" | "yes" | "on" => Ok(true),
        "false" | "0" | "no" | "off" => Ok(false),
        _ => Err(format!("{value:?} is not true or false")),
    }
}

/// The hierarchy paths to consult for a macro, nearest first: `A/B/C`, `A/B`, `A`, `` (global).
pub fn hierarchy_walk(hierarchy: &str) -> impl Iterator<Item = &str> {
    let h = super::entry::trim_hierarchy(hierarchy);
    let mut next = Some(h);
    std::iter::from_fn(move || {
        let cur = next?;
        next = if cur.is_empty() {
            None
        } else {
            Some(cur.rfind('/').map_or("", |i| &cur[..i]))
        };
        Some(cur)
    })
}

/// The AudioCodes cooling length from the nearest stored macro value: a bad stored value
/// falls back to the default, and the warning says so.
pub fn audiocodes_cooling_days(stored: Option<&str>) -> (u32, Option<String>) {
    match stored {
        None => (AUDIOCODES_COOLING_DAYS_DEFAULT, None),
        Some(v) => match parse_days(v) {
            Ok(d) => (d, None),
            Err(e) => (
                AUDIOCODES_COOLING_DAYS_DEFAULT,
                Some(format!(
                    "{AUDIOCODES_COOLING_DURATION}: {e}; using {AUDIOCODES_COOLING_DAYS_DEFAULT}"
                )),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walk_goes_up_to_global() {
        let w: Vec<_> = hierarchy_walk("Provider/Contoso/London").collect();
        assert_eq!(
            w,
            [
                "Provider/Contoso/London",
                "Provider/Contoso",
                "Provider",
                ""
            ]
        );
        assert_eq!(hierarchy_walk("").collect::<Vec<_>>(), [""]);
    }

    #[test]
    fn macro_validation() {
        assert!(validate_macro(AUDIOCODES_COOLING_DURATION, "0").is_ok());
        assert!(validate_macro(AUDIOCODES_COOLING_DURATION, "999").is_ok());
        assert!(validate_macro(AUDIOCODES_COOLING_DURATION, "1000").is_err());
        assert!(validate_macro(AUDIOCODES_COOLING_DURATION, "abc").is_err());
        assert!(validate_macro(AUDIOCODES_COOLING_DURATION, "-1").is_err());
        assert!(validate_macro("nope", "1").is_err());
        assert_eq!(audiocodes_cooling_days(Some("abc")).0, 2);
        assert!(audiocodes_cooling_days(Some("abc")).1.is_some());
        assert_eq!(audiocodes_cooling_days(Some("5")), (5, None));
    }
}
