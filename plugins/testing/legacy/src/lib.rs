//! A Berth test plugin built against contract 0.1 (`wit/berth-plugin/v0.1`), the way plugins
//! built before contract 0.2 are.
//!
//! It exists so the host's tests can check that such a plugin still loads, is callable next to
//! plugins of newer contracts in the same server, and never receives events (0.1 has no event
//! hook). It uses `wit-bindgen` directly: the SDK only speaks its own contract version.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.1",
    world: "plugin",
});

include!("../../ping_guest.rs");

ping_guest!(
    Legacy,
    name: "legacy",
    description: "Speaks contract 0.1.",
    reply: "pong from contract 0.1"
);

export!(Legacy);
