//! The store: one redb file holding the inventory tables and the append-only change log.
//!
//! Architecture invariant: only `store` touches redb. Every change goes through
//! [`Store::write`], which commits the table updates and their events together, so the log
//! alone can rebuild the tables ([`Store::verify`] proves it).

mod codec;
mod event;
mod log;
mod read;
mod tables;
mod write;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use chrono::{DateTime, NaiveDate, Utc};
use redb::{
    Database, DatabaseError, Durability, ReadTransaction, ReadableDatabase, ReadableTable,
    ReadableTableMetadata,
};
use serde::{Deserialize, Serialize};

pub use codec::{decode, encode, encodes_to, FORMAT_VERSION};
pub use event::{Event, EventFault, EventRecord, Hash};
pub use log::{LogSource, ReplayStop, StateRow, VerifyReport};
pub use read::macro_key;
pub use tables::Entity;
pub use write::Writer;

use crate::domain::entry::time_ms;
use crate::domain::{Entry, Status};
use tables::*;

/// The database file inside the data directory.
pub const DB_FILE: &str = "numinv.redb";
/// Written beside the database by the process holding it, so others can name it.
pub const HOLDER_FILE: &str = "numinv.holder";

/// Everything that can go wrong in the store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    #[error("cannot open data dir {dir}: another numinv process holds it{holder}; stop it, or run this command through the server with --server {server} and an API token in NUMINV_TOKEN")]
    Locked {
        dir: PathBuf,
        holder: String,
        /// The server's URL when the holder is `numinv serve` and named it, else `URL`.
        server: String,
    },
    #[error("cannot open data dir {dir}: {cause}")]
    Open { dir: PathBuf, cause: String },
    #[error("corrupt value in table {table}, key {key:?}: {reason}")]
    Corrupt {
        table: &'static str,
        key: String,
        reason: String,
    },
    #[error("cannot encode value: {0}")]
    Encode(String),
    #[error("database error: {0}")]
    Db(#[from] redb::Error),
    #[error("log broken at sequence {seq}: {reason}")]
    Log { seq: u64, reason: String },
    #[error("{0}")]
    Io(#[from] std::io::Error),
}

macro_rules! from_redb {
    ($($t:ty),*) => {$(
        impl From<$t> for StoreError {
            fn from(e: $t) -> Self {
                StoreError::Db(e.into())
            }
        }
    )*};
}
from_redb!(
    redb::TransactionError,
    redb::TableError,
    redb::StorageError,
    redb::CommitError,
    redb::SetDurabilityError
);

/// How a run ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxStatus {
    Success,
    SuccessWithWarnings,
    Fail,
}

impl TxStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TxStatus::Success => "Success",
            TxStatus::SuccessWithWarnings => "Success with warnings",
            TxStatus::Fail => "Fail",
        }
    }
}

/// At most this many notes are kept on one transaction record; the rest are counted.
pub const TX_NOTES_MAX: usize = 1000;

/// The record of one run that changed something (or failed): what, who, when, counts.
/// Its events are the contiguous sequence range `seq_first..=seq_last`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxRecord {
    pub id: u64,
    pub kind: String,
    pub actor: String,
    pub status: TxStatus,
    #[serde(with = "time_ms")]
    pub started_at: DateTime<Utc>,
    #[serde(with = "time_ms")]
    pub finished_at: DateTime<Utc>,
    pub counts: BTreeMap<String, u64>,
    pub message: String,
    pub notes: Vec<String>,
    pub notes_dropped: u64,
    pub seq_first: u64,
    pub seq_last: u64,
}

impl TxRecord {
    fn new(id: u64, kind: &str, actor: &str, now: DateTime<Utc>) -> Self {
        TxRecord {
            id,
            kind: kind.to_string(),
            actor: actor.to_string(),
            status: TxStatus::Success,
            started_at: now,
            finished_at: now,
            counts: BTreeMap::new(),
            message: String::new(),
            notes: Vec::new(),
            notes_dropped: 0,
            seq_first: 0,
            seq_last: 0,
        }
    }

