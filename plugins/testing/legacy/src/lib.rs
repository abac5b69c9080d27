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

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// The plugin; it has no state.
struct Legacy;

impl Guest for Legacy {
    fn describe() -> Manifest {
        Manifest {
            name: "legacy".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Speaks contract 0.1.".to_owned()),
            tools: vec![Tool {
                name: "ping".to_owned(),
                title: None,
                description: "Answers `pong from contract 0.1`.".to_owned(),
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
                content: vec![ContentBlock::Text("pong from contract 0.1".to_owned())],
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

export!(Legacy);
