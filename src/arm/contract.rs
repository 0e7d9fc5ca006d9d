//! The provisional ARM contract (`ARM-CONTRACT.md`): resource paths, query parameters and
//! JSON field names, and nothing else.
//!
//! Architecture invariant: this is the only file in numinv that knows the device's paths and
//! field names. When the vendor's real contract differs, this file changes and its tests say
//! what changed; the client, the sync engine and the store do not.
//!
//! Parsing is tolerant the way devices in the field need: numbers and booleans may arrive as
//! strings, unknown fields are ignored, optional fields may be missing. It is strict where a
//! guess would corrupt the inventory: a page without a cursor, a user without `nodeId`,
//! `aor` or `status` is an error rather than a user silently read as "not registered".

use serde_json::{Map, Value};

use super::Secret;

/// Default base path of the ARM northbound REST API (*provisional*).
pub const BASE_PATH_DEFAULT: &str = "/ARM/v1";
/// Largest `limit` the device honours; larger values are clamped by the device, so we never
/// ask for more (a clamped page would still page correctly, but our counts would mislead).
pub const PAGE_SIZE_MAX: u32 = 1000;
/// Value of `cursor.after` on the last page.
pub const CURSOR_END: &str = "-1";

const PATH_USERS: &str = "/registeredUsers";
const PATH_NODES: &str = "/topology/nodes";
const PATH_LOGIN: &str = "/login";

const F_USERS: &str = "registeredUsers";
const F_CURSOR: &str = "cursor";
const F_AFTER: &str = "after";
const F_ID: &str = "id";
const F_NODE_ID: &str = "nodeId";
const F_NODE_NAME: &str = "nodeName";
const F_AOR: &str = "aor";
const F_STATUS: &str = "status";
const F_CONTACTS: &str = "contacts";
const F_URI: &str = "uri";
const F_EXPIRES: &str = "expires";
const F_ACTIVE: &str = "active";
const F_USER_AGENT: &str = "userAgent";
const F_NODES: &str = "nodes";
const F_NAME: &str = "name";
const STATUS_REGISTERED: &str = "REGISTERED";
const STATUS_ONLINE: &str = "ONLINE";

/// One registered user as the device reports it, before any number normalization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RegisteredUser {
    /// Stable identity within a connection: `id`, or `nodeId + "/" + aor` when `id` is absent.
    pub key: String,
    /// The device's record id, when it sends one.
    pub id: Option<String>,
    /// The SBC node that holds the registration.
    pub node_id: String,
    /// Display name of that node, when sent.
    pub node_name: Option<String>,
    /// Address of record exactly as served (may be empty, a bare extension, a `tel:` URI …).
    pub aor: String,
    /// `status == "REGISTERED"` (case-insensitive).
    pub registered: bool,
    /// Contact bindings; online means `registered` and at least one active contact.
    pub contacts: Vec<Contact>,
    /// SIP User-Agent, when sent.
    pub user_agent: Option<String>,
}

impl RegisteredUser {
    /// Registered with at least one active contact (DESIGN §4.3; node state is not known here).
    pub fn online(&self) -> bool {
        self.registered && self.contacts.iter().any(|c| c.active)
    }
}

/// One contact binding of a registered user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    /// Contact URI as served, e.g. `<sip:+44…@192.0.2.15:5061;transport=tls>`.
    pub uri: String,
    /// Seconds until the binding expires, when sent.
    pub expires_s: Option<u64>,
    /// Whether the binding is active. A contact without an `active` field counts as active:
    /// the device listing a binding is the normal sign that it is live.
    pub active: bool,
}

/// One SBC node managed by the ARM.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// Node id, matching [`RegisteredUser::node_id`].
    pub id: String,
    /// Display name (empty when the device sends none).
    pub name: String,
    /// `status == "ONLINE"` (case-insensitive).
    pub online: bool,
}

/// One page of registered users.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UsersPage {
    /// Users on this page, in the device's order.
    pub users: Vec<RegisteredUser>,
    /// Cursor for the next page; `None` when `cursor.after == "-1"` (last page).
    pub next_after: Option<String>,
}

/// A body that does not follow the contract.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ContractError {
    /// The body ended early: a truncated transfer, worth retrying.
    #[error("body is truncated JSON ({0})")]
    Truncated(String),
    /// The body is not JSON at all.
    #[error("body is not JSON ({0})")]
    NotJson(String),
    /// JSON, but a required field is missing or has the wrong type.
    #[error("{at}: {problem}")]
    Field {
        /// Where in the body, e.g. `registeredUsers[3] (id ru-000004).status`.
        at: String,
        /// What is wrong, e.g. `missing`.
        problem: String,
    },
}

impl ContractError {
    /// Whether a repeat of the same request may well succeed (the transfer was cut short).
    pub fn is_transient(&self) -> bool {
        matches!(self, ContractError::Truncated(_))
    }

    fn field(at: impl Into<String>, problem: impl Into<String>) -> Self {
        ContractError::Field {
            at: at.into(),
            problem: problem.into(),
        }
    }
}

/// Path and query of one page of registered users, relative to the host.
pub fn users_path(base_path: &str, limit: u32, after: Option<&str>) -> String {
    let limit = limit.clamp(1, PAGE_SIZE_MAX);
    match after {
        None => format!("{base_path}{PATH_USERS}?limit={limit}"),
        Some(a) => format!(
            "{base_path}{PATH_USERS}?limit={limit}&after={}",
            percent_encode(a)
        ),
    }
}

/// Path of the node list, relative to the host.
pub fn nodes_path(base_path: &str) -> String {
    format!("{base_path}{PATH_NODES}")
}

/// Path of the session login, relative to the host.
pub fn login_path(base_path: &str) -> String {
    format!("{base_path}{PATH_LOGIN}")
}

/// JSON body of the session login. The caller must not log it.
pub fn login_body(username: &str, password: &Secret) -> Vec<u8> {
    serde_json::json!({ "username": username, "password": password.expose() })
        .to_string()
        .into_bytes()
}

