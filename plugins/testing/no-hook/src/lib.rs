//! A Berth test plugin built against contract 0.2's world `plugin`, which does not export the
//! optional `events` interface.
//!
//! It exists so the host's tests can check that a 0.2 plugin without an event hook loads,
//! works, and is never called for events. It uses `wit-bindgen` directly: every SDK plugin
//! exports the hook.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.2",
    world: "plugin",
});

include!("../../ping_guest.rs");

ping_guest!(
    NoHook,
    name: "no-hook",
    description: "Speaks contract 0.2 without an event hook.",
    reply: "pong from contract 0.2"
);

export!(NoHook);
