//! `/metrics` in the Prometheus text format: entries by status and vendor, expiry releases,
//! HTTP requests by route and code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::wire::ErrorBody;
use super::{ApiError, ApiState};
use crate::store::EntryFilter;

/// In-process counters. Entry counts are read from the store at each scrape instead.
#[derive(Default)]
pub struct Metrics {
    /// (method, route, code) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    expiry_released: AtomicU64,
    expiry_runs: AtomicU64,
}

/// Distinct (method, route, code) series kept; routes are templates, so this is a guard
/// against a bug rather than an expected bound.
const REQUEST_SERIES_MAX: usize = 10_000;

impl Metrics {
    /// Records one expiry sweep and how many numbers it released.
    pub fn record_expiry(&self, released: u64) {
        self.expiry_runs.fetch_add(1, Ordering::Relaxed);
        self.expiry_released.fetch_add(released, Ordering::Relaxed);
    }

    fn record_request(&self, method: &str, route: &str, code: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let key = (method.to_string(), route.to_string(), code);
        if m.len() < REQUEST_SERIES_MAX || m.contains_key(&key) {
            *m.entry(key).or_default() += 1;
        }
    }

    /// The text exposition, given the entry counts by (status, vendor).
    pub fn exposition(&self, entries: &BTreeMap<(String, String), u64>) -> String {
        let mut out = String::new();
        out.push_str("# HELP numinv_entries Inventory entries by status and vendor.\n");
        out.push_str("# TYPE numinv_entries gauge\n");
        for ((status, vendor), n) in entries {
            let _ = writeln!(
                out,
                "numinv_entries{{status=\"{}\",vendor=\"{}\"}} {n}",
                label(status),
                label(vendor)
            );
        }
        out.push_str(
            "# HELP numinv_expiry_released_total Numbers released by expiry sweeps since start.\n",
        );
        out.push_str("# TYPE numinv_expiry_released_total counter\n");
        let _ = writeln!(
            out,
            "numinv_expiry_released_total {}",
            self.expiry_released.load(Ordering::Relaxed)
        );
        out.push_str("# HELP numinv_expiry_runs_total Expiry sweeps since start.\n");
        out.push_str("# TYPE numinv_expiry_runs_total counter\n");
        let _ = writeln!(
            out,
            "numinv_expiry_runs_total {}",
            self.expiry_runs.load(Ordering::Relaxed)
        );
        out.push_str(
            "# HELP numinv_http_requests_total HTTP requests by method, route and status code.\n",
        );
        out.push_str("# TYPE numinv_http_requests_total counter\n");
        let m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        for ((method, route, code), n) in m.iter() {
            let _ = writeln!(
                out,
                "numinv_http_requests_total{{method=\"{}\",route=\"{}\",code=\"{code}\"}} {n}",
                label(method),
                label(route)
            );
        }
        out
    }
}

/// Escapes a label value.
fn label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// Counts every request by its route template (not its path, so numbers do not become
/// series), including the ones refused by auth or limits.
pub async fn count_requests(
    State(metrics): State<Arc<Metrics>>,
    req: Request,
    next: Next,
) -> Response {
    let method = req.method().to_string();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|p| p.as_str().to_string());
    let res = next.run(req).await;
    let route = route.unwrap_or_else(|| "unmatched".to_string());
    let code = res.status().as_u16();
    // The route template only: never the path (numbers), the query or any header (tokens).
    tracing::debug!(%method, %route, code, "http request");
    metrics.record_request(&method, &route, code);
    res
}

/// `GET /metrics`
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "ops",
    responses(
        (status = 200, description = "Prometheus text format", content_type = "text/plain", body = String),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn render(State(state): State<ApiState>) -> Result<Response, ApiError> {
    let entries = state
        .blocking(|store, _| {
            let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
            for e in store.read()?.entries(&EntryFilter::default())? {
                *counts
                    .entry((e.status.to_string(), e.vendor.to_string()))
                    .or_default() += 1;
            }
            Ok(counts)
        })
        .await?;
    let body = state.metrics.exposition(&entries);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
