//! The gate in front of the HTTP endpoints: everything a request must pass before rmcp
//! sees it, in this order, each refusal a specific status and message:
//!
//! 1. `Host` is one of `[http] allowed_hosts` (DNS rebinding), for every route;
//! 2. the server is not shutting down (503);
//! 3. authentication: a static token or a JWT (401 with `WWW-Authenticate`), which
//!    becomes the request's [`Caller`];
//! 4. the caller's rate limit (429 with `Retry-After`);
//! 5. the session belongs to this caller, the same identity (authentication method and
//!    subject) that opened it (403); a DELETE names an open session (404);
//! 6. a free slot among `max_concurrent_requests` (503 with `Retry-After`), held until
//!    the response body ends, so a streamed tool call counts for as long as it runs;
//! 7. within `request_timeout_ms` (504), holding that slot: a POST's body is read whole
//!    (413 past `max_body_kb`; 400 with a JSON-RPC parse error for JSON that does not
//!    parse), a new session is possible (503 when `max_sessions` are open), and rmcp
//!    answers with a response head (its 415 for JSON that is no JSON-RPC message becomes
//!    400 Invalid Request).
//!
//! Every byte read from a client is read under a slot and the deadline. An answer given
//! before the request's body was read says `Connection: close`, since the connection
//! cannot carry another request. Origin is checked by rmcp (403). Authentication, rate
//! limits (and roles, via [`berth_core::state::Served`]) follow config edits live.

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use arc_swap::ArcSwap;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::auth::{AuthConfig, Authenticator};
use crate::ratelimit::{RateLimitConfig, RateLimiter, SharedLimits};
use crate::sessions::Sessions;
use berth_core::config::HttpConfig;
use berth_core::lifecycle::Lifecycle;
use berth_core::metrics::{HttpSeries, Metrics};
use berth_core::shutdown::Shutdown;
use berth_core::state::Served;
use berth_protocol::Caller;

/// The session header of Streamable HTTP.
const SESSION_HEADER: &str = "mcp-session-id";

/// How often rate-limit buckets that refilled are forgotten.
const SWEEP_EVERY: Duration = Duration::from_secs(60);

/// The settings of the gate that follow config edits.
pub struct Guards {
    auth: Option<Authenticator>,
    auth_config: AuthConfig,
    limiter: Option<Arc<RateLimiter>>,
    rate_config: RateLimitConfig,
}

impl Guards {
    /// The guards `http` describes.
    pub fn new(http: &HttpConfig) -> Result<Self, crate::auth::AuthSetupError> {
        Ok(Self {
            auth: match http.auth.enabled {
                true => Some(Authenticator::new(&http.auth)?),
                false => None,
            },
            auth_config: http.auth.clone(),
            limiter: RateLimiter::new(&http.rate_limit).map(Arc::new),
            rate_config: http.rate_limit.clone(),
        })
    }
}

/// Shared state of the gate and the operational endpoints.
#[derive(Clone)]
pub struct Gate {
    inner: Arc<Inner>,
}

struct Inner {
    served: Arc<Served>,
    sessions: Arc<Sessions>,
    guards: ArcSwap<Guards>,
    permits: Arc<Semaphore>,
    max_requests: u32,
    draining: CancellationToken,
    allowed_hosts: Vec<String>,
    path: String,
    request_timeout: Duration,
    body_limit: usize,
    loopback_only: bool,
    metrics: Metrics,
    requests: HttpSeries,
    /// Rate limits shared with the other replicas (`[cluster]`), if configured.
    shared: Option<SharedLimits>,
    /// Where refusals are announced (for the console's feed), once set.
    bus: std::sync::OnceLock<berth_core::bus::Bus>,
    /// When each caller's rate-limit refusal was last announced: a flood of refused
    /// requests must not become a flood of events waking every subscriber.
    announced: std::sync::Mutex<std::collections::HashMap<String, std::time::Instant>>,
}

