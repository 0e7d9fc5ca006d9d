//! The async shell: HTTP/1.1 over hyper with rustls, auth, paging, timeouts and retries.
//! Paths, field names and parsing live in [`super::contract`]; trust lives in [`super::tls`].
//!
//! Retry policy (`ArmClient::judge`): GETs are repeated after a timeout, a connection
//! failure, a truncated body, a 5xx or a 429 (waiting `Retry-After`), at most `retries_max`
//! times with exponential backoff and jitter; a `401` with a bearer token leads to one
//! re-login. Login and token POSTs are repeated only when the connection could not be made,
//! since the device may already have acted on them. Certificate failures and other 4xx are
//! never repeated. A `204` gets its own rule (`ArmClient::users_page`), because believing a
//! stray one would cut the list short.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use base64::Engine as _;
use http::{header, Method, Request, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;

use super::contract::{self, BearerToken, ContractError, Node, RegisteredUser, UsersPage};
use super::error::http_hint;
use super::tls::{self, PeerCertificate, SeenLeaf, TlsTrust};
use super::{ArmError, Auth, ClientConfig, Secret, Site, Stage};

/// Bound on one response body; a page of 1,000 users is well under 1 MiB.
const BODY_MAX_BYTES: usize = 32 << 20;
/// Bound on how long an idle keep-alive connection is reused.
const POOL_IDLE_TIMEOUT_S: u64 = 30;
/// Refresh a bearer token this long before the device says it expires (at most 10 % of its
/// lifetime), so a long fetch does not run into expiry between pages.
const TOKEN_MARGIN_S: u64 = 60;

/// Progress of a fetch, reported after each page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageProgress {
    /// Pages read so far.
    pub pages: u32,
    /// Users read so far.
    pub users: usize,
}

/// What `connections test` prints.
#[derive(Debug, Clone)]
pub struct TestReport {
    /// `host:port`.
    pub host: String,
    /// The base path used.
    pub base_path: String,
    /// `basic`, `session` or `oauth`.
    pub auth_method: &'static str,
    /// Users on the first page.
    pub first_page_users: usize,
    /// Whether the first page says more pages follow.
    pub more_pages: bool,
    /// Nodes in the topology.
    pub nodes: usize,
    /// Of which online.
    pub nodes_online: usize,
    /// The certificate the device presented (https only).
    pub peer: Option<PeerCertificate>,
    /// Wall time of the test.
    pub elapsed_ms: u64,
}

impl std::fmt::Display for TestReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(
            f,
            "ARM {} ({}): connected with auth_method {} in {} ms",
            self.host, self.base_path, self.auth_method, self.elapsed_ms
        )?;
        let more = if self.more_pages {
            "more pages follow"
        } else {
            "no more pages"
        };
        writeln!(
            f,
            "registered users: {} on the first page, {more}",
            self.first_page_users
        )?;
        writeln!(f, "nodes: {} ({} online)", self.nodes, self.nodes_online)?;
        match &self.peer {
            None => writeln!(f, "certificate: none (plain http)"),
            Some(p) => {
                writeln!(f, "certificate SHA-256: {}", p.sha256_hex)?;
                let unknown = || "?".to_owned();
                writeln!(
                    f,
                    "certificate subject: {}",
                    p.subject.clone().unwrap_or_else(unknown)
                )?;
                writeln!(
                    f,
                    "certificate issuer: {}",
                    p.issuer.clone().unwrap_or_else(unknown)
                )?;
                writeln!(
                    f,
                    "certificate valid: {} to {}",
                    p.not_before.clone().unwrap_or_else(unknown),
                    p.not_after.clone().unwrap_or_else(unknown)
                )
            }
        }
    }
}

type HttpClient = Client<HttpsConnector<HttpConnector>, Full<Bytes>>;

/// One connection pool with its trust and the leaf its handshakes saw.
struct Transport {
    client: HttpClient,
    seen: SeenLeaf,
}

