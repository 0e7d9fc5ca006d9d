//! Paging, authentication and error answers over real loopback HTTP.

use crate::common;

use std::collections::BTreeSet;

use common::{basic, default_basic, start};
use hyper::StatusCode;
use numinv_sim::{ChurnRates, SimConfig};

fn cfg(users: usize) -> SimConfig {
    SimConfig {
        users,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn paging_returns_every_user_exactly_once() {
    let (sim, running, client) = start(cfg(2_345)).await;
    let truth_ids: Vec<String> = sim.truth().users.into_iter().map(|u| u.id).collect();
    for limit in [100, 1000] {
        let ids = client.all_ids(limit, &default_basic(), 1_000).await;
        let unique: BTreeSet<&String> = ids.iter().collect();
        assert_eq!(unique.len(), ids.len(), "duplicates with limit {limit}");
        assert_eq!(ids, truth_ids, "limit {limit}");
    }
    // Default limit is 100; an oversized limit is clamped to page_size_max.
    let v = client
        .get("/ARM/v1/registeredUsers", Some(&default_basic()))
        .await
        .json();
    assert_eq!(v["registeredUsers"].as_array().map(Vec::len), Some(100));
    assert_eq!(v["cursor"]["before"], "-1");
    let v = client
        .get("/ARM/v1/registeredUsers?limit=5000", Some(&default_basic()))
        .await
        .json();
    assert_eq!(v["registeredUsers"].as_array().map(Vec::len), Some(1000));
    // Past the end, and the end marker itself, answer 204 with no body.
    let last = truth_ids.last().cloned().unwrap_or_default();
    for after in [last.as_str(), "-1", "ru-99999999"] {
        let a = client
            .get(
                &format!("/ARM/v1/registeredUsers?after={after}"),
                Some(&default_basic()),
            )
            .await;
        assert_eq!(a.status, StatusCode::NO_CONTENT, "after={after}");
        assert!(a.body.is_empty());
    }
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn served_users_follow_the_contract_shapes() {
    let (_sim, running, client) = start(cfg(3_000)).await;
    let mut seen_str_expires = false;
    let mut seen_str_active = false;
    let mut seen_extra = false;
    let mut seen_sparse = false;
    let mut after: Option<String> = None;
    for _ in 0..10 {
        let path = match &after {
            None => "/ARM/v1/registeredUsers?limit=1000".to_string(),
            Some(a) => format!("/ARM/v1/registeredUsers?limit=1000&after={a}"),
        };
        let v = client.get(&path, Some(&default_basic())).await.json();
        for u in v["registeredUsers"].as_array().expect("users") {
            assert!(u["id"]
                .as_str()
                .is_some_and(|s| s.starts_with("ru-") && s.len() == 11));
            assert!(u["nodeId"].is_string());
            assert!(u["aor"].is_string());
            assert!(matches!(
                u["status"].as_str(),
                Some("REGISTERED" | "UNREGISTERED")
            ));
            for c in u["contacts"].as_array().expect("contacts") {
                seen_str_expires |= c["expires"].is_string();
                seen_str_active |= c["active"].is_string();
                assert!(c["uri"].as_str().is_some_and(|s| s.contains("sip:")));
            }
            seen_extra |= u.get("firmwareFlavor").is_some();
            seen_sparse |= u.get("userAgent").is_none();
        }
        match v["cursor"]["after"].as_str() {
            Some("-1") | None => break,
            Some(a) => after = Some(a.to_string()),
        }
    }
    assert!(seen_str_expires && seen_str_active && seen_extra && seen_sparse);
    let nodes = client
        .get("/ARM/v1/topology/nodes", Some(&default_basic()))
        .await
        .json();
    let nodes = nodes["nodes"].as_array().expect("nodes").clone();
    assert_eq!(nodes.len(), 3);
    assert_eq!(nodes[0]["id"], "1");
    assert_eq!(nodes[0]["status"], "ONLINE");
    assert!(nodes[0]["name"]
        .as_str()
        .is_some_and(|n| n.starts_with("SBC-")));
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn empty_population_answers_204() {
    let (_sim, running, client) = start(cfg(0)).await;
    let a = client
        .get("/ARM/v1/registeredUsers", Some(&default_basic()))
        .await;
    assert_eq!(a.status, StatusCode::NO_CONTENT);
    assert!(a.body.is_empty());
    assert!(client.all_ids(100, &default_basic(), 10).await.is_empty());
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_queries_and_paths_get_json_errors() {
    let (_sim, running, client) = start(cfg(10)).await;
    for q in [
        "limit=abc",
        "limit=0",
        "limit=-5",
        "after=bogus",
        "after=ru-12x",
        "limit=99999999999999999999999",
    ] {
        let a = client
            .get(
                &format!("/ARM/v1/registeredUsers?{q}"),
                Some(&default_basic()),
            )
            .await;
        assert_eq!(a.status, StatusCode::BAD_REQUEST, "{q}");
        assert_eq!(a.json()["status"], 400);
        assert!(a.json()["description"].is_string());
    }
    let a = client
        .get("/api/v2/registeredUsers", Some(&default_basic()))
        .await;
    assert_eq!(a.status, StatusCode::NOT_FOUND);
    assert_eq!(a.json()["status"], 404);
    assert!(a.json()["description"]
        .as_str()
        .is_some_and(|d| d.contains("/ARM/v1")));
    let a = client
        .post_json(
            "/ARM/v1/registeredUsers",
            Some(&default_basic()),
            &serde_json::json!({}),
        )
        .await;
    assert_eq!(a.status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(a.json()["status"], 405);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_session_and_oauth_authentication() {
    let (_sim, running, client) = start(cfg(50)).await;
    let path = "/ARM/v1/registeredUsers?limit=10";
    // Basic: missing, wrong, malformed, right.
    for auth in [
        None,
        Some(basic("admin", "nope")),
        Some("Basic !!!".to_string()),
        Some("Digest x".to_string()),
    ] {
        let a = client.get(path, auth.as_deref()).await;
        assert_eq!(a.status, StatusCode::UNAUTHORIZED, "{auth:?}");
        assert_eq!(a.json()["status"], 401);
    }
    assert_eq!(
        client.get(path, Some(&default_basic())).await.status,
        StatusCode::OK
    );

    // Session login.
    let bad = client
        .post_json(
            "/ARM/v1/login",
            None,
            &serde_json::json!({"username": "admin", "password": "x"}),
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json()["status"], 401);
    let garbage = client
        .send(
            hyper::Method::POST,
            "/ARM/v1/login",
            None,
            Some("application/json"),
            b"{not json".to_vec(),
        )
        .await;
    assert_eq!(garbage.status, StatusCode::BAD_REQUEST);
    let ok = client
        .post_json(
            "/ARM/v1/login",
            None,
            &serde_json::json!({"username": "admin", "password": "sim-password"}),
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let v = ok.json();
    assert_eq!(v["expiresIn"], 900);
    let token = v["token"].as_str().expect("token").to_string();
    assert_eq!(
        client
            .get(path, Some(&format!("Bearer {token}")))
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        client.get(path, Some("Bearer not-a-token")).await.status,
        StatusCode::UNAUTHORIZED
    );

    // OAuth client credentials.
    let bad = client
        .post_form(
            "/oauth2/token",
            None,
            "grant_type=client_credentials&client_id=numinv&client_secret=x",
        )
        .await;
    assert_eq!(bad.status, StatusCode::UNAUTHORIZED);
    assert_eq!(bad.json()["status"], 401);
    let wrong_grant = client
        .post_form(
            "/oauth2/token",
            None,
            "grant_type=password&client_id=numinv&client_secret=sim-secret",
        )
        .await;
    assert_eq!(wrong_grant.status, StatusCode::BAD_REQUEST);
    let ok = client
        .post_form(
            "/oauth2/token",
            None,
            "grant_type=client_credentials&client_id=numinv&client_secret=sim-secret&scope=api%3A%2F%2Farm%2F.default",
        )
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    let v = ok.json();
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    let token = v["access_token"].as_str().expect("access_token");
    assert_eq!(
        client
            .get(path, Some(&format!("Bearer {token}")))
            .await
            .status,
        StatusCode::OK
    );
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expired_tokens_answer_401() {
    // A zero TTL makes every token expire at once, in real time.
    let (_sim, running, client) = start(SimConfig {
        session_ttl_s: 0,
        oauth_ttl_s: 0,
        ..cfg(5)
    })
    .await;
    let v = client
        .post_json(
            "/ARM/v1/login",
            None,
            &serde_json::json!({"username": "admin", "password": "sim-password"}),
        )
        .await
        .json();
    let token = v["token"].as_str().expect("token");
    let a = client
        .get("/ARM/v1/registeredUsers", Some(&format!("Bearer {token}")))
        .await;
    assert_eq!(a.status, StatusCode::UNAUTHORIZED);
    assert_eq!(a.json()["status"], 401);
    running.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hundred_thousand_users_page_each_user_once() {
    // Speed is the benches' job (`cargo bench --bench fetch`); this checks the paging only.
    let (_sim, running, client) = start(cfg(100_000)).await;
    let ids = client.all_ids(1000, &default_basic(), 200).await;
    assert_eq!(ids.len(), 100_000);
    let distinct: std::collections::HashSet<&String> = ids.iter().collect();
    assert_eq!(distinct.len(), 100_000, "a user came twice");
    running.shutdown().await;
}
