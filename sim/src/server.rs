//! The HTTP(S) shell: routes, authentication, fault application, listeners.
//!
//! Handlers only dispatch: they count the request, let the armed faults act,
//! check credentials and then ask the population for bytes.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::rejection::{FormRejection, JsonRejection, QueryRejection};
use axum::extract::{Form, Json, Query, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use serde::Deserialize;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{watch, Semaphore};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::faults::{FaultKind, FaultSpec, FaultTarget};
use crate::population::{parse_id, ADVANCE_MAX_MINUTES};
use crate::rng::Rng;
use crate::wire::{self, Page};
use crate::{SimError, Simulator, UserOp};

/// Concurrent connections per listener; more wait in the accept queue.
const CONNECTIONS_MAX: usize = 1024;
/// Live tokens kept; expired ones are pruned first when full.
const TOKENS_MAX: usize = 10_000;
/// How long a `Timeout` fault holds a request before giving up on it.
const TIMEOUT_HOLD: Duration = Duration::from_secs(3600);
/// Longest injected latency.
const LATENCY_MAX_MS: u64 = 600_000;
/// Slowest TLS handshake accepted.
const TLS_HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// Most scripted ops per `/sim/users` request.
const SCRIPT_OPS_MAX: usize = 100_000;

/// Which listeners to open. Port 0 picks a free port.
#[derive(Clone, Debug, Default)]
pub struct ServeOptions {
    /// Plain HTTP listener address.
    pub http: Option<SocketAddr>,
    /// HTTPS listener address (self-signed certificate).
    pub https: Option<SocketAddr>,
}

impl ServeOptions {
    /// Both listeners on free loopback ports — what tests want.
    pub fn loopback() -> ServeOptions {
        let any = SocketAddr::from(([127, 0, 0, 1], 0));
        ServeOptions {
            http: Some(any),
            https: Some(any),
        }
    }
}

/// A serving simulator. Dropping it stops the listeners and open connections.
pub struct RunningSim {
    /// `http://127.0.0.1:PORT` (no base path), if an HTTP listener was asked for.
    pub http_url: Option<String>,
    /// `https://127.0.0.1:PORT`, if an HTTPS listener was asked for.
    pub https_url: Option<String>,
    /// Lowercase hex SHA-256 of the leaf certificate DER, for pinning.
    pub cert_sha256_hex: String,
    /// The self-signed certificate (SANs: localhost, 127.0.0.1, ::1), PEM.
    pub cert_pem: String,
    stop: Option<watch::Sender<()>>,
    tasks: Vec<JoinHandle<()>>,
}

impl RunningSim {
    /// Stops accepting, drops open connections and waits for the listeners
    /// to close.
    pub async fn shutdown(mut self) {
        self.stop.take();
        for t in std::mem::take(&mut self.tasks) {
            let _ = t.await;
        }
    }
}

impl Drop for RunningSim {
    fn drop(&mut self) {
        // Dropping the sender wakes every listener and connection task.
        self.stop.take();
    }
}

impl std::fmt::Debug for RunningSim {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningSim")
            .field("http_url", &self.http_url)
            .field("https_url", &self.https_url)
            .field("cert_sha256_hex", &self.cert_sha256_hex)
            .finish_non_exhaustive()
    }
}

/// Session and OAuth bearer tokens with their real-time expiry.
struct Tokens {
    live: HashMap<String, Instant>,
    rng: Rng,
}

impl Tokens {
    fn issue(&mut self, ttl_s: u64) -> String {
        let now = Instant::now();
        if self.live.len() >= TOKENS_MAX {
            self.live.retain(|_, exp| *exp > now);
        }
        if self.live.len() >= TOKENS_MAX {
            if let Some(oldest) = self
                .live
                .iter()
                .min_by_key(|(_, e)| **e)
                .map(|(k, _)| k.clone())
            {
                self.live.remove(&oldest);
            }
        }
        let token = format!(
            "sim-{:016x}{:016x}",
            self.rng.next_u64(),
            self.rng.next_u64()
        );
        let exp = now.checked_add(Duration::from_secs(ttl_s)).unwrap_or(now);
        self.live.insert(token.clone(), exp);
        token
    }