impl Transport {
    fn new(trust: &TlsTrust, https_only: bool) -> Result<Self, ArmError> {
        let seen = SeenLeaf::default();
        let tls = tls::client_config(trust, seen.clone())?;
        let mut http = HttpConnector::new();
        http.enforce_http(false); // the TLS layer above handles https
        http.set_nodelay(true);
        let builder = hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(tls);
        let connector = if https_only {
            builder.https_only().enable_http1().wrap_connector(http)
        } else {
            builder.https_or_http().enable_http1().wrap_connector(http)
        };
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(POOL_IDLE_TIMEOUT_S))
            .build(connector);
        Ok(Transport { client, seen })
    }

    fn take_seen(&self) -> Option<PeerCertificate> {
        let der = self.seen.lock().ok()?.take()?;
        Some(PeerCertificate::from_der(&der))
    }

    fn peek_seen(&self) -> Option<PeerCertificate> {
        let guard = self.seen.lock().ok()?;
        guard.as_deref().map(PeerCertificate::from_der)
    }
}

/// Where the OAuth token comes from.
struct TokenTarget {
    uri: String,
    host: String,
    /// `true` when the token URL is on another origin than the ARM: then the system roots
    /// are trusted there, not the ARM's pin or CA.
    foreign: bool,
}

struct CachedToken {
    header: Secret,
    refresh_at: Option<Instant>,
}

/// What a transport attempt ended with, short of a response.
enum Failure {
    Timeout,
    Tls(String),
    /// No connection: the request was not sent.
    Connect(String),
    /// The connection broke after the request may have been sent.
    Io(String),
}

/// What to do after one GET.
enum Step<T> {
    Done(Option<T>),
    Fail(ArmError),
    Relogin,
    Retry { err: ArmError, wait_s: Option<u64> },
}

struct Reply {
    status: StatusCode,
    retry_after_s: Option<u64>,
    body: Bytes,
}

/// The next page's request, sent while the current page is parsed so that the device
/// renders page k+1 while the client reads page k. Used only for the cursor it was sent
/// with; aborted when dropped unused (a retry, an error, a cursor the parse disagreed with).
struct Ahead {
    after: String,
    task: tokio::task::JoinHandle<Result<Reply, Failure>>,
}

impl Ahead {
    async fn reply(mut self) -> Result<Reply, Failure> {
        match (&mut self.task).await {
            Ok(reply) => reply,
            Err(e) => Err(Failure::Io(format!("the read-ahead request stopped: {e}"))),
        }
    }
}

impl Drop for Ahead {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// What a GET hands to its caller's hook before parsing a `200` body: the body and the
/// authorization it was fetched with.
type OnBody<'h> = dyn FnMut(&[u8], &Secret) + Send + 'h;

/// A client for one ARM. Cheap to share behind an `Arc`; requests are sequential per fetch.
pub struct ArmClient {
    cfg: ClientConfig,
    arm: Transport,
    token_target: Option<TokenTarget>,
    foreign: Option<Transport>,
    token: Mutex<Option<CachedToken>>,
    rng: AtomicU64,
}

impl std::fmt::Debug for ArmClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArmClient")
            .field("cfg", &self.cfg)
            .finish_non_exhaustive()
    }
}