    /// Adds `n` to a named count.
    pub fn count(&mut self, name: &str, n: u64) {
        if n > 0 {
            *self.counts.entry(name.to_string()).or_default() += n;
        }
    }

    /// Adds a note, bounded by [`TX_NOTES_MAX`].
    pub fn note(&mut self, note: impl Into<String>) {
        if self.notes.len() < TX_NOTES_MAX {
            self.notes.push(note.into());
        } else {
            self.notes_dropped += 1;
        }
    }

    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }
}

/// What a write produced: the closure's value and, when anything changed, its record.
#[derive(Debug)]
pub struct Written<T> {
    pub value: T,
    pub tx: Option<TxRecord>,
}

/// Who made a change, as recorded on every event: `cli`, `sync:<conn>`, `audit`, `expiry`,
/// `api:<token-name>`.
pub type Actor<'a> = &'a str;

/// The numinv database.
pub struct Store {
    db: Database,
    dir: Option<PathBuf>,
}

/// The URL a holder file names (`numinv serve pid 42 at http://127.0.0.1:8080`).
fn held_by_server(dir: &Path) -> bool {
    std::fs::read_to_string(dir.join(HOLDER_FILE)).is_ok_and(|t| holder_url(&t).is_some())
}

fn holder_url(text: &str) -> Option<&str> {
    text.split_whitespace()
        .find(|w| w.starts_with("http://") || w.starts_with("https://"))
}

/// redb's page cache. Its default (1 GiB) made a million-user sync's peak memory 2 GiB; at
/// a million users 64 MiB syncs as fast as 128 or 256 MiB (BENCHMARKS.md) in less memory:
/// the OS page cache still holds the file.
const CACHE_MIB_DEFAULT: usize = 64;

/// The page cache in bytes: `NUMINV_REDB_CACHE_MIB` (16..=65536) when set to a whole
/// number, else the default; a bad value falls back to the default with a warning.
fn cache_bytes() -> usize {
    let mib = match std::env::var(CACHE_ENV) {
        Ok(v) => match v.trim().parse::<usize>() {
            Ok(m) if (16..=65536).contains(&m) => m,
            _ => {
                tracing::warn!(
                    "{CACHE_ENV}={v:?} is not a whole number of MiB from 16 to 65536; using {CACHE_MIB_DEFAULT}"
                );
                CACHE_MIB_DEFAULT
            }
        },
        Err(_) => CACHE_MIB_DEFAULT,
    };
    mib << 20
}

/// The environment variable that sizes redb's page cache.
pub const CACHE_ENV: &str = "NUMINV_REDB_CACHE_MIB";

impl Drop for Store {
    /// The holder file names this process only while it holds the data dir.
    fn drop(&mut self) {
        if let Some(dir) = &self.dir {
            let _ = std::fs::remove_file(dir.join(HOLDER_FILE));
        }
    }
}

impl Store {
    /// Names the server that holds this data dir in its holder file
    /// (`numinv serve pid 42 at http://127.0.0.1:8080`), so a command refused by the lock
    /// can point to it. The file goes with the store.
    pub fn announce_server(&self, what: &str, url: &str) {
        if let Some(dir) = &self.dir {
            let text = format!("{what} pid {} at {url}", std::process::id());
            let _ = std::fs::write(dir.join(HOLDER_FILE), text);
        }
    }

    /// True when `dir` holds a database.
    pub fn exists(dir: &Path) -> bool {
        dir.join(DB_FILE).is_file()
    }

