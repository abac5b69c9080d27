//! HTTP sessions: rmcp's in-memory session manager with a cap on how many may be open,
//! prompt clean-up when a session ends, and the identity each session belongs to.
//!
//! rmcp's `LocalSessionManager` closes an idle session's worker after its keep-alive
//! (the idle timeout) but keeps the session's handle in its map until a client sends
//! DELETE, so a count taken from that map only grows. Each session's transport is
//! therefore wrapped with a guard: the transport lives exactly as long as the session's
//! MCP service, so dropping it is the one reliable "session over" signal, whatever
//! ended it (DELETE, idle timeout, shutdown, a broken client). The guard removes the
//! handle (so the session id answers 404 and the client re-initializes) and the count.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};

use futures::Stream;
use rmcp::RoleServer;
use rmcp::model::{ClientJsonRpcMessage, ServerJsonRpcMessage};
use rmcp::service::{RxJsonRpcMessage, TxJsonRpcMessage};
use rmcp::transport::streamable_http_server::SessionManager;
use rmcp::transport::streamable_http_server::session::local::{
    LocalSessionManager, LocalSessionManagerError, LocalSessionWorker,
};
use rmcp::transport::streamable_http_server::session::store::EventStore;
use rmcp::transport::streamable_http_server::session::{
    RestoreOutcome, ServerSseMessage, SessionId,
};
use rmcp::transport::{Transport, WorkerTransport};
use std::future::Future as _;

use crate::auth::{AuthMethod, Identity};
use crate::resume::{ClusterRedis, MemoryEvents, RedisEvents};

/// Why a session operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SessionsError {
    /// `max_sessions` are open already.
    #[error(
        "{max} sessions are open, the most `[http] max_sessions` allows; close one (DELETE) or retry later"
    )]
    Full {
        /// The cap.
        max: usize,
    },
    /// rmcp's session manager refused.
    #[error(transparent)]
    Local(#[from] LocalSessionManagerError),
}

/// Who opened a session: how the caller authenticated and as whom. Both count: a JWT
/// whose `sub` happens to equal a static token's name is someone else (the rate limiter
/// keys callers the same way).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Owner {
    method: AuthMethod,
    subject: String,
}

impl Owner {
    fn of(identity: &Identity) -> Owner {
        Owner {
            method: identity.method,
            subject: identity.subject.clone(),
        }
    }

    /// How the owner is written in the cluster's Redis.
    fn label(&self) -> String {
        format!("{}:{}", self.method.as_str(), self.subject)
    }
}

/// Open sessions and, for authenticated ones, the identity that may use them; plus the
/// handshakes between their count check and their insertion, so concurrent handshakes
/// cannot overshoot the cap.
#[derive(Default)]
struct Open {
    by_id: HashMap<SessionId, Option<Owner>>,
    /// The MCP protocol version each session's requests say they speak (their
    /// `MCP-Protocol-Version` header), for the console.
    protocols: HashMap<SessionId, String>,
    reserved: usize,
}

/// The open sessions: at most `max`, each with the subject that opened it.
pub struct Sessions {
    local: LocalSessionManager,
    max: usize,
    open: Mutex<Open>,
    /// The cluster's Redis, where each session's owner is kept beside rmcp's session
    /// state, so a replica restoring a session knows whose it is.
    cluster: Option<ClusterRedis>,
    /// Requests' SSE streams still without an answer are closed after this (SEP-1699).
    poll_after: Option<std::time::Duration>,
    /// Handed to each session's guard, which must not keep the manager alive.
    this: Weak<Sessions>,
}

