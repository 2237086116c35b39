//! Who is asking: sessions (cookie + CSRF token), API tokens, roles, and
//! throttled logins.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use axum::extract::{FromRef, FromRequestParts};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use base64::Engine;
use evault_core::{Account, Accounts, Actor, Role, Vault};
use sha2::{Digest, Sha256};

use crate::error::ApiError;
use crate::state::AppState;

/// The session cookie's name.
pub const SESSION_COOKIE: &str = "evault_session";
/// The header carrying the CSRF token on state-changing requests.
pub const CSRF_HEADER: &str = "x-csrf-token";

/// Failed logins allowed per user name in a window before it is refused.
const FAILS_PER_USER: u32 = 5;
/// Failed logins allowed per client address in a window.
const FAILS_PER_ADDRESS: u32 = 20;
/// The window over which failures count, and the lockout once exceeded.
const FAIL_WINDOW: Duration = Duration::from_secs(15 * 60);

/// A random 256-bit secret, base64url.
pub(crate) fn random_token() -> Result<String, ApiError> {
    let mut raw = [0u8; 32];
    getrandom::fill(&mut raw)
        .map_err(|e| ApiError::internal(format!("no randomness from the OS: {e}")))?;
    Ok(base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw))
}

fn digest(secret: &str) -> [u8; 32] {
    Sha256::digest(secret.as_bytes()).into()
}

/// A logged-in session (kept in memory under the SHA-256 of its cookie).
#[derive(Clone, Debug)]
pub(crate) struct Session {
    pub user: String,
    pub station: String,
    pub csrf: String,
    /// The account's credential entry when the session began.
    pub credential_seq: u64,
    pub expires: Instant,
}

/// The accounts last read, with the log file's length and modification
/// time then (`None`: no file).
type CachedAccounts = Option<(Option<(u64, SystemTime)>, Accounts)>;

/// Sessions and login throttling.
#[derive(Default)]
pub(crate) struct Gate {
    sessions: Mutex<HashMap<[u8; 32], Session>>,
    failures: Mutex<HashMap<String, (u32, Instant)>>,
    accounts: Mutex<CachedAccounts>,
}

impl Gate {
    /// The accounts as the log now says (re-read when the file changed).
    pub fn accounts(&self, vault: &Vault) -> Result<Accounts, ApiError> {
        let stamp = std::fs::metadata(vault.accounts_path())
            .ok()
            .and_then(|m| Some((m.len(), m.modified().ok()?)));
        let mut cache = self.accounts.lock().map_err(|_| poisoned())?;
        if let Some((seen, accounts)) = cache.as_ref()
            && *seen == stamp
            && stamp.is_some()
        {
            return Ok(accounts.clone());
        }
        let accounts = vault.accounts()?;
        *cache = Some((stamp, accounts.clone()));
        Ok(accounts)
    }

    /// Starts a session; returns its cookie value.
    pub fn open(&self, session: Session) -> Result<String, ApiError> {
        let token = random_token()?;
        let mut sessions = self.sessions.lock().map_err(|_| poisoned())?;
        let now = Instant::now();
        sessions.retain(|_, s| s.expires > now);
        sessions.insert(digest(&token), session);
        Ok(token)
    }

    /// Ends a session.
    pub fn close(&self, cookie: &str) -> Result<(), ApiError> {
        self.sessions
            .lock()
            .map_err(|_| poisoned())?
            .remove(&digest(cookie));
        Ok(())
    }

    fn session(&self, cookie: &str) -> Result<Option<Session>, ApiError> {
        let sessions = self.sessions.lock().map_err(|_| poisoned())?;
        Ok(sessions
            .get(&digest(cookie))
            .filter(|s| s.expires > Instant::now())
            .cloned())
    }

