//! Plugin event hooks: a bus subscriber that hands each event to every served plugin
//! that asked for its kind (contract 0.2's optional `events` export), and the mapping
//! from [`crate::bus::Event`] to what plugins are shown ([`PluginEvent`]).
//!
//! Delivery and its lag/drop policy, from the bus to the guest:
//! - The dispatcher is an ordinary broadcast subscriber, so publishing never waits for
//!   it. If it falls more than [`crate::bus::CAPACITY`] events behind, the bus drops the oldest
//!   for it; it logs one warning with the number missed and carries on (hooks are
//!   best-effort observers: there is no snapshot to resynchronise from, and nothing is
//!   replayed).
//! - The dispatcher itself never awaits a plugin. Each interested plugin has its own
//!   task fed by a queue of [`QUEUE_CAPACITY`] events; the dispatcher `try_send`s into
//!   it, and when it is full (that plugin's hook is slow or looping) the event is dropped
//!   for that plugin only and counted. One warning is logged when a plugin starts
//!   losing events and one line when it catches up, with the number dropped.
//! - A plugin's task delivers its events one at a time, in order, each in a fresh
//!   sandboxed instance with the call timeout, memory cap and epoch interruption of a
//!   tool call ([`LoadedPlugin::deliver`]). A hook that traps or times out is logged and
//!   the next event is delivered as usual.
//! - Everything stops on shutdown: the dispatcher and every plugin task watch a child
//!   token of [`Shutdown`], which also cancels a hook that is running. A plugin that
//!   stops being served loses its task the same way, at the next event (its own unload):
//!   its running hook is cancelled and its queued events are dropped.
//!
//! Which plugins are served is read from the current registry snapshot when each event
//! is dispatched, so hooks see what happens after the server is ready (the first loads
//! at start-up happen before anyone listens). A plugin is not told about its own
//! load, reload or unload: the lifecycle publishes those facts right after the swap, so the
//! hook would run in the very build the event is about (or, after an unload, in a build
//! no longer served), which tells it nothing it could not know and invites loops.
//!
//! This module does not decide what plugins may observe beyond that: events carry no
//! call arguments or results, and [`PathRedactor`] keeps host paths out of them.

use std::collections::HashMap;
use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;

pub use berth_model::events::{EventKind, PathRedactor, PluginEvent};

use crate::bus::{Bus, Event};
use crate::shutdown::Shutdown;
use crate::state::Served;
use berth_runtime::LoadedPlugin;

/// Events one plugin's queue holds while its hook is busy; past that, new events are
/// dropped for that plugin. Enough to absorb a burst of tool calls, small enough that a
/// stuck hook costs little memory.
pub const QUEUE_CAPACITY: usize = 64;

/// What the dispatcher needs of a plugin; [`LoadedPlugin`] in the server, a fake in
/// the tests, so the lag and drop policy can be tested without WebAssembly.
pub(crate) trait Subscriber: Clone + Send + Sync + 'static {
    /// Its plugin name, which keys its queue.
    fn name(&self) -> &str;

    /// Whether it asked for events of `kind`.
    fn wants(&self, kind: EventKind) -> bool;

    /// Runs its hook for `event` to the end, or until `cancel` fires. Failures are the
    /// subscriber's to log: the dispatcher carries on either way.
    fn deliver(
        &self,
        event: Arc<PluginEvent>,
        cancel: CancellationToken,
    ) -> impl Future<Output = ()> + Send;
}

impl Subscriber for LoadedPlugin {
    fn name(&self) -> &str {
        &self.manifest().name
    }

    fn wants(&self, kind: EventKind) -> bool {
        LoadedPlugin::wants(self, kind)
    }

    async fn deliver(&self, event: Arc<PluginEvent>, cancel: CancellationToken) {
        // The outcome is already logged by the runtime (a warning for a trap or a
        // timeout); a failed hook changes nothing else. Note: a delivery is not a tool
        // call and publishes nothing on the bus, so a hook that listens to
        // `tool-called` cannot feed itself.
        let _ = LoadedPlugin::deliver(self, &event, &cancel).await;
    }
}

/// Counters of the delivery policy, for tests and, later, metrics.
#[derive(Debug, Default)]
pub struct HookStats {
    /// Events handed to a plugin's queue.
    pub queued: AtomicU64,
    /// Events dropped for a plugin because its queue was full.
    pub dropped: AtomicU64,
    /// Bus events the dispatcher missed because it lagged behind the bus.
    pub lagged: AtomicU64,
}

