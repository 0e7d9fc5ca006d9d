//! Inventory core: range add of 100,000 numbers and `log verify` over 1,000,000 events,
//! each beside its floor (redb inserting the same keys; postcard decoding the same events).
//!
//! Run: `cargo bench --bench core`

use std::time::Duration;

use chrono::{TimeZone, Utc};
use criterion::{criterion_group, criterion_main, BatchSize, Criterion};
use numinv::ops::{numbers, Ctx};
use numinv::store::{EventRecord, Store};
use redb::{Database, Durability, TableDefinition};

fn now() -> chrono::DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap()
}

fn range_add(c: &mut Criterion) {
    let mut g = c.benchmark_group("range_add_100k");
    g.sample_size(10).measurement_time(Duration::from_secs(20));
    g.bench_function("numinv numbers add --range (100k)", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let store = Store::open(dir.path(), Duration::ZERO).unwrap();
                let ctx = Ctx::new(&store, now(), "bench");
                let r = numbers::add(
                    &ctx,
                    &[],
                    Some("+442030000000..+442030099999"),
                    "Provider/Contoso/London",
                    None,
                )
                .unwrap();
                assert_eq!(r.created.len(), 100_000);
                dir
            },
            BatchSize::PerIteration,
        )
    });
    // Floor: redb inserting 100,000 keys of the same size with values of the entry's size,
    // in one durable transaction.
    const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("t");
    let value = vec![7u8; 80];
    g.bench_function("floor: redb insert 100k keys", |b| {
        b.iter_batched(
            || tempfile::tempdir().unwrap(),
            |dir| {
                let db = Database::create(dir.path().join("f.redb")).unwrap();
                let mut w = db.begin_write().unwrap();
                w.set_durability(Durability::Immediate).unwrap();
                {
                    let mut t = w.open_table(T).unwrap();
                    for i in 0..100_000u64 {
                        let k = format!("+44203{i:07}");
                        t.insert(k.as_bytes(), value.as_slice()).unwrap();
                    }
                }
                w.commit().unwrap();
                dir
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

fn log_verify(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), Duration::ZERO).unwrap();
    let ctx = Ctx::new(&store, now(), "bench");
    numbers::add(
        &ctx,
        &[],
        Some("+442030000000..+442030999999"),
        "Provider/Contoso/London",
        None,
    )
    .unwrap();
    let dump = dir.path().join("log.dump");
    let events = store.dump(&dump).unwrap();
    assert_eq!(events, 1_000_001);
    let bytes = std::fs::read(&dump).unwrap();
    let mut bodies: Vec<&[u8]> = Vec::with_capacity(events as usize);
    let mut at = 11; // magic
    while at < bytes.len() {
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        bodies.push(&bytes[at + 12..at + 12 + len]);
        at += 12 + len;
    }

    let mut g = c.benchmark_group("log_verify_1m");
    g.sample_size(10).measurement_time(Duration::from_secs(30));
    g.bench_function("numinv log verify (1M events)", |b| {
        b.iter(|| assert_eq!(store.verify().unwrap().events, 1_000_001))
    });
    g.bench_function("floor: postcard decode 1M events", |b| {
        b.iter(|| {
            let mut n = 0u64;
            for body in &bodies {
                let rec: EventRecord<'_> = postcard::from_bytes(&body[1..body.len() - 32]).unwrap();
                n += rec.seq;
            }
            n
        })
    });
    g.finish();
}

criterion_group!(benches, range_add, log_verify);
criterion_main!(benches);
