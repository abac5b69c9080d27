//! MCP over Streamable HTTP: rmcp's `StreamableHttpService` mounted in axum at the MCP
//! path, behind Berth's gate ([`crate::gate`]), next to the operational endpoints:
//! `/health` (liveness), `/ready` (plugins loaded, with counts), `/metrics`
//! (Prometheus) and the RFC 9728 protected-resource metadata under `/.well-known/`.
//!
//! Shutdown follows [`berth_core::shutdown`]: on the trigger the listener stops accepting
//! and the gate answers requests on open connections with 503, while calls in flight
//! finish and their answers are sent; when the sessions are ended, rmcp closes every
//! session's streams and the server task finishes once its connections have closed.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use tokio::net::TcpListener;

use crate::gate::{self, Gate, Guards};
use crate::ratelimit::SharedLimits;
use crate::resume::{ClusterRedis, RedisSessions};
use crate::sessions::Sessions;
use berth_core::config::{Config, HttpConfig};
use berth_core::lifecycle::Lifecycle;
use berth_core::metrics::Metrics;
use berth_core::shutdown::Shutdown;
use berth_protocol::BerthServer;

/// Why the HTTP transport could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// Authentication is off on an address other machines can reach.
    #[error(
        "`[http.auth] enabled = false` is only allowed on a loopback address, and {addr} is not one: \
         configure [[http.auth.tokens]] or [http.auth.jwt], or listen on 127.0.0.1"
    )]
    AuthOffOffLoopback {
        /// The address asked for.
        addr: SocketAddr,
    },
    /// Authentication is on but there is nothing to check credentials against.
    #[error(
        "HTTP needs credentials to check: add [[http.auth.tokens]] (make one with `berth token new`) \
         or [http.auth.jwt] to the config, or for loopback development set `[http.auth] enabled = false`"
    )]
    NoCredentials,
    /// Key material named by the auth config could not be read.
    #[error(transparent)]
    AuthSetup(#[from] crate::auth::AuthSetupError),
    /// `[cluster]` names a Redis that cannot be used.
    #[error("[cluster]: {0}")]
    Cluster(String),
}

/// A running HTTP transport.
pub struct HttpServer {
    local_addr: SocketAddr,
    gate: Gate,
}

impl HttpServer {
    /// The address it listens on (the real port when port 0 was asked for).
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// After shutdown was triggered: waits up to `limit` until every request in flight
    /// has been answered in full; returns whether they were.
    pub async fn requests_done(&self, limit: Duration) -> bool {
        self.gate.requests_done(limit).await
    }
}

/// Starts serving MCP over HTTP on `addr` with `server`'s handler, until `shutdown`.
pub async fn start(
    addr: SocketAddr,
    lifecycle: Arc<Lifecycle>,
    server: BerthServer,
    metrics: Metrics,
    shutdown: &Shutdown,
) -> Result<HttpServer, HttpError> {
    let config = lifecycle.config();
    let http = &config.http;
    preflight(addr, http)?;
    let guards = Guards::new(http)?;
    let listener = TcpListener::bind(addr)
        .await
        .map_err(|source| HttpError::Bind { addr, source })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| HttpError::Bind { addr, source })?;

    let idle = Duration::from_secs(http.session_idle_secs);
    let cluster_url = config.cluster.redis_url().map_err(HttpError::Cluster)?;
    let cluster_timeout = Duration::from_millis(config.cluster.timeout_ms);
    let cluster = match &cluster_url {
        Some(url) => {
            Some(ClusterRedis::new(url, cluster_timeout, idle).map_err(HttpError::Cluster)?)
        }
        None => None,
    };
    let poll_after =
        (http.sse_poll_after_ms > 0).then(|| Duration::from_millis(http.sse_poll_after_ms));
    let sessions = Sessions::new(
        http.max_sessions,
        idle,
        cluster.clone(),
        http.resumable_streams,
        poll_after,
    );
    let sessions_token = shutdown.session_token();
    let mut rmcp_config = StreamableHttpServerConfig::default()
        // The gate checks `Host` for every route, the operational ones included.
        .disable_allowed_hosts()
        .with_allowed_origins(http.allowed_origins.clone())
        // An empty list refuses every request that carries an Origin: browsers must be
        // let in by name.
        .enforce_origin_validation()
        .with_max_request_body_bytes(http.max_body_bytes())
        .with_cancellation_token(sessions_token.clone());
    // With a cluster, every session's `initialize` is kept in Redis, so a replica that
    // never saw a session can take it over (rmcp replays the handshake).
    if let Some(redis) = &cluster {
        rmcp_config.session_store = Some(Arc::new(RedisSessions(redis.clone())));
    }
    let template = server.clone();
    let service = StreamableHttpService::new(
        move || Ok(template.for_session()),
        sessions.clone(),
        rmcp_config,
    );

    let shared = match &cluster_url {
        Some(url) => Some(SharedLimits::new(url, cluster_timeout).map_err(HttpError::Cluster)?),
        None => None,
    };
    let gate = Gate::new(
        local_addr,
        lifecycle.served().clone(),
        sessions.clone(),
        guards,
        http,
        metrics,
        shared,
        shutdown,
    );
    gate.announce_on(lifecycle.bus().clone());
    gate::spawn_refresher(gate.clone(), lifecycle.clone(), shutdown);
    let console = crate::console::Console::new(gate.clone(), lifecycle.clone(), shutdown);
    let app = router(&http.path, service, gate.clone(), console);

    // At the trigger the listener closes and idle connections with it; responses being
    // streamed continue, and requests on connections still open get the gate's 503.
    let stop_accepting = shutdown.child_token();
    // MCP messages are small and answered one by one: without TCP_NODELAY, Nagle's
    // algorithm holds each SSE event back until the client's delayed ACK, about 40 ms.
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    shutdown.spawn(async move {
        let served = axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .with_graceful_shutdown(async move { stop_accepting.cancelled().await })
        .await;
        if let Err(error) = served {
            tracing::error!(%error, "HTTP server failed");
        }
        tracing::info!("HTTP server stopped");
    });
    warn_if_auth_off(http, local_addr);
    tracing::info!(addr = %local_addr, path = %http.path, "serving MCP over HTTP");
    Ok(HttpServer { local_addr, gate })
}