/// At most one rate-limit announcement per caller per this long.
const ANNOUNCE_EVERY: Duration = Duration::from_secs(1);
/// Callers remembered for that; past it the oldest are forgotten.
const ANNOUNCED_CALLERS: usize = 1024;

impl Gate {
    /// A gate for `http`'s settings in front of `sessions`, serving on `addr`.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        addr: SocketAddr,
        served: Arc<Served>,
        sessions: Arc<Sessions>,
        guards: Guards,
        http: &HttpConfig,
        metrics: Metrics,
        shared: Option<SharedLimits>,
        shutdown: &Shutdown,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                served,
                sessions,
                guards: ArcSwap::from_pointee(guards),
                permits: Arc::new(Semaphore::new(http.max_concurrent_requests)),
                max_requests: u32::try_from(http.max_concurrent_requests).unwrap_or(u32::MAX),
                draining: shutdown.child_token(),
                allowed_hosts: http
                    .allowed_hosts
                    .iter()
                    .map(|h| h.to_ascii_lowercase())
                    .collect(),
                path: http.path.clone(),
                request_timeout: Duration::from_millis(http.request_timeout_ms),
                body_limit: http.max_body_bytes(),
                // The address actually served (`--http` may override `[http] listen`).
                loopback_only: addr.ip().is_loopback(),
                metrics,
                requests: HttpSeries::default(),
                shared,
                bus: std::sync::OnceLock::new(),
                announced: Default::default(),
            }),
        }
    }

    /// Announces refusals (rate limits) on `bus`, for the console's feed. Set once.
    pub fn announce_on(&self, bus: berth_core::bus::Bus) {
        let _ = self.inner.bus.set(bus);
    }

    /// The rate limits shared with other replicas, if configured.
    pub fn shared_limits(&self) -> Option<&SharedLimits> {
        self.inner.shared.as_ref()
    }

    /// What is served.
    pub fn served(&self) -> &Arc<Served> {
        &self.inner.served
    }

    /// The open sessions.
    pub fn sessions(&self) -> &Arc<Sessions> {
        &self.inner.sessions
    }

    /// The metrics to render.
    pub fn metrics(&self) -> &Metrics {
        &self.inner.metrics
    }

    /// Waits until every request holding a slot has been answered in full (its response
    /// body sent), or `limit` passes; returns whether they all were. Used at shutdown,
    /// after intake stopped: a call's answer is still on its way to the client for a
    /// moment after the call itself ends.
    pub async fn requests_done(&self, limit: Duration) -> bool {
        let all = self.inner.permits.acquire_many(self.inner.max_requests);
        matches!(tokio::time::timeout(limit, all).await, Ok(Ok(_)))
    }

    /// Whether shutdown has begun.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.is_cancelled()
    }

    /// Whether callers must authenticate (`[http.auth] enabled`).
    pub fn auth_enabled(&self) -> bool {
        self.inner.guards.load().auth.is_some()
    }

    /// The caller `headers` authenticate, or the 401 refusal.
    // The refusal is a whole response; boxing it would only move the allocation.
    #[allow(clippy::result_large_err)]
    pub fn authenticate(&self, headers: &HeaderMap) -> Result<Caller, Response> {
        let guards = self.inner.guards.load();
        let Some(authenticator) = &guards.auth else {
            return Ok(Caller::Trusted);
        };
        let authorization = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        match authenticator.authenticate(authorization) {
            Ok(identity) => Ok(Caller::Authenticated(Arc::new(identity))),
            Err(failure) => {
                berth_core::metrics::auth_failed(failure.reason());
                tracing::info!(target: "berth::audit", reason = failure.reason(), %failure, "authentication failed");
                let resource = self.resource(&guards.auth_config, headers);
                let challenge = failure.www_authenticate(&metadata_url(&resource));
                let mut response = refusal(
                    StatusCode::UNAUTHORIZED,
                    "unauthorized",
                    format!("{failure}"),
                );
                if let Ok(value) = HeaderValue::from_str(&challenge) {
                    response
                        .headers_mut()
                        .insert(header::WWW_AUTHENTICATE, value);
                }
                Err(response)
            }
        }
    }

    /// The RFC 9728 metadata document for the resource `headers` reached.
    pub fn resource_metadata(&self, headers: &HeaderMap) -> serde_json::Value {
        let guards = self.inner.guards.load();
        let resource = self.resource(&guards.auth_config, headers);
        crate::auth::protected_resource_metadata(&guards.auth_config, &resource)
    }

    /// This server's resource identifier: configured, or the URL the client used
    /// (its `Host` was checked against the allow-list before any handler runs).
    fn resource(&self, auth: &AuthConfig, headers: &HeaderMap) -> String {
        if let Some(resource) = &auth.resource {
            return resource.clone();
        }
        let host = headers
            .get(header::HOST)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("localhost");
        format!("http://{host}{}", self.inner.path)
    }

    fn replace_guards(&self, guards: Guards) {
        self.inner.guards.store(Arc::new(guards));
    }
}

