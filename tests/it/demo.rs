//! Issue "the main job end to end": the demo runs several virtual days against the
//! simulator and its final summary matches the simulator's ground truth.

use crate::common;

#[test]
fn demo_converges_to_the_ground_truth_over_several_virtual_days() {
    let s = common::Session::new();
    // 43,200 virtual minutes per real minute: each 1 s step is half a virtual day.
    let r = s.run(&[
        "demo",
        "--users",
        "500",
        "--run-for",
        "5s",
        "--speed",
        "43200",
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
