//! Reading orders: `GET /api/v1/orders/{id}` and an entry's original bytes.

use std::io::Read;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bytes_stream::receiver_stream;
use chrono::Utc;
use evault_core::{OrderId, OrderLog, Role};
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;

/// How far back a station sees the orders it recorded.
const STATION_WINDOW: chrono::TimeDelta = chrono::TimeDelta::hours(24);

/// Reads an order's log, refusing a station that did not record in it lately.
async fn readable_log(
    state: &AppState,
    caller: &Caller,
    order: &OrderId,
) -> Result<OrderLog, ApiError> {
    let vault = state.vault.clone();
    let o = order.clone();
    let log = tokio::task::spawn_blocking(move || vault.log(&o))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    if caller.account.role == Role::Station {
        let since = Utc::now() - STATION_WINDOW;
        let own = log.entries.iter().any(|r| {
            r.entry.recorded_by == caller.account.name && r.entry.recorded_at.datetime() >= since
        });
        if !own {
            return Err(ApiError::forbidden(format!(
                "a station sees only the orders it recorded in the last 24 hours; {} did not record in {order}",
                caller.account.name
            )));
        }
    }
    Ok(log)
}

pub(crate) async fn get(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
) -> Result<Response, ApiError> {
    let Path(order) = order?;
    let order: OrderId = order.parse()?;
    let log = readable_log(&state, &caller, &order).await?;
    let retracted = log.retracted();
    let entries = log
        .entries
        .iter()
        .map(evault_core::Recorded::to_json)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let mut retracted: Vec<u64> = retracted.into_iter().collect();
    retracted.sort_unstable();
    Ok(Json(json!({
        "order": order.as_str(),
        "entries": entries,
        "retracted": retracted,
        "torn_bytes": log.torn_bytes,
    }))
    .into_response())
}

/// `filename*` (RFC 8187) and an ASCII `filename` fallback.
pub(crate) fn disposition(name: &str) -> HeaderValue {
    let base = name.rsplit('/').next().unwrap_or(name);
    let ascii: String = base
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || "._-".contains(c) {
                c
            } else {
                '_'
            }
        })
        .collect();
    let mut encoded = String::new();
    for b in base.bytes() {
        if b.is_ascii_alphanumeric() || b"._-".contains(&b) {
            encoded.push(b as char);
        } else {
            encoded.push_str(&format!("%{b:02X}"));
        }
    }
    HeaderValue::from_str(&format!(
        "attachment; filename=\"{ascii}\"; filename*=UTF-8''{encoded}"
    ))
    .unwrap_or_else(|_| HeaderValue::from_static("attachment"))
}

/// The recorded file at `{id}/entries/{seq}` that the caller may read.
async fn entry_file(
    state: &AppState,
    caller: &Caller,
    path: Result<Path<(String, u64)>, PathRejection>,
) -> Result<evault_core::Evidence, ApiError> {
    let Path((order, seq)) = path?;
    let order: OrderId = order.parse()?;
    let log = readable_log(state, caller, &order).await?;
    log.get(seq)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no-such-entry",
                format!("order {order} has no entry {seq}"),
            )
        })?
        .entry
        .evidence()
        .cloned()
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "not-a-file",
                format!("entry {seq} of {order} is not a file; its fields are in GET /api/v1/orders/{{id}}"),
            )
        })
}

pub(crate) async fn content(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, u64)>, PathRejection>,
) -> Result<Response, ApiError> {
    let evidence = entry_file(&state, &caller, path).await?;
    let vault = state.vault.clone();
    let sha = evidence.sha256;
    let reader = tokio::task::spawn_blocking(move || vault.open_blob(&sha))
        .await
        .map_err(|e| ApiError::internal(e.to_string()))??;
    let body = Body::from_stream(receiver_stream(reader));
    let mut response = (StatusCode::OK, body).into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_str(&evidence.media_type)
            .unwrap_or_else(|_| HeaderValue::from_static("application/octet-stream")),
    );
    h.insert(header::CONTENT_LENGTH, HeaderValue::from(evidence.size));
    h.insert(header::CONTENT_DISPOSITION, disposition(&evidence.name));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    Ok(response)
}

