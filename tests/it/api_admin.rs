//! Issue "HTTP API": transactions, events, macros, settings, expiry, health, metrics and the
//! error shape of unknown routes, through the real server on loopback.

use crate::api_support;

use api_support::{now, seed, Server};
use hyper::Method;

#[tokio::test]
async fn transactions_list_and_detail() {
    let s = Server::start().await;
    seed(&s, &["+442079460001", "+442079460002"], "");
    let txs = s.get("/api/transactions").await.json();
    let txs = txs.as_array().unwrap();
    // Two token creations and the add, newest first.
    assert_eq!(txs.len(), 3);
    assert_eq!(txs[0]["kind"], "numbers.add");
    let id = txs[0]["id"].as_u64().unwrap();
    let d = s.get(&format!("/api/transactions/{id}")).await.json();
    assert_eq!(d["transaction"]["counts"]["created"], 2);
    let events = d["events"].as_array().unwrap();
    assert_eq!(events.len(), 3, "two entries and the record");
    assert_eq!(events[0]["key"], "+442079460001");
    assert_eq!(events[2]["entity"], "transaction");
    assert_eq!(
        s.get("/api/transactions?limit=1")
            .await
            .json()
            .as_array()
            .unwrap()
            .len(),
        1
    );

    let msg = s.get("/api/transactions/999").await.error(404);
    assert!(msg.contains("999"), "{msg}");
    let msg = s.get("/api/transactions/abc").await.error(400);
    assert!(msg.contains("abc"), "{msg}");
    s.get("/api/transactions?limit=0").await.error(400);
    s.stop().await;
}

#[tokio::test]
async fn events_page_through_the_log() {
    let s = Server::start().await;
    seed(&s, &["+442079460001", "+442079460002"], "");
    let all = s.get("/api/events").await.json();
    let n = all["events"].as_array().unwrap().len();
    assert_eq!(n as u64, all["next"].as_u64().unwrap());
    let p1 = s.get("/api/events?after=0&limit=2").await.json();
    assert_eq!(p1["events"].as_array().unwrap().len(), 2);
    assert_eq!(p1["events"][0]["seq"], 1);
    assert_eq!(p1["next"], 2);
    let p2 = s.get("/api/events?after=2&limit=1000").await.json();
    assert_eq!(p2["events"][0]["seq"], 3);
    let end = s
        .get(&format!("/api/events?after={}", all["next"]))
        .await
        .json();
    assert!(end["events"].as_array().unwrap().is_empty());
    assert_eq!(end["next"], all["next"]);
    let msg = s.get("/api/events?after=-1").await.error(400);
    assert!(msg.contains("after"), "{msg}");
    s.get("/api/events?limit=1001").await.error(400);
    s.stop().await;
}

