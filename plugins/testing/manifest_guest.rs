// The guest shared by raw (SDK-less) contract-0.1 test plugins that exist for what their
// manifest says rather than what their tools do: schema-bomb and forged-name. A crate
// includes it with `include!("../../manifest_guest.rs");` after its own
// `wit_bindgen::generate!` for `wit/berth-plugin/v0.1`, whose generated modules the macro
// names. A plain file rather than a crate, because the generated types belong to each
// including crate's own bindings (as with `ping_guest.rs`).

/// Defines `$plugin`, a stateless guest whose manifest is `$describe()`. Each tool it
/// declares answers the text `called` with the structured content `{"x":1}`; it has no
/// resource to read.
macro_rules! manifest_guest {
    ($plugin:ident, describe: $describe:path) => {
        /// The plugin; it has no state.
        struct $plugin;

        impl exports::berth::plugin::guest::Guest for $plugin {
            fn describe() -> berth::plugin::types::Manifest {
                $describe()
            }

            fn call_tool(
                name: String,
                _arguments: String,
                _context: berth::plugin::types::CallContext,
            ) -> Result<berth::plugin::types::ToolResult, berth::plugin::types::CallError> {
                use berth::plugin::types::{CallError, ContentBlock, ToolResult};
                if !$describe().tools.iter().any(|tool| tool.name == name) {
                    return Err(CallError::UnknownTool(name));
                }
                Ok(ToolResult {
                    content: vec![ContentBlock::Text("called".to_owned())],
                    structured: Some(r#"{"x":1}"#.to_owned()),
                    is_error: false,
                })
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
