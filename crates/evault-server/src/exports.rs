//! Export bundles from the service desk: an export runs in the background
//! (`POST /api/v1/orders/{id}/exports`), its progress and report are read
//! from `GET /api/v1/exports/{job}`, and the bundle and each upload file
//! are downloaded from it. Bundles are kept in `serve/exports/`.

use std::io::Read;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::PathRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use evault_core::{DisputeReason, OrderId, Role};
use evault_export::{ExportOptions, ExportProgress, ExportReport, ExportStage, Paper, Profile};
use serde::Deserialize;
use serde_json::json;

use crate::auth::Caller;
use crate::error::ApiError;
use crate::evidence::blocking;
use crate::orders::disposition;
use crate::state::AppState;

/// Jobs kept in memory (the oldest finished ones are forgotten first; their
/// bundles stay on disk).
const MAX_JOBS: usize = 200;

/// The desk's roles.
pub(crate) const DESK: [Role; 2] = [Role::Service, Role::Admin];

/// Every export this server ran since it started.
#[derive(Default)]
pub(crate) struct Jobs {
    jobs: Mutex<Vec<Arc<Job>>>,
    /// Held by the export that runs; the others wait for it.
    turn: tokio::sync::Mutex<()>,
}

/// One export.
pub(crate) struct Job {
    pub id: String,
    pub order: OrderId,
    pub profile: String,
    /// The stage running, as its index in [`STAGES`] (+1; 0 before the first).
    stage: AtomicU64,
    done: AtomicU64,
    total: AtomicU64,
    pub outcome: Mutex<Option<Result<Box<ExportReport>, ApiError>>>,
    pub bundle: PathBuf,
}

const STAGES: [(ExportStage, &str); 3] = [
    (ExportStage::FitPhotos, "fitting photos"),
    (ExportStage::CheckOriginals, "checking originals"),
    (ExportStage::WriteBundle, "writing the bundle"),
];

impl ExportProgress for Job {
    fn start(&self, stage: ExportStage, total: u64) {
        let i = STAGES.iter().position(|(s, _)| *s == stage).unwrap_or(0);
        self.stage.store(i as u64 + 1, Ordering::SeqCst);
        self.done.store(0, Ordering::SeqCst);
        self.total.store(total, Ordering::SeqCst);
    }
    fn advance(&self, _stage: ExportStage, done: u64) {
        self.done.fetch_add(done, Ordering::SeqCst);
    }
}

impl Job {
    /// `(stage, done, total)` for a progress bar.
    pub fn progress(&self) -> (&'static str, u64, u64) {
        let stage = match self.stage.load(Ordering::SeqCst) {
            0 => "waiting for its turn, then reading the order",
            i => STAGES.get(i as usize - 1).map_or("exporting", |(_, s)| s),
        };
        (
            stage,
            self.done.load(Ordering::SeqCst),
            self.total.load(Ordering::SeqCst),
        )
    }

    /// The report, once the export succeeded.
    pub fn report(&self) -> Option<Box<ExportReport>> {
        match &*self.outcome.lock().ok()? {
            Some(Ok(r)) => Some(r.clone()),
            _ => None,
        }
    }
}

impl Jobs {
    pub(crate) fn get(&self, id: &str) -> Result<Arc<Job>, ApiError> {
        self.jobs
            .lock()
            .map_err(|_| ApiError::internal("the jobs lock is poisoned"))?
            .iter()
            .find(|j| j.id == id)
            .cloned()
            .ok_or_else(|| {
                ApiError::new(
                    StatusCode::NOT_FOUND,
                    "no-such-export",
                    format!("no export {id} on this server (exports are forgotten when it restarts; the bundle stays in serve/exports/)"),
                )
            })
    }

