//! Finding orders: `GET /api/v1/orders` (search in the order index) and
//! `GET /api/v1/disputes` (open disputes by due date).

use std::time::Instant;

use axum::Json;
use axum::extract::{Query, State};
use axum::http::HeaderValue;
use axum::response::{IntoResponse, Response};
use chrono::{NaiveDate, Utc};
use evault_core::{IndexedDispute, IndexedOrder, Match, OrderQuery};
use serde::{Deserialize, Serialize};
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::exports::DESK;
use crate::state::AppState;

/// Orders per page, unless asked otherwise.
pub(crate) const PER_PAGE: usize = 50;

/// The search form's fields (all optional).
#[derive(Clone, Debug, Default, Deserialize)]
pub(crate) struct SearchParams {
    /// Part of the order id.
    #[serde(default)]
    pub q: String,
    /// First UTC day (`YYYY-MM-DD`).
    #[serde(default)]
    pub from: String,
    /// Last UTC day.
    #[serde(default)]
    pub to: String,
    #[serde(default)]
    pub station: String,
    #[serde(default)]
    pub operator: String,
    /// `yes`, `no` or empty.
    #[serde(default)]
    pub dispute: String,
    /// From 1 (anything else is page 1).
    #[serde(default)]
    pub page: String,
    /// Orders a page (1 to 500; anything else is 50).
    #[serde(default)]
    pub per_page: String,
}

impl SearchParams {
    /// The query, or a 400 naming the field that cannot be read.
    pub(crate) fn query(&self) -> Result<OrderQuery, ApiError> {
        let day = |name: &str, v: &str| -> Result<Option<NaiveDate>, ApiError> {
            let v = v.trim();
            if v.is_empty() {
                return Ok(None);
            }
            NaiveDate::parse_from_str(v, "%Y-%m-%d")
                .map(Some)
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid-field",
                        format!("{name}={v:?}: give a day as YYYY-MM-DD"),
                    )
                })
        };
        let text = |v: &str| Some(v.trim().to_owned()).filter(|v| !v.is_empty());
        let has_dispute = match self.dispute.trim() {
            "" | "any" => None,
            "yes" => Some(true),
            "no" => Some(false),
            other => {
                return Err(ApiError::bad_request(
                    "invalid-field",
                    format!("dispute={other:?}: use yes, no or leave it out"),
                ));
            }
        };
        let per_page = self
            .per_page
            .trim()
            .parse()
            .unwrap_or(PER_PAGE)
            .clamp(1, 500);
        let page = self.page.trim().parse().unwrap_or(1usize).max(1);
        if self.q.len() > evault_core::MAX_ORDER_ID_BYTES {
            return Err(ApiError::bad_request(
                "invalid-field",
                "q is longer than any order id",
            ));
        }
        Ok(OrderQuery {
            text: text(&self.q),
            from: day("from", &self.from)?,
            to: day("to", &self.to)?,
            station: text(&self.station),
            operator: text(&self.operator),
            has_dispute,
            offset: (page - 1).saturating_mul(per_page),
            limit: per_page,
        })
    }
}

/// One order in a list.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Listed {
    pub order: String,
    #[serde(rename = "match")]
    pub how: Match,
    pub entries: u64,
    pub evidence: u64,
    pub bytes: u64,
    pub first_recorded_at: String,
    pub last_recorded_at: String,
    pub stations: Vec<String>,
    pub operators: Vec<String>,
    pub disputes: usize,
    pub open_disputes: usize,
}

impl Listed {
    fn new(how: Match, o: &IndexedOrder) -> Self {
        Self {
            order: o.order.as_str().to_owned(),
            how,
            entries: o.entries,
            evidence: o.evidence,
            bytes: o.bytes,
            first_recorded_at: o.first_recorded_at.to_string(),
            last_recorded_at: o.last_recorded_at.to_string(),
            stations: o.stations.clone(),
            operators: o.operators.clone(),
            disputes: o.disputes.len(),
            open_disputes: o.open_disputes().count(),
        }
    }
}

