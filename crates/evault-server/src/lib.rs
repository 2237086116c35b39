//! # evault-server: `evault serve`
//!
//! One process opens one vault and serves the JSON API (and, over it, the
//! packing station's page) over HTTP on loopback or HTTPS anywhere.
//! Nothing is open by default: every route but login needs a session
//! (cookie plus CSRF token for changes) or an API token, and a role. What
//! a request records names its account as operator and the station chosen
//! at login. The API is specified in `docs/api.md`.
#![forbid(unsafe_code)]
#![deny(missing_docs)]

mod auth;
mod bundles;
mod desk_pages;
mod error;
mod evidence;
mod exports;
mod labels;
mod order_index;
mod order_view;
mod orders;
mod pages;
mod records;
mod search;
mod session;
mod state;
mod tls;
mod uploads;

use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderValue, header};
use axum::routing::{get, post, put};
use evault_core::Vault;
use tower_http::set_header::SetResponseHeaderLayer;

pub use auth::{CSRF_HEADER, Caller, SESSION_COOKIE};
pub use error::ApiError;
pub use pages::ChecklistItem;
pub use state::Limits;

/// How the server talks TLS.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Tls {
    /// Plain HTTP (loopback addresses only).
    Off,
    /// A certificate chain and its private key, PEM files.
    Files {
        /// The certificate chain.
        cert: PathBuf,
        /// The private key.
        key: PathBuf,
    },
    /// A self-signed certificate kept in the vault (`serve/tls-cert.pem`),
    /// made on first use for these host names and addresses.
    SelfSigned(Vec<String>),
}

/// What `evault serve` was asked for.
#[derive(Clone, Debug)]
pub struct ServeConfig {
    /// The address to listen on.
    pub listen: SocketAddr,
    /// TLS.
    pub tls: Tls,
    /// Upload limits.
    pub limits: Limits,
    /// How long a login lasts.
    pub session_ttl: Duration,
    /// The photos the station page asks for, in order.
    pub checklist: Vec<ChecklistItem>,
}

/// Why the server cannot start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServeError {
    /// Plain HTTP was asked for on an address other machines can reach.
    #[error(
        "refusing plain HTTP on {0}, which other machines can reach: passwords and evidence would cross the network in clear, and phones allow the camera only on secure pages; add --self-signed (or --tls-cert FILE --tls-key FILE), or listen on 127.0.0.1"
    )]
    PlainHttpNotLoopback(SocketAddr),
    /// The certificate or key cannot be used.
    #[error("TLS: {0}")]
    Tls(String),
    /// The address cannot be listened on.
    #[error("cannot listen on {addr}: {source}")]
    Listen {
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The vault cannot be read.
    #[error(transparent)]
    Vault(#[from] evault_core::Error),
    /// The server stopped with an I/O error.
    #[error("the server stopped: {0}")]
    Io(#[from] std::io::Error),
}

/// A bound server, ready to run.
pub struct Server {
    listener: std::net::TcpListener,
    vault: Vault,
    index: Arc<order_index::SharedIndex>,
    addr: SocketAddr,
    tls: Option<(tls::Pem, String, Option<PathBuf>)>,
    app: Router,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

/// The routes, for a vault and its settings (`tls`: whether it is served
/// over TLS). Reads (or rebuilds) the order index; [`Server::run`] keeps it
/// fresh.
fn router(
    vault: Vault,
    config: &ServeConfig,
    tls: bool,
    index: Arc<order_index::SharedIndex>,
) -> Router {
    let state = state::AppState {
        index,
        exports: Arc::default(),
        vault,
        gate: Arc::default(),
        limits: config.limits,
        tls,
        session_ttl: config.session_ttl,
        checklist: Arc::new(config.checklist.clone()),
        thumbnails: Arc::new(tokio::sync::Semaphore::new(2)),
    };
    let api = Router::new()
        .route(
            "/api/v1/session",
            post(session::login)
                .get(session::whoami)
                .delete(session::logout),
        )
        .route(
            "/api/v1/orders/{id}/evidence",
            post(evidence::upload).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/orders/{id}", get(orders::get))
        .route("/api/v1/orders", get(search::list))
        .route("/api/v1/disputes", get(search::disputes))
        .route("/api/v1/orders/{id}/notes", post(records::note))
        .route("/api/v1/orders/{id}/retractions", post(records::retract))
        .route("/api/v1/orders/{id}/disputes", post(records::dispute))
        .route("/api/v1/orders/{id}/verify", get(records::verify))
        .route("/api/v1/orders/{id}/exports", post(exports::start))
        .route("/api/v1/exports/{job}", get(exports::status))
        .route("/api/v1/exports/{job}/bundle", get(exports::bundle))
        .route("/api/v1/exports/{job}/files/{name}", get(exports::file))
        .route("/api/v1/profiles", get(exports::profiles))
        .route(
            "/api/v1/bundles/check",
            post(bundles::check).layer(DefaultBodyLimit::disable()),
        )
        .route("/desk", get(desk_pages::disputes))
        .route("/orders", get(desk_pages::orders))
        .route("/orders/{id}", get(desk_pages::order))
        .route("/orders/{id}/answer", get(desk_pages::answer))
        .route("/exports/{job}", get(desk_pages::export))
        .route("/check", get(desk_pages::check))
        .route("/api/v1/station", get(pages::station_config))
        .route(
            "/api/v1/labels/read",
            post(labels::read).layer(DefaultBodyLimit::disable()),
        )
        .route("/api/v1/uploads/{upload}", get(uploads::status))
        .route(
            "/api/v1/uploads/{upload}/{n}",
            put(uploads::put_slice).layer(DefaultBodyLimit::disable()),
        )
        .route(
            "/api/v1/orders/{id}/uploads/{upload}/finish",
            post(uploads::finish),
        )
        .route("/", get(pages::home))
        .route("/login", get(pages::login))
        .route("/station", get(pages::station))
        .route("/assets/{name}", get(pages::asset))
        .route("/sw.js", get(pages::service_worker))
        .route(
            "/api/v1/orders/{id}/entries/{seq}/content",
            get(orders::content),
        )
        .route(
            "/api/v1/orders/{id}/entries/{seq}/thumbnail",
            get(orders::thumbnail),
        )
        .method_not_allowed_fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::METHOD_NOT_ALLOWED,
                "method-not-allowed",
                "this route does not take that method; see docs/api.md",
            )
        })
        .fallback(|| async {
            ApiError::new(
                axum::http::StatusCode::NOT_FOUND,
                "no-such-route",
                "no such page or API route; the API is described in docs/api.md",
            )
        })
        .with_state(state);
    let headers = [
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::CACHE_CONTROL, "no-store"),
        (
            header::CONTENT_SECURITY_POLICY,
            "default-src 'none'; frame-ancestors 'none'",
        ),
    ];
    headers.into_iter().fold(api, |app, (name, value)| {
        app.layer(SetResponseHeaderLayer::if_not_present(
            name,
            HeaderValue::from_static(value),
        ))
    })
}

