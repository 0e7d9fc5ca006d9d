//! JSON shapes of entries, events and transactions (DESIGN §2.1 field names).

use std::collections::BTreeMap;

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use crate::domain::connection::{Connection, Schedule};
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