/// A page of search results.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Found {
    pub total: usize,
    pub page: usize,
    pub per_page: usize,
    pub orders: Vec<Listed>,
    /// Milliseconds the search took in the server.
    pub took_ms: f64,
    /// Orders whose log cannot be read (left out of every search).
    pub unreadable: usize,
}

/// Runs a search on the index.
pub(crate) fn find(state: &AppState, params: &SearchParams) -> Result<Found, ApiError> {
    let query = params.query()?;
    let started = Instant::now();
    let index = state.index.read()?;
    let hits = index.search(&query);
    let orders = hits
        .orders
        .iter()
        .map(|(how, o)| Listed::new(*how, o))
        .collect();
    Ok(Found {
        total: hits.total,
        page: query.offset / query.limit.max(1) + 1,
        per_page: query.limit,
        orders,
        took_ms: started.elapsed().as_secs_f64() * 1000.0,
        unreadable: index.damaged().len(),
    })
}

/// `GET /api/v1/orders`: search.
pub(crate) async fn list(
    State(state): State<AppState>,
    caller: Caller,
    params: Result<Query<SearchParams>, axum::extract::rejection::QueryRejection>,
) -> Result<Response, ApiError> {
    caller.require(&DESK, "searching orders")?;
    let Query(params) =
        params.map_err(|e| ApiError::bad_request("invalid-field", e.body_text()))?;
    let found = find(&state, &params)?;
    let timing = format!("search;dur={:.3}", found.took_ms);
    let mut r = Json(found).into_response();
    if let Ok(v) = HeaderValue::from_str(&timing) {
        r.headers_mut().insert("server-timing", v);
    }
    Ok(r)
}

/// An open dispute, for the "Disputes due" list.
#[derive(Clone, Debug, Serialize)]
pub(crate) struct Due {
    pub order: String,
    pub seq: u64,
    pub platform: String,
    pub reason: String,
    pub case_id: Option<String>,
    pub amount: Option<String>,
    pub due: Option<String>,
    /// Days until the due date (negative: overdue); `None` without a date.
    pub days_left: Option<i64>,
    pub recorded_at: String,
    /// What the order lacks for this reason (`no label photo`, ...).
    pub missing: Vec<&'static str>,
}

/// Every open dispute: those with a due date first, soonest first.
pub(crate) fn due(state: &AppState) -> Result<Vec<Due>, ApiError> {
    let index = state.index.read()?;
    let today = Utc::now().date_naive();
    let mut out: Vec<Due> = index
        .iter()
        .flat_map(|o| o.open_disputes().map(move |d| (o, d)))
        .map(|(o, d): (&IndexedOrder, &IndexedDispute)| {
            let date = d
                .dispute
                .due
                .as_deref()
                .and_then(|s| NaiveDate::parse_from_str(s, "%Y-%m-%d").ok());
            Due {
                order: o.order.as_str().to_owned(),
                seq: d.seq,
                platform: d.dispute.platform.clone(),
                reason: d.dispute.reason.to_string(),
                case_id: d.dispute.case_id.clone(),
                amount: d.dispute.amount.clone(),
                due: d.dispute.due.clone(),
                days_left: date.map(|date| (date - today).num_days()),
                recorded_at: d.recorded_at.to_string(),
                missing: evault_export::missing_evidence(d.dispute.reason, &o.kinds),
            }
        })
        .collect();
    out.sort_by(|a, b| {
        (a.days_left.is_none(), a.days_left, &a.recorded_at, &a.order).cmp(&(
            b.days_left.is_none(),
            b.days_left,
            &b.recorded_at,
            &b.order,
        ))
    });
    Ok(out)
}

/// `GET /api/v1/disputes`: the open disputes.
pub(crate) async fn disputes(
    State(state): State<AppState>,
    caller: Caller,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&DESK, "listing disputes")?;
    let list = due(&state)?;
    Ok(Json(json!({ "disputes": list })))
}
