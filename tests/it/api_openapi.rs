//! Issue "HTTP API" (6): the OpenAPI document is generated from the code and lists every
//! route the server has.

use crate::api_support;

use std::collections::BTreeSet;

use api_support::Server;
use hyper::Method;

/// (method, path) pairs of the document.
fn documented(doc: &serde_json::Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().expect("paths") {
        for method in item.as_object().unwrap().keys() {
            out.insert((method.to_uppercase(), path.clone()));
        }
    }
    out
}

#[tokio::test]
async fn every_route_is_in_the_document_and_every_documented_route_answers() {
    let s = Server::start().await;
    let r = s.call(Method::GET, "/api/openapi.json", None, "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let doc = r.json();
    assert!(doc["openapi"].as_str().unwrap().starts_with("3."), "{doc}");
    let documented = documented(&doc);

    let routes: BTreeSet<(String, String)> = numinv::api::endpoints()
        .iter()
        .map(|e| (e.method.to_string(), e.path.to_string()))
        .chain(
            numinv::api::PUBLIC_ROUTES
                .iter()
                .map(|p| ("GET".to_string(), p.to_string())),
        )
        .collect();
    let missing: Vec<_> = routes.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "routes missing from the document: {missing:?}"
    );
    let extra: Vec<_> = documented.difference(&routes).collect();
    assert!(
        extra.is_empty(),
        "documented routes the server lacks: {extra:?}"
    );

    // Every documented route exists on the server: without a token it is 401 (not 404 or
    // 405), and the public ones answer.
    for (method, path) in &documented {
        let concrete = path
            .replace("{number}", "%2B442079460001")
            .replace("{id}", "1")
            .replace("{name}", "audiocodes_cooling_duration");
        let m = Method::from_bytes(method.as_bytes()).unwrap();
        let r = s.call(m, &concrete, None, "").await;
        let public = numinv::api::PUBLIC_ROUTES.contains(&path.as_str());
        let want = if public { 200 } else { 401 };
        assert_eq!(r.status, want, "{method} {path}: {}", r.body);
    }

    // Schemas come from the wire types, and the bearer scheme is declared.
    let schemas = doc["components"]["schemas"].as_object().unwrap();
    for name in [
        "EntryView",
        "EntryPage",
        "ErrorBody",
        "AddRequest",
        "TxDetailView",
    ] {
        assert!(schemas.contains_key(name), "schema {name} missing");
    }
    assert_eq!(
        doc["components"]["securitySchemes"]["bearer"]["scheme"],
        "bearer"
    );
    s.stop().await;
}
