//! A Berth test plugin (contract 0.2, world `plugin-with-events`) whose `interests` traps.
//!
//! It exists so the host's tests can check that a plugin which cannot state its event
//! interests is refused at load time, like one whose `describe` traps, naming the file and
//! `interests`. It uses `wit-bindgen` directly rather than the SDK, which would never produce
//! this.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.2",
    world: "plugin-with-events",
});

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::events::{Event, EventKind, Guest as EventsGuest};
use exports::berth::plugin::guest::Guest;

/// The plugin; it has no state.
struct InterestsTrap;

impl Guest for InterestsTrap {
    fn describe() -> Manifest {
        Manifest {
            name: "interests-trap".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Traps when asked for its event interests.".to_owned()),
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

impl EventsGuest for InterestsTrap {
    fn interests() -> Vec<EventKind> {
        // A panic in a wasm32 guest aborts, which the host sees as a trap.
        panic!("berth-test-interests-trap traps in interests on purpose");
    }

    fn on_event(_event: Event) {}
}

export!(InterestsTrap);
