//! What lets a client resume a stream, and a session outlive its replica: the SSE events
//! sent on its streams (rmcp's `EventStore`: [`MemoryEvents`] in this process by default,
//! [`RedisEvents`] with `[cluster]`) and, with `[cluster]`, its `initialize` parameters
//! ([`RedisSessions`], rmcp's `SessionStore`) in the shared Redis.
//!
//! With them, a request for a session this replica never saw is not a 404: rmcp loads
//! the session's `initialize` from Redis, replays the handshake into a new local
//! session and serves the request; and a client that lost a stream reconnects to any
//! replica with `Last-Event-ID` and gets the events stored after it. Each stream is one
//! Redis list (`berth:sse:<stream>`); an event's id is `<stream>/<index in the list>`,
//! so the id alone says where to resume. Stream lists expire after the session idle
//! time, sessions after a day, which bounds what Redis keeps for clients that never come
//! back.
//!
//! Redis trouble never fails a request: an event that cannot be stored is still sent
//! live (with an id that replays nothing), and a session that cannot be looked up is
//! unknown (404, the client initializes anew). Both are logged, at most every ten
//! seconds.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rmcp::model::ServerJsonRpcMessage;
use rmcp::transport::streamable_http_server::session::ServerSseMessage;
use rmcp::transport::streamable_http_server::session::store::{
    EventId, EventStore, EventStoreError, EventStream, SessionState, SessionStore,
    SessionStoreError,
};
use tokio::sync::Notify;

/// A connection to the cluster's Redis, shared by the stores.
#[derive(Clone)]
pub struct ClusterRedis {
    connection: redis::aio::ConnectionManager,
    shown: String,
    /// How long a session's state and owner are kept: a day, so a long session can
    /// still move; a lost one costs a few hundred bytes until then.
    keep: Duration,
    /// How long a stream's events are kept after its last event: the session idle
    /// time, past which nobody could resume it anyway.
    keep_events: Duration,
    /// Keeps an outage to a log line every ten seconds, across the clones.
    warned: Arc<berth_state::Throttle>,
}

impl ClusterRedis {
    /// The Redis at `url`, connected on first use; `timeout` bounds each command and
    /// `keep_events` how long a stream's events stay after its last one.
    pub fn new(url: &str, timeout: Duration, keep_events: Duration) -> Result<Self, String> {
        let (connection, shown) =
            berth_state::redis_connection(url, timeout).map_err(|e| e.to_string())?;
        Ok(Self {
            connection,
            shown,
            keep: Duration::from_secs(24 * 3600),
            keep_events,
            warned: Default::default(),
        })
    }

    fn failed(&self, e: redis::RedisError) -> Box<dyn std::error::Error + Send + Sync> {
        format!("redis {}: {e}", self.shown).into()
    }

    fn keep_ms(&self) -> u64 {
        self.keep.as_millis().max(1) as u64
    }

    /// Logs that Redis could not be used for `what` (at most every ten seconds).
    fn degraded(&self, what: &str, error: &dyn std::fmt::Display) {
        if self.warned.ready() {
            tracing::warn!(%error, "cluster redis unavailable: {what}");
        }
    }
}

impl ClusterRedis {
    /// Records who owns session `id`.
    pub async fn set_owner(&self, id: &str, owner: &str) -> Result<(), String> {
        let mut connection = self.connection.clone();
        redis::cmd("SET")
            .arg(format!("berth:session-owner:{id}"))
            .arg(owner)
            .arg("PX")
            .arg(self.keep_ms())
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| format!("redis {}: {e}", self.shown))
    }

    /// Who owns session `id`, if the cluster knows it.
    pub async fn owner(&self, id: &str) -> Result<Option<String>, String> {
        let mut connection = self.connection.clone();
        redis::cmd("GET")
            .arg(format!("berth:session-owner:{id}"))
            .query_async(&mut connection)
            .await
            .map_err(|e| format!("redis {}: {e}", self.shown))
    }
}

/// Sessions' `initialize` parameters, in Redis.
pub struct RedisSessions(pub ClusterRedis);

fn session_key(id: &str) -> String {
    format!("berth:session:{id}")
}

#[async_trait::async_trait]
impl SessionStore for RedisSessions {
    async fn load(&self, session_id: &str) -> Result<Option<SessionState>, SessionStoreError> {
        let redis = &self.0;
        let mut connection = redis.connection.clone();
        let found: Option<String> = match redis::cmd("GET")
            .arg(session_key(session_id))
            .query_async(&mut connection)
            .await
        {
            Ok(found) => found,
            Err(error) => {
                redis.degraded("sessions of other replicas cannot be taken over", &error);
                None
            }
        };
        Ok(match found {
            Some(text) => Some(serde_json::from_str(&text)?),
            None => None,
        })
    }

