//! `hook-spinner`: a test plugin whose event hook loops on every tool call it hears of,
//! until the host's deadline or a cancellation stops it, so Berth's tests can check that
//! removing the plugin stops its running hook and drops its queued events instead of
//! spending a core on them for minutes (issue 18).

use berth_plugin_sdk::prelude::*;

/// Answers at once, so tests can see the plugin is served.
#[tool]
pub fn ping() -> String {
    "pong".to_string()
}

/// Spins on every tool call of another plugin: only the host can stop it.
#[on_event(tool_called)]
pub fn spin_on_call(_event: &Event) {
    let mut counter = 0u64;
    loop {
        // `black_box` keeps the loop from being proven infinite and removed.
        counter = std::hint::black_box(counter.wrapping_add(1));
    }
}

berth_plugin_sdk::export!(
    name: "hook-spinner",
    tools: [ping],
    events: [spin_on_call],
);
