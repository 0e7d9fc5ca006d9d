//! The pages. Each handler reads through `ops` on a blocking thread and renders HTML.

use std::fmt::Write as _;

use axum::extract::{Path, Query, State};
use axum::http::{header, StatusCode};
use axum::response::{Html, IntoResponse, Redirect, Response};
use axum::{Extension, Form};
use chrono::NaiveDate;
use serde::Deserialize;
use serde_json::Value;

use super::html::{self, esc, number_href, page, query, release_cell, status_badge, Viewer};
use super::{Session, SESSION_COOKIE};
use crate::api::handlers::admin::transaction_detail;
use crate::api::handlers::numbers::{page as list_page, ListQuery};
use crate::api::wire::EventView;
use crate::api::{ApiError, ApiState};
use crate::domain::{Entry, Status};
use crate::ops::numbers as ops;
use crate::ops::tokens::{self, Role};
use crate::ops::Ctx;

fn viewer(s: &Session) -> Viewer<'_> {
    Viewer {
        name: &s.who.name,
        role: s.who.role.as_str(),
        csrf: &s.csrf,
    }
}

/// An error shown as a page: the message, and a way back.
fn error_page(status: StatusCode, s: Option<&Session>, message: &str) -> Response {
    let v = s.map(viewer);
    let body = format!(
        "<h1>Something went wrong</h1><p class=\"error\">{}</p><p><a href=\"/numbers\">Back to the numbers</a></p>",
        esc(message)
    );
    (status, Html(page("Error", v.as_ref(), &body))).into_response()
}

fn api_error_page(e: ApiError, s: &Session) -> Response {
    error_page(e.status, Some(s), &e.message)
}

#[derive(Debug, Default, Deserialize)]
pub struct LoginQuery {
    expired: Option<String>,
}

fn login_html(message: Option<&str>) -> String {
    let msg = message
        .map(|m| format!("<p class=\"error\">{}</p>", esc(m)))
        .unwrap_or_default();
    page(
        "Sign in",
        None,
        &format!(
            "<h1>Sign in</h1>{msg}<form method=\"post\" action=\"/login\">\
             <label>API token<input type=\"password\" name=\"token\" autocomplete=\"off\" required size=\"60\"></label>\
             <p><button type=\"submit\">Sign in</button></p></form>\
             <p>Create a token with <code>numinv tokens create NAME --role read</code> (or <code>--role admin</code> to make changes).</p>"
        ),
    )
}

/// `GET /login`
pub async fn login_form(Query(q): Query<LoginQuery>) -> Html<String> {
    Html(login_html(q.expired.map(|_| {
        "Your session ended (the token was revoked); sign in again."
    })))
}

#[derive(Deserialize)]
pub struct LoginForm {
    token: String,
}

