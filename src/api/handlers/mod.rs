//! One handler per operation: parse, call `ops` on a blocking thread, render.

pub mod admin;
pub mod auth;
pub mod numbers;

use axum::http::{StatusCode, Uri};
use axum::response::{Html, IntoResponse, Response};

use super::ApiError;

/// `GET /healthz`: no auth, no store access; says the process answers.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "ops",
    security(()),
    responses((status = 200, description = "The process answers", content_type = "text/plain", body = String))
)]
pub async fn healthz() -> &'static str {
    "ok\n"
}

/// Unknown paths: JSON under `/api`, a small page elsewhere.
pub async fn not_found(uri: Uri) -> Response {
    let path = uri.path();
    if path.starts_with("/api") || path == "/metrics" {
        ApiError::not_found(format!(
            "no route {path}; the API routes are listed at /api/openapi.json"
        ))
        .into_response()
    } else {
        (
            StatusCode::NOT_FOUND,
            Html(crate::web::not_found_page(path)),
        )
            .into_response()
    }
}
