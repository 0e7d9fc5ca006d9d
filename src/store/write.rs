//! The write path: every change is one redb write transaction that updates the tables and
//! their indexes *and* appends the hash-chained events describing it.

use chrono::{DateTime, NaiveDate, Utc};
use redb::{ReadableTable, Table, WriteTransaction};

use super::codec::{decode, decode_borrowed, encode};
use super::event::{seal, EventRecord, Hash};
use super::tables::*;
use super::{StoreError, TxRecord};
use crate::domain::device::UserIndexed;
use crate::domain::entry::EntryIndexed;
use crate::domain::Entry;

/// The open tables of one write transaction. Shared by live writes and by replay, so the
/// two cannot disagree on how a change lands.
pub(crate) struct Tables<'t> {
    logged: Vec<Table<'t, Bytes, Bytes>>,
    pub(crate) events: Table<'t, u64, Bytes>,
    status_idx: Table<'t, Bytes, ()>,
    release_idx: Table<'t, Bytes, ()>,
    history_idx: Table<'t, Bytes, ()>,
    holders_idx: Table<'t, Bytes, ()>,
    pub(crate) meta: Table<'t, &'static str, Bytes>,
}

impl<'t> Tables<'t> {
    pub(crate) fn open(wtx: &'t WriteTransaction) -> Result<Self, StoreError> {
        let logged = Entity::ALL
            .iter()
            .map(|e| wtx.open_table(e.table()))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Tables {
            logged,
            events: wtx.open_table(EVENTS)?,
            status_idx: wtx.open_table(STATUS_IDX)?,
            release_idx: wtx.open_table(RELEASE_IDX)?,
            history_idx: wtx.open_table(HISTORY_IDX)?,
            holders_idx: wtx.open_table(HOLDERS_IDX)?,
            meta: wtx.open_table(META)?,
        })
    }

    pub(crate) fn get(&self, entity: Entity, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        Ok(self.logged[entity.index()]
            .get(key)?
            .map(|v| v.value().to_vec()))
    }

    pub(crate) fn logged(&self, entity: Entity) -> &Table<'t, Bytes, Bytes> {
        &self.logged[entity.index()]
    }

    /// Stores `after` (or removes the row) and returns what was there before.
    fn set(
        &mut self,
        entity: Entity,
        key: &[u8],
        after: Option<&[u8]>,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let table = &mut self.logged[entity.index()];
        let before = match after {
            Some(v) => table.insert(key, v)?,
            None => table.remove(key)?,
        };
        Ok(before.map(|g| g.value().to_vec()))
    }

    /// Applies one change and maintains the derived indexes for it.
    pub(crate) fn apply(
        &mut self,
        entity: Entity,
        key: &[u8],
        after: Option<&[u8]>,
        seq: u64,
    ) -> Result<Option<Vec<u8>>, StoreError> {
        let before = self.set(entity, key, after)?;
        if before.as_deref() == after {
            return Ok(before);
        }
        match entity {
            Entity::Entry => self.index_entry(key, before.as_deref(), after)?,
            Entity::RegisteredUser => self.index_holder(key, before.as_deref(), after)?,
            _ => {}
        }
        self.history_idx
            .insert(history_key(entity, key, seq).as_slice(), ())?;
        Ok(before)
    }

    fn index_entry(
        &mut self,
        key: &[u8],
        before: Option<&[u8]>,
        after: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let table = Entity::Entry.table_name();
        if let Some(b) = before {
            let e: EntryIndexed = decode_borrowed(table, key, b)?;
            self.status_idx
                .remove(status_key(e.status.code(), key).as_slice())?;
            if let Some(d) = e.release_date {
                self.release_idx.remove(release_key(d, key).as_slice())?;
            }
        }
        if let Some(a) = after {
            let e: EntryIndexed = decode_borrowed(table, key, a)?;
            self.status_idx
                .insert(status_key(e.status.code(), key).as_slice(), ())?;
            if let Some(d) = e.release_date {
                self.release_idx
                    .insert(release_key(d, key).as_slice(), ())?;
            }
        }
        Ok(())
    }

    fn index_holder(
        &mut self,
        key: &[u8],
        before: Option<&[u8]>,
        after: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let table = Entity::RegisteredUser.table_name();
        if let Some(b) = before {
            let u: UserIndexed = decode_borrowed(table, key, b)?;
            if let Some(n) = u.held_key() {
                self.holders_idx.remove(holder_key(n, key).as_slice())?;
            }
        }
        if let Some(a) = after {
            let u: UserIndexed = decode_borrowed(table, key, a)?;
            if let Some(n) = u.held_key() {
                self.holders_idx.insert(holder_key(n, key).as_slice(), ())?;
            }
        }
        Ok(())
    }

    /// True while at least one online registered user, on any connection, maps to `number_key`.
    pub(crate) fn is_held(&self, number_key: &str) -> Result<bool, StoreError> {
        let prefix = holder_prefix(number_key);
        let mut range = self.holders_idx.range(prefix.as_slice()..)?;
        Ok(match range.next() {
            Some(row) => row?.0.value().starts_with(&prefix),
            None => false,
        })
    }

    pub(crate) fn set_head(&mut self, seq: u64, hash: &Hash) -> Result<(), StoreError> {
        let mut v = seq.to_be_bytes().to_vec();
        v.extend_from_slice(hash);
        self.meta.insert(META_HEAD, v.as_slice())?;
        Ok(())
    }

    pub(crate) fn set_next_tx(&mut self, next: u64) -> Result<(), StoreError> {
        self.meta
            .insert(META_NEXT_TX, next.to_be_bytes().as_slice())?;
        Ok(())
    }
}

