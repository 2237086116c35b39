//! The service desk's pages, rendered on the server from `templates/`
//! (askama: checked at compile time, HTML-escaped): disputes due, order
//! search, an order's story, answering a dispute, an export's bundle, and
//! checking a bundle. Their forms post to the JSON API through `desk.js`.

use askama::Template;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, Query, State};
use axum::http::Uri;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use evault_core::{Dispute, DisputeReason, OrderId, Role};
use evault_export::{ExportReport, Profile};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::evidence::blocking;
use crate::exports::DESK;
use crate::order_view::{Row, rows};
use crate::search::{Due, Found, SearchParams, due, find};
use crate::state::AppState;

/// What a desk page may load: its own scripts, styles, images and media,
/// and (for the summary PDF's preview) frames from itself.
const DESK_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; media-src 'self'; connect-src 'self'; frame-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// Custom template filters.
mod filters {
    use std::fmt::Display;

    /// Percent-encodes a path segment (order ids may hold `/`, `#`, spaces).
    #[askama::filter_fn]
    pub fn seg<T: Display>(s: T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::segment(&s.to_string()))
    }

    /// `2026-12-07T05:20:29.123Z` as `2026-12-07 05:20 UTC`.
    #[askama::filter_fn]
    pub fn day_time<T: Display>(s: T, _: &dyn askama::Values) -> askama::Result<String> {
        let s = s.to_string();
        Ok(match chrono::DateTime::parse_from_rfc3339(&s) {
            Ok(t) => t.format("%Y-%m-%d %H:%M UTC").to_string(),
            Err(_) => s,
        })
    }

    /// Bytes as `1.4 MB`.
    #[askama::filter_fn]
    pub fn size<T: Display>(n: T, _: &dyn askama::Values) -> askama::Result<String> {
        Ok(super::size(n.to_string().parse().unwrap_or(0)))
    }
}

/// Bytes as people read them (`812 kB`, `1.4 MB`; powers of 1000, as
/// platforms state their limits).
pub(crate) fn size(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.0} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Percent-encodes everything but unreserved characters.
pub(crate) fn segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The header every page shares.
pub(crate) struct Nav {
    user: String,
    role: String,
    station: String,
    csrf: String,
    active: &'static str,
}

/// The desk's caller, or the page to show instead: the login page for an
/// anonymous visitor, a 403 page for a station account.
fn desk_caller(
    caller: Result<Caller, ApiError>,
    uri: &Uri,
    active: &'static str,
) -> Result<Nav, Refusal> {
    let caller = match caller {
        Ok(c) => c,
        Err(e) if e.status == StatusCode::UNAUTHORIZED => {
            let next = segment(&uri.to_string());
            return Err(Redirect::to(&format!("/login?next={next}"))
                .into_response()
                .into());
        }
        Err(e) => return Err(e.into()),
    };
    if !DESK.contains(&caller.account.role) {
        let page = Forbidden {
            user: caller.account.name.clone(),
            role: caller.account.role,
        };
        let mut r = html(page);
        *r.status_mut() = StatusCode::FORBIDDEN;
        return Err(r.into());
    }
    Ok(Nav {
        user: caller.account.name.clone(),
        role: caller.account.role.to_string(),
        station: caller.station.clone(),
        csrf: caller.csrf.clone().unwrap_or_default(),
        active,
    })
}

/// Renders a template as a page.
fn html(t: impl Template) -> Response {
    match t.render() {
        Ok(body) => {
            let mut r = (StatusCode::OK, body).into_response();
            let h = r.headers_mut();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            h.insert(
                header::CONTENT_SECURITY_POLICY,
                HeaderValue::from_static(DESK_CSP),
            );
            r
        }
        Err(e) => ApiError::internal(format!("rendering the page: {e}")).into_response(),
    }
}

/// What a page request gets instead of the page: a redirect to log in, a
/// 403 page, or an API error.
pub(crate) struct Refusal(Box<Response>);

impl IntoResponse for Refusal {
    fn into_response(self) -> Response {
        *self.0
    }
}

/// An API error, as a page a person can read.
#[derive(Template)]
#[template(path = "problem.html")]
struct Problem {
    title: &'static str,
    code: &'static str,
    message: String,
}