/// Where RFC 9728 puts the metadata of `resource`: the well-known prefix inserted
/// between its authority and its path.
fn metadata_url(resource: &str) -> String {
    match resource.parse::<axum::http::Uri>() {
        Ok(uri) if uri.scheme().is_some() && uri.authority().is_some() => {
            let path = uri.path().trim_end_matches('/');
            format!(
                "{}://{}/.well-known/oauth-protected-resource{path}",
                uri.scheme_str().unwrap_or("http"),
                uri.authority().map(|a| a.as_str()).unwrap_or_default(),
            )
        }
        _ => format!("{resource}/.well-known/oauth-protected-resource"),
    }
}

/// A refusal with a JSON body: a stable `error` code and a message saying what to do.
pub fn refusal(status: StatusCode, error: &str, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "error": error, "message": message })),
    )
        .into_response()
}

/// A refusal counted in `berth_http_refused_total`.
fn refused(status: StatusCode, reason: &'static str, message: String) -> Response {
    berth_core::metrics::http_refused(reason);
    refusal(status, reason, message)
}

/// Step 1, for every route: the `Host` header must be allowed, then the request is
/// timed for the request metrics.
pub async fn guard_host(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().clone();
    let host = request
        .headers()
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    // A refusal (or any answer) given before the request's body was read leaves the
    // connection unusable: hyper closes it rather than read a body nobody wants. Saying
    // so (`Connection: close`) lets a pooled client open a new connection for its next
    // request (an MCP client's retry after a 401, say) instead of losing it on this one.
    let has_body = !http_body::Body::is_end_stream(request.body());
    let ended = Arc::new(AtomicBool::new(false));
    let request = request.map(|body| Watched::recording(body, &ended));
    let mut response = match host {
        Some(host) if host_allowed(&gate.inner.allowed_hosts, &host) => next.run(request).await,
        Some(host) => {
            tracing::warn!(%host, "refused a request for a host not in [http] allowed_hosts (possible DNS rebinding)");
            refused(
                StatusCode::FORBIDDEN,
                "host",
                format!("Host `{host}` is not allowed; add it to [http] allowed_hosts to serve it"),
            )
        }
        None => refused(
            StatusCode::BAD_REQUEST,
            "host",
            "the request has no Host header".into(),
        ),
    };
    if has_body && !ended.load(Ordering::Acquire) {
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    gate.inner.requests.record(
        method.as_str(),
        response.status().as_u16(),
        started.elapsed(),
    );
    response
}

/// Whether `host` (`name` or `name:port`, IPv6 in brackets) matches an allowed entry,
/// which is either a bare name (any port) or a `name:port`.
fn host_allowed(allowed: &[String], host: &str) -> bool {
    if allowed.is_empty() {
        return true;
    }
    let host = host.to_ascii_lowercase();
    let name = match host.strip_prefix('[') {
        Some(rest) => rest.split(']').next().unwrap_or(rest).to_string(),
        None => match host.rsplit_once(':') {
            Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name.to_string(),
            _ => host.clone(),
        },
    };
    allowed
        .iter()
        .any(|entry| *entry == host || entry.trim_matches(['[', ']']) == name)
}

/// Steps 2 to 7 for the MCP endpoint.
pub async fn guard_mcp(State(gate): State<Gate>, mut request: Request, next: Next) -> Response {
    let inner = &gate.inner;
    if gate.is_draining() {
        let mut response = refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "shutting_down",
            "Berth is shutting down and takes no new requests; reconnect later".into(),
        );
        response
            .headers_mut()
            .insert(header::CONNECTION, HeaderValue::from_static("close"));
        return response;
    }

    let caller = match gate.authenticate(request.headers()) {
        Ok(caller) => caller,
        Err(refusal) => return refusal,
    };

    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let guards = inner.guards.load_full();
    if let Some(limiter) = &guards.limiter {
        let key = match (&caller, peer) {
            (Caller::Authenticated(identity), _) => {
                format!("{}:{}", identity.method.as_str(), identity.subject)
            }
            (_, Some(peer)) => format!("ip:{}", peer.ip()),
            (_, None) => "ip:unknown".to_string(),
        };
        let verdict = match &inner.shared {
            Some(shared) => match shared.check(&key, &guards.rate_config).await {
                Ok(verdict) => verdict,
                Err(error) => {
                    shared.warn_unshared(&error);
                    limiter.check(&key)
                }
            },
            None => limiter.check(&key),
        };
        if let Err(retry) = verdict {
            berth_core::metrics::rate_limited();
            tracing::info!(%key, retry_after_ms = retry.0.as_millis() as u64, "rate limited");
            let subject = match &caller {
                Caller::Authenticated(identity) => identity.subject.clone(),
                _ => key.clone(),
            };
            announce_rate_limited(inner, subject);
            let mut response = refusal(
                StatusCode::TOO_MANY_REQUESTS,
                "rate_limited",
                format!(
                    "too many requests from `{}`; retry in {} s (limit: [http.rate_limit])",
                    match &caller {
                        Caller::Authenticated(identity) => identity.subject.as_str(),
                        _ => key.as_str(),
                    },
                    retry.header_secs()
                ),
            );
            response
                .headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(retry.header_secs()));
            return response;
        }
    }

    let session = request
        .headers()
        .get(SESSION_HEADER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    if let Some(id) = &session
        && let Some(version) = request
            .headers()
            .get("mcp-protocol-version")
            .and_then(|v| v.to_str().ok())
    {
        inner.sessions.note_protocol(id, version);
    }
    if let (Some(id), Caller::Authenticated(identity)) = (&session, &caller)
        && !inner.sessions.may_use(id, identity)
    {
        tracing::warn!(subject = %identity.subject, method = identity.method.as_str(), "refused a request on another identity's session");
        return refused(
            StatusCode::FORBIDDEN,
            "session_owner",
            "this session was opened by another identity; initialize a session of your own".into(),
        );
    }

    // A session this replica does not have may be restored from the cluster: only by
    // the identity that opened it.
    if let (Some(id), Caller::Authenticated(identity)) = (&session, &caller)
        && !inner.sessions.is_open(id)
        && !inner.sessions.may_restore(id, identity).await
    {
        tracing::warn!(subject = %identity.subject, method = identity.method.as_str(), "refused to restore another identity's session");
        return refused(
            StatusCode::FORBIDDEN,
            "session_owner",
            "this session was opened by another identity; initialize a session of your own".into(),
        );
    }

    // rmcp answers a DELETE of a session it does not know with 202 as if it had ended
    // one; the specification's answer for an ended or unknown session is 404, as POST
    // and GET already get.
    if let Some(id) = &session
        && request.method() == Method::DELETE
        && !inner.sessions.is_open(id)
    {
        return refused(
            StatusCode::NOT_FOUND,
            "session_not_found",
            "no open session has this Mcp-Session-Id (it ended or never existed); \
             initialize a new session"
                .into(),
        );
    }

    // A GET is the session's idle listening stream, bounded by the session cap rather
    // than the request slots it would otherwise hold for its whole life.
    let permit = match request.method() == Method::GET {
        true => None,
        false => match inner.permits.clone().try_acquire_owned() {
            Ok(permit) => Some(permit),
            Err(_) => {
                let mut response = refused(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "busy",
                    "the server is handling as many requests as [http] max_concurrent_requests allows; retry shortly".into(),
                );
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                return response;
            }
        },
    };

    request.extensions_mut().insert(caller.clone());
    // Every byte read from the client from here on is read holding a slot and within
    // the deadline: the body (read here, whole, for POST), then whatever rmcp does.
    let answer = async {
        let request = match read_post(&gate, request, session.is_none()).await {
            Ok(request) => request,
            Err(refusal) => return refusal,
        };
        let is_post = request.method() == Method::POST;
        let response = next.run(request).await;
        // rmcp answers 415 for a body it cannot take as a JSON-RPC message even when the
        // media type is JSON, which is supported; JSON-RPC's answer is Invalid Request.
        if is_post && response.status() == StatusCode::UNSUPPORTED_MEDIA_TYPE {
            return json_rpc_error(
                -32600,
                "Invalid Request: the body is JSON but not a JSON-RPC request, notification or response",
            );
        }
        response
    };
    let response = match tokio::time::timeout(inner.request_timeout, answer).await {
        Ok(response) => response,
        Err(_) => {
            return refused(
                StatusCode::GATEWAY_TIMEOUT,
                "timeout",
                format!(
                    "the request was not answered within [http] request_timeout_ms ({} ms)",
                    inner.request_timeout.as_millis()
                ),
            );
        }
    };
    if let Caller::Authenticated(identity) = &caller {
        // A new session's id is in its answer; a restored one's in the request. Either
        // way its first caller was checked above and becomes its owner here.
        let id = match &session {
            None => response
                .headers()
                .get(SESSION_HEADER)
                .and_then(|v| v.to_str().ok()),
            Some(id) => Some(id.as_str()),
        };
        if let Some(id) = id {
            inner.sessions.bind_owner(id, identity);
        }
    }
    match permit {
        Some(permit) => response.map(|body| Watched::holding(body, permit)),
        None => response,
    }
}

