//! Number allocation and the AOR forms a device sends (DESIGN.md §2.4).
//!
//! Every user gets a canonical number first (what numinv must derive) and
//! then one rendering of it, drawn from the forms seen in the field. Keeping
//! the two apart is what makes `truth()` trustworthy: the canonical value is
//! never parsed back from the AOR.

use crate::rng::Rng;

/// Country code and trunk prefix of a region whose national format we render.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Region {
    cc: &'static str,
    trunk: &'static str,
}

/// Regions the simulator can render national AORs for; others get none.
pub(crate) fn region_info(code: &str) -> Option<Region> {
    let r = match code.to_ascii_uppercase().as_str() {
        "GB" => Region {
            cc: "44",
            trunk: "0",
        },
        "US" | "CA" => Region {
            cc: "1",
            trunk: "1",
        },
        "DE" => Region {
            cc: "49",
            trunk: "0",
        },
        "FR" => Region {
            cc: "33",
            trunk: "0",
        },
        _ => return None,
    };
    Some(r)
}

/// Seven-digit subscriber block of the London range +44 20 3xxx xxxx:
/// 10 million numbers, enough for any population we simulate.
const GB_PREFIX: &str = "44203";
/// New York range +1 212 NXX XXXX with N >= 2 (NANP rule).
const US_PREFIX: &str = "1212";
const SUBSCRIBER_END: u64 = 10_000_000;
const EXT_FIRST: u16 = 1000;
const EXT_LAST: u16 = 9999;

/// Hands out numbers sequentially from seeded offsets so that every number is
/// unique (until a block is exhausted) and allocation is O(1).
#[derive(Clone, Debug)]
pub(crate) struct NumberPlan {
    gb_next: u64,
    us_next: u64,
    ext_next: u16,
}

/// Where a user's AOR lives relative to the numbering plan.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Canonical {
    /// Digits of an E.164 number without `+`, and an optional `;ext=` value.
    E164 { digits: String, ext: Option<u16> },
    /// A private extension like `1004`.
    Ext(u16),
    /// No number can be derived (names, empty AOR).
    Unmappable,
}

impl Canonical {
    /// Inverse of [`Canonical::key`] for the keys this module generates;
    /// used to hand a deleted number to a new user.
    pub(crate) fn from_key(key: &str) -> Option<Canonical> {
        let digits_only = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        if let Some(rest) = key.strip_prefix('+') {
            let (digits, ext) = match rest.split_once(";ext=") {
                Some((d, e)) => (d, Some(e.parse().ok()?)),
                None => (rest, None),
            };
            return digits_only(digits).then(|| Canonical::E164 {
                digits: digits.to_string(),
                ext,
            });
        }
        if digits_only(key) {
            return key.parse().ok().map(Canonical::Ext);
        }
        None
    }

    /// The canonical key numinv produces for this number, `None` if unmappable.
    pub(crate) fn key(&self) -> Option<String> {
        match self {
            Canonical::E164 { digits, ext: None } => Some(format!("+{digits}")),
            Canonical::E164 {
                digits,
                ext: Some(e),
            } => Some(format!("+{digits};ext={e}")),
            Canonical::Ext(e) => Some(e.to_string()),
            Canonical::Unmappable => None,
        }
    }
}

impl NumberPlan {
    pub(crate) fn new(rng: &mut Rng) -> NumberPlan {
        NumberPlan {
            gb_next: rng.below(2_000_000),
            us_next: 2_000_000 + rng.below(1_000_000),
            ext_next: EXT_FIRST + rng.below(1000) as u16,
        }
    }

    fn next_gb(&mut self) -> Option<String> {
        if self.gb_next >= SUBSCRIBER_END {
            return None;
        }
        let n = self.gb_next;
        self.gb_next += 1;
        Some(format!("{GB_PREFIX}{n:07}"))
    }

    fn next_us(&mut self) -> Option<String> {
        if self.us_next >= SUBSCRIBER_END {
            return None;
        }
        let n = self.us_next;
        self.us_next += 1;
        Some(format!("{US_PREFIX}{n:07}"))
    }

    /// A fresh E.164 number: mostly GB, some US; falls over to the other block
    /// when one is exhausted and, past ~15 million allocations, reuses numbers.
    fn next_e164(&mut self, rng: &mut Rng) -> String {
        let us_first = rng.chance(0.12);
        let got = if us_first {
            self.next_us().or_else(|| self.next_gb())
        } else {
            self.next_gb().or_else(|| self.next_us())
        };
        got.unwrap_or_else(|| format!("{GB_PREFIX}{:07}", rng.below(SUBSCRIBER_END)))
    }

    fn next_ext(&mut self) -> Option<u16> {
        if self.ext_next > EXT_LAST {
            return None;
        }
        let e = self.ext_next;
        self.ext_next += 1;
        Some(e)
    }

    /// Draws the canonical number of a new user.
    pub(crate) fn draw(&mut self, rng: &mut Rng) -> Canonical {
        let r = rng.f64();
        if r < 0.005 {
            return Canonical::Unmappable;
        }
        if r < 0.07 {
            if let Some(e) = self.next_ext() {
                return Canonical::Ext(e);
            }
        }
        let digits = self.next_e164(rng);
        let ext = if (0.07..0.10).contains(&r) {
            Some(rng.range(1, 99) as u16)
        } else {
            None
        };
        Canonical::E164 { digits, ext }
    }
}

