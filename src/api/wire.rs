//! JSON shapes of entries, events and transactions (DESIGN §2.1 field names).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::audit::Finding;
use crate::domain::connection::{AuthMethod, Connection, Schedule};
use crate::domain::device::CachedUser;
use crate::domain::Entry;
use crate::ops::tokens::TokenRecord;
use crate::store::{decode, Entity, Event, TxRecord};

/// An entry as the API and `--format json` show it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryView {
    pub number: String,
    pub status: String,
    pub usage: String,
    pub vendor: String,
    pub tag: String,
    pub release_date: Option<NaiveDate>,
    pub description: String,
    pub reservation_notes: String,
    pub reserved_for: String,
    pub extra: BTreeMap<String, String>,
    pub hierarchy: String,
    pub e164: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub version: u64,
}

impl From<&Entry> for EntryView {
    fn from(e: &Entry) -> Self {
        EntryView {
            number: e.number.clone(),
            status: e.status.to_string(),
            usage: e.usage.to_string(),
            vendor: e.vendor.to_string(),
            tag: e.tag.clone(),
            release_date: e.release_date,
            description: e.description.clone(),
            reservation_notes: e.reservation_notes.clone(),
            reserved_for: e.reserved_for.clone(),
            extra: e.extra.clone(),
            hierarchy: e.hierarchy.clone(),
            e164: e.e164.clone(),
            created_at: e.created_at,
            updated_at: e.updated_at,
            version: e.version,
        }
    }
}

/// An event with its before/after decoded where the entity is known.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub tx_id: u64,
    pub actor: String,
    pub entity: String,
    pub key: String,
    /// The row before the change (absent when created), decoded where the entity is known.
    #[schema(value_type = Option<Object>)]
    pub before: Option<serde_json::Value>,
    /// The row after the change (absent when deleted).
    #[schema(value_type = Option<Object>)]
    pub after: Option<serde_json::Value>,
}

impl From<&Event> for EventView {
    fn from(ev: &Event) -> Self {
        let show =
            |bytes: &Option<Vec<u8>>| bytes.as_deref().map(|b| value_json(ev.entity, &ev.key, b));
        EventView {
            seq: ev.seq,
            at: ev.at,
            tx_id: ev.tx_id,
            actor: ev.actor.clone(),
            entity: ev.entity.as_str().to_string(),
            key: ev.key.clone(),
            before: show(&ev.before),
            after: show(&ev.after),
        }
    }
}

/// Decodes a logged value into JSON; secrets never reach here (connections store their
/// password encrypted and the view omits it).
pub fn value_json(entity: Entity, key: &str, bytes: &[u8]) -> serde_json::Value {
    let table = entity.table_name();
    let k = key.as_bytes();
    let r = match entity {
        Entity::Entry => {
            decode::<Entry>(table, k, bytes).map(|e| serde_json::to_value(EntryView::from(&e)))
        }
        Entity::Transaction => {
            decode::<TxRecord>(table, k, bytes).map(|t| serde_json::to_value(TxView::from(&t)))
        }
        Entity::Macro | Entity::Setting => {
            decode::<String>(table, k, bytes).map(|s| Ok(serde_json::Value::String(s)))
        }
        // The hash stays out: a token's row shows only its name, role and dates.
        Entity::Token => decode::<TokenRecord>(table, k, bytes)
            .map(|t| serde_json::to_value(TokenView::from(&t))),
        Entity::RegisteredUser => decode::<CachedUser>(table, k, bytes).map(serde_json::to_value),
        // Connection records hold no secret (passwords live encrypted outside the log).
        Entity::Connection => decode::<Connection>(table, k, bytes).map(serde_json::to_value),
        Entity::Schedule => decode::<Schedule>(table, k, bytes).map(serde_json::to_value),
    };
    match r {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => serde_json::json!({"error": e.to_string()}),
        Err(e) => serde_json::json!({"error": e.to_string()}),
    }
}

