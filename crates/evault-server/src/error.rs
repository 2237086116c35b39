//! Errors as the API answers them: an HTTP status, a stable `code` and a
//! sentence saying what to do, as JSON.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

/// An error answered to a client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status.
    pub status: StatusCode,
    /// A stable code, listed in `docs/api.md`.
    pub code: &'static str,
    /// What happened and what to do.
    pub message: String,
    /// Seconds to wait before trying again (`Retry-After`), when known.
    pub retry_after: Option<u64>,
}

#[derive(Serialize)]
struct Body<'a> {
    code: &'a str,
    message: &'a str,
}

impl ApiError {
    /// An error with a status, code and message.
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
            retry_after: None,
        }
    }

    /// 400: the request itself is wrong.
    pub fn bad_request(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, code, message)
    }

    /// 401: no valid session or token.
    pub fn unauthenticated() -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "unauthenticated",
            "log in first (POST /api/v1/session), or send an API token as `Authorization: Bearer …`",
        )
    }

    /// 403: the caller's role may not do this.
    pub fn forbidden(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "forbidden", message)
    }

    /// 500: something the client cannot fix.
    pub fn internal(message: impl Into<String>) -> Self {
        Self::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", message)
    }
}

impl From<evault_core::Error> for ApiError {
    fn from(e: evault_core::Error) -> Self {
        use evault_core::Error as E;
        let message = e.to_string();
        match &e {
            E::InvalidOrderId { .. } => Self::bad_request("invalid-order-id", message),
            E::InvalidText { .. } | E::UnknownKind(_) => {
                Self::bad_request("invalid-field", message)
            }
            E::UnknownOrder(_) => Self::new(StatusCode::NOT_FOUND, "no-such-order", message),
            E::UnknownSeq { .. } => Self::new(StatusCode::NOT_FOUND, "no-such-entry", message),
            E::WrongEntry { .. } => Self::new(StatusCode::CONFLICT, "wrong-entry", message),
            E::DeviceHashMismatch { .. } => Self::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "device-hash-mismatch",
                message,
            ),
            E::LockTimeout { .. } => Self {
                retry_after: Some(5),
                ..Self::new(StatusCode::SERVICE_UNAVAILABLE, "busy", message)
            },
            E::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::StorageFull | std::io::ErrorKind::QuotaExceeded => Self::new(
                    StatusCode::INSUFFICIENT_STORAGE,
                    "disk-full",
                    "the vault's disk is full: nothing of this upload was recorded; keep the capture and send it again once space is freed",
                ),
                std::io::ErrorKind::ReadOnlyFilesystem => Self::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "vault-read-only",
                    "the vault is on a read-only file system: nothing was recorded; keep the capture and send it again once the vault is writable",
                ),
                _ => Self::internal(message),
            },
            _ => Self::internal(message),
        }
    }
}

impl From<axum::extract::rejection::JsonRejection> for ApiError {
    fn from(e: axum::extract::rejection::JsonRejection) -> Self {
        Self::new(
            e.status(),
            "bad-json",
            format!(
                "the body must be JSON as docs/api.md shows ({})",
                e.body_text()
            ),
        )
    }
}

impl From<axum::extract::rejection::PathRejection> for ApiError {
    fn from(e: axum::extract::rejection::PathRejection) -> Self {
        Self::bad_request(
            "bad-path",
            format!("the address is not valid ({})", e.body_text()),
        )
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = serde_json::to_vec(&Body {
            code: self.code,
            message: &self.message,
        })
        .unwrap_or_default();
        let mut response = (self.status, body).into_response();
        let headers = response.headers_mut();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        if let Some(secs) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        response
    }
}
