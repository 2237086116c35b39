//! `POST/GET/DELETE /api/v1/session`: log in, who am I, log out.

use std::net::SocketAddr;
use std::time::Instant;

use axum::Json;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};

use crate::auth::{Caller, SESSION_COOKIE, Session, session_cookie};
use crate::error::ApiError;
use crate::state::AppState;

/// A login.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Login {
    user: String,
    password: String,
    /// The station name this device registers as (recorded in every entry).
    station: String,
}

/// Who is logged in, and the token state-changing requests must carry.
#[derive(Serialize)]
pub(crate) struct Me {
    user: String,
    role: evault_core::Role,
    station: String,
    csrf: Option<String>,
}

fn cookie(state: &AppState, value: &str, max_age: u64) -> Result<HeaderValue, ApiError> {
    let secure = if state.tls { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}"
    ))
    .map_err(|e| ApiError::internal(e.to_string()))
}

pub(crate) async fn login(
    State(state): State<AppState>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    login: Result<Json<Login>, axum::extract::rejection::JsonRejection>,
) -> Result<Response, ApiError> {
    let Json(login) = login?;
    // The station name must be one an entry can record.
    let station = login.station.trim().to_owned();
    if station.chars().count() > 64 || evault_core::Actor::new("check", station.clone()).is_err() {
        return Err(ApiError::bad_request(
            "invalid-station",
            "give this device a station name (1 to 64 characters on one line), e.g. \"pack-01\"",
        ));
    }
    let addr = peer.ip();
    state.gate.check_throttle(&login.user, addr)?;
    let gate = state.gate.clone();
    let vault = state.vault.clone();
    let (user, password) = (login.user.clone(), login.password);
    // argon2 takes tens of milliseconds: off the async threads.
    let account = tokio::task::spawn_blocking(move || {
        let accounts = gate.accounts(&vault)?;
        Ok::<_, ApiError>(accounts.check_password(&user, &password).cloned())
    })
    .await
    .map_err(|e| ApiError::internal(e.to_string()))??;
    let Some(account) = account else {
        state.gate.failed(&login.user, addr)?;
        return Err(ApiError::new(
            StatusCode::UNAUTHORIZED,
            "bad-login",
            "wrong user name or password",
        ));
    };
    state.gate.succeeded(&account.name)?;
    let csrf = crate::auth::random_token()?;
    // Always a new session id: a cookie planted before login is never promoted.
    let value = state.gate.open(Session {
        user: account.name.clone(),
        station: station.clone(),
        csrf: csrf.clone(),
        credential_seq: account.credential_seq,
        expires: Instant::now() + state.session_ttl,
    })?;
    let me = Me {
        user: account.name,
        role: account.role,
        station,
        csrf: Some(csrf),
    };
    let mut response = (StatusCode::OK, Json(me)).into_response();
    response.headers_mut().insert(
        header::SET_COOKIE,
        cookie(&state, &value, state.session_ttl.as_secs())?,
    );
    Ok(response)
}

pub(crate) async fn whoami(caller: Caller) -> Json<Me> {
    Json(Me {
        user: caller.account.name,
        role: caller.account.role,
        station: caller.station,
        csrf: caller.csrf,
    })
}

/// Ends the session. A live session must show its CSRF token; a cookie for
/// a session that already ended (expired, server restarted) is just cleared.
pub(crate) async fn logout(
    State(state): State<AppState>,
    caller: Result<Caller, ApiError>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Err(e) = caller
        && e.code == "csrf"
    {
        return Err(e);
    }
    if let Some(value) = session_cookie(&headers) {
        state.gate.close(value)?;
    }
    let mut response = StatusCode::NO_CONTENT.into_response();
    response
        .headers_mut()
        .insert(header::SET_COOKIE, cookie(&state, "", 0)?);
    Ok(response)
}
