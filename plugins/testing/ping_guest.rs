// The one-tool `ping` guest shared by the raw (SDK-less) test plugins that exist to exercise
// a contract version or world rather than a behaviour: legacy, no-hook, interests-trap and
// future-contract. A crate includes it with `include!("../../ping_guest.rs");` after its own
// `wit_bindgen::generate!`, whose generated `berth::plugin::types` and
// `exports::berth::plugin::guest` modules the macro names. A plain file rather than a crate,
// because the generated types belong to each including crate's own bindings.

/// Defines `$plugin`, a stateless guest named `$name` with one read-only tool `ping` that
/// answers `$reply`, and no resources.
macro_rules! ping_guest {
    ($plugin:ident, name: $name:literal, description: $description:literal, reply: $reply:literal) => {
        /// The plugin; it has no state.
        struct $plugin;

        impl exports::berth::plugin::guest::Guest for $plugin {
            fn describe() -> berth::plugin::types::Manifest {
                use berth::plugin::types::{Manifest, Tool, ToolAnnotations};
                Manifest {
                    name: $name.to_owned(),
                    version: env!("CARGO_PKG_VERSION").to_owned(),
                    description: Some($description.to_owned()),
                    tools: vec![Tool {
                        name: "ping".to_owned(),
                        title: None,
                        description: concat!("Answers `", $reply, "`.").to_owned(),
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
                _context: berth::plugin::types::CallContext,
            ) -> Result<berth::plugin::types::ToolResult, berth::plugin::types::CallError> {
                use berth::plugin::types::{CallError, ContentBlock, ToolResult};
                match name.as_str() {
                    "ping" => Ok(ToolResult {
                        content: vec![ContentBlock::Text($reply.to_owned())],
                        structured: None,
                        is_error: false,
                    }),
                    _ => Err(CallError::UnknownTool(name)),
                }
            }

            fn read_resource(
                uri: String,
                _context: berth::plugin::types::CallContext,
            ) -> Result<Vec<berth::plugin::types::ResourceContents>, berth::plugin::types::ReadError>
            {
                Err(berth::plugin::types::ReadError::NotFound(uri))
            }
        }
    };
}
