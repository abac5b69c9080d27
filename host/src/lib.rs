//! Berth: an MCP server whose tools and resources come from sandboxed WebAssembly
//! component plugins. This crate is the top layer: the `berth` binary's [`cli`], the
//! [`app`] wiring, the one-shot [`commands`], the [`admin`] socket and [`logging`]; it
//! may use every layer below it.
//!
//! # Layers
//! Each is a crate that may use only the crates below it (README, "Layout"):
//!
//! ```text
//! berth           cli, app, commands, admin, logging
//! berth-http      Streamable HTTP: gate, auth, ratelimit, sessions     (axum)
//! berth-protocol  MCP requests, the stdio transport                    (rmcp)
//! berth-core      config, bus, registry, lifecycle, hooks, metrics
//! berth-runtime   compiling, linking and calling plugins               (wasmtime)
//! berth-model     manifest, client, policy, events, untrusted: plain data
//! ```
//!
//! Their modules are re-exported here under the names they had when the host was one
//! crate, so `berth::runtime::Runtime` or `berth::lifecycle::Lifecycle` still work.

pub use berth_core::{
    access, bus, config, hooks, lifecycle, metrics, plugins, registry, shutdown, state, watch,
};
pub use berth_http::{auth, ratelimit};
pub use berth_model::{client, manifest, policy, untrusted};
pub use berth_protocol as protocol;
pub use berth_runtime as runtime;

/// The transports that carry MCP to clients, under the names they had before the host
/// was cut into layered crates.
pub mod transport {
    pub use berth_http::server as http;
    pub use berth_http::{gate, sessions};
    pub use berth_protocol::stdio;
}

#[cfg(unix)]
pub mod admin;
pub mod app;
pub mod cli;
pub mod commands;
pub mod fanout;
pub mod logging;
pub mod plugin_state;
pub mod sources;
pub mod telemetry;