/// Form body of an OAuth 2.0 client-credentials token request. The caller must not log it.
pub fn oauth_form(client_id: &str, client_secret: &Secret, scope: Option<&str>) -> Vec<u8> {
    let mut form = format!(
        "grant_type=client_credentials&client_id={}&client_secret={}",
        percent_encode(client_id),
        percent_encode(client_secret.expose())
    );
    if let Some(scope) = scope {
        form.push_str("&scope=");
        form.push_str(&percent_encode(scope));
    }
    form.into_bytes()
}

/// A bearer token with its announced lifetime.
#[derive(Debug)]
pub struct BearerToken {
    /// The token; [`Secret`] keeps it out of Debug output.
    pub token: Secret,
    /// Lifetime announced by the device, when it gives one.
    pub expires_in_s: Option<u64>,
}

/// Parse a session login answer `{"token": …, "expiresIn": 900}`.
pub fn parse_login(body: &[u8]) -> Result<BearerToken, ContractError> {
    parse_token(body, "token", "expiresIn")
}

/// Parse an OAuth token answer `{"access_token": …, "expires_in": 3599}`.
pub fn parse_oauth_token(body: &[u8]) -> Result<BearerToken, ContractError> {
    parse_token(body, "access_token", "expires_in")
}

fn parse_token(body: &[u8], f_token: &str, f_expires: &str) -> Result<BearerToken, ContractError> {
    // Never put the body into an error: it holds the token.
    let v: Value = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    let obj = object(&v, &|| "body".into())?;
    let token = match obj.get(f_token) {
        Some(Value::String(s)) if !s.is_empty() => Secret::new(s.clone()),
        _ => return Err(ContractError::field(f_token, "missing or not a string")),
    };
    let expires_in_s = opt_u64(obj, f_expires, &|| f_expires.into())?;
    Ok(BearerToken {
        token,
        expires_in_s,
    })
}

/// The human-readable part of an error body (`description`, or OAuth's
/// `error_description` / `error`), cut to 200 characters; `None` when there is none.
pub fn error_description(body: &[u8]) -> Option<String> {
    let v: Value = serde_json::from_slice(body).ok()?;
    let obj = v.as_object()?;
    let text = ["description", "error_description", "error", "message"]
        .iter()
        .find_map(|f| obj.get(*f).and_then(Value::as_str))?;
    let text: String = text.chars().filter(|c| !c.is_control()).take(200).collect();
    (!text.is_empty()).then_some(text)
}

/// Parse one `200` page of `GET {base}/registeredUsers`. Pure: no I/O, no clock.
///
/// Two paths give the same answer: [`parse_users_page_direct`] reads the body straight into
/// the result, borrowing its strings, and gives up on anything it does not accept as is;
/// then [`parse_users_page_tree`] reads it again through a `serde_json::Value` tree and
/// words the error (or, for the rare body only it reads, such as a repeated field, gives
/// the page). A JSON tree and its drop were a third of the cost of a page.
pub fn parse_users_page(body: &[u8]) -> Result<UsersPage, ContractError> {
    match parse_users_page_direct(body) {
        Some(page) => Ok(page),
        None => parse_users_page_tree(body),
    }
}

/// The next page's cursor as the body's last `"cursor"` object says, read without parsing
/// the page, so the next request can go out while this one is parsed. Only a hint: the
/// client uses what it fetched with it only when the page's real parse gives the same
/// cursor, so a wrong peek costs one request, never a wrong list.
pub fn peek_next_after(body: &[u8]) -> Option<String> {
    let key = [b"\"", F_CURSOR.as_bytes(), b"\""].concat();
    let at = body.windows(key.len()).rposition(|w| w == key.as_slice())?;
    let rest = body[at + key.len()..]
        .trim_ascii_start()
        .strip_prefix(b":")?;
    let mut de = serde_json::Deserializer::from_slice(rest);
    let cursor: Map<String, Value> = serde::Deserialize::deserialize(&mut de).ok()?;
    let after = cursor.get(F_AFTER)?.as_str()?;
    (after != CURSOR_END).then(|| after.to_owned())
}

/// The fast path of [`parse_users_page`]: typed, borrowed, no JSON tree. `Some` only with
/// the page that [`parse_users_page_tree`] gives; `None` when it gives up (any error, a
/// repeated field), leaving the answer to the tree path. Public for the tests that hold
/// the two paths to each other.
#[doc(hidden)]
pub fn parse_users_page_direct(body: &[u8]) -> Option<UsersPage> {
    use serde::Deserializer as _;
    let mut de = serde_json::Deserializer::from_slice(body);
    let page = (&mut de).deserialize_map(direct::PageVisitor).ok()?;
    de.end().ok()?;
    Some(page)
}

/// The reference path of [`parse_users_page`]: a `serde_json::Value` tree, walked field by
/// field; its errors are the ones callers see. Public for the tests that hold the two
/// paths to each other.
#[doc(hidden)]
pub fn parse_users_page_tree(body: &[u8]) -> Result<UsersPage, ContractError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    let obj = object(&v, &|| "body".into())?;
    let users = match obj.get(F_USERS) {
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, u)| parse_user(i, u))
            .collect::<Result<Vec<_>, _>>()?,
        Some(Value::Null) => Vec::new(),
        Some(_) => return Err(ContractError::field(F_USERS, "not an array")),
        None => return Err(ContractError::field(F_USERS, "missing")),
    };
    // Without a cursor we cannot know whether more pages follow; reading it as "last page"
    // could turn a partial list into "everyone else was deleted".
    let cursor = match obj.get(F_CURSOR) {
        Some(c @ Value::Object(_)) => object(c, &|| F_CURSOR.into())?,
        _ => return Err(ContractError::field(F_CURSOR, "missing or not an object")),
    };
    let after = opt_string(cursor, F_AFTER, &|| "cursor.after".into())?
        .ok_or_else(|| ContractError::field("cursor.after", "missing"))?;
    let next_after = (after != CURSOR_END).then_some(after);
    Ok(UsersPage { users, next_after })
}