impl Server {
    /// Checks the configuration, prepares TLS and binds the address.
    pub fn bind(vault: Vault, config: ServeConfig) -> Result<Self, ServeError> {
        let tls = match &config.tls {
            Tls::Off if !config.listen.ip().is_loopback() => {
                return Err(ServeError::PlainHttpNotLoopback(config.listen));
            }
            Tls::Off => None,
            Tls::Files { cert, key } => {
                let pem = tls::from_files(cert, key)?;
                let fp = tls::fingerprint(&pem.cert)?;
                Some((pem, fp, None))
            }
            Tls::SelfSigned(names) => {
                let (pem, path) = tls::self_signed(vault.root(), names.clone())?;
                let fp = tls::fingerprint(&pem.cert)?;
                Some((pem, fp, Some(path)))
            }
        };
        // Read the accounts once: a damaged accounts log stops the start.
        vault.accounts()?;
        let listener =
            std::net::TcpListener::bind(config.listen).map_err(|source| ServeError::Listen {
                addr: config.listen,
                source,
            })?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let index = Arc::new(order_index::SharedIndex::open(&vault)?);
        let app = router(vault.clone(), &config, tls.is_some(), index.clone());
        Ok(Self {
            listener,
            vault,
            index,
            addr,
            tls,
            app,
        })
    }

    /// The address bound (with the port chosen when 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The URL pages are served at.
    pub fn url(&self) -> String {
        let scheme = if self.tls.is_some() { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// The certificate's SHA-256 fingerprint (with TLS).
    pub fn fingerprint(&self) -> Option<&str> {
        self.tls.as_ref().map(|(_, fp, _)| fp.as_str())
    }

    /// Where the self-signed certificate is kept (with `--self-signed`).
    pub fn self_signed_cert(&self) -> Option<&std::path::Path> {
        self.tls.as_ref().and_then(|(_, _, p)| p.as_deref())
    }

    /// Serves on a new multi-threaded runtime until SIGINT or SIGTERM.
    pub fn run_until_signal(self) -> Result<(), ServeError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()?;
        runtime.block_on(self.run(async {
            let ctrl_c = tokio::signal::ctrl_c();
            #[cfg(unix)]
            {
                let term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate());
                match term {
                    Ok(mut term) => {
                        tokio::select! {
                            _ = ctrl_c => {},
                            _ = term.recv() => {},
                        }
                    }
                    Err(_) => {
                        let _ = ctrl_c.await;
                    }
                }
            }
            #[cfg(not(unix))]
            let _ = ctrl_c.await;
        }))
    }

    /// Serves until `shutdown` completes, then lets requests in flight
    /// finish (up to 30 s).
    pub async fn run(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), ServeError> {
        self.index.clone().keep_fresh(self.vault.clone());
        let handle = axum_server::Handle::new();
        let h = handle.clone();
        tokio::spawn(async move {
            shutdown.await;
            h.graceful_shutdown(Some(Duration::from_secs(30)));
        });
        let service = self.app.into_make_service_with_connect_info::<SocketAddr>();
        match self.tls {
            None => {
                axum_server::from_tcp(self.listener)?
                    .handle(handle)
                    .serve(service)
                    .await?
            }
            Some((pem, ..)) => {
                let config = axum_server::tls_rustls::RustlsConfig::from_pem(pem.cert, pem.key)
                    .await
                    .map_err(|e| {
                        ServeError::Tls(format!("the certificate or key cannot be used: {e}"))
                    })?;
                axum_server::tls_rustls::from_tcp_rustls(self.listener, config)?
                    .handle(handle)
                    .serve(service)
                    .await?
            }
        }
        Ok(())
    }
}
