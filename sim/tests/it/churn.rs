//! Churn over simulated time, scripted ops, and the auto-advance task.

use std::collections::{BTreeMap, BTreeSet};

use numinv_sim::{ChurnRates, SimConfig, SimError, Simulator, Truth, UserOp};

fn held_of_online(t: &Truth) -> Vec<String> {
    let set: BTreeSet<String> = t
        .users
        .iter()
        .filter(|u| u.online)
        .filter_map(|u| u.number.clone())
        .collect();
    set.into_iter().collect()
}

fn online_map(t: &Truth) -> BTreeMap<String, bool> {
    t.users.iter().map(|u| (u.id.clone(), u.online)).collect()
}

#[test]
fn a_simulated_week_of_churn_changes_truth_and_keeps_held_consistent() {
    let sim = Simulator::new(SimConfig {
        users: 5_000,
        nodes: 4,
        churn: ChurnRates {
            offline_per_user_day: 0.3,
            return_per_user_day: 2.0,
            delete_per_user_day: 0.02,
            create_per_day: 0.02,
            node_outage_per_day: 1.0,
            node_outage_minutes: 120,
        },
        ..SimConfig::default()
    });
    let start = sim.truth();
    assert_eq!(start.held, held_of_online(&start));
    let first = online_map(&start);
    let max_initial = start.users.last().map(|u| u.id.clone()).unwrap_or_default();

    let mut went_offline = BTreeSet::new();
    let mut came_back = BTreeSet::new();
    let mut dark_node_seen = false;
    let mut prev = first.clone();
    for hour in 0..(7 * 24) {
        sim.advance(60);
        let t = sim.truth();
        assert_eq!(t.held, held_of_online(&t), "hour {hour}");
        assert_eq!(t.now, start.now + chrono::Duration::hours(hour + 1));
        let now = online_map(&t);
        for (id, &on) in &now {
            match prev.get(id) {
                Some(true) if !on => {
                    went_offline.insert(id.clone());
                }
                Some(false) if on && went_offline.contains(id) => {
                    came_back.insert(id.clone());
                }
                _ => {}
            }
        }
        // A dark node serves every one of its users as not registered.
        let mut per_node: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
        for u in &t.users {
            let e = per_node.entry(&u.node_id).or_default();
            e.0 += 1;
            e.1 += usize::from(u.registered);
        }
        dark_node_seen |= per_node.values().any(|&(n, reg)| n > 100 && reg == 0);
        prev = now;
    }
    let end = sim.truth();
    let end_ids: BTreeSet<&String> = end.users.iter().map(|u| &u.id).collect();
    let deleted = first.keys().filter(|id| !end_ids.contains(id)).count();
    let created = end.users.iter().filter(|u| u.id > max_initial).count();
    assert!(went_offline.len() > 500, "offline {}", went_offline.len());
    assert!(came_back.len() > 300, "back {}", came_back.len());
    assert!(deleted > 200, "deleted {deleted}");
    assert!(created > 200, "created {created}");
    assert!(dark_node_seen, "no node outage observed in a week");
    // Some deleted numbers come back on newly created users.
    let deleted_numbers: BTreeSet<&String> = start
        .users
        .iter()
        .filter(|u| !end_ids.contains(&u.id))
        .filter_map(|u| u.number.as_ref())
        .collect();
    let reused = end
        .users
        .iter()
        .filter(|u| u.id > max_initial)
        .filter_map(|u| u.number.as_ref())
        .filter(|n| deleted_numbers.contains(n))
        .count();
    assert!(reused > 10, "reused numbers {reused}");
    assert_ne!(start.held, end.held);
    let stats = sim.stats();
    for k in ["offline", "online", "deleted", "created", "node_outages"] {
        assert!(stats.churn[k] > 0, "{k}: {:?}", stats.churn);
    }
}

