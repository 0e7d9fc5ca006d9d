//! `/api/numbers…`: list, show, history and every number workflow.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::api::wire::{
    AddRequest, AddView, AllocateRequest, ChangeView, CoolRequest, EntryPage, EntryView, ErrorBody,
    EventView, ReserveRequest,
};
use crate::api::{ApiError, ApiState, Body, Q};
use crate::domain::{Entry, Status};
use crate::ops::numbers::{self as ops, AddReport};
use crate::ops::tokens::Principal;
use crate::ops::{Ctx, OpResult};
use crate::store::{EntryFilter, Store, TxRecord};

/// Default page size of a list.
pub const PAGE_DEFAULT: usize = 100;
/// Largest page of a list.
pub const PAGE_MAX: usize = 1000;

/// Filters and paging of `GET /api/numbers` (and the web list, and export).
#[derive(Clone, Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    pub status: Option<String>,
    pub vendor: Option<String>,
    pub hierarchy: Option<String>,
    pub search: Option<String>,
    pub after: Option<String>,
    pub limit: Option<usize>,
}

impl ListQuery {
    /// The store filter; blank parameters mean "any". `limit` is `None` for exports.
    pub fn filter(&self, limit: Option<usize>) -> Result<EntryFilter, ApiError> {
        let some = |v: &Option<String>| v.clone().filter(|s| !s.trim().is_empty());
        let status = match some(&self.status) {
            None => None,
            Some(s) => Some(Status::parse(&s).ok_or_else(|| {
                ApiError::bad_request(format!(
                    "status {s:?} is not known; use Available, Used, Used-Utility, Reserved or Cooling"
                ))
            })?),
        };
        Ok(EntryFilter {
            status,
            vendor: some(&self.vendor),
            hierarchy: some(&self.hierarchy),
            search: some(&self.search),
            after: some(&self.after),
            limit,
        })
    }

    /// The page size asked for, checked against [`PAGE_MAX`].
    pub fn page_size(&self) -> Result<usize, ApiError> {
        match self.limit.unwrap_or(PAGE_DEFAULT) {
            0 => Err(ApiError::bad_request("limit 0 is too small; use 1 to 1000")),
            n if n > PAGE_MAX => Err(ApiError::bad_request(format!(
                "limit {n} is too large; use at most {PAGE_MAX} and page with `after`"
            ))),
            n => Ok(n),
        }
    }
}

/// One page of entries and the cursor of the next, if there may be one.
pub fn page(store: &Store, q: &ListQuery) -> Result<(Vec<Entry>, Option<String>), ApiError> {
    let size = q.page_size()?;
    let entries = ops::list(&store.read()?, &q.filter(Some(size))?)?;
    let next = (entries.len() == size)
        .then(|| entries.last().map(Entry::key))
        .flatten();
    Ok((entries, next))
}

/// `?hierarchy=` of the routes naming one number (needed for an extension at several sites).
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct At {
    pub hierarchy: Option<String>,
}

