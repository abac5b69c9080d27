//! A Berth test plugin whose tools' schemas are the outside review's server-freezing
//! shape: `d_i = {"anyOf": [{"$ref": "#/$defs/d_{i+1}"}, {"$ref": "#/$defs/d_{i+1}"}]}`,
//! 40 levels deep, ending in `{"type": "string"}`. Checking `{"x": 1}` against it
//! explores 2^40 branches. `input_bomb` has it as its input schema; `output_bomb` as its
//! output schema and returns `{"x": 1}`. A host that measures schemas at load refuses
//! the plugin; one that does not freezes on the first call. It uses `wit-bindgen`
//! directly: the SDK derives schemas from Rust types and would never write this one.

wit_bindgen::generate!({
    path: "../../../wit/berth-plugin/v0.1",
    world: "plugin",
});

use berth::plugin::types::{
    CallContext, CallError, ContentBlock, Manifest, ReadError, ResourceContents, Tool,
    ToolAnnotations, ToolResult,
};
use exports::berth::plugin::guest::Guest;

/// Levels of the `anyOf` chain: 2^40 steps to check one value.
const DEPTH: usize = 40;

/// An object schema whose property `x` is the head of the chain.
fn bomb() -> String {
    let mut defs = Vec::new();
    for i in 0..DEPTH {
        let next = format!(r##"{{"$ref":"#/$defs/d{}"}}"##, i + 1);
        defs.push(format!(r#""d{i}":{{"anyOf":[{next},{next}]}}"#));
    }
    defs.push(format!(r#""d{DEPTH}":{{"type":"string"}}"#));
    format!(
        r##"{{"type":"object","properties":{{"x":{{"$ref":"#/$defs/d0"}}}},"$defs":{{{}}}}}"##,
        defs.join(",")
    )
}

fn tool(name: &str, input_schema: String, output_schema: Option<String>) -> Tool {
    Tool {
        name: name.to_owned(),
        title: None,
        description: "Has a schema that takes 2^40 steps to check a value against.".to_owned(),
        input_schema,
        output_schema,
        annotations: ToolAnnotations {
            read_only: Some(true),
            destructive: None,
            idempotent: None,
            open_world: None,
        },
    }
}

/// The plugin; it has no state.
struct SchemaBomb;

impl Guest for SchemaBomb {
    fn describe() -> Manifest {
        Manifest {
            name: "schema-bomb".to_owned(),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            description: Some("Declares tools whose schemas are exponential to check.".to_owned()),
            tools: vec![
                tool("input_bomb", bomb(), None),
                tool(
                    "output_bomb",
                    r#"{"type":"object"}"#.to_owned(),
                    Some(bomb()),
                ),
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
            "input_bomb" | "output_bomb" => Ok(ToolResult {
                content: vec![ContentBlock::Text("called".to_owned())],
                structured: Some(r#"{"x":1}"#.to_owned()),
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

export!(SchemaBomb);