/// `POST /login`: checks the token, then keeps it in the session cookie.
pub async fn login(State(state): State<ApiState>, Form(f): Form<LoginForm>) -> Response {
    let token = f.token.trim().to_string();
    let ok = token.len() <= tokens::TOKEN_LEN_MAX
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-'));
    let who = if ok {
        crate::api::handlers::auth::principal(&state, token.clone()).await
    } else {
        Ok(None)
    };
    match who {
        Ok(Some(_)) => {
            let cookie = format!("{SESSION_COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
            (
                StatusCode::SEE_OTHER,
                [
                    (header::SET_COOKIE, cookie),
                    (header::LOCATION, "/numbers".into()),
                ],
            )
                .into_response()
        }
        Ok(None) => (
            StatusCode::UNAUTHORIZED,
            Html(login_html(Some(
                "That token is not valid (mistyped or revoked); check it and try again.",
            ))),
        )
            .into_response(),
        Err(e) => error_page(e.status, None, &e.message),
    }
}

#[derive(Deserialize)]
pub struct CsrfForm {
    #[serde(default)]
    csrf: String,
}

/// `POST /logout`: forgets the cookie.
pub async fn logout(Extension(s): Extension<Session>, Form(f): Form<CsrfForm>) -> Response {
    if f.csrf != s.csrf {
        return error_page(StatusCode::FORBIDDEN, Some(&s), CSRF_MESSAGE);
    }
    (
        StatusCode::SEE_OTHER,
        [
            (
                header::SET_COOKIE,
                format!("{SESSION_COOKIE}=; HttpOnly; SameSite=Strict; Path=/; Max-Age=0"),
            ),
            (header::LOCATION, "/login".to_string()),
        ],
    )
        .into_response()
}

const CSRF_MESSAGE: &str =
    "this form is out of date or did not come from this site; reload the page and try again";

/// `GET /numbers`: the inventory with filters and paging.
pub async fn numbers(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    q: Result<Query<ListQuery>, axum::extract::rejection::QueryRejection>,
) -> Response {
    let Ok(Query(q)) = q else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&s),
            "the filters in the address are not valid; use the form to filter",
        );
    };
    let today = state.clock.now().date_naive();
    let q2 = q.clone();
    let r = state
        .blocking(move |store, _| {
            let (entries, next) = list_page(store, &q2)?;
            let counts = ops::status_counts(&store.read()?)?;
            Ok((entries, next, counts))
        })
        .await;
    let (entries, next, counts) = match r {
        Ok(v) => v,
        Err(e) => return api_error_page(e, &s),
    };
    let mut body = String::from("<h1>Numbers</h1><p>");
    for (st, n) in &counts {
        let _ = write!(
            body,
            "<a href=\"/numbers{}\">{}</a> {n} &nbsp; ",
            esc(&query(&[("status", st.as_str())])),
            status_badge(*st)
        );
    }
    body.push_str("</p>");
    body.push_str(&filter_form(&q));
    body.push_str(&entries_table(&entries, today));
    if entries.is_empty() {
        body.push_str("<p>No numbers match these filters.</p>");
    }
    if let Some(after) = next {
        let limit = q.limit.map(|l| l.to_string()).unwrap_or_default();
        let href = query(&[
            ("status", q.status.as_deref().unwrap_or("")),
            ("vendor", q.vendor.as_deref().unwrap_or("")),
            ("hierarchy", q.hierarchy.as_deref().unwrap_or("")),
            ("search", q.search.as_deref().unwrap_or("")),
            ("limit", &limit),
            ("after", &after),
        ]);
        let _ = write!(
            body,
            "<p class=\"pager\"><a href=\"/numbers{}\">Next page →</a></p>",
            esc(&href)
        );
    }
    Html(page("Numbers", Some(&viewer(&s)), &body)).into_response()
}

fn filter_form(q: &ListQuery) -> String {
    let current = q.status.as_deref().and_then(Status::parse);
    let mut options = String::from("<option value=\"\">any</option>");
    for st in Status::ALL {
        let sel = if current == Some(st) { " selected" } else { "" };
        let _ = write!(
            options,
            "<option value=\"{0}\"{sel}>{0}</option>",
            esc(st.as_str())
        );
    }
    let text = |name: &str, label: &str, v: &Option<String>| {
        format!(
            "<label>{label}<input name=\"{name}\" value=\"{}\"></label>",
            esc(v.as_deref().unwrap_or(""))
        )
    };
    format!(
        "<form class=\"filters\" method=\"get\" action=\"/numbers\">\
         <label>Status<select name=\"status\">{options}</select></label>{}{}{}\
         <button type=\"submit\">Filter</button> <a href=\"/numbers\">Clear</a></form>",
        text("vendor", "Vendor", &q.vendor),
        text("hierarchy", "Hierarchy", &q.hierarchy),
        text("search", "Search", &q.search),
    )
}

fn entries_table(entries: &[Entry], today: NaiveDate) -> String {
    let mut t = String::from(
        "<table><thead><tr><th>Number</th><th>Status</th><th>Usage</th><th>Vendor</th>\
         <th>Release date</th><th>Hierarchy</th><th>Tag</th><th>Description</th></tr></thead><tbody>",
    );
    for e in entries {
        let _ = write!(
            t,
            "<tr><td><a href=\"{}\">{}</a></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&number_href(&e.number, &e.hierarchy)),
            esc(&e.number),
            status_badge(e.status),
            esc(&e.usage.to_string()),
            esc(e.vendor.as_str()),
            release_cell(e.release_date, today),
            esc(&e.hierarchy),
            esc(&e.tag),
            esc(&e.description),
        );
    }
    t.push_str("</tbody></table>");
    t
}

