//! Every error answer is a 4xx/5xx with a one-line JSON `{"error": …}` body.

use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use super::wire::ErrorBody;
use crate::ops::OpError;
use crate::store::StoreError;

/// An error answer: its status and one line saying what, which input, and what to do.
#[derive(Debug)]
pub struct ApiError {
    pub status: StatusCode,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: one_line(&message.into()),
        }
    }

    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    pub fn internal(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, message)
    }
}

/// Messages are single lines, so clients and logs can show them as they are.
pub fn one_line(s: &str) -> String {
    s.split_whitespace().collect::<Vec<_>>().join(" ")
}

impl From<OpError> for ApiError {
    fn from(e: OpError) -> Self {
        match e {
            OpError::Invalid(m) => ApiError::bad_request(m),
            OpError::NotFound(m) => ApiError::not_found(m),
            OpError::Store(e) => e.into(),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        tracing::error!(error = %e, "store error");
        ApiError::internal(format!(
            "store error: {e}; check the server log and run `numinv log verify`"
        ))
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = (
            self.status,
            axum::Json(ErrorBody {
                error: self.message,
            }),
        )
            .into_response();
        if self.status == StatusCode::UNAUTHORIZED {
            res.headers_mut()
                .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        res
    }
}

/// Answers that axum makes itself (405, 413 from a raw body, …) come back as plain text;
/// under `/api`, `/metrics` and `/healthz` this turns them into the JSON error shape.
pub async fn json_errors(req: Request, next: Next) -> Response {
    let path = req.uri().path().to_string();
    let method = req.method().clone();
    let res = next.run(req).await;
    let machine = path.starts_with("/api/") || path == "/api" || path == "/metrics";
    let status = res.status();
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if !machine || !(status.is_client_error() || status.is_server_error()) || is_json {
        return res;
    }
    let message = match status {
        StatusCode::METHOD_NOT_ALLOWED => {
            format!("method {method} is not allowed on {path}; the routes and their methods are listed at /api/openapi.json")
        }
        StatusCode::PAYLOAD_TOO_LARGE => format!(
            "request body for {method} {path} is too large; the limit is {} KiB ({} MiB for CSV import)",
            super::BODY_MAX_BYTES / 1024,
            super::IMPORT_BODY_MAX_BYTES / 1024 / 1024
        ),
        s => format!(
            "{method} {path} failed: {}",
            s.canonical_reason().unwrap_or("error")
        ),
    };
    let mut out = ApiError::new(status, message).into_response();
    if let Some(allow) = res.headers().get(header::ALLOW) {
        out.headers_mut().insert(header::ALLOW, allow.clone());
    }
    out
}
