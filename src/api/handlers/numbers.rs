//! `/api/numbers…`: list, show, history and every number workflow.

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::api::wire::{
    AddRequest, AddView, AllocateRequest, ChangeView, CoolRequest, EntryPage, EntryView, EventView,
    ReserveRequest,
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
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct At {
    pub hierarchy: Option<String>,
}

/// `GET /api/numbers`
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
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    #[serde(default)]
    pub hierarchy: String,
    pub region: Option<String>,
}

/// `POST /api/numbers/import` with a CSV body (header row first).
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
