//! `/metrics` in the Prometheus text format: entries by status and vendor, expiry releases,
//! HTTP requests by route and code.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::wire::ErrorBody;
use super::{ApiError, ApiState};
use crate::store::{decode, Entity, EntryFilter, Reader, StoreError, TxRecord};

/// The transaction kind of an expiry sweep (`ops::admin::expire`).
const EXPIRY_KIND: &str = "expiry";

/// Request counters kept in the process; entry counts and expiry releases come from the
/// store, so sweeps run by the scheduler, the CLI or the API all count.
#[derive(Default)]
pub struct Metrics {
    /// (method, route, code) → requests.
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    /// What has been read of the change log so far.
    tally: Mutex<LogTally>,
}

/// Totals read from the change log, advanced incrementally at each scrape.
#[derive(Clone, Copy, Debug, Default)]
pub struct LogTally {
    /// The last event sequence read.
    pub seq: u64,
    /// Numbers released by expiry sweeps, over the whole log.
    pub expiry_released: u64,
    /// Expiry sweeps that released something (a sweep that changes nothing writes nothing).
    pub expiry_transactions: u64,
}

/// Events read from the log per scrape at most, so the first scrape of a long log is
/// bounded; later scrapes continue where it stopped.
pub const LOG_SCAN_PER_SCRAPE_MAX: usize = 200_000;
const LOG_SCAN_PAGE: usize = 10_000;

/// Distinct (method, route, code) series kept; routes are templates, so this is a guard
/// against a bug rather than an expected bound.
const REQUEST_SERIES_MAX: usize = 10_000;

impl Metrics {
    /// Reads the log past what was read before (at most [`LOG_SCAN_PER_SCRAPE_MAX`] events)
    /// and returns the totals.
    pub fn catch_up(&self, reader: &Reader) -> Result<LogTally, StoreError> {
        let mut t = self.tally.lock().unwrap_or_else(|p| p.into_inner());
        let mut budget = LOG_SCAN_PER_SCRAPE_MAX;
        while budget > 0 {
            let events = reader.events(t.seq, LOG_SCAN_PAGE.min(budget))?;
            if events.is_empty() {
                break;
            }
            budget = budget.saturating_sub(events.len());
            for ev in &events {
                t.seq = ev.seq;
                if ev.entity != Entity::Transaction {
                    continue;
                }
                let Some(bytes) = &ev.after else { continue };
                let rec: TxRecord = decode(ev.entity.table_name(), ev.key.as_bytes(), bytes)?;
                if rec.kind == EXPIRY_KIND {
                    t.expiry_released += rec.get("released");
                    t.expiry_transactions += 1;
                }
            }
        }
        Ok(*t)
    }

    fn record_request(&self, method: &str, route: &str, code: u16) {
        let mut m = self.requests.lock().unwrap_or_else(|p| p.into_inner());
        let key = (method.to_string(), route.to_string(), code);
        if m.len() < REQUEST_SERIES_MAX || m.contains_key(&key) {
            *m.entry(key).or_default() += 1;
        }
    }

    /// The text exposition, given the entry counts by (status, vendor) and the log totals.
    pub fn exposition(&self, entries: &BTreeMap<(String, String), u64>, log: &LogTally) -> String {
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
        out.push_str("# HELP numinv_expiry_released_total Numbers released by expiry sweeps (from the change log).\n");
        out.push_str("# TYPE numinv_expiry_released_total counter\n");
        let _ = writeln!(out, "numinv_expiry_released_total {}", log.expiry_released);
        out.push_str(
            "# HELP numinv_expiry_transactions_total Expiry sweeps that released numbers.\n",
        );
        out.push_str("# TYPE numinv_expiry_transactions_total counter\n");
        let _ = writeln!(
            out,
            "numinv_expiry_transactions_total {}",
            log.expiry_transactions
        );
        out.push_str("# HELP numinv_log_head_seq Sequence of the last change-log event.\n");
        out.push_str("# TYPE numinv_log_head_seq gauge\n");
        let _ = writeln!(out, "numinv_log_head_seq {}", log.seq);
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
    let metrics = state.metrics.clone();
    let (entries, log) = state
        .blocking(move |store, _| {
            let reader = store.read()?;
            let mut counts: BTreeMap<(String, String), u64> = BTreeMap::new();
            for e in reader.entries(&EntryFilter::default())? {
                *counts
                    .entry((e.status.to_string(), e.vendor.to_string()))
                    .or_default() += 1;
            }
            Ok((counts, metrics.catch_up(&reader)?))
        })
        .await?;
    let body = state.metrics.exposition(&entries, &log);
    Ok((
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        body,
    )
        .into_response())
}
