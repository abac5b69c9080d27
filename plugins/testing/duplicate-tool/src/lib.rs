//! A Berth test plugin that declares two tools with the same name, `same`.
//!
//! Tool names must be unique within a plugin, or a call would be ambiguous. It exists so the
//! host's tests can check that such a plugin is refused at load time, naming the tool. It uses
//! `wit-bindgen` directly, so that it can describe itself in a way the SDK is meant to prevent.

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
struct DuplicateTool;

/// A valid tool named `same`; only its description differs between the two copies.
fn same_tool(description: &str) -> Tool {
    Tool {
        name: "same".to_owned(),
        title: None,
        description: description.to_owned(),
        input_schema: r#"{"type":"object","properties":{}}"#.to_owned(),
        output_schema: None,
        annotations: ToolAnnotations {
            read_only: Some(true),
            destructive: None,
            idempotent: Some(true),
            open_world: None,
        },
    }
}

impl Guest for DuplicateTool {
    fn describe() -> Manifest {
        Manifest {
            name: "duplicate-tool".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Declares the tool `same` twice.".to_owned()),
            tools: vec![
                same_tool("The first tool named `same`."),
                same_tool("The second tool named `same`."),
            ],
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
            "same" => Ok(ToolResult {
                content: vec![ContentBlock::Text("same".to_owned())],
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

export!(DuplicateTool);