    /// Opens (creating when missing) the store in `dir`, waiting up to `lock_wait` for a
    /// short-lived command holding it; a long-lived holder gets the one-line lock error.
    pub fn open(dir: &Path, lock_wait: Duration) -> Result<Store, StoreError> {
        std::fs::create_dir_all(dir).map_err(|e| StoreError::Open {
            dir: dir.to_path_buf(),
            cause: format!("cannot create it: {e}"),
        })?;
        let path = dir.join(DB_FILE);
        let deadline = Instant::now() + lock_wait;
        let mut pause = Duration::from_millis(2);
        let db = loop {
            match Database::builder()
                .set_cache_size(cache_bytes())
                .create(&path)
            {
                Ok(db) => break db,
                // Waiting helps only against a short-lived command: a server keeps it.
                Err(DatabaseError::DatabaseAlreadyOpen)
                    if Instant::now() < deadline && !held_by_server(dir) =>
                {
                    std::thread::sleep(pause);
                    pause = (pause * 2).min(Duration::from_millis(50));
                }
                Err(DatabaseError::DatabaseAlreadyOpen) => {
                    let text = std::fs::read_to_string(dir.join(HOLDER_FILE)).unwrap_or_default();
                    let holder = Some(text.trim())
                        .filter(|h| !h.is_empty())
                        .map(|h| format!(" ({h})"))
                        .unwrap_or_default();
                    return Err(StoreError::Locked {
                        dir: dir.to_path_buf(),
                        holder,
                        server: holder_url(&text).unwrap_or("URL").to_string(),
                    });
                }
                Err(e) => {
                    return Err(StoreError::Open {
                        dir: dir.to_path_buf(),
                        cause: e.to_string(),
                    })
                }
            }
        };
        let _ = std::fs::write(dir.join(HOLDER_FILE), format!("pid {}", std::process::id()));
        let store = Store {
            db,
            dir: Some(dir.to_path_buf()),
        };
        store.init()?;
        Ok(store)
    }

    /// A store in memory, for tests and for checking replays.
    pub fn in_memory() -> Result<Store, StoreError> {
        let db = Database::builder()
            .create_with_backend(redb::backends::InMemoryBackend::new())
            .map_err(|e| StoreError::Open {
                dir: PathBuf::from(":memory:"),
                cause: e.to_string(),
            })?;
        let store = Store { db, dir: None };
        store.init()?;
        Ok(store)
    }

    /// The data directory, when on disk.
    pub fn dir(&self) -> Option<&Path> {
        self.dir.as_deref()
    }

    /// Creates every table, so readers never meet a missing one.
    fn init(&self) -> Result<(), StoreError> {
        let wtx = self.db.begin_write()?;
        drop(write::Tables::open(&wtx)?);
        wtx.open_table(FAILED_RUNS)?;
        wtx.open_table(SECRETS)?;
        wtx.commit()?;
        Ok(())
    }

