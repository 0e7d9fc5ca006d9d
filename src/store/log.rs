//! The change log: head, verification, dump, replay and backup.

use std::collections::HashMap;
use std::hash::BuildHasher;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use redb::{Durability, ReadableDatabase, ReadableTable, ReadableTableMetadata, TableDefinition};

use super::event::{open, Event, Hash, HASH_LEN};
use super::tables::*;
use super::write::Tables;
use super::{Store, StoreError};

const DUMP_MAGIC: &[u8] = b"NUMINV-LOG\x01";
/// Events applied per write transaction during replay: bounds memory, keeps commits cheap.
const REPLAY_BATCH: usize = 20_000;
/// Largest event a dump may hold; anything longer is a corrupt file, not an event.
const EVENT_LEN_MAX: usize = 64 << 20;

pub(crate) fn head(
    meta: &impl ReadableTable<&'static str, Bytes>,
) -> Result<(u64, Hash), StoreError> {
    match meta.get(META_HEAD)? {
        Some(v) if v.value().len() == 8 + HASH_LEN => {
            let v = v.value();
            let seq = u64::from_be_bytes(v[..8].try_into().unwrap_or_default());
            let mut h = [0u8; HASH_LEN];
            h.copy_from_slice(&v[8..]);
            Ok((seq, h))
        }
        Some(_) => Err(StoreError::Corrupt {
            table: "meta",
            key: META_HEAD.into(),
            reason: "wrong length".into(),
        }),
        None => Ok((0, [0; HASH_LEN])),
    }
}

pub(crate) fn next_tx(meta: &impl ReadableTable<&'static str, Bytes>) -> Result<u64, StoreError> {
    Ok(match meta.get(META_NEXT_TX)? {
        Some(v) => u64::from_be_bytes(v.value().try_into().unwrap_or([0, 0, 0, 0, 0, 0, 0, 1])),
        None => 1,
    })
}

pub(crate) fn decode_event(seq: u64, bytes: &[u8]) -> Result<Event, StoreError> {
    let (rec, _) = open(bytes).map_err(|f| StoreError::Log {
        seq,
        reason: f.to_string(),
    })?;
    Ok(Event::from_record(&rec))
}

fn broken(seq: u64, reason: impl Into<String>) -> StoreError {
    StoreError::Log {
        seq,
        reason: reason.into(),
    }
}

/// What `log verify` checked.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifyReport {
    pub events: u64,
    pub rows: u64,
    pub head_seq: u64,
}

/// Where a replay stops.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReplayStop {
    End,
    /// After this sequence number.
    Seq(u64),
    /// After the last event at or before this time.
    Time(DateTime<Utc>),
}

/// Where a replay reads its events.
pub enum LogSource<'a> {
    Store(&'a Store),
    File(PathBuf),
}

/// Checks each event against the one before it: gap-free sequence, own hash, chain hash.
struct ChainCheck {
    expected_seq: u64,
    prev: Hash,
}

impl ChainCheck {
    fn new() -> Self {
        ChainCheck {
            expected_seq: 1,
            prev: [0; HASH_LEN],
        }
    }

    fn check<'b>(
        &mut self,
        seq: u64,
        bytes: &'b [u8],
    ) -> Result<super::EventRecord<'b>, StoreError> {
        if seq != self.expected_seq {
            return Err(broken(
                self.expected_seq,
                format!("missing; next stored event is {seq}"),
            ));
        }
        let (rec, hash) = open(bytes).map_err(|f| broken(seq, f.to_string()))?;
        if rec.seq != seq {
            return Err(broken(
                seq,
                format!("stored under {seq} but says {}", rec.seq),
            ));
        }
        if rec.prev_hash != self.prev {
            return Err(broken(seq, "does not chain to the event before it"));
        }
        self.prev = hash;
        self.expected_seq += 1;
        Ok(rec)
    }
}

/// A value's fingerprint for the fold: a fast 64-bit hash, not a tamper check (the events'
/// SHA-256 chain is that), only "is this row what the log last wrote?".
fn value_hash(v: &[u8]) -> u64 {
    foldhash::quality::FixedState::with_seed(0).hash_one(v)
}

/// A row key's fingerprint for the fold: 128 bits from two seeded hashes, so the fold keeps
/// no copy of any key (a million keys, a million allocations fewer) and two keys of a log
/// collide with odds far below those of a disk error.
fn key_fingerprint(entity: Entity, key: &[u8]) -> u128 {
    let hi = foldhash::quality::FixedState::with_seed(1).hash_one((entity as u8, key));
    let lo = foldhash::quality::FixedState::with_seed(2).hash_one((entity as u8, key));
    (u128::from(hi) << 64) | u128::from(lo)
}

/// The log folded to its last write per row: the row's key fingerprint → the last
/// after-value's fingerprint (`None` when the last event removed the row).
struct Fold {
    rows: HashMap<u128, Option<u64>, foldhash::fast::RandomState>,
}

impl Fold {
    /// `expected_rows`: the tables' row count, so the map is sized once instead of growing.
    fn with_capacity(expected_rows: usize) -> Self {
        Fold {
            rows: HashMap::with_capacity_and_hasher(expected_rows, Default::default()),
        }
    }

