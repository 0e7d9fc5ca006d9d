//! The OpenAPI 3 document at `/api/openapi.json`, generated from the handlers' own
//! annotations and the wire types (`utoipa`), so it cannot drift from the code unnoticed:
//! a test checks that every route of [`super::endpoints`] appears in it.

use axum::Json;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::SecurityRequirement;
use utoipa::{Modify, OpenApi};

use super::handlers::{admin, numbers};

#[derive(OpenApi)]
#[openapi(
    info(
        title = "numinv",
        description = "Telephone number inventory kept aligned with AudioCodes ARM registered users. Every error is a 4xx/5xx with a one-line JSON {\"error\": …} body. Send `Authorization: Bearer <token>`; read tokens may only GET."
    ),
    paths(
        super::handlers::healthz,
        super::metrics::render,
        numbers::list,
        numbers::add,
        numbers::import,
        numbers::export,
        numbers::allocate,
        numbers::show,
        numbers::delete,
        numbers::history,
        numbers::reserve,
        numbers::unreserve,
        numbers::cool,
        numbers::release,
        numbers::unassign,
        admin::transactions,
        admin::transaction,
        admin::events,
        admin::macros,
        admin::get_macro,
        admin::set_macro,
        admin::settings,
        admin::get_setting,
        admin::set_setting,
        admin::expire,
        admin::tokens,
        document,
    ),
    modifiers(&BearerAuth)
)]
struct Doc;

/// Declares the bearer scheme and requires it everywhere but where a path says otherwise.
struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        openapi.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
}

/// The document.
pub fn openapi() -> utoipa::openapi::OpenApi {
    Doc::openapi()
}

/// `GET /api/openapi.json`: no auth, like `/healthz`.
#[utoipa::path(
    get,
    path = "/api/openapi.json",
    tag = "ops",
    security(()),
    responses((status = 200, description = "This document", content_type = "application/json", body = Object))
)]
pub async fn document() -> Json<utoipa::openapi::OpenApi> {
    Json(openapi())
}
