//! A Berth test plugin built against a contract version the host does not support.
//!
//! `wit/plugin.wit` is a copy of the v0.1 contract with only the package version changed to
//! `1.0.0`, so the component exports `berth:plugin/guest@1.0.0` and is otherwise a valid plugin.
//! It exists so the host's tests can check that an unsupported contract is refused at load time
//! with an error that names the version, instead of a linker error or a wrong call. It uses
//! `wit-bindgen` directly: the SDK only speaks the contract versions it was released with.

wit_bindgen::generate!({
    path: "wit",
    world: "plugin",
});

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// The plugin; it has no state.
struct FutureContract;

impl Guest for FutureContract {
    fn describe() -> Manifest {
        Manifest {
            name: "future-contract".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Speaks contract 1.0.0.".to_owned()),
            tools: vec![Tool {
                name: "ping".to_owned(),
                title: None,
                description: "Answers `pong`.".to_owned(),
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
                content: vec![ContentBlock::Text("pong".to_owned())],
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

export!(FutureContract);
