//! The device's JSON: the only place that knows the contract's field names.

use std::fmt;
use std::ops::Bound;

use serde::ser::{SerializeMap, SerializeSeq};
use serde::{Serialize, Serializer};

use crate::numbers::contact_user;
use crate::population::{agent_name, format_id, variant, Contact, Population, User};

/// A rendered `registeredUsers` page, or "no content".
pub(crate) enum Page {
    /// The collection is empty or `after` ran past its end: answer 204.
    NoContent,
    /// A JSON body.
    Body(Vec<u8>),
}

/// Serializes a `Display` value as a JSON string without an intermediate
/// `String`: pages hold a thousand users, and allocation per field was the
/// bulk of the page cost.
struct Shown<T>(T);

impl<T: fmt::Display> Serialize for Shown<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(&self.0)
    }
}

/// `ru-00000042`.
struct Id(u64);

impl fmt::Display for Id {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ru-{:08}", self.0)
    }
}

/// `2026-12-03T09:14:09Z` from Unix seconds. Hand-rolled (Hinnant's
/// days-to-civil) because chrono's format machinery dominated page rendering.
pub(crate) struct Rfc3339(pub i64);

impl fmt::Display for Rfc3339 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let days = self.0.div_euclid(86_400);
        let secs = self.0.rem_euclid(86_400);
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = doy - (153 * mp + 2) / 5 + 1;
        let month = if mp < 10 { mp + 3 } else { mp - 9 };
        let year = yoe + era * 400 + i64::from(month <= 2);
        write!(
            f,
            "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
            secs / 3600,
            secs / 60 % 60,
            secs % 60
        )
    }
}

/// `<sip:user@192.0.2.15:5061;transport=tls>`, with or without the brackets.
struct ContactUri<'a> {
    c: &'a Contact,
    user: &'a str,
    angle: bool,
}

impl fmt::Display for ContactUri<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.c;
        let (open, close) = if self.angle { ("<", ">") } else { ("", "") };
        let transport = if c.tls { ";transport=tls" } else { "" };
        write!(
            f,
            "{open}sip:{}@192.0.2.{}:{}{transport}{close}",
            self.user, c.octet, c.port
        )
    }
}

struct WireContact<'a> {
    c: &'a Contact,
    user: &'a str,
    variant: u8,
}

impl Serialize for WireContact<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let uri = ContactUri {
            c,
            user: self.user,
            angle: self.variant & variant::ANGLE != 0,
        };
        let mut m = s.serialize_map(Some(3))?;
        m.serialize_entry("uri", &Shown(uri))?;
        if self.variant & variant::STR_NUMS != 0 {
            m.serialize_entry("expires", &Shown(c.expires_s))?;
        } else {
            m.serialize_entry("expires", &c.expires_s)?;
        }
        if self.variant & variant::STR_BOOL != 0 {
            m.serialize_entry("active", if c.active { "1" } else { "0" })?;
        } else {
            m.serialize_entry("active", &c.active)?;
        }
        m.end()
    }
}

struct WireContacts<'a> {
    u: &'a User,
    dark: bool,
}

impl Serialize for WireContacts<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        // A dark node reports its users without bindings.
        let contacts: &[Contact] = if self.dark { &[] } else { &self.u.contacts };
        let user = contact_user(&self.u.aor);
        let mut seq = s.serialize_seq(Some(contacts.len()))?;
        for c in contacts {
            seq.serialize_element(&WireContact {
                c,
                user,
                variant: self.u.variant,
            })?;
        }
        seq.end()
    }
}

struct WireUser<'a> {
    id: u64,
    u: &'a User,
    pop: &'a Population,
}

impl Serialize for WireUser<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let u = self.u;
        let pop = self.pop;
        let node = &pop.nodes[u.node as usize % pop.nodes.len()];
        let dark = pop.node_dark(u);
        let sparse = u.variant & variant::SPARSE != 0;
        let mut m = s.serialize_map(None)?;
        m.serialize_entry("id", &Shown(Id(self.id)))?;
        m.serialize_entry("nodeId", &node.id)?;
        if !sparse {
            m.serialize_entry("nodeName", &node.name)?;
        }
        m.serialize_entry("aor", &*u.aor)?;
        let registered = u.registered && !dark;
        m.serialize_entry(
            "status",
            if registered {
                "REGISTERED"
            } else {
                "UNREGISTERED"
            },
        )?;
        m.serialize_entry("contacts", &WireContacts { u, dark })?;
        if !sparse {
            m.serialize_entry("userAgent", agent_name(u.agent))?;
            m.serialize_entry("registeredAt", &Shown(Rfc3339(u.registered_at_s)))?;
            // A refresh happens within each binding's expiry; spread it by id.
            let expires = u.contacts.first().map_or(3600, |c| c.expires_s.max(1)) as u64;
            let back = (self.id.wrapping_mul(2_654_435_761) % expires) as i64;
            let refresh = (pop.now.timestamp() - back).max(u.registered_at_s);
            m.serialize_entry("lastRefresh", &Shown(Rfc3339(refresh)))?;
        }
        if u.variant & variant::EXTRA != 0 {
            m.serialize_entry("firmwareFlavor", "gateway-mp124")?;
            if u.variant & variant::STR_NUMS != 0 {
                m.serialize_entry("sessionCount", &Shown(self.id % 7))?;
            } else {
                m.serialize_entry("sessionCount", &(self.id % 7))?;
            }
        }
        m.end()
    }
}

