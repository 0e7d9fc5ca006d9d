//! Issue "AudioCodes sync": the daemon's scheduler keeps the inventory equal to the
//! simulator's truth while the devices churn, on the simulator's virtual clock; and a
//! SIGTERM during a sync leaves all of it or none of it.

use crate::common;

use std::collections::BTreeSet;
use std::sync::Arc;

use numinv::arm::Secret;
use numinv::clock::{Clock, FnClock};
use numinv::daemon::{Ran, Scheduler, SchedulerOptions};
use numinv::domain::connection::{AuthMethod, Connection};
use numinv::domain::{entry_key, Status};
use numinv::ops::{self, Ctx};
use numinv::store::{EntryFilter, Store};
use numinv_sim::{
    ChurnRates, FaultKind, FaultSpec, FaultTarget, ServeOptions, SimConfig, Simulator,
};

fn connection(url: String, hierarchy: &str) -> Connection {
    Connection {
        name: "lon".into(),
        url,
        base_path: "/ARM/v1".into(),
        username: "admin".into(),
        auth_method: AuthMethod::Basic,
        token_url: None,
        scope: None,
        ca_pem: None,
        pin_sha256: None,
        hierarchy: hierarchy.into(),
        region: Some("GB".into()),
        sync_on_save: false,
        page_size: 100,
        timeout_ms: 2_000,
    }
}

#[test]
fn a_one_minute_schedule_keeps_the_inventory_equal_to_the_truth() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::new(SimConfig {
        seed: 7,
        users: 300,
        churn: ChurnRates {
            offline_per_user_day: 2.0,
            return_per_user_day: 4.0,
            delete_per_user_day: 0.3,
            create_per_day: 0.3,
            node_outage_per_day: 3.0,
            node_outage_minutes: 30,
        },
        ..SimConfig::default()
    });
    let running = rt.block_on(sim.serve(ServeOptions::loopback())).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    let sim_clock = sim.clone();
    let clock: Arc<dyn Clock> = Arc::new(FnClock(move || sim_clock.now()));
    let hierarchy = "Provider/Contoso/London";
    let conn = connection(running.http_url.clone().unwrap(), hierarchy);
    let ctx = Ctx::new(&store, clock.now(), "cli");
    ops::connections::add(&ctx, conn.clone(), &Secret::from("sim-password")).unwrap();
    ops::connections::set_schedule(&ctx, &conn.schedule_name(), Some(60), Some(true)).unwrap();
    // The delete guard is for real estates; this churn deletes on purpose.
    ops::admin::set_macro(&ctx, "PULL_SYNC_DELETE_THRESHOLD_AudioCodes", "1000", "").unwrap();

    let mut scheduler = Scheduler::new(SchedulerOptions::default());
    let mut syncs = 0;
    let mut cooled_seen = 0;
    for step in 0..120 {
        let ran = rt.block_on(scheduler.run_due(&store, clock.as_ref()));
        for r in &ran {
            if let Ran::Sync { result, .. } = r {
                let tx = result
                    .as_ref()
                    .unwrap_or_else(|e| panic!("step {step}: sync failed: {e}"));
                cooled_seen += tx.get("entries_cooled");
                syncs += 1;
            }
        }
        // After every scheduled run the inventory equals the truth.
        let truth = sim.truth();
        let held: BTreeSet<String> = truth.held.iter().map(|n| entry_key(n, hierarchy)).collect();
        let reader = store.read().unwrap();
        let used: BTreeSet<String> = reader
            .entries(&EntryFilter {
                status: Some(Status::Used),
                ..Default::default()
            })
            .unwrap()
            .into_iter()
            .filter(|e| e.is_audiocodes_device())
            .map(|e| e.key())
            .collect();
        assert_eq!(used, held, "step {step} at {}", truth.now);
        sim.advance(1);
    }
    assert_eq!(
        syncs, 120,
        "a one-minute schedule runs every virtual minute"
    );
    assert!(cooled_seen > 0, "the churn cooled numbers");
    store.verify().unwrap();
}

#[test]
fn sigterm_during_a_sync_leaves_all_of_it_or_none() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let sim = Simulator::new(SimConfig {
        users: 400,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let running = rt.block_on(sim.serve(ServeOptions::loopback())).unwrap();
    // Slow pages: the sync is still fetching when the signal comes.
    sim.arm_fault(FaultSpec {
        kind: FaultKind::Latency { ms: 150 },
        skip: 0,
        count: u32::MAX,
        rate: 1.0,
        target: FaultTarget::RegisteredUsers,
    });
    let s = common::Session::new();
    let url = running.http_url.clone().unwrap();
    let add = common::command(
        &s.data(),
        &[
            "connections",
            "add",
            "lon",
            "--url",
            &url,
            "--username",
            "admin",
            "--password-env",
            "P",
            "--hierarchy",
            "H",
            "--region",
            "GB",
            "--page-size",
            "20",
        ],
    )
    .env("P", "sim-password")
    .output()
    .unwrap();
    assert!(
        add.status.success(),
        "{}",
        String::from_utf8_lossy(&add.stderr)
    );
    s.ok(&[
        "schedules",
        "set",
        "ScheduleAudioCodes__lon",
        "--every",
        "10s",
        "--active",
        "true",
    ]);
    let head_before = s.head_seq();

    let mut child = common::command(&s.data(), &["serve", "--listen", "127.0.0.1:0"])
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait until the scheduled sync has fetched a page: the simulator counts requests.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while sim.stats().requests.values().sum::<u64>() < 2 {
        assert!(
            std::time::Instant::now() < deadline,
            "the scheduled sync never started"
        );
        // Polling a condition, bounded by the deadline above (not a fixed wait).
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let pid = child.id().to_string();
    assert!(std::process::Command::new("kill")
        .args(["-TERM", &pid])
        .status()
        .unwrap()
        .success());
    let status = child.wait().unwrap();
    assert!(status.success(), "serve did not stop cleanly: {status:?}");

    // All or nothing: either no change, or one complete sync of every user.
    let verify = s.ok(&["log", "verify"]);
    assert!(verify.starts_with("log ok"), "{verify}");
    let tx = s.ok(&["transactions", "list", "--format", "json"]);
    let txs: serde_json::Value = serde_json::from_str(&tx).unwrap();
    let syncs: Vec<&serde_json::Value> = txs
        .as_array()
        .unwrap()
        .iter()
        .filter(|t| t["kind"] == "SyncAudioCodes__lon" && t["status"] != "Fail")
        .collect();
    let store = Store::open(&s.data(), std::time::Duration::from_secs(5)).unwrap();
    let users = store
        .read()
        .unwrap()
        .count(numinv::store::Entity::RegisteredUser)
        .unwrap();
    drop(store);
    match syncs.len() {
        0 => {
            assert_eq!(users, 0);
            assert_eq!(s.head_seq(), head_before);
        }
        _ => assert_eq!(
            users as usize,
            sim.truth().users.len(),
            "a committed sync holds every user"
        ),
    }
}
