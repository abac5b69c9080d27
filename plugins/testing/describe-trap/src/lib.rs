//! A Berth test plugin whose `describe` traps.
//!
//! It exists so the host's tests can check that a plugin which traps while describing itself is
//! refused at load time, with an error naming it, and that the host and its other plugins carry
//! on. It uses `wit-bindgen` directly rather than the SDK, which would never produce this.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.1",
    world: "plugin",
});

use berth::plugin::types::{
    CallContext, CallError, Manifest, ReadError, ResourceContents, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// The plugin; it has no state.
struct DescribeTrap;

impl Guest for DescribeTrap {
    fn describe() -> Manifest {
        // A panic in a wasm32 guest aborts, which the host sees as a trap.
        panic!("berth-test-describe-trap traps in describe on purpose");
    }

    fn call_tool(
        name: String,
        _arguments: String,
        _context: CallContext,
    ) -> Result<ToolResult, CallError> {
        // Unreachable through a host, which never loads this plugin; answered properly anyway.
        Err(CallError::UnknownTool(name))
    }

    fn read_resource(
        uri: String,
        _context: CallContext,
    ) -> Result<Vec<ResourceContents>, ReadError> {
        Err(ReadError::NotFound(uri))
    }
}

export!(DescribeTrap);
