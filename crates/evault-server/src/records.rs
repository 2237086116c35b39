//! What the service desk records and checks on an order: notes,
//! retractions, dispute records, and the order's verify report.

use axum::Json;
use axum::extract::rejection::{JsonRejection, PathRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use evault_core::{Dispute, DisputeReason, OrderId, VerifyOptions};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::evidence::blocking;
use crate::exports::DESK;
use crate::state::AppState;

/// `POST /api/v1/orders/{id}/notes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct NoteRequest {
    text: String,
}

/// `POST /api/v1/orders/{id}/retractions` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RetractRequest {
    seq: u64,
    reason: String,
}

/// `POST /api/v1/orders/{id}/disputes` body.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct DisputeRequest {
    platform: String,
    reason: DisputeReason,
    case_id: Option<String>,
    amount: Option<String>,
    due: Option<String>,
}

/// Parses the order and the body, and checks the caller is the desk.
fn parts<T>(
    caller: &Caller,
    what: &str,
    order: Result<Path<String>, PathRejection>,
    body: Result<Json<T>, JsonRejection>,
) -> Result<(OrderId, T), ApiError> {
    caller.require(&DESK, what)?;
    let Path(order) = order?;
    let order: OrderId = order.parse()?;
    let Json(body) = body?;
    Ok((order, body))
}

/// Appends `body` to an order that must exist, and answers `201` with the entry.
async fn append(
    state: &AppState,
    caller: &Caller,
    order: OrderId,
    f: impl FnOnce(
        &evault_core::Vault,
        &OrderId,
        &evault_core::Actor,
    ) -> evault_core::Result<evault_core::Recorded>
    + Send
    + 'static,
) -> Result<Response, ApiError> {
    let (vault, actor, o) = (state.vault.clone(), caller.actor()?, order.clone());
    let r = blocking(move || {
        vault.log(&o)?;
        Ok(f(&vault, &o, &actor)?)
    })
    .await?;
    state.index.touch(&state.vault, &order).await;
    let entry = r.to_json().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((StatusCode::CREATED, Json(json!({ "entry": entry }))).into_response())
}

/// `POST /api/v1/orders/{id}/notes`: records a note.
pub(crate) async fn note(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
    body: Result<Json<NoteRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let (order, req) = parts(&caller, "adding a note", order, body)?;
    let text = req.text.trim().to_owned();
    if text.is_empty() {
        return Err(ApiError::bad_request("invalid-field", "the note is empty"));
    }
    append(&state, &caller, order, move |v, o, a| v.note(o, &text, a)).await
}

/// `POST /api/v1/orders/{id}/retractions`: voids an entry, with a reason.
pub(crate) async fn retract(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
    body: Result<Json<RetractRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let (order, req) = parts(&caller, "retracting an entry", order, body)?;
    let reason = req.reason.trim().to_owned();
    if reason.is_empty() {
        return Err(ApiError::bad_request(
            "invalid-field",
            "say why the entry is retracted; the reason is kept in the log",
        ));
    }
    append(&state, &caller, order, move |v, o, a| {
        v.retract(o, req.seq, &reason, a)
    })
    .await
}

/// `POST /api/v1/orders/{id}/disputes`: records a dispute.
pub(crate) async fn dispute(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
    body: Result<Json<DisputeRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let (order, req) = parts(&caller, "recording a dispute", order, body)?;
    evault_export::Profile::find(&req.platform, &[]).map_err(|e| {
        ApiError::bad_request(
            "unknown-profile",
            format!("{e}; GET /api/v1/profiles lists them"),
        )
    })?;
    let opt = |s: Option<String>| s.map(|s| s.trim().to_owned()).filter(|s| !s.is_empty());
    let due = opt(req.due);
    if let Some(d) = &due
        && chrono::NaiveDate::parse_from_str(d, "%Y-%m-%d").is_err()
    {
        return Err(ApiError::bad_request(
            "invalid-field",
            format!("due date {d:?}: give the deadline as YYYY-MM-DD"),
        ));
    }
    let dispute = Dispute {
        platform: req.platform,
        reason: req.reason,
        case_id: opt(req.case_id),
        amount: opt(req.amount),
        due,
    };
    append(&state, &caller, order, move |v, o, a| {
        v.dispute(o, dispute, a)
    })
    .await
}

/// `GET /api/v1/orders/{id}/verify` query.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct VerifyQuery {
    /// Re-hash every file with SHA-256 too (default: BLAKE3 only).
    #[serde(default)]
    full: bool,
}

/// `GET /api/v1/orders/{id}/verify[?full=true]`: the order's `verify`
/// report (BLAKE3 re-hash by default; `full` also recomputes SHA-256).
pub(crate) async fn verify(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
    query: Result<Query<VerifyQuery>, axum::extract::rejection::QueryRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&DESK, "verifying an order")?;
    let Path(order) = order?;
    let order: OrderId = order.parse()?;
    let Query(query) = query.map_err(|e| ApiError::bad_request("invalid-field", e.body_text()))?;
    let full = query.full;
    Ok(Json(verify_json(&state, order, full).await?))
}

/// The verify report of one order, as JSON.
pub(crate) async fn verify_json(
    state: &AppState,
    order: OrderId,
    full: bool,
) -> Result<serde_json::Value, ApiError> {
    let vault = state.vault.clone();
    let report = blocking(move || {
        // An unknown order is a 404; a damaged log is verify's to report.
        if let Err(e @ evault_core::Error::UnknownOrder(_)) = vault.log(&order) {
            return Err(e.into());
        }
        let options = VerifyOptions {
            order: Some(order),
            fast: !full,
            ..VerifyOptions::default()
        };
        Ok(vault.verify(&options)?)
    })
    .await?;
    let findings: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "severity": match f.severity {
                    evault_core::Severity::Problem => "problem",
                    evault_core::Severity::Notice => "notice",
                },
                "code": f.code,
                "seq": f.seq,
                "file": f.file,
                "expected": f.expected,
                "found": f.found,
                "message": f.message,
                "text": f.to_string(),
            })
        })
        .collect();
    Ok(json!({
        "ok": report.ok(),
        "full": full,
        "findings": findings,
    }))
}
