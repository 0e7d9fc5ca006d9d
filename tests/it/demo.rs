//! Issue "the main job end to end": the demo runs several virtual days against the
//! simulator and its final summary matches the simulator's ground truth.

use crate::common;

#[test]
fn demo_converges_to_the_ground_truth_over_several_virtual_days() {
    let s = common::Session::new();
    // 8,640 virtual minutes per real minute: each 1 s step is 144 virtual minutes, so
    // 30 s cover three virtual days (the cooling period is two).
    let r = s.run(&[
        "demo",
        "--users",
        "500",
        "--run-for",
        "30s",
        "--speed",
        "8640",
        "--sync-every-s",
        "1",
    ]);
    assert!(r.ok, "demo failed: {}\n{}", r.err, r.out);
    assert!(r.out.contains("first sync done"), "{}", r.out);
    let summary = r.out.lines().last().unwrap_or("");
    assert!(
        summary.contains("matches the simulator's ground truth"),
        "{}",
        r.out
    );
    // Several virtual days passed: numbers cooled and some were released.
    assert!(
        r.out.contains("2026-12-05") || r.out.contains("2026-12-06"),
        "{}",
        r.out
    );
    assert!(s.ok(&["log", "verify"]).starts_with("log ok"));
}

#[test]
fn a_second_demo_on_a_kept_data_dir_syncs_its_own_simulator() {
    let s = common::Session::new();
    let demo = || {
        s.run(&[
            "demo",
            "--users",
            "200",
            "--run-for",
            "3s",
            "--speed",
            "43200",
            "--sync-every-s",
            "1",
        ])
    };
    let first = demo();
    assert!(first.ok, "first demo failed: {}\n{}", first.err, first.out);
    // The second run has a new simulator port and certificate, and starts its virtual
    // clock where the kept log ends.
    let second = demo();
    assert!(
        second.ok,
        "second demo failed: {}\n{}",
        second.err, second.out
    );
    assert!(
        second.out.contains("pointing it at this simulator"),
        "{}",
        second.out
    );
    assert!(!second.out.contains("sync failed"), "{}", second.out);
    let txs: serde_json::Value =
        serde_json::from_str(&s.ok(&["transactions", "list", "--format", "json"])).unwrap();
    let txs = txs.as_array().unwrap();
    assert!(txs.iter().all(|t| t["status"] != "Fail"), "{txs:#?}");
    let mut started: Vec<&str> = txs
        .iter()
        .map(|t| t["started_at"].as_str().unwrap())
        .collect();
    let listed = started.clone();
    started.sort_unstable_by(|a, b| b.cmp(a));
    assert_eq!(listed, started, "time ran backwards in the log");
    assert!(s.ok(&["log", "verify"]).starts_with("log ok"));
}
