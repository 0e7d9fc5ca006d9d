//! Issue 8: a reproducible performance run at 10,000, 100,000 and 1,000,000 users/entries.
//!
//! ```text
//! cargo run --release --example perf-report                      # all sizes, writes BENCHMARKS.md
//! cargo run --release --example perf-report -- --sizes 10000 --reps 1 --out /tmp/b.md
//! ```
//!
//! The simulator runs in this (parent) process and serves over loopback. Every measured
//! phase runs in a child process of this same example (`--child PHASE …`), so each phase's
//! peak RSS (`VmHWM`) is its own and the simulator's memory is not counted. Set-up (copying
//! a prepared store, scripting churn, importing a Cooling inventory) is never timed.
//!
//! Each figure is reported beside its floor and the ratio: the client fetch beside JSON
//! parsing of the same page bodies; a sync beside the fetch alone plus redb writing the same
//! keys; expiry beside redb writing the same keys; `log verify` beside postcard decoding the
//! same events; `log replay` beside redb writing the same events and rows; allocation beside
//! redb committing one-row durable transactions from the same 8 threads; `GET
//! /api/numbers?limit=100` beside the same reads through `ops::numbers::list` in-process.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use numinv::arm::parse_users_page;
use numinv::ops::{self, Ctx};
use numinv::store::{Entity, EventRecord, LogSource, ReplayStop, Store};
use serde_json::{json, Value};

#[path = "../benches/rig/mod.rs"]
mod rig;

use rig::{at, Rig};

const THREADS: usize = 8;
const ALLOCS_PER_THREAD: usize = 25;
/// Marks the end of the generated part of BENCHMARKS.md; what follows it is kept.
const KEEP_MARK: &str = "<!-- end of generated part: text below this line is kept -->";

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--child") {
        let out = child(&args[1..]);
        println!("RESULT {out}");
        return;
    }
    parent(&args);
}

// ---------------------------------------------------------------------------------------
// Parent: the simulator, the schedule of phases, the table.

struct Opts {
    sizes: Vec<usize>,
    reps: usize,
    reps_large: usize,
    out: PathBuf,
    work: Option<PathBuf>,
    /// Phase groups to run (`sync`, `expiry`, `numbers`); empty: all.
    only: Vec<String>,
}

impl Opts {
    fn wants(&self, group: &str) -> bool {
        self.only.is_empty() || self.only.iter().any(|g| g == group)
    }
}

fn opts(args: &[String]) -> Opts {
    let mut o = Opts {
        sizes: vec![10_000, 100_000, 1_000_000],
        reps: 3,
        reps_large: 1,
        out: PathBuf::from("BENCHMARKS.md"),
        work: None,
        only: Vec::new(),
    };
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let mut val = || it.next().cloned().unwrap_or_default();
        match a.as_str() {
            "--sizes" => {
                o.sizes = val()
                    .split(',')
                    .map(|s| s.trim().replace('_', "").parse().expect("--sizes 10000,100000"))
                    .collect()
            }
            "--reps" => o.reps = val().parse().expect("--reps N"),
            "--reps-large" => o.reps_large = val().parse().expect("--reps-large N"),
            "--out" => o.out = val().into(),
            "--work" => o.work = Some(val().into()),
            "--only" => o.only = val().split(',').map(|g| g.trim().to_string()).collect(),
            other => panic!(
                "unknown argument {other}; use --sizes A,B --reps N --reps-large N --out FILE --work DIR --only sync,expiry,numbers"
            ),
        }
    }
    o
}

/// One line of the table.
struct Row {
    op: &'static str,
    size: usize,
    median_s: f64,
    /// Median CPU seconds of the measured process (all its threads).
    cpu_s: f64,
    floor: &'static str,
    floor_s: f64,
    goal: String,
    rss_mib: Option<f64>,
    note: String,
}

