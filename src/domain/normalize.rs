//! Number normalization (DESIGN §2.4): whatever a device or an administrator sends becomes
//! one canonical key, or is kept as unmapped with a reason.
//!
//! We do not use a full libphonenumber port: a `+` number needs no region at all, and for
//! national input the only facts needed are the region's country code and its trunk and
//! international prefixes (the table below). That keeps normalization fast (it runs for
//! every registered user on every sync) and free of the default-region pitfalls the
//! common crate has with `+49 …`.

use std::fmt;

/// A number that normalization could map.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Number {
    /// An E.164 number (`+` and 7 to 15 digits) with an optional extension.
    Public { e164: String, ext: Option<String> },
    /// A short private extension; scoped to a hierarchy by its entry key.
    Extension(String),
}

impl Number {
    /// The canonical form: `+442079460001`, `+442079460001;ext=12`, or `1001`.
    pub fn canonical(&self) -> String {
        match self {
            Number::Public { e164, ext: None } => e164.clone(),
            Number::Public { e164, ext: Some(x) } => format!("{e164};ext={x}"),
            Number::Extension(x) => x.clone(),
        }
    }
}

impl fmt::Display for Number {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.canonical())
    }
}

/// Why an input could not be mapped to a number.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unmapped {
    pub reason: String,
}

impl fmt::Display for Unmapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.reason)
    }
}

fn unmapped(reason: impl Into<String>) -> Unmapped {
    Unmapped {
        reason: reason.into(),
    }
}

/// Longest private extension; longer digit strings are read as E.164 without `+`.
pub const EXTENSION_DIGITS_MAX: usize = 6;
const E164_DIGITS_MIN: usize = 7;
const E164_DIGITS_MAX: usize = 15;
const INPUT_LEN_MAX: usize = 512;

/// Dialling facts of a region: country code, trunk prefix, international prefix.
struct Region {
    iso: &'static str,
    country_code: &'static str,
    trunk_prefix: &'static str,
    intl_prefix: &'static str,
}

const REGIONS: &[Region] = &[
    region("GB", "44", "0", "00"),
    region("IE", "353", "0", "00"),
    region("US", "1", "1", "011"),
    region("CA", "1", "1", "011"),
    region("DE", "49", "0", "00"),
    region("AT", "43", "0", "00"),
    region("CH", "41", "0", "00"),
    region("FR", "33", "0", "00"),
    region("BE", "32", "0", "00"),
    region("NL", "31", "0", "00"),
    region("LU", "352", "", "00"),
    region("ES", "34", "", "00"),
    region("PT", "351", "", "00"),
    region("IT", "39", "", "00"),
    region("DK", "45", "", "00"),
    region("NO", "47", "", "00"),
    region("SE", "46", "0", "00"),
    region("FI", "358", "0", "00"),
    region("PL", "48", "", "00"),
    region("CZ", "420", "", "00"),
    region("AU", "61", "0", "0011"),
    region("NZ", "64", "0", "00"),
    region("IN", "91", "0", "00"),
    region("SG", "65", "", "000"),
    region("JP", "81", "0", "010"),
    region("ZA", "27", "0", "00"),
    region("AE", "971", "0", "00"),
];

const fn region(
    iso: &'static str,
    country_code: &'static str,
    trunk_prefix: &'static str,
    intl_prefix: &'static str,
) -> Region {
    Region {
        iso,
        country_code,
        trunk_prefix,
        intl_prefix,
    }
}

fn find_region(iso: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.iso.eq_ignore_ascii_case(iso))
}

/// True when `iso` names a region whose national numbers we can map.
pub fn is_known_region(iso: &str) -> bool {
    find_region(iso).is_some()
}

/// The region codes national input can be read in.
pub fn known_regions() -> impl Iterator<Item = &'static str> {
    REGIONS.iter().map(|r| r.iso)
}

/// Maps any accepted form of a number to its canonical [`Number`].
///
/// `region` (ISO 3166 alpha-2) is used only for national input; a `+` number never
/// consults it. Accepted: E.164 with or without `+`, `00`/`011` international prefixes,
/// national numbers, `tel:`/`sip:`/`sips:` URIs with parameters and display names,
/// `;ext=`, visual separators, the `\+` escape, and short extensions.
pub fn normalize(raw: &str, region: Option<&str>) -> Result<Number, Unmapped> {
    if raw.len() > INPUT_LEN_MAX {
        return Err(unmapped("longer than 512 characters"));
    }
    let user = user_part(raw);
    let (number_part, mut ext) = split_params(user);
    let number_part = number_part.trim();
    if number_part.is_empty() {
        return Err(unmapped("empty user part"));
    }
    let plus = number_part.starts_with('+');
    let mut digits = String::with_capacity(number_part.len());
    for c in number_part.chars().skip(usize::from(plus)) {
        match c {
            '0'..='9' => digits.push(c),
            ' ' | '-' | '.' | '(' | ')' | '/' | '\u{a0}' => {}
            _ => return Err(unmapped(format!("not a number: {number_part:?}"))),
        }
    }
    if digits.is_empty() {
        return Err(unmapped("no digits in user part"));
    }
    if let Some(x) = &ext {
        if x.is_empty() || x.len() > 10 || !x.bytes().all(|b| b.is_ascii_digit()) {
            return Err(unmapped(format!("bad extension {x:?}")));
        }
    }
    let e164_digits = if plus {
        digits
    } else if let Some(intl) = international_digits(&digits, region) {
        intl
    } else if digits.len() <= EXTENSION_DIGITS_MAX {
        if ext.is_some() {
            return Err(unmapped("an extension cannot carry ;ext="));
        }
        return Ok(Number::Extension(digits));
    } else if let Some(national) = national_digits(&digits, region)? {
        national
    } else {
        digits
    };
    if !(E164_DIGITS_MIN..=E164_DIGITS_MAX).contains(&e164_digits.len()) {
        return Err(unmapped(format!(
            "{} digits; an E.164 number has {E164_DIGITS_MIN} to {E164_DIGITS_MAX}",
            e164_digits.len()
        )));
    }
    if e164_digits.starts_with('0') {
        return Err(unmapped("country code cannot start with 0"));
    }
    Ok(Number::Public {
        e164: format!("+{e164_digits}"),
        ext: ext.take(),
    })
}