#[test]
fn no_churn_means_no_change() {
    let sim = Simulator::new(SimConfig {
        users: 500,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let a = sim.truth();
    sim.advance(7 * 24 * 60);
    let b = sim.truth();
    assert_eq!(a.users, b.users);
    assert_eq!(a.held, b.held);
    assert_eq!(b.now - a.now, chrono::Duration::days(7));
}

#[test]
fn advancing_a_day_over_a_million_users_is_proportional_to_events() {
    let t = std::time::Instant::now();
    let sim = Simulator::new(SimConfig {
        users: 1_000_000,
        ..SimConfig::default()
    });
    eprintln!("built 1M users in {:?}", t.elapsed());
    let t = std::time::Instant::now();
    sim.advance(24 * 60);
    let took = t.elapsed();
    eprintln!("advanced a day in {took:?}");
    let bound = if cfg!(debug_assertions) { 20.0 } else { 2.0 };
    assert!(took.as_secs_f64() < bound, "advance took {took:?}");
    let s = sim.stats();
    // About 5 % of a million go offline per day with the default rates.
    assert!(
        (30_000..70_000).contains(&s.churn["offline"]),
        "{:?}",
        s.churn
    );
}

#[test]
fn scripted_ops_change_truth_and_reject_unknown_targets() {
    let sim = Simulator::new(SimConfig {
        users: 20,
        nodes: 2,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    sim.script(&[
        UserOp::Add {
            id: Some("ru-00001000".into()),
            node_id: "1".into(),
            aor: "+442079460042@contoso.example".into(),
            number: Some("+442079460042".into()),
            online: true,
        },
        UserOp::Add {
            id: None,
            node_id: "2".into(),
            aor: "442079460042@192.0.2.7".into(),
            number: Some("+442079460042".into()),
            online: true,
        },
    ])
    .expect("add");
    let t = sim.truth();
    let added: Vec<_> = t
        .users
        .iter()
        .filter(|u| u.id.as_str() >= "ru-00001000")
        .collect();
    assert_eq!(added.len(), 2);
    assert_eq!(added[1].id, "ru-00001001");
    assert!(t.held.contains(&"+442079460042".to_string()));

    // Held while either record is online; a dark node hides its users.
    sim.script(&[UserOp::Offline {
        id: "ru-00001000".into(),
    }])
    .expect("offline");
    assert!(sim.truth().held.contains(&"+442079460042".to_string()));
    sim.script(&[UserOp::NodeDown {
        node_id: "2".into(),
    }])
    .expect("down");
    let t = sim.truth();
    assert!(!t.held.contains(&"+442079460042".to_string()));
    assert!(t
        .users
        .iter()
        .filter(|u| u.node_id == "2")
        .all(|u| !u.registered && !u.online));
    sim.script(&[
        UserOp::NodeUp {
            node_id: "2".into(),
        },
        UserOp::Online {
            id: "ru-00001000".into(),
        },
    ])
    .expect("up");
    assert!(sim.truth().held.contains(&"+442079460042".to_string()));
    sim.script(&[
        UserOp::Delete {
            id: "ru-00001000".into(),
        },
        UserOp::Delete {
            id: "ru-00001001".into(),
        },
    ])
    .expect("delete");
    assert!(!sim.truth().held.contains(&"+442079460042".to_string()));

    assert!(matches!(
        sim.script(&[UserOp::Delete {
            id: "ru-00001000".into()
        }]),
        Err(SimError::UnknownUser(_))
    ));
    assert!(matches!(
        sim.script(&[UserOp::Offline { id: "nope".into() }]),
        Err(SimError::BadId(_))
    ));
    assert!(matches!(
        sim.script(&[UserOp::NodeDown {
            node_id: "9".into()
        }]),
        Err(SimError::UnknownNode(_))
    ));
    let first = sim.truth().users[0].id.clone();
    assert!(matches!(
        sim.script(&[UserOp::Add {
            id: Some(first),
            node_id: "1".into(),
            aor: "x".into(),
            number: None,
            online: false,
        }]),
        Err(SimError::DuplicateUser(_))
    ));
}

#[tokio::test(start_paused = true)]
async fn auto_advance_moves_the_virtual_clock_with_real_time() {
    let sim = Simulator::new(SimConfig {
        users: 10,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let start = sim.now();
    let handle = sim.spawn_auto_advance(15, std::time::Duration::from_secs(1));
    // The paused clock jumps straight to each timer; nothing waits for real.
    tokio::time::sleep(std::time::Duration::from_millis(4_500)).await;
    // Let the ticker run its pending step, bounded.
    for _ in 0..100 {
        if sim.now() - start >= chrono::Duration::minutes(60) {
            break;
        }
        tokio::task::yield_now().await;
    }
    assert_eq!(sim.now() - start, chrono::Duration::minutes(60));
    handle.abort();
}