/// Refuses, before anything is loaded, the auth settings that must never serve: off on a
/// reachable address, or on with nothing to check against.
pub fn preflight(addr: SocketAddr, http: &HttpConfig) -> Result<(), HttpError> {
    let auth = &http.auth;
    if !auth.enabled {
        return match addr.ip().is_loopback() {
            true => Ok(()),
            false => Err(HttpError::AuthOffOffLoopback { addr }),
        };
    }
    match auth.credentials_problem() {
        Some(_) => Err(HttpError::NoCredentials),
        None => Ok(()),
    }
}

fn warn_if_auth_off(http: &HttpConfig, addr: SocketAddr) {
    if !http.auth.enabled {
        tracing::warn!(
            %addr,
            "HTTP AUTHENTICATION IS OFF: every local process and user can call every tool. \
             This is for loopback development only; configure [http.auth] before sharing this server"
        );
    }
}

fn router(
    path: &str,
    service: StreamableHttpService<BerthServer, Sessions>,
    gate: Gate,
    console: crate::console::Console,
) -> Router {
    let metadata_path = format!("/.well-known/oauth-protected-resource{path}");
    let mcp = Router::new().route_service(path, service).route_layer(
        axum::middleware::from_fn_with_state(gate.clone(), gate::guard_mcp),
    );
    let ops = Router::new()
        .route("/health", get(health))
        .route("/ready", get(ready))
        .route("/metrics", get(metrics))
        .route(
            "/.well-known/oauth-protected-resource",
            get(resource_metadata),
        )
        .route(&metadata_path, get(resource_metadata))
        .with_state(gate.clone());
    mcp.merge(ops)
        .merge(console.router())
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(gate, gate::guard_host))
}

fn json(status: StatusCode, body: serde_json::Value) -> Response {
    (status, axum::Json(body)).into_response()
}

async fn health(State(gate): State<Gate>) -> Response {
    let status = if gate.is_draining() { "draining" } else { "ok" };
    json(StatusCode::OK, serde_json::json!({ "status": status }))
}

async fn ready(State(gate): State<Gate>) -> Response {
    let registry = gate.served().registry();
    let counts = serde_json::json!({
        "plugins": registry.plugins().len(),
        "tools": registry.tools().len(),
        "resources": registry.resources().len(),
        "resource_templates": registry.templates().len(),
        "sessions": gate.sessions().count(),
        "calls_in_flight": gate.served().calls().running(),
    });
    if gate.is_draining() {
        return json(
            StatusCode::SERVICE_UNAVAILABLE,
            serde_json::json!({ "status": "draining", "counts": counts }),
        );
    }
    let mut body = serde_json::json!({ "status": "ready", "counts": counts });
    // Redis trouble is reported, not fatal: the replica then limits callers on its own.
    if let Some(shared) = gate.shared_limits() {
        body["cluster"] = match shared.ping().await {
            Ok(()) => serde_json::json!({ "redis": "ok" }),
            Err(error) => serde_json::json!({ "redis": "unreachable", "error": error }),
        };
    }
    json(StatusCode::OK, body)
}

async fn metrics(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    // Metrics name plugins, tools and traffic: with authentication on, any valid
    // credential is needed to read them.
    if let Err(refusal) = gate.authenticate(&headers) {
        return refusal;
    }
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        gate.metrics().render_with(&gate.served().registry()),
    )
        .into_response()
}

async fn resource_metadata(State(gate): State<Gate>, headers: HeaderMap) -> Response {
    json(StatusCode::OK, gate.resource_metadata(&headers))
}

async fn not_found() -> Response {
    json(
        StatusCode::NOT_FOUND,
        serde_json::json!({
            "error": "not_found",
            "message": "no such endpoint; MCP is served at the configured [http] path (default /mcp)"
        }),
    )
}

/// Whether `config` asks for HTTP, and where: `--http` wins over `[http] listen`.
pub fn listen_addr(cli: Option<SocketAddr>, config: &Config) -> Option<SocketAddr> {
    cli.or_else(|| config.http.listen_addr())
}
