//! Berth's HTTP face: MCP over Streamable HTTP ([`server`]), behind the [`gate`] that
//! every request passes (who is calling: [`auth`]; how often: [`ratelimit`]; which
//! session is theirs: [`sessions`]), next to the operational endpoints and the operator
//! [`console`].
//!
//! It may use every layer below it (`berth-model`, `berth-core`, `berth-protocol`); the
//! binary (`berth`) wires it up. It never touches wasmtime: plugins are reached through
//! the protocol layer's handler.

pub mod auth;
pub mod console;
pub mod gate;
pub mod ratelimit;
pub mod resume;
pub mod server;
pub mod sessions;
