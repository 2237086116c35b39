//! `POST /api/v1/bundles/check`: the `verify-bundle` report of an uploaded
//! bundle (and, optionally, whether it extends an earlier one).

use std::io::Write;

use axum::Json;
use axum::extract::{Multipart, State};
use axum::http::StatusCode;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::evidence::blocking;
use crate::exports::DESK;
use crate::state::AppState;

/// `multipart/form-data` with `bundle` (a zip) and optionally `previous`
/// (an earlier bundle of the same order). Each is written to a temporary
/// file in `serve/` (at most the video limit), checked, and deleted.
pub(crate) async fn check(
    State(state): State<AppState>,
    caller: Caller,
    multipart: Result<Multipart, axum::extract::multipart::MultipartRejection>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&DESK, "checking a bundle")?;
    let mut multipart = multipart.map_err(|e| {
        ApiError::bad_request(
            "bad-multipart",
            format!("send the bundle as multipart/form-data ({})", e.body_text()),
        )
    })?;
    let dir = state.vault.root().join("serve");
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let limit = state.limits.video_bytes;
    let (mut bundle, mut previous) = (None, None);
    while let Some(mut field) = multipart.next_field().await.map_err(multipart_error)? {
        let slot = match field.name() {
            Some("bundle") => &mut bundle,
            Some("previous") => &mut previous,
            other => {
                return Err(ApiError::bad_request(
                    "bad-multipart",
                    format!("unknown field {other:?}: send bundle and, optionally, previous"),
                ));
            }
        };
        let mut file = tempfile::Builder::new()
            .prefix("check-")
            .tempfile_in(&dir)
            .map_err(|e| ApiError::internal(e.to_string()))?;
        let mut size = 0u64;
        while let Some(chunk) = field.chunk().await.map_err(multipart_error)? {
            size += chunk.len() as u64;
            if size > limit {
                return Err(ApiError::new(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "too-large",
                    format!(
                        "a bundle to check is at most {} MiB here (--max-video-mib)",
                        limit >> 20
                    ),
                ));
            }
            file.write_all(&chunk)
                .map_err(|e| ApiError::internal(format!("writing {}: {e}", dir.display())))?;
        }
        if size > 0 {
            *slot = Some(file);
        }
    }
    let bundle = bundle.ok_or_else(|| {
        ApiError::bad_request("bad-multipart", "no bundle: choose the zip to check")
    })?;
    let with_previous = previous.is_some();
    let report = blocking(move || {
        let anchors = evault_core::timestamp::Anchors::default();
        let r = match &previous {
            Some(p) => {
                evault_export::verify_bundle_with_previous(bundle.path(), p.path(), &anchors)
            }
            None => evault_export::verify_bundle(bundle.path(), &anchors),
        };
        r.map_err(|e| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unreadable-bundle",
                e.to_string(),
            )
        })
    })
    .await?;
    let findings: Vec<serde_json::Value> = report
        .findings
        .iter()
        .map(|f| {
            json!({
                "code": f.code,
                "file": f.file,
                "expected": f.expected,
                "found": f.found,
                "message": f.message,
                "text": f.to_string(),
            })
        })
        .collect();
    Ok(Json(json!({
        "ok": report.ok(),
        "top": report.top,
        "members": report.members,
        "bytes": report.bytes,
        "log_entries": report.log_entries,
        "previous": with_previous,
        "findings": findings,
        "signatures": report.signatures,
        "stamps": report.stamps,
    })))
}

fn multipart_error(e: axum::extract::multipart::MultipartError) -> ApiError {
    ApiError::new(e.status(), "bad-multipart", e.body_text())
}
