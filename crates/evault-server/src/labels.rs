//! `POST /api/v1/labels/read`: the codes on a photo of a shipping label,
//! for devices whose browser cannot read barcodes (no `BarcodeDetector`).
//! The photo is read and forgotten: it is not evidence.

use std::io::Read;

use axum::Json;
use axum::body::Body;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use evault_core::Role;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::evidence::{blocking, body_reader, refuse_body};
use crate::state::AppState;
use axum::extract::State;

/// The long side, in pixels, a label photo is read at: enough for the bars
/// of a Code 128 across a 10 cm label, small enough to decode fast.
const READ_EDGE: u32 = 2048;

pub(crate) async fn read(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let allowed = caller.and_then(|c| {
        c.require(
            &[Role::Station, Role::Service, Role::Admin],
            "reading a label",
        )
    });
    if let Err(e) = allowed {
        refuse_body(&headers, body).await;
        return Err(e);
    }
    let limit = state.limits.file_bytes;
    let (mut reader, flags) = body_reader(body, limit);
    let read = blocking(move || {
        let mut bytes = Vec::new();
        reader.read_to_end(&mut bytes).map_err(|_| {
            ApiError::bad_request(
                "upload-interrupted",
                "the photo did not arrive whole: send it again",
            )
        })?;
        let (luma, w, h) = evault_export::grey(&bytes, READ_EDGE).map_err(|why| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "not-an-image",
                format!("the photo cannot be read as an image ({why})"),
            )
        })?;
        // No code found is an answer (an empty list), not an error.
        let found = rxing::helpers::detect_multiple_in_luma(luma, w, h).unwrap_or_default();
        let mut codes: Vec<serde_json::Value> = Vec::new();
        for r in found {
            let text = r.getText().trim().to_owned();
            if !text.is_empty() && !codes.iter().any(|c| c["text"] == text.as_str()) {
                codes.push(json!({"text": text, "format": r.getBarcodeFormat().to_string()}));
            }
        }
        Ok(codes)
    })
    .await;
    let codes = match read {
        Err(_) if flags.over.load(std::sync::atomic::Ordering::SeqCst) => {
            return Err(ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "too-large",
                format!("a label photo is at most {} MiB", limit >> 20),
            ));
        }
        other => other?,
    };
    Ok((StatusCode::OK, Json(json!({"codes": codes}))).into_response())
}