    fn add(&self, job: Arc<Job>) -> Result<(), ApiError> {
        let mut jobs = self
            .jobs
            .lock()
            .map_err(|_| ApiError::internal("the jobs lock is poisoned"))?;
        if jobs.len() >= MAX_JOBS {
            let finished = jobs
                .iter()
                .position(|j| j.outcome.lock().is_ok_and(|o| o.is_some()));
            match finished {
                Some(i) => {
                    jobs.remove(i);
                }
                None => {
                    return Err(ApiError {
                        retry_after: Some(60),
                        ..ApiError::new(
                            StatusCode::SERVICE_UNAVAILABLE,
                            "busy",
                            format!(
                                "{MAX_JOBS} exports are waiting already; try again in a minute"
                            ),
                        )
                    });
                }
            }
        }
        jobs.push(job);
        Ok(())
    }
}

/// What the export form sends.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ExportRequest {
    profile: String,
    reason: Option<DisputeReason>,
    statement: Option<String>,
    #[serde(default)]
    paper: PaperName,
    #[serde(default = "yes")]
    originals: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "lowercase")]
enum PaperName {
    #[default]
    A4,
    Letter,
}

/// `POST /api/v1/orders/{id}/exports`: starts an export; answers `202`
/// with the job to follow.
pub(crate) async fn start(
    State(state): State<AppState>,
    caller: Caller,
    order: Result<Path<String>, PathRejection>,
    body: Result<Json<ExportRequest>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    caller.require(&DESK, "exporting a bundle")?;
    let Path(order) = order?;
    let order: OrderId = order.parse()?;
    let Json(req) = body?;
    let (vault, o) = (state.vault.clone(), order.clone());
    blocking(move || Ok(vault.log(&o).map(drop)?)).await?;
    let profile = Profile::find(&req.profile, &[]).map_err(|e| {
        ApiError::bad_request(
            "unknown-profile",
            format!("{e}; GET /api/v1/profiles lists them"),
        )
    })?;
    let statement = req
        .statement
        .map(|s| s.replace("\r\n", "\n"))
        .filter(|s| !s.trim().is_empty());
    if statement.as_ref().is_some_and(|s| s.len() > 64 << 10) {
        return Err(ApiError::bad_request(
            "invalid-field",
            "the statement is over 64 KiB; shorten it",
        ));
    }
    let options = ExportOptions {
        profile,
        reason: req.reason,
        statement,
        originals: req.originals,
        created: Utc::now(),
        paper: match req.paper {
            PaperName::A4 => Paper::A4,
            PaperName::Letter => Paper::Letter,
        },
        key: None,
        strict: false,
    };
    let dir = state.vault.root().join("serve").join("exports");
    std::fs::create_dir_all(&dir)
        .map_err(|e| ApiError::internal(format!("cannot create {}: {e}", dir.display())))?;
    let id = crate::auth::random_token()?;
    let job = Arc::new(Job {
        bundle: dir.join(format!("{id}.zip")),
        id: id.clone(),
        order: order.clone(),
        profile: options.profile.name.clone(),
        stage: AtomicU64::new(0),
        done: AtomicU64::new(0),
        total: AtomicU64::new(0),
        outcome: Mutex::new(None),
    });
    state.exports.add(job.clone())?;
    let actor = caller.actor()?;
    let s = state.clone();
    tokio::spawn(async move {
        let (vault, j) = (s.vault.clone(), job.clone());
        // One export at a time: each uses every core while it fits photos.
        let _turn = s.exports.turn.lock().await;
        let r = blocking(move || {
            let r = evault_export::export_with_progress(
                &vault, &j.order, &options, &actor, &j.bundle, &*j,
            );
            r.map(Box::new).map_err(export_error)
        })
        .await;
        s.index.touch(&s.vault, &job.order).await;
        if let Ok(mut outcome) = job.outcome.lock() {
            *outcome = Some(r);
        }
    });
    let mut r = (
        StatusCode::ACCEPTED,
        Json(json!({ "job": id, "status": format!("/api/v1/exports/{id}") })),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/api/v1/exports/{id}")) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// The API's answer for an export that failed.
fn export_error(e: evault_export::Error) -> ApiError {
    use evault_export::Error as E;
    let message = e.to_string();
    match e {
        E::Vault(e) => e.into(),
        E::DoesNotFit { .. } | E::Strict { .. } => {
            ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "does-not-fit", message)
        }
        E::NoReason(_) => ApiError::new(StatusCode::UNPROCESSABLE_ENTITY, "no-reason", message),
        E::OrderChanged(_) => ApiError::new(StatusCode::CONFLICT, "order-changed", message),
        E::CheckpointMismatch { .. } | E::StampInvalid { .. } => {
            ApiError::new(StatusCode::CONFLICT, "log-does-not-verify", message)
        }
        E::MissingTool { .. } => {
            ApiError::new(StatusCode::SERVICE_UNAVAILABLE, "missing-tool", message)
        }
        _ => ApiError::internal(message),
    }
}

/// `GET /api/v1/exports/{job}`: progress, then the report or the error.
pub(crate) async fn status(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&DESK, "reading an export")?;
    let job = state.exports.get(&id)?;
    Ok(Json(job_json(&job)))
}