struct PageBody<'a> {
    users: &'a [(u64, &'a User)],
    pop: &'a Population,
    before: &'a str,
    after: &'a str,
}

impl Serialize for PageBody<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Users<'a>(&'a [(u64, &'a User)], &'a Population);
        impl Serialize for Users<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for &(id, u) in self.0 {
                    seq.serialize_element(&WireUser { id, u, pop: self.1 })?;
                }
                seq.end()
            }
        }
        let mut m = s.serialize_map(Some(2))?;
        m.serialize_entry("registeredUsers", &Users(self.users, self.pop))?;
        m.serialize_entry(
            "cursor",
            &serde_json::json!({"before": self.before, "after": self.after}),
        )?;
        m.end()
    }
}

/// Renders the page of at most `limit` users whose ids are strictly greater
/// than `after`. O(limit · log n): a range over the ordered map, plus one
/// look-ahead to know whether this is the last page.
pub(crate) fn registered_users_page(pop: &Population, after: Option<u64>, limit: usize) -> Page {
    let lower = match after {
        Some(a) => Bound::Excluded(a),
        None => Bound::Unbounded,
    };
    let limit = limit.max(1);
    let mut it = pop.users.range((lower, Bound::Unbounded));
    let users: Vec<(u64, &User)> = it.by_ref().take(limit).map(|(&id, u)| (id, u)).collect();
    let Some(&(last, _)) = users.last() else {
        return Page::NoContent;
    };
    let more = it.next().is_some();
    let after_s = if more {
        format_id(last)
    } else {
        "-1".to_string()
    };
    let before_s = match after {
        Some(a) => format_id(a),
        None => "-1".to_string(),
    };
    let body = PageBody {
        users: &users,
        pop,
        before: &before_s,
        after: &after_s,
    };
    // About 330 bytes per user; sizing up front avoids regrowing a large page.
    let mut out = Vec::with_capacity(users.len() * 400 + 64);
    match serde_json::to_writer(&mut out, &body) {
        Ok(()) => Page::Body(out),
        // Serializing plain strings and numbers cannot fail; answer empty if it ever does.
        Err(_) => Page::NoContent,
    }
}

/// `{"nodes":[{"id","name","status"}]}`.
pub(crate) fn nodes_body(pop: &Population) -> Vec<u8> {
    let nodes: Vec<serde_json::Value> = pop
        .nodes
        .iter()
        .map(|n| {
            let status = if n.is_dark(pop.now) {
                "OFFLINE"
            } else {
                "ONLINE"
            };
            serde_json::json!({"id": n.id, "name": n.name, "status": status})
        })
        .collect();
    serde_json::to_vec(&serde_json::json!({ "nodes": nodes })).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{ChurnRates, SimConfig};

    #[test]
    fn rfc3339_matches_chrono() {
        for s in [
            0i64,
            951_782_400,
            1_764_751_449,
            1_796_256_000,
            4_102_444_800,
            -86_400,
        ] {
            let want = chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(Rfc3339(s).to_string(), want, "{s}");
        }
        let mut s = 0i64;
        while s < 5_000_000_000 {
            let want = chrono::DateTime::<chrono::Utc>::from_timestamp(s, 0)
                .unwrap()
                .format("%Y-%m-%dT%H:%M:%SZ")
                .to_string();
            assert_eq!(Rfc3339(s).to_string(), want, "{s}");
            s += 86_400 * 37 + 3_671;
        }
    }

    #[test]
    #[ignore = "timing probe: cargo test --release -p numinv-sim --lib render_speed -- --ignored --nocapture"]
    fn render_speed() {
        let pop = Population::new(&SimConfig {
            users: 100_000,
            churn: ChurnRates::none(),
            ..SimConfig::default()
        });
        let t = std::time::Instant::now();
        let mut after = None;
        let mut bytes = 0;
        for _ in 0..200 {
            match registered_users_page(&pop, after, 1000) {
                Page::NoContent => break,
                Page::Body(b) => {
                    bytes += b.len();
                    let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
                    let a = v["cursor"]["after"].as_str().unwrap().to_string();
                    if a == "-1" {
                        break;
                    }
                    after = crate::population::parse_id(&a);
                }
            }
        }
        eprintln!("render+parse {:?} for {bytes} bytes", t.elapsed());
        let t = std::time::Instant::now();
        let mut after = None;
        for _ in 0..200 {
            match registered_users_page(&pop, after, 1000) {
                Page::NoContent => break,
                Page::Body(_) => {
                    after = Some(after.unwrap_or(0) + 1000);
                }
            }
        }
        eprintln!("render only {:?}", t.elapsed());
    }
}