    /// Runs `f` as one change: everything it writes, its events and its transaction record
    /// commit together or not at all. If `f` fails, or writes nothing, nothing is committed
    /// (and the log sequence does not move).
    pub fn write<T, E>(
        &self,
        kind: &str,
        actor: Actor<'_>,
        now: DateTime<Utc>,
        f: impl FnOnce(&mut Writer<'_>) -> Result<T, E>,
    ) -> Result<Written<T>, E>
    where
        E: From<StoreError>,
    {
        let mut wtx = self.db.begin_write().map_err(StoreError::from)?;
        wtx.set_durability(Durability::Immediate)
            .map_err(StoreError::from)?;
        let (value, record) = {
            let tables = write::Tables::open(&wtx)?;
            let (head_seq, head_hash) = log::head(&tables.meta)?;
            let tx_id = log::next_tx(&tables.meta)?;
            let mut w = Writer::new(
                tables,
                head_seq,
                head_hash,
                TxRecord::new(tx_id, kind, actor, now),
                now,
            );
            let value = f(&mut w)?;
            if w.events_written() == 0 && !w.keep() {
                (value, None)
            } else {
                (value, Some(w.finish()?))
            }
        };
        match record {
            Some(rec) => {
                wtx.commit().map_err(StoreError::from)?;
                Ok(Written {
                    value,
                    tx: Some(rec),
                })
            }
            None => {
                wtx.abort().map_err(StoreError::from)?;
                Ok(Written { value, tx: None })
            }
        }
    }

    /// Records a run that failed and changed nothing. It takes a transaction id but writes
    /// no event: the log and the tables stay exactly as they were.
    pub fn record_failure(
        &self,
        kind: &str,
        actor: Actor<'_>,
        started_at: DateTime<Utc>,
        now: DateTime<Utc>,
        message: &str,
        counts: BTreeMap<String, u64>,
    ) -> Result<TxRecord, StoreError> {
        let wtx = self.db.begin_write()?;
        let rec = {
            let mut meta = wtx.open_table(META)?;
            let id = log::next_tx(&meta)?;
            let mut rec = TxRecord::new(id, kind, actor, started_at);
            rec.status = TxStatus::Fail;
            rec.finished_at = now;
            rec.message = message.to_string();
            rec.counts = counts;
            let mut failed = wtx.open_table(FAILED_RUNS)?;
            failed.insert(id, encode(&rec)?.as_slice())?;
            meta.insert(META_NEXT_TX, (id + 1).to_be_bytes().as_slice())?;
            rec
        };
        wtx.commit()?;
        Ok(rec)
    }

    /// A consistent read view.
    pub fn read(&self) -> Result<Reader, StoreError> {
        Ok(Reader {
            rtx: self.db.begin_read()?,
        })
    }

    /// The sequence and hash of the last event (0 and zeros for an empty log).
    pub fn head(&self) -> Result<(u64, Hash), StoreError> {
        let rtx = self.db.begin_read()?;
        log::head(&rtx.open_table(META)?)
    }
}

impl Store {
    /// Stores a connection secret (already encrypted by the caller). Not logged.
    pub fn put_secret(&self, name: &str, sealed: Option<&[u8]>) -> Result<(), StoreError> {
        let wtx = self.db.begin_write()?;
        {
            let mut t = wtx.open_table(SECRETS)?;
            match sealed {
                Some(v) => t.insert(name, v)?,
                None => t.remove(name)?,
            };
        }
        wtx.commit()?;
        Ok(())
    }

    /// A stored (encrypted) secret.
    pub fn secret(&self, name: &str) -> Result<Option<Vec<u8>>, StoreError> {
        let rtx = self.db.begin_read()?;
        let t = rtx.open_table(SECRETS)?;
        let v = t.get(name)?;
        Ok(v.map(|v| v.value().to_vec()))
    }
}

/// Display form of a logged key.
pub fn display_key(entity: Entity, key: &[u8]) -> String {
    match entity {
        Entity::Transaction if key.len() == 8 => {
            u64::from_be_bytes(key.try_into().unwrap_or_default()).to_string()
        }
        _ => String::from_utf8_lossy(key).replace('\0', "/"),
    }
}

/// A read snapshot.
pub struct Reader {
    rtx: ReadTransaction,
}

/// Filters of `numbers list`.
#[derive(Clone, Debug, Default)]
pub struct EntryFilter {
    pub status: Option<Status>,
    pub vendor: Option<String>,
    pub hierarchy: Option<String>,
    pub search: Option<String>,
    /// Only keys strictly after this one (cursor paging).
    pub after: Option<String>,
    pub limit: Option<usize>,
}

impl EntryFilter {
    fn matches(&self, e: &Entry) -> bool {
        self.status.is_none_or(|s| e.status == s)
            && self
                .vendor
                .as_deref()
                .is_none_or(|v| e.vendor.as_str().eq_ignore_ascii_case(v))
            && self
                .hierarchy
                .as_deref()
                .is_none_or(|h| crate::domain::entry::hierarchy_within(&e.hierarchy, h))
            && self.search.as_deref().is_none_or(|q| {
                let q = q.to_lowercase();
                [
                    &e.number,
                    &e.description,
                    &e.tag,
                    &e.reserved_for,
                    &e.reservation_notes,
                    &e.hierarchy,
                ]
                .iter()
                .any(|f| f.to_lowercase().contains(&q))
            })
    }
}

impl Reader {
    /// An entry by key.
    pub fn entry(&self, key: &str) -> Result<Option<Entry>, StoreError> {
        self.get(Entity::Entry, key.as_bytes())
    }