pub(crate) fn holder_prefix(number_key: &str) -> Vec<u8> {
    let mut k = number_key.as_bytes().to_vec();
    k.push(0);
    k
}

pub(crate) fn holder_key(number_key: &str, user_row_key: &[u8]) -> Vec<u8> {
    let mut k = holder_prefix(number_key);
    k.extend_from_slice(user_row_key);
    k
}

pub(crate) fn status_key(code: u8, key: &[u8]) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 1);
    k.push(code);
    k.extend_from_slice(key);
    k
}

/// Days since the epoch, sign bit flipped, so big-endian byte order is date order.
pub(crate) fn day_bytes(d: NaiveDate) -> [u8; 4] {
    let days = (d - NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32;
    ((days as u32) ^ 0x8000_0000).to_be_bytes()
}

pub(crate) fn release_key(d: NaiveDate, key: &[u8]) -> Vec<u8> {
    let mut k = day_bytes(d).to_vec();
    k.extend_from_slice(key);
    k
}

pub(crate) fn history_key(entity: Entity, key: &[u8], seq: u64) -> Vec<u8> {
    let mut k = Vec::with_capacity(key.len() + 10);
    k.push(entity as u8);
    k.extend_from_slice(key);
    k.push(0);
    k.extend_from_slice(&seq.to_be_bytes());
    k
}

/// A raw row: key and encoded value.
pub type RawRow = (Vec<u8>, Vec<u8>);

/// A change in progress: read and write the logged tables through it; each write becomes
/// an event. The closure passed to [`super::Store::write`] receives one.
pub struct Writer<'t> {
    pub(crate) tables: Tables<'t>,
    seq_next: u64,
    head: Hash,
    actor: String,
    now: DateTime<Utc>,
    /// The transaction record being built: set `status`, `counts`, `notes`, `message`.
    pub tx: TxRecord,
    seq_first: u64,
    keep: bool,
}

impl<'t> Writer<'t> {
    pub(crate) fn new(
        tables: Tables<'t>,
        head_seq: u64,
        head: Hash,
        tx: TxRecord,
        now: DateTime<Utc>,
    ) -> Self {
        Writer {
            tables,
            seq_next: head_seq + 1,
            head,
            actor: tx.actor.clone(),
            now,
            tx,
            seq_first: head_seq + 1,
            keep: false,
        }
    }

    /// The time this change is made at (the injected clock's reading).
    pub fn now(&self) -> DateTime<Utc> {
        self.now
    }

    /// Number of events written so far.
    pub fn events_written(&self) -> u64 {
        self.seq_next - self.seq_first
    }

    /// Reads a logged row as of this transaction.
    pub fn get_raw(&self, entity: Entity, key: &[u8]) -> Result<Option<Vec<u8>>, StoreError> {
        self.tables.get(entity, key)
    }

