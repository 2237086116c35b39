//! The pages: login and the packing station, plain HTML with small
//! JavaScript modules compiled into the binary.

use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use evault_core::EvidenceKind;
use serde::Serialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::state::AppState;
use crate::uploads::MAX_SLICE_BYTES;

/// What a page may load: its own scripts, styles and API; camera streams
/// and local blobs for the preview and the queue; nothing from elsewhere.
const PAGE_CSP: &str = "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' blob: data:; media-src 'self' blob: mediastream:; connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The files under `/assets/`.
const ASSETS: [(&str, &str, &str); 9] = [
    (
        "desk.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/desk.js"),
    ),
    (
        "sw.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/sw.js"),
    ),
    (
        "app.css",
        "text/css; charset=utf-8",
        include_str!("../assets/app.css"),
    ),
    (
        "login.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/login.js"),
    ),
    (
        "station.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/station.js"),
    ),
    (
        "queue.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/queue.js"),
    ),
    (
        "sha256.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/sha256.js"),
    ),
    (
        "scanner.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/scanner.js"),
    ),
    (
        "api.js",
        "text/javascript; charset=utf-8",
        include_str!("../assets/api.js"),
    ),
];

/// One photo the station page asks for.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct ChecklistItem {
    /// A short id (from the label).
    pub id: String,
    /// What the packer sees ("Sealed outer box").
    pub label: String,
    /// The kind recorded for it.
    pub kind: EvidenceKind,
}

impl ChecklistItem {
    /// The default list: label, contents, inner packing, sealed outer box.
    pub fn defaults() -> Vec<Self> {
        [
            "label-photo=Shipping label",
            "packing-photo=Contents",
            "packing-photo=Inner packing",
            "packing-photo=Sealed outer box",
        ]
        .iter()
        .filter_map(|s| s.parse().ok())
        .collect()
    }
}

impl std::str::FromStr for ChecklistItem {
    type Err = String;
    /// `KIND=Label`, e.g. `packing-photo=Tamper tape`.
    fn from_str(s: &str) -> Result<Self, String> {
        let (kind, label) = s.split_once('=').ok_or_else(|| {
            format!("{s:?}: a checklist item is KIND=Label, e.g. packing-photo=Tamper tape")
        })?;
        let kind: EvidenceKind = kind.trim().parse().map_err(|e| format!("{s:?}: {e}"))?;
        let label = label.trim();
        if label.is_empty() || label.len() > 60 || label.chars().any(char::is_control) {
            return Err(format!("{s:?}: a label is 1 to 60 characters on one line"));
        }
        let id = label
            .to_lowercase()
            .chars()
            .map(|c| if c.is_alphanumeric() { c } else { '-' })
            .collect::<String>()
            .split('-')
            .filter(|p| !p.is_empty())
            .collect::<Vec<_>>()
            .join("-");
        Ok(Self {
            id,
            label: label.to_owned(),
            kind,
        })
    }
}

fn page(html: &'static str) -> Response {
    let mut r = (StatusCode::OK, html).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    r
}

/// `/`: the desk for service and admin accounts, the station for
/// station accounts, the login page for anyone else.
pub(crate) async fn home(caller: Result<Caller, ApiError>) -> Redirect {
    Redirect::to(match caller {
        Ok(c) if crate::exports::DESK.contains(&c.account.role) => "/desk",
        Ok(_) => "/station",
        Err(_) => "/login",
    })
}

pub(crate) async fn login() -> Response {
    page(include_str!("../assets/login.html"))
}

pub(crate) async fn station(caller: Result<Caller, ApiError>) -> Response {
    match caller {
        Ok(_) => page(include_str!("../assets/station.html")),
        Err(_) => Redirect::to("/login").into_response(),
    }
}

/// The service worker, at the root so that it may serve `/station` offline.
pub(crate) async fn service_worker() -> Result<Response, ApiError> {
    asset(Path("sw.js".to_owned())).await
}

/// The page's scripts and styles: public (they hold no user data), so the
/// login page can load them.
pub(crate) async fn asset(Path(name): Path<String>) -> Result<Response, ApiError> {
    let (_, kind, body) = ASSETS
        .iter()
        .find(|(n, ..)| *n == name)
        .ok_or_else(|| ApiError::new(StatusCode::NOT_FOUND, "no-such-route", "no such asset"))?;
    let mut r = (StatusCode::OK, *body).into_response();
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    // A worker runs under its own script's policy: the service worker fetches the page.
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(PAGE_CSP),
    );
    Ok(r)
}

/// What the station page needs to know: the checklist and the limits.
pub(crate) async fn station_config(
    State(state): State<AppState>,
    caller: Caller,
) -> Json<serde_json::Value> {
    Json(json!({
        "user": caller.account.name,
        "role": caller.account.role,
        "station": caller.station,
        "checklist": *state.checklist,
        "limits": {
            "video_bytes": state.limits.video_bytes,
            "file_bytes": state.limits.file_bytes,
            "slice_bytes": MAX_SLICE_BYTES,
        },
    }))
}
