//! The change log's event: one changed row with its before and after values, chained by hash.

use chrono::{DateTime, Utc};
use ring::digest;
use serde::{Deserialize, Serialize};

use super::codec::FORMAT_VERSION;
use super::tables::Entity;
use super::StoreError;

pub const HASH_LEN: usize = 32;
pub type Hash = [u8; HASH_LEN];

/// One event as stored: borrowed on decode, so verifying a million events copies nothing.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventRecord<'a> {
    pub seq: u64,
    pub at_ms: i64,
    pub tx_id: u64,
    pub actor: &'a str,
    pub entity: Entity,
    #[serde(borrow)]
    pub key: &'a [u8],
    #[serde(borrow)]
    pub before: Option<&'a [u8]>,
    #[serde(borrow)]
    pub after: Option<&'a [u8]>,
    pub prev_hash: Hash,
}

/// `[FORMAT_VERSION] ++ postcard(record) ++ sha256(everything before it)`.
pub fn seal(record: &EventRecord<'_>) -> Result<(Vec<u8>, Hash), StoreError> {
    let mut out = postcard::to_extend(record, vec![FORMAT_VERSION])
        .map_err(|e| StoreError::Encode(e.to_string()))?;
    let hash = sha256(&out);
    out.extend_from_slice(&hash);
    Ok((out, hash))
}

pub fn sha256(bytes: &[u8]) -> Hash {
    let d = digest::digest(&digest::SHA256, bytes);
    let mut h = [0u8; HASH_LEN];
    h.copy_from_slice(d.as_ref());
    h
}

/// Why a stored event does not check out.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum EventFault {
    Short,
    HashMismatch,
    Version(u8),
    Decode(String),
}

impl std::fmt::Display for EventFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            EventFault::Short => f.write_str("value too short"),
            EventFault::HashMismatch => f.write_str("its hash does not match its content"),
            EventFault::Version(v) => write!(f, "unknown format version {v}"),
            EventFault::Decode(e) => write!(f, "cannot decode: {e}"),
        }
    }
}

/// Checks an event's own hash and decodes it (borrowing from `bytes`).
pub fn open(bytes: &[u8]) -> Result<(EventRecord<'_>, Hash), EventFault> {
    if bytes.len() < 1 + HASH_LEN {
        return Err(EventFault::Short);
    }
    let (body, hash) = bytes.split_at(bytes.len() - HASH_LEN);
    if sha256(body).as_slice() != hash {
        return Err(EventFault::HashMismatch);
    }
    if body[0] != FORMAT_VERSION {
        return Err(EventFault::Version(body[0]));
    }
    let record = postcard::from_bytes(&body[1..]).map_err(|e| EventFault::Decode(e.to_string()))?;
    let mut h = [0u8; HASH_LEN];
    h.copy_from_slice(hash);
    Ok((record, h))
}

/// An event decoded into owned values, for display and the API.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Event {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub tx_id: u64,
    pub actor: String,
    pub entity: Entity,
    pub key: String,
    pub before: Option<Vec<u8>>,
    pub after: Option<Vec<u8>>,
}

impl Event {
    pub fn from_record(r: &EventRecord<'_>) -> Event {
        Event {
            seq: r.seq,
            at: DateTime::from_timestamp_millis(r.at_ms).unwrap_or_default(),
            tx_id: r.tx_id,
            actor: r.actor.to_string(),
            entity: r.entity,
            key: super::display_key(r.entity, r.key),
            before: r.before.map(<[u8]>::to_vec),
            after: r.after.map(<[u8]>::to_vec),
        }
    }
}