impl ArmClient {
    /// Check the configuration and prepare the TLS trust; no request is made yet.
    pub fn new(cfg: ClientConfig) -> Result<Self, ArmError> {
        if !(1..=contract::PAGE_SIZE_MAX).contains(&cfg.page_size) {
            return Err(ArmError::Config(format!(
                "page_size {} is outside 1..={}",
                cfg.page_size,
                contract::PAGE_SIZE_MAX
            )));
        }
        if cfg.request_timeout_ms == 0 || cfg.pages_max == 0 {
            return Err(ArmError::Config(
                "request_timeout_ms and pages_max must be above 0".into(),
            ));
        }
        // A plain-http endpoint never does TLS with the ARM; a pin that no certificate can
        // match stands in, so that http:// does not need system roots to exist.
        let arm_trust = if cfg.endpoint.https {
            cfg.tls.clone()
        } else {
            TlsTrust::PinSha256([0; 32])
        };
        let arm = Transport::new(&arm_trust, cfg.endpoint.https)?;
        let token_target = match &cfg.auth {
            Auth::OAuth { token_url, .. } => Some(token_target(&cfg, token_url)?),
            _ => None,
        };
        let foreign = match &token_target {
            Some(t) if t.foreign => Some(Transport::new(&TlsTrust::SystemRoots, false)?),
            _ => None,
        };
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x853c_49e6_748f_ea9b);
        Ok(ArmClient {
            cfg,
            arm,
            token_target,
            foreign,
            token: Mutex::new(None),
            rng: AtomicU64::new(seed),
        })
    }

    /// The configuration this client was built with.
    pub fn config(&self) -> &ClientConfig {
        &self.cfg
    }

    /// Every registered user, following the cursor to the last page. Any failure, including
    /// a broken cursor chain, gives an error and no users.
    pub async fn fetch_all_users(&self) -> Result<Vec<RegisteredUser>, ArmError> {
        self.fetch_all_users_with(&mut |_| {}).await
    }

    /// As [`Self::fetch_all_users`], calling `on_page` after each page.
    pub async fn fetch_all_users_with(
        &self,
        on_page: &mut (dyn FnMut(PageProgress) + Send),
    ) -> Result<Vec<RegisteredUser>, ArmError> {
        self.fetch_all_users_as(on_page, |u| u).await
    }

    /// [`Self::fetch_all_users_with`], turning each user into what the caller keeps as its
    /// page arrives, so a large fetch never holds every device record at once.
    pub async fn fetch_all_users_as<T>(
        &self,
        on_page: &mut (dyn FnMut(PageProgress) + Send),
        mut keep: impl FnMut(RegisteredUser) -> T + Send,
    ) -> Result<Vec<T>, ArmError> {
        let mut users: Vec<T> = Vec::new();
        let mut first_page_of: HashMap<String, u32> = HashMap::new();
        let mut cursors_used: HashSet<String> = HashSet::new();
        let mut after: Option<String> = None;
        let mut ahead: Option<Ahead> = None;
        for page in 1..=self.cfg.pages_max {
            let sent_ahead = ahead
                .take()
                .filter(|a| Some(a.after.as_str()) == after.as_deref());
            let may_read_ahead = page < self.cfg.pages_max;
            let mut read_ahead = |body: &[u8], authorization: &Secret| {
                ahead = contract::peek_next_after(body)
                    .filter(|_| may_read_ahead)
                    .and_then(|next| self.read_ahead(next, authorization));
            };
            let Some(p) = self
                .users_page(page, after.as_deref(), sent_ahead, &mut read_ahead)
                .await?
            else {
                break; // 204 on the first page: the collection is empty
            };
            for u in &p.users {
                if let Some(earlier) = first_page_of.insert(u.key.clone(), page) {
                    return Err(self.chain_error(
                        page,
                        format!(
                            "user {} came on page {earlier} and again on page {page}",
                            u.key
                        ),
                    ));
                }
            }
            users.extend(p.users.into_iter().map(&mut keep));
            on_page(PageProgress {
                pages: page,
                users: users.len(),
            });
            match p.next_after {
                None => return Ok(users),
                Some(c) if !cursors_used.insert(c.clone()) => {
                    return Err(self.chain_error(
                        page,
                        format!("cursor.after {c:?} was already followed; the device is paging in circles"),
                    ));
                }
                Some(c) => after = Some(c),
            }
            if page == self.cfg.pages_max {
                return Err(self.chain_error(
                    page,
                    format!(
                        "still more pages after pages_max = {} pages ({} users); raise pages_max or page_size if the ARM really holds that many",
                        self.cfg.pages_max,
                        users.len()
                    ),
                ));
            }
        }
        Ok(users)
    }

    /// One page; `None` when the collection is empty (204 on the first page).
    ///
    /// One stray 204 must not be read as "no users", so on the first page it is believed
    /// only when a repeat says the same. After a page that promised more, a 204 would cut
    /// the list short, so it is retried like a 5xx and, if it persists, is an error.
    async fn users_page(
        &self,
        page: u32,
        after: Option<&str>,
        mut sent_ahead: Option<Ahead>,
        on_body: &mut OnBody<'_>,
    ) -> Result<Option<UsersPage>, ArmError> {
        let path = contract::users_path(&self.cfg.endpoint.base_path, self.cfg.page_size, after);
        let stage = Stage::UsersPage(page);
        let tries = if after.is_none() {
            2
        } else {
            self.cfg.retries_max + 1
        };
        for attempt in 1..=tries {
            let first = sent_ahead.take();
            let parse = contract::parse_users_page;
            if let Some(p) = self.get_with(stage, &path, parse, first, on_body).await? {
                return Ok(Some(p));
            }
            if attempt < tries {
                let delay_ms = self.backoff_ms(attempt);
                tracing::warn!(host = %self.cfg.endpoint.authority(), ?stage, attempt, delay_ms, "ARM answered 204; asking again");
                tokio::time::sleep(Duration::from_millis(delay_ms)).await;
            }
        }
        match after {
            None => Ok(None),
            Some(a) => Err(self.chain_error(
                page,
                format!(
                    "the previous page promised more (cursor.after {a:?}) but the device answered 204 No Content {tries} times"
                ),
            )),
        }
    }

    /// The node list (empty on 204).
    pub async fn nodes(&self) -> Result<Vec<Node>, ArmError> {
        let path = contract::nodes_path(&self.cfg.endpoint.base_path);
        Ok(self
            .get(Stage::Nodes, &path, contract::parse_nodes)
            .await?
            .unwrap_or_default())
    }

    /// Authenticate, read the first page and the node list, and say what was found.
    pub async fn test_connection(&self) -> Result<TestReport, ArmError> {
        let started = Instant::now();
        let path = contract::users_path(&self.cfg.endpoint.base_path, self.cfg.page_size, None);
        let first = self
            .get(Stage::UsersPage(1), &path, contract::parse_users_page)
            .await?;
        let nodes = self.nodes().await?;
        Ok(TestReport {
            host: self.cfg.endpoint.authority(),
            base_path: self.cfg.endpoint.base_path.clone(),
            auth_method: self.cfg.auth.method(),
            first_page_users: first.as_ref().map_or(0, |p| p.users.len()),
            more_pages: first.as_ref().is_some_and(|p| p.next_after.is_some()),
            nodes: nodes.len(),
            nodes_online: nodes.iter().filter(|n| n.online).count(),
            peer: if self.cfg.endpoint.https {
                self.arm.peek_seen()
            } else {
                None
            },
            elapsed_ms: started.elapsed().as_millis() as u64,
        })
    }

    /// GET `path` on the ARM and parse a `200`; `None` for `204`. Repeats the request as
    /// [`Self::judge`] decides, at most `retries_max` times, plus one re-login on `401`.
    async fn get<T>(
        &self,
        stage: Stage,
        path: &str,
        parse: fn(&[u8]) -> Result<T, ContractError>,
    ) -> Result<Option<T>, ArmError> {
        self.get_with(stage, path, parse, None, &mut |_, _| {})
            .await
    }

    /// [`Self::get`], taking its first reply from `sent_ahead` when one was sent, and
    /// showing every `200` body to `on_body` before it is parsed.
    async fn get_with<T>(
        &self,
        stage: Stage,
        path: &str,
        parse: fn(&[u8]) -> Result<T, ContractError>,
        mut sent_ahead: Option<Ahead>,
        on_body: &mut OnBody<'_>,
    ) -> Result<Option<T>, ArmError> {
        let site = self.site(stage);
        let uri = format!("{}{path}", self.cfg.endpoint.origin());
        let mut sent = 0u32;
        let mut retries = 0u32;
        let mut relogged = false;
        loop {
            let authorization = self.authorization().await?;
            sent += 1;
            let reply = match sent_ahead.take() {
                Some(a) => a.reply().await,
                None => {
                    let req = request(Method::GET, &uri, Some(&authorization), None)?;
                    self.send(&self.arm, req).await
                }
            };
            if let Ok(r) = &reply {
                if r.status == StatusCode::OK {
                    on_body(&r.body, &authorization);
                }
            }
            let (err, wait_s) = match self.judge(&site, sent, reply, parse, !relogged) {
                Step::Done(v) => return Ok(v),
                Step::Fail(err) => return Err(err),
                Step::Relogin => {
                    tracing::info!(host = %site.host, ?stage, "ARM answered 401; logging in again");
                    relogged = true;
                    self.forget_token();
                    continue;
                }
                Step::Retry { err, wait_s } => (err, wait_s),
            };
            if retries >= self.cfg.retries_max {
                return Err(err);
            }
            retries += 1;
            let delay_ms = wait_s.map_or_else(|| self.backoff_ms(retries), |s| s * 1000);
            tracing::warn!(%err, delay_ms, "ARM request failed; retrying");
            tokio::time::sleep(Duration::from_millis(delay_ms)).await;
        }
    }

    /// What one GET's outcome means: the module's retry policy in one match.
    fn judge<T>(
        &self,
        site: &Site,
        sent: u32,
        reply: Result<Reply, Failure>,
        parse: fn(&[u8]) -> Result<T, ContractError>,
        may_relogin: bool,
    ) -> Step<T> {
        let r = match reply {
            Ok(r) => r,
            // A certificate does not change between attempts.
            Err(Failure::Tls(cause)) => {
                return Step::Fail(self.tls_error(site.clone(), cause, &self.arm))
            }
            Err(f) => {
                return Step::Retry {
                    err: self.transport_error(site.clone(), f, sent),
                    wait_s: None,
                }
            }
        };
        match r.status {
            StatusCode::OK => match parse(&r.body) {
                Ok(v) => Step::Done(Some(v)),
                Err(source) => {
                    let transient = source.is_transient();
                    let err = ArmError::Contract {
                        site: site.clone(),
                        source,
                        attempts: sent,
                    };
                    if transient {
                        Step::Retry { err, wait_s: None }
                    } else {
                        Step::Fail(err)
                    }
                }
            },
            StatusCode::NO_CONTENT => Step::Done(None),
            // An expired or revoked token: log in again once and repeat the request.
            StatusCode::UNAUTHORIZED if may_relogin && self.uses_bearer() => Step::Relogin,
            s if s == StatusCode::TOO_MANY_REQUESTS || s.is_server_error() => match r.retry_after_s
            {
                Some(w) if w > self.cfg.retry_after_max_s => {
                    Step::Fail(ArmError::RetryAfterTooLong {
                        site: site.clone(),
                        retry_after_s: w,
                        max_s: self.cfg.retry_after_max_s,
                    })
                }
                wait_s => Step::Retry {
                    err: self.http_error(site.clone(), &r, sent),
                    wait_s,
                },
            },
            _ => Step::Fail(self.http_error(site.clone(), &r, sent)),
        }
    }

    /// The `Authorization` header value, logging in first when needed.
    async fn authorization(&self) -> Result<Secret, ArmError> {
        if let Auth::Basic { username, password } = &self.cfg.auth {
            let pair = format!("{username}:{}", password.expose());
            let b64 = base64::engine::general_purpose::STANDARD.encode(pair);
            return Ok(Secret::new(format!("Basic {b64}")));
        }
        if let Some(h) = self.cached_token() {
            return Ok(h);
        }
        let token = self.fetch_token().await?;
        let header = Secret::new(format!("Bearer {}", token.token.expose()));
        let refresh_at = token.expires_in_s.map(|s| {
            let margin = TOKEN_MARGIN_S.min(s / 10);
            Instant::now() + Duration::from_secs(s - margin)
        });
        if let Ok(mut slot) = self.token.lock() {
            *slot = Some(CachedToken {
                header: header.clone(),
                refresh_at,
            });
        }
        Ok(header)
    }

    /// Log in (session) or ask the token URL (OAuth) for a bearer token.
    async fn fetch_token(&self) -> Result<BearerToken, ArmError> {
        match &self.cfg.auth {
            Auth::Session { username, password } => {
                let path = contract::login_path(&self.cfg.endpoint.base_path);
                let uri = format!("{}{path}", self.cfg.endpoint.origin());
                let body = contract::login_body(username, password);
                let site = self.site(Stage::Login);
                self.post_for_token(
                    site,
                    &self.arm,
                    &uri,
                    "application/json",
                    body,
                    contract::parse_login,
                )
                .await
            }
            Auth::OAuth {
                client_id,
                client_secret,
                scope,
                ..
            } => {
                let target = self.token_target.as_ref().expect("built with OAuth");
                let transport = self.foreign.as_ref().unwrap_or(&self.arm);
                let body = contract::oauth_form(client_id, client_secret, scope.as_deref());
                let site = Site {
                    host: target.host.clone(),
                    stage: Stage::Token,
                };
                let form = "application/x-www-form-urlencoded";
                self.post_for_token(
                    site,
                    transport,
                    &target.uri,
                    form,
                    body,
                    contract::parse_oauth_token,
                )
                .await
            }
            Auth::Basic { .. } => unreachable!("basic auth sends no bearer token"),
        }
    }

    /// POST a login or token request. Repeated only when no connection could be made.
    async fn post_for_token(
        &self,
        site: Site,
        transport: &Transport,
        uri: &str,
        content_type: &str,
        body: Vec<u8>,
        parse: fn(&[u8]) -> Result<BearerToken, ContractError>,
    ) -> Result<BearerToken, ArmError> {
        let body = Bytes::from(body);
        let mut sent = 0u32;
        loop {
            sent += 1;
            let mut req = request(Method::POST, uri, None, Some(body.clone()))?;
            req.headers_mut().insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_str(content_type).expect("static content type"),
            );
            match self.send(transport, req).await {
                Ok(r) if r.status == StatusCode::OK => {
                    return parse(&r.body).map_err(|e| ArmError::Contract {
                        site,
                        source: e,
                        attempts: sent,
                    });
                }
                Ok(r) => return Err(self.http_error(site, &r, sent)),
                Err(Failure::Tls(cause)) => return Err(self.tls_error(site, cause, transport)),
                Err(Failure::Connect(cause)) if sent <= self.cfg.retries_max => {
                    let delay_ms = self.backoff_ms(sent);
                    tracing::warn!(host = %site.host, stage = ?site.stage, %cause, delay_ms, "cannot connect; retrying");
                    tokio::time::sleep(Duration::from_millis(delay_ms)).await;
                }
                Err(f) => return Err(self.transport_error(site, f, sent)),
            }
        }
    }

    /// One request with the per-request timeout over connect, TLS, headers and body.
    async fn send(
        &self,
        transport: &Transport,
        req: Request<Full<Bytes>>,
    ) -> Result<Reply, Failure> {
        exchange(&transport.client, req, self.request_timeout()).await
    }

    fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.cfg.request_timeout_ms)
    }

    /// Sends the request for the page after `after` on its own task (see [`Ahead`]).
    /// `None` when there is no runtime to send it on or no request to build.
    fn read_ahead(&self, after: String, authorization: &Secret) -> Option<Ahead> {
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let path = contract::users_path(
            &self.cfg.endpoint.base_path,
            self.cfg.page_size,
            Some(&after),
        );
        let uri = format!("{}{path}", self.cfg.endpoint.origin());
        let req = request(Method::GET, &uri, Some(authorization), None).ok()?;
        let client = self.arm.client.clone();
        let timeout = self.request_timeout();
        let task = runtime.spawn(async move { exchange(&client, req, timeout).await });
        Some(Ahead { after, task })
    }

    fn uses_bearer(&self) -> bool {
        !matches!(self.cfg.auth, Auth::Basic { .. })
    }

    fn cached_token(&self) -> Option<Secret> {
        let slot = self.token.lock().ok()?;
        let t = slot.as_ref()?;
        match t.refresh_at {
            Some(at) if Instant::now() >= at => None,
            _ => Some(t.header.clone()),
        }
    }

    fn forget_token(&self) {
        if let Ok(mut slot) = self.token.lock() {
            *slot = None;
        }
    }

    /// Exponential backoff with jitter in [delay/2, delay], so clients retrying together
    /// spread out.
    fn backoff_ms(&self, retry: u32) -> u64 {
        let exp = self
            .cfg
            .backoff_base_ms
            .saturating_mul(1u64 << retry.saturating_sub(1).min(20));
        let delay = exp.min(self.cfg.backoff_max_ms);
        delay / 2 + self.next_random() % (delay / 2 + 1)
    }

    /// splitmix64 over an atomic counter: a tiny PRNG that is good enough for jitter.
    fn next_random(&self) -> u64 {
        let mut z = self
            .rng
            .fetch_add(0x9e37_79b9_7f4a_7c15, Ordering::Relaxed)
            .wrapping_add(0x9e37_79b9_7f4a_7c15);
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn site(&self, stage: Stage) -> Site {
        Site {
            host: self.cfg.endpoint.authority(),
            stage,
        }
    }

    fn chain_error(&self, page: u32, detail: String) -> ArmError {
        ArmError::CursorChain {
            site: self.site(Stage::UsersPage(page)),
            detail,
        }
    }

    fn http_error(&self, site: Site, r: &Reply, attempts: u32) -> ArmError {
        let status = r.status.as_u16();
        ArmError::Http {
            hint: http_hint(
                status,
                site.stage,
                self.cfg.auth.method(),
                &self.cfg.endpoint.base_path,
            ),
            site,
            status,
            description: contract::error_description(&r.body),
            attempts,
        }
    }

    fn tls_error(&self, site: Site, cause: String, transport: &Transport) -> ArmError {
        ArmError::Tls {
            site,
            cause,
            seen_sha256: transport.take_seen().map(|p| p.sha256_hex),
        }
    }

    fn transport_error(&self, site: Site, f: Failure, attempts: u32) -> ArmError {
        match f {
            Failure::Timeout => ArmError::Timeout {
                site,
                timeout_ms: self.cfg.request_timeout_ms,
                attempts,
            },
            Failure::Connect(cause) | Failure::Io(cause) | Failure::Tls(cause) => {
                ArmError::Connect {
                    site,
                    cause,
                    attempts,
                }
            }
        }
    }
}