fn run_child(args: &[&str]) -> Value {
    let exe = std::env::current_exe().unwrap();
    let out = Command::new(exe)
        .arg("--child")
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .unwrap();
    assert!(out.status.success(), "child {args:?} failed");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text
        .lines()
        .find_map(|l| l.strip_prefix("RESULT "))
        .unwrap_or_else(|| panic!("child {args:?} printed no result: {text}"));
    serde_json::from_str(line).unwrap()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn f(v: &Value, k: &str) -> f64 {
    v[k].as_f64()
        .unwrap_or_else(|| panic!("child result lacks {k}: {v}"))
}

fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn parent(args: &[String]) {
    let o = opts(args);
    let started = chrono::Utc::now();
    let load_start = loadavg();
    let keep = tempfile::tempdir_in(std::env::temp_dir()).unwrap();
    let work = o.work.clone().unwrap_or_else(|| keep.path().to_path_buf());
    let mut rows: Vec<Row> = Vec::new();
    let mut extra: Vec<String> = Vec::new();
    for &n in &o.sizes {
        let reps = if n >= 1_000_000 { o.reps_large } else { o.reps };
        eprintln!(
            "== {n} users/entries, {reps} repetition(s); load {}",
            loadavg()
        );
        let t = Instant::now();
        let rig = Rig::new(n);
        eprintln!("   simulator built in {:.1} s", t.elapsed().as_secs_f64());
        let url = rig.conn.url.clone();
        let dir = work.join(n.to_string());
        std::fs::create_dir_all(&dir).unwrap();
        let d = |name: &str| dir.join(name).to_string_lossy().into_owned();
        let ns = n.to_string();
        let reps_s = reps.to_string();

        if o.wants("sync") {
            // Client fetch beside JSON parsing of the same bytes.
            let fetch = run_child(&["fetch", "--url", &url, "--reps", &reps_s, "--n", &ns]);
            let fetch_s = f(&fetch, "fetch_s");
            rows.push(Row {
                op: "client fetch (pages of 1,000)",
                size: n,
                median_s: fetch_s,
                cpu_s: f(&fetch, "cpu_s"),
                floor: "JSON parse of the same bytes",
                floor_s: f(&fetch, "parse_s"),
                goal: if n == 100_000 {
                    "≤ 1.5 s".into()
                } else {
                    String::new()
                },
                rss_mib: Some(f(&fetch, "hwm_mib")),
                note: format!(
                    "{} pages, {:.1} MB of JSON",
                    f(&fetch, "pages"),
                    f(&fetch, "bytes") / 1e6
                ),
            });

            // First sync into an empty inventory.
            let mut firsts = Vec::new();
            for r in 0..reps {
                firsts.push(run_child(&[
                    "first-sync",
                    "--url",
                    &url,
                    "--dir",
                    &d(&format!("sync-{r}")),
                    "--n",
                    &ns,
                ]));
                if r + 1 < reps {
                    let _ = std::fs::remove_dir_all(dir.join(format!("sync-{r}")));
                }
            }
            let base = d(&format!("sync-{}", reps - 1));
            let last = firsts.last().unwrap().clone();
            let sync_floor =
                fetch_s + median(firsts.iter().map(|v| f(v, "floor_redb_s")).collect());
            rows.push(Row {
                op: "first sync",
                size: n,
                median_s: median(firsts.iter().map(|v| f(v, "sync_s")).collect()),
                cpu_s: median(firsts.iter().map(|v| f(v, "cpu_s")).collect()),
                floor: "client fetch + redb writing the same keys",
                floor_s: sync_floor,
                goal: match n {
                    100_000 => "≤ 2 s".into(),
                    1_000_000 => "≤ 20 s".into(),
                    _ => String::new(),
                },
                rss_mib: Some(median(firsts.iter().map(|v| f(v, "hwm_mib")).collect())),
                note: format!(
                    "{} entries, {} rows written; redb alone {:.3} s",
                    f(&last, "entries"),
                    f(&last, "rows"),
                    median(firsts.iter().map(|v| f(v, "floor_redb_s")).collect())
                ),
            });
            let db_bytes = f(&last, "db_bytes");
            extra.push(format!(
                "| {n} | {:.0} | {:.0} | {:.0} | {:.0} |",
                db_bytes / 1e6,
                db_bytes / f(&last, "entries"),
                f(&last, "entries"),
                f(&last, "events")
            ));

            // Resync with 1 % churn against copies of that store.
            let mut resyncs = Vec::new();
            for r in 0..reps {
                let undo = rig.churn(n / 100, r as u64);
                let out = d(&format!("resync-{r}"));
                resyncs.push(run_child(&[
                    "resync",
                    "--url",
                    &url,
                    "--base",
                    &base,
                    "--dir",
                    &out,
                    "--floor-base",
                    &d("floor-base.redb"),
                ]));
                rig.script(&undo);
                if r + 1 < reps {
                    let _ = std::fs::remove_dir_all(&out);
                }
            }
            let resynced = d(&format!("resync-{}", reps - 1));
            rows.push(Row {
                op: "resync, 1 % churn",
                size: n,
                median_s: median(resyncs.iter().map(|v| f(v, "sync_s")).collect()),
                cpu_s: median(resyncs.iter().map(|v| f(v, "cpu_s")).collect()),
                floor: "client fetch + redb writing the same keys",
                floor_s: fetch_s + median(resyncs.iter().map(|v| f(v, "floor_redb_s")).collect()),
                goal: match n {
                    100_000 => "≤ 0.5 s".into(),
                    1_000_000 => "≤ 3 s".into(),
                    _ => String::new(),
                },
                rss_mib: Some(median(resyncs.iter().map(|v| f(v, "hwm_mib")).collect())),
                note: format!("{} rows written", f(resyncs.last().unwrap(), "rows")),
            });
            let _ = std::fs::remove_file(dir.join("floor-base.redb"));
            drop(rig);

            // log verify and log replay over the resulting log (first sync + one resync).
            let v = run_child(&["verify", "--dir", &resynced, "--reps", &reps_s]);
            let events = f(&v, "events");
            rows.push(Row {
                op: "log verify",
                size: n,
                median_s: f(&v, "verify_s"),
                cpu_s: f(&v, "cpu_s"),
                floor: "postcard decoding the same events",
                floor_s: f(&v, "decode_s"),
                goal: format!(
                    "≥ 1M events/s (here {:.2} M/s)",
                    events / f(&v, "verify_s") / 1e6
                ),
                rss_mib: Some(f(&v, "hwm_mib")),
                note: format!("{events} events"),
            });
            let mut replays = Vec::new();
            for r in 0..reps {
                let out = d(&format!("replay-{r}"));
                replays.push(run_child(&["replay", "--dir", &resynced, "--out", &out]));
                let _ = std::fs::remove_dir_all(&out);
            }
            rows.push(Row {
                op: "log replay",
                size: n,
                median_s: median(replays.iter().map(|v| f(v, "replay_s")).collect()),
                cpu_s: median(replays.iter().map(|v| f(v, "cpu_s")).collect()),
                floor: "redb writing the same events and rows",
                floor_s: median(replays.iter().map(|v| f(v, "floor_redb_s")).collect()),
                goal: String::new(),
                rss_mib: Some(median(replays.iter().map(|v| f(v, "hwm_mib")).collect())),
                note: format!("{events} events"),
            });
            for r in 0..reps {
                let _ = std::fs::remove_dir_all(dir.join(format!("sync-{r}")));
                let _ = std::fs::remove_dir_all(dir.join(format!("resync-{r}")));
            }
        }
        if o.wants("expiry") {
            // Expiry of an all-Cooling inventory.
            let cooling = d("cooling");
            run_child(&["prep-cooling", "--dir", &cooling, "--n", &ns]);
            let mut expires = Vec::new();
            for r in 0..reps {
                let out = d(&format!("expire-{r}"));
                expires.push(run_child(&[
                    "expire",
                    "--base",
                    &cooling,
                    "--dir",
                    &out,
                    "--n",
                    &ns,
                    "--floor-base",
                    &d("floor-cooling.redb"),
                ]));
                let _ = std::fs::remove_dir_all(&out);
            }
            rows.push(Row {
                op: "expiry, all Cooling",
                size: n,
                median_s: median(expires.iter().map(|v| f(v, "expire_s")).collect()),
                cpu_s: median(expires.iter().map(|v| f(v, "cpu_s")).collect()),
                floor: "redb writing the same keys",
                floor_s: median(expires.iter().map(|v| f(v, "floor_redb_s")).collect()),
                goal: if n == 100_000 {
                    "≤ 1 s".into()
                } else {
                    String::new()
                },
                rss_mib: Some(median(expires.iter().map(|v| f(v, "hwm_mib")).collect())),
                note: String::new(),
            });
            let _ = std::fs::remove_dir_all(&cooling);
            let _ = std::fs::remove_file(dir.join("floor-cooling.redb"));
        }
        if o.wants("numbers") {
            // numbers allocate, 8 threads in one process on one Store.
            let avail = d("available");
            run_child(&["prep-available", "--dir", &avail, "--n", &ns]);
            let mut allocs = Vec::new();
            for r in 0..reps {
                let out = d(&format!("alloc-{r}"));
                allocs.push(run_child(&["allocate", "--base", &avail, "--dir", &out]));
                let _ = std::fs::remove_dir_all(&out);
            }
            let total = (THREADS * ALLOCS_PER_THREAD) as f64;
            let alloc_s = median(allocs.iter().map(|v| f(v, "alloc_s")).collect());
            rows.push(Row {
                op: "numbers allocate, 8 threads × 25",
                size: n,
                median_s: alloc_s,
                cpu_s: median(allocs.iter().map(|v| f(v, "cpu_s")).collect()),
                floor: "redb: 200 one-row durable commits, 8 threads",
                floor_s: median(allocs.iter().map(|v| f(v, "floor_s")).collect()),
                goal: String::new(),
                rss_mib: Some(median(allocs.iter().map(|v| f(v, "hwm_mib")).collect())),
                note: format!(
                    "{:.0} allocations/s; p99 latency {:.1} ms",
                    total / alloc_s,
                    median(allocs.iter().map(|v| f(v, "p99_ms")).collect())
                ),
            });

            // GET /api/numbers?limit=100 on the same inventory.
            let mut apis = Vec::new();
            for r in 0..reps {
                let out = d(&format!("api-{r}"));
                apis.push(run_child(&["api", "--base", &avail, "--dir", &out]));
                let _ = std::fs::remove_dir_all(&out);
            }
            let requests = (API_CLIENTS * API_REQUESTS_PER_CLIENT) as f64;
            let api_s = median(apis.iter().map(|v| f(v, "api_s")).collect());
            rows.push(Row {
                op: "GET /api/numbers?limit=100, 8 clients × 50",
                size: n,
                median_s: api_s,
                cpu_s: median(apis.iter().map(|v| f(v, "cpu_s")).collect()),
                floor: "ops::numbers::list in-process, same 400 reads, 8 threads",
                floor_s: median(apis.iter().map(|v| f(v, "floor_s")).collect()),
                goal: String::new(),
                rss_mib: Some(median(apis.iter().map(|v| f(v, "hwm_mib")).collect())),
                note: format!(
                    "{:.0} requests/s; p99 latency {:.1} ms",
                    requests / api_s,
                    median(apis.iter().map(|v| f(v, "p99_ms")).collect())
                ),
            });
            let _ = std::fs::remove_dir_all(&avail);
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    let finished = chrono::Utc::now();
    write_report(&o, &rows, &extra, started, finished, &load_start);
}

fn machine() -> String {
    let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let model = cpuinfo
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|l| l.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_else(|| "unknown".into());
    let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    let mem_kib: f64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|l| l.split_whitespace().next()?.parse().ok())
        .unwrap_or(0.0);
    let nproc = std::thread::available_parallelism().map_or(0, |n| n.get());
    format!(
        "{nproc} CPUs ({model}), {:.1} GiB memory, {}",
        mem_kib / 1024.0 / 1024.0,
        std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .map(|r| format!("Linux {}", r.trim()))
            .unwrap_or_default()
    )
}

fn write_report(
    o: &Opts,
    rows: &[Row],
    extra: &[String],
    started: chrono::DateTime<chrono::Utc>,
    finished: chrono::DateTime<chrono::Utc>,
    load_start: &str,
) {
    let mut s = String::new();
    s.push_str("# Benchmarks\n\n");
    s.push_str("Generated by `cargo run --release --example perf-report");
    let mut flags = Vec::new();
    if o.sizes != [10_000, 100_000, 1_000_000] {
        let sizes: Vec<String> = o.sizes.iter().map(|n| n.to_string()).collect();
        flags.push(format!("--sizes {}", sizes.join(",")));
    }
    if o.reps != 3 {
        flags.push(format!("--reps {}", o.reps));
    }
    if o.reps_large != 1 {
        flags.push(format!("--reps-large {}", o.reps_large));
    }
    if !o.only.is_empty() {
        flags.push(format!("--only {}", o.only.join(",")));
    }
    if !flags.is_empty() {
        s.push_str(&format!(" -- {}", flags.join(" ")));
    }
    s.push_str("` (issue 8).\n\n");
    s.push_str(&format!(
        "* Machine: {}.\n* Run: {} → {} UTC; load average (1, 5, 15 min) {load_start} at the start, {} at the end. \
         The machine is shared with other engineers' compilers: figures are noisy.\n\
         * Each figure is the median of {} repetition(s) ({} at 1,000,000), each in a fresh child process; \
         peak RSS is that process's `VmHWM` (the simulator runs in the parent and is not counted).\n\n",
        machine(),
        started.format("%Y-%m-%d %H:%M"),
        finished.format("%H:%M"),
        loadavg(),
        o.reps,
        o.reps_large
    ));
    s.push_str(
        "| operation | size | median (CPU) | floor | floor median | ratio | goal | peak RSS | notes |\n",
    );
    s.push_str("|---|---:|---:|---|---:|---:|---|---:|---|\n");
    for r in rows {
        s.push_str(&format!(
            "| {} | {} | {:.3} s ({:.2} s) | {} | {:.3} s | {:.2}× | {} | {} | {} |\n",
            r.op,
            r.size,
            r.median_s,
            r.cpu_s,
            r.floor,
            r.floor_s,
            r.median_s / r.floor_s,
            r.goal,
            r.rss_mib.map(|m| format!("{m:.0} MiB")).unwrap_or_default(),
            r.note
        ));
    }
    // Growth from 100k to 1M.
    let by: BTreeMap<(&str, usize), f64> =
        rows.iter().map(|r| ((r.op, r.size), r.median_s)).collect();
    let mut growth = String::new();
    for r in rows.iter().filter(|r| r.size == 1_000_000) {
        if let Some(small) = by.get(&(r.op, 100_000)) {
            growth.push_str(&format!("| {} | {:.1}× |\n", r.op, r.median_s / small));
        }
    }
    if !growth.is_empty() {
        s.push_str("\nGrowth from 100,000 to 1,000,000 (goal ≤ 12×):\n\n| operation | 1M / 100k |\n|---|---:|\n");
        s.push_str(&growth);
    }
    s.push_str(
        "\nDatabase size after the first sync (entries + registered users + events + indexes):\n\n",
    );
    s.push_str("| size | MB | bytes per entry | entries | events |\n|---:|---:|---:|---:|---:|\n");
    for e in extra {
        s.push_str(e);
        s.push('\n');
    }
    s.push('\n');
    s.push_str(KEEP_MARK);
    s.push('\n');
    let kept = std::fs::read_to_string(&o.out)
        .ok()
        .and_then(|old| old.split_once(KEEP_MARK).map(|(_, k)| k.to_string()))
        .unwrap_or_default();
    s.push_str(&kept);
    std::fs::write(&o.out, s).unwrap();
    eprintln!("wrote {}", o.out.display());
}

// ---------------------------------------------------------------------------------------
// Children: one measured phase each.

fn hwm_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|l| l.split_whitespace().next()?.parse::<f64>().ok())
        .map_or(f64::NAN, |kib| kib / 1024.0)
}

