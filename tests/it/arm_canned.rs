//! The ARM client against a misbehaving device: canned pages served over loopback, for
//! what the simulator never does (cursors in circles, users served twice, broken fields),
//! and the fixture pages end to end.

use std::sync::Arc;

use numinv::arm::{ArmClient, ArmError, Auth, ClientConfig, Endpoint, RegisteredUser, TlsTrust};

fn config(url: &str) -> ClientConfig {
    let auth = Auth::Basic {
        username: "admin".into(),
        password: "pw".into(),
    };
    let mut cfg = ClientConfig::new(
        Endpoint::parse(url, None).unwrap(),
        auth,
        TlsTrust::SystemRoots,
    );
    cfg.backoff_base_ms = 5;
    cfg
}

// ---- a misbehaving device (canned pages; the simulator always pages correctly) -----------

/// Serves `GET /ARM/v1/registeredUsers` from canned bodies keyed by the `after` query value
/// (`""` for the first page), over plain http on loopback.
async fn canned(pages: &[(&str, String)]) -> String {
    use axum::extract::{Query, State};
    use std::collections::HashMap;
    type Pages = Arc<HashMap<String, String>>;
    async fn page(State(pages): State<Pages>, Query(q): Query<HashMap<String, String>>) -> String {
        let after = q.get("after").cloned().unwrap_or_default();
        pages.get(&after).cloned().unwrap_or_default()
    }
    let pages: Pages = Arc::new(
        pages
            .iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect(),
    );
    let app = axum::Router::new()
        .route("/ARM/v1/registeredUsers", axum::routing::get(page))
        .with_state(pages);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    url
}

fn page_of(ids: &[&str], after: &str) -> String {
    let users: Vec<_> = ids
        .iter()
        .map(|id| serde_json::json!({"id": id, "nodeId": "1", "aor": format!("{id}@h"), "status": "REGISTERED"}))
        .collect();
    serde_json::json!({"registeredUsers": users, "cursor": {"after": after}}).to_string()
}

async fn fetch_canned(pages: &[(&str, String)]) -> Result<Vec<RegisteredUser>, ArmError> {
    let url = canned(pages).await;
    let client = ArmClient::new(config(&url)).unwrap();
    client.fetch_all_users().await
}

#[tokio::test]
async fn the_fixture_pages_over_http_give_the_eight_users_of_the_readme() {
    let p1 = include_str!("../fixtures/arm/registered-users-page-1.json").to_owned();
    let p2 = include_str!("../fixtures/arm/registered-users-page-2.json").to_owned();
    let users = fetch_canned(&[("", p1), ("ru-000005", p2)]).await.unwrap();
    let ids: Vec<_> = users.iter().map(|u| u.key.as_str()).collect();
    assert_eq!(
        ids,
        [
            "ru-000001",
            "ru-000002",
            "ru-000003",
            "ru-000004",
            "ru-000005",
            "ru-000006",
            "ru-000007",
            "ru-000008"
        ]
    );
    let online: Vec<_> = users
        .iter()
        .filter(|u| u.online())
        .map(|u| u.key.as_str())
        .collect();
    assert_eq!(
        online.len(),
        7,
        "all but ru-000003 (UNREGISTERED): {online:?}"
    );
}

#[tokio::test]
async fn a_cursor_going_in_circles_is_an_error_not_an_endless_loop() {
    let err = fetch_canned(&[
        ("", page_of(&["u1"], "a")),
        ("a", page_of(&["u2"], "b")),
        ("b", page_of(&["u3"], "a")),
    ])
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::CursorChain { .. }), "{text}");
    assert!(
        text.contains("page 3") && text.contains("\"a\" was already followed"),
        "{text}"
    );
}

#[tokio::test]
async fn a_cursor_that_does_not_move_is_an_error() {
    let err = fetch_canned(&[("", page_of(&["u1"], "a")), ("a", page_of(&[], "a"))])
        .await
        .unwrap_err();
    assert!(matches!(err, ArmError::CursorChain { .. }), "{err}");
}

#[tokio::test]
async fn a_user_served_twice_is_an_error() {
    let err = fetch_canned(&[
        ("", page_of(&["u1", "u2"], "u2")),
        ("u2", page_of(&["u2", "u3"], "-1")),
    ])
    .await
    .unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::CursorChain { .. }), "{text}");
    assert!(
        text.contains("user u2 came on page 1 and again on page 2"),
        "{text}"
    );
}

#[tokio::test]
async fn a_page_that_breaks_the_contract_names_the_field() {
    let bad = r#"{"registeredUsers":[{"id":"u1","nodeId":"1","aor":"x"}],"cursor":{"after":"-1"}}"#;
    let err = fetch_canned(&[("", bad.to_owned())]).await.unwrap_err();
    let text = err.to_string();
    assert!(matches!(err, ArmError::Contract { .. }), "{text}");
    assert!(
        text.contains("registeredUsers[0] (id u1).status: missing"),
        "{text}"
    );
}
