//! A valid Berth test plugin named `echo`, like the SDK-built `berth-plugin-echo` test plugin.
//!
//! Plugin names prefix tool names (`echo.echo`), so two plugins with one name would make tools
//! ambiguous. It exists so the host's tests can check that the second of two plugins with the
//! same name is refused at load time, naming both, while the first keeps working. On its own it
//! is a working plugin with one tool, `echo`. It uses `wit-bindgen` directly, independently of
//! the SDK-built echo plugin it collides with.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.1",
    world: "plugin",
});

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// The input schema of `echo`: one required string, `text`.
const ECHO_SCHEMA: &str =
    r#"{"type":"object","properties":{"text":{"type":"string"}},"required":["text"]}"#;

/// The plugin; it has no state.
struct Colliding;

impl Guest for Colliding {
    fn describe() -> Manifest {
        Manifest {
            name: "echo".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("A second plugin named echo.".to_owned()),
            tools: vec![Tool {
                name: "echo".to_owned(),
                title: None,
                description: "Returns `text` unchanged.".to_owned(),
                input_schema: ECHO_SCHEMA.to_owned(),
                output_schema: None,
                annotations: ToolAnnotations {
                    read_only: Some(true),
                    destructive: None,
                    idempotent: Some(true),
                    open_world: Some(false),
                },
            }],
            resources: Vec::new(),
            resource_templates: Vec::new(),
        }
    }

    fn call_tool(
        name: String,
        arguments: String,
        _context: CallContext,
    ) -> Result<ToolResult, CallError> {
        if name != "echo" {
            return Err(CallError::UnknownTool(name));
        }
        let arguments: serde_json::Value = serde_json::from_str(&arguments)
            .map_err(|error| CallError::InvalidArguments(format!("not JSON: {error}")))?;
        let Some(text) = arguments.get("text").and_then(serde_json::Value::as_str) else {
            return Err(CallError::InvalidArguments(
                "`text` must be a string".to_owned(),
            ));
        };
        Ok(ToolResult {
            content: vec![ContentBlock::Text(text.to_owned())],
            structured: None,
            is_error: false,
        })
    }

    fn read_resource(
        uri: String,
        _context: CallContext,
    ) -> Result<Vec<ResourceContents>, ReadError> {
        Err(ReadError::NotFound(uri))
    }
}

export!(Colliding);