fn arg<'a>(args: &'a [String], name: &str) -> &'a str {
    args.iter()
        .position(|a| a == name)
        .and_then(|i| args.get(i + 1))
        .map(String::as_str)
        .unwrap_or_else(|| panic!("child needs {name}"))
}

/// CPU time of this process so far (user + system, all threads), from `/proc/self/stat`.
fn cpu_s() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the command name (which is in parentheses and may hold spaces).
    let rest = stat.rsplit_once(") ").map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<f64>().ok())
            .unwrap_or(0.0)
    };
    // utime and stime are fields 14 and 15 of stat(5); `rest` starts at field 3. The clock
    // tick is 100 Hz on Linux.
    (ticks(11) + ticks(12)) / 100.0
}

thread_local! {
    static LAST_CPU: std::cell::Cell<f64> = const { std::cell::Cell::new(0.0) };
}

/// Runs `f`; returns its value and wall seconds, and keeps its CPU seconds for [`last_cpu`].
fn timed<T>(f: impl FnOnce() -> T) -> (T, f64) {
    let c = cpu_s();
    let t = Instant::now();
    let v = f();
    let wall = t.elapsed().as_secs_f64();
    LAST_CPU.with(|l| l.set(cpu_s() - c));
    (v, wall)
}

/// CPU seconds of the last [`timed`] call.
fn last_cpu() -> f64 {
    LAST_CPU.with(|l| l.get())
}

