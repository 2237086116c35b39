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
    AddOutcome, BlobId, Body as EntryBody, DeviceClaim, EvidenceKind, FrameOf, NewEvidence,
    OrderId, Role,
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
pub(crate) const FRAME_OF_HEADER: &str = "x-evault-frame-of";

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
pub(crate) struct Described {
    pub name: String,
    pub kind: Option<EvidenceKind>,
    pub note: Option<String>,
    pub device: Option<DeviceClaim>,
}

/// A capture id: 1 to 128 of letters, digits, `-`, `_`, `.`, `:` (a UUID fits).
pub(crate) fn capture_id(field: &str, v: &str) -> Result<String, ApiError> {
    // Starting with a letter or digit: never `.` or `..` (upload ids name folders).
    let ok = v.len() <= 128
        && v.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b));
    if ok {
        Ok(v.to_owned())
    } else {
        Err(ApiError::bad_request(
            "invalid-header",
            format!(
                "{field} is 1 to 128 letters, digits, '-', '_', '.' or ':', starting with a letter or digit (a UUID)"
            ),
        ))
    }
}

pub(crate) fn describe(headers: &HeaderMap) -> Result<Described, ApiError> {
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
        .transpose()?
        .filter(|n| !n.trim().is_empty());
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
        .map(|v| capture_id(IDEMPOTENCY_HEADER, v))
        .transpose()?;
    let frame_of = header(headers, FRAME_OF_HEADER)?
        .map(|v| {
            let bad = || {
                ApiError::bad_request(
                    "invalid-header",
                    format!("{FRAME_OF_HEADER} is the video's capture id, '@' and the offset in milliseconds (\"V-1@12000\")"),
                )
            };
            let (video, offset) = v.rsplit_once('@').ok_or_else(bad)?;
            Ok::<_, ApiError>(FrameOf {
                capture: capture_id(FRAME_OF_HEADER, video)?,
                offset_ms: offset.parse().map_err(|_| bad())?,
            })
        })
        .transpose()?;
    let device = match (sha, time, capture, frame_of) {
        (Some(sha256), time, capture, frame_of) => Some(DeviceClaim {
            sha256,
            time,
            capture,
            frame_of,
        }),
        (None, None, None, None) => None,
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
    caller: Result<Caller, ApiError>,
    order: Result<Path<String>, PathRejection>,
    headers: HeaderMap,
    body: Body,
) -> Result<Response, ApiError> {
    match check_upload(&state, caller, order, &headers).await {
        Ok(Checked::Record(caller, order, described, limit)) => {
            record(&state, caller, order, described, limit, body).await
        }
        Ok(Checked::Answered(done)) => {
            refuse_body(&headers, body).await;
            Ok(done)
        }
        Err(e) => {
            if e.code != "too-large" {
                refuse_body(&headers, body).await;
            }
            Err(e)
        }
    }
}

/// What the checks before the body decided.
enum Checked {
    /// Read the body and record it.
    Record(Caller, OrderId, Described, u64),
    /// A retry already recorded: answered from the log.
    Answered(Response),
}

/// Everything an upload is refused or answered for without its body.
async fn check_upload(
    state: &AppState,
    caller: Result<Caller, ApiError>,
    order: Result<Path<String>, PathRejection>,
    headers: &HeaderMap,
) -> Result<Checked, ApiError> {
    let caller = caller?;
    caller.require(
        &[Role::Station, Role::Service, Role::Admin],
        "recording evidence",
    )?;
    let Path(order) = order?;
    let order: OrderId = order.parse()?;
    let described = describe(headers)?;
    let limit = if described.kind == Some(EvidenceKind::PackingVideo) {
        state.limits.video_bytes
    } else {
        state.limits.file_bytes
    };
    let declared =
        header(headers, header::CONTENT_LENGTH.as_str())?.and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large(&described.name, limit));
    }
    if let Some(claim) = &described.device
        && let Some(done) = earlier(state, &order, claim).await?
    {
        return Ok(Checked::Answered(done));
    }
    Ok(Checked::Record(caller, order, described, limit))
}

fn too_large(name: &str, limit: u64) -> ApiError {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "too-large",
        format!(
            "{name:?} is larger than this server accepts for its kind ({} MiB); nothing was recorded (the limits are `evault serve --max-video-mib/--max-file-mib`)",
            limit >> 20
        ),
    )
}

