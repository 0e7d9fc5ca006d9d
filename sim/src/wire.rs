//! The device's JSON: the only place that knows the contract's field names.

use std::ops::Bound;

use chrono::{DateTime, Utc};
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

fn rfc3339(s: i64) -> String {
    DateTime::<Utc>::from_timestamp(s, 0)
        .unwrap_or(DateTime::<Utc>::UNIX_EPOCH)
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string()
}

struct WireContact<'a> {
    c: &'a Contact,
    user: &'a str,
    variant: u8,
}

impl Serialize for WireContact<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let c = self.c;
        let transport = if c.tls { ";transport=tls" } else { "" };
        let uri = format!(
            "sip:{}@192.0.2.{}:{}{transport}",
            self.user, c.octet, c.port
        );
        let mut m = s.serialize_map(Some(3))?;
        if self.variant & variant::ANGLE != 0 {
            m.serialize_entry("uri", &format!("<{uri}>"))?;
        } else {
            m.serialize_entry("uri", &uri)?;
        }
        if self.variant & variant::STR_NUMS != 0 {
            m.serialize_entry("expires", &c.expires_s.to_string())?;
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
        m.serialize_entry("id", &format_id(self.id))?;
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
            m.serialize_entry("registeredAt", &rfc3339(u.registered_at_s))?;
            // A refresh happens within each binding's expiry; spread it by id.
            let expires = u.contacts.first().map_or(3600, |c| c.expires_s.max(1)) as u64;
            let back = (self.id.wrapping_mul(2_654_435_761) % expires) as i64;
            let refresh = (pop.now.timestamp() - back).max(u.registered_at_s);
            m.serialize_entry("lastRefresh", &rfc3339(refresh))?;
        }
        if u.variant & variant::EXTRA != 0 {
            m.serialize_entry("firmwareFlavor", "gateway-mp124")?;
            if u.variant & variant::STR_NUMS != 0 {
                m.serialize_entry("sessionCount", &(self.id % 7).to_string())?;
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
    match serde_json::to_vec(&body) {
        Ok(v) => Page::Body(v),
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