    fn valid(&self, token: &str) -> bool {
        self.live
            .get(token)
            .is_some_and(|exp| Instant::now() < *exp)
    }
}

#[derive(Clone)]
struct App {
    sim: Simulator,
    tokens: Arc<Mutex<Tokens>>,
    base: Arc<str>,
}

impl App {
    fn tokens(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn count(&self, route: &'static str) {
        *self.sim.lock().requests.entry(route).or_default() += 1;
    }

    fn basic_ok(&self, user: &str, pass: &str) -> bool {
        let c = &self.sim.cfg;
        user == c.username && pass == c.password
    }

    /// Basic with the configured account, or a live bearer token.
    fn authorized(&self, headers: &HeaderMap) -> bool {
        match authorization(headers) {
            Some(Auth::Basic(u, p)) => self.basic_ok(&u, &p),
            Some(Auth::Bearer(t)) => self.tokens().valid(&t),
            None => false,
        }
    }
}

enum Auth {
    Basic(String, String),
    Bearer(String),
}

fn authorization(headers: &HeaderMap) -> Option<Auth> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?.trim();
    let (scheme, rest) = v.split_once(' ')?;
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("basic") {
        let raw = base64_decode(rest)?;
        let s = String::from_utf8(raw).ok()?;
        let (u, p) = s.split_once(':')?;
        Some(Auth::Basic(u.to_string(), p.to_string()))
    } else if scheme.eq_ignore_ascii_case("bearer") {
        Some(Auth::Bearer(rest.to_string()))
    } else {
        None
    }
}

/// Standard base64 with optional padding; `None` on any other byte. Small
/// enough to own rather than add a dependency for one header.
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    fn val(b: u8) -> Option<u32> {
        Some(match b {
            b'A'..=b'Z' => b - b'A',
            b'a'..=b'z' => b - b'a' + 26,
            b'0'..=b'9' => b - b'0' + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        } as u32)
    }
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &b) in chunk.iter().enumerate() {
            acc |= val(b)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

fn json_bytes(status: StatusCode, body: Vec<u8>) -> Response {
    (status, [(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn json_value(status: StatusCode, v: &impl serde::Serialize) -> Response {
    json_bytes(status, serde_json::to_vec(v).unwrap_or_default())
}

/// The contract's error body `{"status": …, "description": …}`.
fn error(status: StatusCode, description: impl Into<String>) -> Response {
    json_value(
        status,
        &serde_json::json!({"status": status.as_u16(), "description": description.into()}),
    )
}

fn unauthorized(description: &str) -> Response {
    let mut r = error(StatusCode::UNAUTHORIZED, description);
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"ARM\""),
    );
    r
}

#[derive(Clone, Copy)]
enum Route {
    RegisteredUsers,
    Nodes,
    Login,
    OauthToken,
}

impl Route {
    fn name(self) -> &'static str {
        match self {
            Route::RegisteredUsers => "registered_users",
            Route::Nodes => "nodes",
            Route::Login => "login",
            Route::OauthToken => "oauth_token",
        }
    }

    fn target(self) -> FaultTarget {
        match self {
            Route::RegisteredUsers => FaultTarget::RegisteredUsers,
            Route::Nodes => FaultTarget::Nodes,
            Route::Login | Route::OauthToken => FaultTarget::Login,
        }
    }
}

/// What the faults left for the handler to do.
struct Pass {
    truncate: bool,
}

/// Counts the request, applies the faults that fire on it and, for data
/// routes, checks credentials. `Err` is the answer to send instead.
async fn gate(
    app: &App,
    route: Route,
    headers: &HeaderMap,
    needs_auth: bool,
) -> Result<Pass, Response> {
    let fired = {
        let mut st = app.sim.lock();
        *st.requests.entry(route.name()).or_default() += 1;
        let fired = st.faults.evaluate(route.target());
        for k in &fired {
            tracing::debug!(fault = k.name(), route = route.name(), "sim fault fired");
            *st.faults_fired.entry(k.name()).or_default() += 1;
            match k {
                FaultKind::InsertUsers { n } => {
                    st.pop.create_n(u64::from(*n));
                }
                FaultKind::RemoveUsers { n } => {
                    st.pop.remove_n(u64::from(*n));
                }
                _ => {}
            }
        }
        fired
    };
    if fired.contains(&FaultKind::ExpireTokens) {
        app.tokens().live.clear();
    }
    let latency_ms = fired
        .iter()
        .map(|k| match k {
            FaultKind::Latency { ms } => *ms,
            _ => 0,
        })
        .fold(0u64, u64::saturating_add)
        .min(LATENCY_MAX_MS);
    if latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(latency_ms)).await;
    }
    if needs_auth && !app.authorized(headers) {
        return Err(unauthorized(
            "not authenticated or token expired; send Basic credentials or log in again",
        ));
    }
    for k in &fired {
        match k {
            FaultKind::Timeout => {
                tokio::time::sleep(TIMEOUT_HOLD).await;
                return Err(error(StatusCode::GATEWAY_TIMEOUT, "simulated timeout"));
            }
            FaultKind::Status { code } => {
                let status = StatusCode::from_u16(*code)
                    .ok()
                    .filter(|s| s.is_server_error())
                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
                return Err(error(status, "simulated server error"));
            }
            FaultKind::TooManyRequests { retry_after_s } => {
                let mut r = error(StatusCode::TOO_MANY_REQUESTS, "simulated rate limit");
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from(*retry_after_s));
                return Err(r);
            }
            FaultKind::Empty204 => return Err(StatusCode::NO_CONTENT.into_response()),
            _ => {}
        }
    }
    Ok(Pass {
        truncate: fired.contains(&FaultKind::TruncatedJson),
    })
}