fn child(args: &[String]) -> Value {
    let phase = args[0].as_str();
    match phase {
        "fetch" => child_fetch(args),
        "first-sync" => child_first_sync(args),
        "resync" => child_resync(args),
        "verify" => child_verify(args),
        "replay" => child_replay(args),
        "prep-cooling" => child_prep_cooling(args),
        "expire" => child_expire(args),
        "prep-available" => child_prep_available(args),
        "allocate" => child_allocate(args),
        "profile-sync" => child_profile_sync(args),
        "api" => child_api(args),
        other => panic!("unknown phase {other}"),
    }
}

fn child_fetch(args: &[String]) -> Value {
    let rig = Rig::client(arg(args, "--url"));
    let n: usize = arg(args, "--n").parse().unwrap();
    let reps: usize = arg(args, "--reps").parse().unwrap();
    let (mut fetches, mut cpus) = (Vec::new(), Vec::new());
    for _ in 0..reps {
        let (users, s) = timed(|| rig.fetch());
        assert_eq!(users.len(), n);
        fetches.push(s);
        cpus.push(last_cpu());
    }
    let hwm = hwm_mib();
    let pages = rig.capture_pages();
    let mut parses = Vec::new();
    for _ in 0..reps {
        let (count, s) = timed(|| {
            pages
                .iter()
                .map(|p| parse_users_page(p).unwrap().users.len())
                .sum::<usize>()
        });
        assert_eq!(count, n);
        parses.push(s);
    }
    json!({
        "fetch_s": median(fetches),
        "cpu_s": median(cpus),
        "parse_s": median(parses),
        "hwm_mib": hwm,
        "pages": pages.len(),
        "bytes": pages.iter().map(|p| p.len()).sum::<usize>(),
    })
}

