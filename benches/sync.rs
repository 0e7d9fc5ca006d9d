//! Issue 4: a first sync of 100,000 registered users into an empty inventory (goal ≤ 2 s),
//! a resync with 1 % churn (goal ≤ 0.5 s) and the expiry of 100,000 Cooling entries
//! (goal ≤ 1 s), each beside its floors: the client fetch alone, and redb writing the same
//! keys (the logged rows the change wrote, same keys and values, one durable transaction,
//! into a tree of the size the change met).
//!
//! Each iteration works on a fresh copy of a prepared store, so every sample measures the
//! same change; only the change itself is timed.
//!
//! Run: `cargo bench --bench sync`

use std::path::PathBuf;
use std::time::{Duration, Instant};

use criterion::{criterion_group, BenchmarkGroup, Criterion, SamplingMode};
use numinv::ops::{self, Ctx};
use numinv::store::{Entity, Store};

#[path = "rig/mod.rs"]
mod rig;

use rig::{at, Rig};

const USERS: usize = 100_000;
const CHURN: usize = 1_000;
const COOLING: usize = 100_000;

fn slow(g: &mut BenchmarkGroup<'_, criterion::measurement::WallTime>) {
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(5));
}

/// A store after one first sync, closed, and the floor base of its logged rows.
struct Synced {
    _dir: tempfile::TempDir,
    store_dir: PathBuf,
    floor_base: PathBuf,
    first_sync_rows: Vec<(Vec<u8>, Option<Vec<u8>>)>,
}

fn prepare_synced(rig: &Rig) -> Synced {
    let dir = tempfile::tempdir().unwrap();
    let store_dir = dir.path().join("synced");
    let store = rig.store_in(&store_dir);
    let head = store.head().unwrap().0;
    let tx = rig.sync(&store, at(3, 12));
    assert_eq!(tx.get("users_added"), USERS as u64);
    let first_sync_rows = rig::changed_rows(&store, head);
    let base_rows = rig::logged_rows(&store, &[Entity::Entry, Entity::RegisteredUser]);
    drop(store);
    let floor_base = rig::floor_db(dir.path(), &base_rows);
    Synced {
        _dir: dir,
        store_dir,
        floor_base,
        first_sync_rows,
    }
}

fn sync(c: &mut Criterion) {
    let rig = Rig::new(USERS);
    let synced = prepare_synced(&rig);

    let mut g = c.benchmark_group("sync_100k");
    slow(&mut g);
    g.bench_function("first_sync", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let dir = tempfile::tempdir().unwrap();
                let store = rig.store_in(dir.path());
                let t = Instant::now();
                let tx = rig.sync(&store, at(3, 12));
                total += t.elapsed();
                assert_eq!(tx.get("users_added"), USERS as u64);
            }
            total
        })
    });
    g.bench_function("floor_client_fetch", |b| {
        b.iter(|| assert_eq!(rig.fetch().len(), USERS))
    });
    g.bench_function("floor_redb_first_sync_keys", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rig::redb_floor(None, &synced.first_sync_rows))
                .sum()
        })
    });

    // The rows one churn resync writes, for its redb floor.
    let resync_rows = {
        let copy = rig::copy_store(&synced.store_dir);
        let store = rig.store_in(copy.path());
        let head = store.head().unwrap().0;
        let undo = rig.churn(CHURN, 0);
        rig.sync(&store, at(3, 13));
        rig.script(&undo);
        rig::changed_rows(&store, head)
    };
    g.bench_function("resync_1pct", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let copy = rig::copy_store(&synced.store_dir);
                let store = rig.store_in(copy.path());
                let undo = rig.churn(CHURN, 0);
                let t = Instant::now();
                let tx = rig.sync(&store, at(3, 13));
                total += t.elapsed();
                rig.script(&undo);
                assert!(tx.get("users_removed") >= (CHURN / 4) as u64, "{tx:?}");
            }
            total
        })
    });
    g.bench_function("floor_redb_resync_keys", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rig::redb_floor(Some(&synced.floor_base), &resync_rows))
                .sum()
        })
    });
    g.finish();
}

/// A store holding `COOLING` AudioCodes numbers Cooling until 2026-12-05, closed.
fn prepare_cooling(dir: &std::path::Path) {
    let mut csv = String::from("number,status,usage,vendor,tag,release_date\n");
    for i in 0..COOLING {
        csv.push_str(&format!(
            "+44203{i:07},Cooling,Device,AudioCodes,\"Registered user is either offline or deleted, release date 2026-12-05\",2026-12-05\n"
        ));
    }
    let store = Store::open(dir, Duration::ZERO).unwrap();
    let r = ops::numbers::import(
        &Ctx::new(&store, at(3, 12), "cli"),
        csv.as_bytes(),
        "cooling.csv",
        rig::LONDON,
        None,
    )
    .unwrap();
    assert_eq!(r.created.len(), COOLING);
}

fn expiry(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let base = dir.path().join("cooling");
    prepare_cooling(&base);
    let expire = |store_dir: &std::path::Path| {
        let store = Store::open(store_dir, Duration::ZERO).unwrap();
        let head = store.head().unwrap().0;
        let t = Instant::now();
        let r = ops::admin::expire(&Ctx::new(&store, at(5, 12), "expiry")).unwrap();
        let elapsed = t.elapsed();
        assert_eq!(r.released, COOLING as u64);
        (elapsed, store, head)
    };
    let (floor_base, rows) = {
        let store = Store::open(&base, Duration::ZERO).unwrap();
        let before = rig::logged_rows(&store, &[Entity::Entry]);
        drop(store);
        let copy = rig::copy_store(&base);
        let (_, store, head) = expire(copy.path());
        (
            rig::floor_db(dir.path(), &before),
            rig::changed_rows(&store, head),
        )
    };

    let mut g = c.benchmark_group("expiry_100k");
    slow(&mut g);
    g.bench_function("expire", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| expire(rig::copy_store(&base).path()).0)
                .sum()
        })
    });
    g.bench_function("floor_redb_same_keys", |b| {
        b.iter_custom(|iters| {
            (0..iters)
                .map(|_| rig::redb_floor(Some(&floor_base), &rows))
                .sum()
        })
    });
    g.finish();
}

criterion_group!(benches, sync, expiry);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    let fetch = ("sync_100k", "floor_client_fetch");
    let r = |group, id, floor, goal| rig::Ratio {
        group,
        id,
        floor,
        goal,
    };
    rig::print_ratios(&[
        r(
            "sync_100k",
            "first_sync",
            &[fetch, ("sync_100k", "floor_redb_first_sync_keys")],
            "<= 2 s",
        ),
        r("sync_100k", "first_sync", &[fetch], "(vs fetch alone)"),
        r(
            "sync_100k",
            "resync_1pct",
            &[fetch, ("sync_100k", "floor_redb_resync_keys")],
            "<= 0.5 s",
        ),
        r("sync_100k", "resync_1pct", &[fetch], "(vs fetch alone)"),
        r(
            "expiry_100k",
            "expire",
            &[("expiry_100k", "floor_redb_same_keys")],
            "<= 1 s",
        ),
    ]);
}