fn finish(pass: &Pass, mut body: Vec<u8>) -> Response {
    if pass.truncate {
        body.truncate(body.len() / 2);
    }
    json_bytes(StatusCode::OK, body)
}

async fn registered_users(
    State(app): State<App>,
    headers: HeaderMap,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
) -> Response {
    let pass = match gate(&app, Route::RegisteredUsers, &headers, true).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(Query(q)) = query else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad query string; use ?limit=N&after=CURSOR",
        );
    };
    let page_size_max = app.sim.cfg.page_size_max.max(1);
    let limit = match q.get("limit").map(|s| s.trim()) {
        None | Some("") => 100.min(page_size_max),
        Some(s) => match s.parse::<u64>() {
            Ok(n) if n > 0 => (n.min(page_size_max as u64)) as usize,
            _ => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("bad limit {s:?}: expected an integer from 1 to {page_size_max}"),
                )
            }
        },
    };
    let after = match q.get("after").map(|s| s.trim()) {
        None | Some("") => None,
        // "-1" is the end marker: there is nothing after it.
        Some("-1") => return StatusCode::NO_CONTENT.into_response(),
        Some(s) => match parse_id(s) {
            Some(n) => Some(n),
            None => {
                return error(
                    StatusCode::BAD_REQUEST,
                    format!("bad cursor {s:?}: pass the previous page's cursor.after"),
                )
            }
        },
    };
    let page = {
        let st = app.sim.lock();
        wire::registered_users_page(&st.pop, after, limit)
    };
    match page {
        Page::NoContent => StatusCode::NO_CONTENT.into_response(),
        Page::Body(b) => finish(&pass, b),
    }
}

async fn nodes(State(app): State<App>, headers: HeaderMap) -> Response {
    let pass = match gate(&app, Route::Nodes, &headers, true).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let body = wire::nodes_body(&app.sim.lock().pop);
    finish(&pass, body)
}

#[derive(Deserialize)]
struct LoginRequest {
    username: String,
    password: String,
}

async fn login(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<LoginRequest>, JsonRejection>,
) -> Response {
    let pass = match gate(&app, Route::Login, &headers, false).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(Json(req)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad login body; send JSON {\"username\": …, \"password\": …}",
        );
    };
    if !app.basic_ok(&req.username, &req.password) {
        return unauthorized("wrong username or password");
    }
    let ttl = app.sim.cfg.session_ttl_s;
    let token = app.tokens().issue(ttl);
    finish(
        &pass,
        serde_json::to_vec(&serde_json::json!({"token": token, "expiresIn": ttl}))
            .unwrap_or_default(),
    )
}