fn db_bytes(dir: &Path) -> u64 {
    std::fs::metadata(dir.join(numinv::store::DB_FILE)).map_or(0, |m| m.len())
}

fn child_first_sync(args: &[String]) -> Value {
    let rig = Rig::client(arg(args, "--url"));
    let n: u64 = arg(args, "--n").parse().unwrap();
    let dir = PathBuf::from(arg(args, "--dir"));
    let store = rig.store_in(&dir);
    let head = store.head().unwrap().0;
    let (tx, sync_s) = timed(|| rig.sync(&store, at(3, 12)));
    let cpu = last_cpu();
    let hwm = hwm_mib();
    assert_eq!(tx.get("users_added"), n);
    let entries = store.read().unwrap().count(Entity::Entry).unwrap();
    let events = store.head().unwrap().0;
    drop(store);
    let bytes = db_bytes(&dir);
    let store = Store::open(&dir, Duration::ZERO).unwrap();
    let rows = rig::changed_rows(&store, head);
    drop(store);
    let floor = rig::redb_floor(None, &rows).as_secs_f64();
    json!({
        "sync_s": sync_s, "cpu_s": cpu, "hwm_mib": hwm, "entries": entries, "events": events,
        "db_bytes": bytes, "rows": rows.len(), "floor_redb_s": floor,
    })
}

fn copy_dir(base: &str, out: &Path) {
    rig::copy_files(Path::new(base), out);
}

/// The floor base (every row of `entities` of the store at `base`), built once.
fn floor_base(base: &str, path: &Path, entities: &[Entity]) {
    if path.exists() {
        return;
    }
    let store = Store::open(Path::new(base), Duration::ZERO).unwrap();
    let rows = rig::logged_rows(&store, entities);
    drop(store);
    let tmp = tempfile::tempdir_in(path.parent().unwrap()).unwrap();
    let built = rig::floor_db(tmp.path(), &rows);
    std::fs::rename(built, path).unwrap();
}