fn parse_user(index: usize, v: &Value) -> Result<RegisteredUser, ContractError> {
    // Paths are rendered only for an error: formatting them for every field of every
    // user was a tenth of a 100k-user fetch.
    let base = || format!("{F_USERS}[{index}]");
    let obj = object(v, &base)?;
    let id = opt_string(obj, F_ID, &|| format!("{}.{F_ID}", base()))?.filter(|s| !s.is_empty());
    let at = || match &id {
        Some(id) => format!("{} (id {id})", base()),
        None => base(),
    };
    let node_id = req_string(obj, F_NODE_ID, &at)?;
    let aor = req_string(obj, F_AOR, &at)?;
    let status = req_string(obj, F_STATUS, &at)?;
    let contacts = match obj.get(F_CONTACTS) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => items
            .iter()
            .enumerate()
            .map(|(i, c)| parse_contact(&|| format!("{}.{F_CONTACTS}[{i}]", at()), c))
            .collect::<Result<_, _>>()?,
        Some(_) => {
            return Err(ContractError::field(
                format!("{}.{F_CONTACTS}", at()),
                "not an array",
            ))
        }
    };
    let node_name = opt_string(obj, F_NODE_NAME, &|| format!("{}.{F_NODE_NAME}", at()))?;
    let user_agent = opt_string(obj, F_USER_AGENT, &|| format!("{}.{F_USER_AGENT}", at()))?;
    let key = match &id {
        Some(id) => id.clone(),
        None => format!("{node_id}/{aor}"),
    };
    Ok(RegisteredUser {
        key,
        id,
        node_name,
        registered: status.trim().eq_ignore_ascii_case(STATUS_REGISTERED),
        user_agent,
        node_id,
        aor,
        contacts,
    })
}

fn parse_contact(at: &dyn Fn() -> String, v: &Value) -> Result<Contact, ContractError> {
    let obj = object(v, at)?;
    Ok(Contact {
        uri: opt_string(obj, F_URI, &|| format!("{}.{F_URI}", at()))?.unwrap_or_default(),
        expires_s: opt_u64(obj, F_EXPIRES, &|| format!("{}.{F_EXPIRES}", at()))?,
        active: opt_bool(obj, F_ACTIVE, &|| format!("{}.{F_ACTIVE}", at()))?.unwrap_or(true),
    })
}

/// Parse `GET {base}/topology/nodes`. Pure.
pub fn parse_nodes(body: &[u8]) -> Result<Vec<Node>, ContractError> {
    let v: Value = serde_json::from_slice(body).map_err(|e| json_error(&e))?;
    let obj = object(&v, &|| "body".into())?;
    let items = match obj.get(F_NODES) {
        Some(Value::Array(items)) => items,
        None | Some(Value::Null) => return Ok(Vec::new()),
        Some(_) => return Err(ContractError::field(F_NODES, "not an array")),
    };
    items
        .iter()
        .enumerate()
        .map(|(i, n)| {
            let at = || format!("{F_NODES}[{i}]");
            let obj = object(n, &at)?;
            let status = opt_string(obj, F_STATUS, &|| format!("{}.{F_STATUS}", at()))?;
            Ok(Node {
                id: req_string(obj, F_ID, &at)?,
                name: opt_string(obj, F_NAME, &|| format!("{}.{F_NAME}", at()))?
                    .unwrap_or_default(),
                online: status.is_some_and(|s| s.trim().eq_ignore_ascii_case(STATUS_ONLINE)),
            })
        })
        .collect()
}

fn json_error(e: &serde_json::Error) -> ContractError {
    match e.classify() {
        serde_json::error::Category::Eof => ContractError::Truncated(e.to_string()),
        _ => ContractError::NotJson(e.to_string()),
    }
}

/// Where a value sits in the body (`registeredUsers[3] (id ru-000004).status`), rendered
/// only when an error names it.
type At<'a> = &'a dyn Fn() -> String;

fn object<'a>(v: &'a Value, at: At<'_>) -> Result<&'a Map<String, Value>, ContractError> {
    v.as_object()
        .ok_or_else(|| ContractError::field(at(), "not a JSON object"))
}

/// A string field; numbers are accepted and rendered (`"nodeId": 3` → `"3"`).
fn opt_string(
    obj: &Map<String, Value>,
    f: &str,
    at: At<'_>,
) -> Result<Option<String>, ContractError> {
    match obj.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(Value::Number(n)) => Ok(Some(n.to_string())),
        Some(_) => Err(ContractError::field(at(), "not a string")),
    }
}

fn req_string(obj: &Map<String, Value>, f: &str, at: At<'_>) -> Result<String, ContractError> {
    let at = || format!("{}.{f}", at());
    opt_string(obj, f, &at)?.ok_or_else(|| ContractError::field(at(), "missing"))
}

/// A non-negative integer field; `"1800"` is accepted as well as `1800`.
fn opt_u64(obj: &Map<String, Value>, f: &str, at: At<'_>) -> Result<Option<u64>, ContractError> {
    let bad = || ContractError::field(at(), "not a non-negative integer");
    match obj.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Number(n)) => n.as_u64().map(Some).ok_or_else(bad),
        Some(Value::String(s)) => u64_of_str(s).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// A non-negative integer sent as a string: blank is "not sent"; `None` when it is not one.
fn u64_of_str(s: &str) -> Option<Option<u64>> {
    let s = s.trim();
    if s.is_empty() {
        Some(None)
    } else {
        s.parse().ok().map(Some)
    }
}

/// A boolean field; `true`/`false`, `1`/`0` and their string forms are accepted.
fn opt_bool(obj: &Map<String, Value>, f: &str, at: At<'_>) -> Result<Option<bool>, ContractError> {
    let bad = || ContractError::field(at(), "not a boolean");
    match obj.get(f) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Bool(b)) => Ok(Some(*b)),
        Some(Value::Number(n)) => bool_of_number(n).map(Some).ok_or_else(bad),
        Some(Value::String(s)) => bool_of_str(s).map(Some).ok_or_else(bad),
        Some(_) => Err(bad()),
    }
}

/// `0` and `1` as a boolean.
fn bool_of_number(n: &serde_json::Number) -> Option<bool> {
    match n.as_u64() {
        Some(0) => Some(false),
        Some(1) => Some(true),
        _ => None,
    }
}

