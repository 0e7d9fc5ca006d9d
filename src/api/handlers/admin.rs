//! `/api/transactions`, `/api/events`, `/api/macros`, `/api/settings`, `/api/expire`,
//! `/api/tokens`.

use axum::extract::{Path, State};
use axum::{Extension, Json};
use serde::Deserialize;

use crate::api::wire::{
    ErrorBody, EventPage, EventView, ExpireView, SetRequest, TokenView, TxDetailView, TxView,
    ValueView,
};
use crate::api::{ApiError, ApiState, Body, Q};
use crate::domain::settings;
use crate::ops::tokens::{self, Principal};
use crate::ops::{admin as ops, Ctx};

/// Most events one answer carries.
pub const EVENTS_PAGE_MAX: usize = 1000;
/// Most transactions one list carries.
pub const TX_PAGE_MAX: usize = 1000;

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct Limit {
    pub limit: Option<usize>,
}

fn checked(limit: Option<usize>, default: usize, max: usize) -> Result<usize, ApiError> {
    match limit.unwrap_or(default) {
        0 => Err(ApiError::bad_request(format!(
            "limit 0 is too small; use 1 to {max}"
        ))),
        n if n > max => Err(ApiError::bad_request(format!(
            "limit {n} is too large; use at most {max}"
        ))),
        n => Ok(n),
    }
}