    /// Reads and decodes a logged row.
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        entity: Entity,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        self.tables
            .get(entity, key)?
            .map(|b| decode(entity.table_name(), key, &b))
            .transpose()
    }

    /// Writes a row (or removes it with `None`) and logs the change. Writing the value a row
    /// already has logs nothing.
    pub fn put_raw(
        &mut self,
        entity: Entity,
        key: &[u8],
        after: Option<&[u8]>,
    ) -> Result<(), StoreError> {
        let seq = self.seq_next;
        let before = self.tables.apply(entity, key, after, seq)?;
        if before.as_deref() == after {
            return Ok(()); // nothing changed, nothing to log
        }
        let record = EventRecord {
            seq,
            at_ms: self.now.timestamp_millis(),
            tx_id: self.tx.id,
            actor: &self.actor,
            entity,
            key,
            before: before.as_deref(),
            after,
            prev_hash: self.head,
        };
        let (bytes, hash) = seal(&record)?;
        self.tables.events.insert(seq, bytes.as_slice())?;
        self.head = hash;
        self.seq_next += 1;
        Ok(())
    }

    /// Encodes and writes a row.
    pub fn put<T: serde::Serialize>(
        &mut self,
        entity: Entity,
        key: &[u8],
        value: &T,
    ) -> Result<(), StoreError> {
        let bytes = encode(value)?;
        self.put_raw(entity, key, Some(&bytes))
    }

    /// Removes a row.
    pub fn delete(&mut self, entity: Entity, key: &[u8]) -> Result<(), StoreError> {
        self.put_raw(entity, key, None)
    }

    /// Reads an entry by its key.
    pub fn entry(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.get(Entity::Entry, key.as_bytes())
    }

    /// Writes an entry under its own key.
    pub fn put_entry(&mut self, e: &Entry) -> Result<(), StoreError> {
        self.put(Entity::Entry, e.key().as_bytes(), e)
    }

    /// Keys of the entries with this status, in key order (from the status index).
    pub fn keys_with_status(
        &self,
        status: crate::domain::Status,
    ) -> Result<Vec<String>, StoreError> {
        super::read::keys_with_status(&self.tables.status_idx, status)
    }

    /// The first entry with this status, in key order, that `accept` takes. Walks the status
    /// index and stops at the first match, so taking the next Available number does not
    /// read (or allocate) the whole pool.
    pub fn first_with_status(
        &self,
        status: crate::domain::Status,
        mut accept: impl FnMut(&Entry) -> bool,
    ) -> Result<Option<Entry>, StoreError> {
        let lo = [status.code()];
        let hi = [status.code() + 1];
        let entries = self.tables.logged(Entity::Entry);
        for row in self.tables.status_idx.range(lo.as_slice()..hi.as_slice())? {
            let (k, _) = row?;
            let key = &k.value()[1..];
            let Some(v) = entries.get(key)? else { continue };
            let e: Entry = decode(Entity::Entry.table_name(), key, v.value())?;
            if accept(&e) {
                return Ok(Some(e));
            }
        }
        Ok(None)
    }

    /// Keys of the entries whose release date is on or before `day`: no look-back cap.
    pub fn keys_due(&self, day: NaiveDate) -> Result<Vec<String>, StoreError> {
        super::read::keys_due(&self.tables.release_idx, day)
    }

    /// The nearest definition of a macro walking up from `hierarchy`.
    pub fn macro_value(&self, hierarchy: &str, name: &str) -> Result<Option<String>, StoreError> {
        super::read::macro_value(self.tables.logged(Entity::Macro), hierarchy, name)
    }

    /// A setting's stored value.
    pub fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.get(Entity::Setting, name.as_bytes())
    }

    /// True while at least one online registered user, on any connection, holds `number_key`.
    pub fn is_held(&self, number_key: &str) -> Result<bool, StoreError> {
        self.tables.is_held(number_key)
    }

    /// Rows of a logged table whose key starts with `prefix`, raw, in key order.
    pub fn scan_raw(&self, entity: Entity, prefix: &[u8]) -> Result<Vec<RawRow>, StoreError> {
        self.rows(entity, prefix)?.collect()
    }

    /// [`Self::scan_raw`] one row at a time, so a large scan never holds the table twice.
    pub fn rows<'a>(
        &'a self,
        entity: Entity,
        prefix: &'a [u8],
    ) -> Result<impl Iterator<Item = Result<RawRow, StoreError>> + 'a, StoreError> {
        Ok(self
            .tables
            .logged(entity)
            .range(prefix..)?
            .map(|row| {
                let (k, v) = row?;
                Ok((k.value().to_vec(), v.value().to_vec()))
            })
            .take_while(move |row| row.as_ref().map_or(true, |(k, _)| k.starts_with(prefix))))
    }

    /// Marks the change as worth a transaction record even if it writes nothing else
    /// (a sync that found no change still records its run).
    pub fn keep_record(&mut self) {
        self.keep = true;
    }

    pub(crate) fn keep(&self) -> bool {
        self.keep
    }

    /// Closes the change: writes the transaction record as its last event and the new head.
    pub(crate) fn finish(mut self) -> Result<TxRecord, StoreError> {
        self.tx.seq_first = self.seq_first;
        self.tx.seq_last = self.seq_next;
        self.tx.finished_at = self.now;
        let record = self.tx.clone();
        self.put(Entity::Transaction, &record.id.to_be_bytes(), &record)?;
        let head = self.head;
        self.tables.set_head(self.seq_next - 1, &head)?;
        self.tables.set_next_tx(record.id + 1)?;
        Ok(record)
    }
}