/// One plugin's queue, as the dispatcher holds it. Dropping it stops the plugin's task:
/// the hook running is cancelled and what was queued is never delivered.
struct Queue<S> {
    sender: mpsc::Sender<(S, Arc<PluginEvent>)>,
    /// Events dropped since the queue last accepted one (for the warn/catch-up lines).
    dropping: u64,
    /// Stops the plugin's task (a child of the shutdown token).
    stop: CancellationToken,
}

impl<S> Drop for Queue<S> {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Fans events out to per-plugin queues; never awaits.
struct Dispatcher<S: Subscriber> {
    queues: HashMap<String, Queue<S>>,
    shutdown: Shutdown,
    stats: Arc<HookStats>,
}

impl<S: Subscriber> Dispatcher<S> {
    fn new(shutdown: Shutdown, stats: Arc<HookStats>) -> Self {
        Self {
            queues: HashMap::new(),
            shutdown,
            stats,
        }
    }

    /// Queues `event` for every plugin in `served` that wants its kind. The queue item
    /// carries the handle current at dispatch time, so a plugin keeps one ordered queue
    /// across reloads and config changes while each event runs on the build that was
    /// served when it happened.
    fn dispatch(&mut self, event: PluginEvent, served: &[S]) {
        // Plugins no longer served lose their queue, and with it their task: the hook
        // running is cancelled and nothing queued runs. A removed plugin's work is
        // unwanted by definition (the outside review saw a removed spinning hook run 65
        // more times, ~32 minutes of a core). The unload's own event arrives here
        // right after the swap, so this happens at once.
        self.queues.retain(|name, queue| {
            let kept = served.iter().any(|s| s.name() == name);
            if !kept {
                let pending = QUEUE_CAPACITY - queue.sender.capacity();
                tracing::info!(
                    plugin = %name,
                    pending,
                    "plugin no longer served; its event hook is stopped and its queued events dropped"
                );
            }
            kept
        });
        let event = Arc::new(event);
        let kind = event.kind();
        for subscriber in served {
            let name = subscriber.name();
            if !subscriber.wants(kind) || event.about_plugin() == Some(name) {
                continue;
            }
            if !self.queues.contains_key(name) {
                let queue = self.start(name);
                self.queues.insert(name.to_string(), queue);
            }
            let Some(queue) = self.queues.get_mut(name) else {
                continue;
            };
            match queue
                .sender
                .try_send((subscriber.clone(), Arc::clone(&event)))
            {
                Ok(()) => {
                    self.stats.queued.fetch_add(1, Ordering::Relaxed);
                    if queue.dropping > 0 {
                        tracing::info!(
                            plugin = name,
                            dropped = queue.dropping,
                            "plugin event hook caught up"
                        );
                        queue.dropping = 0;
                    }
                }
                Err(mpsc::error::TrySendError::Full(_)) => {
                    self.stats.dropped.fetch_add(1, Ordering::Relaxed);
                    if queue.dropping == 0 {
                        tracing::warn!(
                            plugin = name,
                            queue = QUEUE_CAPACITY,
                            event = kind.as_str(),
                            "plugin event hook is falling behind; dropping events for it until it catches up"
                        );
                    }
                    queue.dropping += 1;
                }
                // Its task ended, which only happens on shutdown.
                Err(mpsc::error::TrySendError::Closed(_)) => {}
            }
        }
    }

