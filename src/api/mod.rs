//! The HTTP API and its server. Architecture invariant: only `api` (and `web`) know JSON and
//! HTML shapes; the CLI's `--format json` prints the same `wire` types.
//!
//! Every route is one small handler that parses its input, calls one `ops` function on a
//! blocking thread (redb is blocking) and renders the result. Adding a route for a new
//! operation (sync, purge, audit) means: a handler with `#[utoipa::path]` in `handlers/`,
//! one row in [`endpoints`], and its name in the `paths(...)` of `openapi.rs`
//! (`tests/it/api_openapi.rs` fails if the last is forgotten). Auth, limits, metrics and the
//! JSON error shape apply to it without further code.
//!
//! Layers, outermost first: request counting (`metrics`), JSON error bodies (`error`),
//! concurrency and timeout (`limits`), body size, then bearer auth on the `/api` table.

mod error;
mod extract;
pub(crate) mod handlers;
mod limits;
pub mod metrics;
pub mod openapi;
pub mod tls;
pub mod wire;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::DefaultBodyLimit;
use axum::http::Method;
use axum::routing::{get, on, MethodFilter, MethodRouter};
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
    /// Request counters shown at `/metrics`.
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

impl ApiState {
    /// Runs `f` right here on the async worker, for reads that are short and bounded (the
    /// token lookup of every request): handing those to the blocking pool costs two thread
    /// switches, more than the read itself (measured: 7.7k → 14k small requests/s).
    pub fn inline<T, F>(&self, f: F) -> Result<T, ApiError>
    where
        F: FnOnce(&Store, DateTime<Utc>) -> Result<T, ApiError>,
    {
        f(&self.store, self.clock.now())
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
        .route("/api/openapi.json", get(openapi::document))
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

/// One route: method, path template, and its handler (with any route-specific layer).
pub struct Endpoint {
    pub method: Method,
    pub path: &'static str,
    route: MethodRouter<ApiState>,
}

fn ep<H, T>(method: Method, path: &'static str, handler: H) -> Endpoint
where
    H: axum::handler::Handler<T, ApiState>,
    T: 'static,
{
    let filter = MethodFilter::try_from(method.clone()).unwrap_or(MethodFilter::GET);
    Endpoint {
        method,
        path,
        route: on(filter, handler),
    }
}

/// The routes that need a bearer token (the read role may only GET). The router is built
/// from this table, and the OpenAPI test checks every row appears in the document.
/// A new operation (sync, purge, audit) is one row here and one handler.
pub fn endpoints() -> Vec<Endpoint> {
    use handlers::{admin, numbers, sync};
    use Method as M;
    let mut import = ep(M::POST, "/api/numbers/import", numbers::import);
    import.route = import
        .route
        .layer(DefaultBodyLimit::max(IMPORT_BODY_MAX_BYTES));
    vec![
        ep(M::GET, "/metrics", metrics::render),
        ep(M::GET, "/api/numbers", numbers::list),
        ep(M::POST, "/api/numbers", numbers::add),
        import,
        ep(M::GET, "/api/numbers/export", numbers::export),
        ep(M::POST, "/api/numbers/allocate", numbers::allocate),
        ep(M::GET, "/api/numbers/{number}", numbers::show),
        ep(M::DELETE, "/api/numbers/{number}", numbers::delete),
        ep(M::GET, "/api/numbers/{number}/history", numbers::history),
        ep(M::POST, "/api/numbers/{number}/reserve", numbers::reserve),
        ep(
            M::POST,
            "/api/numbers/{number}/unreserve",
            numbers::unreserve,
        ),
        ep(M::POST, "/api/numbers/{number}/cool", numbers::cool),
        ep(M::POST, "/api/numbers/{number}/release", numbers::release),
        ep(M::POST, "/api/numbers/{number}/unassign", numbers::unassign),
        ep(M::GET, "/api/transactions", admin::transactions),
        ep(M::GET, "/api/transactions/{id}", admin::transaction),
        ep(M::GET, "/api/events", admin::events),
        ep(M::GET, "/api/macros", admin::macros),
        ep(M::GET, "/api/macros/{name}", admin::get_macro),
        ep(M::PUT, "/api/macros/{name}", admin::set_macro),
        ep(M::GET, "/api/settings", admin::settings),
        ep(M::GET, "/api/settings/{name}", admin::get_setting),
        ep(M::PUT, "/api/settings/{name}", admin::set_setting),
        ep(M::POST, "/api/expire", admin::expire),
        ep(M::GET, "/api/tokens", admin::tokens),
        ep(M::GET, "/api/connections", sync::list),
        ep(M::POST, "/api/connections", sync::add),
        ep(M::GET, "/api/connections/{name}", sync::show),
        ep(M::PUT, "/api/connections/{name}", sync::update),
        ep(M::DELETE, "/api/connections/{name}", sync::delete),
        ep(M::POST, "/api/connections/{name}/test", sync::test),
        ep(M::POST, "/api/connections/{name}/sync", sync::run_sync),
        ep(M::POST, "/api/connections/{name}/purge", sync::purge),
        ep(M::GET, "/api/audit", sync::audit),
        ep(M::POST, "/api/audit/fix", sync::audit_fix),
        ep(M::GET, "/api/schedules", sync::schedules),
        ep(M::PUT, "/api/schedules/{name}", sync::set_schedule),
        ep(M::POST, "/api/backup", sync::backup),
    ]
}

/// Routes anyone may call.
pub const PUBLIC_ROUTES: &[&str] = &["/healthz", "/api/openapi.json"];

fn api_routes() -> Router<ApiState> {
    endpoints()
        .into_iter()
        .fold(Router::new(), |r, e| r.route(e.path, e.route))
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
