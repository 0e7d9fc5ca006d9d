//! Extractors whose failures are JSON errors naming the bad field.

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::http::StatusCode;
use axum::Json;
use serde::de::DeserializeOwned;

use super::error::ApiError;

/// A JSON request body; an empty body reads as `{}`, so optional fields may be left out.
pub struct Body<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for Body<T> {
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, ApiError> {
        let path = req.uri().path().to_string();
        let bytes = Bytes::from_request(req, state).await.map_err(|r| {
            if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
                ApiError::new(
                    r.status(),
                    format!(
                        "request body for {path} is larger than {} KiB; send less (CSV goes to /api/numbers/import, up to {} MiB)",
                        super::BODY_MAX_BYTES / 1024,
                        super::IMPORT_BODY_MAX_BYTES / 1024 / 1024
                    ),
                )
            } else {
                ApiError::new(r.status(), format!("cannot read the request body: {}", r.body_text()))
            }
        })?;
        let bytes = if bytes.iter().all(u8::is_ascii_whitespace) {
            Bytes::from_static(b"{}")
        } else {
            bytes
        };
        match Json::<T>::from_bytes(&bytes) {
            Ok(Json(v)) => Ok(Body(v)),
            Err(r) => Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                format!(
                    "invalid JSON body: {}; fix the field named and retry",
                    r.body_text()
                ),
            )),
        }
    }
}

/// Query parameters.
pub struct Q<T>(pub T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for Q<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        match Query::<T>::from_request_parts(parts, state).await {
            Ok(Query(v)) => Ok(Q(v)),
            Err(r) => Err(ApiError::bad_request(format!(
                "invalid query string: {}; fix the parameter named and retry",
                r.body_text()
            ))),
        }
    }
}