async fn oauth_token(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Form<HashMap<String, String>>, FormRejection>,
) -> Response {
    let pass = match gate(&app, Route::OauthToken, &headers, false).await {
        Ok(p) => p,
        Err(r) => return r,
    };
    let Ok(Form(form)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad token request; send a form with grant_type=client_credentials, client_id, client_secret",
        );
    };
    if form.get("grant_type").map(String::as_str) != Some("client_credentials") {
        return error(
            StatusCode::BAD_REQUEST,
            "unsupported grant_type; only client_credentials is served",
        );
    }
    // Accept client_secret_post and client_secret_basic alike.
    let (id, secret) = match (
        form.get("client_id"),
        form.get("client_secret"),
        authorization(&headers),
    ) {
        (Some(i), Some(s), _) => (i.clone(), s.clone()),
        (_, _, Some(Auth::Basic(i, s))) => (i, s),
        _ => return unauthorized("missing client credentials"),
    };
    let cfg = &app.sim.cfg;
    if id != cfg.oauth_client_id || secret != cfg.oauth_client_secret {
        return unauthorized("wrong client_id or client_secret");
    }
    let ttl = cfg.oauth_ttl_s;
    let token = app.tokens().issue(ttl);
    finish(
        &pass,
        serde_json::to_vec(&serde_json::json!({
            "access_token": token, "token_type": "Bearer", "expires_in": ttl
        }))
        .unwrap_or_default(),
    )
}

/// Counts a control request and checks the control token, if configured;
/// returns the refusal to send, if any.
fn control(app: &App, route: &'static str, headers: &HeaderMap) -> Option<Response> {
    app.count(route);
    let want = app.sim.cfg.control_token.as_ref()?;
    match authorization(headers) {
        Some(Auth::Bearer(t)) if &t == want => None,
        _ => Some(unauthorized(
            "control API needs Authorization: Bearer <control token>",
        )),
    }
}

async fn sim_truth(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(r) = control(&app, "sim_truth", &headers) {
        return r;
    }
    json_value(StatusCode::OK, &app.sim.truth())
}

#[derive(Deserialize)]
struct AdvanceRequest {
    minutes: u64,
}

async fn sim_advance(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<AdvanceRequest>, JsonRejection>,
) -> Response {
    if let Some(r) = control(&app, "sim_advance", &headers) {
        return r;
    }
    let Ok(Json(req)) = body else {
        return error(
            StatusCode::BAD_REQUEST,
            "bad body; send JSON {\"minutes\": N}",
        );
    };
    if req.minutes > ADVANCE_MAX_MINUTES {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "minutes {} too large; at most {ADVANCE_MAX_MINUTES} per call",
                req.minutes
            ),
        );
    }
    // A long advance over a large population takes a while: keep it off
    // the async workers.
    let sim = app.sim.clone();
    if tokio::task::spawn_blocking(move || sim.advance(req.minutes))
        .await
        .is_err()
    {
        return error(StatusCode::INTERNAL_SERVER_ERROR, "advance failed");
    }
    json_value(StatusCode::OK, &serde_json::json!({"now": app.sim.now()}))
}

async fn sim_users(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<Vec<UserOp>>, JsonRejection>,
) -> Response {
    if let Some(r) = control(&app, "sim_users", &headers) {
        return r;
    }
    let ops = match body {
        Ok(Json(ops)) => ops,
        Err(e) => return error(StatusCode::BAD_REQUEST, format!("bad ops: {e}")),
    };
    if ops.len() > SCRIPT_OPS_MAX {
        return error(
            StatusCode::BAD_REQUEST,
            format!(
                "{} ops; send at most {SCRIPT_OPS_MAX} per request",
                ops.len()
            ),
        );
    }
    match app.sim.script(&ops) {
        Ok(()) => json_value(StatusCode::OK, &serde_json::json!({"applied": ops.len()})),
        Err(e) => error(StatusCode::BAD_REQUEST, e.to_string()),
    }
}

async fn sim_faults_arm(
    State(app): State<App>,
    headers: HeaderMap,
    body: Result<Json<FaultSpec>, JsonRejection>,
) -> Response {
    if let Some(r) = control(&app, "sim_faults", &headers) {
        return r;
    }
    match body {
        Ok(Json(spec)) => {
            app.sim.arm_fault(spec);
            json_value(StatusCode::OK, &serde_json::json!({"armed": true}))
        }
        Err(e) => error(StatusCode::BAD_REQUEST, format!("bad fault spec: {e}")),
    }
}