/// Strips display name, angle brackets, URI scheme and host: what is left is the user part
/// with its parameters.
fn user_part(raw: &str) -> &str {
    let mut s = raw.trim();
    if let (Some(open), Some(close)) = (s.find('<'), s.rfind('>')) {
        if open < close {
            s = &s[open + 1..close];
        }
    }
    let s = s.trim().trim_matches('"').trim();
    let s = strip_prefix_ignore_case(s, "sips:")
        .or_else(|| strip_prefix_ignore_case(s, "sip:"))
        .or_else(|| strip_prefix_ignore_case(s, "tel:"))
        .unwrap_or(s);
    let s = s
        .strip_prefix('\\')
        .filter(|r| r.starts_with('+'))
        .unwrap_or(s);
    // The host follows `@`; URI parameters may follow the host, user parameters precede it.
    match s.find('@') {
        Some(at) => &s[..at],
        None => s,
    }
}

fn strip_prefix_ignore_case<'a>(s: &'a str, prefix: &str) -> Option<&'a str> {
    let head = s.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| &s[prefix.len()..])
}

/// Splits `number;ext=12;user=phone` into the number and its `ext` parameter.
fn split_params(user: &str) -> (&str, Option<String>) {
    let mut parts = user.split(';');
    let number = parts.next().unwrap_or("");
    let ext = parts.find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("ext")
            .then(|| v.trim().to_string())
    });
    (number, ext)
}

/// `00…` (or the region's international prefix) → the digits after it.
fn international_digits(digits: &str, region: Option<&str>) -> Option<String> {
    let prefix = match region.and_then(find_region) {
        Some(r) => r.intl_prefix,
        None => "00",
    };
    digits
        .strip_prefix(prefix)
        .filter(|rest| rest.len() >= E164_DIGITS_MIN)
        .map(str::to_string)
}

/// National input (`020 7946 0001` in GB) → E.164 digits, when a region is known and the
/// number carries its trunk prefix. `Ok(None)`: not national, read it as E.164 without `+`.
fn national_digits(digits: &str, region: Option<&str>) -> Result<Option<String>, Unmapped> {
    let Some(iso) = region else {
        return Ok(None);
    };
    let r = find_region(iso).ok_or_else(|| unmapped(format!("unknown region {iso:?}")))?;
    if r.trunk_prefix.is_empty() {
        return Ok(None);
    }
    match digits.strip_prefix(r.trunk_prefix) {
        // NANP: 1 + 10 digits is the same as E.164 without the plus.
        Some(rest) if r.country_code == "1" => Ok((rest.len() == 10).then(|| format!("1{rest}"))),
        Some(rest) if !rest.starts_with('0') => Ok(Some(format!("{}{rest}", r.country_code))),
        _ => Ok(if r.country_code == "1" && digits.len() == 10 {
            Some(format!("1{digits}"))
        } else {
            None
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn canon(raw: &str, region: Option<&str>) -> String {
        match normalize(raw, region) {
            Ok(Number::Extension(x)) => format!("EXT:{x}"),
            Ok(n) => n.canonical(),
            Err(_) => "UNMAPPED".to_string(),
        }
    }

    /// Every case of the shared fixture (copied into tests/fixtures) is a test.
    #[test]
    fn fixture_cases() {
        let text = include_str!("../../tests/fixtures/normalize-cases.tsv");
        let mut n = 0;
        for line in text.lines().skip(1) {
            let cols: Vec<&str> = line.split('\t').collect();
            assert_eq!(cols.len(), 3, "bad fixture line {line:?}");
            let region = (cols[1] != "-").then_some(cols[1]);
            assert_eq!(canon(cols[0], region), cols[2], "input {:?}", cols[0]);
            n += 1;
        }
        assert_eq!(n, 14);
    }

    #[test]
    fn plus_numbers_ignore_the_region() {
        assert_eq!(canon("+49 30 1234567", Some("GB")), "+49301234567");
        assert_eq!(canon("+49 30 1234567", Some("DE")), "+49301234567");
    }

    #[test]
    fn device_forms() {
        assert_eq!(
            canon(
                "\"Alice\" <sips:+14155550123;ext=7@host;transport=tls>",
                None
            ),
            "+14155550123;ext=7"
        );
        assert_eq!(canon("tel:+44-20-7946-0003", None), "+442079460003");
        assert_eq!(canon("011 44 20 7946 0001", Some("US")), "+442079460001");
        assert_eq!(canon("(415) 555-0123", Some("US")), "+14155550123");
        assert_eq!(canon("1 415 555 0123", Some("US")), "+14155550123");
        assert_eq!(canon("030 1234567", Some("DE")), "+49301234567");
        assert_eq!(canon("02079460001", Some("XX")), "UNMAPPED");
        assert_eq!(canon("1004", None), "EXT:1004");
        assert_eq!(canon("sip:@host", None), "UNMAPPED");
        assert_eq!(canon("*99", None), "UNMAPPED");
        assert_eq!(canon("+", None), "UNMAPPED");
        assert_eq!(canon("1004;ext=1", None), "UNMAPPED");
    }
}
