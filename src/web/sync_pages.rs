//! The connections page (each connection's last sync, "Sync now") and the audit page
//! (findings, "Fix"). Changes are admin-only, CSRF-protected forms.

use std::collections::HashMap;
use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use serde::Deserialize;

use super::html::{self, esc, page};
use super::pages::{api_error_page, error_page, viewer, CsrfForm, CSRF_MESSAGE};
use super::Session;
use crate::api::handlers::sync::{audit_view, sync_connection};
use crate::api::ApiState;
use crate::domain::connection::{Connection, Schedule, SYNC_JOB_PREFIX};
use crate::ops::connections as ops;
use crate::ops::tokens::Role;
use crate::store::TxRecord;

/// Transactions searched for each connection's last sync; older ones show as unknown.
pub const LAST_SYNC_SCAN_MAX: usize = 1000;

/// A form that changes something: the CSRF token must match, and the role must be admin.
fn refuse(s: &Session, csrf: &str, what: &str) -> Option<Response> {
    if csrf != s.csrf {
        return Some(error_page(StatusCode::FORBIDDEN, Some(s), CSRF_MESSAGE));
    }
    if s.who.role != Role::Admin {
        return Some(error_page(
            StatusCode::FORBIDDEN,
            Some(s),
            &format!(
                "token {} has the read role and cannot {what}; sign in with an admin token",
                s.who.name
            ),
        ));
    }
    None
}

fn csrf_form(action: &str, csrf: &str, label: &str) -> String {
    format!(
        "<form method=\"post\" action=\"{}\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
         <button type=\"submit\">{}</button></form>",
        esc(action),
        esc(csrf),
        esc(label)
    )
}

fn last_result(t: Option<&TxRecord>) -> String {
    let Some(t) = t else {
        return format!(
            "<span class=\"soon\">no sync in the last {LAST_SYNC_SCAN_MAX} transactions</span>"
        );
    };
    let class = match t.status {
        crate::store::TxStatus::Fail => "overdue",
        _ => "soon",
    };
    let counts = if t.status == crate::store::TxStatus::Fail {
        esc(&t.message)
    } else {
        esc(&format!(
            "{} users; {} created, {} used, {} restored, {} cooled; {} conflicts, {} unmapped",
            t.get("users_total"),
            t.get("entries_created"),
            t.get("entries_used"),
            t.get("entries_restored"),
            t.get("entries_cooled"),
            t.get("conflicts"),
            t.get("unmapped"),
        ))
    };
    format!(
        "<a href=\"/transactions/{id}\">{id}</a> <span class=\"{class}\">{}</span> {}<br>{counts}",
        esc(t.status.as_str()),
        esc(&html::time(&t.started_at)),
        id = t.id,
    )
}

/// `GET /connections`: each connection, its schedule and its last sync.
pub async fn connections(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
) -> Response {
    let r = state
        .blocking(|store, _| {
            let reader = store.read()?;
            let conns = ops::list(&reader)?;
            let schedules: HashMap<String, Schedule> = ops::schedules(&reader)?
                .into_iter()
                .map(|s| (s.connection.clone(), s))
                .collect();
            let mut last: HashMap<String, TxRecord> = HashMap::new();
            for t in reader.transactions(LAST_SYNC_SCAN_MAX)? {
                if let Some(name) = t.kind.strip_prefix(SYNC_JOB_PREFIX) {
                    last.entry(name.to_string()).or_insert(t);
                }
            }
            Ok((conns, schedules, last))
        })
        .await;
    let (conns, schedules, last): (Vec<Connection>, _, _) = match r {
        Ok(v) => v,
        Err(e) => return api_error_page(e, &s),
    };
    let admin = s.who.role == Role::Admin;
    let mut body = String::from(
        "<h1>Connections</h1><table><thead><tr><th>Name</th><th>ARM</th><th>Hierarchy</th>\
         <th>Schedule</th><th>Last sync</th><th></th></tr></thead><tbody>",
    );
    for c in &conns {
        let schedule = schedules
            .get(&c.name)
            .map(|sc| {
                format!(
                    "every {}s, {}",
                    sc.every_s,
                    if sc.active { "active" } else { "inactive" }
                )
            })
            .unwrap_or_default();
        let action = if admin {
            csrf_form(
                &format!("/connections/{}/sync", html::pct(&c.name)),
                &s.csrf,
                "Sync now",
            )
        } else {
            String::new()
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"actions\">{action}</td></tr>",
            esc(&c.name),
            esc(&c.url),
            esc(&c.base_path),
            esc(&c.hierarchy),
            esc(&schedule),
            last_result(last.get(&c.name)),
        );
    }
    body.push_str("</tbody></table>");
    if conns.is_empty() {
        body.push_str(
            "<p>No connections yet. Add one with <code>numinv connections add NAME --url https://arm:443 …</code>.</p>",
        );
    }
    Html(page("Connections", Some(&viewer(&s)), &body)).into_response()
}