fn token_target(cfg: &ClientConfig, token_url: &str) -> Result<TokenTarget, ArmError> {
    if token_url.starts_with('/') {
        return Ok(TokenTarget {
            uri: format!("{}{token_url}", cfg.endpoint.origin()),
            host: cfg.endpoint.authority(),
            foreign: false,
        });
    }
    let uri: http::Uri = token_url
        .parse()
        .map_err(|e| ArmError::Config(format!("token_url {token_url:?}: {e}")))?;
    let (Some(scheme), Some(authority)) = (uri.scheme_str(), uri.authority()) else {
        return Err(ArmError::Config(format!(
            "token_url {token_url:?} needs https://host/… or a path on the ARM such as /oauth2/token"
        )));
    };
    if scheme != "https" && scheme != "http" {
        return Err(ArmError::Config(format!(
            "token_url {token_url:?}: scheme must be https or http"
        )));
    }
    let port = authority
        .port_u16()
        .unwrap_or(if scheme == "https" { 443 } else { 80 });
    let same_origin = (scheme == "https") == cfg.endpoint.https
        && authority
            .host()
            .trim_matches(['[', ']'])
            .eq_ignore_ascii_case(&cfg.endpoint.host)
        && port == cfg.endpoint.port;
    Ok(TokenTarget {
        uri: token_url.to_owned(),
        host: format!("{}:{port}", authority.host()),
        foreign: !same_origin,
    })
}

