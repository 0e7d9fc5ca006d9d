//! Runs the real HTTP server on loopback over an in-memory store with a fixed clock, and
//! talks to it with hyper's own client, so tests read like a client's session.
#![allow(dead_code)]

pub mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{HeaderMap, HeaderValue};
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use numinv::api::{self, ApiState};
use numinv::clock::FixedClock;
use numinv::ops::tokens::{self, Role};
use numinv::ops::Ctx;
use numinv::store::Store;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The instant every test runs at.
pub const NOW: &str = "2026-12-03T10:00:00Z";

pub fn now() -> DateTime<Utc> {
    NOW.parse().unwrap()
}

pub struct Server {
    pub base: String,
    pub addr: SocketAddr,
    pub store: Arc<Store>,
    /// Token names `ops` (admin) and `viewer` (read).
    pub admin: String,
    pub reader: String,
    client: Client<HttpConnector, Full<Bytes>>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<std::io::Result<()>>>,
}

pub struct Resp {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: String,
}

impl Resp {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {} {}", self.status, self.body))
    }

    /// Asserts an error answer: this status, a JSON `{"error": "..."}` of one line.
    pub fn error(&self, status: u16) -> String {
        assert_eq!(self.status, status, "body: {}", self.body);
        let v = self.json();
        let msg = v["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error field: {}", self.body))
            .to_string();
        assert!(!msg.is_empty() && !msg.contains('\n'), "{msg:?}");
        assert_eq!(v.as_object().unwrap().len(), 1, "{}", self.body);
        msg
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

impl Server {
    /// A server over an empty in-memory store, with an admin and a read token.
    pub async fn start() -> Server {
        Server::start_with(Store::in_memory().expect("store")).await
    }

    pub async fn start_with(store: Store) -> Server {
        Server::start_limited(store, api::Limits::default()).await
    }

    /// A server with explicit limits.
    pub async fn start_limited(store: Store, limits: api::Limits) -> Server {
        let store = Arc::new(store);
        let ctx = Ctx::new(&store, now(), "cli");
        let (admin, _) = tokens::create(&ctx, "ops", Role::Admin).expect("admin token");
        let (reader, _) = tokens::create(&ctx, "viewer", Role::Read).expect("read token");
        let state = ApiState::new(store.clone(), Arc::new(FixedClock(now())));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = oneshot::channel::<()>();
        let task = tokio::spawn(api::serve_with(listener, state, limits, async {
            let _ = rx.await;
        }));
        Server {
            base: format!("http://{addr}"),
            addr,
            store,
            admin,
            reader,
            client: Client::builder(TokioExecutor::new()).build_http(),
            shutdown: Some(tx),
            task: Some(task),
        }
    }

    /// A context for seeding the store directly (as the CLI would).
    pub fn ctx(&self) -> Ctx<'_> {
        Ctx::new(&self.store, now(), "cli")
    }

    pub async fn send(
        &self,
        method: Method,
        path: &str,
        headers: &[(&str, &str)],
        body: &str,
    ) -> Resp {
        let mut req = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.base));
        for (k, v) in headers {
            req = req.header(*k, HeaderValue::from_str(v).unwrap());
        }
        let req = req
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request");
        let res = self.client.request(req).await.expect("response");
        let status = res.status().as_u16();
        let headers = res.headers().clone();
        let bytes = res.into_body().collect().await.expect("body").to_bytes();
        Resp {
            status,
            headers,
            body: String::from_utf8_lossy(&bytes).into_owned(),
        }
    }

    /// A request with a bearer token (or none) and a JSON body (or none).
    pub async fn call(&self, method: Method, path: &str, token: Option<&str>, body: &str) -> Resp {
        let auth = token.map(|t| format!("Bearer {t}"));
        let mut headers: Vec<(&str, &str)> = Vec::new();
        if let Some(a) = &auth {
            headers.push(("authorization", a));
        }
        if !body.is_empty() {
            headers.push(("content-type", "application/json"));
        }
        self.send(method, path, &headers, body).await
    }

    pub async fn get(&self, path: &str) -> Resp {
        self.call(Method::GET, path, Some(&self.admin.clone()), "")
            .await
    }

    pub async fn post(&self, path: &str, body: &str) -> Resp {
        self.call(Method::POST, path, Some(&self.admin.clone()), body)
            .await
    }

    /// Stops the server gracefully and waits for it.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.expect("server task").expect("server result");
        }
    }
}

/// Adds numbers at a hierarchy through the ops layer.
pub fn seed(s: &Server, numbers: &[&str], hierarchy: &str) {
    let numbers: Vec<String> = numbers.iter().map(|n| n.to_string()).collect();
    numinv::ops::numbers::add(&s.ctx(), &numbers, None, hierarchy, None).expect("seed");
}
