//! Issue "AudioCodes sync": the lifecycle through the real client against the simulator,
//! with a fixed clock.

use std::collections::HashMap;

use chrono::{DateTime, TimeZone, Utc};
use numinv::arm::{parse_users_page, Secret};
use numinv::clock::FixedClock;
use numinv::domain::connection::{AuthMethod, Connection};
use numinv::domain::{Status, Vendor};
use numinv::ops::{self, Ctx};
use numinv::store::{Entity, Store, TxStatus};
use numinv::sync::{self, engine, SyncOptions};
use numinv_sim::{
    ChurnRates, FaultKind, FaultSpec, FaultTarget, RunningSim, ServeOptions, SimConfig, Simulator,
    UserOp,
};

const LONDON: &str = "Provider/Contoso/London";

fn at(d: u32, h: u32) -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, d, h, 0, 0).unwrap()
}

struct Rig {
    _dir: tempfile::TempDir,
    store: Store,
    sim: Simulator,
    _running: RunningSim,
    conn: Connection,
    rt: tokio::runtime::Runtime,
}

impl Rig {
    fn new(users: usize) -> Rig {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let sim = Simulator::new(SimConfig {
            users,
            churn: ChurnRates::none(),
            ..SimConfig::default()
        });
        let running = rt
            .block_on(sim.serve(ServeOptions {
                http: Some("127.0.0.1:0".parse().unwrap()),
                https: None,
            }))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
        let conn = Connection {
            name: "lon".into(),
            url: running.http_url.clone().unwrap(),
            base_path: "/ARM/v1".into(),
            username: "admin".into(),
            auth_method: AuthMethod::Basic,
            token_url: None,
            scope: None,
            ca_pem: None,
            pin_sha256: None,
            hierarchy: LONDON.into(),
            region: Some("GB".into()),
            sync_on_save: false,
            page_size: 1000,
            timeout_ms: 2_000,
        };
        ops::connections::add(
            &Ctx::new(&store, at(1, 0), "cli"),
            conn.clone(),
            &Secret::from("sim-password"),
        )
        .unwrap();
        Rig {
            _dir: dir,
            store,
            sim,
            _running: running,
            conn,
            rt,
        }
    }

    fn sync(
        &self,
        now: DateTime<Utc>,
        force: bool,
    ) -> Result<numinv::store::TxRecord, ops::OpError> {
        self.rt.block_on(engine::run_sync(
            &self.store,
            &FixedClock(now),
            &self.conn,
            SyncOptions { force },
            &mut |_| {},
        ))
    }

    fn add_user(&self, id: &str, node: &str, number: &str) {
        self.sim
            .script(&[UserOp::Add {
                id: Some(id.into()),
                node_id: node.into(),
                aor: format!("{number}@contoso.example"),
                number: Some(number.into()),
                online: true,
            }])
            .unwrap();
    }

    fn entry(&self, key: &str) -> numinv::domain::Entry {
        self.store
            .read()
            .unwrap()
            .entry(key)
            .unwrap()
            .unwrap_or_else(|| panic!("{key} missing"))
    }
}

