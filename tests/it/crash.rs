//! Issue 7: crash safety (DESIGN §7, third bar). The real binary runs `numinv sync` against a
//! slow simulator served from this process, and is killed with SIGKILL (`Child::kill`) at
//! many points: while paging, after the last page while it applies, and around the commit.
//! After every kill the data dir must reopen, `log verify` must pass, the sync must be all or
//! nothing (the previous state exactly, or the complete sync), and the next sync must converge
//! to the simulator's truth. The same for `numbers add --range` (10 000 numbers by default).
//!
//! Every kill point starts from a copy of one template data dir, so all of them kill the same
//! sync (≈ 400 registered users go offline) and only the moment of the kill varies. The pause
//! before each kill is the variable under test, not a wait for work to finish.
//! `NUMINV_CRASH_POINTS` sets the number of kill points (default 50).

use crate::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use numinv::store::{StateRow, Store};
use numinv_sim::{
    ChurnRates, FaultKind, FaultSpec, ServeOptions, SimConfig, Simulator, Truth, UserOp,
};

const HIERARCHY: &str = "Provider/Contoso/London";
const NOW: &str = "2026-12-03T12:00:00Z";
const PASSWORD_VAR: &str = "NUMINV_CRASH_TEST_ARM_PASSWORD";

fn numinv(data: &Path, args: &[&str]) -> std::process::Command {
    let mut c = common::command(data, &[]);
    c.arg("--now").arg(NOW).args(args);
    c.env(PASSWORD_VAR, "sim-password");
    c.stdout(Stdio::piped()).stderr(Stdio::piped());
    c
}

fn ok(data: &Path, args: &[&str]) -> String {
    let out = numinv(data, args).output().unwrap();
    assert!(
        out.status.success(),
        "numinv {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for f in std::fs::read_dir(from).unwrap() {
        let f = f.unwrap();
        std::fs::copy(f.path(), to.join(f.file_name())).unwrap();
    }
}

fn held_keys(t: &Truth) -> BTreeSet<String> {
    t.held
        .iter()
        .map(|n| {
            if n.starts_with('+') {
                n.clone()
            } else {
                format!("{n}@{HIERARCHY}")
            }
        })
        .collect()
}

/// What a reopened data dir holds: its rows and its holders index, after `Store::verify`.
fn reopen(data: &Path) -> (Vec<StateRow>, BTreeSet<String>, u64) {
    let store = Store::open(data, Duration::from_secs(5)).expect("reopen after the kill");
    store.verify().expect("the log verifies after the kill");
    let rows = store.state_rows().unwrap();
    let held = store
        .read()
        .unwrap()
        .held_keys()
        .unwrap()
        .into_keys()
        .collect::<BTreeSet<String>>();
    let users = store
        .read()
        .unwrap()
        .count(numinv::store::Entity::RegisteredUser)
        .unwrap();
    (rows, held, users)
}

/// A short account of how two sets of numbers differ.
fn diff(got: &BTreeSet<String>, want: &BTreeSet<String>) -> String {
    let extra: Vec<_> = got.difference(want).take(5).collect();
    let missing: Vec<_> = want.difference(got).take(5).collect();
    format!(
        "{} held, {} expected; extra {extra:?}…, missing {missing:?}…",
        got.len(),
        want.len()
    )
}

fn kill_after(mut cmd: std::process::Command, delay: Duration) -> bool {
    let mut child = cmd.spawn().unwrap();
    std::thread::sleep(delay);
    let finished = child.try_wait().unwrap().is_some();
    let _ = child.kill();
    child.wait().unwrap();
    finished
}