/// A transaction record.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TxView {
    pub id: u64,
    pub kind: String,
    pub actor: String,
    pub status: String,
    pub started_at: DateTime<Utc>,
    pub finished_at: DateTime<Utc>,
    pub counts: BTreeMap<String, u64>,
    pub message: String,
    pub notes: Vec<String>,
    pub notes_dropped: u64,
    pub seq_first: u64,
    pub seq_last: u64,
}

impl From<&TxRecord> for TxView {
    fn from(t: &TxRecord) -> Self {
        TxView {
            id: t.id,
            kind: t.kind.clone(),
            actor: t.actor.clone(),
            status: t.status.as_str().to_string(),
            started_at: t.started_at,
            finished_at: t.finished_at,
            counts: t.counts.clone(),
            message: t.message.clone(),
            notes: t.notes.clone(),
            notes_dropped: t.notes_dropped,
            seq_first: t.seq_first,
            seq_last: t.seq_last,
        }
    }
}

/// A token as listed: never its secret, never its hash.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TokenView {
    pub name: String,
    pub role: String,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

impl From<&TokenRecord> for TokenView {
    fn from(t: &TokenRecord) -> Self {
        TokenView {
            name: t.name.clone(),
            role: t.role.as_str().to_string(),
            created_at: t.created_at,
            created_by: t.created_by.clone(),
        }
    }
}

/// Every error answer: one line saying what, which input, and what to do.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    pub error: String,
}

/// One page of `GET /api/numbers`; `next` is the `after` of the following page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EntryPage {
    pub items: Vec<EntryView>,
    pub next: Option<String>,
}

/// What a single-number workflow did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ChangeView {
    pub entry: EntryView,
    /// The transaction id, or `None` when nothing changed.
    pub transaction: Option<u64>,
}

/// What an add or import did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AddView {
    pub created: Vec<String>,
    pub skipped: Vec<String>,
    pub transaction: Option<u64>,
}

/// What an expiry sweep did.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ExpireView {
    pub released: u64,
    pub overdue: u64,
    pub transaction: Option<u64>,
}

/// A transaction with the events it wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TxDetailView {
    pub transaction: TxView,
    pub events: Vec<EventView>,
    /// Events left out because the transaction wrote more than one answer carries.
    pub events_omitted: u64,
}

/// One page of the change log; `next` is the `after` of the following page.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct EventPage {
    pub events: Vec<EventView>,
    pub next: u64,
}

/// A macro's or setting's value.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ValueView {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<String>,
    pub value: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub transaction: Option<u64>,
}

/// `POST /api/numbers`: numbers and/or an inclusive range.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AddRequest {
    #[serde(default)]
    pub numbers: Vec<String>,
    #[serde(default)]
    pub range: Option<String>,
    #[serde(default)]
    pub hierarchy: String,
    #[serde(default)]
    pub region: Option<String>,
}

/// `POST /api/numbers/{number}/reserve`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ReserveRequest {
    #[serde(default)]
    pub notes: String,
    #[serde(default)]
    pub days: Option<u32>,
    #[serde(default)]
    pub reserved_for: Option<String>,
}

/// `POST /api/numbers/{number}/cool`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CoolRequest {
    #[serde(default)]
    pub days: Option<u32>,
}

/// `POST /api/numbers/allocate`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct AllocateRequest {
    #[serde(default)]
    pub hierarchy: Option<String>,
    #[serde(default)]
    pub reserved_for: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
}

/// `PUT /api/macros/{name}` and `PUT /api/settings/{name}`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SetRequest {
    pub value: String,
    #[serde(default)]
    pub hierarchy: String,
}

/// A connection as shown: never a secret (the password is not even in the stored record).
/// Fields in alphabetical order, as the CLI has always printed them.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConnectionView {
    pub auth_method: String,
    pub base_path: String,
    /// Whether a CA (or device certificate) PEM is stored.
    pub ca_file: bool,
    pub hierarchy: String,
    pub name: String,
    pub page_size: u32,
    pub pin_sha256: Option<String>,
    pub purge_job: String,
    pub region: Option<String>,
    pub schedule: String,
    pub scope: Option<String>,
    pub sync_job: String,
    pub sync_on_save: bool,
    pub timeout_ms: u64,
    pub token_url: Option<String>,
    pub url: String,
    pub username: String,
}