/// A boolean sent as a string: `1`/`true`/`yes`, `0`/`false`/`no`, any case and spacing.
fn bool_of_str(s: &str) -> Option<bool> {
    match s.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Some(true),
        "0" | "false" | "no" => Some(false),
        _ => None,
    }
}

/// Percent-encode everything but RFC 3986 unreserved characters, for query and form values.
fn percent_encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The direct path of [`parse_users_page`]: `serde` visitors that read a page into
/// [`UsersPage`] without a JSON tree, borrowing each string until it becomes a field of the
/// result.
///
/// It must accept exactly what the tree path accepts, with the same result, or give up. So:
/// objects are read only as JSON objects (never as arrays, as a derived struct would be);
/// values it does not need are still parsed in full, strings checked and nesting counted
/// against serde_json's recursion limit, because the tree path fails on what they would
/// fail on (`IgnoredAny` checks neither); numbers are read by serde_json and rendered by
/// its own `Number`, as in the tree; a field that comes twice gives up, because the tree
/// keeps the last one. Every other difference gives up too: any `Err` here only means
/// "ask the tree path", and its text is never shown.
mod direct {
    use std::borrow::Cow;
    use std::fmt;

    use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
    use serde::Deserialize;
    use serde_json::Number;

    use super::*;

    /// Why the direct path gives up, when the reason is ours rather than serde_json's.
    fn give_up<E: de::Error>() -> E {
        E::custom("not read by the direct path")
    }