const DOMAINS: [&str; 3] = [
    "contoso.example",
    "fabrikam.example",
    "teams.contoso.example",
];
const UPPER_HOSTS: [&str; 3] = [
    "SBC.CONTOSO.EXAMPLE",
    "PSTNHUB.FABRIKAM.EXAMPLE",
    "SIP.CONTOSO.EXAMPLE",
];
const NAMES: [&str; 6] = [
    "reception",
    "lobby",
    "conference-a",
    "helpdesk",
    "fax-room",
    "security",
];

fn ip(rng: &mut Rng) -> String {
    format!("192.0.2.{}", rng.range(1, 254))
}

/// `+44-20-3000-1234` style grouping with a visual separator.
fn separated(digits: &str, sep: char) -> String {
    let (cc, rest) = if let Some(rest) = digits.strip_prefix("44") {
        ("44", rest)
    } else if let Some(rest) = digits.strip_prefix('1') {
        ("1", rest)
    } else {
        digits.split_at(digits.len().min(2))
    };
    let groups: &[usize] = match cc {
        "44" if rest.len() == 10 => &[2, 4, 4],
        "1" if rest.len() == 10 => &[3, 3, 4],
        _ => &[3, 3, 3, 3, 3, 3],
    };
    let mut out = format!("+{cc}");
    let mut at = 0;
    for g in groups {
        if at >= rest.len() {
            break;
        }
        let end = (at + g).min(rest.len());
        out.push(sep);
        out.push_str(&rest[at..end]);
        at = end;
    }
    if at < rest.len() {
        out.push(sep);
        out.push_str(&rest[at..]);
    }
    out
}

/// Renders a canonical number as an AOR, choosing one of the field forms.
pub(crate) fn render_aor(c: &Canonical, region: Option<Region>, rng: &mut Rng) -> String {
    match c {
        Canonical::Unmappable => {
            let r = rng.f64();
            let name = NAMES[rng.below(NAMES.len() as u64) as usize];
            if r < 0.1 {
                String::new()
            } else if r < 0.55 {
                name.to_string()
            } else {
                format!("{name}@{}", ip(rng))
            }
        }
        Canonical::Ext(e) => {
            if rng.chance(0.7) {
                format!("{e}@{}", ip(rng))
            } else {
                e.to_string()
            }
        }
        Canonical::E164 {
            digits,
            ext: Some(e),
        } => {
            if rng.chance(0.7) {
                format!("tel:+{digits};ext={e}")
            } else {
                format!("tel:{};ext={e}", separated(digits, '-'))
            }
        }
        Canonical::E164 { digits, ext: None } => render_e164(digits, region, rng),
    }
}

fn render_e164(digits: &str, region: Option<Region>, rng: &mut Rng) -> String {
    let domain = DOMAINS[rng.below(DOMAINS.len() as u64) as usize];
    let upper = UPPER_HOSTS[rng.below(UPPER_HOSTS.len() as u64) as usize];
    let w = rng.below(100);
    match w {
        0..=34 => format!("+{digits}@{domain}"),
        35..=46 => format!("{digits}@{}", ip(rng)),
        47..=58 => match region.and_then(|r| digits.strip_prefix(r.cc).map(|n| (r, n))) {
            Some((r, national)) => format!("{}{national}@{}", r.trunk, ip(rng)),
            None => format!("+{digits}@{domain}"),
        },
        59..=66 => format!("00{digits}@{}", ip(rng)),
        67..=76 => {
            let sep = if rng.chance(0.8) { '-' } else { '.' };
            format!("tel:{}", separated(digits, sep))
        }
        77..=86 => format!("sip:+{digits}@{upper};user=phone"),
        87..=91 => format!("+{digits}@{upper}"),
        _ => format!("sip:+{digits}@{domain}"),
    }
}

/// The user part a device would put in a contact URI for this AOR.
pub(crate) fn contact_user(aor: &str) -> &str {
    let s = aor
        .strip_prefix("sip:")
        .or_else(|| aor.strip_prefix("tel:"))
        .unwrap_or(aor);
    let end = s.find(['@', ';']).unwrap_or(s.len());
    let user = &s[..end];
    if user.is_empty() {
        "anonymous"
    } else {
        user
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn separated_groups_like_the_field() {
        assert_eq!(separated("442030001234", '-'), "+44-20-3000-1234");
        assert_eq!(separated("12124001234", '.'), "+1.212.400.1234");
    }

    #[test]
    fn national_form_uses_the_trunk_prefix() {
        let mut rng = Rng::new(3, 0);
        let gb = region_info("GB");
        let mut seen_national = false;
        for _ in 0..500 {
            let aor = render_e164("442030001234", gb, &mut rng);
            if aor.starts_with("02030001234@") {
                seen_national = true;
            }
            assert!(
                aor.contains("2030001234")
                    || aor.contains("2030-001234")
                    || aor.contains("20-3000-1234")
                    || aor.contains("20.3000.1234"),
                "{aor}"
            );
        }
        assert!(seen_national);
    }

    #[test]
    fn canonical_keys() {
        let e = Canonical::E164 {
            digits: "14155550123".into(),
            ext: Some(12),
        };
        assert_eq!(e.key().as_deref(), Some("+14155550123;ext=12"));
        assert_eq!(Canonical::Ext(1004).key().as_deref(), Some("1004"));
        assert_eq!(Canonical::Unmappable.key(), None);
        for c in [
            e,
            Canonical::Ext(1004),
            Canonical::E164 {
                digits: "442030001234".into(),
                ext: None,
            },
        ] {
            assert_eq!(Canonical::from_key(&c.key().unwrap()), Some(c));
        }
        assert_eq!(Canonical::from_key("reception"), None);
        assert_eq!(contact_user("sip:+4420@X.Y;user=phone"), "+4420");
        assert_eq!(contact_user(""), "anonymous");
    }
}
