//! Berth's vocabulary, shared by every layer of the host: what a plugin offers and what
//! its calls return ([`manifest`]), what a running call may send to its client
//! ([`client`]), what a plugin needs and is granted ([`policy`]), what happened
//! ([`events`]), what plugins keep between calls ([`state`]), who a kept plugin instance may
//! serve ([`reuse`]), and how plugin-chosen text is shown to people ([`untrusted`]).
//!
//! Plain data and the rules on it. This crate may use no other Berth crate, and no
//! wasmtime, rmcp or I/O: every layer above depends on it, so it stays small and cheap
//! to build.

pub mod client;
pub mod events;
pub mod manifest;
pub mod policy;
pub mod reuse;
pub mod state;
pub mod untrusted;