impl From<&Connection> for ConnectionView {
    fn from(c: &Connection) -> Self {
        ConnectionView {
            auth_method: c.auth_method.as_str().into(),
            base_path: c.base_path.clone(),
            ca_file: c.ca_pem.is_some(),
            hierarchy: c.hierarchy.clone(),
            name: c.name.clone(),
            page_size: c.page_size,
            pin_sha256: c.pin_sha256.clone(),
            purge_job: c.purge_job(),
            region: c.region.clone(),
            schedule: c.schedule_name(),
            scope: c.scope.clone(),
            sync_job: c.sync_job(),
            sync_on_save: c.sync_on_save,
            timeout_ms: c.timeout_ms,
            token_url: c.token_url.clone(),
            url: c.url.clone(),
            username: c.username.clone(),
        }
    }
}

/// `POST /api/connections` (with `name`) and `PUT /api/connections/{name}`: the fields to
/// set; absent fields keep their value (or the default, when adding). `password` is
/// write-only: it is stored encrypted and never echoed, logged or shown by `Debug`.
#[derive(Clone, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ConnectionRequest {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_path: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    /// `basic`, `session` or `oauth`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_method: Option<String>,
    /// Write-only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(write_only)]
    pub password: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub token_url: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
    /// PEM text of a CA (or the device's own certificate) to trust.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_pem: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pin_sha256: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hierarchy: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_on_save: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_size: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_ms: Option<u64>,
}

impl std::fmt::Debug for ConnectionRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRequest")
            .field("name", &self.name)
            .field("url", &self.url)
            .field("password", &self.password.as_ref().map(|_| "<redacted>"))
            .finish_non_exhaustive()
    }
}

impl ConnectionRequest {
    /// A new connection's defaults.
    pub fn new_connection(name: &str) -> Connection {
        Connection {
            name: name.to_string(),
            url: String::new(),
            base_path: "/ARM/v1".into(),
            username: String::new(),
            auth_method: AuthMethod::Basic,
            token_url: None,
            scope: None,
            ca_pem: None,
            pin_sha256: None,
            hierarchy: String::new(),
            region: None,
            sync_on_save: false,
            page_size: 1000,
            timeout_ms: 10_000,
        }
    }

    /// Applies the given fields to `c`; the CLI and the API share this.
    pub fn apply(&self, mut c: Connection) -> Result<Connection, String> {
        if let Some(v) = &self.url {
            c.url = v.clone();
        }
        if let Some(v) = &self.base_path {
            c.base_path = v.clone();
        }
        if let Some(v) = &self.username {
            c.username = v.clone();
        }
        if let Some(v) = &self.auth_method {
            c.auth_method = match v.to_ascii_lowercase().as_str() {
                "basic" => AuthMethod::Basic,
                "session" => AuthMethod::Session,
                "oauth" => AuthMethod::Oauth,
                other => {
                    return Err(format!(
                        "auth_method {other:?} is not known; use basic, session or oauth"
                    ))
                }
            };
        }
        if self.token_url.is_some() {
            c.token_url = self.token_url.clone();
        }
        if self.scope.is_some() {
            c.scope = self.scope.clone();
        }
        if self.ca_pem.is_some() {
            c.ca_pem = self.ca_pem.clone();
        }
        if let Some(p) = &self.pin_sha256 {
            c.pin_sha256 = Some(p.to_ascii_lowercase().replace(':', ""));
        }
        if let Some(v) = &self.hierarchy {
            c.hierarchy = v.clone(); // cleaned with every other field by ops::connections
        }
        if self.region.is_some() {
            c.region = self.region.clone().map(|r| r.to_ascii_uppercase());
        }
        if let Some(v) = self.sync_on_save {
            c.sync_on_save = v;
        }
        if let Some(v) = self.page_size {
            c.page_size = v;
        }
        if let Some(v) = self.timeout_ms {
            c.timeout_ms = v;
        }
        Ok(c)
    }
}