/// Streaming a blocking reader (a blob checked as it is read) as a body.
mod bytes_stream {
    use super::Read;

    /// Reads `reader` on a blocking thread in 256 KiB chunks; a read error
    /// (including the blob's hash not matching at its end) ends the stream
    /// with an error, so the client sees a cut connection, never a clean end.
    pub fn receiver_stream(
        mut reader: impl Read + Send + 'static,
    ) -> impl futures_util::Stream<Item = std::io::Result<Vec<u8>>> {
        let (tx, rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(4);
        tokio::task::spawn_blocking(move || {
            // Each chunk is sent only once the next one (or a verified end)
            // was read: the last bytes wait for the hash check, so a blob
            // altered in place never arrives as a complete, clean answer.
            let mut held: Option<Vec<u8>> = None;
            loop {
                let mut buf = vec![0u8; 256 * 1024];
                match reader.read(&mut buf) {
                    Ok(0) => {
                        if let Some(last) = held.take() {
                            let _ = tx.blocking_send(Ok(last));
                        }
                        break;
                    }
                    Ok(n) => {
                        buf.truncate(n);
                        if let Some(previous) = held.replace(buf)
                            && tx.blocking_send(Ok(previous)).is_err()
                        {
                            break;
                        }
                    }
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        break;
                    }
                }
            }
        });
        futures_util::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }
}

/// The long side of thumbnails, in pixels.
const THUMB_EDGE: u32 = 320;

/// `GET …/entries/{seq}/thumbnail`: a small JPEG of a recorded photo, made on
/// first request and kept in `serve/thumbs/` (outside the log; it is a
/// preview, never evidence).
pub(crate) async fn thumbnail(
    State(state): State<AppState>,
    caller: Caller,
    path: Result<Path<(String, u64)>, PathRejection>,
) -> Result<Response, ApiError> {
    let evidence = entry_file(&state, &caller, path).await?;
    if evidence.image.is_none() {
        return Err(ApiError::new(
            StatusCode::NOT_FOUND,
            "not-an-image",
            format!("{:?} is not a recorded image", evidence.name),
        ));
    }
    let _permit = state
        .thumbnails
        .acquire()
        .await
        .map_err(|e| ApiError::internal(e.to_string()))?;
    let vault = state.vault.clone();
    let jpeg = crate::evidence::blocking(move || {
        let dir = vault.root().join("serve/thumbs");
        let cached = dir.join(format!("{}-{THUMB_EDGE}.jpg", evidence.sha256.to_hex()));
        if let Ok(bytes) = std::fs::read(&cached) {
            return Ok(bytes);
        }
        let mut bytes = Vec::new();
        let name = evidence.name.clone();
        vault
            .open_blob(&evidence.sha256)?
            .read_to_end(&mut bytes)
            .map_err(|e| {
                ApiError::internal(format!(
                    "the recorded bytes of {name:?} cannot be read or no longer match their SHA-256 ({e}); run `evault verify`"
                ))
            })?;
        let jpeg = evault_export::thumbnail(&bytes, THUMB_EDGE).map_err(|why| {
            ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "no-thumbnail",
                format!("{name:?} cannot be shown as a picture ({why}); its bytes are as recorded"),
            )
        })?;
        // A cache: failing to keep it costs only a later re-make.
        let _ = std::fs::create_dir_all(&dir).and_then(|()| {
            let tmp = tempfile::NamedTempFile::new_in(&dir)?;
            std::fs::write(tmp.path(), &jpeg)?;
            tmp.persist(&cached).map(drop).map_err(|e| e.error)
        });
        Ok(jpeg)
    })
    .await?;
    let mut response = (StatusCode::OK, jpeg).into_response();
    let h = response.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static("image/jpeg"));
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static("default-src 'none'; sandbox"),
    );
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, max-age=86400, immutable"),
    );
    Ok(response)
}