/// One request on `client` with `timeout` over connect, TLS, headers and body.
async fn exchange(
    client: &HttpClient,
    req: Request<Full<Bytes>>,
    timeout: Duration,
) -> Result<Reply, Failure> {
    let exchange = async {
        let resp = client.request(req).await.map_err(classify)?;
        let (parts, body) = resp.into_parts();
        let body = Limited::new(body, BODY_MAX_BYTES)
            .collect()
            .await
            .map_err(|e| Failure::Io(format!("reading the body: {e}")))?
            .to_bytes();
        let retry_after_s = parts
            .headers
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok());
        Ok(Reply {
            status: parts.status,
            retry_after_s,
            body,
        })
    };
    tokio::time::timeout(timeout, exchange)
        .await
        .unwrap_or(Err(Failure::Timeout))
}

fn request(
    method: Method,
    uri: &str,
    authorization: Option<&Secret>,
    body: Option<Bytes>,
) -> Result<Request<Full<Bytes>>, ArmError> {
    let mut b = Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "application/json")
        .header(
            header::USER_AGENT,
            concat!("numinv/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(a) = authorization {
        let mut v = header::HeaderValue::from_str(a.expose()).map_err(|_| {
            ArmError::Config("credentials hold characters not allowed in an HTTP header".into())
        })?;
        v.set_sensitive(true);
        b = b.header(header::AUTHORIZATION, v);
    }
    b.body(Full::new(body.unwrap_or_default()))
        .map_err(|e| ArmError::Config(format!("cannot build a request for {uri}: {e}")))
}