#[derive(Debug, Default, Deserialize)]
pub struct AtQuery {
    hierarchy: Option<String>,
}

/// `GET /numbers/{number}`: the entry, its actions and its history.
pub async fn number(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Path(number): Path<String>,
    Query(at): Query<AtQuery>,
) -> Response {
    let today = state.clock.now().date_naive();
    let r = state
        .blocking(move |store, _| {
            let reader = store.read()?;
            let h = at.hierarchy.as_deref().filter(|h| !h.is_empty());
            let e = ops::show(&reader, &number, h)?;
            let history = ops::history(&reader, &number, h)?;
            Ok((e, history))
        })
        .await;
    let (e, history) = match r {
        Ok(v) => v,
        Err(err) => return api_error_page(err, &s),
    };
    let mut body = format!("<h1>{} {}</h1><dl>", esc(&e.number), status_badge(e.status));
    let mut field = |k: &str, v: String| {
        let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", esc(k), v);
    };
    field("Hierarchy", esc(&e.hierarchy));
    field("Usage", esc(&e.usage.to_string()));
    field("Vendor", esc(e.vendor.as_str()));
    field("Release date", release_cell(e.release_date, today));
    field("Tag", esc(&e.tag));
    field("Description", esc(&e.description));
    field("Reserved for", esc(&e.reserved_for));
    field("Reservation notes", esc(&e.reservation_notes));
    field("E.164", esc(&e.e164));
    for (k, v) in &e.extra {
        field(k, esc(v));
    }
    field("Updated", esc(&html::time(&e.updated_at)));
    field("Version", e.version.to_string());
    body.push_str("</dl>");
    if s.who.role == Role::Admin {
        body.push_str(&actions(&e, &s.csrf));
    }
    body.push_str("<h2>History</h2><table><thead><tr><th>Seq</th><th>Time</th><th>Actor</th><th>Transaction</th><th>Change</th></tr></thead><tbody>");
    for ev in history.iter().rev() {
        let v = EventView::from(ev);
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{}</td><td><a href=\"/transactions/{}\">{}</a></td><td>{}</td></tr>",
            v.seq,
            esc(&html::time(&v.at)),
            esc(&v.actor),
            v.tx_id,
            v.tx_id,
            change_summary(v.before.as_ref(), v.after.as_ref())
        );
    }
    body.push_str("</tbody></table>");
    Html(page(&e.number, Some(&viewer(&s)), &body)).into_response()
}

/// The workflow buttons that apply to this entry's status.
fn actions(e: &Entry, csrf: &str) -> String {
    let action = |name: &str, label: &str, extra: &str| {
        format!(
            "<form method=\"post\"><input type=\"hidden\" name=\"csrf\" value=\"{}\">\
             <input type=\"hidden\" name=\"hierarchy\" value=\"{}\">\
             <input type=\"hidden\" name=\"action\" value=\"{name}\">{extra}<button type=\"submit\">{label}</button></form>",
            esc(csrf),
            esc(&e.hierarchy)
        )
    };
    let days = "<label>Days<input name=\"days\" size=\"4\"></label>";
    let mut out = String::from("<h2>Actions</h2><div class=\"actions\">");
    match e.status {
        Status::Available => {
            out.push_str(&action(
                "reserve",
                "Reserve",
                &format!("<label>Notes<input name=\"notes\"></label><label>For<input name=\"reserved_for\"></label>{days}"),
            ));
            out.push_str(&action("cool", "Cool", days));
            out.push_str(&action("delete", "Delete", ""));
        }
        Status::Reserved => out.push_str(&action("unreserve", "Unreserve", "")),
        Status::Cooling => out.push_str(&action("release", "Release now", "")),
        Status::Used | Status::UsedUtility => {
            out.push_str(&action("unassign", "Unassign", ""));
            out.push_str(&action("cool", "Cool", days));
        }
    }
    out.push_str("</div>");
    out
}

