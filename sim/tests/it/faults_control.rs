//! Every fault kind over HTTP, with skip/count/rate/target, and the control API.

use crate::common;

use std::time::Duration;

use common::{default_basic, start, TestClient};
use hyper::{Method, StatusCode};
use numinv_sim::{ChurnRates, FaultKind, FaultSpec, FaultTarget, SimConfig};
use serde_json::json;

fn cfg(users: usize) -> SimConfig {
    SimConfig {
        users,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    }
}

const PAGE: &str = "/ARM/v1/registeredUsers?limit=10";

async fn statuses(client: &TestClient, n: usize) -> Vec<u16> {
    let mut out = Vec::new();
    for _ in 0..n {
        out.push(
            client
                .get(PAGE, Some(&default_basic()))
                .await
                .status
                .as_u16(),
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_fault_respects_skip_and_count() {
    let (sim, running, client) = start(cfg(50)).await;
    sim.arm_fault(
        FaultSpec::new(FaultKind::Status { code: 503 })
            .with_skip(2)
            .with_count(2),
    );
    assert_eq!(statuses(&client, 6).await, [200, 200, 503, 503, 200, 200]);
    sim.clear_faults();
    sim.arm_fault(FaultSpec::new(FaultKind::Status { code: 502 }).with_count(1));
    let a = client.get(PAGE, Some(&default_basic())).await;
    assert_eq!(a.status, StatusCode::BAD_GATEWAY);
    assert_eq!(a.json()["status"], 502);
    assert_eq!(sim.stats().faults_fired["status"], 3);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn too_many_requests_sends_retry_after() {
    let (sim, running, client) = start(cfg(50)).await;
    sim.arm_fault(FaultSpec::new(FaultKind::TooManyRequests { retry_after_s: 7 }).with_count(1));
    let a = client.get(PAGE, Some(&default_basic())).await;
    assert_eq!(a.status, StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(a.headers["retry-after"], "7");
    assert_eq!(a.json()["status"], 429);
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::OK
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_and_spurious_204() {
    let (sim, running, client) = start(cfg(50)).await;
    sim.arm_fault(
        FaultSpec::new(FaultKind::TruncatedJson)
            .with_skip(1)
            .with_count(1),
    );
    let whole = client.get(PAGE, Some(&default_basic())).await;
    let cut = client.get(PAGE, Some(&default_basic())).await;
    assert_eq!(cut.status, StatusCode::OK);
    assert!(serde_json::from_slice::<serde_json::Value>(&cut.body).is_err());
    assert_eq!(cut.body.len(), whole.body.len() / 2);
    assert_eq!(&whole.body[..cut.body.len()], &cut.body[..]);

    sim.arm_fault(FaultSpec::new(FaultKind::Empty204).with_count(1));
    let a = client.get(PAGE, Some(&default_basic())).await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.body.is_empty());
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::OK
    );
    let s = sim.stats();
    assert_eq!(s.faults_fired["truncated_json"], 1);
    assert_eq!(s.faults_fired["empty204"], 1);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn latency_and_timeout() {
    let (sim, running, client) = start(cfg(50)).await;
    sim.arm_fault(FaultSpec::new(FaultKind::Latency { ms: 300 }).with_count(1));
    let t = std::time::Instant::now();
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::OK
    );
    assert!(t.elapsed() >= Duration::from_millis(300));

    sim.arm_fault(FaultSpec::new(FaultKind::Timeout).with_count(1));
    let held = client
        .send_within(Duration::from_millis(500), PAGE, &default_basic())
        .await;
    assert!(held.is_none(), "a timeout fault must not answer");
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::OK
    );
    let s = sim.stats();
    assert_eq!(s.faults_fired["latency"], 1);
    assert_eq!(s.faults_fired["timeout"], 1);
    // The held connection is dropped by shutdown, not left hanging.
    tokio::time::timeout(Duration::from_secs(5), running.shutdown())
        .await
        .expect("shutdown with a held request");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_expiry_mid_paging_forces_a_new_login() {
    let (sim, running, client) = start(cfg(50)).await;
    let login = || async {
        let v = client
            .post_json(
                "/ARM/v1/login",
                None,
                &json!({"username": "admin", "password": "sim-password"}),
            )
            .await
            .json();
        format!("Bearer {}", v["token"].as_str().expect("token"))
    };
    let bearer = login().await;
    sim.arm_fault(
        FaultSpec::new(FaultKind::ExpireTokens)
            .with_skip(1)
            .with_count(1),
    );
    let p1 = client.get(PAGE, Some(&bearer)).await.json();
    let after = p1["cursor"]["after"].as_str().expect("after").to_string();
    let next = format!("/ARM/v1/registeredUsers?limit=10&after={after}");
    assert_eq!(
        client.get(&next, Some(&bearer)).await.status,
        StatusCode::UNAUTHORIZED
    );
    let bearer = login().await;
    assert_eq!(
        client.get(&next, Some(&bearer)).await.status,
        StatusCode::OK
    );
    assert_eq!(sim.stats().faults_fired["expire_tokens"], 1);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn users_inserted_and_removed_between_pages() {
    let (sim, running, client) = start(cfg(100)).await;
    sim.arm_fault(
        FaultSpec::new(FaultKind::InsertUsers { n: 7 })
            .with_skip(1)
            .with_count(1),
    );
    sim.arm_fault(
        FaultSpec::new(FaultKind::RemoveUsers { n: 3 })
            .with_skip(2)
            .with_count(1),
    );
    let ids = client.all_ids(30, &default_basic(), 100).await;
    let truth = sim.truth();
    assert_eq!(truth.users.len(), 104);
    // Inserted users get fresh (larger) ids, so paging still sees them once.
    let unique: std::collections::BTreeSet<&String> = ids.iter().collect();
    assert_eq!(unique.len(), ids.len());
    for u in &truth.users[truth.users.len() - 7..] {
        assert!(ids.contains(&u.id));
    }
    let s = sim.stats();
    assert_eq!(s.faults_fired["insert_users"], 1);
    assert_eq!(s.faults_fired["remove_users"], 1);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn targets_and_rates() {
    let (sim, running, client) = start(cfg(20)).await;
    sim.arm_fault(FaultSpec::new(FaultKind::Status { code: 500 }).with_target(FaultTarget::Nodes));
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::OK
    );
    let a = client
        .get("/ARM/v1/topology/nodes", Some(&default_basic()))
        .await;
    assert_eq!(a.status, StatusCode::INTERNAL_SERVER_ERROR);
    sim.clear_faults();

    sim.arm_fault(
        FaultSpec::new(FaultKind::Status { code: 503 })
            .with_target(FaultTarget::Login)
            .with_count(1),
    );
    let a = client
        .post_form(
            "/oauth2/token",
            None,
            "grant_type=client_credentials&client_id=numinv&client_secret=sim-secret",
        )
        .await;
    assert_eq!(a.status, StatusCode::SERVICE_UNAVAILABLE);
    sim.clear_faults();

    sim.arm_fault(
        FaultSpec::new(FaultKind::Empty204)
            .with_target(FaultTarget::Any)
            .with_count(2),
    );
    assert_eq!(
        client
            .get("/ARM/v1/topology/nodes", Some(&default_basic()))
            .await
            .status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        client.get(PAGE, Some(&default_basic())).await.status,
        StatusCode::OK
    );
    // Control routes are never faulted.
    sim.arm_fault(FaultSpec::new(FaultKind::Status { code: 500 }).with_target(FaultTarget::Any));
    assert_eq!(client.get("/sim/stats", None).await.status, StatusCode::OK);
    sim.clear_faults();

    // A rate of 0.5 fires on about half of 200 requests, the same count every run.
    sim.arm_fault(FaultSpec::new(FaultKind::Status { code: 503 }).with_rate(0.5));
    let fired = statuses(&client, 200)
        .await
        .iter()
        .filter(|&&s| s == 503)
        .count();
    assert!((60..=140).contains(&fired), "fired {fired}");
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn control_api_over_http_with_token_guard() {
    let (sim, running, client) = start(SimConfig {
        control_token: Some("ctl-secret".into()),
        ..cfg(30)
    })
    .await;
    let ctl = Some("Bearer ctl-secret");
    for (method, path) in [
        (Method::GET, "/sim/truth"),
        (Method::GET, "/sim/stats"),
        (Method::POST, "/sim/advance"),
        (Method::POST, "/sim/users"),
        (Method::POST, "/sim/faults"),
        (Method::DELETE, "/sim/faults"),
    ] {
        for auth in [None, Some("Bearer wrong"), Some(default_basic().as_str())] {
            let a = client
                .send(
                    method.clone(),
                    path,
                    auth,
                    Some("application/json"),
                    b"{}".to_vec(),
                )
                .await;
            assert_eq!(
                a.status,
                StatusCode::UNAUTHORIZED,
                "{method} {path} {auth:?}"
            );
            assert_eq!(a.json()["status"], 401);
        }
    }

    let truth = client.get("/sim/truth", ctl).await;
    assert_eq!(truth.status, StatusCode::OK);
    let t: numinv_sim::Truth = serde_json::from_slice(&truth.body).expect("truth");
    assert_eq!(t, sim.truth());

    let a = client
        .post_json("/sim/advance", ctl, &json!({"minutes": 90}))
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(sim.now() - t.now, chrono::Duration::minutes(90));
    let bad = client
        .post_json("/sim/advance", ctl, &json!({"minutes": -1}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let ops = json!([
        {"op": "add", "node_id": "1", "aor": "1004@192.0.2.14", "number": "1004", "online": true},
        {"op": "node_down", "node_id": "2"},
    ]);
    assert_eq!(
        client.post_json("/sim/users", ctl, &ops).await.status,
        StatusCode::OK
    );
    assert!(sim.truth().held.contains(&"1004".to_string()));
    let nodes = client
        .get("/ARM/v1/topology/nodes", Some(&default_basic()))
        .await
        .json();
    assert_eq!(nodes["nodes"][1]["status"], "OFFLINE");
    let page = client
        .get("/ARM/v1/registeredUsers?limit=1000", Some(&default_basic()))
        .await
        .json();
    for u in page["registeredUsers"].as_array().expect("users") {
        if u["nodeId"] == "2" {
            assert_eq!(u["status"], "UNREGISTERED");
        }
    }
    let bad = client
        .post_json(
            "/sim/users",
            ctl,
            &json!([{"op": "delete", "id": "ru-77777777"}]),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert!(bad.json()["description"]
        .as_str()
        .is_some_and(|d| d.contains("ru-77777777")));

    let spec = json!({"kind": "status", "code": 503, "skip": 1, "count": 1});
    assert_eq!(
        client.post_json("/sim/faults", ctl, &spec).await.status,
        StatusCode::OK
    );
    assert_eq!(statuses(&client, 3).await, [200, 503, 200]);
    let spec = json!({"kind": "empty204"});
    assert_eq!(
        client.post_json("/sim/faults", ctl, &spec).await.status,
        StatusCode::OK
    );
    assert_eq!(statuses(&client, 1).await, [204]);
    let a = client
        .send(Method::DELETE, "/sim/faults", ctl, None, Vec::new())
        .await;
    assert_eq!(a.status, StatusCode::OK);
    assert_eq!(statuses(&client, 1).await, [200]);
    let bad = client
        .post_json("/sim/faults", ctl, &json!({"kind": "meteor"}))
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);

    let stats: numinv_sim::Stats =
        serde_json::from_slice(&client.get("/sim/stats", ctl).await.body).expect("stats");
    assert_eq!(stats.faults_fired["status"], 1);
    assert_eq!(stats.faults_fired["empty204"], 1);
    assert!(stats.requests["registered_users"] >= 6);
    assert!(stats.requests["sim_truth"] >= 1);
    running.shutdown().await;
}