    fn set(&mut self, entity: Entity, key: &[u8], after: Option<&[u8]>) {
        self.rows
            .insert(key_fingerprint(entity, key), after.map(value_hash));
    }

    fn get(&self, entity: Entity, key: &[u8]) -> Option<Option<u64>> {
        self.rows.get(&key_fingerprint(entity, key)).copied()
    }

    fn live(&self) -> u64 {
        self.rows.values().filter(|v| v.is_some()).count() as u64
    }
}

impl Store {
    /// Proves the log: every event's hash and chain link, a gap-free sequence, the head, and
    /// that folding the log's after-values gives exactly the rows of every logged table.
    pub fn verify(&self) -> Result<VerifyReport, StoreError> {
        let rtx = self.db.begin_read()?;
        let events = rtx.open_table(EVENTS)?;
        let mut chain = ChainCheck::new();
        let mut expected_rows = 0;
        for entity in Entity::ALL {
            expected_rows += rtx.open_table(entity.table())?.len()? as usize;
        }
        let mut fold = Fold::with_capacity(expected_rows);
        for row in events.iter()? {
            let (k, v) = row?;
            let rec = chain.check(k.value(), v.value())?;
            fold.set(rec.entity, rec.key, rec.after);
        }
        let (head_seq, head_hash) = head(&rtx.open_table(META)?)?;
        let last = chain.expected_seq - 1;
        if head_seq != last || head_hash != chain.prev {
            return Err(broken(
                last + 1,
                format!("the log ends at {last} but the head says {head_seq}: events were truncated or added"),
            ));
        }
        let mut rows = 0u64;
        for entity in Entity::ALL {
            let table = rtx.open_table(entity.table())?;
            for row in table.iter()? {
                let (k, v) = row?;
                match fold.get(entity, k.value()) {
                    Some(Some(h)) if h == value_hash(v.value()) => {}
                    _ => {
                        return Err(broken(
                            last,
                            format!(
                                "table {} row {:?} differs from what the log says",
                                entity.table_name(),
                                super::display_key(entity, k.value())
                            ),
                        ))
                    }
                }
                rows += 1;
            }
        }
        let live = fold.live();
        if live != rows {
            return Err(broken(
                last,
                format!("the log holds {live} rows, the tables {rows}"),
            ));
        }
        let entries = rtx.open_table(Entity::Entry.table())?.len()?;
        if rtx.open_table(STATUS_IDX)?.len()? != entries {
            return Err(broken(last, "the status index does not match the entries"));
        }
        Ok(VerifyReport {
            events: last,
            rows,
            head_seq,
        })
    }

    /// Writes the whole log to `path`, to be replayed on another machine.
    pub fn dump(&self, path: &Path) -> Result<u64, StoreError> {
        let rtx = self.db.begin_read()?;
        let events = rtx.open_table(EVENTS)?;
        let mut out = BufWriter::new(std::fs::File::create(path)?);
        out.write_all(DUMP_MAGIC)?;
        let mut n = 0;
        for row in events.iter()? {
            let (k, v) = row?;
            let v = v.value();
            out.write_all(&k.value().to_le_bytes())?;
            out.write_all(&(v.len() as u32).to_le_bytes())?;
            out.write_all(v)?;
            n += 1;
        }
        out.flush()?;
        Ok(n)
    }

    /// Rebuilds this (empty) store from a log, checking the chain as it goes, up to `stop`.
    /// Returns the last sequence applied.
    pub fn replay_from(&self, source: LogSource<'_>, stop: ReplayStop) -> Result<u64, StoreError> {
        if self.head()?.0 != 0 {
            return Err(StoreError::Open {
                dir: self.dir().map(Path::to_path_buf).unwrap_or_default(),
                cause: "replay needs an empty data dir".into(),
            });
        }
        let mut replayer = Replayer::new(self, stop);
        match source {
            LogSource::Store(src) => {
                let rtx = src.db.begin_read()?;
                let events = rtx.open_table(EVENTS)?;
                for row in events.iter()? {
                    let (k, v) = row?;
                    if !replayer.push(k.value(), v.value())? {
                        break;
                    }
                }
            }
            LogSource::File(path) => {
                let mut input = BufReader::new(std::fs::File::open(&path)?);
                let mut magic = [0u8; DUMP_MAGIC.len()];
                input.read_exact(&mut magic)?;
                if magic != DUMP_MAGIC {
                    return Err(broken(
                        0,
                        format!("{} is not a numinv log dump", path.display()),
                    ));
                }
                let mut buf = Vec::new();
                loop {
                    let mut head = [0u8; 12];
                    match input.read_exact(&mut head) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                        Err(e) => return Err(e.into()),
                    }
                    let seq = u64::from_le_bytes(head[..8].try_into().unwrap_or_default());
                    let len = u32::from_le_bytes(head[8..].try_into().unwrap_or_default()) as usize;
                    if len > EVENT_LEN_MAX {
                        return Err(broken(
                            seq,
                            "event length is implausible: the dump is corrupt",
                        ));
                    }
                    buf.resize(len, 0);
                    input
                        .read_exact(&mut buf)
                        .map_err(|_| broken(seq, "the dump ends in the middle of this event"))?;
                    if !replayer.push(seq, &buf)? {
                        break;
                    }
                }
            }
        }
        replayer.finish()
    }

    /// A consistent copy of the whole database into `dir` (which must not hold one yet),
    /// taken from one read snapshot, so it is safe while the server keeps writing.
    pub fn backup_to(&self, dir: &Path) -> Result<u64, StoreError> {
        std::fs::create_dir_all(dir)?;
        let path = dir.join(super::DB_FILE);
        if path.exists() {
            return Err(StoreError::Open {
                dir: dir.to_path_buf(),
                cause: "it already holds a database; choose an empty directory".into(),
            });
        }
        let out = redb::Database::create(&path).map_err(|e| StoreError::Open {
            dir: dir.to_path_buf(),
            cause: e.to_string(),
        })?;
        let rtx = self.db.begin_read()?;
        let wtx = out.begin_write()?;
        let mut rows = 0;
        for entity in Entity::ALL {
            rows += copy_table(&rtx, &wtx, entity.table())?;
        }
        for def in [STATUS_IDX, RELEASE_IDX, HISTORY_IDX, HOLDERS_IDX] {
            copy_table(&rtx, &wtx, def)?;
        }
        copy_table(&rtx, &wtx, EVENTS)?;
        copy_table(&rtx, &wtx, FAILED_RUNS)?;
        copy_table(&rtx, &wtx, SECRETS)?;
        copy_table(&rtx, &wtx, META)?;
        wtx.commit()?;
        Ok(rows)
    }
}