/// Reads a POST's body whole (at most `[http] max_body_kb`) and hands the request on
/// with it, or answers: 413 for a body too large, 400 with a JSON-RPC parse error for a
/// JSON body that does not parse, 503 for an `initialize` while `max_sessions` are open
/// (`new_session`: the request carries no session id). Other methods pass untouched.
async fn read_post(gate: &Gate, request: Request, new_session: bool) -> Result<Request, Response> {
    if request.method() != Method::POST {
        return Ok(request);
    }
    let inner = &gate.inner;
    let (parts, body) = request.into_parts();
    let bytes = match axum::body::to_bytes(body, inner.body_limit).await {
        Ok(bytes) => bytes,
        Err(error) => {
            let too_large = std::error::Error::source(&error)
                .is_some_and(|e| e.is::<http_body_util::LengthLimitError>());
            return Err(match too_large {
                true => refused(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "body_too_large",
                    format!(
                        "the request body is larger than [http] max_body_kb ({} KiB)",
                        inner.body_limit / 1024
                    ),
                ),
                false => refused(
                    StatusCode::BAD_REQUEST,
                    "body_unreadable",
                    format!("the request body could not be read: {error}"),
                ),
            });
        }
    };
    let is_json = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.trim_start()
                .to_ascii_lowercase()
                .starts_with("application/json")
        });
    if is_json && let Err(error) = serde_json::from_slice::<serde::de::IgnoredAny>(&bytes) {
        return Err(json_rpc_error(-32700, &format!("Parse error: {error}")));
    }
    // Only an `initialize` opens a session; the cap is checked on the body read anyway.
    if new_session && inner.sessions.is_full() && is_initialize(&bytes) {
        let max = inner.sessions.max();
        tracing::warn!(max, "refused a new session: the session cap is reached");
        let mut response = refused(
            StatusCode::SERVICE_UNAVAILABLE,
            "sessions_full",
            format!("{max} sessions are open, the most [http] max_sessions allows; retry later"),
        );
        response
            .headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        return Err(response);
    }
    Ok(Request::from_parts(parts, Body::from(bytes)))
}