fn child_resync(args: &[String]) -> Value {
    let rig = Rig::client(arg(args, "--url"));
    let base = arg(args, "--base");
    let dir = PathBuf::from(arg(args, "--dir"));
    copy_dir(base, &dir);
    let store = rig.store_in(&dir);
    let head = store.head().unwrap().0;
    let (tx, sync_s) = timed(|| rig.sync(&store, at(3, 13)));
    let cpu = last_cpu();
    let hwm = hwm_mib();
    assert!(tx.get("users_removed") > 0, "{tx:?}");
    let rows = rig::changed_rows(&store, head);
    drop(store);
    let fb = PathBuf::from(arg(args, "--floor-base"));
    floor_base(base, &fb, &[Entity::Entry, Entity::RegisteredUser]);
    let floor = rig::redb_floor(Some(&fb), &rows).as_secs_f64();
    json!({ "sync_s": sync_s, "cpu_s": cpu, "hwm_mib": hwm, "rows": rows.len(), "floor_redb_s": floor })
}

fn child_verify(args: &[String]) -> Value {
    let dir = PathBuf::from(arg(args, "--dir"));
    let reps: usize = arg(args, "--reps").parse().unwrap();
    let store = Store::open(&dir, Duration::ZERO).unwrap();
    let (mut verifies, mut cpus) = (Vec::new(), Vec::new());
    let mut events = 0;
    for _ in 0..reps {
        let (report, s) = timed(|| store.verify().unwrap());
        events = report.events;
        verifies.push(s);
        cpus.push(last_cpu());
    }
    let hwm = hwm_mib();
    let dump = tempfile::NamedTempFile::new_in(&dir).unwrap();
    assert_eq!(store.dump(dump.path()).unwrap(), events);
    let raw = dump_events(&std::fs::read(dump.path()).unwrap());
    let bodies: Vec<&[u8]> = raw.iter().map(|(_, b)| b.as_slice()).collect();
    let mut decodes = Vec::new();
    for _ in 0..reps {
        let (sum, s) = timed(|| {
            let mut n = 0u64;
            for body in &bodies {
                let rec: EventRecord<'_> = postcard::from_bytes(&body[1..body.len() - 32]).unwrap();
                n += rec.seq;
            }
            n
        });
        assert!(sum > 0);
        decodes.push(s);
    }
    json!({ "verify_s": median(verifies), "cpu_s": median(cpus), "decode_s": median(decodes), "events": events, "hwm_mib": hwm })
}

/// The `(seq, bytes)` of every event in a `log dump` file.
fn dump_events(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    let mut out = Vec::new();
    let mut at = 11; // magic
    while at < bytes.len() {
        let seq = u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        let len = u32::from_le_bytes(bytes[at + 8..at + 12].try_into().unwrap()) as usize;
        out.push((seq, bytes[at + 12..at + 12 + len].to_vec()));
        at += 12 + len;
    }
    out
}

fn child_replay(args: &[String]) -> Value {
    let src = Store::open(Path::new(arg(args, "--dir")), Duration::ZERO).unwrap();
    let out = PathBuf::from(arg(args, "--out"));
    let dst = Store::open(&out, Duration::ZERO).unwrap();
    let (last, replay_s) = timed(|| {
        dst.replay_from(LogSource::Store(&src), ReplayStop::End)
            .unwrap()
    });
    let cpu = last_cpu();
    let hwm = hwm_mib();
    assert_eq!(last, src.head().unwrap().0);
    drop(dst);
    // Floor: the same event rows and final logged rows written in batches of 20,000 per
    // transaction, as the replay does (non-durable batches, the last one durable).
    let dump = tempfile::NamedTempFile::new_in(&out).unwrap();
    src.dump(dump.path()).unwrap();
    let events = dump_events(&std::fs::read(dump.path()).unwrap());
    let rows = rig::logged_rows(&src, &Entity::ALL);
    let floor = replay_floor(&events, &rows);
    json!({ "replay_s": replay_s, "cpu_s": cpu, "hwm_mib": hwm, "floor_redb_s": floor })
}

fn replay_floor(events: &[(u64, Vec<u8>)], rows: &[(Vec<u8>, Option<Vec<u8>>)]) -> f64 {
    use redb::{Database, Durability, TableDefinition};
    const EV: TableDefinition<u64, &[u8]> = TableDefinition::new("events");
    const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("t");
    let dir = tempfile::tempdir().unwrap();
    let db = Database::create(dir.path().join("f.redb")).unwrap();
    let batch = 20_000;
    let t = Instant::now();
    let chunks = events.len().div_ceil(batch).max(1);
    let row_chunk = rows.len().div_ceil(chunks).max(1);
    for (i, ev) in events.chunks(batch).enumerate() {
        let mut w = db.begin_write().unwrap();
        let last = i + 1 == chunks;
        w.set_durability(if last {
            Durability::Immediate
        } else {
            Durability::None
        })
        .unwrap();
        {
            let mut e = w.open_table(EV).unwrap();
            for (seq, v) in ev {
                e.insert(*seq, v.as_slice()).unwrap();
            }
            let mut tt = w.open_table(T).unwrap();
            for (k, v) in rows.iter().skip(i * row_chunk).take(row_chunk) {
                tt.insert(k.as_slice(), v.as_deref().unwrap_or_default())
                    .unwrap();
            }
        }
        w.commit().unwrap();
    }
    t.elapsed().as_secs_f64()
}