    /// Refuses a login attempt for `user` from `addr` while either has failed too often.
    pub fn check_throttle(&self, user: &str, addr: IpAddr) -> Result<(), ApiError> {
        let failures = self.failures.lock().map_err(|_| poisoned())?;
        let now = Instant::now();
        for (key, limit) in [
            (format!("user:{user}"), FAILS_PER_USER),
            (format!("addr:{addr}"), FAILS_PER_ADDRESS),
        ] {
            if let Some((n, since)) = failures.get(&key)
                && *n >= limit
                && now.duration_since(*since) < FAIL_WINDOW
            {
                let wait = FAIL_WINDOW.saturating_sub(now.duration_since(*since));
                return Err(ApiError {
                    retry_after: Some(wait.as_secs().max(1)),
                    ..ApiError::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        "too-many-attempts",
                        format!(
                            "too many failed logins for this {}; wait {} minutes, or ask an admin to check the password (`evault user passwd`)",
                            if key.starts_with("user:") {
                                "user"
                            } else {
                                "device"
                            },
                            wait.as_secs().div_ceil(60)
                        ),
                    )
                });
            }
        }
        Ok(())
    }

    /// Counts a failed login against the user and the address.
    pub fn failed(&self, user: &str, addr: IpAddr) -> Result<(), ApiError> {
        let mut failures = self.failures.lock().map_err(|_| poisoned())?;
        let now = Instant::now();
        failures.retain(|_, (_, since)| now.duration_since(*since) < FAIL_WINDOW);
        for key in [format!("user:{user}"), format!("addr:{addr}")] {
            failures.entry(key).or_insert((0, now)).0 += 1;
        }
        Ok(())
    }

    /// Forgets a user's failures after a successful login.
    pub fn succeeded(&self, user: &str) -> Result<(), ApiError> {
        self.failures
            .lock()
            .map_err(|_| poisoned())?
            .remove(&format!("user:{user}"));
        Ok(())
    }
}

fn poisoned() -> ApiError {
    ApiError::internal("a server thread failed while holding shared state; restart `evault serve`")
}

/// The authenticated caller of a request.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The account.
    pub account: Account,
    /// The station name given at login (a token's own name for API tokens).
    pub station: String,
    /// The session's CSRF token (`None` for bearer tokens, which need none).
    pub csrf: Option<String>,
}

impl Caller {
    /// The operator and station recorded in entries this caller makes.
    pub fn actor(&self) -> Result<Actor, ApiError> {
        Ok(Actor::new(self.account.name.clone(), self.station.clone())?)
    }

    /// Refuses unless the caller has one of `roles`.
    pub fn require(&self, roles: &[Role], what: &str) -> Result<(), ApiError> {
        if roles.contains(&self.account.role) {
            Ok(())
        } else {
            let names: Vec<&str> = roles.iter().map(|r| r.as_str()).collect();
            Err(ApiError::forbidden(format!(
                "{what} needs the role {}; {} is {}",
                names.join(" or "),
                self.account.name,
                self.account.role
            )))
        }
    }
}

/// The session cookie's value, if the request carries one.
pub(crate) fn session_cookie(headers: &HeaderMap) -> Option<&str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|c| c.trim().split_once('='))
        .find(|(k, _)| *k == SESSION_COOKIE)
        .map(|(_, v)| v)
}

fn bearer(headers: &HeaderMap) -> Option<&str> {
    headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")
        .map(str::trim)
}

fn state_changing(method: &Method) -> bool {
    !matches!(*method, Method::GET | Method::HEAD | Method::OPTIONS)
}

/// Compares two secrets in time independent of where they differ.
pub(crate) fn same_secret(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

impl<S> FromRequestParts<S> for Caller
where
    AppState: FromRef<S>,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let state = AppState::from_ref(state);
        let accounts = state.gate.accounts(&state.vault)?;
        if let Some(token) = bearer(&parts.headers) {
            let account = accounts
                .check_token(token)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::UNAUTHORIZED,
                        "bad-token",
                        "this API token is not valid (revoked, or mistyped); ask an admin for a new one (`evault token new`)",
                    )
                })?
                .clone();
            return Ok(Self {
                station: account.name.clone(),
                account,
                csrf: None,
            });
        }
        let cookie = session_cookie(&parts.headers).ok_or_else(ApiError::unauthenticated)?;
        let session = state
            .gate
            .session(cookie)?
            .ok_or_else(ApiError::unauthenticated)?;
        // A removed user, or one whose password changed since, is logged out.
        let account = accounts
            .get(&session.user)
            .filter(|a| a.credential_seq == session.credential_seq)
            .ok_or_else(ApiError::unauthenticated)?
            .clone();
        if state_changing(&parts.method) {
            let sent = parts
                .headers
                .get(CSRF_HEADER)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            if !same_secret(sent, &session.csrf) {
                return Err(ApiError::new(
                    StatusCode::FORBIDDEN,
                    "csrf",
                    "this request lacks the page's CSRF token (X-CSRF-Token); reload the page and try again",
                ));
            }
        }
        Ok(Self {
            account,
            station: session.station,
            csrf: Some(session.csrf),
        })
    }
}
