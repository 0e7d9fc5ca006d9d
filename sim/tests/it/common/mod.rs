//! Shared helpers for the integration tests: a tiny loopback HTTP client on
//! hyper-util's legacy client, and JSON conveniences.
#![allow(dead_code)]

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{HeaderMap, Method, Request, StatusCode};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use numinv_sim::{RunningSim, ServeOptions, SimConfig, Simulator};

/// Upper bound for any single test request, so a broken server fails the
/// test instead of hanging it.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(20);

/// An answer: status, headers, body bytes.
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl Answer {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }
}

pub struct TestClient {
    client: Client<HttpConnector, Full<Bytes>>,
    pub base_url: String,
}

pub fn base64(input: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in input.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

pub fn basic(user: &str, pass: &str) -> String {
    format!("Basic {}", base64(format!("{user}:{pass}").as_bytes()))
}

pub fn default_basic() -> String {
    basic("admin", "sim-password")
}

impl TestClient {
    pub fn new(base_url: &str) -> TestClient {
        TestClient {
            client: Client::builder(TokioExecutor::new()).build_http(),
            base_url: base_url.to_string(),
        }
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Option<&str>,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> Answer {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{}", self.base_url, path));
        if let Some(a) = auth {
            req = req.header("authorization", a);
        }
        if let Some(ct) = content_type {
            req = req.header("content-type", ct);
        }
        let req = req.body(Full::new(Bytes::from(body))).expect("request");
        let resp = tokio::time::timeout(REQUEST_TIMEOUT, self.client.request(req))
            .await
            .expect("request timed out")
            .expect("request failed");
        let (parts, body) = resp.into_parts();
        let body = body.collect().await.expect("body").to_bytes();
        Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        }
    }

    /// Like `send` but gives up after `limit`, returning `None` on timeout.
    pub async fn send_within(&self, limit: Duration, path: &str, auth: &str) -> Option<Answer> {
        tokio::time::timeout(limit, self.get(path, Some(auth)))
            .await
            .ok()
    }

    pub async fn get(&self, path: &str, auth: Option<&str>) -> Answer {
        self.send(Method::GET, path, auth, None, Vec::new()).await
    }

    pub async fn post_json(&self, path: &str, auth: Option<&str>, v: &serde_json::Value) -> Answer {
        let body = serde_json::to_vec(v).expect("json");
        self.send(Method::POST, path, auth, Some("application/json"), body)
            .await
    }

    pub async fn post_form(&self, path: &str, auth: Option<&str>, form: &str) -> Answer {
        self.send(
            Method::POST,
            path,
            auth,
            Some("application/x-www-form-urlencoded"),
            form.as_bytes().to_vec(),
        )
        .await
    }

    /// Pages through `registeredUsers` and returns the ids in order, checking
    /// the cursor rules on the way. Bounded by `pages_max`.
    pub async fn all_ids(&self, limit: usize, auth: &str, pages_max: usize) -> Vec<String> {
        let mut ids = Vec::new();
        let mut after: Option<String> = None;
        for _ in 0..pages_max {
            let path = match &after {
                None => format!("/ARM/v1/registeredUsers?limit={limit}"),
                Some(a) => format!("/ARM/v1/registeredUsers?limit={limit}&after={a}"),
            };
            let a = self.get(&path, Some(auth)).await;
            if a.status == StatusCode::NO_CONTENT {
                assert!(a.body.is_empty());
                return ids;
            }
            assert_eq!(
                a.status,
                StatusCode::OK,
                "{}",
                String::from_utf8_lossy(&a.body)
            );
            let v = a.json();
            let users = v["registeredUsers"].as_array().expect("registeredUsers");
            assert!(users.len() <= limit);
            for u in users {
                ids.push(u["id"].as_str().expect("id").to_string());
            }
            let next = v["cursor"]["after"]
                .as_str()
                .expect("cursor.after")
                .to_string();
            if next == "-1" {
                return ids;
            }
            assert_eq!(
                Some(next.as_str()),
                users.last().and_then(|u| u["id"].as_str())
            );
            after = Some(next);
        }
        panic!("more than {pages_max} pages");
    }
}

/// Builds a simulator with `cfg` and serves it on loopback (HTTP and HTTPS).
pub async fn start(cfg: SimConfig) -> (Simulator, RunningSim, TestClient) {
    let sim = Simulator::new(cfg);
    let running = sim.serve(ServeOptions::loopback()).await.expect("serve");
    let client = TestClient::new(running.http_url.as_deref().expect("http url"));
    (sim, running, client)
}