    /// A key, borrowed unless it holds an escape.
    struct Key<'de>(Cow<'de, str>);

    impl<'de> Deserialize<'de> for Key<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Key<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a key")
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Key<'de>, E> {
                    Ok(Key(Cow::Owned(v)))
                }
            }
            d.deserialize_str(V)
        }
    }

    /// A value the contract does not use, parsed as the tree path would parse it.
    struct Skip;

    impl<'de> Deserialize<'de> for Skip {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Skip;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("any JSON value")
                }
                fn visit_bool<E: de::Error>(self, _: bool) -> Result<Skip, E> {
                    Ok(Skip)
                }
                fn visit_i64<E: de::Error>(self, _: i64) -> Result<Skip, E> {
                    Ok(Skip)
                }
                fn visit_u64<E: de::Error>(self, _: u64) -> Result<Skip, E> {
                    Ok(Skip)
                }
                fn visit_f64<E: de::Error>(self, _: f64) -> Result<Skip, E> {
                    Ok(Skip)
                }
                fn visit_str<E: de::Error>(self, _: &str) -> Result<Skip, E> {
                    Ok(Skip)
                }
                fn visit_unit<E: de::Error>(self) -> Result<Skip, E> {
                    Ok(Skip)
                }
                fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Skip, A::Error> {
                    while seq.next_element::<Skip>()?.is_some() {}
                    Ok(Skip)
                }
                fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Skip, A::Error> {
                    while map.next_entry::<Key<'de>, Skip>()?.is_some() {}
                    Ok(Skip)
                }
            }
            d.deserialize_any(V)
        }
    }

    /// A scalar field: what `opt_string`, `opt_u64` and `opt_bool` read from a `Value`.
    /// An array or object in its place gives up (all three fail on it).
    enum Scalar<'de> {
        Null,
        Str(Cow<'de, str>),
        Num(Number),
        Bool(bool),
    }

    impl<'de> Deserialize<'de> for Scalar<'de> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            struct V;
            impl<'de> Visitor<'de> for V {
                type Value = Scalar<'de>;
                fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                    f.write_str("a string, number, boolean or null")
                }
                fn visit_unit<E: de::Error>(self) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Null)
                }
                fn visit_bool<E: de::Error>(self, v: bool) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Bool(v))
                }
                fn visit_i64<E: de::Error>(self, v: i64) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Num(v.into()))
                }
                fn visit_u64<E: de::Error>(self, v: u64) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Num(v.into()))
                }
                fn visit_f64<E: de::Error>(self, v: f64) -> Result<Scalar<'de>, E> {
                    // As `serde_json::Value` reads it.
                    Ok(Number::from_f64(v).map_or(Scalar::Null, Scalar::Num))
                }
                fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Str(Cow::Borrowed(v)))
                }
                fn visit_str<E: de::Error>(self, v: &str) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Str(Cow::Owned(v.to_owned())))
                }
                fn visit_string<E: de::Error>(self, v: String) -> Result<Scalar<'de>, E> {
                    Ok(Scalar::Str(Cow::Owned(v)))
                }
            }
            d.deserialize_any(V)
        }
    }

    impl Scalar<'_> {
        /// As `opt_string`.
        fn string<E: de::Error>(self) -> Result<Option<String>, E> {
            match self {
                Scalar::Null => Ok(None),
                Scalar::Str(s) => Ok(Some(s.into_owned())),
                Scalar::Num(n) => Ok(Some(n.to_string())),
                Scalar::Bool(_) => Err(give_up()),
            }
        }

        /// As `req_string`.
        fn required<E: de::Error>(self) -> Result<String, E> {
            self.string()?.ok_or_else(give_up)
        }

        /// As `opt_u64`.
        fn u64<E: de::Error>(self) -> Result<Option<u64>, E> {
            match self {
                Scalar::Null => Ok(None),
                Scalar::Num(n) => n.as_u64().map(Some).ok_or_else(give_up),
                Scalar::Str(s) => u64_of_str(&s).ok_or_else(give_up),
                Scalar::Bool(_) => Err(give_up()),
            }
        }

        /// As `opt_bool`.
        fn bool<E: de::Error>(self) -> Result<Option<bool>, E> {
            match self {
                Scalar::Null => Ok(None),
                Scalar::Bool(b) => Ok(Some(b)),
                Scalar::Num(n) => bool_of_number(&n).map(Some).ok_or_else(give_up),
                Scalar::Str(s) => bool_of_str(&s).map(Some).ok_or_else(give_up),
            }
        }
    }

    /// Stores a field's value, giving up when the field came before.
    fn once<T, E: de::Error>(slot: &mut Option<T>, v: T) -> Result<(), E> {
        match slot.replace(v) {
            None => Ok(()),
            Some(_) => Err(give_up()),
        }
    }

    /// The page object.
    pub(super) struct PageVisitor;

    impl<'de> Visitor<'de> for PageVisitor {
        type Value = UsersPage;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a page object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<UsersPage, A::Error> {
            let mut users = None;
            let mut after = None;
            while let Some(Key(k)) = map.next_key()? {
                match &*k {
                    F_USERS => once(&mut users, map.next_value_seed(USERS)?)?,
                    F_CURSOR => once(&mut after, map.next_value_seed(Cursor)?)?,
                    _ => {
                        map.next_value::<Skip>()?;
                    }
                }
            }
            let (Some(users), Some(after)) = (users, after) else {
                return Err(give_up());
            };
            let next_after = (after != CURSOR_END).then_some(after);
            Ok(UsersPage { users, next_after })
        }
    }

    /// An array of `S` objects, or `null` for none (`registeredUsers`, `contacts`).
    #[derive(Clone, Copy)]
    struct ListOrNull<S> {
        item: S,
        what: &'static str,
    }

    impl<'de, S: DeserializeSeed<'de> + Copy> DeserializeSeed<'de> for ListOrNull<S> {
        type Value = Vec<S::Value>;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_any(self)
        }
    }

    impl<'de, S: DeserializeSeed<'de> + Copy> Visitor<'de> for ListOrNull<S> {
        type Value = Vec<S::Value>;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            write!(f, "an array of {} or null", self.what)
        }

        fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
            Ok(Vec::new())
        }

        fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0));
            while let Some(item) = seq.next_element_seed(self.item)? {
                items.push(item);
            }
            Ok(items)
        }
    }

    /// `registeredUsers`.
    const USERS: ListOrNull<User> = ListOrNull {
        item: User,
        what: "users",
    };

    /// One user object.
    #[derive(Clone, Copy)]
    struct User;

    impl<'de> DeserializeSeed<'de> for User {
        type Value = RegisteredUser;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for User {
        type Value = RegisteredUser;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a user object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut id, mut node_id, mut node_name, mut aor, mut status) =
                (None, None, None, None, None);
            let (mut contacts, mut user_agent) = (None, None);
            while let Some(Key(k)) = map.next_key()? {
                match &*k {
                    F_ID => once(&mut id, map.next_value::<Scalar>()?)?,
                    F_NODE_ID => once(&mut node_id, map.next_value::<Scalar>()?)?,
                    F_NODE_NAME => once(&mut node_name, map.next_value::<Scalar>()?)?,
                    F_AOR => once(&mut aor, map.next_value::<Scalar>()?)?,
                    F_STATUS => once(&mut status, map.next_value::<Scalar>()?)?,
                    F_CONTACTS => once(&mut contacts, map.next_value_seed(CONTACTS)?)?,
                    F_USER_AGENT => once(&mut user_agent, map.next_value::<Scalar>()?)?,
                    _ => {
                        map.next_value::<Skip>()?;
                    }
                }
            }
            let string = |v: Option<Scalar>| v.map_or(Ok(None), Scalar::string);
            let required = |v: Option<Scalar>| v.ok_or_else(give_up)?.required();
            let id = string(id)?.filter(|s| !s.is_empty());
            let node_id = required(node_id)?;
            let aor = required(aor)?;
            let registered = match status {
                Some(Scalar::Str(s)) => s.trim().eq_ignore_ascii_case(STATUS_REGISTERED),
                // A number is read as a string, and no number reads "REGISTERED".
                Some(Scalar::Num(_)) => false,
                _ => return Err(give_up()),
            };
            let key = match &id {
                Some(id) => id.clone(),
                None => format!("{node_id}/{aor}"),
            };
            Ok(RegisteredUser {
                key,
                id,
                node_id,
                node_name: string(node_name)?,
                aor,
                registered,
                contacts: contacts.unwrap_or_default(),
                user_agent: string(user_agent)?,
            })
        }
    }

    /// `contacts`.
    const CONTACTS: ListOrNull<ContactSeed> = ListOrNull {
        item: ContactSeed,
        what: "contacts",
    };

    /// One contact object.
    #[derive(Clone, Copy)]
    struct ContactSeed;

    impl<'de> DeserializeSeed<'de> for ContactSeed {
        type Value = Contact;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for ContactSeed {
        type Value = Contact;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a contact object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let (mut uri, mut expires, mut active) = (None, None, None);
            while let Some(Key(k)) = map.next_key()? {
                match &*k {
                    F_URI => once(&mut uri, map.next_value::<Scalar>()?)?,
                    F_EXPIRES => once(&mut expires, map.next_value::<Scalar>()?)?,
                    F_ACTIVE => once(&mut active, map.next_value::<Scalar>()?)?,
                    _ => {
                        map.next_value::<Skip>()?;
                    }
                }
            }
            Ok(Contact {
                uri: uri.map_or(Ok(None), Scalar::string)?.unwrap_or_default(),
                expires_s: expires.map_or(Ok(None), Scalar::u64)?,
                active: active.map_or(Ok(None), Scalar::bool)?.unwrap_or(true),
            })
        }
    }

    /// The `cursor` object; its `after`, which must be there.
    struct Cursor;

    impl<'de> DeserializeSeed<'de> for Cursor {
        type Value = String;

        fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            d.deserialize_map(self)
        }
    }

    impl<'de> Visitor<'de> for Cursor {
        type Value = String;

        fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
            f.write_str("a cursor object")
        }

        fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
            let mut after = None;
            while let Some(Key(k)) = map.next_key()? {
                match &*k {
                    F_AFTER => once(&mut after, map.next_value::<Scalar>()?)?,
                    _ => {
                        map.next_value::<Skip>()?;
                    }
                }
            }
            after.ok_or_else(give_up)?.required()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PAGE_1: &[u8] = include_bytes!("../../tests/fixtures/arm/registered-users-page-1.json");
    const PAGE_2: &[u8] = include_bytes!("../../tests/fixtures/arm/registered-users-page-2.json");

    fn user<'a>(page: &'a UsersPage, id: &str) -> &'a RegisteredUser {
        page.users.iter().find(|u| u.key == id).expect(id)
    }

    #[test]
    fn the_peeked_cursor_is_the_parsed_one_or_none() {
        assert_eq!(peek_next_after(PAGE_1).as_deref(), Some("ru-000005"));
        assert_eq!(peek_next_after(PAGE_2), None, "the last page says -1");
        let first = br#"{"cursor": {"after": "ru-9"}, "registeredUsers": []}"#;
        assert_eq!(peek_next_after(first).as_deref(), Some("ru-9"));
        // A cut body, a cursor that is not an object, a numeric cursor: no hint, no harm.
        assert_eq!(peek_next_after(&PAGE_1[..PAGE_1.len() - 20]), None);
        assert_eq!(peek_next_after(br#"{"cursor": "ru-9"}"#), None);
        assert_eq!(peek_next_after(br#"{"cursor": {"after": 9}}"#), None);
        assert_eq!(peek_next_after(b""), None);
    }

    #[test]
    fn fixture_page_1_gives_the_users_of_the_readme() {
        let p = parse_users_page(PAGE_1).unwrap();
        assert_eq!(p.next_after.as_deref(), Some("ru-000005"));
        let keys: Vec<_> = p.users.iter().map(|u| u.key.as_str()).collect();
        assert_eq!(
            keys,
            [
                "ru-000001",
                "ru-000002",
                "ru-000003",
                "ru-000004",
                "ru-000005"
            ]
        );

        let u1 = user(&p, "ru-000001");
        assert_eq!(u1.aor, "+442079460001@contoso.example");
        assert_eq!(u1.node_id, "1");
        assert_eq!(u1.node_name.as_deref(), Some("SBC-LON-01"));
        assert_eq!(u1.user_agent.as_deref(), Some("AUDC-IPPhone/3.4.6"));
        assert!(u1.online());
        assert_eq!(u1.contacts[0].expires_s, Some(3600));

        // Strings for numbers and booleans.
        let u2 = user(&p, "ru-000002");
        assert_eq!(u2.contacts[0].expires_s, Some(1800));
        assert!(u2.contacts[0].active);
        assert!(u2.online());

        // UNREGISTERED, no contacts: not held.
        let u3 = user(&p, "ru-000003");
        assert!(!u3.registered);
        assert!(u3.contacts.is_empty());
        assert!(!u3.online());

        // "0" is inactive, but one active contact is enough; unknown field ignored.
        let u4 = user(&p, "ru-000004");
        assert_eq!(
            u4.contacts.iter().map(|c| c.active).collect::<Vec<_>>(),
            [false, true]
        );
        assert!(u4.online());

        assert_eq!(user(&p, "ru-000005").aor, "reception@192.0.2.15");
    }

    #[test]
    fn fixture_page_2_is_the_last_page() {
        let p = parse_users_page(PAGE_2).unwrap();
        assert_eq!(p.next_after, None);
        let u6 = user(&p, "ru-000006");
        assert_eq!(u6.aor, "+442079460001@contoso.example");
        assert_eq!(u6.node_id, "2");
        assert!(u6.online());
        assert_eq!(
            user(&p, "ru-000007").aor,
            "sip:+14155550107@SBC.CONTOSO.EXAMPLE;user=phone"
        );
        let u8 = user(&p, "ru-000008");
        assert_eq!(u8.aor, "");
        assert!(u8.online());
        assert_eq!(p.users.len(), 3);
    }

    #[test]
    fn key_falls_back_to_node_and_aor_and_numbers_are_accepted_as_strings() {
        let body = br#"{"registeredUsers":[{"nodeId":3,"aor":"1004","status":"registered",
            "contacts":[{"uri":"sip:1004@h","expires":"","active":1}],"extra":{"x":1}}],
            "cursor":{"after":"-1"}}"#;
        let p = parse_users_page(body).unwrap();
        let u = &p.users[0];
        assert_eq!(u.key, "3/1004");
        assert_eq!(u.id, None);
        assert!(u.registered);
        assert_eq!(u.contacts[0].expires_s, None);
        assert!(u.contacts[0].active);
        assert_eq!(p.next_after, None);
    }

    #[test]
    fn contact_without_active_counts_as_active() {
        let body = br#"{"registeredUsers":[{"id":"a","nodeId":"1","aor":"x","status":"REGISTERED",
            "contacts":[{"uri":"sip:x@h"}]}],"cursor":{"after":"a"}}"#;
        let p = parse_users_page(body).unwrap();
        assert!(p.users[0].online());
        assert_eq!(p.next_after.as_deref(), Some("a"));
    }

    #[test]
    fn missing_cursor_or_required_field_is_an_error_not_a_guess() {
        let no_cursor = br#"{"registeredUsers":[]}"#;
        assert!(matches!(
            parse_users_page(no_cursor),
            Err(ContractError::Field { at, .. }) if at == "cursor"
        ));
        let no_status = br#"{"registeredUsers":[{"id":"ru-1","nodeId":"1","aor":"x"}],
            "cursor":{"after":"-1"}}"#;
        let err = parse_users_page(no_status).unwrap_err();
        assert_eq!(
            err.to_string(),
            "registeredUsers[0] (id ru-1).status: missing"
        );
        let bad_active = br#"{"registeredUsers":[{"id":"ru-1","nodeId":"1","aor":"x",
            "status":"REGISTERED","contacts":[{"uri":"u","active":"maybe"}]}],"cursor":{"after":"-1"}}"#;
        let err = parse_users_page(bad_active).unwrap_err();
        assert_eq!(
            err.to_string(),
            "registeredUsers[0] (id ru-1).contacts[0].active: not a boolean"
        );
    }

    #[test]
    fn truncated_body_is_transient_and_garbage_is_not() {
        let cut = &PAGE_1[..PAGE_1.len() / 2];
        let err = parse_users_page(cut).unwrap_err();
        assert!(err.is_transient(), "{err}");
        let err = parse_users_page(b"<html>login</html>").unwrap_err();
        assert!(!err.is_transient(), "{err}");
    }

    #[test]
    fn nodes_parse_with_status_and_numeric_ids() {
        let body = br#"{"nodes":[{"id":"3","name":"SBC-LON-01","status":"ONLINE"},
            {"id":4,"status":"OFFLINE","x":true}]}"#;
        let nodes = parse_nodes(body).unwrap();
        assert_eq!(
            nodes,
            [
                Node {
                    id: "3".into(),
                    name: "SBC-LON-01".into(),
                    online: true
                },
                Node {
                    id: "4".into(),
                    name: String::new(),
                    online: false
                },
            ]
        );
    }

    #[test]
    fn paths_encode_the_cursor_and_clamp_the_limit() {
        assert_eq!(
            users_path("/ARM/v1", 100, None),
            "/ARM/v1/registeredUsers?limit=100"
        );
        assert_eq!(
            users_path("/ARM/v1", 5000, Some("a b&c")),
            "/ARM/v1/registeredUsers?limit=1000&after=a%20b%26c"
        );
        assert_eq!(nodes_path("/x"), "/x/topology/nodes");
        assert_eq!(login_path("/x"), "/x/login");
    }

    #[test]
    fn tokens_parse_and_error_bodies_give_a_description() {
        let t = parse_login(br#"{"token":"abc","expiresIn":"900"}"#).unwrap();
        assert_eq!(t.token.expose(), "abc");
        assert_eq!(t.expires_in_s, Some(900));
        let t =
            parse_oauth_token(br#"{"access_token":"xyz","token_type":"Bearer","expires_in":3599}"#)
                .unwrap();
        assert_eq!(t.expires_in_s, Some(3599));
        assert!(!format!("{t:?}").contains("xyz"));
        assert!(parse_login(br#"{"tok":"abc"}"#).is_err());
        assert_eq!(
            error_description(br#"{"status":404,"description":"no such path"}"#).as_deref(),
            Some("no such path")
        );
        assert_eq!(error_description(b"Not Found"), None);
    }

    #[test]
    fn oauth_form_encodes_secrets() {
        let form = oauth_form(
            "numinv",
            &Secret::new("a+b&c=d".into()),
            Some("api://x/.default"),
        );
        assert_eq!(
            String::from_utf8(form).unwrap(),
            "grant_type=client_credentials&client_id=numinv&client_secret=a%2Bb%26c%3Dd\
             &scope=api%3A%2F%2Fx%2F.default"
        );
    }

    /// Both paths on `body`: the same page where the direct path reads one, and a refusal
    /// by the tree path always a refusal by the direct one. Gives the caller's answer.
    fn both(body: &[u8]) -> Result<UsersPage, ContractError> {
        let tree = parse_users_page_tree(body);
        match (parse_users_page_direct(body), &tree) {
            (Some(d), Ok(t)) => assert_eq!(&d, t, "{}", String::from_utf8_lossy(body)),
            (Some(d), Err(e)) => panic!(
                "direct path reads {d:?} where the tree path says {e}: {}",
                String::from_utf8_lossy(body)
            ),
            (None, _) => {}
        }
        let answer = parse_users_page(body);
        assert_eq!(answer, tree);
        answer
    }

    fn page_of(users: &str) -> Vec<u8> {
        format!(r#"{{"registeredUsers":[{users}],"cursor":{{"after":"-1"}}}}"#).into_bytes()
    }

    #[test]
    fn direct_path_reads_scalars_as_the_tree_path_does() {
        let u = |fields: &str| {
            let status = if fields.contains("\"status\"") {
                ""
            } else {
                r#""status":"REGISTERED","#
            };
            page_of(&format!(r#"{{"nodeId":"1","aor":"x",{status}{fields}}}"#))
        };
        for fields in [
            r#""id":"""#,
            r#""id":0"#,
            r#""id":-7"#,
            r#""id":1.5e3"#,
            r#""id":-0"#,
            r#""id":-0.0"#,
            r#""id":18446744073709551616"#,
            r#""id":null"#,
            r#""id":"a\u00e9\n\"b""#,
            r#""nodeName":12,"userAgent":null"#,
            r#""status":5"#,
            r#""status":" registered ""#,
            r#""contacts":null"#,
            r#""contacts":[]"#,
            r#""contacts":[{}]"#,
            r#""contacts":[{"uri":7,"expires":" 7 ","active":" YES "}]"#,
            r#""contacts":[{"expires":"+5","active":0}]"#,
            r#""contacts":[{"expires":"","active":"no"}]"#,
            r#""contacts":[{"expires":null,"active":null,"x":[{"y":[1,2.5,"z",null,true]}]}]"#,
            r#""node\u004eame":"escaped key","extra":{"a":{"b":[]}}"#,
        ] {
            let p = both(&u(fields)).unwrap_or_else(|e| panic!("{fields}: {e}"));
            assert!(parse_users_page_direct(&u(fields)).is_some(), "{fields}");
            assert_eq!(p.users.len(), 1);
        }
        for fields in [
            r#""id":true"#,
            r#""id":[]"#,
            r#""nodeName":{}"#,
            r#""status":null"#,
            r#""status":false"#,
            r#""contacts":{}"#,
            r#""contacts":"none""#,
            r#""contacts":[[]]"#,
            r#""contacts":[null]"#,
            r#""contacts":[{"expires":-1}]"#,
            r#""contacts":[{"expires":1.5}]"#,
            r#""contacts":[{"expires":"1.5"}]"#,
            r#""contacts":[{"expires":true}]"#,
            r#""contacts":[{"active":2}]"#,
            r#""contacts":[{"active":"maybe"}]"#,
            r#""contacts":[{"active":[]}]"#,
            r#""contacts":[{"uri":false}]"#,
            r#""x":"\ud800""#,
            r#""x":1e999"#,
            r#""x":[1,]"#,
        ] {
            assert!(both(&u(fields)).is_err(), "{fields}");
        }
    }

    #[test]
    fn direct_path_gives_up_where_only_the_tree_path_reads() {
        // A repeated field: the tree keeps the last one.
        let body = page_of(r#"{"id":"a","id":"b","nodeId":"1","aor":"x","status":"REGISTERED"}"#);
        assert_eq!(parse_users_page_direct(&body), None);
        assert_eq!(both(&body).unwrap().users[0].key, "b");
        let body = br#"{"registeredUsers":[],"cursor":{"after":"x"},"cursor":{"after":"-1"}}"#;
        assert_eq!(parse_users_page_direct(body), None);
        assert_eq!(both(body).unwrap().next_after, None);
    }

    #[test]
    fn direct_path_refuses_what_the_tree_path_refuses() {
        let deep = |n: usize| {
            format!(
                r#"{{"registeredUsers":[],"cursor":{{"after":"-1"}},"x":{}{}}}"#,
                "[".repeat(n),
                "]".repeat(n)
            )
            .into_bytes()
        };
        assert!(both(&deep(100)).is_ok());
        assert!(both(&deep(200)).is_err(), "serde_json's recursion limit");
        // Both paths count nesting alike, at the top and inside a contact.
        let in_contact = |n: usize| {
            page_of(&format!(
                r#"{{"nodeId":"1","aor":"x","status":"REGISTERED","contacts":[{{"x":{}{}}}]}}"#,
                "[".repeat(n),
                "]".repeat(n)
            ))
        };
        for n in 115..135 {
            for body in [deep(n), in_contact(n)] {
                let tree = both(&body).is_ok();
                assert_eq!(parse_users_page_direct(&body).is_some(), tree, "depth {n}");
            }
        }
        assert!(both(&in_contact(115)).is_ok() && both(&in_contact(134)).is_err());
        let mut bad_utf8 = br#"{"registeredUsers":null,"cursor":{"after":"-1"},"x":""#.to_vec();
        bad_utf8.extend_from_slice(b"\xff\"}");
        assert!(both(&bad_utf8).is_err());
        for body in [
            &br#"[]"#[..],
            br#"null"#,
            br#"{"registeredUsers":[["1","x","REGISTERED"]],"cursor":{"after":"-1"}}"#,
            br#"{"registeredUsers":[],"cursor":["-1"]}"#,
            br#"{"registeredUsers":[],"cursor":null}"#,
            br#"{"registeredUsers":[],"cursor":{"after":null}}"#,
            br#"{"registeredUsers":[],"cursor":{"before":"-1"}}"#,
            br#"{"registeredUsers":[],"cursor":{"after":true}}"#,
            br#"{"registeredUsers":{},"cursor":{"after":"-1"}}"#,
            br#"{"cursor":{"after":"-1"}}"#,
            br#"{"registeredUsers":[],"cursor":{"after":"-1"}} x"#,
            br#"{"registeredUsers":[],"cursor":{"after":"-1"}"#,
        ] {
            assert!(both(body).is_err(), "{}", String::from_utf8_lossy(body));
        }
        let p = both(br#"{"registeredUsers":null,"cursor":{"after":42,"x":[{}]}} "#).unwrap();
        assert_eq!(p.next_after.as_deref(), Some("42"));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;
        use serde_json::json;

        const SPLICES: &[&str] = &[
            "\"",
            "{",
            "}",
            "[",
            "]",
            ",",
            ":",
            "null",
            "-1",
            "0",
            "1",
            "2.5",
            "1e999",
            "true",
            "\\u0000",
            "\\ud800",
            "\"id\":\"z\",",
            "\"nodeId\":4,",
            "\"status\":null,",
            "\"active\":\"0\",",
            "\"expires\":-1,",
            "\"contacts\":null,",
            "\"x\":[],",
            "\"cursor\":{\"after\":\"-1\"},",
            "\"registeredUsers\":null,",
            " ",
            "\u{ff}",
        ];

        proptest! {
            #[test]
            fn any_bytes_parse_or_fail_without_panicking(body in proptest::collection::vec(any::<u8>(), 0..512)) {
                let _ = parse_users_page(&body);
                let _ = parse_nodes(&body);
                let _ = parse_login(&body);
            }

            /// A page cut anywhere is never read as a page: the cut could drop users or the
            /// cursor, and a short list must not pass for the whole.
            #[test]
            fn a_page_cut_anywhere_is_an_error(cut in 0usize..PAGE_1.len()) {
                let whole = PAGE_1.trim_ascii_end();
                prop_assume!(cut < whole.len());
                prop_assert!(parse_users_page(&whole[..cut]).is_err());
            }

            /// Tokens spliced into a page: where the direct path reads it, the tree path
            /// reads the same page.
            #[test]
            fn both_paths_agree_on_spliced_pages(
                edits in proptest::collection::vec((0usize..PAGE_1.len(), 0usize..SPLICES.len()), 1..4),
                cut in proptest::option::of(0usize..PAGE_1.len()),
            ) {
                let mut body = PAGE_1.to_vec();
                for (at, t) in edits {
                    let at = at.min(body.len());
                    body.splice(at..at, SPLICES[t].bytes());
                }
                if let Some(cut) = cut {
                    body.truncate(cut);
                }
                let _ = both(&body);
            }

            #[test]
            fn numbers_and_booleans_as_strings_read_the_same(
                expires in 0u64..1_000_000,
                active: bool,
                as_strings: bool,
                id in "[a-z0-9-]{1,12}",
            ) {
                let (e, a) = if as_strings {
                    (json!(expires.to_string()), json!(if active { "1" } else { "0" }))
                } else {
                    (json!(expires), json!(active))
                };
                let body = json!({
                    "registeredUsers": [{"id": id, "nodeId": 7, "aor": "x", "status": "REGISTERED",
                        "contacts": [{"uri": "u", "expires": e, "active": a}]}],
                    "cursor": {"after": "-1"},
                });
                let p = parse_users_page(body.to_string().as_bytes()).unwrap();
                let u = &p.users[0];
                prop_assert_eq!(&u.key, &id);
                prop_assert_eq!(u.node_id.as_str(), "7");
                prop_assert_eq!(u.contacts[0].expires_s, Some(expires));
                prop_assert_eq!(u.contacts[0].active, active);
            }
        }
    }
}
