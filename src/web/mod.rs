//! The server-rendered web UI: sign in with a token, the number inventory with filters, a
//! number's page with its history and actions, the transaction log. Plain HTML and a little
//! CSS embedded in the binary; no JavaScript.
//!
//! The session cookie holds the token itself (HttpOnly, SameSite=Strict), so signing out or
//! revoking the token ends the session. Forms that change something carry a CSRF token
//! derived from the session token with HMAC-SHA256.

mod html;
mod pages;

use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::Router;

use crate::api::ApiState;
use crate::ops::tokens::Principal;

pub use html::esc;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "numinv_session";

/// A signed-in browser: who, and the CSRF token its forms must carry.
#[derive(Clone, Debug)]
pub struct Session {
    pub who: Principal,
    pub csrf: String,
}

/// The CSRF token of a session: HMAC-SHA256 keyed by the session token, so it cannot be
/// computed without the cookie and reveals nothing about it.
pub fn csrf_for(session_token: &str) -> String {
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, session_token.as_bytes());
    let tag = ring::hmac::sign(&key, b"numinv web csrf v1");
    tag.as_ref()[..16]
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The session token of a request's cookies.
fn session_token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v.trim().to_string())
        .filter(|v| !v.is_empty())
}

/// The web routes (merged into the API router, sharing its state and limits).
pub fn routes(state: ApiState) -> Router<ApiState> {
    let signed_in = Router::new()
        .route("/", get(|| async { Redirect::to("/numbers") }))
        .route("/numbers", get(pages::numbers))
        .route(
            "/numbers/{number}",
            get(pages::number).post(pages::number_action),
        )
        .route("/transactions", get(pages::transactions))
        .route("/transactions/{id}", get(pages::transaction))
        .route("/logout", post(pages::logout))
        .route_layer(axum::middleware::from_fn_with_state(state, require_session));
    Router::new()
        .merge(signed_in)
        .route("/login", get(pages::login_form).post(pages::login))
        .route("/style.css", get(style))
        .route_layer(axum::middleware::from_fn(page_headers))
}

/// Pages may not be framed (the action forms would be clickjackable), run no script, and
/// are not cached (they show inventory data to whoever holds the session).
async fn page_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let h = res.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(header::X_FRAME_OPTIONS, HeaderValue::from_static("DENY"));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("same-origin"),
    );
    if !h.contains_key(header::CACHE_CONTROL) {
        h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    res
}

async fn style() -> Response {
    (
        [
            (header::CONTENT_TYPE, "text/css; charset=utf-8"),
            (header::CACHE_CONTROL, "max-age=3600"),
        ],
        include_str!("style.css"),
    )
        .into_response()
}

/// Sends browsers without a valid session to the sign-in page.
async fn require_session(State(state): State<ApiState>, mut req: Request, next: Next) -> Response {
    let Some(token) = session_token(req.headers()) else {
        return Redirect::to("/login").into_response();
    };
    let csrf = csrf_for(&token);
    match crate::api::handlers::auth::principal(&state, token).await {
        Ok(Some(who)) => {
            req.extensions_mut().insert(Session { who, csrf });
            next.run(req).await
        }
        Ok(None) => Redirect::to("/login?expired=1").into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            axum::response::Html(html::page(
                "Error",
                None,
                &format!("<p class=\"error\">{}</p>", esc(&e.message)),
            )),
        )
            .into_response(),
    }
}

/// The page for an unknown path.
pub fn not_found_page(path: &str) -> String {
    html::page(
        "Not found",
        None,
        &format!(
            "<h1>Not found</h1><p>There is no page at <code>{}</code>. Go to the <a href=\"/numbers\">numbers</a>.</p>",
            esc(path)
        ),
    )
}