#[derive(Debug, Deserialize)]
pub struct ActionForm {
    #[serde(default)]
    csrf: String,
    action: String,
    #[serde(default)]
    hierarchy: String,
    #[serde(default)]
    notes: String,
    #[serde(default)]
    days: String,
    #[serde(default)]
    reserved_for: String,
}

/// `POST /numbers/{number}`: one workflow, as the signed-in token.
pub async fn number_action(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Path(number): Path<String>,
    Form(f): Form<ActionForm>,
) -> Response {
    if f.csrf != s.csrf {
        return error_page(StatusCode::FORBIDDEN, Some(&s), CSRF_MESSAGE);
    }
    if s.who.role != Role::Admin {
        return error_page(
            StatusCode::FORBIDDEN,
            Some(&s),
            &format!(
                "token {} has the read role and cannot change numbers; sign in with an admin token",
                s.who.name
            ),
        );
    }
    let days = match f.days.trim() {
        "" => None,
        d => match d.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => {
                return error_page(
                    StatusCode::BAD_REQUEST,
                    Some(&s),
                    &format!("days {d:?} is not a whole number; enter 0 to 999 or leave it blank"),
                )
            }
        },
    };
    let actor = s.who.actor();
    let back = number_href(&number, &f.hierarchy);
    let action = f.action.clone();
    let r = state
        .blocking(move |store, now| {
            let ctx = Ctx::new(store, now, actor);
            let h = Some(f.hierarchy.as_str()).filter(|h| !h.is_empty());
            let blank = |s: &str| Some(s.trim().to_string()).filter(|s| !s.is_empty());
            match f.action.as_str() {
                "reserve" => {
                    let who = blank(&f.reserved_for);
                    ops::reserve(&ctx, &number, h, &f.notes, days, who.as_deref())?
                }
                "unreserve" => ops::unreserve(&ctx, &number, h)?,
                "cool" => ops::cool(&ctx, &number, h, days)?,
                "release" => ops::release(&ctx, &number, h)?,
                "unassign" => ops::unassign(&ctx, &number, h)?,
                "delete" => ops::delete(&ctx, &number, h)?,
                other => {
                    return Err(ApiError::bad_request(format!(
                        "unknown action {other:?}; reload the page"
                    )))
                }
            };
            Ok(())
        })
        .await;
    match r {
        Ok(()) if action == "delete" => Redirect::to("/numbers").into_response(),
        Ok(()) => Redirect::to(&back).into_response(),
        Err(e) => api_error_page(e, &s),
    }
}

/// "status: Available → Cooling; tag: … → …" for one event, as HTML.
fn change_summary(before: Option<&Value>, after: Option<&Value>) -> String {
    const QUIET: &[&str] = &["updated_at", "version", "created_at"];
    let show = |v: Option<&Value>| match v {
        None | Some(Value::Null) => "—".to_string(),
        Some(Value::String(s)) if s.is_empty() => "—".to_string(),
        Some(Value::String(s)) => s.clone(),
        Some(v) => v.to_string(),
    };
    match (before, after) {
        (None, Some(a)) => format!("created ({})", esc(&show(a.get("status").or(Some(a))))),
        (Some(_), None) => "deleted".to_string(),
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            let parts: Vec<String> = a
                .iter()
                .filter(|(k, _)| !QUIET.contains(&k.as_str()))
                .filter(|(k, v)| b.get(*k) != Some(*v))
                .map(|(k, v)| {
                    format!(
                        "{}: {} → {}",
                        esc(k),
                        esc(&show(b.get(k))),
                        esc(&show(Some(v)))
                    )
                })
                .collect();
            if parts.is_empty() {
                "touched".to_string()
            } else {
                parts.join("<br>")
            }
        }
        (b, a) => format!("{} → {}", esc(&show(b)), esc(&show(a))),
    }
}

#[derive(Debug, Default, Deserialize)]
pub struct TxQuery {
    limit: Option<usize>,
}