async fn sim_faults_clear(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(r) = control(&app, "sim_faults_clear", &headers) {
        return r;
    }
    app.sim.clear_faults();
    json_value(StatusCode::OK, &serde_json::json!({"cleared": true}))
}

async fn sim_stats(State(app): State<App>, headers: HeaderMap) -> Response {
    if let Some(r) = control(&app, "sim_stats", &headers) {
        return r;
    }
    json_value(StatusCode::OK, &app.sim.stats())
}

async fn not_found(State(app): State<App>, method: Method, uri: Uri) -> Response {
    app.count("not_found");
    error(
        StatusCode::NOT_FOUND,
        format!(
            "no resource at {method} {}; the base path served here is {:?} — check base_path",
            uri.path(),
            &*app.base
        ),
    )
}

async fn method_not_allowed(State(app): State<App>, method: Method, uri: Uri) -> Response {
    app.count("method_not_allowed");
    error(
        StatusCode::METHOD_NOT_ALLOWED,
        format!("{method} is not served at {}", uri.path()),
    )
}

/// `/ARM/v1/` → `/ARM/v1`; rejects characters the router would read as
/// parameters, so a bad config fails at `serve` instead of panicking.
fn normalize_base(base: &str) -> Result<String, SimError> {
    let trimmed = base.trim().trim_end_matches('/');
    let ok = trimmed
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'/' | b'_' | b'-' | b'.'))
        && !trimmed.contains("//");
    if !ok {
        return Err(SimError::BadBasePath(base.to_string()));
    }
    if trimmed.is_empty() || trimmed.starts_with('/') {
        Ok(trimmed.to_string())
    } else {
        Ok(format!("/{trimmed}"))
    }
}

fn router(app: App) -> Router {
    let base = app.base.clone();
    Router::new()
        .route(&format!("{base}/registeredUsers"), get(registered_users))
        .route(&format!("{base}/topology/nodes"), get(nodes))
        .route(&format!("{base}/login"), post(login))
        .route("/oauth2/token", post(oauth_token))
        .route("/sim/truth", get(sim_truth))
        .route("/sim/advance", post(sim_advance))
        .route("/sim/users", post(sim_users))
        .route("/sim/faults", post(sim_faults_arm).delete(sim_faults_clear))
        .route("/sim/stats", get(sim_stats))
        .fallback(not_found)
        .method_not_allowed_fallback(method_not_allowed)
        .with_state(app)
}

struct Cert {
    der: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
    pem: String,
    sha256_hex: String,
}

fn make_cert() -> Result<Cert, SimError> {
    let names = vec![
        "localhost".to_string(),
        "127.0.0.1".to_string(),
        "::1".to_string(),
    ];
    let ck = rcgen::generate_simple_self_signed(names).map_err(|e| SimError::Tls(e.to_string()))?;
    let der = ck.cert.der().clone();
    let digest = ring::digest::digest(&ring::digest::SHA256, der.as_ref());
    let sha256_hex = digest.as_ref().iter().map(|b| format!("{b:02x}")).collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.signing_key.serialize_der()));
    Ok(Cert {
        der,
        key,
        pem: ck.cert.pem(),
        sha256_hex,
    })
}

fn tls_acceptor(cert: &Cert) -> Result<TlsAcceptor, SimError> {
    // The ring provider explicitly: the workspace builds rustls without aws-lc.
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut cfg = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| SimError::Tls(e.to_string()))?
        .with_no_client_auth()
        .with_single_cert(vec![cert.der.clone()], cert.key.clone_key())
        .map_err(|e| SimError::Tls(e.to_string()))?;
    cfg.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(TlsAcceptor::from(Arc::new(cfg)))
}

async fn bind(addr: SocketAddr) -> Result<TcpListener, SimError> {
    TcpListener::bind(addr)
        .await
        .map_err(|source| SimError::Bind { addr, source })
}

fn url(scheme: &str, l: &TcpListener, asked: SocketAddr) -> String {
    let addr = l.local_addr().unwrap_or(asked);
    format!("{scheme}://{addr}")
}