impl Sessions {
    /// At most `max` sessions, each closed after `idle` without a request. When
    /// `resumable`, their streams' events are kept (in `cluster`, so any replica can
    /// replay them, or in this process) for clients that reconnect; a request's stream
    /// still without its answer after `poll_after` is closed, for the client to reconnect.
    pub fn new(
        max: usize,
        idle: std::time::Duration,
        cluster: Option<ClusterRedis>,
        resumable: bool,
        poll_after: Option<std::time::Duration>,
    ) -> Arc<Self> {
        let events: Option<Arc<dyn EventStore>> = match (&cluster, resumable) {
            (_, false) => None,
            (Some(redis), true) => Some(Arc::new(RedisEvents::new(redis.clone()))),
            (None, true) => Some(Arc::new(MemoryEvents::new(idle))),
        };
        let mut local = match events {
            Some(events) => LocalSessionManager::default().with_event_store(events),
            None => LocalSessionManager::default(),
        };
        local.session_config.keep_alive = Some(idle);
        Arc::new_cyclic(|this| Self {
            local,
            max,
            open: Mutex::new(Open::default()),
            cluster,
            poll_after,
            this: this.clone(),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, Open> {
        self.open
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Sessions open now.
    pub fn count(&self) -> usize {
        self.open().by_id.len()
    }

    /// Who holds the open sessions, for the console, sorted: for each, the subject that
    /// opened it (`None` for a session opened without authentication) and the protocol
    /// version its requests speak (`None` until one said).
    pub fn holders(&self) -> Vec<(Option<String>, Option<String>)> {
        let open = self.open();
        let mut holders: Vec<_> = open
            .by_id
            .iter()
            .map(|(id, owner)| {
                (
                    owner.as_ref().map(|o| o.subject.clone()),
                    open.protocols.get(id).cloned(),
                )
            })
            .collect();
        holders.sort();
        holders
    }

    /// Records the protocol version a request on open session `id` said it speaks.
    pub fn note_protocol(&self, id: &str, version: &str) {
        let mut open = self.open();
        if !open.by_id.contains_key(id) || open.protocols.get(id).is_some_and(|v| v == version) {
            return;
        }
        // Bounded by the header's own limits; a version is a short date string.
        let version: String = version.chars().take(32).collect();
        if let Some((key, _)) = open.by_id.get_key_value(id) {
            let key = key.clone();
            open.protocols.insert(key, version);
        }
    }

    /// Whether a new session would be refused.
    pub fn is_full(&self) -> bool {
        self.count() >= self.max
    }

    /// The cap on open sessions.
    pub fn max(&self) -> usize {
        self.max
    }

    /// Records that session `id` belongs to `identity` (its method and subject); later
    /// requests on it from anyone else are refused.
    pub fn bind_owner(&self, id: &str, identity: &Identity) {
        let bound = match self.open().by_id.get_mut(id) {
            Some(owner @ None) => {
                *owner = Some(Owner::of(identity));
                true
            }
            _ => false,
        };
        if bound && let Some(redis) = &self.cluster {
            let (redis, id, owner) = (redis.clone(), id.to_string(), Owner::of(identity));
            tokio::spawn(async move {
                if let Err(error) = redis.set_owner(&id, &owner.label()).await {
                    tracing::warn!(%error, "session owner not shared; another replica will refuse to restore it");
                }
            });
        }
    }

    /// Whether `identity` may take over session `id`, which this replica does not have
    /// open, from the cluster: only its owner may. Without a cluster, or when Redis does
    /// not know the session, rmcp answers (404).
    pub async fn may_restore(&self, id: &str, identity: &Identity) -> bool {
        let Some(redis) = &self.cluster else {
            return true;
        };
        match redis.owner(id).await {
            Ok(Some(owner)) => owner == Owner::of(identity).label(),
            Ok(None) => true,
            // Unknown owner: refuse rather than hand a session to anyone.
            Err(error) => {
                tracing::warn!(%error, "session owner unavailable; refusing to restore");
                false
            }
        }
    }

    /// Whether `identity` may use session `id` (an unknown or unbound session is left
    /// to rmcp, which answers 404 for the former).
    pub fn may_use(&self, id: &str, identity: &Identity) -> bool {
        match self.open().by_id.get(id) {
            Some(Some(owner)) => *owner == Owner::of(identity),
            _ => true,
        }
    }

    /// Whether session `id` is open.
    pub fn is_open(&self, id: &str) -> bool {
        self.open().by_id.contains_key(id)
    }
}

/// Ends one session's bookkeeping when its transport is dropped.
struct SessionGuard {
    sessions: Weak<Sessions>,
    id: SessionId,
}

impl Drop for SessionGuard {
    fn drop(&mut self) {
        berth_core::metrics::session_closed();
        let Some(sessions) = self.sessions.upgrade() else {
            return;
        };
        {
            let mut open = sessions.open();
            open.by_id.remove(&self.id);
            open.protocols.remove(&self.id);
        }
        tracing::debug!(session = %self.id, "session ended");
        // The handle map sits behind an async lock: remove it from a task.
        let id = self.id.clone();
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            runtime.spawn(async move {
                sessions.local.sessions.write().await.remove(&id);
            });
        }
    }
}

/// A session's transport, carrying the guard that cleans up after it.
pub struct TrackedTransport {
    inner: WorkerTransport<LocalSessionWorker>,
    _guard: SessionGuard,
}

impl Transport<RoleServer> for TrackedTransport {
    type Error = <WorkerTransport<LocalSessionWorker> as Transport<RoleServer>>::Error;

    fn send(
        &mut self,
        item: TxJsonRpcMessage<RoleServer>,
    ) -> impl Future<Output = Result<(), Self::Error>> + Send + 'static {
        self.inner.send(item)
    }

    fn receive(&mut self) -> impl Future<Output = Option<RxJsonRpcMessage<RoleServer>>> + Send {
        self.inner.receive()
    }

    fn close(&mut self) -> impl Future<Output = Result<(), Self::Error>> + Send {
        self.inner.close()
    }
}

impl SessionManager for Sessions {
    type Error = SessionsError;
    type Transport = TrackedTransport;

    async fn create_session(&self) -> Result<(SessionId, Self::Transport), Self::Error> {
        {
            let mut open = self.open();
            if open.by_id.len() + open.reserved >= self.max {
                return Err(SessionsError::Full { max: self.max });
            }
            open.reserved += 1;
        }
        let created = self.local.create_session().await;
        let mut open = self.open();
        open.reserved -= 1;
        let (id, inner) = created?;
        open.by_id.insert(id.clone(), None);
        drop(open);
        berth_core::metrics::session_opened();
        let guard = SessionGuard {
            sessions: self.this.clone(),
            id: id.clone(),
        };
        Ok((
            id,
            TrackedTransport {
                inner,
                _guard: guard,
            },
        ))
    }

    async fn initialize_session(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<ServerJsonRpcMessage, Self::Error> {
        Ok(self.local.initialize_session(id, message).await?)
    }

    async fn has_session(&self, id: &SessionId) -> Result<bool, Self::Error> {
        let open = self.open().by_id.contains_key(id);
        Ok(open && self.local.has_session(id).await?)
    }

    async fn close_session(&self, id: &SessionId) -> Result<(), Self::Error> {
        // Ended from now on for the gate (a second DELETE is 404), though its transport
        // winds down a moment after the answer and its guard finishes the bookkeeping.
        {
            let mut open = self.open();
            open.by_id.remove(id);
            open.protocols.remove(id);
        }
        Ok(self.local.close_session(id).await?)
    }

    async fn create_stream(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        let stream = self.local.create_stream(id, message).await?;
        Ok(ClosedAfter::new(stream, self.poll_after))
    }

    async fn accept_message(
        &self,
        id: &SessionId,
        message: ClientJsonRpcMessage,
    ) -> Result<(), Self::Error> {
        Ok(self.local.accept_message(id, message).await?)
    }

    async fn create_standalone_stream(
        &self,
        id: &SessionId,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.local.create_standalone_stream(id).await?)
    }

    async fn resume(
        &self,
        id: &SessionId,
        last_event_id: String,
    ) -> Result<impl Stream<Item = ServerSseMessage> + Send + Sync + 'static, Self::Error> {
        Ok(self.local.resume(id, last_event_id).await?)
    }

    async fn restore_session(
        &self,
        id: SessionId,
    ) -> Result<RestoreOutcome<Self::Transport>, Self::Error> {
        {
            let mut open = self.open();
            if open.by_id.len() + open.reserved >= self.max {
                return Err(SessionsError::Full { max: self.max });
            }
            open.reserved += 1;
        }
        let restored = self.local.restore_session(id.clone()).await;
        let mut open = self.open();
        open.reserved -= 1;
        match restored? {
            RestoreOutcome::Restored(inner) => {
                open.by_id.insert(id.clone(), None);
                drop(open);
                berth_core::metrics::session_opened();
                tracing::info!(session = %id, "session restored from the cluster");
                let guard = SessionGuard {
                    sessions: self.this.clone(),
                    id,
                };
                Ok(RestoreOutcome::Restored(TrackedTransport {
                    inner,
                    _guard: guard,
                }))
            }
            RestoreOutcome::AlreadyPresent => Ok(RestoreOutcome::AlreadyPresent),
            _ => Ok(RestoreOutcome::NotSupported),
        }
    }

    fn event_store(&self) -> Option<Arc<dyn EventStore>> {
        self.local.event_store()
    }
}

/// A request's SSE stream that ends after a while (SEP-1699 polling) if it is still
/// open then: the request goes on, its events are kept in the event store, and the
/// client, told by the priming event's `retry` how long to wait, reconnects with
/// `Last-Event-ID` to get them. Without a limit it is the stream itself.
struct ClosedAfter<S> {
    inner: S,
    deadline: Option<std::pin::Pin<Box<tokio::time::Sleep>>>,
}

impl<S> ClosedAfter<S> {
    fn new(inner: S, after: Option<std::time::Duration>) -> Self {
        Self {
            inner,
            deadline: after.map(|after| Box::pin(tokio::time::sleep(after))),
        }
    }
}

impl<S: Stream<Item = ServerSseMessage> + Unpin> Stream for ClosedAfter<S> {
    type Item = ServerSseMessage;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ServerSseMessage>> {
        use std::task::Poll;
        if let Poll::Ready(item) = std::pin::Pin::new(&mut self.inner).poll_next(cx) {
            return Poll::Ready(item);
        }
        let expired = match self.deadline.as_mut() {
            Some(deadline) => deadline.as_mut().poll(cx).is_ready(),
            None => false,
        };
        if expired {
            tracing::debug!("closing a request's SSE stream for the client to poll");
            return Poll::Ready(None);
        }
        Poll::Pending
    }
}
