//! Issue 5: the web UI's connections page ("Sync now", each connection's last result) and
//! audit page (findings, "Fix"), through the real server on loopback.

use crate::api_support;

use api_support::web::{csrf, form, page, sign_in};
use api_support::Server;
use numinv_sim::{ChurnRates, ServeOptions, SimConfig, Simulator};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_page_syncs_now_and_shows_the_last_result() {
    let sim = Simulator::new(SimConfig {
        users: 10,
        churn: ChurnRates::none(),
        ..SimConfig::default()
    });
    let running = sim
        .serve(ServeOptions {
            http: Some("127.0.0.1:0".parse().unwrap()),
            https: None,
        })
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = numinv::store::Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    let s = Server::start_with(store).await;
    let body = serde_json::json!({
        "name": "lon", "url": running.http_url.clone().unwrap(), "username": "admin",
        "password": "sim-password", "hierarchy": "Provider/Contoso/London", "region": "GB"
    });
    assert_eq!(
        s.post("/api/connections", &body.to_string()).await.status,
        200
    );

    let admin = sign_in(&s, &s.admin).await;
    let p = page(&s, &admin, "/connections").await;
    assert_eq!(p.status, 200);
    assert!(p.body.contains("href=\"/connections\"") && p.body.contains("href=\"/audit\""));
    assert!(
        p.body.contains("lon") && p.body.contains("Sync now"),
        "{}",
        p.body
    );
    assert!(p.body.contains("no sync in the last"), "{}", p.body);

    let bad = form(&s, &admin, "/connections/lon/sync", "csrf=0000").await;
    assert_eq!(bad.status, 403);
    let token = csrf(&p.body);
    let r = form(
        &s,
        &admin,
        "/connections/lon/sync",
        &format!("csrf={token}"),
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert_eq!(r.header("location"), Some("/connections"));
    let txs = s.get("/api/transactions").await.json();
    assert_eq!(txs[0]["kind"], "SyncAudioCodes__lon");
    let id = txs[0]["id"].as_u64().unwrap();
    let p = page(&s, &admin, "/connections").await;
    assert!(
        p.body
            .contains(&format!("<a href=\"/transactions/{id}\">{id}</a>")),
        "{}",
        p.body
    );
    assert!(p.body.contains("Success"), "{}", p.body);
    assert!(p.body.contains("10 users"), "{}", p.body);

    // A read token sees the page without the button and cannot post the form.
    let reader = sign_in(&s, &s.reader).await;
    let p = page(&s, &reader, "/connections").await;
    assert!(!p.body.contains("Sync now"), "{}", p.body);
    let r = form(
        &s,
        &reader,
        "/connections/lon/sync",
        &format!("csrf={}", csrf(&p.body)),
    )
    .await;
    assert_eq!(r.status, 403);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn audit_page_lists_findings_and_fixes_them() {
    let s = Server::start().await;
    api_support::seed(&s, &["+442079460001"], "Provider/Contoso/London");
    let mut e = s
        .store
        .read()
        .unwrap()
        .entry("+442079460001")
        .unwrap()
        .unwrap();
    e.status = numinv::domain::Status::Used;
    e.vendor = numinv::domain::Vendor::AudioCodes;
    s.store
        .write("test.seed", "cli", api_support::now(), |w| {
            w.put_entry(&e)?;
            Ok::<_, numinv::ops::OpError>(())
        })
        .unwrap();

    let reader = sign_in(&s, &s.reader).await;
    let p = page(&s, &reader, "/audit").await;
    assert!(p.body.contains("+442079460001"), "{}", p.body);
    assert!(!p.body.contains(">Fix</button>"), "{}", p.body);

    let admin = sign_in(&s, &s.admin).await;
    let p = page(&s, &admin, "/audit").await;
    assert!(p.body.contains(">Fix</button>"), "{}", p.body);
    assert_eq!(
        form(&s, &admin, "/audit/fix", "csrf=nope").await.status,
        403
    );
    let r = form(&s, &admin, "/audit/fix", &format!("csrf={}", csrf(&p.body))).await;
    assert_eq!(r.status, 303, "{}", r.body);
    let loc = r.header("location").unwrap().to_string();
    assert!(loc.starts_with("/audit?fixed="), "{loc}");
    let p = page(&s, &admin, &loc).await;
    assert!(
        p.body.contains("Fixed in <a href=\"/transactions/"),
        "{}",
        p.body
    );
    assert!(p.body.contains("No findings"), "{}", p.body);
    let e = s
        .store
        .read()
        .unwrap()
        .entry("+442079460001")
        .unwrap()
        .unwrap();
    assert_eq!(e.status, numinv::domain::Status::Cooling);
    s.stop().await;
}