/// A 400 answer whose body is a JSON-RPC error with no id, as JSON-RPC answers a message
/// it could not read (and the MCP SDKs' servers do).
fn json_rpc_error(code: i64, message: &str) -> Response {
    berth_core::metrics::http_refused(if code == -32700 {
        "parse_error"
    } else {
        "invalid_request"
    });
    (
        StatusCode::BAD_REQUEST,
        axum::Json(serde_json::json!({
            "jsonrpc": "2.0",
            "id": null,
            "error": { "code": code, "message": message },
        })),
    )
        .into_response()
}

/// Whether a JSON-RPC message is an `initialize` request.
fn is_initialize(body: &Bytes) -> bool {
    #[derive(serde::Deserialize)]
    struct Method<'a> {
        #[serde(borrow)]
        method: Option<std::borrow::Cow<'a, str>>,
    }
    serde_json::from_slice::<Method>(body)
        .ok()
        .and_then(|m| m.method)
        .is_some_and(|m| m == "initialize")
}

/// A body passed through unchanged that holds what must live as long as it does (a
/// response holds its request slot until it has been sent in full, or the client went
/// away and it was dropped) and records when it has been read to its end (a request's,
/// so an answer given before knows the connection cannot carry another request).
struct Watched {
    body: Body,
    permit: Option<OwnedSemaphorePermit>,
    ended: Option<Arc<AtomicBool>>,
}