#[tokio::test]
async fn macros_and_settings_get_and_set() {
    let s = Server::start().await;
    let all = s.get("/api/macros").await.json();
    assert_eq!(all[0]["name"], "audiocodes_cooling_duration");
    assert_eq!(all[0]["value"], "2");
    let r = s
        .call(
            Method::PUT,
            "/api/macros/audiocodes_cooling_duration",
            Some(&s.admin),
            r#"{"value": "4", "hierarchy": "Provider/Contoso"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert!(r.json()["transaction"].as_u64().is_some());
    let v = s
        .get("/api/macros/audiocodes_cooling_duration?hierarchy=Provider/Contoso/London")
        .await
        .json();
    assert_eq!(v["value"], "4");
    let v = s
        .get("/api/macros/audiocodes_cooling_duration")
        .await
        .json();
    assert_eq!(v["value"], "2");
    let msg = s
        .call(
            Method::PUT,
            "/api/macros/audiocodes_cooling_duration",
            Some(&s.admin),
            r#"{"value": "lots"}"#,
        )
        .await
        .error(400);
    assert!(msg.contains("audiocodes_cooling_duration"), "{msg}");
    let msg = s
        .call(
            Method::PUT,
            "/api/macros/audiocodes_cooling_duration",
            Some(&s.admin),
            "{}",
        )
        .await
        .error(400);
    assert!(msg.contains("value"), "{msg}");
    s.get("/api/macros/nope").await.error(400);

    let all = s.get("/api/settings").await.json();
    assert_eq!(all[0]["name"], "number_inventory_cooling_days");
    assert_eq!(all[0]["value"], "30");
    let r = s
        .call(
            Method::PUT,
            "/api/settings/number_inventory_cooling_enabled",
            Some(&s.admin),
            r#"{"value": "true"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = s
        .get("/api/settings/number_inventory_cooling_enabled")
        .await
        .json();
    assert_eq!(v["value"], "true");
    let msg = s
        .call(
            Method::PUT,
            "/api/settings/number_inventory_cooling_days",
            Some(&s.admin),
            r#"{"value": "5", "hierarchy": "X"}"#,
        )
        .await
        .error(400);
    assert!(msg.contains("global"), "{msg}");
    let msg = s.get("/api/settings/colour").await.error(400);
    assert!(msg.contains("colour"), "{msg}");
    s.stop().await;
}

#[tokio::test]
async fn expire_returns_its_transaction_and_counts_in_metrics() {
    let s = Server::start().await;
    seed(&s, &["+442079460001", "+442079460002"], "");
    // Cooled yesterday for 0 days: due today.
    let yesterday = numinv::ops::Ctx::new(&s.store, now() - chrono::Duration::days(1), "cli");
    numinv::ops::numbers::cool(&yesterday, "+442079460001", None, Some(0)).unwrap();
    numinv::ops::numbers::cool(&s.ctx(), "+442079460002", None, Some(3)).unwrap();

    let r = s.post("/api/expire", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["released"], 1);
    assert_eq!(v["overdue"], 1);
    let tx = v["transaction"].as_u64().unwrap();
    let d = s.get(&format!("/api/transactions/{tx}")).await.json();
    assert_eq!(d["transaction"]["kind"], "expiry");
    assert_eq!(d["transaction"]["actor"], "api:ops");
    let again = s.post("/api/expire", "").await.json();
    assert_eq!(again["released"], 0);
    assert!(again["transaction"].is_null());

    // A sweep run elsewhere (the scheduler, the CLI) counts too: the totals come from the log.
    let later = numinv::ops::Ctx::new(&s.store, now() + chrono::Duration::days(3), "expiry");
    numinv::ops::admin::expire(&later).unwrap();
    let m = s.get("/metrics").await;
    assert_eq!(m.status, 200);
    assert!(m.header("content-type").unwrap().starts_with("text/plain"));
    let body = &m.body;
    assert!(body.contains("numinv_expiry_released_total 2\n"), "{body}");
    assert!(
        body.contains("numinv_expiry_transactions_total 2\n"),
        "{body}"
    );
    assert!(
        body.contains("numinv_entries{status=\"Available\",vendor=\"\"} 2\n"),
        "{body}"
    );
    assert!(!body.contains("status=\"Cooling\""), "{body}");
    let head = s.store.head().unwrap().0;
    assert!(
        body.contains(&format!("numinv_log_head_seq {head}\n")),
        "{body}"
    );
    assert!(
        body.contains(
            "numinv_http_requests_total{method=\"POST\",route=\"/api/expire\",code=\"200\"} 2\n"
        ),
        "{body}"
    );
    assert!(
        body.contains("route=\"/api/transactions/{id}\",code=\"200\"} 1\n"),
        "{body}"
    );
    let reader = s.reader.clone();
    assert_eq!(
        s.call(Method::GET, "/metrics", Some(&reader), "")
            .await
            .status,
        200
    );
    s.stop().await;
}

#[tokio::test]
async fn health_needs_no_token_and_unknown_routes_answer_json() {
    let s = Server::start().await;
    let h = s.call(Method::GET, "/healthz", None, "").await;
    assert_eq!((h.status, h.body.as_str()), (200, "ok\n"));
    let msg = s.get("/api/nothing-here").await.error(404);
    assert!(msg.contains("/api/nothing-here"), "{msg}");
    // Unknown routes are 404 even without a token: auth runs only on matched routes.
    s.call(Method::GET, "/api/nope", None, "").await.error(404);
    let r = s
        .call(
            Method::PUT,
            "/api/numbers/+442079460001/history",
            Some(&s.admin),
            "",
        )
        .await;
    let msg = r.error(405);
    assert!(msg.contains("PUT"), "{msg}");
    let m = s.get("/metrics").await.body;
    assert!(m.contains("route=\"unmatched\",code=\"404\""), "{m}");
    s.stop().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_that_outlives_its_timeout_is_503_json() {
    let limits = numinv::api::Limits {
        concurrency_max: 4,
        request_timeout: std::time::Duration::from_millis(200),
    };
    let s = Server::start_limited(numinv::store::Store::in_memory().unwrap(), limits).await;
    // Another writer holds the store's write lock until told to stop, so the API's write
    // cannot finish within its timeout.
    let (started_tx, started_rx) = std::sync::mpsc::channel::<()>();
    let (release_tx, release_rx) = std::sync::mpsc::channel::<()>();
    let store = s.store.clone();
    let holder = std::thread::spawn(move || {
        store
            .write("test.hold", "test", api_support::now(), |_| {
                started_tx.send(()).unwrap();
                release_rx.recv().unwrap();
                Ok::<_, numinv::store::StoreError>(())
            })
            .unwrap();
    });
    started_rx.recv().unwrap();
    let msg = s
        .post("/api/numbers", r#"{"numbers": ["+442079460001"]}"#)
        .await
        .error(503);
    assert!(
        msg.contains("/api/numbers") && msg.contains("retry"),
        "{msg}"
    );
    release_tx.send(()).unwrap();
    holder.join().unwrap();
    assert_eq!(s.call(Method::GET, "/healthz", None, "").await.status, 200);
    s.stop().await;
}
