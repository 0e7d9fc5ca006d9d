//! Issue 5: the sync engine's routes through the real server on loopback, against the
//! simulator: connections (the password is write-only), sync, purge, audit, schedules,
//! backup, and the sync metrics.

use crate::api_support;

use api_support::Server;
use hyper::Method;
use numinv_sim::{ChurnRates, RunningSim, ServeOptions, SimConfig, Simulator};

const PASSWORD: &str = "sim-password"; // what the simulator accepts

async fn sim(users: usize) -> (Simulator, RunningSim) {
    let sim = Simulator::new(SimConfig {
        users,
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
    (sim, running)
}

/// A server over a store on disk (secrets need the key file beside the database).
async fn server() -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    let store = numinv::store::Store::open(dir.path(), std::time::Duration::ZERO).unwrap();
    (dir, Server::start_with(store).await)
}

async fn add_connection(s: &Server, url: &str) -> serde_json::Value {
    let body = serde_json::json!({
        "name": "lon", "url": url, "username": "admin", "password": PASSWORD,
        "hierarchy": "Provider/Contoso/London", "region": "GB", "timeout_ms": 2000
    });
    let r = s.post("/api/connections", &body.to_string()).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains(PASSWORD), "password echoed: {}", r.body);
    r.json()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_sync_audit_purge_and_delete_through_the_api() {
    let (_sim, running) = sim(20).await;
    let url = running.http_url.clone().unwrap();
    let (_dir, s) = server().await;

    let saved = add_connection(&s, &url).await;
    assert!(saved["transaction"].as_u64().is_some(), "{saved}");
    assert_eq!(saved["connection"]["sync_job"], "SyncAudioCodes__lon");

    for path in ["/api/connections", "/api/connections/lon"] {
        let r = s.get(path).await;
        assert_eq!(r.status, 200, "{}", r.body);
        assert!(
            !r.body.contains(PASSWORD) && !r.body.contains("password"),
            "{}",
            r.body
        );
    }
    assert_eq!(s.get("/api/connections").await.json()[0]["name"], "lon");
    s.get("/api/connections/nope").await.error(404);

    // A read token may look but not sync.
    let r = s
        .call(
            Method::POST,
            "/api/connections/lon/sync",
            Some(&s.reader),
            "",
        )
        .await;
    r.error(403);

    let t = s.post("/api/connections/lon/sync", "").await;
    assert_eq!(t.status, 200, "{}", t.body);
    let t = t.json();
    assert_eq!(t["kind"], "SyncAudioCodes__lon");
    assert!(t["id"].as_u64().unwrap() > 0);
    let created = t["counts"]["entries_created"].as_u64().unwrap();
    assert!(created > 0, "{t}");
    let listed = s.get("/api/numbers?status=Used&limit=1000").await.json();
    assert_eq!(listed["items"].as_array().unwrap().len() as u64, created);

    // A fresh sync with nothing changed on the device still records its run.
    let again = s
        .post("/api/connections/lon/sync", r#"{"force": false}"#)
        .await;
    assert_eq!(again.status, 200, "{}", again.body);

    let audit = s.get("/api/audit").await.json();
    assert_eq!(audit["findings"].as_array().unwrap().len(), 0, "{audit}");
    assert_eq!(audit["fixed"], false);

    let metrics = s.get("/metrics").await.body;
    assert!(
        metrics.contains("numinv_sync_runs_total{connection=\"lon\",result=\"Success\"} 2")
            || metrics.contains(
                "numinv_sync_runs_total{connection=\"lon\",result=\"Success with warnings\"} 2"
            ),
        "{metrics}"
    );
    assert!(metrics.contains("numinv_sync_duration_seconds_count{connection=\"lon\"} 2"));

    // A connection that still caches users cannot be deleted; purge first (more than half
    // of the cache goes, so the guard wants force).
    s.call(Method::DELETE, "/api/connections/lon", Some(&s.admin), "")
        .await
        .error(400);
    s.post("/api/connections/lon/purge", "").await.error(400);
    let p = s
        .post("/api/connections/lon/purge", r#"{"force": true}"#)
        .await;
    assert_eq!(p.status, 200, "{}", p.body);
    let p = p.json();
    assert_eq!(p["kind"], "PurgeAudioCodes__lon");
    assert_eq!(p["counts"]["entries_cooled"].as_u64().unwrap(), created);
    let cooling = s.get("/api/numbers?status=Cooling&limit=1000").await.json();
    assert_eq!(cooling["items"].as_array().unwrap().len() as u64, created);

    let d = s
        .call(Method::DELETE, "/api/connections/lon", Some(&s.admin), "")
        .await;
    assert_eq!(d.status, 200, "{}", d.body);
    assert!(d.json()["transaction"].as_u64().is_some());
    assert!(s
        .get("/api/connections")
        .await
        .json()
        .as_array()
        .unwrap()
        .is_empty());
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn update_keeps_the_password_write_only_and_a_failed_sync_says_why() {
    let (_dir, s) = server().await;
    // Nothing listens on this port: the sync fails, changes nothing, and is recorded.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    add_connection(&s, &url).await;
    let r = s
        .call(
            Method::PUT,
            "/api/connections/lon",
            Some(&s.admin),
            r#"{"password": "another-secret", "page_size": 50, "auth_method": "session"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(!r.body.contains("another-secret"));
    assert_eq!(r.json()["connection"]["page_size"], 50);
    assert_eq!(r.json()["connection"]["auth_method"], "session");
    s.call(
        Method::PUT,
        "/api/connections/lon",
        Some(&s.admin),
        r#"{"auth_method": "kerberos"}"#,
    )
    .await
    .error(400);

    let before = s.get("/api/events?after=0&limit=1000").await.json()["next"].clone();
    let msg = s.post("/api/connections/lon/sync", "").await.error(400);
    assert!(!msg.contains("another-secret"), "{msg}");
    let after = s.get("/api/events?after=0&limit=1000").await.json()["next"].clone();
    assert_eq!(before, after, "a failed sync must not move the log");
    let txs = s.get("/api/transactions").await.json();
    assert_eq!(txs[0]["kind"], "SyncAudioCodes__lon");
    assert_eq!(txs[0]["status"], "Fail");
    let metrics = s.get("/metrics").await.body;
    assert!(
        metrics.contains("numinv_sync_runs_total{connection=\"lon\",result=\"Fail\"} 1"),
        "{metrics}"
    );
    s.post("/api/connections/lon/test", "").await.error(502);
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schedules_audit_fix_and_backup() {
    let (_dir, s) = server().await;
    add_connection(&s, "http://127.0.0.1:9").await;
    let list = s.get("/api/schedules").await.json();
    assert_eq!(list[0]["name"], "ScheduleAudioCodes__lon");
    assert_eq!(list[0]["active"], false);
    let r = s
        .call(
            Method::PUT,
            "/api/schedules/ScheduleAudioCodes__lon",
            Some(&s.admin),
            r#"{"every": "15m", "active": true}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["every_s"], 900);
    assert_eq!(r.json()["active"], true);
    s.call(
        Method::PUT,
        "/api/schedules/ScheduleAudioCodes__lon",
        Some(&s.admin),
        r#"{"every": "1s"}"#,
    )
    .await
    .error(400);

    // An AudioCodes number Used without any holder: the audit finds it, the fix cools it.
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
    let audit = s.get("/api/audit").await.json();
    assert_eq!(audit["findings"][0]["number"], "+442079460001", "{audit}");
    assert_eq!(audit["findings"][0]["fixable"], true);
    s.call(Method::POST, "/api/audit/fix", Some(&s.reader), "")
        .await
        .error(403);
    let fixed = s.post("/api/audit/fix", "").await.json();
    assert_eq!(fixed["fixed"], true);
    assert!(fixed["transaction"].as_u64().is_some(), "{fixed}");
    let again = s.get("/api/audit").await.json();
    assert!(again["findings"].as_array().unwrap().is_empty(), "{again}");

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("copy");
    s.post("/api/backup", r#"{"dir": "relative/dir"}"#)
        .await
        .error(400);
    let body = serde_json::json!({"dir": target.display().to_string()}).to_string();
    let r = s.post("/api/backup", &body).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["rows"].as_u64().unwrap() > 0);
    assert!(target.join(numinv::store::DB_FILE).exists());
    // The copy opens and verifies on its own.
    let copy = numinv::store::Store::open(&target, std::time::Duration::ZERO).unwrap();
    copy.verify().unwrap();
    let msg = s.post("/api/backup", &body).await.error(400);
    assert!(msg.contains("already holds a database"), "{msg}");
    s.stop().await;
}
