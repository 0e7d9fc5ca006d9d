//! Commands through a running server's API (`--server URL` or `NUMINV_SERVER`), for when
//! `numinv serve` holds the data dir (redb allows one process per file). The answers are
//! the API's wire types; each command converts them back and prints through the same
//! rendering code as the local command, so both modes print the same.

use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::{Method, Request};
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::api::wire::ErrorBody;

/// How long one request may take; a sync of a large ARM may take a while.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);
/// How long to wait for the TCP connection.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A client of one numinv server.
pub struct Remote {
    base: String,
    token: Option<String>,
    rt: tokio::runtime::Runtime,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Percent-encodes a path segment or query value (everything but RFC 3986 unreserved).
pub fn enc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `?a=1&b=2` of the pairs whose value is present (empty when none is).
pub fn query(pairs: &[(&str, Option<&str>)]) -> String {
    let parts: Vec<String> = pairs
        .iter()
        .filter_map(|(k, v)| v.map(|v| format!("{k}={}", enc(v))))
        .collect();
    if parts.is_empty() {
        String::new()
    } else {
        format!("?{}", parts.join("&"))
    }
}

impl Remote {
    /// A client of the server at `url` (`http://host:port`).
    pub fn new(url: &str, token: Option<String>) -> anyhow::Result<Remote> {
        let base = url.trim().trim_end_matches('/').to_string();
        if base.starts_with("https://") {
            anyhow::bail!(
                "--server {base}: the CLI speaks plain HTTP to the server (which listens on loopback by default); give http://host:port"
            );
        }
        let authority = base.strip_prefix("http://").ok_or_else(|| {
            anyhow::anyhow!(
                "--server {base:?} is not a URL; give http://host:port as `numinv serve` prints it"
            )
        })?;
        if authority.is_empty() || authority.contains('/') {
            anyhow::bail!("--server {base:?}: give only http://host:port, without a path");
        }
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let mut connector = HttpConnector::new();
        connector.set_connect_timeout(Some(CONNECT_TIMEOUT));
        let client = Client::builder(TokioExecutor::new()).build(connector);
        Ok(Remote {
            base,
            token: token.filter(|t| !t.trim().is_empty()),
            rt,
            client,
        })
    }

    /// The server's address, as given.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// One request; a non-2xx answer becomes the server's one-line error.
    pub fn request(
        &self,
        method: Method,
        path: &str,
        content_type: Option<&str>,
        body: Vec<u8>,
    ) -> anyhow::Result<Bytes> {
        let mut req = Request::builder()
            .method(method.clone())
            .uri(format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.header(hyper::header::AUTHORIZATION, format!("Bearer {}", t.trim()));
        }
        if let Some(ct) = content_type {
            req = req.header(hyper::header::CONTENT_TYPE, ct);
        }
        let req = req
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| anyhow::anyhow!("cannot build the request {method} {path}: {e}"))?;
        let base = &self.base;
        let (status, bytes) = self.rt.block_on(async {
            let call = async {
                let res = self.client.request(req).await.map_err(|e| {
                    anyhow::anyhow!(
                        "cannot reach the numinv server at {base}: {e}; check --server / NUMINV_SERVER and that `numinv serve` runs"
                    )
                })?;
                let status = res.status();
                let bytes = res
                    .into_body()
                    .collect()
                    .await
                    .map_err(|e| anyhow::anyhow!("{method} {base}{path}: the answer broke off: {e}"))?
                    .to_bytes();
                Ok::<_, anyhow::Error>((status, bytes))
            };
            tokio::time::timeout(REQUEST_TIMEOUT, call)
                .await
                .map_err(|_| {
                    anyhow::anyhow!(
                        "{method} {base}{path}: no answer within {}s; a change may still complete on the server, check `numinv --server {base} transactions list`",
                        REQUEST_TIMEOUT.as_secs()
                    )
                })?
        })?;
        if status.is_success() {
            return Ok(bytes);
        }
        let message = serde_json::from_slice::<ErrorBody>(&bytes)
            .map(|e| e.error)
            .unwrap_or_else(|_| {
                format!(
                    "{method} {base}{path} answered {status}: {}",
                    String::from_utf8_lossy(&bytes).trim()
                )
            });
        if status == hyper::StatusCode::UNAUTHORIZED && self.token.is_none() {
            anyhow::bail!(
                "the server at {base} wants a token: set NUMINV_TOKEN (or --token); create one on the server's machine with `numinv tokens create NAME --role admin`"
            );
        }
        anyhow::bail!("{message}")
    }

    fn decode<T: DeserializeOwned>(&self, path: &str, bytes: &[u8]) -> anyhow::Result<T> {
        serde_json::from_slice(bytes).map_err(|e| {
            anyhow::anyhow!(
                "{}{path} sent an answer this numinv cannot read ({e}); use the same version on both sides",
                self.base
            )
        })
    }

    pub fn get<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let bytes = self.request(Method::GET, path, None, Vec::new())?;
        self.decode(path, &bytes)
    }

    /// A request with a JSON body.
    pub fn send<B: Serialize + ?Sized, T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: &B,
    ) -> anyhow::Result<T> {
        let body = serde_json::to_vec(body)?;
        let bytes = self.request(method, path, Some("application/json"), body)?;
        self.decode(path, &bytes)
    }

    /// A request with a body of another type (CSV), answered with JSON.
    pub fn send_bytes<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        content_type: &str,
        body: Vec<u8>,
    ) -> anyhow::Result<T> {
        let bytes = self.request(method, path, Some(content_type), body)?;
        self.decode(path, &bytes)
    }

    /// A POST without a body.
    pub fn post<T: DeserializeOwned>(&self, path: &str) -> anyhow::Result<T> {
        let bytes = self.request(Method::POST, path, None, Vec::new())?;
        self.decode(path, &bytes)
    }
}

/// Converts wire values back to what the renderers take.
pub fn back<'a, V: 'a, T>(views: impl IntoIterator<Item = &'a V>) -> anyhow::Result<Vec<T>>
where
    T: TryFrom<&'a V, Error = String>,
{
    views
        .into_iter()
        .map(|v| T::try_from(v).map_err(anyhow::Error::msg))
        .collect()
}

/// The one line a command that only works on the data dir itself prints in remote mode.
pub fn local_only(what: &str, why: &str) -> anyhow::Error {
    anyhow::anyhow!("`numinv {what}` does not go through --server: {why}")
}