/// `GET /api/transactions?limit=N`: newest first.
#[utoipa::path(
    get,
    path = "/api/transactions",
    tag = "log",
    params(Limit),
    responses(
        (status = 200, description = "Newest first", body = Vec<TxView>),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn transactions(
    State(state): State<ApiState>,
    Q(q): Q<Limit>,
) -> Result<Json<Vec<TxView>>, ApiError> {
    let limit = checked(q.limit, 50, TX_PAGE_MAX)?;
    let txs = state
        .blocking(move |store, _| Ok(store.read()?.transactions(limit)?))
        .await?;
    Ok(Json(txs.iter().map(TxView::from).collect()))
}

/// The transaction `id` with its events (at most [`EVENTS_PAGE_MAX`]).
pub fn transaction_detail(store: &crate::store::Store, id: u64) -> Result<TxDetailView, ApiError> {
    let reader = store.read()?;
    let t = reader.transaction(id)?.ok_or_else(|| {
        ApiError::not_found(format!(
            "transaction {id} does not exist; list them at /api/transactions"
        ))
    })?;
    let (events, omitted) = if t.seq_first == 0 {
        (Vec::new(), 0) // a failed run wrote no events
    } else {
        let total = t.seq_last.saturating_sub(t.seq_first) + 1;
        let take = total.min(EVENTS_PAGE_MAX as u64);
        let events = reader.events(t.seq_first - 1, take as usize)?;
        (events, total - take)
    };
    Ok(TxDetailView {
        transaction: TxView::from(&t),
        events: events.iter().map(EventView::from).collect(),
        events_omitted: omitted,
    })
}

/// `GET /api/transactions/{id}`
#[utoipa::path(
    get,
    path = "/api/transactions/{id}",
    tag = "log",
    params(("id" = u64, Path, description = "Transaction id")),
    responses(
        (status = 200, description = "The transaction and its events", body = TxDetailView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn transaction(
    State(state): State<ApiState>,
    Path(id): Path<String>,
) -> Result<Json<TxDetailView>, ApiError> {
    let id: u64 = id.parse().map_err(|_| {
        ApiError::bad_request(format!(
            "transaction id {id:?} is not a whole number; list them at /api/transactions"
        ))
    })?;
    Ok(Json(
        state
            .blocking(move |store, _| transaction_detail(store, id))
            .await?,
    ))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct EventsQuery {
    pub after: Option<u64>,
    pub limit: Option<usize>,
}

/// `GET /api/events?after=SEQ&limit=N`: the change log after `SEQ`, oldest first. Poll with
/// the returned `next` to follow it.
#[utoipa::path(
    get,
    path = "/api/events",
    tag = "log",
    params(EventsQuery),
    responses(
        (status = 200, description = "Events after `after`, oldest first", body = EventPage),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn events(
    State(state): State<ApiState>,
    Q(q): Q<EventsQuery>,
) -> Result<Json<EventPage>, ApiError> {
    let after = q.after.unwrap_or(0);
    let limit = checked(q.limit, 100, EVENTS_PAGE_MAX)?;
    let events = state
        .blocking(move |store, _| Ok(store.read()?.events(after, limit)?))
        .await?;
    let next = events.last().map(|e| e.seq).unwrap_or(after);
    Ok(Json(EventPage {
        events: events.iter().map(EventView::from).collect(),
        next,
    }))
}

#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub struct HierarchyQuery {
    #[serde(default)]
    pub hierarchy: String,
}

/// `GET /api/macros?hierarchy=`: every known macro's effective value there.
#[utoipa::path(
    get,
    path = "/api/macros",
    tag = "settings",
    params(HierarchyQuery),
    responses(
        (status = 200, description = "Every macro's effective value", body = Vec<ValueView>),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn macros(
    State(state): State<ApiState>,
    Q(q): Q<HierarchyQuery>,
) -> Result<Json<Vec<ValueView>>, ApiError> {
    let views = state
        .blocking(move |store, _| {
            let reader = store.read()?;
            let mut out = Vec::new();
            for (name, _) in settings::MACROS {
                out.push(ValueView {
                    name: name.to_string(),
                    hierarchy: Some(q.hierarchy.clone()),
                    value: ops::get_macro(&reader, name, &q.hierarchy)?,
                    transaction: None,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(views))
}

/// `GET /api/macros/{name}?hierarchy=`
#[utoipa::path(
    get,
    path = "/api/macros/{name}",
    tag = "settings",
    params(("name" = String, Path, description = "Macro name"), HierarchyQuery),
    responses(
        (status = 200, description = "Effective value (nearest definition walking up)", body = ValueView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn get_macro(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Q(q): Q<HierarchyQuery>,
) -> Result<Json<ValueView>, ApiError> {
    Ok(Json(
        state
            .blocking(move |store, _| {
                let value = ops::get_macro(&store.read()?, &name, &q.hierarchy)?;
                Ok(ValueView {
                    name,
                    hierarchy: Some(q.hierarchy),
                    value,
                    transaction: None,
                })
            })
            .await?,
    ))
}

/// `PUT /api/macros/{name}` with `{"value": "...", "hierarchy": "..."}`.
#[utoipa::path(
    put,
    path = "/api/macros/{name}",
    tag = "settings",
    params(("name" = String, Path, description = "Macro name")),
    request_body = SetRequest,
    responses(
        (status = 200, description = "Set", body = ValueView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody)
    )
)]
pub async fn set_macro(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    Body(req): Body<SetRequest>,
) -> Result<Json<ValueView>, ApiError> {
    Ok(Json(
        state
            .blocking(move |store, now| {
                let ctx = Ctx::new(store, now, who.actor());
                let tx = ops::set_macro(&ctx, &name, &req.value, &req.hierarchy)?;
                Ok(ValueView {
                    name,
                    hierarchy: Some(req.hierarchy),
                    value: Some(req.value.trim().to_string()),
                    transaction: tx.map(|t| t.id),
                })
            })
            .await?,
    ))
}

/// `GET /api/settings`: every setting with its value.
#[utoipa::path(
    get,
    path = "/api/settings",
    tag = "settings",
    responses(
        (status = 200, description = "Every setting", body = Vec<ValueView>),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn settings(State(state): State<ApiState>) -> Result<Json<Vec<ValueView>>, ApiError> {
    let views = state
        .blocking(|store, _| {
            let reader = store.read()?;
            let mut out = Vec::new();
            for (name, _) in settings::SETTINGS {
                out.push(ValueView {
                    name: name.to_string(),
                    hierarchy: None,
                    value: Some(ops::get_setting(&reader, name)?),
                    transaction: None,
                });
            }
            Ok(out)
        })
        .await?;
    Ok(Json(views))
}

/// `GET /api/settings/{name}`
#[utoipa::path(
    get,
    path = "/api/settings/{name}",
    tag = "settings",
    params(("name" = String, Path, description = "Setting name")),
    responses(
        (status = 200, description = "Its value", body = ValueView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn get_setting(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<ValueView>, ApiError> {
    Ok(Json(
        state
            .blocking(move |store, _| {
                let value = ops::get_setting(&store.read()?, &name)?;
                Ok(ValueView {
                    name,
                    hierarchy: None,
                    value: Some(value),
                    transaction: None,
                })
            })
            .await?,
    ))
}

/// `PUT /api/settings/{name}` with `{"value": "..."}`.
#[utoipa::path(
    put,
    path = "/api/settings/{name}",
    tag = "settings",
    params(("name" = String, Path, description = "Setting name")),
    request_body = SetRequest,
    responses(
        (status = 200, description = "Set", body = ValueView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody)
    )
)]
pub async fn set_setting(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    Body(req): Body<SetRequest>,
) -> Result<Json<ValueView>, ApiError> {
    if !req.hierarchy.is_empty() {
        return Err(ApiError::bad_request(format!(
            "setting {name} is global: leave out `hierarchy` (macros take one)"
        )));
    }
    Ok(Json(
        state
            .blocking(move |store, now| {
                let ctx = Ctx::new(store, now, who.actor());
                let tx = ops::set_setting(&ctx, &name, &req.value)?;
                Ok(ValueView {
                    name,
                    hierarchy: None,
                    value: Some(req.value.trim().to_string()),
                    transaction: tx.map(|t| t.id),
                })
            })
            .await?,
    ))
}

/// `POST /api/expire`: runs the expiry sweep now; answers with its transaction id.
#[utoipa::path(
    post,
    path = "/api/expire",
    tag = "log",
    responses(
        (status = 200, description = "What the sweep released, and its transaction", body = ExpireView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody)
    )
)]
pub async fn expire(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
) -> Result<Json<ExpireView>, ApiError> {
    let r = state
        .blocking(move |store, now| Ok(ops::expire(&Ctx::new(store, now, who.actor()))?))
        .await?;
    Ok(Json(ExpireView {
        released: r.released,
        overdue: r.overdue,
        transaction: r.tx.map(|t| t.id),
    }))
}

/// `GET /api/tokens`: names, roles and dates; never secrets or hashes.
#[utoipa::path(
    get,
    path = "/api/tokens",
    tag = "tokens",
    responses(
        (status = 200, description = "Token names and roles; never secrets", body = Vec<TokenView>),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn tokens(State(state): State<ApiState>) -> Result<Json<Vec<TokenView>>, ApiError> {
    let list = state
        .blocking(|store, _| Ok(tokens::list(&store.read()?)?))
        .await?;
    Ok(Json(list.iter().map(TokenView::from).collect()))
}