#[test]
fn fixture_pages_give_the_documented_outcome() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    let mut users = Vec::new();
    for page in [
        "registered-users-page-1.json",
        "registered-users-page-2.json",
    ] {
        let body = std::fs::read(format!(
            "{}/tests/fixtures/arm/{page}",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap();
        users.extend(parse_users_page(&body).unwrap().users);
    }
    let conn = Connection {
        name: "fx".into(),
        url: "https://arm.example:443".into(),
        base_path: "/ARM/v1".into(),
        username: "u".into(),
        auth_method: AuthMethod::Basic,
        token_url: None,
        scope: None,
        ca_pem: None,
        pin_sha256: None,
        hierarchy: LONDON.into(),
        region: Some("GB".into()),
        sync_on_save: false,
        page_size: 100,
        timeout_ms: 1000,
    };
    let apply = |users: &[numinv::arm::RegisteredUser], now| {
        let cached = engine::to_cached(&conn, users);
        store
            .write("sync", "sync:fx", now, |w| {
                engine::apply_users(w, &conn, &cached, SyncOptions::default())
            })
            .unwrap()
            .tx
            .unwrap()
    };
    let tx = apply(&users, at(3, 10));
    assert_eq!(tx.status, TxStatus::SuccessWithWarnings);
    assert_eq!(tx.get("unmapped"), 2);
    assert_eq!(tx.get("entries_created"), 4);
    let r = store.read().unwrap();
    let device: Vec<String> = r
        .entries(&Default::default())
        .unwrap()
        .into_iter()
        .filter(|e| e.is_audiocodes_device())
        .map(|e| e.key())
        .collect();
    assert_eq!(
        device,
        [
            "+14155550107",
            "+442079460001",
            "+442079460002",
            "1004@Provider/Contoso/London"
        ]
    );
    assert!(r.entry("+442079460003").unwrap().is_none());
    drop(r);
    // ru-000001 disappears: ru-000006 still holds +442079460001.
    let without_1: Vec<_> = users
        .iter()
        .filter(|u| u.key != "ru-000001")
        .cloned()
        .collect();
    apply(&without_1, at(3, 11));
    assert!(store
        .read()
        .unwrap()
        .entry("+442079460001")
        .unwrap()
        .unwrap()
        .is_audiocodes_device());
    let without_6: Vec<_> = without_1
        .iter()
        .filter(|u| u.key != "ru-000006")
        .cloned()
        .collect();
    apply(&without_6, at(3, 12));
    assert_eq!(
        store
            .read()
            .unwrap()
            .entry("+442079460001")
            .unwrap()
            .unwrap()
            .status,
        Status::Cooling
    );
}

#[test]
fn offline_cools_online_restores_expiry_releases() {
    let rig = Rig::new(0);
    rig.add_user("ru-00000001", "1", "+442079460042");
    rig.add_user("ru-00000002", "1", "+442079460043");
    rig.sync(at(3, 9), false).unwrap();
    assert!(rig.entry("+442079460042").is_audiocodes_device());

    rig.sim
        .script(&[
            UserOp::Offline {
                id: "ru-00000001".into(),
            },
            UserOp::Offline {
                id: "ru-00000002".into(),
            },
        ])
        .unwrap();
    let tx = rig.sync(at(3, 10), false).unwrap();
    assert_eq!(tx.get("entries_cooled"), 2);
    let e = rig.entry("+442079460042");
    assert_eq!(e.status, Status::Cooling);
    assert_eq!(e.release_date.unwrap().to_string(), "2026-12-05");
    assert_eq!(
        e.tag,
        "Registered user is either offline or deleted, release date 2026-12-05"
    );
    assert_eq!(e.vendor, Vendor::AudioCodes);

    // Why is it Cooling? The log names the registered user that went offline.
    let why = ops::numbers::history_with_causes(&rig.store.read().unwrap(), "+442079460042", None)
        .unwrap();
    let cause = why
        .iter()
        .find(|e| e.entity == Entity::RegisteredUser && e.tx_id == tx.id)
        .expect("the user change is shown with the cooling");
    assert_eq!(cause.key, "lon/ru-00000001");
    rig.sim
        .script(&[UserOp::Online {
            id: "ru-00000001".into(),
        }])
        .unwrap();
    let tx = rig.sync(at(4, 0), false).unwrap();
    assert_eq!(tx.get("entries_restored"), 1);
    let back = rig.entry("+442079460042");
    assert!(back.is_audiocodes_device());
    assert!(back.tag.is_empty() && back.release_date.is_none());

    let ctx = Ctx::new(
        &rig.store,
        "2026-12-05T00:00:01Z".parse().unwrap(),
        "expiry",
    );
    let r = ops::admin::expire(&ctx).unwrap();
    assert_eq!(r.released, 1);
    let free = rig.entry("+442079460043");
    assert_eq!(free.status, Status::Available);
    assert!(free.usage.is_empty() && free.vendor == Vendor::None && free.tag.is_empty());
    rig.store.verify().unwrap();
}

#[test]
fn macro_sets_cooling_days_and_the_global_setting_never_applies() {
    let rig = Rig::new(0);
    let ctx = Ctx::new(&rig.store, at(1, 0), "cli");
    ops::admin::set_setting(&ctx, "number_inventory_cooling_days", "30").unwrap();
    rig.add_user("ru-00000001", "1", "+442079460042");
    rig.sync(at(3, 9), false).unwrap();
    rig.sim
        .script(&[UserOp::Delete {
            id: "ru-00000001".into(),
        }])
        .unwrap();
    rig.sync(at(3, 10), false).unwrap();
    assert_eq!(
        rig.entry("+442079460042").release_date.unwrap().to_string(),
        "2026-12-05"
    );

    ops::admin::set_macro(&ctx, "audiocodes_cooling_duration", "5", "Provider/Contoso").unwrap();
    rig.add_user("ru-00000002", "1", "+442079460050");
    rig.sync(at(3, 11), false).unwrap();
    rig.sim
        .script(&[UserOp::Offline {
            id: "ru-00000002".into(),
        }])
        .unwrap();
    rig.sync(at(3, 12), false).unwrap();
    assert_eq!(
        rig.entry("+442079460050").release_date.unwrap().to_string(),
        "2026-12-08"
    );
}

#[test]
fn a_number_on_two_nodes_cools_only_when_both_are_gone() {
    let rig = Rig::new(0);
    rig.add_user("ru-00000001", "1", "+442079460042");
    rig.add_user("ru-00000002", "2", "+442079460042");
    rig.sync(at(3, 9), false).unwrap();
    rig.sim
        .script(&[UserOp::NodeDown {
            node_id: "1".into(),
        }])
        .unwrap();
    rig.sync(at(3, 10), false).unwrap();
    assert!(rig.entry("+442079460042").is_audiocodes_device());
    rig.sim
        .script(&[UserOp::Delete {
            id: "ru-00000002".into(),
        }])
        .unwrap();
    rig.sync(at(3, 11), false).unwrap();
    assert_eq!(rig.entry("+442079460042").status, Status::Cooling);
}

#[test]
fn reserved_and_microsoft_numbers_are_conflicts_left_alone() {
    let rig = Rig::new(0);
    let ctx = Ctx::new(&rig.store, at(1, 0), "cli");
    ops::numbers::add(
        &ctx,
        &["+442079460060".into(), "+442079460061".into()],
        None,
        LONDON,
        None,
    )
    .unwrap();
    ops::numbers::reserve(&ctx, "+442079460060", None, "CEO", None, None).unwrap();
    rig.store
        .write::<_, ops::OpError>("test", "cli", at(1, 0), |w| {
            let mut e = w.entry("+442079460061")?.unwrap();
            e.status = Status::Used;
            e.vendor = Vendor::Microsoft;
            w.put_entry(&e)?;
            Ok(())
        })
        .unwrap();
    rig.add_user("ru-00000001", "1", "+442079460060");
    rig.add_user("ru-00000002", "1", "+442079460061");
    let tx = rig.sync(at(3, 9), false).unwrap();
    assert_eq!(tx.get("conflicts"), 2);
    assert_eq!(tx.status, TxStatus::SuccessWithWarnings);
    assert!(tx
        .notes
        .iter()
        .any(|n| n.contains("+442079460060") && n.contains("Reserved")));
    assert_eq!(rig.entry("+442079460060").status, Status::Reserved);
    assert_eq!(rig.entry("+442079460061").vendor, Vendor::Microsoft);
    let findings = sync::audit::audit(&rig.store.read().unwrap(), at(3, 9)).unwrap();
    assert_eq!(
        findings
            .iter()
            .filter(|f| f.kind == numinv::domain::audit::FindingKind::Conflict)
            .count(),
        2
    );
}

#[test]
fn a_sync_failing_on_page_7_of_10_changes_nothing() {
    let rig = Rig::new(0);
    for i in 0..100 {
        rig.add_user(&format!("ru-{i:08}"), "1", &format!("+4420794601{i:02}"));
    }
    let mut conn = rig.conn.clone();
    conn.page_size = 10;
    ops::connections::update(&Ctx::new(&rig.store, at(1, 0), "cli"), conn.clone(), None).unwrap();
    rig.sim.arm_fault(FaultSpec {
        kind: FaultKind::Status { code: 503 },
        skip: 6,
        count: u32::MAX,
        rate: 1.0,
        target: FaultTarget::RegisteredUsers,
    });
    let head = rig.store.head().unwrap();
    let err = rig
        .rt
        .block_on(engine::run_sync(
            &rig.store,
            &FixedClock(at(3, 9)),
            &conn,
            SyncOptions::default(),
            &mut |_| {},
        ))
        .unwrap_err()
        .to_string();
    assert!(err.contains("503"), "{err}");
    assert_eq!(rig.store.head().unwrap(), head);
    let r = rig.store.read().unwrap();
    assert_eq!(r.count(Entity::Entry).unwrap(), 0);
    let last = &r.transactions(1).unwrap()[0];
    assert_eq!(last.status, TxStatus::Fail);
    assert!(last.message.contains("503"), "{}", last.message);
}

#[test]
fn the_delete_guard_trips_at_threshold_plus_one() {
    let rig = Rig::new(0);
    for i in 0..20 {
        rig.add_user(&format!("ru-{i:08}"), "1", &format!("+4420794601{i:02}"));
    }
    rig.sync(at(3, 9), false).unwrap();
    ops::admin::set_macro(
        &Ctx::new(&rig.store, at(3, 9), "cli"),
        "PULL_SYNC_DELETE_THRESHOLD_AudioCodes",
        "3",
        "",
    )
    .unwrap();
    let del = |ids: std::ops::Range<usize>| {
        rig.sim
            .script(
                &ids.map(|i| UserOp::Delete {
                    id: format!("ru-{i:08}"),
                })
                .collect::<Vec<_>>(),
            )
            .unwrap();
    };
    del(0..3);
    rig.sync(at(3, 10), false).unwrap();
    del(3..7);
    let head = rig.store.head().unwrap();
    let err = rig.sync(at(3, 11), false).unwrap_err().to_string();
    assert!(
        err.contains("--force") && err.contains("4 registered users"),
        "{err}"
    );
    assert_eq!(rig.store.head().unwrap(), head);
    let tx = rig.sync(at(3, 11), true).unwrap();
    assert_eq!(tx.get("users_removed"), 4);
}

#[test]
fn audit_lists_corruptions_and_fix_repairs_them_without_deleting() {
    let rig = Rig::new(0);
    rig.add_user("ru-00000001", "1", "+442079460001");
    rig.add_user("ru-00000002", "1", "+442079460002");
    rig.sync(at(3, 9), false).unwrap();
    let ctx = Ctx::new(&rig.store, at(3, 9), "cli");
    ops::numbers::add(
        &ctx,
        &["+442079460003".into(), "+442079460004".into()],
        None,
        LONDON,
        None,
    )
    .unwrap();
    rig.store
        .write::<_, ops::OpError>("corrupt", "test", at(3, 9), |w| {
            let mut held = w.entry("+442079460001")?.unwrap();
            held.status = Status::Available;
            w.put_entry(&held)?;
            let mut orphan = w.entry("+442079460003")?.unwrap();
            orphan.status = Status::Used;
            orphan.vendor = Vendor::AudioCodes;
            orphan.usage = numinv::domain::Usage::only("Device");
            w.put_entry(&orphan)?;
            let mut cooling = w.entry("+442079460004")?.unwrap();
            cooling.status = Status::Cooling;
            w.put_entry(&cooling)?;
            w.delete(Entity::Entry, b"+442079460002")?;
            Ok(())
        })
        .unwrap();
    let count_before = rig.store.read().unwrap().count(Entity::Entry).unwrap();
    let findings = sync::audit::audit(&rig.store.read().unwrap(), at(3, 10)).unwrap();
    let kinds: HashMap<String, String> = findings
        .iter()
        .map(|f| (f.number.clone(), f.kind.as_str().to_string()))
        .collect();
    assert_eq!(kinds["+442079460001"], "held-not-device");
    assert_eq!(kinds["+442079460003"], "used-not-held");
    assert_eq!(kinds["+442079460004"], "cooling-without-date");
    assert_eq!(kinds["+442079460002"], "held-missing");
    assert_eq!(findings.len(), 4);
    let (_, tx) = sync::audit::fix(&Ctx::new(&rig.store, at(3, 10), "audit")).unwrap();
    assert!(tx.is_some());
    assert!(sync::audit::audit(&rig.store.read().unwrap(), at(3, 10))
        .unwrap()
        .is_empty());
    // Nothing deleted; the missing held number is back, at its connection's hierarchy.
    assert_eq!(
        rig.store.read().unwrap().count(Entity::Entry).unwrap(),
        count_before + 1
    );
    assert_eq!(rig.entry("+442079460002").hierarchy, LONDON);
    assert!(rig.entry("+442079460001").is_audiocodes_device());
    rig.store.verify().unwrap();
}
