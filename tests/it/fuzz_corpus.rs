//! The fuzz corpora on stable (DESIGN §7): every file under `fuzz/corpus/<target>/` goes
//! through its target, then a proptest stream of mutated corpus files and random bytes does the
//! same, so the targets get exercised without nightly. `NUMINV_FUZZ_EXECS=200000` raises the
//! stream's length per target (default 1500).

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use proptest::sample::Index;
use proptest::test_runner::{Config, TestRunner};

#[path = "../../fuzz/targets.rs"]
mod targets;

fn corpus_dir(target: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target)
}

fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let mut files: Vec<(PathBuf, Vec<u8>)> = std::fs::read_dir(corpus_dir(target))
        .unwrap_or_else(|e| panic!("corpus of {target}: {e}"))
        .map(|f| {
            let p = f.unwrap().path();
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn every_corpus_file_runs_through_its_target() {
    for target in targets::TARGETS {
        let files = corpus(target);
        assert!(
            files.len() >= 3,
            "{target}: only {} corpus files",
            files.len()
        );
        for (path, bytes) in files {
            let r = std::panic::catch_unwind(|| targets::run(target, &bytes));
            assert!(r.is_ok(), "{target} panics on {}", path.display());
        }
    }
}

/// Byte-level edits of a seed, as a mutating fuzzer makes them.
#[derive(Clone, Debug)]
enum Edit {
    Set(Index, u8),
    Insert(Index, u8),
    Remove(Index),
    Token(Index, usize),
    Truncate(Index),
}

const TOKENS: &[&str] = &[
    "\"",
    "{",
    "}",
    "[",
    "]",
    ",",
    ":",
    "null",
    "-1",
    "1e999",
    "\\u0000",
    "+",
    ";ext=",
    "tel:",
    "sip:",
    "@",
    "00",
    "0",
    "9999999999999999999999",
    "\n",
    "\r\n",
    ",\"",
    "Cooling",
    "\u{feff}",
    "é",
    "\u{200b}",
    "true",
    "\"cursor\"",
    "NUMINV-LOG\u{1}",
];

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Set(i, b)),
        (any::<Index>(), any::<u8>()).prop_map(|(i, b)| Edit::Insert(i, b)),
        any::<Index>().prop_map(Edit::Remove),
        (any::<Index>(), 0..TOKENS.len()).prop_map(|(i, t)| Edit::Token(i, t)),
        any::<Index>().prop_map(Edit::Truncate),
    ]
}

fn mutate(seed: &[u8], edits: &[Edit]) -> Vec<u8> {
    let mut v = seed.to_vec();
    for e in edits {
        let at = |i: &Index, len: usize| i.index(len + 1);
        match e {
            Edit::Set(i, b) if !v.is_empty() => {
                let k = i.index(v.len());
                v[k] = *b;
            }
            Edit::Set(..) => {}
            Edit::Insert(i, b) => {
                let k = at(i, v.len());
                v.insert(k, *b);
            }
            Edit::Remove(i) if !v.is_empty() => {
                let k = i.index(v.len());
                v.remove(k);
            }
            Edit::Remove(_) => {}
            Edit::Token(i, t) => {
                let k = at(i, v.len());
                v.splice(k..k, TOKENS[*t].bytes());
            }
            Edit::Truncate(i) => {
                let k = at(i, v.len());
                v.truncate(k);
            }
        }
    }
    v
}

fn inputs(seeds: Vec<Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let n = seeds.len();
    prop_oneof![
        1 => proptest::collection::vec(any::<u8>(), 0..200),
        1 => "\\PC{0,40}".prop_map(String::into_bytes),
        6 => (0..n, proptest::collection::vec(edit(), 1..6))
            .prop_map(move |(i, edits)| mutate(&seeds[i], &edits)),
    ]
}

fn execs() -> u32 {
    std::env::var("NUMINV_FUZZ_EXECS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1500)
}

fn stream(target: &'static str) {
    let seeds: Vec<Vec<u8>> = corpus(target).into_iter().map(|(_, b)| b).collect();
    let cases = execs();
    let mut runner = TestRunner::new(Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    });
    let r = runner.run(&inputs(seeds), |data| {
        targets::run(target, &data);
        Ok(())
    });
    if let Err(e) = r {
        panic!("{target}: {e}");
    }
    eprintln!("{target}: {cases} executions, no panic");
}

#[test]
fn stream_normalize() {
    stream("normalize");
}

#[test]
fn stream_arm_page() {
    stream("arm_page");
}

#[test]
fn stream_event() {
    stream("event");
}

#[test]
fn stream_csv_import() {
    stream("csv_import");
}

#[test]
fn stream_api_json() {
    stream("api_json");
}

/// Writes the generated seeds (a real log dump, sealed events, API JSON) into the corpora.
/// Run by hand after a format change: `cargo test --test it fuzz_corpus -- --ignored`.
#[test]
#[ignore = "regenerates fuzz/corpus; run by hand"]
fn write_generated_seeds() {
    use chrono::{TimeZone, Utc};
    use numinv::ops::{self, Ctx};
    use numinv::store::Store;

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let ctx = Ctx::new(&store, now, "cli");
    ops::numbers::add(
        &ctx,
        &["+442079460001".into(), "1001".into()],
        Some("+442079460100..+442079460103"),
        "P/C",
        None,
    )
    .unwrap();
    ops::numbers::reserve(&ctx, "+442079460100", None, "CEO", Some(3), Some("bob")).unwrap();
    ops::numbers::cool(&ctx, "+442079460101", None, Some(2)).unwrap();
    ops::numbers::allocate(&ctx, None, None, Some("desk")).unwrap();
    ops::admin::set_macro(&ctx, "audiocodes_cooling_duration", "5", "P").unwrap();
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::write(corpus_dir(target).join(name), bytes).unwrap();
    };
    let dump = dir.path().join("log.dump");
    store.dump(&dump).unwrap();
    let bytes = std::fs::read(&dump).unwrap();
    write("event", "dump-small.bin", &bytes);
    // The first event alone, as the target wraps it, and its postcard body.
    let len = u32::from_le_bytes(bytes[19..23].try_into().unwrap()) as usize;
    let first = &bytes[23..23 + len];
    write("event", "event-1.bin", first);
    write("event", "event-1-postcard.bin", &first[1..first.len() - 32]);
    let reader = store.read().unwrap();
    for (i, e) in reader
        .entries(&Default::default())
        .unwrap()
        .iter()
        .enumerate()
        .take(3)
    {
        let view = numinv::api::wire::EntryView::from(e);
        write(
            "api_json",
            &format!("entry-{i}.json"),
            &serde_json::to_vec_pretty(&view).unwrap(),
        );
    }
    let tx = reader.transactions(1).unwrap().remove(0);
    write(
        "api_json",
        "tx.json",
        &serde_json::to_vec_pretty(&numinv::api::wire::TxView::from(&tx)).unwrap(),
    );
    let ev = reader.events(0, 1).unwrap().remove(0);
    write(
        "api_json",
        "event.json",
        &serde_json::to_vec_pretty(&numinv::api::wire::EventView::from(&ev)).unwrap(),
    );
}
