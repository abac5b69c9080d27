//! Berth: an MCP server whose tools and resources come from sandboxed WebAssembly
//! component plugins.
//!
//! # Layout
//! - [`access`]: which tools, resources and prompts each role of an HTTP caller may use.
//! - [`admin`]: the admin socket a running server answers `berth plugins list` on.
//! - [`app`]: wiring only; builds the parts and runs a transport until shutdown.
//! - [`auth`]: who an HTTP caller is: static API tokens and JWTs, and the 401 challenge.
//! - [`bus`]: the typed event bus of past-tense facts, and its lag policy.
//! - [`cli`]: the command line's shape.
//! - [`client`]: what a running plugin call may send to and ask of its client.
//! - [`commands`]: `berth inspect` and `berth call`, the plugin author's one-shot tools.
//! - [`config`]: typed, validated configuration (embedded defaults + a TOML file).
//! - [`hooks`]: delivers bus events to the event hooks of plugins that asked for them.
//! - [`lifecycle`]: keeps the served registry in step with the plugins folder.
//! - [`logging`]: Berth's own log on stderr, in lines plugin text cannot forge.
//! - [`manifest`]: what a plugin offers and the results of its calls, in Berth's terms.
//! - [`metrics`]: Prometheus metrics of calls, plugins, sessions and refusals.
//! - [`plugins`]: finds plugin files and loads them into registry entries.
//! - [`policy`]: per-plugin grants, declared needs, and the check between them.
//! - [`protocol`]: the only place rmcp's types appear; answers MCP requests.
//! - [`ratelimit`]: per-identity token buckets for HTTP requests.
//! - [`registry`]: the immutable, indexed snapshot of what is served.
//! - [`runtime`]: the only place wasmtime appears; compiles, links and calls plugins.
//! - [`shutdown`]: the shutdown signal and the tasks it waits for.
//! - [`state`]: the current snapshot, swapped atomically.
//! - [`transport`]: stdio and Streamable HTTP carrying MCP to clients.
//! - [`untrusted`]: showing plugin-chosen text to people, escaped and cut.
//! - [`watch`]: turns bursts of file-system events into single rescan ticks.

pub use berth_model::{client, manifest, policy, untrusted};
pub use berth_runtime as runtime;

pub mod access;
#[cfg(unix)]
pub mod admin;
pub mod app;
pub mod auth;
pub mod bus;
pub mod cli;
pub mod commands;
pub mod config;
pub mod hooks;
pub mod lifecycle;
pub mod logging;
pub mod metrics;
pub mod plugins;
pub mod protocol;
pub mod ratelimit;
pub mod registry;
pub mod shutdown;
pub mod state;
pub mod transport;
pub mod watch;