impl From<ApiError> for Refusal {
    fn from(e: ApiError) -> Self {
        let title = match e.status {
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::BAD_REQUEST => "This address cannot be read",
            s if s.is_server_error() => "The server could not do this",
            _ => "Refused",
        };
        let status = e.status;
        let mut r = html(Problem {
            title,
            code: e.code,
            message: e.message,
        });
        *r.status_mut() = status;
        Self(Box::new(r))
    }
}

impl From<Response> for Refusal {
    fn from(r: Response) -> Self {
        Self(Box::new(r))
    }
}

/// A page, or what replaces it.
type Page = Result<Response, Refusal>;

fn err(e: ApiError) -> Refusal {
    e.into()
}

#[derive(Template)]
#[template(path = "forbidden.html")]
struct Forbidden {
    user: String,
    role: Role,
}

#[derive(Template)]
#[template(path = "disputes.html")]
struct DisputesPage {
    nav: Nav,
    disputes: Vec<Due>,
    unreadable: usize,
}

impl Due {
    /// `overdue`, `soon` (2 days or fewer) or `later`.
    fn urgency(&self) -> &'static str {
        match self.days_left {
            Some(d) if d < 0 => "overdue",
            Some(d) if d <= 2 => "soon",
            _ => "later",
        }
    }

    fn days_text(&self) -> String {
        match self.days_left {
            None => "no date".into(),
            Some(0) => "due today".into(),
            Some(1) => "1 day left".into(),
            Some(-1) => "1 day overdue".into(),
            Some(d) if d < 0 => format!("{} days overdue", -d),
            Some(d) => format!("{d} days left"),
        }
    }

    fn shipment_missing(&self) -> bool {
        self.missing
            .iter()
            .any(|m| *m == "no label photo" || *m == "no carrier events")
    }
}

/// `GET /desk`: the open disputes, soonest first.
pub(crate) async fn disputes(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
) -> Page {
    let nav = desk_caller(caller, &uri, "disputes")?;
    let disputes = due(&state).map_err(err)?;
    let unreadable = state.index.read().map_err(err)?.damaged().len();
    Ok(html(DisputesPage {
        nav,
        disputes,
        unreadable,
    }))
}

#[derive(Template)]
#[template(path = "orders.html")]
struct OrdersPage {
    nav: Nav,
    p: SearchParams,
    found: Found,
    first: usize,
    last: usize,
    prev: Option<String>,
    next: Option<String>,
}