    async fn store(&self, session_id: &str, state: &SessionState) -> Result<(), SessionStoreError> {
        let redis = &self.0;
        let mut connection = redis.connection.clone();
        redis::cmd("SET")
            .arg(session_key(session_id))
            .arg(serde_json::to_string(state)?)
            .arg("PX")
            .arg(redis.keep_ms())
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| redis.failed(e))
    }

    async fn delete(&self, session_id: &str) -> Result<(), SessionStoreError> {
        let redis = &self.0;
        let mut connection = redis.connection.clone();
        redis::cmd("DEL")
            .arg(session_key(session_id))
            .query_async::<()>(&mut connection)
            .await
            .map_err(|e| redis.failed(e))
    }
}

/// SSE events, one Redis list per stream.
pub struct RedisEvents {
    redis: ClusterRedis,
    append: redis::Script,
}

/// KEYS: the stream's list. ARGV: the event, how long to keep the list. Answers the
/// event's index (1-based).
const APPEND: &str = r"
local n = redis.call('RPUSH', KEYS[1], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return n
";

impl RedisEvents {
    /// Events kept in `redis`.
    pub fn new(redis: ClusterRedis) -> Self {
        Self {
            redis,
            append: redis::Script::new(APPEND),
        }
    }
}

/// The id of an event that could not be stored: it names no place to resume from.
const UNSTORED: &str = "unstored:";

fn stream_key(stream: &str) -> String {
    format!("berth:sse:{stream}")
}

/// An event as stored: the message (absent for a priming event) and the retry hint.
#[derive(serde::Serialize, serde::Deserialize)]
struct Stored {
    message: Option<ServerJsonRpcMessage>,
    retry_ms: Option<u64>,
}

impl Stored {
    fn into_event(self, id: String) -> ServerSseMessage {
        let retry = self.retry_ms.map(Duration::from_millis);
        match self.message {
            Some(message) => {
                let mut event = ServerSseMessage::new(id, message);
                event.retry = retry;
                event
            }
            None => ServerSseMessage::priming(id, retry.unwrap_or_default()),
        }
    }
}

#[async_trait::async_trait]
impl EventStore for RedisEvents {
    async fn store_event(
        &self,
        stream_id: &str,
        event: &ServerSseMessage,
    ) -> Result<EventId, EventStoreError> {
        let stored = Stored {
            message: event.message.as_deref().cloned(),
            retry_ms: event.retry.map(|r| r.as_millis() as u64),
        };
        let mut connection = self.redis.connection.clone();
        let appended: redis::RedisResult<u64> = self
            .append
            .key(stream_key(stream_id))
            .arg(serde_json::to_string(&stored)?)
            .arg(self.redis.keep_events.as_millis().max(1) as u64)
            .invoke_async(&mut connection)
            .await;
        match appended {
            Ok(index) => Ok(format!("{stream_id}/{index}")),
            Err(error) => {
                self.redis
                    .degraded("stream events are sent live but cannot be resumed", &error);
                Ok(format!("{UNSTORED}{stream_id}"))
            }
        }
    }

    async fn replay_events_after(
        &self,
        last_event_id: &str,
    ) -> Result<EventStream, EventStoreError> {
        if last_event_id.starts_with(UNSTORED) {
            return Err(
                "this event was sent while Redis was unavailable; it cannot be resumed".into(),
            );
        }
        let (stream, index) = last_event_id
            .rsplit_once('/')
            .and_then(|(stream, index)| Some((stream, index.parse::<u64>().ok()?)))
            .ok_or_else(|| format!("`{last_event_id}` is not an event id of this server"))?;
        let mut connection = self.redis.connection.clone();
        // List indexes are 0-based: the event after number `index` sits at `index`.
        let later: Vec<String> = redis::cmd("LRANGE")
            .arg(stream_key(stream))
            .arg(index)
            .arg(-1)
            .query_async(&mut connection)
            .await
            .map_err(|e| self.redis.failed(e))?;
        let events: Vec<ServerSseMessage> = later
            .into_iter()
            .enumerate()
            .map(|(offset, text)| {
                let stored: Stored = serde_json::from_str(&text)?;
                Ok(stored.into_event(format!("{stream}/{}", index + 1 + offset as u64)))
            })
            .collect::<Result<_, serde_json::Error>>()?;
        Ok(Box::pin(futures::stream::iter(events)))
    }
}

/// How long a replay waits for more events of a stream whose answer has not been sent
/// yet. A client polling a long call reconnects after this, as after any stream end.
const TAIL: Duration = Duration::from_secs(60);

/// SSE events kept in this process, the default without a cluster: a client that lost a
/// stream (or whose stream the server closed, `[http] sse_poll_after_ms`) reconnects with
/// `Last-Event-ID` and gets what it missed. Unlike a finite replay, a replay here goes on
/// with the stream's new events until the request's answer has been sent (or [`TAIL`]),
/// so a call still running when the client reconnects is answered on the new stream.
pub struct MemoryEvents {
    inner: Arc<Streams>,
}

/// The streams' logs, and how long each is kept after its last event.
struct Streams {
    logs: Mutex<HashMap<String, Log>>,
    keep: Duration,
    /// When the logs were last swept for expired streams.
    swept: Mutex<Instant>,
}

/// How long an answered stream is kept: a client that lost it reconnects within the
/// priming event's `retry` (3 s), so this is ample, and a busy server keeps few.
const ANSWERED_KEEP: Duration = Duration::from_secs(30);

/// How often the logs are swept for expired streams (a sweep looks at every stream).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// One stream's events, oldest first.
struct Log {
    events: Vec<(Option<Arc<ServerJsonRpcMessage>>, Option<Duration>)>,
    touched: Instant,
    /// Whether a response or error has been sent on it (a request's stream then ends).
    answered: bool,
    changed: Arc<Notify>,
}

impl Streams {
    fn logs(&self) -> std::sync::MutexGuard<'_, HashMap<String, Log>> {
        self.logs.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl MemoryEvents {
    /// A store keeping each stream `keep` after its last event.
    pub fn new(keep: Duration) -> Self {
        Self {
            inner: Arc::new(Streams {
                logs: Mutex::default(),
                keep,
                swept: Mutex::new(Instant::now()),
            }),
        }
    }
}

/// The event numbered `index` of `stream` as the client is sent it.
fn replayed(
    stream: &str,
    index: usize,
    message: Option<Arc<ServerJsonRpcMessage>>,
    retry: Option<Duration>,
) -> ServerSseMessage {
    let id = format!("{stream}/{index}");
    match message {
        Some(message) => {
            let mut event = ServerSseMessage::new(id, (*message).clone());
            event.retry = retry;
            event
        }
        None => ServerSseMessage::priming(id, retry.unwrap_or_default()),
    }
}

#[async_trait::async_trait]
impl EventStore for MemoryEvents {
    async fn store_event(
        &self,
        stream_id: &str,
        event: &ServerSseMessage,
    ) -> Result<EventId, EventStoreError> {
        let now = Instant::now();
        let keep = self.inner.keep;
        let sweep = {
            let mut swept = self.inner.swept.lock().unwrap_or_else(|e| e.into_inner());
            let due = now.duration_since(*swept) >= SWEEP_EVERY;
            if due {
                *swept = now;
            }
            due
        };
        let mut logs = self.inner.logs();
        // Writers forget streams past their time (answered ones soon), so memory follows
        // the streams that may still be resumed.
        if sweep {
            logs.retain(|_, log| {
                let kept = if log.answered { ANSWERED_KEEP } else { keep };
                now.duration_since(log.touched) < kept
            });
        }
        let log = logs.entry(stream_id.to_string()).or_insert_with(|| Log {
            events: Vec::new(),
            touched: now,
            answered: false,
            changed: Arc::default(),
        });
        log.events.push((event.message.clone(), event.retry));
        log.touched = now;
        if let Some(message) = &event.message
            && matches!(
                **message,
                ServerJsonRpcMessage::Response(_) | ServerJsonRpcMessage::Error(_)
            )
        {
            log.answered = true;
        }
        log.changed.notify_waiters();
        Ok(format!("{stream_id}/{}", log.events.len()))
    }

    async fn replay_events_after(
        &self,
        last_event_id: &str,
    ) -> Result<EventStream, EventStoreError> {
        let (stream, seen) = last_event_id
            .rsplit_once('/')
            .and_then(|(stream, index)| Some((stream.to_string(), index.parse::<usize>().ok()?)))
            .ok_or_else(|| format!("`{last_event_id}` is not an event id of this server"))?;
        if !self.inner.logs().contains_key(&stream) {
            return Err(format!("no stream has the event `{last_event_id}` (any more)").into());
        }
        let (sender, receiver) = tokio::sync::mpsc::channel(64);
        let streams = Arc::clone(&self.inner);
        tokio::spawn(async move {
            let give_up = tokio::time::Instant::now() + TAIL;
            let mut sent = seen;
            loop {
                // Subscribed before reading, so an event stored in between still wakes us.
                let changed = match streams.logs().get(&stream) {
                    Some(log) => Arc::clone(&log.changed),
                    None => return,
                };
                let notified = changed.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                let (batch, answered) = match streams.logs().get(&stream) {
                    Some(log) => (
                        log.events.get(sent..).unwrap_or_default().to_vec(),
                        log.answered,
                    ),
                    None => return,
                };
                let read_all = batch.is_empty();
                for (message, retry) in batch {
                    sent += 1;
                    if sender
                        .send(replayed(&stream, sent, message, retry))
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
                if answered {
                    return;
                }
                if !read_all {
                    continue;
                }
                tokio::select! {
                    _ = &mut notified => {}
                    _ = tokio::time::sleep_until(give_up) => return,
                    _ = sender.closed() => return,
                }
            }
        });
        Ok(Box::pin(Received(receiver)))
    }
}

/// A channel's receiving end as the event stream rmcp takes.
struct Received(tokio::sync::mpsc::Receiver<ServerSseMessage>);

impl futures::Stream for Received {
    type Item = ServerSseMessage;

    fn poll_next(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<ServerSseMessage>> {
        self.0.poll_recv(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use futures::StreamExt;

    #[tokio::test]
    async fn a_memory_replay_waits_for_the_answer_of_a_call_still_running() {
        let store = MemoryEvents::new(Duration::from_secs(60));
        let priming = ServerSseMessage::priming("0", Duration::from_secs(3));
        let first = store.store_event("req-1", &priming).await.unwrap();
        assert_eq!(first, "req-1/1");
        let mut replay = store.replay_events_after(&first).await.unwrap();
        // The answer is stored after the client reconnected: the replay delivers it and
        // ends there.
        let answer = ServerJsonRpcMessage::response(
            rmcp::model::ServerResult::empty(()),
            rmcp::model::NumberOrString::Number(1),
        );
        store
            .store_event("req-1", &ServerSseMessage::from_message(answer))
            .await
            .unwrap();
        let got = tokio::time::timeout(Duration::from_secs(5), replay.next())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(got.event_id.as_deref(), Some("req-1/2"));
        assert!(
            replay.next().await.is_none(),
            "the stream ends after the answer"
        );
        assert!(store.replay_events_after("req-9/1").await.is_err());
    }

    fn redis(server: &berth_test_services::Redis) -> ClusterRedis {
        ClusterRedis::new(
            &server.url(),
            Duration::from_secs(1),
            Duration::from_secs(60),
        )
        .unwrap()
    }

    #[tokio::test]
    async fn events_replay_after_an_id_on_any_replica() {
        let server = berth_test_services::Redis::start(berth_test_services::Persistence::None);
        let one = RedisEvents::new(redis(&server));
        let two = RedisEvents::new(redis(&server));
        let priming = ServerSseMessage::priming("0", Duration::from_secs(3));
        let first = one.store_event("s-1", &priming).await.unwrap();
        let note = ServerJsonRpcMessage::notification(
            rmcp::model::ServerNotification::ToolListChangedNotification(Default::default()),
        );
        let second = one
            .store_event("s-1", &ServerSseMessage::from_message(note.clone()))
            .await
            .unwrap();
        one.store_event("s-2", &priming).await.unwrap();
        assert_eq!((first.as_str(), second.as_str()), ("s-1/1", "s-1/2"));
        let replayed: Vec<_> = two
            .replay_events_after(&first)
            .await
            .unwrap()
            .collect()
            .await;
        assert_eq!(replayed.len(), 1);
        assert_eq!(replayed[0].event_id.as_deref(), Some("s-1/2"));
        assert_eq!(
            serde_json::to_value(replayed[0].message.as_deref().unwrap()).unwrap(),
            serde_json::to_value(&note).unwrap()
        );
        assert!(
            two.replay_events_after(&second)
                .await
                .unwrap()
                .collect::<Vec<_>>()
                .await
                .is_empty()
        );
        assert!(two.replay_events_after("nonsense").await.is_err());

        // Redis gone: events still get an id (they are sent live), which replays nothing,
        // and an unknown session is just unknown.
        drop(server);
        let id = one.store_event("s-1", &priming).await.unwrap();
        assert!(id.starts_with(UNSTORED), "{id}");
        assert!(one.replay_events_after(&id).await.is_err());
        let sessions = RedisSessions(one.redis.clone());
        assert!(sessions.load("any").await.unwrap().is_none());
    }
}
