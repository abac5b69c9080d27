//! Berth's core: what is served and how it changes. It owns the configuration
//! ([`config`]), the event bus ([`bus`]), the registry snapshot of what is served
//! ([`registry`], published through [`state`]), the plugin lifecycle that keeps it in
//! step with the plugins folder ([`lifecycle`], with [`plugins`] and [`watch`] in its folder), plugins' event
//! hooks ([`hooks`]), roles ([`access`]), metrics ([`metrics`]) and the shutdown signal
//! ([`shutdown`]).
//!
//! It may use `berth-model` and `berth-runtime`; it knows nothing of MCP (rmcp) or HTTP
//! (axum), which sit above it.

pub mod access;
pub mod bus;
pub mod config;
pub mod hooks;
pub mod lifecycle;
pub mod metrics;
pub mod registry;
pub mod shutdown;
pub mod state;
pub mod window;

pub use lifecycle::{plugins, watch};
