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

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// The plugin; it has no state.
struct NoHook;

impl Guest for NoHook {
    fn describe() -> Manifest {
        Manifest {
            name: "no-hook".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Speaks contract 0.2 without an event hook.".to_owned()),
            tools: vec![Tool {
                name: "ping".to_owned(),
                title: None,
                description: "Answers `pong from contract 0.2`.".to_owned(),
                input_schema: r#"{"type":"object","properties":{}}"#.to_owned(),
                output_schema: None,
                annotations: ToolAnnotations {
                    read_only: Some(true),
                    destructive: None,
                    idempotent: Some(true),
                    open_world: None,
                },
            }],
            resources: Vec::new(),
            resource_templates: Vec::new(),
        }
    }

    fn call_tool(
        name: String,
        _arguments: String,
        _context: CallContext,
    ) -> Result<ToolResult, CallError> {
        match name.as_str() {
            "ping" => Ok(ToolResult {
                content: vec![ContentBlock::Text("pong from contract 0.2".to_owned())],
                structured: None,
                is_error: false,
            }),
            _ => Err(CallError::UnknownTool(name)),
        }
    }

    fn read_resource(
        uri: String,
        _context: CallContext,
    ) -> Result<Vec<ResourceContents>, ReadError> {
        Err(ReadError::NotFound(uri))
    }
}

export!(NoHook);
