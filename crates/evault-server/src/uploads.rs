//! A packing video sent in slices while it records, then recorded as one
//! entry.
//!
//! `PUT /api/v1/uploads/{upload}/{n}` stores slice `n` (checked against the
//! device's SHA-256 of the slice, fsynced before the answer, so the device
//! may drop it). `POST /api/v1/orders/{id}/uploads/{upload}/finish` joins
//! slices `0..count` in order, streams them into the vault as one evidence
//! entry (checked against the device's SHA-256 of the whole video) and
//! removes them. Slices wait in `serve/uploads/<account>/<upload>/`,
//! outside the log; a finish retried after it landed answers the entry.

use std::fs::{self, File};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path as UrlPath, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use evault_core::{BlobId, EvidenceKind, NewEvidence, OrderId, Role};
use serde_json::json;
use sha2::{Digest, Sha256};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::evidence::{
    DEVICE_SHA_HEADER, blocking, body_reader, capture_id, commit, describe, earlier, refuse_body,
};
use crate::state::AppState;

/// The largest slice accepted.
pub const MAX_SLICE_BYTES: u64 = 64 << 20;
/// The most slices one video may have.
const MAX_SLICES: u32 = 100_000;
const COUNT_HEADER: &str = "x-evault-slices";

const ROLES: [Role; 3] = [Role::Station, Role::Service, Role::Admin];

fn upload_dir(state: &AppState, caller: &Caller, upload: &str) -> PathBuf {
    state
        .vault
        .root()
        .join("serve/uploads")
        .join(&caller.account.name)
        .join(upload)
}

fn slice_name(n: u32) -> String {
    format!("{n:06}")
}

fn io(action: &'static str, path: &Path, e: std::io::Error) -> ApiError {
    evault_core::Error::Io {
        action,
        path: path.to_owned(),
        source: e,
    }
    .into()
}

/// Bytes already held for an upload.
fn held(dir: &Path) -> u64 {
    fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.metadata().ok())
        .map(|m| m.len())
        .sum()
}

/// A slice to store: where, its number, its device SHA-256, the bytes it may have.
struct SliceTo {
    dir: PathBuf,
    n: u32,
    upload: String,
    sha: BlobId,
    limit: u64,
}

/// Everything a slice is refused for without its body.
fn check_slice(
    state: &AppState,
    caller: Result<Caller, ApiError>,
    path: Result<UrlPath<(String, u32)>, PathRejection>,
    headers: &HeaderMap,
) -> Result<SliceTo, ApiError> {
    let caller = caller?;
    caller.require(&ROLES, "recording evidence")?;
    let UrlPath((upload, n)) = path?;
    let upload = capture_id("the upload id", &upload)?;
    if n >= MAX_SLICES {
        return Err(ApiError::bad_request(
            "too-many-slices",
            format!("a video has at most {MAX_SLICES} slices"),
        ));
    }
    let sha: BlobId = headers
        .get(DEVICE_SHA_HEADER)
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing-device-sha256",
                format!("send the slice's SHA-256 in {DEVICE_SHA_HEADER}"),
            )
        })?
        .to_str()
        .ok()
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-header",
                format!(
                    "{DEVICE_SHA_HEADER} must be 64 lowercase hex digits (the slice's SHA-256)"
                ),
            )
        })?;
    let dir = upload_dir(state, &caller, &upload);
    let room = state.limits.video_bytes.saturating_sub(held(&dir));
    let limit = room.min(MAX_SLICE_BYTES);
    let too_large = || slice_too_large(state, n);
    let declared = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|d| d > limit) {
        return Err(too_large());
    }
    Ok(SliceTo {
        dir,
        n,
        upload,
        sha,
        limit,
    })
}

fn slice_too_large(state: &AppState, n: u32) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!(
            "slice {n} would take this video over the limit ({} MiB in all, {} MiB a slice); it was not kept",
            state.limits.video_bytes >> 20,
            MAX_SLICE_BYTES >> 20
        ),
    )
}