    /// Starts the task that delivers one plugin's events in order.
    fn start(&self, name: &str) -> Queue<S> {
        let (sender, mut receiver) = mpsc::channel::<(S, Arc<PluginEvent>)>(QUEUE_CAPACITY);
        let stop = self.shutdown.child_token();
        let stop_queue = stop.clone();
        let name = name.to_string();
        self.shutdown.spawn(async move {
            loop {
                let (subscriber, event) = tokio::select! {
                    biased;
                    () = stop.cancelled() => break,
                    next = receiver.recv() => match next {
                        Some(item) => item,
                        None => break,
                    },
                };
                tracing::trace!(plugin = %name, event = event.kind().as_str(), "delivering event");
                // The stop token also cancels a hook that is running at shutdown or when
                // the plugin stops being served.
                subscriber.deliver(event, stop.clone()).await;
            }
        });
        Queue {
            sender,
            dropping: 0,
            stop: stop_queue,
        }
    }
}

/// Receives bus events until shutdown and dispatches those plugins may see.
async fn dispatch_loop<S: Subscriber>(
    mut events: broadcast::Receiver<Event>,
    served: impl Fn() -> Vec<S>,
    mut dispatcher: Dispatcher<S>,
    redactor: PathRedactor,
    stop: CancellationToken,
) {
    loop {
        let received = tokio::select! {
            biased;
            () = stop.cancelled() => return,
            received = events.recv() => received,
        };
        match received {
            Ok(event) => {
                if let Some(event) = PluginEvent::from_bus(&event, &redactor) {
                    dispatcher.dispatch(event, &served());
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                dispatcher.stats.lagged.fetch_add(missed, Ordering::Relaxed);
                tracing::warn!(
                    missed,
                    "plugin event hooks fell behind the event bus; the missed events are not delivered"
                );
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Starts delivering `bus` events to the event hooks of the plugins `served` serves,
/// until `shutdown`. Subscribes before returning, so no event published after this call
/// is missed. `redactor` names the host paths plugins must not see.
pub fn spawn(
    bus: &Bus,
    served: Arc<Served>,
    redactor: PathRedactor,
    shutdown: &Shutdown,
) -> Arc<HookStats> {
    let stats = Arc::new(HookStats::default());
    let snapshot = move || -> Vec<LoadedPlugin> {
        served
            .registry()
            .plugins()
            .iter()
            .map(|entry| entry.plugin.clone())
            .collect()
    };
    let dispatcher = Dispatcher::new(shutdown.clone(), Arc::clone(&stats));
    shutdown.spawn(dispatch_loop(
        bus.subscribe(),
        snapshot,
        dispatcher,
        redactor,
        shutdown.child_token(),
    ));
    stats
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;
    use std::time::Duration;

    use super::*;
    use crate::bus::CallOutcome;

    /// A plugin stand-in: records deliveries, or hangs in every hook when `stuck`.
    #[derive(Clone)]
    struct Fake {
        name: String,
        kinds: Vec<EventKind>,
        stuck: bool,
        seen: Arc<Mutex<Vec<PluginEvent>>>,
        delivered: mpsc::UnboundedSender<String>,
    }

    impl Subscriber for Fake {
        fn name(&self) -> &str {
            &self.name
        }

        fn wants(&self, kind: EventKind) -> bool {
            self.kinds.contains(&kind)
        }

        async fn deliver(&self, event: Arc<PluginEvent>, cancel: CancellationToken) {
            if self.stuck {
                // A looping hook: only cancellation (shutdown, unload) ends it.
                cancel.cancelled().await;
                let _ = self.delivered.send(format!("cancelled {}", self.name));
                return;
            }
            self.seen.lock().unwrap().push((*event).clone());
            let _ = self.delivered.send(self.name.clone());
        }
    }

    fn fake(
        name: &str,
        kinds: &[EventKind],
        stuck: bool,
    ) -> (Fake, mpsc::UnboundedReceiver<String>) {
        let (delivered, receiver) = mpsc::unbounded_channel();
        let fake = Fake {
            name: name.to_string(),
            kinds: kinds.to_vec(),
            stuck,
            seen: Arc::default(),
            delivered,
        };
        (fake, receiver)
    }

    fn called(n: u64) -> PluginEvent {
        PluginEvent::ToolCalled {
            plugin: "echo".into(),
            tool: "echo".into(),
            duration_us: n,
            outcome: CallOutcome::Success,
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_stuck_hook_loses_its_own_events_and_delays_no_one() {
        let shutdown = Shutdown::new();
        let stats = Arc::new(HookStats::default());
        let mut dispatcher = Dispatcher::new(shutdown.clone(), Arc::clone(&stats));
        let (stuck, _) = fake("stuck", &[EventKind::ToolCalled], true);
        let (quick, mut delivered) = fake("quick", &[EventKind::ToolCalled], false);
        let served = [stuck.clone(), quick.clone()];

        let total = QUEUE_CAPACITY as u64 * 3;
        for n in 0..total {
            // `dispatch` is synchronous: it cannot wait for a hook, by construction.
            dispatcher.dispatch(called(n), &served);
            // Let the plugin tasks run, as the server's runtime would meanwhile.
            tokio::task::yield_now().await;
        }
        for _ in 0..total {
            let who = tokio::time::timeout(Duration::from_secs(5), delivered.recv())
                .await
                .expect("the quick hook is never held up")
                .unwrap();
            assert_eq!(who, "quick");
        }
        let seen = quick.seen.lock().unwrap().clone();
        assert_eq!(seen, (0..total).map(called).collect::<Vec<_>>(), "in order");

        // The stuck hook holds one event and its queue the next QUEUE_CAPACITY; the
        // rest were dropped for it alone.
        let dropped = stats.dropped.load(Ordering::Relaxed);
        assert_eq!(dropped, total - 1 - QUEUE_CAPACITY as u64);
        assert_eq!(stats.queued.load(Ordering::Relaxed), total * 2 - dropped);

        // Shutdown cancels the hook that never returns and ends every task.
        tokio::time::timeout(Duration::from_secs(5), shutdown.complete())
            .await
            .expect("shutdown stops stuck hooks");
    }

    #[tokio::test(start_paused = true)]
    async fn an_unloaded_plugins_running_hook_is_cancelled_and_its_queue_dropped() {
        let shutdown = Shutdown::new();
        let stats = Arc::new(HookStats::default());
        let mut dispatcher = Dispatcher::new(shutdown.clone(), Arc::clone(&stats));
        let (stuck, mut stuck_events) = fake("stuck", &[EventKind::ToolCalled], true);
        let (quick, mut quick_events) = fake("quick", &[EventKind::ToolCalled], false);
        for n in 0..10 {
            dispatcher.dispatch(called(n), &[stuck.clone(), quick.clone()]);
            tokio::task::yield_now().await;
        }
        // `stuck` is removed: the next event (its unload, in the server) finds it gone.
        dispatcher.dispatch(called(10), std::slice::from_ref(&quick));
        let cancelled = tokio::time::timeout(Duration::from_secs(5), stuck_events.recv())
            .await
            .expect("the running hook is cancelled at once");
        assert_eq!(cancelled.as_deref(), Some("cancelled stuck"));
        // Its nine queued events never run (each would be cancelled at once, and say so).
        let after = tokio::time::timeout(Duration::from_secs(60), stuck_events.recv()).await;
        assert!(after.is_err(), "{after:?}");
        for _ in 0..=10 {
            assert_eq!(quick_events.recv().await.as_deref(), Some("quick"));
        }
        tokio::time::timeout(Duration::from_secs(5), shutdown.complete())
            .await
            .expect("shutdown completes");
    }

    #[tokio::test]
    async fn only_interested_served_plugins_get_events_and_never_their_own_lifecycle() {
        let shutdown = Shutdown::new();
        let stats = Arc::new(HookStats::default());
        let mut dispatcher = Dispatcher::new(shutdown.clone(), stats);
        let (calls, mut calls_rx) = fake("calls", &[EventKind::ToolCalled], false);
        let (loads, mut loads_rx) = fake("loads", &[EventKind::PluginLoaded], false);
        let (deaf, _) = fake("deaf", &[], false);
        let served = [calls.clone(), loads.clone(), deaf.clone()];

        dispatcher.dispatch(called(1), &served);
        dispatcher.dispatch(
            PluginEvent::PluginLoaded {
                plugin: "loads".into(),
                version: "1.0.0".into(),
            },
            &served,
        );
        dispatcher.dispatch(
            PluginEvent::PluginLoaded {
                plugin: "text".into(),
                version: "1.0.0".into(),
            },
            &served,
        );
        assert_eq!(calls_rx.recv().await.unwrap(), "calls");
        assert_eq!(loads_rx.recv().await.unwrap(), "loads");
        assert_eq!(*calls.seen.lock().unwrap(), [called(1)]);
        assert_eq!(
            *loads.seen.lock().unwrap(),
            [PluginEvent::PluginLoaded {
                plugin: "text".into(),
                version: "1.0.0".into()
            }]
        );
        assert!(deaf.seen.lock().unwrap().is_empty());
        assert!(!dispatcher.queues.contains_key("deaf"), "no task for it");

        // A plugin that is no longer served loses its queue (and its task ends).
        dispatcher.dispatch(called(2), std::slice::from_ref(&loads));
        assert!(!dispatcher.queues.contains_key("calls"));
        shutdown.complete().await;
        assert_eq!(calls.seen.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn a_lagging_dispatcher_counts_what_it_missed_and_carries_on() {
        let bus = Bus::new();
        let shutdown = Shutdown::new();
        let stats = Arc::new(HookStats::default());
        let dispatcher = Dispatcher::new(shutdown.clone(), Arc::clone(&stats));
        let (quick, mut delivered) = fake("quick", &[EventKind::ToolCalled], false);
        let events = bus.subscribe();
        // Everything is published before the dispatcher runs at all: it lags.
        let extra = 5;
        for n in 0..(crate::bus::CAPACITY + extra) as u64 {
            bus.publish(Event::ToolCalled {
                plugin: "echo".into(),
                tool: "echo".into(),
                duration: Duration::from_micros(n),
                outcome: CallOutcome::Success,
            });
        }
        let served = vec![quick.clone()];
        shutdown.spawn(dispatch_loop(
            events,
            move || served.clone(),
            dispatcher,
            PathRedactor::default(),
            shutdown.child_token(),
        ));
        // It resumes with the oldest event still held and delivers from there.
        delivered.recv().await.unwrap();
        assert_eq!(stats.lagged.load(Ordering::Relaxed), extra as u64);
        assert_eq!(quick.seen.lock().unwrap()[0], called(extra as u64));
        shutdown.complete().await;
    }
}
