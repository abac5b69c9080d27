//! A Berth test plugin with a tool whose input schema is not a valid JSON Schema.
//!
//! The schema of its tool `broken` is well-formed JSON, `{"type":"object","properties":
//! {"x":{"type":12}}}`, but `12` is not a JSON Schema type. It exists so the host's tests can
//! check that such a plugin is refused at load time, naming the tool, rather than failing later
//! on every call. It uses `wit-bindgen` directly: the SDK derives schemas from Rust types, so it
//! cannot write this one.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.1",
    world: "plugin",
});

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// The invalid input schema: `type` must be a string or an array of strings.
const BAD_SCHEMA: &str = r#"{"type":"object","properties":{"x":{"type":12}}}"#;

/// The plugin; it has no state.
struct BadSchema;

impl Guest for BadSchema {
    fn describe() -> Manifest {
        Manifest {
            name: "bad-schema".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Declares a tool whose input schema is invalid.".to_owned()),
            tools: vec![Tool {
                name: "broken".to_owned(),
                title: None,
                description: "Has an input schema that is not a valid JSON Schema.".to_owned(),
                input_schema: BAD_SCHEMA.to_owned(),
                output_schema: None,
                annotations: ToolAnnotations {
                    read_only: Some(true),
                    destructive: None,
                    idempotent: None,
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
        // A host that loaded the plugin anyway would get a result, so the test can tell a
        // refused plugin from a broken call.
        match name.as_str() {
            "broken" => Ok(ToolResult {
                content: vec![ContentBlock::Text("called".to_owned())],
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

export!(BadSchema);