/// `GET /orders`: search.
pub(crate) async fn orders(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Page {
    let nav = desk_caller(caller, &uri, "orders")?;
    let p = params.map(|Query(p)| p).unwrap_or_default();
    let found = find(&state, &p).map_err(err)?;
    let first = (found.page - 1) * found.per_page + 1;
    let last = first + found.orders.len().saturating_sub(1);
    let link = |page: usize| {
        format!(
            "/orders?q={}&from={}&to={}&station={}&operator={}&dispute={}&per_page={}&page={page}",
            segment(&p.q),
            segment(&p.from),
            segment(&p.to),
            segment(&p.station),
            segment(&p.operator),
            segment(&p.dispute),
            found.per_page,
        )
    };
    let prev = (found.page > 1).then(|| link(found.page - 1));
    let next = (last < found.total).then(|| link(found.page + 1));
    Ok(html(OrdersPage {
        nav,
        p,
        found,
        first,
        last,
        prev,
        next,
    }))
}

/// The order's facts at the top of its page.
struct Facts {
    entries: u64,
    evidence: u64,
    first: String,
    last: String,
    stations: String,
    operators: String,
}

#[derive(Template)]
#[template(path = "order.html")]
struct OrderPage {
    nav: Nav,
    order: String,
    facts: Facts,
    dispute: Option<Dispute>,
    missing: Vec<&'static str>,
    missing_title: &'static str,
    rows: Vec<Row>,
}

/// Reads an order for a page: its log, summary and timeline.
async fn read_order(
    state: &AppState,
    order: Result<Path<String>, PathRejection>,
) -> Result<(OrderId, evault_core::OrderLog, Vec<Row>), Refusal> {
    let Path(order) = order.map_err(|e| err(e.into()))?;
    let order: OrderId = order
        .parse()
        .map_err(|e: evault_core::Error| err(e.into()))?;
    let (vault, o) = (state.vault.clone(), order.clone());
    let (log, rows) = blocking(move || {
        let log = vault.log(&o)?;
        let rows = rows(&vault, &log).map_err(|e| ApiError::internal(e.to_string()))?;
        Ok((log, rows))
    })
    .await
    .map_err(err)?;
    Ok((order, log, rows))
}

/// What the order lacks for its latest dispute, with the banner's title.
fn gaps(log: &evault_core::OrderLog, reason: DisputeReason) -> (Vec<&'static str>, &'static str) {
    let retracted = log.retracted();
    let kinds: Vec<evault_core::EvidenceKind> = log
        .entries
        .iter()
        .filter(|r| !retracted.contains(&r.entry.seq))
        .filter_map(|r| r.entry.evidence().map(|e| e.kind))
        .collect();
    let missing = evault_export::missing_evidence(reason, &kinds);
    let title = if missing
        .iter()
        .any(|m| *m == "no label photo" || *m == "no carrier events")
    {
        "No evidence of shipment yet"
    } else {
        "Missing evidence"
    };
    (missing, title)
}

/// `GET /orders/{id}`: the order's story.
pub(crate) async fn order(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    order: Result<Path<String>, PathRejection>,
) -> Page {
    let nav = desk_caller(caller, &uri, "orders")?;
    let (order, log, rows) = read_order(&state, order).await?;
    let dispute = log.latest_dispute().cloned();
    let (missing, missing_title) = dispute
        .as_ref()
        .map(|d| gaps(&log, d.reason))
        .unwrap_or((Vec::new(), ""));
    let set = |f: &dyn Fn(&evault_core::Entry) -> &str| {
        let s: std::collections::BTreeSet<&str> = log.entries.iter().map(|r| f(&r.entry)).collect();
        s.into_iter().collect::<Vec<_>>().join(", ")
    };
    let retracted = log.retracted();
    let facts = Facts {
        entries: log.entries.len() as u64,
        evidence: log
            .entries
            .iter()
            .filter(|r| r.entry.evidence().is_some() && !retracted.contains(&r.entry.seq))
            .count() as u64,
        first: log
            .entries
            .first()
            .map(|r| r.entry.recorded_at.to_string())
            .unwrap_or_default(),
        last: log
            .entries
            .last()
            .map(|r| r.entry.recorded_at.to_string())
            .unwrap_or_default(),
        stations: set(&|e| e.station.as_str()),
        operators: set(&|e| e.recorded_by.as_str()),
    };
    Ok(html(OrderPage {
        nav,
        order: order.as_str().to_owned(),
        facts,
        dispute,
        missing,
        missing_title,
        rows,
    }))
}

/// A profile in the forms: name, title, and its limits in words.
struct ProfileView {
    name: String,
    title: String,
    limits: String,
}

fn profile_views() -> Result<Vec<ProfileView>, ApiError> {
    let profiles = Profile::builtin().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(profiles
        .into_iter()
        .map(|p| {
            let mut l = Vec::new();
            if let Some(n) = p.max_files {
                l.push(format!("at most {n} files"));
            }
            if let Some(b) = p.max_file_bytes {
                l.push(format!("{} per file", size(b)));
            }
            if let Some(b) = p.max_total_bytes {
                l.push(format!("{} in all", size(b)));
            }
            if let Some(n) = p.max_pages_total {
                l.push(format!("{n} PDF pages in all"));
            }
            if let Some(n) = p.text_limit {
                l.push(format!("statement up to {n} characters"));
            }
            if !p.types.is_empty() {
                let types: Vec<&str> = p
                    .types
                    .iter()
                    .map(|t| t.rsplit('/').next().unwrap_or(t))
                    .collect();
                l.push(format!("takes {}", types.join(", ")));
            }
            if p.pdfa {
                l.push("PDF/A".into());
            }
            ProfileView {
                limits: format!("{}: {}. Source: {}", p.title, l.join(", "), p.source),
                name: p.name,
                title: p.title,
            }
        })
        .collect())
}

#[derive(Template)]
#[template(path = "answer.html")]
struct AnswerPage {
    nav: Nav,
    order: String,
    dispute: Option<Dispute>,
    profiles: Vec<ProfileView>,
    /// (value, label, statement template)
    reasons: Vec<(&'static str, &'static str, &'static str)>,
    platform: String,
    reason: String,
    statement: String,
    missing: Vec<&'static str>,
    missing_title: &'static str,
}

fn reason_label(r: DisputeReason) -> &'static str {
    match r {
        DisputeReason::NotReceived => "Item not received",
        DisputeReason::NotAsDescribed => "Not as described",
        DisputeReason::Damaged => "Arrived damaged",
        DisputeReason::Unauthorized => "Unauthorised payment (fraud)",
        DisputeReason::Other => "Other",
    }
}

/// `GET /orders/{id}/answer`: record the dispute, then export.
pub(crate) async fn answer(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    order: Result<Path<String>, PathRejection>,
) -> Page {
    let nav = desk_caller(caller, &uri, "orders")?;
    let Path(order) = order.map_err(|e| err(e.into()))?;
    let order: OrderId = order
        .parse()
        .map_err(|e: evault_core::Error| err(e.into()))?;
    let (vault, o) = (state.vault.clone(), order.clone());
    let log = blocking(move || Ok(vault.log(&o)?)).await.map_err(err)?;
    let dispute = log.latest_dispute().cloned();
    let reason = dispute
        .as_ref()
        .map_or(DisputeReason::NotReceived, |d| d.reason);
    let (missing, missing_title) = gaps(&log, reason);
    Ok(html(AnswerPage {
        nav,
        order: order.as_str().to_owned(),
        profiles: profile_views().map_err(err)?,
        reasons: DisputeReason::ALL
            .iter()
            .map(|r| {
                (
                    r.as_str(),
                    reason_label(*r),
                    evault_export::statement_template(*r),
                )
            })
            .collect(),
        platform: dispute
            .as_ref()
            .map_or_else(|| "stripe".to_owned(), |d| d.platform.clone()),
        reason: reason.as_str().to_owned(),
        statement: evault_export::statement_template(reason).to_owned(),
        dispute,
        missing,
        missing_title,
    }))
}

#[derive(Template)]
#[template(path = "export.html")]
struct ExportPage {
    nav: Nav,
    job: String,
    order: String,
    profile: String,
    profile_title: String,
    running: Option<(&'static str, u64, u64)>,
    failed: Option<(&'static str, String)>,
    report: Option<Box<ExportReport>>,
    preview: Option<String>,
}

/// `GET /exports/{job}`: progress, then the upload list, the summary PDF
/// and the fit report.
pub(crate) async fn export(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    uri: Uri,
    Path(job): Path<String>,
) -> Page {
    let nav = desk_caller(caller, &uri, "orders")?;
    let job = state.exports.get(&job).map_err(err)?;
    let outcome = job
        .outcome
        .lock()
        .map_err(|_| err(ApiError::internal("the jobs lock is poisoned")))?
        .clone();
    let (running, failed, report) = match outcome {
        None => (Some(job.progress()), None, None),
        Some(Err(e)) => (None, Some((e.code, e.message)), None),
        Some(Ok(r)) => (None, None, Some(r)),
    };
    let preview = report.as_ref().and_then(|r| {
        r.files
            .iter()
            .find(|f| f.generated && f.name.ends_with(".pdf"))
            .map(|f| f.name.clone())
    });
    let profile_title =
        Profile::find(&job.profile, &[]).map_or_else(|_| job.profile.clone(), |p| p.title);
    Ok(html(ExportPage {
        nav,
        job: job.id.clone(),
        order: job.order.as_str().to_owned(),
        profile: job.profile.clone(),
        profile_title,
        running,
        failed,
        report,
        preview,
    }))
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckPage {
    nav: Nav,
}

/// `GET /check`: the bundle check form (the report is drawn by `desk.js`).
pub(crate) async fn check(caller: Result<Caller, ApiError>, uri: Uri) -> Page {
    let nav = desk_caller(caller, &uri, "check")?;
    Ok(html(CheckPage { nav }))
}
