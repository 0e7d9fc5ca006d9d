//! Bearer tokens: who is calling, and may they change things.

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::api::{ApiError, ApiState};
use crate::ops::tokens::{self, Principal, Role};

/// The token of an `Authorization: Bearer …` header, if present.
pub fn bearer(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = v.trim().split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim().to_string())
}

/// Looks a token up; `None` when no token matches. The token never appears in an error.
pub async fn principal(state: &ApiState, token: String) -> Result<Option<Principal>, ApiError> {
    state
        .blocking(move |store, _| Ok(tokens::authenticate(&store.read()?, &token)?))
        .await
}

/// Whether a role may make this request: the read role may only read.
pub fn allowed(role: Role, method: &Method) -> bool {
    role == Role::Admin || matches!(*method, Method::GET | Method::HEAD)
}

/// Middleware on every `/api` route and `/metrics`: 401 without a valid token, 403 when a
/// read token tries to change something. Puts the [`Principal`] in the request.
pub async fn require_token(
    State(state): State<ApiState>,
    mut req: Request,
    next: Next,
) -> Response {
    let Some(token) = bearer(req.headers()) else {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "missing bearer token: send `Authorization: Bearer <token>`; create one with `numinv tokens create NAME --role read|admin`",
        )
        .into_response();
    };
    let who = match principal(&state, token).await {
        Ok(Some(p)) => p,
        Ok(None) => {
            return ApiError::new(
                StatusCode::UNAUTHORIZED,
                "the bearer token is not valid (mistyped or revoked); see `numinv tokens list`",
            )
            .into_response()
        }
        Err(e) => return e.into_response(),
    };
    if !allowed(who.role, req.method()) {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            format!(
                "token {} has the read role and cannot {} {}; use a token with the admin role",
                who.name,
                req.method(),
                req.uri().path()
            ),
        )
        .into_response();
    }
    req.extensions_mut().insert(who);
    next.run(req).await
}