fn classify(e: hyper_util::client::legacy::Error) -> Failure {
    if let Some(t) = tls::find_tls_error(&e) {
        return Failure::Tls(t);
    }
    let text = error_chain(&e);
    if e.is_connect() {
        Failure::Connect(text)
    } else {
        Failure::Io(text)
    }
}

/// `outer: inner: innermost`, bounded, without hyper's generic outer "client error (…)".
fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let top = e.source().unwrap_or(e);
    let mut parts = vec![top.to_string()];
    let mut cur = top.source();
    while let (Some(s), true) = (cur, parts.len() < 6) {
        parts.push(s.to_string());
        cur = s.source();
    }
    parts.join(": ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arm::Endpoint;

    fn client(url: &str, auth: Auth) -> ArmClient {
        let endpoint = Endpoint::parse(url, None).unwrap();
        ArmClient::new(ClientConfig::new(
            endpoint,
            auth,
            TlsTrust::PinSha256([1; 32]),
        ))
        .unwrap()
    }

    fn basic() -> Auth {
        Auth::Basic {
            username: "admin".into(),
            password: "pw".into(),
        }
    }

    #[test]
    fn backoff_grows_is_capped_and_jittered() {
        let c = client("https://127.0.0.1:1", basic());
        for _ in 0..100 {
            let d1 = c.backoff_ms(1);
            assert!((100..=200).contains(&d1), "{d1}");
            let d3 = c.backoff_ms(3);
            assert!((400..=800).contains(&d3), "{d3}");
            let d30 = c.backoff_ms(30);
            assert!((2500..=5000).contains(&d30), "{d30}");
        }
        let distinct: HashSet<u64> = (0..50).map(|_| c.backoff_ms(5)).collect();
        assert!(distinct.len() > 10, "jitter spreads delays");
    }

    #[test]
    fn token_url_on_the_arm_or_elsewhere() {
        let cfg = ClientConfig::new(
            Endpoint::parse("https://10.0.0.5:8443", None).unwrap(),
            basic(),
            TlsTrust::SystemRoots,
        );
        let t = token_target(&cfg, "/oauth2/token").unwrap();
        assert_eq!(
            (t.uri.as_str(), t.foreign),
            ("https://10.0.0.5:8443/oauth2/token", false)
        );
        let t = token_target(&cfg, "https://10.0.0.5:8443/oauth2/token").unwrap();
        assert!(!t.foreign);
        let t = token_target(&cfg, "https://login.example/tenant/oauth2/v2.0/token").unwrap();
        assert_eq!((t.host.as_str(), t.foreign), ("login.example:443", true));
        assert!(token_target(&cfg, "ftp://x/y").is_err());
    }

    #[test]
    fn the_client_and_its_futures_can_move_between_threads() {
        fn send_sync<T: Send + Sync>(_: &T) {}
        fn send<T: Send>(_: &T) {}
        let c = client("https://127.0.0.1:1", basic());
        send_sync(&c);
        send(&c.fetch_all_users());
        send(&c.test_connection());
        send(&c.nodes());
    }

    #[test]
    fn config_bounds_are_checked() {
        let mut cfg = ClientConfig::new(
            Endpoint::parse("http://h", None).unwrap(),
            basic(),
            TlsTrust::SystemRoots,
        );
        cfg.page_size = 0;
        assert!(ArmClient::new(cfg.clone()).is_err());
        cfg.page_size = 1001;
        assert!(ArmClient::new(cfg.clone()).is_err());
        cfg.page_size = 1000;
        // Plain http needs no TLS roots at all.
        assert!(ArmClient::new(cfg).is_ok());
    }

    #[tokio::test]
    async fn refused_connection_is_retried_then_named() {
        // Bind then drop a listener to get a port that refuses connections.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut cfg = ClientConfig::new(
            Endpoint::parse(&format!("http://127.0.0.1:{port}"), None).unwrap(),
            Auth::Basic {
                username: "admin".into(),
                password: "s3cret-pw".into(),
            },
            TlsTrust::SystemRoots,
        );
        cfg.retries_max = 2;
        cfg.backoff_base_ms = 1;
        let c = ArmClient::new(cfg).unwrap();
        let err = c.fetch_all_users().await.unwrap_err();
        let text = err.to_string();
        assert!(
            matches!(err, ArmError::Connect { attempts: 3, .. }),
            "{text}"
        );
        assert!(
            text.contains(&format!("ARM 127.0.0.1:{port}, registered users page 1")),
            "{text}"
        );
        assert!(!text.contains("s3cret") && !format!("{err:?}").contains("s3cret"));
    }
}
