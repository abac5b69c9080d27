//! A Berth test plugin (contract 0.2, world `plugin-with-events`) whose `interests`, an
//! export the host calls while loading it, busy-waits 1.5 s of wall-clock time and then
//! answers.
//!
//! It exists so the host's tests can check that a plugin slow in its load-time exports,
//! but within its load budget, does not hold up serving the others: they are served
//! first, and it joins when it finishes. It uses `wit-bindgen` directly rather than the
//! SDK, which has no reason to produce this.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.2",
    world: "plugin-with-events",
});

include!("../../ping_guest.rs");

use exports::berth::plugin::events::{Event, EventKind, Guest as EventsGuest};

ping_guest!(
    SlowLoader,
    name: "slow-loader",
    description: "Takes 1.5 s to state its event interests.",
    reply: "pong"
);

impl EventsGuest for SlowLoader {
    fn interests() -> Vec<EventKind> {
        // Busy, not asleep: the time is spent running guest code, as a plugin doing real
        // work at load would.
        let start = std::time::Instant::now();
        let mut counter = 0u64;
        while start.elapsed() < std::time::Duration::from_millis(1500) {
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
        Vec::new()
    }

    fn on_event(_event: Event) {}
}

export!(SlowLoader);
