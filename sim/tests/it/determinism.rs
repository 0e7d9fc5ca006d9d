//! Same seed and same calls give byte-identical truth; another seed differs.

use numinv_sim::{ChurnRates, SimConfig, Simulator, UserOp};

fn run(seed: u64) -> Vec<u8> {
    let sim = Simulator::new(SimConfig {
        seed,
        users: 5_000,
        churn: ChurnRates {
            offline_per_user_day: 0.2,
            return_per_user_day: 1.0,
            delete_per_user_day: 0.05,
            create_per_day: 0.05,
            node_outage_per_day: 0.5,
            node_outage_minutes: 90,
        },
        ..SimConfig::default()
    });
    sim.advance(60);
    sim.advance(24 * 60);
    sim.script(&[
        UserOp::Add {
            id: None,
            node_id: "2".into(),
            aor: "+442079460042@contoso.example".into(),
            number: Some("+442079460042".into()),
            online: true,
        },
        UserOp::NodeDown {
            node_id: "3".into(),
        },
    ])
    .expect("script");
    sim.advance(3 * 24 * 60 + 17);
    serde_json::to_vec(&sim.truth()).expect("truth json")
}

#[test]
fn same_seed_same_calls_give_identical_truth_bytes() {
    let a = run(42);
    let b = run(42);
    assert_eq!(a, b);
}

#[test]
fn different_seed_gives_different_truth() {
    assert_ne!(run(42), run(43));
}

#[test]
fn fresh_populations_are_identical_for_a_seed() {
    let cfg = SimConfig {
        users: 20_000,
        ..SimConfig::default()
    };
    let a = serde_json::to_vec(&Simulator::new(cfg.clone()).truth()).expect("json");
    let b = serde_json::to_vec(&Simulator::new(cfg).truth()).expect("json");
    assert_eq!(a, b);
}

#[test]
fn truth_canonical_numbers_match_their_aor_forms() {
    let sim = Simulator::new(SimConfig {
        users: 20_000,
        ..SimConfig::default()
    });
    let t = sim.truth();
    assert_eq!(t.users.len(), 20_000);
    for u in &t.users {
        let Some(n) = &u.number else {
            // Unmappable: a name or empty AOR, never digits only.
            assert!(
                u.aor.is_empty() || u.aor.bytes().any(|b| b.is_ascii_alphabetic()),
                "{}",
                u.aor
            );
            continue;
        };
        // The canonical digits appear in the AOR once separators are removed.
        let aor_digits: String = u.aor.chars().filter(|c| c.is_ascii_digit()).collect();
        let (base, ext) = match n.split_once(";ext=") {
            Some((b, e)) => (b, Some(e)),
            None => (n.as_str(), None),
        };
        let digits = base.trim_start_matches('+');
        if base.starts_with('+') {
            let national = digits.strip_prefix("44").map(|d| format!("0{d}"));
            assert!(
                aor_digits.contains(digits)
                    || national.is_some_and(|nat| aor_digits.contains(&nat)),
                "{} vs {}",
                u.aor,
                n
            );
            assert!(n.len() >= 11);
        } else {
            assert!(
                n.len() == 4 && u.aor.starts_with(n.as_str()),
                "{} vs {}",
                u.aor,
                n
            );
        }
        if let Some(e) = ext {
            assert!(u.aor.ends_with(&format!(";ext={e}")), "{}", u.aor);
        }
    }
    let mut held: Vec<String> = t
        .users
        .iter()
        .filter(|u| u.online)
        .filter_map(|u| u.number.clone())
        .collect();
    held.sort();
    held.dedup();
    assert_eq!(held, t.held);
}