fn child_prep_cooling(args: &[String]) -> Value {
    let dir = PathBuf::from(arg(args, "--dir"));
    let n: usize = arg(args, "--n").parse().unwrap();
    let mut csv = String::from("number,status,usage,vendor,tag,release_date\n");
    for i in 0..n {
        csv.push_str(&format!(
            "+44203{i:07},Cooling,Device,AudioCodes,\"Registered user is either offline or deleted, release date 2026-12-05\",2026-12-05\n"
        ));
    }
    let store = Store::open(&dir, Duration::ZERO).unwrap();
    let r = ops::numbers::import(
        &Ctx::new(&store, at(3, 12), "cli"),
        csv.as_bytes(),
        "cooling.csv",
        rig::LONDON,
        None,
    )
    .unwrap();
    assert_eq!(r.created.len(), n);
    json!({})
}

fn child_expire(args: &[String]) -> Value {
    let base = arg(args, "--base");
    let dir = PathBuf::from(arg(args, "--dir"));
    let n: u64 = arg(args, "--n").parse().unwrap();
    copy_dir(base, &dir);
    let store = Store::open(&dir, Duration::ZERO).unwrap();
    let head = store.head().unwrap().0;
    let (r, expire_s) =
        timed(|| ops::admin::expire(&Ctx::new(&store, at(5, 12), "expiry")).unwrap());
    let cpu = last_cpu();
    let hwm = hwm_mib();
    assert_eq!(r.released, n);
    let rows = rig::changed_rows(&store, head);
    drop(store);
    let fb = PathBuf::from(arg(args, "--floor-base"));
    floor_base(base, &fb, &[Entity::Entry]);
    let floor = rig::redb_floor(Some(&fb), &rows).as_secs_f64();
    json!({ "expire_s": expire_s, "cpu_s": cpu, "hwm_mib": hwm, "floor_redb_s": floor })
}

fn child_prep_available(args: &[String]) -> Value {
    let dir = PathBuf::from(arg(args, "--dir"));
    let n: usize = arg(args, "--n").parse().unwrap();
    let store = Store::open(&dir, Duration::ZERO).unwrap();
    let range = format!("+442030000000..+44203{:07}", n - 1);
    let r = ops::numbers::add(
        &Ctx::new(&store, at(3, 12), "cli"),
        &[],
        Some(&range),
        rig::LONDON,
        None,
    )
    .unwrap();
    assert_eq!(r.created.len(), n);
    json!({})
}