pub(crate) fn job_json(job: &Job) -> serde_json::Value {
    let (stage, done, total) = job.progress();
    let base = json!({
        "job": job.id,
        "order": job.order.as_str(),
        "profile": job.profile,
    });
    let mut v = match job.outcome.lock().as_deref() {
        Ok(None) => json!({ "state": "running", "stage": stage, "done": done, "total": total }),
        Ok(Some(Ok(report))) => json!({
            "state": "done",
            "report": **report,
            "bundle": format!("/api/v1/exports/{}/bundle", job.id),
        }),
        Ok(Some(Err(e))) => json!({
            "state": "failed",
            "error": { "code": e.code, "message": e.message },
        }),
        Err(_) => {
            json!({ "state": "failed", "error": { "code": "internal", "message": "lock poisoned" } })
        }
    };
    if let (Some(v), Some(b)) = (v.as_object_mut(), base.as_object()) {
        v.extend(b.clone());
    }
    v
}

/// `GET /api/v1/exports/{job}/bundle`: the zip.
pub(crate) async fn bundle(
    State(state): State<AppState>,
    caller: Caller,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    caller.require(&DESK, "downloading a bundle")?;
    let job = state.exports.get(&id)?;
    let report = job.report().ok_or_else(not_ready)?;
    // The bundle on disk must still be the one recorded in the log.
    let (path, want) = (job.bundle.clone(), report.bundle_sha256.clone());
    blocking(move || {
        use sha2::Digest;
        let gone = |e: &dyn std::fmt::Display| {
            ApiError::new(
                StatusCode::GONE,
                "bundle-gone",
                format!("{}: {e}", path.display()),
            )
        };
        let mut file = std::fs::File::open(&path).map_err(|e| gone(&e))?;
        let mut hasher = sha2::Sha256::new();
        let mut buf = vec![0u8; 1 << 16];
        loop {
            match file.read(&mut buf).map_err(|e| gone(&e))? {
                0 => break,
                n => hasher.update(&buf[..n]),
            }
        }
        if hex(&hasher.finalize()) != want {
            return Err(gone(&"it changed on disk after the export; export again"));
        }
        Ok(())
    })
    .await?;
    let file = tokio::fs::File::open(&job.bundle).await.map_err(|e| {
        ApiError::new(
            StatusCode::GONE,
            "bundle-gone",
            format!("{}: {e}", job.bundle.display()),
        )
    })?;
    let name = format!("evault-{}-{}.zip", job.order.storage_key(), report.profile);
    let mut r = Body::from_stream(tokio_util::io::ReaderStream::new(file)).into_response();
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/zip"),
    );
    h.insert(header::CONTENT_DISPOSITION, disposition(&name));
    h.insert(
        header::CONTENT_LENGTH,
        HeaderValue::from(report.bundle_bytes),
    );
    Ok(r)
}