pub(crate) async fn serve(sim: Simulator, opts: ServeOptions) -> Result<RunningSim, SimError> {
    let base = normalize_base(&sim.cfg.base_path)?;
    let cert = make_cert()?;
    let acceptor = tls_acceptor(&cert)?;
    let app = App {
        tokens: Arc::new(Mutex::new(Tokens {
            live: HashMap::new(),
            rng: Rng::new(sim.cfg.seed, 3),
        })),
        sim,
        base: base.into(),
    };
    let router = router(app);
    let (stop, stop_rx) = watch::channel(());
    let mut running = RunningSim {
        http_url: None,
        https_url: None,
        cert_sha256_hex: cert.sha256_hex.clone(),
        cert_pem: cert.pem.clone(),
        stop: Some(stop),
        tasks: Vec::new(),
    };
    if let Some(addr) = opts.http {
        let l = bind(addr).await?;
        running.http_url = Some(url("http", &l, addr));
        let task = accept_loop(l, router.clone(), None, stop_rx.clone());
        running.tasks.push(tokio::spawn(task));
    }
    if let Some(addr) = opts.https {
        let l = bind(addr).await?;
        running.https_url = Some(url("https", &l, addr));
        let task = accept_loop(l, router.clone(), Some(acceptor), stop_rx.clone());
        running.tasks.push(tokio::spawn(task));
    }
    tracing::info!(
        http = ?running.http_url,
        https = ?running.https_url,
        cert_sha256 = %running.cert_sha256_hex,
        "simulator serving"
    );
    Ok(running)
}

/// Accepts until stopped. Bounded by `CONNECTIONS_MAX` live connections:
/// beyond that it stops accepting until one closes.
async fn accept_loop(
    listener: TcpListener,
    router: Router,
    tls: Option<TlsAcceptor>,
    mut stop: watch::Receiver<()>,
) {
    let permits = Arc::new(Semaphore::new(CONNECTIONS_MAX));
    loop {
        let permit = tokio::select! {
            p = permits.clone().acquire_owned() => match p {
                Ok(p) => p,
                Err(_) => return,
            },
            _ = stop.changed() => return,
        };
        let stream = tokio::select! {
            r = listener.accept() => match r {
                Ok((s, _)) => s,
                Err(_) => {
                    // Out of descriptors or a reset during accept: back off briefly.
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            _ = stop.changed() => return,
        };
        let router = router.clone();
        let tls = tls.clone();
        let mut stop = stop.clone();
        tokio::spawn(async move {
            let _permit = permit;
            tokio::select! {
                _ = serve_connection(stream, router, tls) => {}
                _ = stop.changed() => {}
            }
        });
    }
}

async fn serve_connection(stream: TcpStream, router: Router, tls: Option<TlsAcceptor>) {
    let _ = stream.set_nodelay(true);
    let svc = TowerToHyperService::new(router);
    let builder = auto::Builder::new(TokioExecutor::new());
    match tls {
        None => {
            let _ = builder.serve_connection(TokioIo::new(stream), svc).await;
        }
        Some(acceptor) => {
            let Ok(Ok(tls_stream)) =
                tokio::time::timeout(TLS_HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await
            else {
                return;
            };
            let _ = builder
                .serve_connection(TokioIo::new(tls_stream), svc)
                .await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64_decodes_basic_credentials() {
        assert_eq!(
            base64_decode("YWRtaW46c2ltLXBhc3N3b3Jk").unwrap(),
            b"admin:sim-password"
        );
        assert_eq!(base64_decode("YQ==").unwrap(), b"a");
        assert_eq!(base64_decode("YWI").unwrap(), b"ab");
        assert!(base64_decode("Y").is_none());
        assert!(base64_decode("Y*==").is_none());
    }

    #[test]
    fn base_path_is_normalized_or_refused() {
        assert_eq!(normalize_base("/ARM/v1/").unwrap(), "/ARM/v1");
        assert_eq!(normalize_base("ARM/v1").unwrap(), "/ARM/v1");
        assert_eq!(normalize_base("").unwrap(), "");
        assert!(normalize_base("/ARM/{x}").is_err());
        assert!(normalize_base("/ARM//v1").is_err());
    }
}