impl Watched {
    /// `body`, holding `permit` until it is dropped.
    fn holding(body: Body, permit: OwnedSemaphorePermit) -> Body {
        Body::new(Watched {
            body,
            permit: Some(permit),
            ended: None,
        })
    }

    /// `body`, setting `ended` once it has been read to its end.
    fn recording(body: Body, ended: &Arc<AtomicBool>) -> Body {
        Body::new(Watched {
            body,
            permit: None,
            ended: Some(Arc::clone(ended)),
        })
    }
}

impl http_body::Body for Watched {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, axum::Error>>> {
        let this = self.get_mut();
        let _held = &this.permit;
        let polled = Pin::new(&mut this.body).poll_frame(cx);
        if let Some(ended) = &this.ended
            && (matches!(polled, Poll::Ready(None)) || this.body.is_end_stream())
        {
            ended.store(true, Ordering::Release);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Keeps the gate's live settings in step with the config and forgets idle rate-limit
/// buckets, until shutdown. A rebuild that fails (a key file went missing) keeps the
/// guards in force and says why.
pub fn spawn_refresher(gate: Gate, lifecycle: Arc<Lifecycle>, shutdown: &Shutdown) {
    let mut events = lifecycle.bus().subscribe_facts();
    let stop = shutdown.child_token();
    shutdown.spawn(async move {
        let mut sweep = tokio::time::interval(SWEEP_EVERY);
        sweep.tick().await;
        loop {
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = sweep.tick() => {
                    if let Some(limiter) = &gate.inner.guards.load().limiter {
                        let keys = limiter.forget_idle();
                        tracing::debug!(keys, "rate-limit buckets kept");
                    }
                }
                event = events.recv() => match event {
                    Ok(berth_core::bus::Event::ConfigApplied)
                    | Err(tokio::sync::broadcast::error::RecvError::Lagged(_)) => {
                        refresh(&gate, &lifecycle.config().http);
                    }
                    Ok(_) => {}
                    Err(tokio::sync::broadcast::error::RecvError::Closed) => return,
                },
            }
        }
    });
}

fn refresh(gate: &Gate, http: &HttpConfig) {
    let current = gate.inner.guards.load_full();
    if current.auth_config == http.auth && current.rate_config == http.rate_limit {
        return;
    }
    if !http.auth.enabled && !gate.inner.loopback_only {
        tracing::error!(
            "refused to turn HTTP authentication off on a non-loopback address; the previous [http.auth] stays in force"
        );
        return;
    }
    match Guards::new(http) {
        Ok(mut guards) => {
            // Unchanged limits keep their buckets, so an auth edit forgives nobody.
            if current.rate_config == http.rate_limit {
                guards.limiter = current.limiter.clone();
            }
            gate.replace_guards(guards);
            tracing::info!(
                auth = http.auth.enabled,
                "HTTP authentication and rate limits updated"
            );
        }
        Err(error) => {
            tracing::error!(%error, "the new [http.auth] cannot be used; the previous one stays in force");
        }
    }
}

/// Publishes that `subject` was rate limited, unless it was announced less than
/// [`ANNOUNCE_EVERY`] ago.
fn announce_rate_limited(inner: &Inner, subject: String) {
    let Some(bus) = inner.bus.get() else { return };
    let now = std::time::Instant::now();
    {
        let mut announced = inner.announced.lock().unwrap_or_else(|p| p.into_inner());
        if announced
            .get(&subject)
            .is_some_and(|at| now.duration_since(*at) < ANNOUNCE_EVERY)
        {
            return;
        }
        if announced.len() >= ANNOUNCED_CALLERS {
            announced.retain(|_, at| now.duration_since(*at) < ANNOUNCE_EVERY);
            if announced.len() >= ANNOUNCED_CALLERS {
                announced.clear();
            }
        }
        announced.insert(subject.clone(), now);
    }
    bus.publish(berth_core::bus::Event::RateLimited { subject });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_match_by_name_or_name_and_port() {
        let allowed: Vec<String> = ["localhost", "127.0.0.1", "::1", "example.com:8443"]
            .map(String::from)
            .to_vec();
        assert!(host_allowed(&allowed, "localhost"));
        assert!(host_allowed(&allowed, "LOCALHOST:8080"));
        assert!(host_allowed(&allowed, "127.0.0.1:1234"));
        assert!(host_allowed(&allowed, "[::1]:8080"));
        assert!(host_allowed(&allowed, "example.com:8443"));
        assert!(!host_allowed(&allowed, "example.com"));
        assert!(!host_allowed(&allowed, "evil.example:80"));
        assert!(!host_allowed(&allowed, "localhost.evil.example"));
        assert!(host_allowed(&[], "anything"));
    }

    #[test]
    fn metadata_sits_at_the_well_known_path_of_the_resource() {
        assert_eq!(
            metadata_url("https://mcp.example.com/mcp"),
            "https://mcp.example.com/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("http://127.0.0.1:8080/mcp"),
            "http://127.0.0.1:8080/.well-known/oauth-protected-resource/mcp"
        );
        assert_eq!(
            metadata_url("https://mcp.example.com"),
            "https://mcp.example.com/.well-known/oauth-protected-resource"
        );
    }

    #[test]
    fn only_initialize_requests_are_told_apart() {
        assert!(is_initialize(&Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"method":"initialize","params":{}}"#
        )));
        assert!(!is_initialize(&Bytes::from_static(
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list"}"#
        )));
        assert!(!is_initialize(&Bytes::from_static(b"not json")));
    }
}
