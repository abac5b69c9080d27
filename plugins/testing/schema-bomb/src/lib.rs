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

include!("../../manifest_guest.rs");

use berth::plugin::types::{Manifest, Tool, ToolAnnotations};

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

/// Both tools: `input_bomb` with the chain as its input schema, `output_bomb` with it as
/// its output schema (every tool answers `{"x":1}`).
fn manifest() -> Manifest {
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

manifest_guest!(SchemaBomb, describe: manifest);

export!(SchemaBomb);