/// `GET /transactions`: the newest transactions.
pub async fn transactions(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Query(q): Query<TxQuery>,
) -> Response {
    let limit = q.limit.unwrap_or(100).clamp(1, 1000);
    let r = state
        .blocking(move |store, _| Ok(store.read()?.transactions(limit)?))
        .await;
    let txs = match r {
        Ok(v) => v,
        Err(e) => return api_error_page(e, &s),
    };
    let mut body = String::from(
        "<h1>Transactions</h1><table><thead><tr><th>Id</th><th>Kind</th><th>Actor</th><th>Status</th>\
         <th>Started</th><th>Counts</th><th>Message</th></tr></thead><tbody>",
    );
    for t in &txs {
        let counts: Vec<String> = t.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
        let _ = write!(
            body,
            "<tr><td><a href=\"/transactions/{0}\">{0}</a></td><td>{1}</td><td>{2}</td><td>{3}</td><td>{4}</td><td>{5}</td><td>{6}</td></tr>",
            t.id,
            esc(&t.kind),
            esc(&t.actor),
            esc(t.status.as_str()),
            esc(&html::time(&t.started_at)),
            esc(&counts.join(", ")),
            esc(&t.message),
        );
    }
    body.push_str("</tbody></table>");
    if txs.is_empty() {
        body.push_str("<p>No transactions yet.</p>");
    }
    Html(page("Transactions", Some(&viewer(&s)), &body)).into_response()
}

/// `GET /transactions/{id}`: one transaction and its events.
pub async fn transaction(
    State(state): State<ApiState>,
    Extension(s): Extension<Session>,
    Path(id): Path<String>,
) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            Some(&s),
            &format!("transaction id {id:?} is not a whole number"),
        );
    };
    let d = match state
        .blocking(move |store, _| transaction_detail(store, id))
        .await
    {
        Ok(d) => d,
        Err(e) => return api_error_page(e, &s),
    };
    let t = &d.transaction;
    let mut body = format!(
        "<h1>Transaction {} <small>{}</small></h1><dl>",
        t.id,
        esc(&t.kind)
    );
    let counts: Vec<String> = t.counts.iter().map(|(k, v)| format!("{k} {v}")).collect();
    for (k, v) in [
        ("Actor", t.actor.clone()),
        ("Status", t.status.clone()),
        ("Started", html::time(&t.started_at)),
        ("Finished", html::time(&t.finished_at)),
        ("Counts", counts.join(", ")),
        ("Message", t.message.clone()),
    ] {
        let _ = write!(body, "<dt>{}</dt><dd>{}</dd>", esc(k), esc(&v));
    }
    body.push_str("</dl>");
    if !t.notes.is_empty() {
        body.push_str("<h2>Notes</h2><ul>");
        for n in &t.notes {
            let _ = write!(body, "<li>{}</li>", esc(n));
        }
        body.push_str("</ul>");
    }
    body.push_str("<h2>Events</h2><table><thead><tr><th>Seq</th><th>Entity</th><th>Key</th><th>Change</th></tr></thead><tbody>");
    for ev in &d.events {
        let key = if ev.entity == "entry" {
            let number = ev.key.split('@').next().unwrap_or(&ev.key);
            let h = ev.key.split_once('@').map(|x| x.1).unwrap_or("");
            format!(
                "<a href=\"{}\">{}</a>",
                esc(&number_href(number, h)),
                esc(&ev.key)
            )
        } else {
            esc(&ev.key)
        };
        let change = if ev.entity == "transaction" {
            "this record".to_string()
        } else {
            change_summary(ev.before.as_ref(), ev.after.as_ref())
        };
        let _ = write!(
            body,
            "<tr><td>{}</td><td>{}</td><td>{key}</td><td>{change}</td></tr>",
            ev.seq,
            esc(&ev.entity)
        );
    }
    body.push_str("</tbody></table>");
    if d.events_omitted > 0 {
        let _ = write!(
            body,
            "<p>{} more events are not shown; see <code>numinv log show</code>.</p>",
            d.events_omitted
        );
    }
    Html(page(
        &format!("Transaction {}", t.id),
        Some(&viewer(&s)),
        &body,
    ))
    .into_response()
}