/// What saving a connection did, and the sync-on-save run when the connection asks for one.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ConnectionSaved {
    pub connection: ConnectionView,
    pub transaction: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync: Option<TxView>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sync_error: Option<String>,
}

/// An answer that only says which transaction the change wrote (`None`: nothing changed).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TxIdView {
    pub transaction: Option<u64>,
}

/// `POST /api/connections/{name}/sync` and `/purge`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Pass the delete guard.
    #[serde(default)]
    pub force: bool,
}

/// `POST /api/connections/{name}/test`: the device's answer, as text.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct TestView {
    pub report: String,
}

/// One audit finding.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct FindingView {
    pub kind: String,
    pub number: String,
    pub detail: String,
    pub fixable: bool,
}

impl From<&Finding> for FindingView {
    fn from(f: &Finding) -> Self {
        FindingView {
            kind: f.kind.as_str().into(),
            number: f.number.clone(),
            detail: f.detail.clone(),
            fixable: f.kind.fixable(),
        }
    }
}

/// `GET /api/audit` and `POST /api/audit/fix`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct AuditView {
    pub findings: Vec<FindingView>,
    pub fixed: bool,
    pub transaction: Option<u64>,
}

/// A sync schedule.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct ScheduleView {
    pub name: String,
    pub connection: String,
    pub every_s: u64,
    pub active: bool,
}

impl From<&Schedule> for ScheduleView {
    fn from(s: &Schedule) -> Self {
        ScheduleView {
            name: s.name.clone(),
            connection: s.connection.clone(),
            every_s: s.every_s,
            active: s.active,
        }
    }
}

/// `PUT /api/schedules/{name}`: `every` as `90s`, `15m`, `2h`, `1d`.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleRequest {
    #[serde(default)]
    pub every: Option<String>,
    #[serde(default)]
    pub active: Option<bool>,
}

/// `POST /api/backup`: an absolute directory on the server's machine, empty or missing.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BackupRequest {
    pub dir: String,
}

/// What a backup wrote.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize, ToSchema)]
pub struct BackupView {
    pub rows: u64,
    pub dir: String,
}

/// Back from the wire: a remote command renders the entries an API answer carries with the
/// same code as a local one.
impl TryFrom<&EntryView> for Entry {
    type Error = String;

    fn try_from(v: &EntryView) -> Result<Entry, String> {
        Ok(Entry {
            number: v.number.clone(),
            hierarchy: v.hierarchy.clone(),
            status: crate::domain::Status::parse(&v.status).ok_or_else(|| {
                format!(
                    "the server sent status {:?} for {}, which this numinv does not know; use the same version on both sides",
                    v.status, v.number
                )
            })?,
            usage: crate::domain::Usage::parse(&v.usage),
            vendor: crate::domain::Vendor::parse(&v.vendor),
            tag: v.tag.clone(),
            release_date: v.release_date,
            description: v.description.clone(),
            reservation_notes: v.reservation_notes.clone(),
            reserved_for: v.reserved_for.clone(),
            e164: v.e164.clone(),
            extra: v.extra.clone(),
            created_at: v.created_at,
            updated_at: v.updated_at,
            version: v.version,
        })
    }
}

/// Back from the wire, as for entries.
impl TryFrom<&TxView> for TxRecord {
    type Error = String;

    fn try_from(v: &TxView) -> Result<TxRecord, String> {
        use crate::store::TxStatus;
        let status = [
            TxStatus::Success,
            TxStatus::SuccessWithWarnings,
            TxStatus::Fail,
        ]
        .into_iter()
        .find(|s| s.as_str() == v.status)
        .ok_or_else(|| {
            format!(
                "the server sent transaction status {:?}, which this numinv does not know; use the same version on both sides",
                v.status
            )
        })?;
        Ok(TxRecord {
            id: v.id,
            kind: v.kind.clone(),
            actor: v.actor.clone(),
            status,
            started_at: v.started_at,
            finished_at: v.finished_at,
            counts: v.counts.clone(),
            message: v.message.clone(),
            notes: v.notes.clone(),
            notes_dropped: v.notes_dropped,
            seq_first: v.seq_first,
            seq_last: v.seq_last,
        })
    }
}
