//! Plugin facts that clients on other replicas must hear (`[cluster]`): that a resource
//! changed. A plugin says so on whichever replica ran its call, but the clients that
//! subscribed to the resource, and the cached reads of it, are on every replica.
//!
//! Each such fact on this process's bus is published on the Redis channel
//! `berth:events`; each one another replica published there drops this process's cached
//! reads of the resource and goes on this process's bus, where sessions that subscribed
//! send `notifications/resources/updated`. A fact that came from Redis is not sent back
//! (the outgoing side skips the facts the incoming side just put on the bus). Pub/sub
//! delivers to whoever listens at the time: a replica that is disconnected misses what
//! happens meanwhile, as a client would; the subscription is re-made after a failure.
//! List changes need no fan-out: every replica serves the same plugins and sees them
//! change itself.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures::StreamExt;
use tokio::sync::broadcast;

use crate::bus::{Bus, Event};
use crate::shutdown::Shutdown;
use berth_state::cache::ResultCache;

/// The channel every replica publishes and hears resource changes on.
const CHANNEL: &str = "berth:events";

/// A resource change as it crosses Redis.
#[derive(serde::Serialize, serde::Deserialize)]
struct Fact {
    /// The replica that published it, so it ignores its own.
    origin: String,
    plugin: String,
    uri: String,
}

/// Starts the fan-out over the Redis at `url` until `shutdown`.
pub fn spawn(
    url: &str,
    bus: &Bus,
    cache: Option<Arc<ResultCache>>,
    shutdown: &Shutdown,
) -> Result<(), String> {
    let shown = berth_state::redacted_url(url);
    let client = redis::Client::open(url).map_err(|e| format!("[cluster] {shown}: {e}"))?;
    let origin = format!(
        "{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos())
    );
    // Facts the incoming side put on the bus, which the outgoing side must not send back.
    let echoes: Arc<Mutex<VecDeque<(String, String)>>> = Arc::default();

    let stop = shutdown.child_token();
    let (out_client, out_origin, out_echoes, out_shown) = (
        client.clone(),
        origin.clone(),
        echoes.clone(),
        shown.clone(),
    );
    let mut facts = bus.subscribe_facts();
    shutdown.spawn(async move {
        let mut connection = None;
        loop {
            let fact = tokio::select! {
                _ = stop.cancelled() => break,
                fact = facts.recv() => fact,
            };
            let (plugin, uri) = match fact {
                Ok(Event::ResourceChanged { plugin, uri }) => (plugin, uri),
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => continue,
                Err(broadcast::error::RecvError::Closed) => break,
            };
            {
                let mut echoes = out_echoes.lock().unwrap_or_else(|e| e.into_inner());
                if let Some(i) = echoes.iter().position(|(p, u)| *p == plugin && *u == uri) {
                    echoes.remove(i);
                    continue;
                }
            }
            let message = Fact {
                origin: out_origin.clone(),
                plugin,
                uri,
            };
            let Ok(payload) = serde_json::to_string(&message) else {
                continue;
            };
            if connection.is_none() {
                connection = out_client.get_multiplexed_async_connection().await.ok();
            }
            let sent = match connection.as_mut() {
                Some(c) => redis::cmd("PUBLISH")
                    .arg(CHANNEL)
                    .arg(&payload)
                    .query_async::<i64>(c)
                    .await
                    .map_err(|e| e.to_string()),
                None => Err("not connected".to_string()),
            };
            if let Err(error) = sent {
                connection = None;
                tracing::warn!(redis = %out_shown, %error, plugin = %message.plugin, uri = %message.uri, "resource change not sent to the other replicas");
            }
        }
    });

    let stop = shutdown.child_token();
    let bus = bus.clone();
    shutdown.spawn(async move {
        while !stop.is_cancelled() {
            let listened = tokio::select! {
                _ = stop.cancelled() => break,
                listened = listen(&client, &origin, &bus, cache.as_deref(), &echoes) => listened,
            };
            if let Err(error) = listened {
                tracing::warn!(redis = %shown, %error, "not hearing other replicas' resource changes; retrying in 1 s");
            }
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    });
    Ok(())
}

/// Hears the channel until the connection fails.
async fn listen(
    client: &redis::Client,
    origin: &str,
    bus: &Bus,
    cache: Option<&ResultCache>,
    echoes: &Mutex<VecDeque<(String, String)>>,
) -> Result<(), String> {
    let mut pubsub = client.get_async_pubsub().await.map_err(|e| e.to_string())?;
    pubsub.subscribe(CHANNEL).await.map_err(|e| e.to_string())?;
    tracing::info!(
        channel = CHANNEL,
        "hearing other replicas' resource changes"
    );
    let mut messages = pubsub.on_message();
    while let Some(message) = messages.next().await {
        let Ok(payload) = message.get_payload::<String>() else {
            continue;
        };
        let Ok(fact) = serde_json::from_str::<Fact>(&payload) else {
            tracing::debug!("ignored a message on {CHANNEL} that is not a resource change");
            continue;
        };
        if fact.origin == origin {
            continue;
        }
        if let Some(cache) = cache {
            cache.invalidate_here(&fact.plugin, &fact.uri);
        }
        {
            let mut echoes = echoes.lock().unwrap_or_else(|e| e.into_inner());
            // Bounded: a bus nobody reads must not grow it without end.
            if echoes.len() >= 1024 {
                echoes.pop_front();
            }
            echoes.push_back((fact.plugin.clone(), fact.uri.clone()));
        }
        bus.publish(Event::ResourceChanged {
            plugin: fact.plugin,
            uri: fact.uri,
        });
    }
    Err("the subscription ended".into())
}
