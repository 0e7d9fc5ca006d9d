//! `/api/connections…`, `/api/audit…`, `/api/schedules…` and `/api/backup`: the sync
//! engine's operations. Each calls the existing `ops` / `sync` function and answers with the
//! transaction id it wrote.

use std::time::Instant;

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::{Extension, Json};

use crate::api::wire::{
    AuditView, BackupRequest, BackupView, ConnectionRequest, ConnectionSaved, ConnectionView,
    ErrorBody, FindingView, ScheduleRequest, ScheduleView, SyncRequest, TestView, TxIdView, TxView,
};
use crate::api::{ApiError, ApiState, Body};
use crate::arm::Secret;
use crate::domain::connection::{parse_interval, Connection};
use crate::ops::tokens::Principal;
use crate::ops::{connections as ops, Ctx};
use crate::store::TxRecord;
use crate::sync::{self, engine, SyncOptions};

/// Runs one sync of connection `name` now and records its duration and result in the
/// metrics. The API route and the web UI's "Sync now" both come here.
pub async fn sync_connection(
    state: &ApiState,
    name: &str,
    force: bool,
) -> Result<TxRecord, ApiError> {
    let lookup = name.to_string();
    let conn = state
        .blocking(move |store, _| Ok(engine::load_connection(store, &lookup)?))
        .await?;
    let started = Instant::now();
    // The fetch is async; the apply inside does blocking store calls, which is acceptable
    // for one sync at a time (the scheduler runs them the same way).
    let r = engine::run_sync(
        &state.store,
        state.clock.as_ref(),
        &conn,
        SyncOptions { force },
        &mut |_| {},
    )
    .await;
    let result = match &r {
        Ok(t) => t.status.as_str(),
        Err(_) => "Fail",
    };
    state
        .metrics
        .record_sync(&conn.name, result, started.elapsed());
    Ok(r?)
}

fn view(c: &Connection) -> ConnectionView {
    ConnectionView::from(c)
}

