//! The typed event bus: past-tense facts about plugins, the configuration, the registry
//! and tool calls, published by the lifecycle and the call path and consumed by whoever
//! cares (the MCP notifier of each session, plugin event hooks, metrics).
//!
//! Lag policy: the bus is a bounded broadcast channel. Publishing never waits, so a slow
//! subscriber can never block the lifecycle or a call. A subscriber that falls more than
//! [`CAPACITY`] events behind loses the oldest ones and is told how many it missed
//! (`RecvError::Lagged`); it must then treat its view as stale and resynchronise from
//! the current registry snapshot, which is always the source of truth.

use tokio::sync::broadcast;

pub use berth_model::events::{CallOutcome, Event};

/// Events a subscriber may fall behind by before it starts losing the oldest.
pub const CAPACITY: usize = 1024;

/// The publishing side; cheap to clone, every clone publishes to the same subscribers.
#[derive(Clone)]
pub struct Bus {
    /// Every event, tool calls included: for plugin event hooks.
    sender: broadcast::Sender<Event>,
    /// Every event but [`Event::ToolCalled`]: for subscribers that never act on a call.
    ///
    /// Why two channels: a broadcast wakes every receiver for every event, and one
    /// `tools/call` publishes one event. With one channel each call woke every session's
    /// notifier and the metrics recorder only for them to ignore it, which under load
    /// cost more than the rest of the call path's bookkeeping (BENCHMARKS.md, issue 7).
    facts: broadcast::Sender<Event>,
}

impl Default for Bus {
    fn default() -> Self {
        Self::new()
    }
}

impl Bus {
    /// A bus with no subscribers yet.
    pub fn new() -> Self {
        let (sender, _) = broadcast::channel(CAPACITY);
        let (facts, _) = broadcast::channel(CAPACITY);
        Self { sender, facts }
    }

    /// Publishes `event` to every current subscriber without waiting for any of them.
    pub fn publish(&self, event: Event) {
        // An error only means nobody is subscribed right now, which is fine.
        if !matches!(event, Event::ToolCalled { .. }) && self.facts.receiver_count() > 0 {
            let _ = self.facts.send(event.clone());
        }
        let _ = self.sender.send(event);
    }

    /// A new subscription that sees every event published from now on.
    pub fn subscribe(&self) -> broadcast::Receiver<Event> {
        self.sender.subscribe()
    }

    /// A new subscription that sees every event published from now on except tool
    /// calls ([`Event::ToolCalled`]), for subscribers with nothing to do for a call.
    pub fn subscribe_facts(&self) -> broadcast::Receiver<Event> {
        self.facts.subscribe()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;
    use tokio::sync::broadcast::error::RecvError;

    fn changed(generation: u64) -> Event {
        Event::RegistryChanged {
            generation,
            tools_changed: true,
            resources_changed: false,
            prompts_changed: false,
        }
    }

    #[test]
    fn every_outcome_is_listed_at_its_own_index() {
        for (index, outcome) in CallOutcome::ALL.into_iter().enumerate() {
            assert_eq!(outcome as usize, index, "{}", outcome.as_str());
        }
    }

    #[tokio::test]
    async fn a_stalled_subscriber_never_blocks_the_publisher_and_learns_what_it_missed() {
        let bus = Bus::new();
        let mut slow = bus.subscribe();
        let mut fast = bus.subscribe();
        let extra = 10;
        for generation in 0..(CAPACITY + extra) as u64 {
            bus.publish(changed(generation));
            // The fast subscriber keeps up and sees everything in order.
            assert_eq!(fast.recv().await.unwrap(), changed(generation));
        }
        assert_eq!(slow.recv().await, Err(RecvError::Lagged(extra as u64)));
        // After the lag report it continues with the oldest event still held.
        assert_eq!(slow.recv().await.unwrap(), changed(extra as u64));
    }

    #[test]
    fn fact_subscribers_see_everything_but_tool_calls_in_order() {
        let bus = Bus::new();
        let mut all = bus.subscribe();
        let mut facts = bus.subscribe_facts();
        let call = Event::ToolCalled {
            plugin: "echo".into(),
            tool: "echo".into(),
            duration: Duration::from_micros(50),
            outcome: CallOutcome::Success,
        };
        bus.publish(changed(1));
        bus.publish(call.clone());
        bus.publish(changed(2));
        assert_eq!(all.try_recv().unwrap(), changed(1));
        assert_eq!(all.try_recv().unwrap(), call);
        assert_eq!(all.try_recv().unwrap(), changed(2));
        assert_eq!(facts.try_recv().unwrap(), changed(1));
        assert_eq!(facts.try_recv().unwrap(), changed(2));
        assert!(facts.try_recv().is_err());
    }

    #[test]
    fn publishing_without_subscribers_is_fine() {
        Bus::new().publish(changed(1));
    }
}