/// Streams the body into the vault as one entry.
async fn record(
    state: &AppState,
    caller: Caller,
    order: OrderId,
    described: Described,
    limit: u64,
    body: Body,
) -> Result<Response, ApiError> {
    let actor = caller.actor()?;
    let shown = described.name.clone();
    let (reader, flags) = body_reader(body, limit);
    let item = NewEvidence::from_reader(described.name, reader)
        .kind(described.kind)
        .note(described.note)
        .device(described.device);
    match commit(state, &order, item, actor).await {
        Err(_) if flags.over.load(Ordering::SeqCst) => Err(too_large(&shown, limit)),
        Err(_) if flags.body_failed.load(Ordering::SeqCst) => Err(ApiError::bad_request(
            "upload-interrupted",
            "the upload stopped before its end; nothing was recorded: send it again",
        )),
        other => other,
    }
}

/// The most of a refused body that is read and dropped, so that the client
/// sees the answer rather than a cut connection.
const REFUSED_BODY_READ: u64 = 64 << 20;

/// Answering before a body is read: a client that waits for `100 Continue`
/// never sends it; others are sending it, and closing the connection under
/// them looks like a network error (a browser would retry for ever), so up
/// to [`REFUSED_BODY_READ`] bytes of it are read and dropped.
pub(crate) async fn refuse_body(headers: &HeaderMap, body: Body) {
    if !expects_continue(headers) {
        drain(body, REFUSED_BODY_READ).await;
    }
}

/// Whether the client waits for `100 Continue` before sending its body.
pub(crate) fn expects_continue(headers: &HeaderMap) -> bool {
    headers
        .get(header::EXPECT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.eq_ignore_ascii_case("100-continue"))
}

/// Reads and drops up to `limit` bytes of a body.
pub(crate) async fn drain(body: Body, limit: u64) {
    use futures_util::StreamExt;
    let mut stream = body.into_data_stream();
    let mut seen = 0u64;
    while let Some(Ok(chunk)) = stream.next().await {
        seen += chunk.len() as u64;
        if seen > limit {
            break;
        }
    }
}

/// Runs blocking vault work off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?
}

/// The answer for a capture already recorded in the order (a retry), or
/// `None`; a capture id reused for other bytes is a conflict.
pub(crate) async fn earlier(
    state: &AppState,
    order: &OrderId,
    claim: &DeviceClaim,
) -> Result<Option<Response>, ApiError> {
    let Some(capture) = claim.capture.clone() else {
        return Ok(None);
    };
    let vault = state.vault.clone();
    let o = order.clone();
    let shown = capture.clone();
    let Some(r) = blocking(move || earlier_capture(&vault, &o, &capture)).await? else {
        return Ok(None);
    };
    if r.entry.evidence().is_some_and(|e| e.sha256 == claim.sha256) {
        return recorded("already-recorded", StatusCode::OK, &r).map(Some);
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        "idempotency-key-reused",
        format!(
            "entry {} already holds capture {shown} with other bytes; give every capture its own idempotency key",
            r.entry.seq
        ),
    ))
}

/// What went wrong while a body was read.
pub(crate) struct BodyFlags {
    /// More than the limit arrived.
    pub over: Arc<AtomicBool>,
    /// The client's stream failed (it disconnected).
    pub body_failed: Arc<AtomicBool>,
}

/// A request body as a blocking reader of at most `limit` bytes.
pub(crate) fn body_reader(body: Body, limit: u64) -> (impl Read + Send + 'static, BodyFlags) {
    let flags = BodyFlags {
        over: Arc::default(),
        body_failed: Arc::default(),
    };
    let failed = flags.body_failed.clone();
    let stream = body.into_data_stream().map_err(move |e| {
        failed.store(true, Ordering::SeqCst);
        std::io::Error::other(e)
    });
    let reader = Limited {
        inner: SyncIoBridge::new(StreamReader::new(stream)),
        left: limit,
        over: flags.over.clone(),
    };
    (reader, flags)
}

/// Records one file and answers `201` (new entry) or `200` (the same bytes
/// were already recorded in the order).
pub(crate) async fn commit(
    state: &AppState,
    order: &OrderId,
    item: NewEvidence,
    actor: evault_core::Actor,
) -> Result<Response, ApiError> {
    let vault = state.vault.clone();
    let o = order.clone();
    let outcome = blocking(move || Ok(vault.add(&o, vec![item], &actor)?)).await?;
    state.index.touch(&state.vault, order).await;
    match outcome.into_iter().next() {
        Some(AddOutcome::Added(r)) => recorded("recorded", StatusCode::CREATED, &r),
        Some(AddOutcome::AlreadyRecorded { seq, .. }) => {
            let vault = state.vault.clone();
            let o = order.clone();
            let log = blocking(move || Ok(vault.log(&o)?)).await?;
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
