//! The HTTP API and its server. Architecture invariant: only `api` (and `web`) know JSON and
//! HTML shapes; the CLI's `--format json` prints the same `wire` types.
//!
//! Every route is one small handler that parses its input, calls one `ops` function on a
//! blocking thread (redb is blocking) and renders the result. Adding a route for a new
//! operation (sync, purge, audit) means adding one handler and one `.route(...)` line.

mod error;
mod extract;
pub(crate) mod handlers;
mod limits;
pub mod metrics;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::routing::{get, post};
use axum::Router;
use chrono::{DateTime, Utc};

use crate::clock::Clock;
use crate::store::Store;

pub use error::ApiError;
pub use extract::{Body, Q};
pub use limits::Limits;
pub use metrics::Metrics;

/// What every handler shares.
#[derive(Clone)]
pub struct ApiState {
    pub store: Arc<Store>,
    pub clock: Arc<dyn Clock>,
    /// Counters shown at `/metrics`; the expiry scheduler reports its releases here too.
    pub metrics: Arc<Metrics>,
}

impl ApiState {
    pub fn new(store: Arc<Store>, clock: Arc<dyn Clock>) -> ApiState {
        ApiState {
            store,
            clock,
            metrics: Arc::new(Metrics::default()),
        }
    }

    /// Runs `f` on a blocking thread with the store and the clock's current reading.
    pub async fn blocking<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        T: Send + 'static,
        F: FnOnce(&Store, DateTime<Utc>) -> Result<T, ApiError> + Send + 'static,
    {
        let store = self.store.clone();
        let now = self.clock.now();
        tokio::task::spawn_blocking(move || f(&store, now))
            .await
            .map_err(|e| ApiError::internal(format!("the operation stopped unexpectedly: {e}")))?
    }
}

/// CSV imports may be this large.
pub const IMPORT_BODY_MAX_BYTES: usize = 8 * 1024 * 1024;
/// Every other request body is at most this large.
pub const BODY_MAX_BYTES: usize = 64 * 1024;

/// The whole HTTP surface with the default limits: `/api/…`, `/healthz`, `/metrics` and the
/// web UI.
pub fn router(state: ApiState) -> Router {
    router_with(state, Limits::default())
}

/// The whole HTTP surface with explicit limits.
pub fn router_with(state: ApiState, limits: Limits) -> Router {
    let api = api_routes().route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        handlers::auth::require_token,
    ));
    Router::new()
        .merge(api)
        .route("/healthz", get(handlers::healthz))
        .merge(crate::web::routes(state.clone()))
        .fallback(handlers::not_found)
        .layer(DefaultBodyLimit::max(BODY_MAX_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            Arc::new(limits::Gate::new(&limits)),
            limits::gate,
        ))
        .layer(axum::middleware::from_fn(error::json_errors))
        .layer(axum::middleware::from_fn_with_state(
            state.metrics.clone(),
            metrics::count_requests,
        ))
        .with_state(state)
}

/// The routes that need a bearer token; the read role may only GET.
fn api_routes() -> Router<ApiState> {
    use handlers::{admin, numbers};
    Router::new()
        .route("/metrics", get(metrics::render))
        .route("/api/numbers", get(numbers::list).post(numbers::add))
        .route(
            "/api/numbers/import",
            post(numbers::import).layer(DefaultBodyLimit::max(IMPORT_BODY_MAX_BYTES)),
        )
        .route("/api/numbers/export", get(numbers::export))
        .route("/api/numbers/allocate", post(numbers::allocate))
        .route(
            "/api/numbers/{number}",
            get(numbers::show).delete(numbers::delete),
        )
        .route("/api/numbers/{number}/history", get(numbers::history))
        .route("/api/numbers/{number}/reserve", post(numbers::reserve))
        .route("/api/numbers/{number}/unreserve", post(numbers::unreserve))
        .route("/api/numbers/{number}/cool", post(numbers::cool))
        .route("/api/numbers/{number}/release", post(numbers::release))
        .route("/api/numbers/{number}/unassign", post(numbers::unassign))
        .route("/api/transactions", get(admin::transactions))
        .route("/api/transactions/{id}", get(admin::transaction))
        .route("/api/events", get(admin::events))
        .route("/api/macros", get(admin::macros))
        .route(
            "/api/macros/{name}",
            get(admin::get_macro).put(admin::set_macro),
        )
        .route("/api/settings", get(admin::settings))
        .route(
            "/api/settings/{name}",
            get(admin::get_setting).put(admin::set_setting),
        )
        .route("/api/expire", post(admin::expire))
        .route("/api/tokens", get(admin::tokens))
}

/// Serves until `shutdown` completes, then lets requests in flight finish.
pub async fn serve(
    listener: tokio::net::TcpListener,
    state: ApiState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    serve_with(listener, state, Limits::default(), shutdown).await
}

/// [`serve`] with explicit limits.
pub async fn serve_with(
    listener: tokio::net::TcpListener,
    state: ApiState,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, router_with(state, limits))
        .with_graceful_shutdown(shutdown)
        .await
}

/// Default request timeout.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