/// `GET /api/connections`
#[utoipa::path(
    get,
    path = "/api/connections",
    tag = "connections",
    responses(
        (status = 200, description = "Every connection; never a secret", body = Vec<ConnectionView>),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn list(State(state): State<ApiState>) -> Result<Json<Vec<ConnectionView>>, ApiError> {
    let conns = state
        .blocking(|store, _| Ok(ops::list(&store.read()?)?))
        .await?;
    Ok(Json(conns.iter().map(view).collect()))
}

/// `GET /api/connections/{name}`
#[utoipa::path(
    get,
    path = "/api/connections/{name}",
    tag = "connections",
    params(("name" = String, Path, description = "Connection name")),
    responses(
        (status = 200, description = "The connection; never a secret", body = ConnectionView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn show(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<ConnectionView>, ApiError> {
    let c = state
        .blocking(move |store, _| Ok(ops::get(&store.read()?, &name)?))
        .await?;
    Ok(Json(view(&c)))
}

/// Runs the sync a saved connection asks for, reporting its outcome beside the save.
async fn sync_on_save(state: &ApiState, conn: &Connection, saved: &mut ConnectionSaved) {
    if !conn.sync_on_save {
        return;
    }
    match sync_connection(state, &conn.name, false).await {
        Ok(t) => saved.sync = Some(TxView::from(&t)),
        Err(e) => saved.sync_error = Some(e.message),
    }
}

/// `POST /api/connections` with the fields and `password` (write-only).
#[utoipa::path(
    post,
    path = "/api/connections",
    tag = "connections",
    request_body = ConnectionRequest,
    responses(
        (status = 200, description = "Added, with its jobs and an inactive schedule", body = ConnectionSaved),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody)
    )
)]
pub async fn add(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Body(req): Body<ConnectionRequest>,
) -> Result<Json<ConnectionSaved>, ApiError> {
    let name = req.name.clone().unwrap_or_default();
    let conn = req
        .apply(ConnectionRequest::new_connection(&name))
        .map_err(ApiError::bad_request)?;
    if conn.url.is_empty() {
        return Err(ApiError::bad_request(format!(
            "connection {name:?}: `url` is required (https://host:port)"
        )));
    }
    let secret = match req.password.as_deref() {
        Some(p) if !p.is_empty() => Secret::new(p.to_string()),
        _ => {
            return Err(ApiError::bad_request(format!(
                "connection {name:?}: `password` is required (write-only; never shown again)"
            )))
        }
    };
    let c = conn.clone();
    let tx = state
        .blocking(move |store, now| Ok(ops::add(&Ctx::new(store, now, who.actor()), c, &secret)?))
        .await?;
    let mut saved = ConnectionSaved {
        connection: view(&conn),
        transaction: tx.map(|t| t.id),
        sync: None,
        sync_error: None,
    };
    sync_on_save(&state, &conn, &mut saved).await;
    Ok(Json(saved))
}

/// `PUT /api/connections/{name}`: absent fields keep their value; `password` replaces the
/// stored one.
#[utoipa::path(
    put,
    path = "/api/connections/{name}",
    tag = "connections",
    params(("name" = String, Path, description = "Connection name")),
    request_body = ConnectionRequest,
    responses(
        (status = 200, description = "Updated", body = ConnectionSaved),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn update(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    Body(req): Body<ConnectionRequest>,
) -> Result<Json<ConnectionSaved>, ApiError> {
    if req.name.as_ref().is_some_and(|n| *n != name) {
        return Err(ApiError::bad_request(format!(
            "the body names connection {:?} but the path {name:?}; a connection cannot be renamed",
            req.name.as_deref().unwrap_or("")
        )));
    }
    let (conn, tx) = state
        .blocking(move |store, now| {
            let current = ops::get(&store.read()?, &name)?;
            let conn = req.apply(current).map_err(ApiError::bad_request)?;
            let secret = req.password.clone().map(Secret::new);
            let ctx = Ctx::new(store, now, who.actor());
            let tx = ops::update(&ctx, conn.clone(), secret.as_ref())?;
            Ok((conn, tx))
        })
        .await?;
    let mut saved = ConnectionSaved {
        connection: view(&conn),
        transaction: tx.map(|t| t.id),
        sync: None,
        sync_error: None,
    };
    sync_on_save(&state, &conn, &mut saved).await;
    Ok(Json(saved))
}

/// `DELETE /api/connections/{name}` (purge it first).
#[utoipa::path(
    delete,
    path = "/api/connections/{name}",
    tag = "connections",
    params(("name" = String, Path, description = "Connection name")),
    responses(
        (status = 200, description = "Deleted with its schedule and secret", body = TxIdView),
        (status = 400, description = "It still caches registered users; purge first", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn delete(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
) -> Result<Json<TxIdView>, ApiError> {
    let tx = state
        .blocking(move |store, now| Ok(ops::delete(&Ctx::new(store, now, who.actor()), &name)?))
        .await?;
    Ok(Json(TxIdView {
        transaction: tx.map(|t| t.id),
    }))
}

/// `POST /api/connections/{name}/test`: authenticate, read the first page and the nodes.
#[utoipa::path(
    post,
    path = "/api/connections/{name}/test",
    tag = "connections",
    params(("name" = String, Path, description = "Connection name")),
    responses(
        (status = 200, description = "What the device answered", body = TestView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody),
        (status = 502, description = "The device could not be reached or refused", body = ErrorBody)
    )
)]
pub async fn test(
    State(state): State<ApiState>,
    Path(name): Path<String>,
) -> Result<Json<TestView>, ApiError> {
    let cfg = state
        .blocking(move |store, _| {
            let c = ops::get(&store.read()?, &name)?;
            Ok(engine::client_config(store, &c)?)
        })
        .await?;
    let gateway = |e: crate::arm::ArmError| ApiError::new(StatusCode::BAD_GATEWAY, e.to_string());
    let report = crate::arm::ArmClient::new(cfg)
        .map_err(gateway)?
        .test_connection()
        .await
        .map_err(gateway)?;
    Ok(Json(TestView {
        report: report.to_string(),
    }))
}

/// `POST /api/connections/{name}/sync` with an optional `{"force": true}`.
#[utoipa::path(
    post,
    path = "/api/connections/{name}/sync",
    tag = "connections",
    params(("name" = String, Path, description = "Connection name")),
    request_body = SyncRequest,
    responses(
        (status = 200, description = "The sync's transaction record", body = TxView),
        (status = 400, description = "The sync failed and changed nothing; the message says why", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn run_sync(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Body(req): Body<SyncRequest>,
) -> Result<Json<TxView>, ApiError> {
    let t = sync_connection(&state, &name, req.force).await?;
    Ok(Json(TxView::from(&t)))
}

/// `POST /api/connections/{name}/purge` with an optional `{"force": true}`.
#[utoipa::path(
    post,
    path = "/api/connections/{name}/purge",
    tag = "connections",
    params(("name" = String, Path, description = "Connection name")),
    request_body = SyncRequest,
    responses(
        (status = 200, description = "The purge's transaction record", body = TxView),
        (status = 400, description = "The purge failed and changed nothing; the message says why", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn purge(
    State(state): State<ApiState>,
    Path(name): Path<String>,
    Body(req): Body<SyncRequest>,
) -> Result<Json<TxView>, ApiError> {
    let t = state
        .blocking(move |store, now| {
            let conn = engine::load_connection(store, &name)?;
            let ctx = Ctx::new(store, now, conn.actor());
            Ok(engine::purge(
                &ctx,
                &conn,
                SyncOptions { force: req.force },
            )?)
        })
        .await?;
    Ok(Json(TxView::from(&t)))
}

/// The audit's findings, and with `fix` the repair (by the lifecycle rules, never deleting).
pub fn audit_view(
    store: &crate::store::Store,
    now: chrono::DateTime<chrono::Utc>,
    fix: bool,
) -> Result<AuditView, ApiError> {
    let (findings, tx) = if fix {
        sync::audit::fix(&Ctx::new(store, now, "audit"))?
    } else {
        (sync::audit::audit(&store.read()?, now)?, None)
    };
    Ok(AuditView {
        findings: findings.iter().map(FindingView::from).collect(),
        fixed: fix,
        transaction: tx.map(|t| t.id),
    })
}

/// `GET /api/audit`: findings, changing nothing.
#[utoipa::path(
    get,
    path = "/api/audit",
    tag = "audit",
    responses(
        (status = 200, description = "Findings in number order", body = AuditView),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn audit(State(state): State<ApiState>) -> Result<Json<AuditView>, ApiError> {
    Ok(Json(
        state
            .blocking(|store, now| audit_view(store, now, false))
            .await?,
    ))
}

/// `POST /api/audit/fix`: repairs what the lifecycle rules can repair; never deletes.
#[utoipa::path(
    post,
    path = "/api/audit/fix",
    tag = "audit",
    responses(
        (status = 200, description = "The findings before the fix, and its transaction", body = AuditView),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody)
    )
)]
pub async fn audit_fix(State(state): State<ApiState>) -> Result<Json<AuditView>, ApiError> {
    Ok(Json(
        state
            .blocking(|store, now| audit_view(store, now, true))
            .await?,
    ))
}

/// `GET /api/schedules`
#[utoipa::path(
    get,
    path = "/api/schedules",
    tag = "connections",
    responses(
        (status = 200, description = "Every schedule", body = Vec<ScheduleView>),
        (status = 401, description = "No valid bearer token", body = ErrorBody)
    )
)]
pub async fn schedules(State(state): State<ApiState>) -> Result<Json<Vec<ScheduleView>>, ApiError> {
    let s = state
        .blocking(|store, _| Ok(ops::schedules(&store.read()?)?))
        .await?;
    Ok(Json(s.iter().map(ScheduleView::from).collect()))
}

/// `PUT /api/schedules/{name}` with `{"every": "15m", "active": true}`.
#[utoipa::path(
    put,
    path = "/api/schedules/{name}",
    tag = "connections",
    params(("name" = String, Path, description = "Schedule name, e.g. ScheduleAudioCodes__lon")),
    request_body = ScheduleRequest,
    responses(
        (status = 200, description = "The schedule as it is now", body = ScheduleView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody),
        (status = 404, description = "Not found", body = ErrorBody)
    )
)]
pub async fn set_schedule(
    State(state): State<ApiState>,
    Extension(who): Extension<Principal>,
    Path(name): Path<String>,
    Body(req): Body<ScheduleRequest>,
) -> Result<Json<ScheduleView>, ApiError> {
    let every_s = req
        .every
        .as_deref()
        .map(parse_interval)
        .transpose()
        .map_err(ApiError::bad_request)?;
    let s = state
        .blocking(move |store, now| {
            let ctx = Ctx::new(store, now, who.actor());
            Ok(ops::set_schedule(&ctx, &name, every_s, req.active)?)
        })
        .await?;
    Ok(Json(ScheduleView::from(&s)))
}