fn child_allocate(args: &[String]) -> Value {
    let dir = PathBuf::from(arg(args, "--dir"));
    copy_dir(arg(args, "--base"), &dir);
    let store = Store::open(&dir, Duration::ZERO).unwrap();
    let cpu0 = cpu_s();
    let start = Instant::now();
    let latencies: Vec<Duration> = std::thread::scope(|s| {
        let handles: Vec<_> = (0..THREADS)
            .map(|t| {
                let store = &store;
                s.spawn(move || {
                    let ctx = Ctx::new(store, at(3, 12), format!("bench-{t}"));
                    (0..ALLOCS_PER_THREAD)
                        .map(|_| {
                            let t0 = Instant::now();
                            ops::numbers::allocate(&ctx, None, None, None).unwrap();
                            t0.elapsed()
                        })
                        .collect::<Vec<_>>()
                })
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|h| h.join().unwrap())
            .collect()
    });
    let alloc_s = start.elapsed().as_secs_f64();
    let cpu = cpu_s() - cpu0;
    let hwm = hwm_mib();
    let used = store
        .read()
        .unwrap()
        .status_counts()
        .unwrap()
        .get(&numinv::domain::Status::Used)
        .copied()
        .unwrap_or(0);
    assert_eq!(
        used as usize,
        THREADS * ALLOCS_PER_THREAD,
        "every allocation unique"
    );
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let p99 = ms[(ms.len() * 99 / 100).min(ms.len() - 1)];
    drop(store);
    json!({ "alloc_s": alloc_s, "cpu_s": cpu, "p99_ms": p99, "hwm_mib": hwm, "floor_s": alloc_floor(&dir) })
}

/// The same number of one-row durable redb commits from the same 8 threads, on one database.
fn alloc_floor(dir: &Path) -> f64 {
    use redb::{Database, Durability, TableDefinition};
    const T: TableDefinition<&[u8], &[u8]> = TableDefinition::new("t");
    let db = Database::create(dir.join("floor.redb")).unwrap();
    let value = vec![7u8; 120];
    let t = Instant::now();
    std::thread::scope(|s| {
        for th in 0..THREADS {
            let (db, value) = (&db, &value);
            s.spawn(move || {
                for i in 0..ALLOCS_PER_THREAD {
                    let mut w = db.begin_write().unwrap();
                    w.set_durability(Durability::Immediate).unwrap();
                    {
                        let mut t = w.open_table(T).unwrap();
                        let k = format!("+44203{:07}", th * 1000 + i);
                        t.insert(k.as_bytes(), value.as_slice()).unwrap();
                    }
                    w.commit().unwrap();
                }
            });
        }
    });
    t.elapsed().as_secs_f64()
}

/// For profilers (`valgrind --tool=callgrind`, `perf record`): the simulator in this process,
/// a first sync and a 1 % churn resync of `--n` users, with nothing else around them.
fn child_profile_sync(args: &[String]) -> Value {
    let n: usize = arg(args, "--n").parse().unwrap();
    let rig = Rig::new(n);
    let dir = tempfile::tempdir().unwrap();
    let store = rig.store_in(dir.path());
    let (_, first_s) = timed(|| rig.sync(&store, at(3, 12)));
    let first_cpu = last_cpu();
    rig.churn(n / 100, 0);
    let (_, resync_s) = timed(|| rig.sync(&store, at(3, 13)));
    json!({
        "first_sync_s": first_s, "first_sync_cpu_s": first_cpu,
        "resync_s": resync_s, "resync_cpu_s": last_cpu(), "hwm_mib": hwm_mib(),
    })
}

const API_CLIENTS: usize = 8;
const API_REQUESTS_PER_CLIENT: usize = 50;

/// `GET /api/numbers?limit=100` served by `numinv::api` on loopback from a copy of an
/// inventory of `--n` Available numbers: 8 concurrent clients × 50 requests, one
/// process (server and clients share its 2-worker runtime). Floor: the same 400 reads of
/// the first 100 entries through `ops::numbers::list` in-process, 8 threads.
fn child_api(args: &[String]) -> Value {
    use std::sync::Arc;

    let dir = PathBuf::from(arg(args, "--dir"));
    copy_dir(arg(args, "--base"), &dir);
    let store = Arc::new(Store::open(&dir, Duration::ZERO).unwrap());
    let (token, _) = ops::tokens::create(
        &Ctx::new(&store, at(3, 12), "cli"),
        "bench",
        ops::tokens::Role::Read,
    )
    .unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let state = numinv::api::ApiState::new(
        store.clone(),
        Arc::new(numinv::clock::FixedClock(at(3, 12))),
    );
    let (url, latencies, wall, cpu) =
        rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!(
                "http://{}/api/numbers?limit=100",
                listener.local_addr().unwrap()
            );
            tokio::spawn(numinv::api::serve(listener, state, std::future::pending()));
            let client =
                hyper_util::client::legacy::Client::builder(hyper_util::rt::TokioExecutor::new())
                    .build_http::<http_body_util::Empty<hyper::body::Bytes>>();
            let get = |client: hyper_util::client::legacy::Client<_, _>,
                       url: String,
                       token: String| async move {
                use http_body_util::BodyExt;
                let req = http::Request::get(url)
                    .header(http::header::AUTHORIZATION, format!("Bearer {token}"))
                    .body(http_body_util::Empty::new())
                    .unwrap();
                let resp = client.request(req).await.unwrap();
                assert_eq!(resp.status(), 200);
                let body = resp.into_body().collect().await.unwrap().to_bytes();
                assert!(body.len() > 100);
            };
            // Warm-up: one request, so connection set-up is not in the figures.
            get(client.clone(), url.clone(), token.clone()).await;
            let cpu0 = cpu_s();
            let start = Instant::now();
            let tasks: Vec<_> = (0..API_CLIENTS)
                .map(|_| {
                    let (client, url, token) = (client.clone(), url.clone(), token.clone());
                    tokio::spawn(async move {
                        let mut lat = Vec::with_capacity(API_REQUESTS_PER_CLIENT);
                        for _ in 0..API_REQUESTS_PER_CLIENT {
                            let t = Instant::now();
                            get(client.clone(), url.clone(), token.clone()).await;
                            lat.push(t.elapsed());
                        }
                        lat
                    })
                })
                .collect();
            let mut latencies = Vec::new();
            for t in tasks {
                latencies.extend(t.await.unwrap());
            }
            (
                url,
                latencies,
                start.elapsed().as_secs_f64(),
                cpu_s() - cpu0,
            )
        });
    let hwm = hwm_mib();
    let mut ms: Vec<f64> = latencies.iter().map(|d| d.as_secs_f64() * 1e3).collect();
    ms.sort_by(f64::total_cmp);
    let p99 = ms[(ms.len() * 99 / 100).min(ms.len() - 1)];
    // Floor: the same reads, in-process.
    let (_, floor_s) = timed(|| {
        std::thread::scope(|s| {
            for _ in 0..API_CLIENTS {
                let store = &store;
                s.spawn(move || {
                    for _ in 0..API_REQUESTS_PER_CLIENT {
                        let filter = numinv::store::EntryFilter {
                            limit: Some(100),
                            ..Default::default()
                        };
                        let page = ops::numbers::list(&store.read().unwrap(), &filter).unwrap();
                        assert_eq!(page.len(), 100);
                    }
                });
            }
        })
    });
    drop(url);
    json!({ "api_s": wall, "cpu_s": cpu, "p99_ms": p99, "hwm_mib": hwm, "floor_s": floor_s })
}
