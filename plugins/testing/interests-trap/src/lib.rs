//! A Berth test plugin (contract 0.2, world `plugin-with-events`) whose `interests` traps.
//!
//! It exists so the host's tests can check that a plugin which cannot state its event
//! interests is refused at load time, like one whose `describe` traps, naming the file and
//! `interests`. It uses `wit-bindgen` directly rather than the SDK, which would never produce
//! this.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.2",
    world: "plugin-with-events",
});

include!("../../ping_guest.rs");

use exports::berth::plugin::events::{Event, EventKind, Guest as EventsGuest};

ping_guest!(
    InterestsTrap,
    name: "interests-trap",
    description: "Traps when asked for its event interests.",
    reply: "pong"
);

impl EventsGuest for InterestsTrap {
    fn interests() -> Vec<EventKind> {
        // A panic in a wasm32 guest aborts, which the host sees as a trap.
        panic!("berth-test-interests-trap traps in interests on purpose");
    }

    fn on_event(_event: Event) {}
}

export!(InterestsTrap);