    /// A logged row, decoded.
    pub fn get<T: serde::de::DeserializeOwned>(
        &self,
        entity: Entity,
        key: &[u8],
    ) -> Result<Option<T>, StoreError> {
        let t = self.rtx.open_table(entity.table())?;
        let v = t.get(key)?;
        v.map(|v| decode(entity.table_name(), key, v.value()))
            .transpose()
    }

    /// All rows of a logged table whose key starts with `prefix`, decoded, in key order.
    pub fn scan<T: serde::de::DeserializeOwned>(
        &self,
        entity: Entity,
        prefix: &[u8],
    ) -> Result<Vec<(Vec<u8>, T)>, StoreError> {
        let t = self.rtx.open_table(entity.table())?;
        let mut out = Vec::new();
        for row in t.range(prefix..)? {
            let (k, v) = row?;
            let k = k.value();
            if !k.starts_with(prefix) {
                break;
            }
            out.push((k.to_vec(), decode(entity.table_name(), k, v.value())?));
        }
        Ok(out)
    }

    /// Entries matching `filter`, in key order (the status index narrows by status).
    pub fn entries(&self, filter: &EntryFilter) -> Result<Vec<Entry>, StoreError> {
        let limit = filter.limit.unwrap_or(usize::MAX);
        let mut out = Vec::new();
        let table = self.rtx.open_table(Entity::Entry.table())?;
        let start: &[u8] = filter.after.as_deref().map(str::as_bytes).unwrap_or(b"");
        let mut push = |k: &[u8], v: &[u8]| -> Result<bool, StoreError> {
            if filter.after.is_some() && k <= start {
                return Ok(true);
            }
            let e: Entry = decode(Entity::Entry.table_name(), k, v)?;
            if filter.matches(&e) {
                out.push(e);
            }
            Ok(out.len() < limit)
        };
        if let Some(st) = filter.status {
            let idx = self.rtx.open_table(STATUS_IDX)?;
            for key in read::keys_with_status(&idx, st)? {
                if let Some(v) = table.get(key.as_bytes())? {
                    if !push(key.as_bytes(), v.value())? {
                        break;
                    }
                }
            }
        } else {
            for row in table.range(start..)? {
                let (k, v) = row?;
                if !push(k.value(), v.value())? {
                    break;
                }
            }
        }
        Ok(out)
    }

    /// Number of entries per status (from the index).
    pub fn status_counts(&self) -> Result<BTreeMap<Status, u64>, StoreError> {
        let idx = self.rtx.open_table(STATUS_IDX)?;
        let mut out = BTreeMap::new();
        for st in Status::ALL {
            let lo = [st.code()];
            let hi = [st.code() + 1];
            let n = idx.range(lo.as_slice()..hi.as_slice())?.count() as u64;
            out.insert(st, n);
        }
        Ok(out)
    }

    /// Keys of entries due for release on or before `day`.
    pub fn keys_due(&self, day: NaiveDate) -> Result<Vec<String>, StoreError> {
        read::keys_due(&self.rtx.open_table(RELEASE_IDX)?, day)
    }