/// `GET /api/numbers`
#[utoipa::path(
    get,
    path = "/api/numbers",
    tag = "numbers",
    params(ListQuery),
    responses(
        (status = 200, description = "One page of numbers", body = EntryPage),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn list(
    State(state): State<ApiState>,
    Q(q): Q<ListQuery>,
) -> Result<Json<EntryPage>, ApiError> {
    let (items, next) = state.blocking(move |store, _| page(store, &q)).await?;
    Ok(Json(EntryPage {
        items: items.iter().map(EntryView::from).collect(),
        next,
    }))
}

/// `GET /api/numbers/{number}`
#[utoipa::path(
    get,
    path = "/api/numbers/{number}",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    responses(
        (status = 200, description = "The number", body = EntryView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn show(
    State(state): State<ApiState>,
    Path(number): Path<String>,
    Q(at): Q<At>,
) -> Result<Json<EntryView>, ApiError> {
    let e = state
        .blocking(move |store, _| Ok(ops::show(&store.read()?, &number, at.hierarchy.as_deref())?))
        .await?;
    Ok(Json(EntryView::from(&e)))
}

/// `GET /api/numbers/{number}/history`
#[utoipa::path(
    get,
    path = "/api/numbers/{number}/history",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    responses(
        (status = 200, description = "Its events, oldest first", body = Vec<EventView>),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn history(
    State(state): State<ApiState>,
    Path(number): Path<String>,
    Q(at): Q<At>,
) -> Result<Json<Vec<EventView>>, ApiError> {
    let events = state
        .blocking(move |store, _| {
            Ok(ops::history(
                &store.read()?,
                &number,
                at.hierarchy.as_deref(),
            )?)
        })
        .await?;
    Ok(Json(events.iter().map(EventView::from).collect()))
}

fn add_view(r: AddReport) -> AddView {
    AddView {
        created: r.created,
        skipped: r.skipped,
        transaction: r.tx.map(|t| t.id),
    }
}

/// `POST /api/numbers`
#[utoipa::path(
    post,
    path = "/api/numbers",
    tag = "numbers",
    request_body = AddRequest,
    responses(
        (status = 201, description = "Created (existing numbers skipped)", body = AddView),
        (status = 200, description = "Nothing created: all existed", body = AddView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn add(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Body(req): Body<AddRequest>,
) -> Result<Response, ApiError> {
    let r = state
        .blocking(move |store, now| {
            let ctx = Ctx::new(store, now, who.actor());
            Ok(ops::add(
                &ctx,
                &req.numbers,
                req.range.as_deref(),
                &req.hierarchy,
                req.region.as_deref(),
            )?)
        })
        .await?;
    let status = if r.created.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((status, Json(add_view(r))).into_response())
}

/// `?hierarchy=&region=` of an import.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct ImportQuery {
    #[serde(default)]
    pub hierarchy: String,
    pub region: Option<String>,
}

/// `POST /api/numbers/import` with a CSV body (header row first).
#[utoipa::path(
    post,
    path = "/api/numbers/import",
    tag = "numbers",
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "CSV with a header row"),
    responses(
        (status = 200, description = "What was created and skipped", body = AddView),
        (status = 413, description = "Body over 8 MiB", body = ErrorBody),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn import(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Q(q): Q<ImportQuery>,
    body: Bytes,
) -> Result<Json<AddView>, ApiError> {
    let r = state
        .blocking(move |store, now| {
            let ctx = Ctx::new(store, now, who.actor());
            Ok(ops::import(
                &ctx,
                &body[..],
                "CSV body",
                &q.hierarchy,
                q.region.as_deref(),
            )?)
        })
        .await?;
    Ok(Json(add_view(r)))
}

/// `GET /api/numbers/export`: every matching entry as CSV.
#[utoipa::path(
    get,
    path = "/api/numbers/export",
    tag = "numbers",
    params(ListQuery),
    responses(
        (status = 200, description = "Every matching number as CSV", content_type = "text/csv", body = String),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn export(
    State(state): State<ApiState>,
    Q(q): Q<ListQuery>,
) -> Result<Response, ApiError> {
    if q.after.is_some() || q.limit.is_some() {
        return Err(ApiError::bad_request(
            "export takes no `after` or `limit`: it writes every matching number",
        ));
    }
    let csv = state
        .blocking(move |store, _| {
            let entries = ops::list(&store.read()?, &q.filter(None)?)?;
            let mut out = Vec::new();
            ops::export_csv(&entries, &mut out)?;
            Ok(out)
        })
        .await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
            (
                header::CONTENT_DISPOSITION,
                "attachment; filename=\"numbers.csv\"",
            ),
        ],
        csv,
    )
        .into_response())
}

/// Runs a workflow on one number as the caller and renders what it did.
async fn change<F>(state: ApiState, who: Principal, f: F) -> Result<Json<ChangeView>, ApiError>
where
    F: FnOnce(&Ctx<'_>) -> OpResult<(Entry, Option<TxRecord>)> + Send + 'static,
{
    let (e, tx) = state
        .blocking(move |store, now| Ok(f(&Ctx::new(store, now, who.actor()))?))
        .await?;
    Ok(Json(ChangeView {
        entry: EntryView::from(&e),
        transaction: tx.map(|t| t.id),
    }))
}

/// `POST /api/numbers/{number}/reserve`
#[utoipa::path(
    post,
    path = "/api/numbers/{number}/reserve",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    request_body = ReserveRequest,
    responses(
        (status = 200, description = "Reserved", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn reserve(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(number): Path<String>,
    Q(at): Q<At>,
    Body(req): Body<ReserveRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::reserve(
            ctx,
            &number,
            at.hierarchy.as_deref(),
            &req.notes,
            req.days,
            req.reserved_for.as_deref(),
        )
    })
    .await
}

/// `POST /api/numbers/{number}/unreserve`
#[utoipa::path(
    post,
    path = "/api/numbers/{number}/unreserve",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    responses(
        (status = 200, description = "Available again", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn unreserve(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(number): Path<String>,
    Q(at): Q<At>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::unreserve(ctx, &number, at.hierarchy.as_deref())
    })
    .await
}

/// `POST /api/numbers/{number}/cool`
#[utoipa::path(
    post,
    path = "/api/numbers/{number}/cool",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    request_body = CoolRequest,
    responses(
        (status = 200, description = "Cooling", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn cool(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(number): Path<String>,
    Q(at): Q<At>,
    Body(req): Body<CoolRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::cool(ctx, &number, at.hierarchy.as_deref(), req.days)
    })
    .await
}

/// `POST /api/numbers/{number}/release`
#[utoipa::path(
    post,
    path = "/api/numbers/{number}/release",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    responses(
        (status = 200, description = "Available again", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn release(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(number): Path<String>,
    Q(at): Q<At>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::release(ctx, &number, at.hierarchy.as_deref())
    })
    .await
}

/// `POST /api/numbers/{number}/unassign`
#[utoipa::path(
    post,
    path = "/api/numbers/{number}/unassign",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    responses(
        (status = 200, description = "Cooling or Available", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn unassign(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(number): Path<String>,
    Q(at): Q<At>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::unassign(ctx, &number, at.hierarchy.as_deref())
    })
    .await
}

/// `DELETE /api/numbers/{number}`
#[utoipa::path(
    delete,
    path = "/api/numbers/{number}",
    tag = "numbers",
    params(("number" = String, Path, description = "The number: E.164, national, or an extension"), At),
    responses(
        (status = 200, description = "Deleted; the entry as it was", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn delete(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(number): Path<String>,
    Q(at): Q<At>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::delete(ctx, &number, at.hierarchy.as_deref())
    })
    .await
}

/// `POST /api/numbers/allocate`
#[utoipa::path(
    post,
    path = "/api/numbers/allocate",
    tag = "numbers",
    request_body = AllocateRequest,
    responses(
        (status = 200, description = "The number now Used / User", body = ChangeView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn allocate(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Body(req): Body<AllocateRequest>,
) -> Result<Json<ChangeView>, ApiError> {
    change(state, who, move |ctx| {
        ops::allocate(
            ctx,
            req.hierarchy.as_deref(),
            req.reserved_for.as_deref(),
            req.description.as_deref(),
        )
    })
    .await
}