/// `POST /api/backup` with `{"dir": "/abs/path"}`: a consistent copy of the database, taken
/// from one read snapshot while the server keeps writing.
#[utoipa::path(
    post,
    path = "/api/backup",
    tag = "ops",
    request_body = BackupRequest,
    responses(
        (status = 200, description = "Rows copied", body = BackupView),
        (status = 400, description = "Bad input; the message names it", body = ErrorBody),
        (status = 401, description = "No valid bearer token", body = ErrorBody),
        (status = 403, description = "A read token tried to change something", body = ErrorBody)
    )
)]
pub async fn backup(
    State(state): State<ApiState>,
    Body(req): Body<BackupRequest>,
) -> Result<Json<BackupView>, ApiError> {
    let dir = std::path::PathBuf::from(&req.dir);
    if !dir.is_absolute() {
        return Err(ApiError::bad_request(format!(
            "backup dir {:?} is not absolute; give a full path on the server's machine",
            req.dir
        )));
    }
    let rows = state
        .blocking(move |store, _| {
            let rows = store.backup_to(&dir).map_err(|e| match e {
                crate::store::StoreError::Open { .. } | crate::store::StoreError::Io(_) => {
                    ApiError::bad_request(format!("backup to {}: {e}", dir.display()))
                }
                other => other.into(),
            })?;
            // The copy must be able to decrypt its connection passwords.
            crate::ops::secrets::backup_key(store, &dir)?;
            Ok(rows)
        })
        .await?;
    Ok(Json(BackupView { rows, dir: req.dir }))
}
