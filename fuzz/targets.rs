//! The bodies of the fuzz targets, shared by cargo-fuzz (`fuzz/fuzz_targets/*.rs`) and the
//! stable test `tests/it/fuzz_corpus.rs`, so the corpora and the random stream run exactly what
//! the fuzzer runs. Each one must not panic on any input; where an input is accepted, it also
//! checks a round trip.

use chrono::{TimeZone, Utc};
use numinv::domain::normalize::normalize as norm;

/// The target names, in the order of [`run`].
pub const TARGETS: [&str; 5] = ["normalize", "arm_page", "event", "csv_import", "api_json"];

/// Runs the target called `name` on `data`.
pub fn run(name: &str, data: &[u8]) {
    match name {
        "normalize" => normalize(data),
        "arm_page" => arm_page(data),
        "event" => event(data),
        "csv_import" => csv_import(data),
        "api_json" => api_json(data),
        _ => panic!("unknown fuzz target {name}"),
    }
}

/// `domain::normalize::normalize` under several regions; a canonical key is a fixed point.
pub fn normalize(data: &[u8]) {
    let Ok(s) = std::str::from_utf8(data) else {
        return;
    };
    for region in [None, Some("GB"), Some("US"), Some("DE"), Some("ZZ")] {
        if let Ok(n) = norm(s, region) {
            let canonical = n.canonical();
            let again = norm(&canonical, region)
                .unwrap_or_else(|u| panic!("canonical {canonical:?} of {s:?} does not parse: {u}"));
            assert_eq!(again.canonical(), canonical, "input {s:?}");
        }
    }
}

/// `arm::parse_users_page`, then the cached form of every user; its direct path reads a
/// page only where the tree path reads the same page.
pub fn arm_page(data: &[u8]) {
    if let Some(direct) = numinv::arm::contract::parse_users_page_direct(data) {
        let tree = numinv::arm::contract::parse_users_page_tree(data);
        assert_eq!(Ok(&direct), tree.as_ref(), "the parse paths disagree");
    }
    if let Ok(page) = numinv::arm::parse_users_page(data) {
        for u in &page.users {
            assert!(!u.key.is_empty(), "a user without a key: {u:?}");
            let c = numinv::domain::device::CachedUser::from_device(
                &u.node_id,
                u.node_name.as_deref().unwrap_or(""),
                &u.aor,
                u.online(),
                "P/C/London",
                Some("GB"),
            );
            assert_eq!(c.number_key.is_some(), c.unmapped.is_none());
        }
    }
}

/// Event decoding: postcard into `EventRecord`, and the whole replay path (chain, hash,
/// version byte, decode, table apply) over the input read as a `log dump` file.
pub fn event(data: &[u8]) {
    let _ = postcard::from_bytes::<numinv::store::EventRecord<'_>>(data);
    let dir = tempfile_dir();
    let path = dir.join(format!("fuzz-{}.dump", std::process::id()));
    let dump: Vec<u8> = if data.starts_with(DUMP_MAGIC) {
        data.to_vec()
    } else {
        // One event carrying the input, so the seal check and decode run on it.
        let mut d = DUMP_MAGIC.to_vec();
        d.extend_from_slice(&1u64.to_le_bytes());
        d.extend_from_slice(&(data.len() as u32).to_le_bytes());
        d.extend_from_slice(data);
        d
    };
    std::fs::write(&path, &dump).expect("write the dump");
    let store = numinv::store::Store::in_memory().expect("in-memory store");
    let replayed = store.replay_from(
        numinv::store::LogSource::File(path.clone()),
        numinv::store::ReplayStop::End,
    );
    if replayed.is_ok() {
        store.verify().expect("a replayed log verifies");
    }
    let _ = std::fs::remove_file(&path);
}

/// The magic of a `log dump` file (`store::log`).
pub const DUMP_MAGIC: &[u8] = b"NUMINV-LOG\x01";

fn tempfile_dir() -> std::path::PathBuf {
    std::env::temp_dir()
}

/// `ops::numbers::parse_csv`; an accepted file exports and imports to the same entries.
pub fn csv_import(data: &[u8]) {
    let now = Utc.with_ymd_and_hms(2026, 12, 3, 10, 0, 0).unwrap();
    let Ok(entries) = numinv::ops::numbers::parse_csv(data, "fuzz.csv", "", Some("GB"), now) else {
        return;
    };
    let mut out = Vec::new();
    numinv::ops::numbers::export_csv(&entries, &mut out).expect("export");
    let again = numinv::ops::numbers::parse_csv(out.as_slice(), "again.csv", "", Some("GB"), now)
        .unwrap_or_else(|e| {
            panic!(
                "exported CSV does not import: {e}\n{}",
                String::from_utf8_lossy(&out)
            )
        });
    assert_eq!(entries, again, "CSV round trip");
}

/// JSON into the API wire types (request bodies and views); what parses serializes and
/// parses back equal.
pub fn api_json(data: &[u8]) {
    use numinv::api::wire::{
        AddRequest, AllocateRequest, CoolRequest, EntryView, EventView, ReserveRequest, SetRequest,
        TxView,
    };
    fn round<T>(data: &[u8])
    where
        T: serde::Serialize + serde::de::DeserializeOwned + PartialEq + std::fmt::Debug,
    {
        if let Ok(v) = serde_json::from_slice::<T>(data) {
            let bytes = serde_json::to_vec(&v).expect("serialize");
            let back: T = serde_json::from_slice(&bytes).expect("parse what we wrote");
            assert_eq!(v, back);
        }
    }
    round::<EntryView>(data);
    round::<EventView>(data);
    round::<TxView>(data);
    round::<AddRequest>(data);
    round::<ReserveRequest>(data);
    round::<CoolRequest>(data);
    round::<AllocateRequest>(data);
    round::<SetRequest>(data);
}