fn not_ready() -> ApiError {
    ApiError::new(
        StatusCode::CONFLICT,
        "export-not-done",
        "the export is still running or failed; GET /api/v1/exports/{job} says which",
    )
}

/// `GET /api/v1/exports/{job}/files/{name}`: one upload file, read from the
/// bundle. `?inline` serves the summary PDF for the browser's viewer.
pub(crate) async fn file(
    State(state): State<AppState>,
    caller: Caller,
    Path((id, name)): Path<(String, String)>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Result<Response, ApiError> {
    caller.require(&DESK, "downloading an upload file")?;
    let job = state.exports.get(&id)?;
    let report = job.report().ok_or_else(not_ready)?;
    let listed = report
        .files
        .iter()
        .find(|f| f.name == name)
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::NOT_FOUND,
                "no-such-file",
                format!("the bundle has no upload file {name:?}"),
            )
        })?;
    let (path, want) = (job.bundle.clone(), listed.sha256.clone());
    let member = format!("/data/upload/{name}");
    let bytes = blocking(move || read_member(&path, &member, &want)).await?;
    // Only a PDF evault made (the summary) is shown in the page's frame;
    // anything else, a recorded PDF included, is an attachment.
    let inline = query.as_deref() == Some("inline") && listed.generated && name.ends_with(".pdf");
    let mut r = bytes.into_response();
    let h = r.headers_mut();
    let kind = if name.ends_with(".pdf") {
        "application/pdf"
    } else if name.ends_with(".jpg") {
        "image/jpeg"
    } else if name.ends_with(".png") {
        "image/png"
    } else {
        "application/octet-stream"
    };
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(kind));
    if inline {
        // The summary PDF evault made, shown in the page's frame.
        h.insert(
            header::CONTENT_DISPOSITION,
            HeaderValue::from_static("inline"),
        );
        h.insert(
            header::X_FRAME_OPTIONS,
            HeaderValue::from_static("SAMEORIGIN"),
        );
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; frame-ancestors 'self'"),
        );
    } else {
        h.insert(header::CONTENT_DISPOSITION, disposition(&name));
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static("default-src 'none'; sandbox"),
        );
    }
    Ok(r)
}

/// One member of a bundle whose name ends with `suffix`, checked against
/// the report's SHA-256.
fn read_member(path: &std::path::Path, suffix: &str, sha256: &str) -> Result<Vec<u8>, ApiError> {
    use sha2::Digest;
    let gone = |e: &dyn std::fmt::Display| {
        ApiError::new(
            StatusCode::GONE,
            "bundle-gone",
            format!("{}: {e}", path.display()),
        )
    };
    let file = std::fs::File::open(path).map_err(|e| gone(&e))?;
    let mut zip = zip::ZipArchive::new(file).map_err(|e| gone(&e))?;
    let name = zip
        .file_names()
        .filter_map(Result::ok)
        .find(|n| n.ends_with(suffix))
        .map(|n| n.into_owned())
        .ok_or_else(|| gone(&format!("no member {suffix}")))?;
    let mut bytes = Vec::new();
    zip.by_name(&name)
        .map_err(|e| gone(&e))?
        .take(1 << 30)
        .read_to_end(&mut bytes)
        .map_err(|e| gone(&e))?;
    if hex(&sha2::Sha256::digest(&bytes)) != sha256 {
        return Err(gone(&"the file no longer matches the export's report"));
    }
    Ok(bytes)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /api/v1/profiles`: the platform profiles and their limits (as
/// `evault profiles --json`).
pub(crate) async fn profiles(caller: Caller) -> Result<Json<serde_json::Value>, ApiError> {
    caller.require(&DESK, "reading the profiles")?;
    let profiles = Profile::builtin().map_err(|e| ApiError::internal(e.to_string()))?;
    Ok(Json(json!({ "profiles": profiles })))
}