    /// The events of one logged row, oldest first.
    pub fn history(&self, entity: Entity, key: &[u8]) -> Result<Vec<Event>, StoreError> {
        let idx = self.rtx.open_table(HISTORY_IDX)?;
        let events = self.rtx.open_table(EVENTS)?;
        let mut prefix = vec![entity as u8];
        prefix.extend_from_slice(key);
        prefix.push(0);
        let mut out = Vec::new();
        for row in idx.range(prefix.as_slice()..)? {
            let (k, _) = row?;
            let k = k.value();
            if !k.starts_with(&prefix) || k.len() != prefix.len() + 8 {
                break;
            }
            let seq = u64::from_be_bytes(k[prefix.len()..].try_into().unwrap_or_default());
            if let Some(v) = events.get(seq)? {
                out.push(log::decode_event(seq, v.value())?);
            }
        }
        Ok(out)
    }

    /// Events with sequence > `after`, at most `limit`.
    pub fn events(&self, after: u64, limit: usize) -> Result<Vec<Event>, StoreError> {
        let events = self.rtx.open_table(EVENTS)?;
        let mut out = Vec::new();
        for row in events.range(after.saturating_add(1)..)?.take(limit) {
            let (k, v) = row?;
            out.push(log::decode_event(k.value(), v.value())?);
        }
        Ok(out)
    }

    /// The nearest definition of a macro walking up from `hierarchy`.
    pub fn macro_value(&self, hierarchy: &str, name: &str) -> Result<Option<String>, StoreError> {
        read::macro_value(
            &self.rtx.open_table(Entity::Macro.table())?,
            hierarchy,
            name,
        )
    }

    /// A macro defined exactly at `hierarchy`.
    pub fn macro_at(&self, hierarchy: &str, name: &str) -> Result<Option<String>, StoreError> {
        self.get(Entity::Macro, &read::macro_key(hierarchy, name))
    }

    /// A setting's stored value.
    pub fn setting(&self, name: &str) -> Result<Option<String>, StoreError> {
        self.get(Entity::Setting, name.as_bytes())
    }

    /// A transaction record, successful or failed.
    pub fn transaction(&self, id: u64) -> Result<Option<TxRecord>, StoreError> {
        if let Some(t) = self.get(Entity::Transaction, &id.to_be_bytes())? {
            return Ok(Some(t));
        }
        let failed = self.rtx.open_table(FAILED_RUNS)?;
        let v = failed.get(id)?;
        v.map(|v| decode("failed_runs", &id.to_be_bytes(), v.value()))
            .transpose()
    }

    /// The newest transaction records first, successful and failed, at most `limit`.
    pub fn transactions(&self, limit: usize) -> Result<Vec<TxRecord>, StoreError> {
        let ok = self.rtx.open_table(Entity::Transaction.table())?;
        let failed = self.rtx.open_table(FAILED_RUNS)?;
        let mut out: Vec<TxRecord> = Vec::new();
        for row in ok.iter()?.rev().take(limit) {
            let (k, v) = row?;
            out.push(decode(
                Entity::Transaction.table_name(),
                k.value(),
                v.value(),
            )?);
        }
        for row in failed.iter()?.rev().take(limit) {
            let (k, v) = row?;
            out.push(decode("failed_runs", &k.value().to_be_bytes(), v.value())?);
        }
        out.sort_by_key(|t| std::cmp::Reverse(t.id));
        out.truncate(limit);
        Ok(out)
    }

    /// Every inventory key held right now by an online registered user, with the first
    /// connection (in name order) that holds it.
    pub fn held_keys(&self) -> Result<BTreeMap<String, String>, StoreError> {
        let idx = self.rtx.open_table(HOLDERS_IDX)?;
        let mut out = BTreeMap::new();
        for row in idx.iter()? {
            let (k, _) = row?;
            let mut parts = k.value().split(|b| *b == 0);
            let number = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            let conn = String::from_utf8_lossy(parts.next().unwrap_or_default()).into_owned();
            out.entry(number).or_insert(conn);
        }
        Ok(out)
    }

    /// Number of rows in a logged table.
    pub fn count(&self, entity: Entity) -> Result<u64, StoreError> {
        Ok(self.rtx.open_table(entity.table())?.len()?)
    }
}

#[cfg(test)]
mod tests;
