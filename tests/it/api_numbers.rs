//! Issue "HTTP API": every number route through the real server on loopback.

use crate::api_support;

use api_support::{seed, Server};
use hyper::Method;

const LONDON: &str = "Provider/Contoso/London";

#[tokio::test]
async fn list_filters_and_pages_with_a_cursor() {
    let s = Server::start().await;
    let r = s
        .post(
            "/api/numbers",
            &format!(r#"{{"range": "+442079460100..+442079460104", "hierarchy": "{LONDON}"}}"#),
        )
        .await;
    assert_eq!(r.status, 201, "{}", r.body);
    seed(&s, &["+14155550150"], "Provider/Fabrikam");
    numinv::ops::numbers::reserve(&s.ctx(), "+442079460101", None, "for Ann", None, None).unwrap();

    let all = s.get("/api/numbers").await.json();
    assert_eq!(all["items"].as_array().unwrap().len(), 6);
    assert!(all["next"].is_null());

    let p1 = s.get("/api/numbers?limit=2").await.json();
    let items: Vec<&str> = p1["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["number"].as_str().unwrap())
        .collect();
    assert_eq!(items, ["+14155550150", "+442079460100"]);
    assert_eq!(p1["next"], "+442079460100");
    let p2 = s
        .get("/api/numbers?limit=2&after=%2B442079460100")
        .await
        .json();
    assert_eq!(p2["items"][0]["number"], "+442079460101");

    let reserved = s.get("/api/numbers?status=reserved").await.json();
    assert_eq!(reserved["items"].as_array().unwrap().len(), 1);
    assert_eq!(reserved["items"][0]["reservation_notes"], "for Ann");
    let fab = s
        .get("/api/numbers?hierarchy=Provider/Fabrikam")
        .await
        .json();
    assert_eq!(fab["items"].as_array().unwrap().len(), 1);
    let found = s.get("/api/numbers?search=ann").await.json();
    assert_eq!(found["items"][0]["number"], "+442079460101");
    let none = s.get("/api/numbers?vendor=AudioCodes").await.json();
    assert!(none["items"].as_array().unwrap().is_empty());

    let msg = s.get("/api/numbers?status=Free").await.error(400);
    assert!(msg.contains("status \"Free\""), "{msg}");
    let msg = s.get("/api/numbers?limit=5000").await.error(400);
    assert!(msg.contains("limit 5000") && msg.contains("1000"), "{msg}");
    let msg = s.get("/api/numbers?limit=abc").await.error(400);
    assert!(msg.contains("limit"), "{msg}");
    let msg = s.get("/api/numbers?colour=red").await.error(400);
    assert!(msg.contains("colour"), "{msg}");
    s.stop().await;
}

#[tokio::test]
async fn add_skips_existing_and_names_bad_fields() {
    let s = Server::start().await;
    let r = s
        .post(
            "/api/numbers",
            r#"{"numbers": ["+44 20 7946 0001", "+442079460002"]}"#,
        )
        .await;
    assert_eq!(r.status, 201);
    let v = r.json();
    assert_eq!(v["created"].as_array().unwrap().len(), 2);
    assert!(v["transaction"].as_u64().is_some());
    let again = s
        .post("/api/numbers", r#"{"numbers": ["+442079460001"]}"#)
        .await;
    assert_eq!(again.status, 200);
    assert_eq!(again.json()["skipped"][0], "+442079460001");
    assert!(again.json()["transaction"].is_null());

    let msg = s
        .post("/api/numbers", r#"{"numbers": "+4420"}"#)
        .await
        .error(400);
    assert!(msg.contains("numbers"), "{msg}");
    let msg = s
        .post("/api/numbers", r#"{"number": ["+4420"]}"#)
        .await
        .error(400);
    assert!(msg.contains("number"), "{msg}");
    let msg = s.post("/api/numbers", r#"{"numbers": [}"#).await.error(400);
    assert!(msg.starts_with("invalid JSON body"), "{msg}");
    let msg = s.post("/api/numbers", "{}").await.error(400);
    assert!(msg.contains("nothing to add"), "{msg}");
    let msg = s
        .post("/api/numbers", r#"{"range": "+4420..+44201"}"#)
        .await
        .error(400);
    assert!(msg.contains("different lengths"), "{msg}");
    s.stop().await;
}

#[tokio::test]
async fn show_and_history_and_404() {
    let s = Server::start().await;
    seed(&s, &["+442079460001", "1001"], LONDON);
    let e = s.get("/api/numbers/+442079460001").await.json();
    assert_eq!(e["status"], "Available");
    assert_eq!(e["hierarchy"], LONDON);
    let e = s.get("/api/numbers/%2B442079460001").await.json();
    assert_eq!(e["number"], "+442079460001");
    let ext = s.get("/api/numbers/1001").await.json();
    assert_eq!(ext["hierarchy"], LONDON);
    let ext = s
        .get("/api/numbers/1001?hierarchy=Provider%2FContoso%2FLondon")
        .await
        .json();
    assert_eq!(ext["number"], "1001");

    s.post("/api/numbers/+442079460001/reserve", r#"{"notes": "x"}"#)
        .await;
    let h = s.get("/api/numbers/+442079460001/history").await.json();
    let h = h.as_array().unwrap();
    assert_eq!(h.len(), 2);
    assert_eq!(h[0]["actor"], "cli");
    assert_eq!(h[1]["actor"], "api:ops");
    assert_eq!(h[1]["after"]["status"], "Reserved");

    let msg = s.get("/api/numbers/+442079469999").await.error(404);
    assert!(msg.contains("+442079469999"), "{msg}");
    s.get("/api/numbers/+442079469999/history").await.error(404);
    let msg = s.get("/api/numbers/abc").await.error(400);
    assert!(msg.contains("abc"), "{msg}");
    s.stop().await;
}

#[tokio::test]
async fn workflows_reserve_cool_release_allocate_unassign_delete() {
    let s = Server::start().await;
    seed(&s, &["+442079460001", "+442079460002"], LONDON);

    let r = s
        .post(
            "/api/numbers/+442079460001/reserve",
            r#"{"notes": "new starter", "days": 5, "reserved_for": "ann@contoso.com"}"#,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["entry"]["status"], "Reserved");
    assert_eq!(v["entry"]["reserved_for"], "ann@contoso.com");
    assert!(v["transaction"].as_u64().is_some());
    let msg = s
        .post("/api/numbers/+442079460001/reserve", r#"{"days": "five"}"#)
        .await
        .error(400);
    assert!(msg.contains("days"), "{msg}");
    let r = s.post("/api/numbers/+442079460001/unreserve", "").await;
    assert_eq!(r.json()["entry"]["status"], "Available");

    let msg = s
        .post("/api/numbers/+442079460001/cool", r#"{"days": 5000}"#)
        .await
        .error(400);
    assert!(msg.contains("5000") || msg.contains("999"), "{msg}");
    let r = s
        .post("/api/numbers/+442079460001/cool", r#"{"days": 2}"#)
        .await;
    let v = r.json();
    assert_eq!(v["entry"]["status"], "Cooling", "{}", r.body);
    assert_eq!(v["entry"]["release_date"], "2026-12-05");
    let r = s.post("/api/numbers/+442079460001/release", "").await;
    assert_eq!(r.json()["entry"]["status"], "Available");

    let r = s
        .post(
            "/api/numbers/allocate",
            &format!(r#"{{"hierarchy": "{LONDON}", "description": "Bob"}}"#),
        )
        .await;
    let v = r.json();
    assert_eq!(v["entry"]["number"], "+442079460001", "{}", r.body);
    assert_eq!(v["entry"]["status"], "Used");
    assert_eq!(v["entry"]["usage"], "User");
    let r = s.post("/api/numbers/allocate", "").await;
    assert_eq!(r.json()["entry"]["number"], "+442079460002");
    let msg = s.post("/api/numbers/allocate", "{}").await.error(404);
    assert!(msg.contains("no Available number"), "{msg}");

    let r = s.post("/api/numbers/+442079460002/unassign", "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["entry"]["status"], "Available");

    let msg = s
        .call(
            Method::DELETE,
            "/api/numbers/+442079460001",
            Some(&s.admin),
            "",
        )
        .await
        .error(400);
    assert!(msg.contains("Available") || msg.contains("Used"), "{msg}");
    let r = s
        .call(
            Method::DELETE,
            "/api/numbers/+442079460002",
            Some(&s.admin),
            "",
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    s.get("/api/numbers/+442079460002").await.error(404);
    s.call(
        Method::DELETE,
        "/api/numbers/+442079460002",
        Some(&s.admin),
        "",
    )
    .await
    .error(404);
    s.post("/api/numbers/+442079469999/release", "")
        .await
        .error(404);
    s.stop().await;
}

#[tokio::test]
async fn csv_import_and_export_round_trip() {
    let s = Server::start().await;
    let csv = std::fs::read_to_string(format!(
        "{}/tests/fixtures/inventory-sample.csv",
        env!("CARGO_MANIFEST_DIR")
    ))
    .unwrap();
    let r = s
        .send(
            Method::POST,
            "/api/numbers/import",
            &[
                ("authorization", &format!("Bearer {}", s.admin)),
                ("content-type", "text/csv"),
            ],
            &csv,
        )
        .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["created"].as_array().unwrap().len(), 5);

    let out = s.get("/api/numbers/export").await;
    assert_eq!(out.status, 200);
    assert!(out.header("content-type").unwrap().starts_with("text/csv"));
    assert!(out.body.starts_with("number,status,"), "{}", out.body);
    assert!(out.body.contains("\n0201,"), "{}", out.body);
    let cooling = s.get("/api/numbers/export?status=Cooling").await;
    assert_eq!(
        cooling.body.lines().count(),
        1 + cooling.body.matches(",Cooling,").count()
    );
    s.get("/api/numbers/export?limit=3").await.error(400);

    let bad = s
        .post("/api/numbers/import", "number,status\n+442079460900,Free\n")
        .await;
    let msg = bad.error(400);
    assert!(msg.contains("line 2") && msg.contains("Free"), "{msg}");
    s.stop().await;
}

#[tokio::test]
async fn bodies_are_capped() {
    let s = Server::start().await;
    let big = format!(r#"{{"numbers": ["{}"]}}"#, "1".repeat(70 * 1024));
    let msg = s.post("/api/numbers", &big).await.error(413);
    assert!(msg.contains("larger than 64 KiB"), "{msg}");
    // The import route takes far more than 64 KiB.
    let mut csv = String::from("number\n");
    for i in 0..6000 {
        csv.push_str(&format!("+4420794{i:05}\n"));
    }
    assert!(csv.len() > 64 * 1024);
    let r = s.post("/api/numbers/import", &csv).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["created"].as_array().unwrap().len(), 6000);
    let huge = "x".repeat(9 * 1024 * 1024);
    s.post("/api/numbers/import", &huge).await.error(413);
    s.stop().await;
}