fn points() -> u32 {
    std::env::var("NUMINV_CRASH_POINTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
}

#[test]
fn sync_killed_at_any_point_is_all_or_nothing_and_converges() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::new(SimConfig {
        users: 800,
        nodes: 2,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let running = rt
        .block_on(sim.serve(ServeOptions {
            http: Some("127.0.0.1:0".parse().unwrap()),
            https: None,
        }))
        .unwrap();
    let url = running.http_url.clone().unwrap();
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("template");
    ok(
        &template,
        &[
            "connections",
            "add",
            "lon",
            "--url",
            &url,
            "--username",
            "admin",
            "--password-env",
            PASSWORD_VAR,
            "--hierarchy",
            HIERARCHY,
            "--region",
            "GB",
            "--page-size",
            "100",
            "--timeout-ms",
            "20000",
        ],
    );
    ok(&template, &["sync", "lon"]);

    // The sync under test: one node goes dark, so about half the users go offline and their
    // numbers cool, while every page is slow.
    let truth_before = held_keys(&sim.truth());
    let node = sim.truth().users[0].node_id.clone();
    sim.script(&[UserOp::NodeDown { node_id: node }]).unwrap();
    let truth = held_keys(&sim.truth());
    assert!(
        truth.len() < truth_before.len(),
        "the node outage changes nothing"
    );
    sim.arm_fault(FaultSpec::new(FaultKind::Latency { ms: 10 }));

    let (template_rows, _, _) = reopen(&template);
    let requests = || {
        sim.stats()
            .requests
            .get("registered_users")
            .copied()
            .unwrap_or(0)
    };

    // One uninterrupted run: how long the sync takes and how many pages it reads.
    let full = root.path().join("full");
    copy_dir(&template, &full);
    let r0 = requests();
    let t0 = Instant::now();
    ok(&full, &["sync", "lon"]);
    let mut span = t0.elapsed();
    let pages = requests() - r0;
    // A second, warm run: the shorter one sets the scale.
    let again = root.path().join("again");
    copy_dir(&template, &again);
    let t0 = Instant::now();
    ok(&again, &["sync", "lon"]);
    span = span.min(t0.elapsed());
    let (full_rows, full_held, full_users) = reopen(&full);
    assert!(
        full_held == truth,
        "a complete sync does not give the truth: {}",
        diff(&full_held, &truth)
    );

    let n = points();
    let (mut during_fetch, mut after_fetch, mut committed) = (0, 0, 0);
    for i in 0..n {
        // Spread over 1.3 × the sync's length; the last points land after the commit.
        let delay = span.mul_f64(1.3 * f64::from(i) / f64::from(n - 1));
        let data = root.path().join(format!("kill-{i}"));
        copy_dir(&template, &data);
        let r = requests();
        let finished = kill_after(numinv(&data, &["sync", "lon"]), delay);
        let served = requests() - r;

        let out = ok(&data, &["log", "verify"]);
        assert!(
            out.starts_with("log ok:"),
            "point {i}: log verify says {out}"
        );
        let (rows, held, users) = reopen(&data);
        if rows == template_rows {
            assert!(
                !finished,
                "point {i}: the sync finished but changed nothing"
            );
            if served >= pages {
                after_fetch += 1;
            } else {
                during_fetch += 1;
            }
        } else {
            assert!(
                held == truth,
                "point {i} ({delay:?}): a partial sync was committed: {}",
                diff(&held, &truth)
            );
            assert_eq!(users, full_users, "point {i}: a partial user cache");
            // The clock is fixed (--now) and the device the same, so a complete sync writes
            // exactly the rows of the uninterrupted run.
            assert!(
                rows == full_rows,
                "point {i}: the rows differ from a complete sync"
            );
            committed += 1;
        }
        // The next sync converges.
        ok(&data, &["sync", "lon"]);
        let (_, held, _) = reopen(&data);
        assert!(
            held == truth,
            "point {i}: the sync after the kill does not converge: {}",
            diff(&held, &truth)
        );
        std::fs::remove_dir_all(&data).unwrap();
    }
    eprintln!(
        "{n} kill points over {span:?}: {during_fetch} while paging, {after_fetch} after the last page (applying), {committed} after the commit"
    );
    assert!(during_fetch > 0, "no kill landed while paging");
    assert!(after_fetch > 0, "no kill landed in the apply phase");
    assert!(committed > 0, "no kill landed after the commit");
    drop(running);
}

/// Numbers in the killed range add: 10 000 by default (the debug build writes them in a few
/// seconds), `NUMINV_CRASH_RANGE=100000` for the full size.
fn range_len() -> u64 {
    std::env::var("NUMINV_CRASH_RANGE")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

#[test]
fn range_add_killed_mid_write_is_all_or_nothing() {
    let root = tempfile::tempdir().unwrap();
    let template = root.path().join("template");
    ok(&template, &["numbers", "add", "+442079460000"]);
    let (template_rows, _, _) = reopen(&template);
    let range = format!("+442070000000..+44207{:07}", range_len() - 1);
    let range = range.as_str();
    let full = root.path().join("full");
    copy_dir(&template, &full);
    let t0 = Instant::now();
    ok(&full, &["numbers", "add", "--range", range]);
    let span = t0.elapsed();
    let (full_rows, _, _) = reopen(&full);
    assert!(full_rows.len() as u64 > range_len());

    let (mut nothing, mut all) = (0, 0);
    for i in 0..6u32 {
        let delay = span.mul_f64(1.1 * f64::from(i) / 5.0);
        let data = root.path().join(format!("kill-{i}"));
        copy_dir(&template, &data);
        kill_after(numinv(&data, &["numbers", "add", "--range", range]), delay);
        let (rows, _, _) = reopen(&data);
        if rows == template_rows {
            nothing += 1;
        } else {
            // Everything but the timestamps of the same change: count the rows.
            assert_eq!(
                rows.len(),
                full_rows.len(),
                "point {i}: a partial range add"
            );
            all += 1;
        }
        std::fs::remove_dir_all(&data).unwrap();
    }
    eprintln!("range add over {span:?}: {nothing} kills left nothing, {all} after the commit");
    assert!(nothing > 0);
}
