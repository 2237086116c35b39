//! `POST /api/v1/orders/{id}/evidence`: one file, streamed into the vault.
//!
//! The body goes straight into the vault's staging (hashed as it arrives,
//! never whole in memory); the entry is appended only when every byte has
//! arrived, its SHA-256 matches the device's and the blob is durable. The
//! answer is sent after that, so a client that got `201` or `200` may
//! delete its copy.

use std::io::Read;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use evault_core::{
    AddOutcome, BlobId, Body as EntryBody, DeviceClaim, EvidenceKind, NewEvidence, OrderId, Role,
};
use futures_util::TryStreamExt;
use serde_json::json;
use tokio_util::io::{StreamReader, SyncIoBridge};

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// The headers an upload is described by.
pub(crate) const NAME_HEADER: &str = "x-evault-name";
pub(crate) const KIND_HEADER: &str = "x-evault-kind";
pub(crate) const NOTE_HEADER: &str = "x-evault-note";
pub(crate) const DEVICE_SHA_HEADER: &str = "x-evault-device-sha256";
pub(crate) const DEVICE_TIME_HEADER: &str = "x-evault-device-time";
pub(crate) const IDEMPOTENCY_HEADER: &str = "idempotency-key";

/// Decodes `%XX` escapes (what `encodeURIComponent` writes) into UTF-8.
fn percent_decode(field: &str, raw: &str) -> Result<String, ApiError> {
    let bad = || {
        ApiError::bad_request(
            "invalid-header",
            format!("{field} must be UTF-8 text, percent-encoded (encodeURIComponent)"),
        )
    };
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes.get(i + 1..i + 3).ok_or_else(bad)?;
            let hex = std::str::from_utf8(hex).map_err(|_| bad())?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

fn header<'a>(headers: &'a HeaderMap, name: &str) -> Result<Option<&'a str>, ApiError> {
    headers
        .get(name)
        .map(|v| {
            v.to_str().map_err(|_| {
                ApiError::bad_request("invalid-header", format!("{name} must be ASCII"))
            })
        })
        .transpose()
}

/// What the headers say about the upload.
struct Described {
    name: String,
    kind: Option<EvidenceKind>,
    note: Option<String>,
    device: Option<DeviceClaim>,
}

fn describe(headers: &HeaderMap) -> Result<Described, ApiError> {
    let name = header(headers, NAME_HEADER)?
        .map(|v| percent_decode(NAME_HEADER, v))
        .transpose()?
        .filter(|n| !n.trim().is_empty())
        .ok_or_else(|| {
            ApiError::bad_request(
                "missing-name",
                format!("send the file's name in the {NAME_HEADER} header (percent-encoded)"),
            )
        })?;
    if name.len() > 255 || name.chars().any(char::is_control) {
        return Err(ApiError::bad_request(
            "invalid-name",
            "a file name is at most 255 bytes, without control characters",
        ));
    }
    let kind = header(headers, KIND_HEADER)?
        .map(str::parse::<EvidenceKind>)
        .transpose()?;
    let note = header(headers, NOTE_HEADER)?
        .map(|v| percent_decode(NOTE_HEADER, v))
        .transpose()?;
    let sha = header(headers, DEVICE_SHA_HEADER)?
        .map(|v| {
            v.parse::<BlobId>().map_err(|_| {
                ApiError::bad_request(
                    "invalid-header",
                    format!(
                        "{DEVICE_SHA_HEADER} must be 64 lowercase hex digits (the file's SHA-256)"
                    ),
                )
            })
        })
        .transpose()?;
    let time = header(headers, DEVICE_TIME_HEADER)?
        .map(|v| {
            chrono::DateTime::parse_from_rfc3339(v)
                .map(|_| v.to_owned())
                .map_err(|_| {
                    ApiError::bad_request(
                        "invalid-header",
                        format!("{DEVICE_TIME_HEADER} must be an RFC 3339 time (new Date().toISOString())"),
                    )
                })
        })
        .transpose()?;
    let capture = header(headers, IDEMPOTENCY_HEADER)?
        .map(|v| {
            let ok = !v.is_empty()
                && v.len() <= 128
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
            if ok {
                Ok(v.to_owned())
            } else {
                Err(ApiError::bad_request(
                    "invalid-header",
                    format!("{IDEMPOTENCY_HEADER} is 1 to 128 letters, digits, '-', '_', '.' or ':' (a UUID)"),
                ))
            }
        })
        .transpose()?;
    let device = match (sha, time, capture) {
        (Some(sha256), time, capture) => Some(DeviceClaim {
            sha256,
            time,
            capture,
        }),
        (None, None, None) => None,
        (None, ..) => {
            return Err(ApiError::bad_request(
                "missing-device-sha256",
                format!(
                    "a device time or idempotency key comes with the device's SHA-256 of the file ({DEVICE_SHA_HEADER})"
                ),
            ));
        }
    };
    Ok(Described {
        name,
        kind,
        note,
        device,
    })
}

