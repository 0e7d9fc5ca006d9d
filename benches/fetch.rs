//! Issue 3: the full client fetch of 100,000 registered users from the simulator over
//! loopback (pages of 1,000), beside its floor: `arm::parse_users_page` over the same page
//! bodies, captured once, in memory. Goal: ≤ 1.5 s. `tree_parse_pages` reads the same
//! bodies through the `serde_json::Value` tree path alone (the parse before the direct path).
//!
//! Run: `cargo bench --bench fetch`

use std::time::Duration;

use criterion::{criterion_group, Criterion, SamplingMode};
use numinv::arm::contract::parse_users_page_tree;
use numinv::arm::parse_users_page;

#[path = "rig/mod.rs"]
mod rig;

const USERS: usize = 100_000;

fn fetch(c: &mut Criterion) {
    let rig = rig::Rig::new(USERS);
    let pages = rig.capture_pages();
    assert_eq!(pages.len(), USERS / rig::PAGE_SIZE as usize);

    let mut g = c.benchmark_group("fetch_100k");
    g.sampling_mode(SamplingMode::Flat)
        .sample_size(10)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(15));
    g.bench_function("client_fetch", |b| {
        b.iter(|| assert_eq!(rig.fetch().len(), USERS))
    });
    g.bench_function("floor_parse_pages", |b| {
        b.iter(|| {
            let n: usize = pages
                .iter()
                .map(|p| parse_users_page(p).unwrap().users.len())
                .sum();
            assert_eq!(n, USERS);
        })
    });
    // The tree path alone, as every page was read before the direct path: the same
    // measure of the parse as the floor before, for a comparison within one run.
    g.bench_function("tree_parse_pages", |b| {
        b.iter(|| {
            let n: usize = pages
                .iter()
                .map(|p| parse_users_page_tree(p).unwrap().users.len())
                .sum();
            assert_eq!(n, USERS);
        })
    });
    g.finish();
}

criterion_group!(benches, fetch);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
    rig::print_ratios(&[rig::Ratio {
        group: "fetch_100k",
        id: "client_fetch",
        floor: &[("fetch_100k", "floor_parse_pages")],
        goal: "<= 1.5 s",
    }]);
}