pub(crate) async fn put_slice(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    path: Result<UrlPath<(String, u32)>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    let SliceTo {
        dir,
        n,
        upload,
        sha,
        limit,
    } = match check_slice(&state, caller, path, &headers) {
        Ok(to) => to,
        Err(e) => {
            if e.code != "too-large" {
                refuse_body(&headers, body).await;
            }
            return Err(e);
        }
    };
    let (mut reader, flags) = body_reader(body, limit);
    let stored = blocking(move || {
        fs::create_dir_all(&dir).map_err(|e| io("writing", &dir, e))?;
        let mut tmp = tempfile::NamedTempFile::new_in(&dir).map_err(|e| io("writing", &dir, e))?;
        let mut hasher = Sha256::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut size = 0u64;
        loop {
            let k = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(k) => k,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(io("reading", Path::new("the request body"), e)),
            };
            hasher.update(&buf[..k]);
            tmp.write_all(&buf[..k])
                .map_err(|e| io("writing", tmp.path(), e))?;
            size += k as u64;
        }
        let got = BlobId::from_bytes(hasher.finalize().into());
        if got != sha {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "device-hash-mismatch",
                format!("slice {n}: the device computed SHA-256 {sha} but the bytes received hash to {got}; it changed in transit and was not kept: send it again"),
            ));
        }
        tmp.as_file().sync_all().map_err(|e| io("writing", tmp.path(), e))?;
        let dest = dir.join(slice_name(n));
        tmp.persist(&dest).map_err(|e| io("writing", &dest, e.error))?;
        File::open(&dir)
            .and_then(|d| d.sync_all())
            .map_err(|e| io("writing", &dir, e))?;
        Ok(size)
    })
    .await;
    let size = match stored {
        Err(_) if flags.over.load(std::sync::atomic::Ordering::SeqCst) => {
            return Err(slice_too_large(&state, n));
        }
        other => other?,
    };
    Ok(Json(json!({"upload": upload, "slice": n, "bytes": size})).into_response())
}

pub(crate) async fn finish(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<UrlPath<(String, String)>, PathRejection>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    caller.require(&ROLES, "recording evidence")?;
    let UrlPath((order, upload)) = path?;
    let order: OrderId = order.parse()?;
    let upload = capture_id("the upload id", &upload)?;
    let mut described = describe(&headers)?;
    match described.kind {
        None | Some(EvidenceKind::PackingVideo) => {
            described.kind = Some(EvidenceKind::PackingVideo)
        }
        Some(other) => {
            return Err(ApiError::bad_request(
                "invalid-field",
                format!(
                    "an upload in slices is a packing video, not {other}; send other files to POST /api/v1/orders/{{id}}/evidence"
                ),
            ));
        }
    }
    let claim = described.device.as_mut().ok_or_else(|| {
        ApiError::bad_request(
            "missing-device-sha256",
            format!("send the whole video's SHA-256 in {DEVICE_SHA_HEADER}"),
        )
    })?;
    // The upload id is the video's capture id.
    claim.capture = Some(upload.clone());
    let claim = claim.clone();
    let count: u32 = headers
        .get(COUNT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
        .filter(|c| (1..=MAX_SLICES).contains(c))
        .ok_or_else(|| {
            ApiError::bad_request(
                "invalid-header",
                format!("send the number of slices (1 to {MAX_SLICES}) in {COUNT_HEADER}"),
            )
        })?;
    let dir = upload_dir(&state, &caller, &upload);
    if let Some(done) = earlier(&state, &order, &claim).await? {
        let _ = fs::remove_dir_all(&dir);
        return Ok(done);
    }
    let missing: Vec<u32> = (0..count)
        .filter(|n| !dir.join(slice_name(*n)).is_file())
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(20).map(u32::to_string).collect();
        return Err(ApiError::new(
            StatusCode::CONFLICT,
            "slices-missing",
            format!(
                "slices {} of upload {upload} have not arrived; send them, then finish again",
                shown.join(", ")
            ),
        ));
    }
    let mut reader: Box<dyn Read + Send> = Box::new(std::io::empty());
    for n in 0..count {
        let path = dir.join(slice_name(n));
        let file = File::open(&path).map_err(|e| io("reading", &path, e))?;
        reader = Box::new(reader.chain(file));
    }
    let item = NewEvidence::from_reader(described.name, reader)
        .kind(described.kind)
        .note(described.note)
        .device(Some(claim));
    let answer = commit(&state, &order, item, caller.actor()?).await?;
    let _ = fs::remove_dir_all(&dir);
    Ok(answer)
}

/// What the server has of an upload (so a device can resend what is missing).
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<UrlPath<String>, PathRejection>,
) -> Result<Response, ApiError> {
    caller.require(&ROLES, "recording evidence")?;
    let UrlPath(upload) = path?;
    let upload = capture_id("the upload id", &upload)?;
    let dir = upload_dir(&state, &caller, &upload);
    let mut slices: Vec<u32> = fs::read_dir(&dir)
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse().ok())
        .collect();
    slices.sort_unstable();
    Ok((
        StatusCode::OK,
        Json(json!({"upload": upload, "slices": slices, "bytes": held(&dir)})),
    )
        .into_response())
}
