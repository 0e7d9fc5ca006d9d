//! Issue "HTTP API": bearer tokens and roles, through the real server on loopback.

use crate::api_support;

use api_support::{seed, Server};
use hyper::Method;

#[tokio::test]
async fn no_token_or_a_wrong_token_is_401_without_echoing_it() {
    let s = Server::start().await;
    let r = s.call(Method::GET, "/api/numbers", None, "").await;
    let msg = r.error(401);
    assert!(msg.contains("Authorization: Bearer"), "{msg}");
    assert_eq!(r.header("www-authenticate"), Some("Bearer"));

    let guess = "numinv_not-a-real-token-but-a-secret-looking-one";
    let r = s.call(Method::GET, "/api/numbers", Some(guess), "").await;
    let msg = r.error(401);
    assert!(!r.body.contains(guess), "{}", r.body);
    assert!(msg.contains("not valid"), "{msg}");

    let r = s
        .send(
            Method::GET,
            "/api/numbers",
            &[("authorization", &format!("Basic {}", s.admin))],
            "",
        )
        .await;
    r.error(401);
    s.call(Method::GET, "/metrics", None, "").await.error(401);
    // Writes without a token are 401 too, and change nothing.
    let r = s
        .call(
            Method::POST,
            "/api/numbers",
            None,
            r#"{"numbers":["+442079460001"]}"#,
        )
        .await;
    r.error(401);
    assert!(
        numinv::ops::numbers::list(&s.store.read().unwrap(), &Default::default())
            .unwrap()
            .is_empty()
    );
    s.stop().await;
}

#[tokio::test]
async fn the_read_role_reads_but_cannot_change_anything() {
    let s = Server::start().await;
    seed(&s, &["+442079460001"], "");
    let reader = s.reader.clone();
    let r = s.call(Method::GET, "/api/numbers", Some(&reader), "").await;
    assert_eq!(r.status, 200);
    let r = s
        .call(Method::GET, "/api/numbers/+442079460001", Some(&reader), "")
        .await;
    assert_eq!(r.status, 200);
    for (method, path, body) in [
        (
            Method::POST,
            "/api/numbers",
            r#"{"numbers":["+442079460002"]}"#,
        ),
        (Method::POST, "/api/numbers/+442079460001/reserve", "{}"),
        (Method::POST, "/api/numbers/+442079460001/cool", ""),
        (Method::POST, "/api/numbers/allocate", ""),
        (Method::DELETE, "/api/numbers/+442079460001", ""),
        (
            Method::PUT,
            "/api/settings/number_inventory_cooling_days",
            r#"{"value":"5"}"#,
        ),
        (
            Method::PUT,
            "/api/macros/audiocodes_cooling_duration",
            r#"{"value":"5"}"#,
        ),
        (Method::POST, "/api/expire", ""),
        (
            Method::POST,
            "/api/numbers/import",
            "number\n+442079460003\n",
        ),
    ] {
        let r = s.call(method.clone(), path, Some(&reader), body).await;
        let msg = r.error(403);
        assert!(
            msg.contains("read role") && msg.contains("viewer"),
            "{method} {path}: {msg}"
        );
    }
    let (head, _) = s.store.head().unwrap();
    let e = s.get("/api/numbers/+442079460001").await.json();
    assert_eq!(e["version"], 1);
    assert_eq!(s.store.head().unwrap().0, head);
    s.stop().await;
}

#[tokio::test]
async fn changes_are_recorded_as_the_token_and_revocation_takes_effect() {
    let s = Server::start().await;
    seed(&s, &["+442079460001"], "");
    let r = s
        .post("/api/numbers/+442079460001/reserve", r#"{"notes":"n"}"#)
        .await;
    let tx = r.json()["transaction"].as_u64().unwrap();
    let d = s.get(&format!("/api/transactions/{tx}")).await.json();
    assert_eq!(d["transaction"]["actor"], "api:ops");
    assert!(d["events"]
        .as_array()
        .unwrap()
        .iter()
        .all(|e| e["actor"] == "api:ops"));

    numinv::ops::tokens::revoke(&s.ctx(), "ops").unwrap();
    s.get("/api/numbers").await.error(401);
    s.stop().await;
}

#[tokio::test]
async fn secrets_and_hashes_never_leave_the_server() {
    let s = Server::start().await;
    let list = s.get("/api/tokens").await;
    assert_eq!(list.status, 200);
    let v = list.json();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["ops", "viewer"]);
    assert_eq!(v[0]["role"], "admin");
    assert_eq!(v[1]["role"], "read");
    let hash = numinv::ops::tokens::token_hash(&s.admin);
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    let events = s.get("/api/events?limit=1000").await;
    for body in [&list.body, &events.body] {
        assert!(
            !body.contains(&s.admin) && !body.contains(&s.reader),
            "{body}"
        );
        assert!(!body.contains(&hex), "{body}");
        assert!(!body.contains("sha256"), "{body}");
    }
    // The token rows are in the log (creation is a logged change), shown by name.
    let ev = events.json();
    assert!(ev["events"]
        .as_array()
        .unwrap()
        .iter()
        .any(|e| e["entity"] == "token" && e["after"]["name"] == "ops"));
    s.stop().await;
}

#[test]
fn cli_creates_lists_and_revokes_tokens_printing_the_secret_once() {
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_numinv"))
            .arg("--data-dir")
            .arg(dir.path())
            .args(args)
            .env_remove("NUMINV_DATA_DIR")
            .output()
            .unwrap();
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (ok, out, err) = run(&["tokens", "create", "grafana", "--role", "read"]);
    assert!(ok, "{err}");
    let secret = out.lines().next().unwrap().to_string();
    assert!(secret.starts_with("numinv_") && secret.len() > 40, "{out}");
    assert!(out.contains("shown only this once"), "{out}");

    let (ok, list, _) = run(&["tokens", "list"]);
    assert!(ok);
    assert!(list.contains("grafana") && list.contains("read"), "{list}");
    assert!(!list.contains(&secret));
    let (_, log, _) = run(&["log", "show"]);
    assert!(!log.contains(&secret), "{log}");

    let (ok, _, err) = run(&["tokens", "create", "grafana", "--role", "admin"]);
    assert!(!ok && err.contains("already exists"), "{err}");
    let (ok, _, err) = run(&["tokens", "create", "bad name", "--role", "admin"]);
    assert!(!ok && err.contains("not valid"), "{err}");
    let (ok, _, err) = run(&["tokens", "create", "x", "--role", "root"]);
    assert!(!ok && err.contains("admin or read"), "{err}");
    let (ok, out, err) = run(&["tokens", "revoke", "grafana"]);
    assert!(ok && out.contains("revoked"), "{err}");
    let (ok, _, err) = run(&["tokens", "revoke", "grafana"]);
    assert!(!ok && err.contains("does not exist"), "{err}");
}
