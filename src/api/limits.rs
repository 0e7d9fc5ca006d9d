//! Bounds on the work the server takes on: requests in flight and time per request.
//! (Body sizes are bounded by `DefaultBodyLimit` on the router.)

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::StatusCode;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use super::error::ApiError;

/// The server's limits; spelled out rather than left to library defaults.
#[derive(Clone, Debug)]
pub struct Limits {
    /// Requests handled at once; more wait for a slot within their timeout.
    pub concurrency_max: usize,
    /// Time for one request, from arrival (waiting for a slot included) to its answer.
    pub request_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            concurrency_max: 64,
            request_timeout: super::REQUEST_TIMEOUT,
        }
    }
}

pub struct Gate {
    slots: Arc<Semaphore>,
    timeout: Duration,
}

impl Gate {
    pub fn new(limits: &Limits) -> Gate {
        Gate {
            slots: Arc::new(Semaphore::new(limits.concurrency_max.max(1))),
            timeout: limits.request_timeout,
        }
    }
}

/// Waits for a slot, then runs the request, all within the request timeout. A write that
/// already started on a blocking thread still commits or aborts as a whole.
pub async fn gate(State(gate): State<Arc<Gate>>, req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let slots = gate.slots.clone();
    let run = async move {
        let _permit = slots.acquire_owned().await;
        next.run(req).await
    };
    match tokio::time::timeout(gate.timeout, run).await {
        Ok(res) => res,
        Err(_) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            format!(
                "{path} did not finish within {} s (server busy or request too large); a change may still complete, so check /api/transactions before you retry",
                gate.timeout.as_secs()
            ),
        )
        .into_response(),
    }
}