/// `POST /connections/{name}/sync`: runs the sync now, as the signed-in token's server.
pub async fn sync_now(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Path(name): Path<String>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = refuse(&s, &f.csrf, "run a sync") {
        return r;
    }
    match sync_connection(&state, &name, false).await {
        Ok(_) => Redirect::to("/connections").into_response(),
        // A sync that failed is recorded; its line on the connections page says why.
        Err(e) if e.status == StatusCode::BAD_REQUEST => {
            Redirect::to("/connections").into_response()
        }
        Err(e) => api_error_page(e, &s),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct AuditQuery {
    fixed: Option<String>,
}

/// `GET /audit`: the findings, and for admins a Fix button.
pub async fn audit(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Query(q): Query<AuditQuery>,
) -> Response {
    let r = state
        .blocking(|store, now| audit_view(store, now, false))
        .await;
    let view = match r {
        Ok(v) => v,
        Err(e) => return api_error_page(e, &s),
    };
    let mut body = String::from("<h1>Audit</h1>");
    if let Some(id) = q.fixed.as_deref().and_then(|v| v.parse::<u64>().ok()) {
        let _ = write!(
            body,
            "<p>Fixed in <a href=\"/transactions/{id}\">transaction {id}</a>.</p>"
        );
    } else if q.fixed.is_some() {
        body.push_str("<p>The fix changed nothing.</p>");
    }
    body.push_str(
        "<p>AudioCodes numbers checked against the cached registered users.</p><table><thead><tr>\
         <th>Finding</th><th>Number</th><th>Detail</th><th>Fixable</th></tr></thead><tbody>",
    );
    for f in &view.findings {
        let number = f.number.split_once('@');
        let href = match number {
            Some((n, h)) => html::number_href(n, h),
            None => html::number_href(&f.number, ""),
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td></tr>",
            esc(&f.kind),
            esc(&href),
            esc(&f.number),
            esc(&f.detail),
            if f.fixable { "yes" } else { "no" }
        );
    }
    body.push_str("</tbody></table>");
    if view.findings.is_empty() {
        body.push_str("<p>No findings: the inventory agrees with the devices.</p>");
    } else if s.who.role == Role::Admin && view.findings.iter().any(|f| f.fixable) {
        body.push_str("<div class=\"actions\">");
        body.push_str(&csrf_form("/audit/fix", &s.csrf, "Fix"));
        body.push_str(" Applies the lifecycle rules; never deletes.</div>");
    }
    Html(page("Audit", Some(&viewer(&s)), &body)).into_response()
}

/// `POST /audit/fix`
pub async fn audit_fix(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Form(f): Form<CsrfForm>,
) -> Response {
    if let Some(r) = refuse(&s, &f.csrf, "fix audit findings") {
        return r;
    }
    let r = state
        .blocking(|store, now| audit_view(store, now, true))
        .await;
    match r {
        Ok(v) => Redirect::to(&format!(
            "/audit?fixed={}",
            v.transaction.map(|t| t.to_string()).unwrap_or_default()
        ))
        .into_response(),
        Err(e) => api_error_page(e, &s),
    }
}