/// A reader that fails once more than `limit` bytes have come through, and
/// says whether it did.
struct Limited<R> {
    inner: R,
    left: u64,
    over: Arc<AtomicBool>,
}

impl<R: Read> Read for Limited<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        if n as u64 > self.left {
            self.over.store(true, Ordering::SeqCst);
            return Err(std::io::Error::other("the upload is larger than allowed"));
        }
        self.left -= n as u64;
        Ok(n)
    }
}

fn recorded(
    status: &str,
    code: StatusCode,
    r: &evault_core::Recorded,
) -> Result<Response, ApiError> {
    let entry = r.to_json().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok((
        code,
        Json(json!({"status": status, "seq": r.entry.seq, "entry": entry})),
    )
        .into_response())
}

pub(crate) async fn upload(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    caller.require(
        &[Role::Station, Role::Service, Role::Admin],
        "recording evidence",
    )?;
    let Path(order) = order?;
    let order: OrderId = order.parse()?;
    let described = describe(&headers)?;
    let limit = if described.kind == Some(EvidenceKind::PackingVideo) {
        state.limits.video_bytes
    } else {
        state.limits.file_bytes
    };
    let declared =
        header(&headers, header::CONTENT_LENGTH.as_str())?.and_then(|v| v.parse::<u64>().ok());
    let shown = described.name.clone();
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "too-large",
            format!(
                "{:?} is larger than this server accepts for its kind ({} MiB); nothing was recorded (the limits are `evault serve --max-video-mib/--max-file-mib`)",
                shown,
                limit >> 20
            ),
        )
    };
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let actor = caller.actor()?;

    // A retry of a capture already recorded is answered without its body.
    if let Some(claim) = &described.device
        && let Some(capture) = &claim.capture
    {
        let vault = state.vault.clone();
        let (order, capture, sha) = (order.clone(), capture.clone(), claim.sha256);
        let earlier =
            tokio::task::spawn_blocking(move || earlier_capture(&vault, &order, &capture))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??;
        if let Some(r) = earlier {
            let same = r.entry.evidence().is_some_and(|e| e.sha256 == sha);
            if !same {
                return Err(ApiError::new(
                    StatusCode::CONFLICT,
                    "idempotency-key-reused",
                    format!(
                        "entry {} already holds capture {} with other bytes; give every capture its own idempotency key",
                        r.entry.seq,
                        claim.capture.as_deref().unwrap_or_default()
                    ),
                ));
            }
            return recorded("already-recorded", StatusCode::OK, &r);
        }
    }

    let body_failed = Arc::new(AtomicBool::new(false));
    let over = Arc::new(AtomicBool::new(false));
    let failed = body_failed.clone();
    let stream = body.into_data_stream().map_err(move |e| {
        failed.store(true, Ordering::SeqCst);
        std::io::Error::other(e)
    });
    let reader = SyncIoBridge::new(StreamReader::new(stream));
    let reader = Limited {
        inner: reader,
        left: limit,
        over: over.clone(),
    };
    let item = NewEvidence::from_reader(described.name, reader)
        .kind(described.kind)
        .note(described.note)
        .device(described.device);
    let vault = state.vault.clone();
    let task_order = order.clone();
    let outcome = tokio::task::spawn_blocking(move || vault.add(&task_order, vec![item], &actor))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let outcome = match outcome {
        Ok(o) => o,
        Err(_) if over.load(Ordering::SeqCst) => return Err(too_large()),
        Err(_) if body_failed.load(Ordering::SeqCst) => {
            return Err(ApiError::bad_request(
                "upload-interrupted",
                "the upload stopped before its end; nothing was recorded: send it again",
            ));
        }
        Err(e) => return Err(e.into()),
    };
    match outcome.into_iter().next() {
        Some(AddOutcome::Added(r)) => recorded("recorded", StatusCode::CREATED, &r),
        Some(AddOutcome::AlreadyRecorded { seq, .. }) => {
            let vault = state.vault.clone();
            let log = tokio::task::spawn_blocking(move || vault.log(&order))
                .await
                .map_err(|e| ApiError::internal(e.to_string()))??;
            let r = log
                .get(seq)
                .ok_or_else(|| ApiError::internal(format!("entry {seq} vanished")))?;
            recorded("already-recorded", StatusCode::OK, r)
        }
        None => Err(ApiError::internal(
            "the vault answered nothing for the upload",
        )),
    }
}

/// The live evidence entry that recorded `capture`, if any.
fn earlier_capture(
    vault: &evault_core::Vault,
    order: &OrderId,
    capture: &str,
) -> Result<Option<evault_core::Recorded>, ApiError> {
    let log = match vault.log(order) {
        Ok(log) => log,
        Err(evault_core::Error::UnknownOrder(_)) => return Ok(None),
        Err(e) => return Err(e.into()),
    };
    let retracted = log.retracted();
    Ok(log.entries.into_iter().find(|r| {
        !retracted.contains(&r.entry.seq)
            && matches!(&r.entry.body, EntryBody::Evidence(e)
                if e.device.as_ref().and_then(|d| d.capture.as_deref()) == Some(capture))
    }))
}