fn copy_table<K: redb::Key + 'static, V: redb::Value + 'static>(
    rtx: &redb::ReadTransaction,
    wtx: &redb::WriteTransaction,
    def: TableDefinition<'static, K, V>,
) -> Result<u64, StoreError>
where
    for<'a> K::SelfType<'a>: std::borrow::Borrow<K::SelfType<'a>>,
{
    let src = rtx.open_table(def)?;
    let mut dst = wtx.open_table(def)?;
    let mut n = 0;
    for row in src.iter()? {
        let (k, v) = row?;
        dst.insert(k.value(), v.value())?;
        n += 1;
    }
    Ok(n)
}

/// Applies raw events to an empty store in batches, checking the chain.
struct Replayer<'s> {
    store: &'s Store,
    stop: ReplayStop,
    chain: ChainCheck,
    batch: Vec<(u64, Vec<u8>)>,
    tx_max: u64,
}

impl<'s> Replayer<'s> {
    fn new(store: &'s Store, stop: ReplayStop) -> Self {
        Replayer {
            store,
            stop,
            chain: ChainCheck::new(),
            batch: Vec::with_capacity(REPLAY_BATCH),
            tx_max: 0,
        }
    }

    /// Takes one event; false once the stop point is passed.
    fn push(&mut self, seq: u64, bytes: &[u8]) -> Result<bool, StoreError> {
        let rec = self.chain.check(seq, bytes)?;
        let past = match self.stop {
            ReplayStop::End => false,
            ReplayStop::Seq(s) => seq > s,
            ReplayStop::Time(t) => rec.at_ms > t.timestamp_millis(),
        };
        if past {
            return Ok(false);
        }
        self.tx_max = self.tx_max.max(rec.tx_id);
        self.batch.push((seq, bytes.to_vec()));
        if self.batch.len() >= REPLAY_BATCH {
            self.flush(Durability::None)?;
        }
        Ok(true)
    }

    fn flush(&mut self, durability: Durability) -> Result<(), StoreError> {
        let mut wtx = self.store.db.begin_write()?;
        wtx.set_durability(durability)?;
        {
            let mut t = Tables::open(&wtx)?;
            let mut last = None;
            for (seq, bytes) in self.batch.drain(..) {
                let (rec, hash) = open(&bytes).map_err(|f| broken(seq, f.to_string()))?;
                t.apply(rec.entity, rec.key, rec.after, seq)?;
                t.events.insert(seq, bytes.as_slice())?;
                last = Some((seq, hash));
            }
            if let Some((seq, hash)) = last {
                t.set_head(seq, &hash)?;
            }
            t.set_next_tx(self.tx_max + 1)?;
        }
        wtx.commit()?;
        Ok(())
    }

    fn finish(mut self) -> Result<u64, StoreError> {
        self.flush(Durability::Immediate)?;
        Ok(self.chain.expected_seq - 1)
    }
}

/// One row of a logged table: entity, key, encoded value.
pub type StateRow = (Entity, Vec<u8>, Vec<u8>);

impl Store {
    /// Every row of every logged table, for comparing two stores (replay tests, `log replay`).
    pub fn state_rows(&self) -> Result<Vec<StateRow>, StoreError> {
        let rtx = self.db.begin_read()?;
        let mut out = Vec::new();
        for entity in Entity::ALL {
            for row in rtx.open_table(entity.table())?.iter()? {
                let (k, v) = row?;
                out.push((entity, k.value().to_vec(), v.value().to_vec()));
            }
        }
        Ok(out)
    }
}
