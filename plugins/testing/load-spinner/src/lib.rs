//! A Berth test plugin (contract 0.2, world `plugin-with-events`) whose `interests`, an
//! export the host calls while loading it, loops forever.
//!
//! It exists so the host's tests can check that a load's exports run under the
//! operator's `[runtime]` limits and share one deadline, rather than a hard-coded 30 s
//! each that holds up start-up. It uses `wit-bindgen` directly rather than the SDK, which
//! would never produce this.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.2",
    world: "plugin-with-events",
});

include!("../../ping_guest.rs");

use exports::berth::plugin::events::{Event, EventKind, Guest as EventsGuest};

ping_guest!(
    LoadSpinner,
    name: "load-spinner",
    description: "Never finishes stating its event interests.",
    reply: "pong"
);

impl EventsGuest for LoadSpinner {
    fn interests() -> Vec<EventKind> {
        let mut counter = 0u64;
        loop {
            // `black_box` keeps the loop from being proven infinite and removed.
            counter = std::hint::black_box(counter.wrapping_add(1));
        }
    }

    fn on_event(_event: Event) {}
}

export!(LoadSpinner);
