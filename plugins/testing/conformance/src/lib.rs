//! `conformance`: the server fixture of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`). It provides exactly the tools and resources the
//! suite's server scenarios call — text, image, audio, embedded-resource, mixed and error
//! results, a tool whose input schema uses JSON Schema 2020-12 features, two static
//! resources and a resource template — with the names, contents and MIME types the scenarios
//! check. Berth serves it with `tool_prefix = ""`, so its tools keep their own names.
//!
//! Every answer is deterministic. It is written with the public SDK only.

use std::borrow::Cow;

use berth_plugin_sdk::prelude::*;
use berth_plugin_sdk::schemars::{Schema, SchemaGenerator, json_schema};

/// A 1×1 PNG (one red pixel, 8-bit RGB), the image the scenarios ask for.
pub const RED_PIXEL_PNG: [u8; 69] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x02, 0x00, 0x00, 0x00, 0x90, 0x77, 0x53,
    0xde, 0x00, 0x00, 0x00, 0x0c, 0x49, 0x44, 0x41, 0x54, 0x78, 0xda, 0x63, 0xf8, 0xcf, 0xc0, 0x00,
    0x00, 0x03, 0x01, 0x01, 0x00, 0xf7, 0x03, 0x41, 0x43, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45, 0x4e,
    0x44, 0xae, 0x42, 0x60, 0x82,
];

/// A minimal WAV file: a RIFF header (PCM, mono, 8 kHz, 8-bit) and eight samples.
pub const TINY_WAV: [u8; 52] = [
    0x52, 0x49, 0x46, 0x46, 0x2c, 0x00, 0x00, 0x00, 0x57, 0x41, 0x56, 0x45, 0x66, 0x6d, 0x74, 0x20,
    0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01, 0x00, 0x40, 0x1f, 0x00, 0x00, 0x40, 0x1f, 0x00, 0x00,
    0x01, 0x00, 0x08, 0x00, 0x64, 0x61, 0x74, 0x61, 0x08, 0x00, 0x00, 0x00, 0x80, 0x90, 0x80, 0x70,
    0x80, 0x90, 0x80, 0x70,
];

/// Returns one fixed text block (scenario `tools-call-simple-text`).
#[tool(read_only, idempotent)]
pub fn test_simple_text() -> &'static str {
    "This is a simple text response for testing."
}

/// Returns a 1×1 red PNG as an image block (scenario `tools-call-image`).
#[tool(read_only, idempotent)]
pub fn test_image_content() -> ToolOutput {
    ToolOutput::new().image(RED_PIXEL_PNG, "image/png")
}

/// Returns a tiny WAV clip as an audio block (scenario `tools-call-audio`).
#[tool(read_only, idempotent)]
pub fn test_audio_content() -> ToolOutput {
    ToolOutput::new().audio(TINY_WAV, "audio/wav")
}

/// Returns a text resource embedded in the result (scenario `tools-call-embedded-resource`).
#[tool(read_only, idempotent)]
pub fn test_embedded_resource() -> ToolOutput {
    ToolOutput::new().embedded_resource(
        "test://embedded-resource",
        ResourceContents::text("This is an embedded resource content.")
            .with_mime_type("text/plain"),
    )
}

/// Returns text, an image and an embedded JSON resource (scenario `tools-call-mixed-content`).
#[tool(read_only, idempotent)]
pub fn test_multiple_content_types() -> ToolOutput {
    ToolOutput::new()
        .text("Multiple content types test:")
        .image(RED_PIXEL_PNG, "image/png")
        .embedded_resource(
            "test://mixed-content-resource",
            ResourceContents::text(r#"{"test":"data","value":123}"#)
                .with_mime_type("application/json"),
        )
}

/// Always returns an error result, `isError: true` (scenario `tools-call-error`).
#[tool(read_only, idempotent)]
pub fn test_error_handling() -> Result<String, ToolError> {
    Err(ToolError::result(
        "This tool intentionally returns an error for testing",
    ))
}

/// Arguments of `json_schema_2020_12_tool`; its schema is written out below.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SchemaArgs {
    /// A name.
    pub name: Option<String>,
    /// An address (`$defs/address` in the schema).
    pub address: Option<Address>,
}

/// A postal address, `$defs/address` in the schema of `json_schema_2020_12_tool`.
#[derive(Debug, Deserialize)]
pub struct Address {
    /// The street.
    pub street: Option<String>,
    /// The city.
    pub city: Option<String>,
}

/// The input schema scenario `json-schema-2020-12` lists, keyword for keyword.
//
// Written out rather than derived: a derived schema carries the doc comments as
// descriptions and makes `Option` fields nullable, which the scenario's schema does not.
// The SDK sets the same `$schema` itself and keeps `$defs` and `additionalProperties`.
// The host validates arguments against this schema; `deny_unknown_fields` agrees with it.
impl JsonSchema for SchemaArgs {
    fn schema_name() -> Cow<'static, str> {
        "SchemaArgs".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "$defs": {
                "address": {
                    "type": "object",
                    "properties": {
                        "street": {"type": "string"},
                        "city": {"type": "string"}
                    }
                }
            },
            "properties": {
                "name": {"type": "string"},
                "address": {"$ref": "#/$defs/address"}
            },
            "additionalProperties": false
        })
    }
}

/// Logs three info records about 50 ms apart while it runs (the client asked for them
/// with `logging/setLevel`), then says it is done.
#[tool(read_only, idempotent)]
pub fn test_tool_with_logging() -> &'static str {
    berth_plugin_sdk::log::info("Tool execution started");
    std::thread::sleep(std::time::Duration::from_millis(50));
    berth_plugin_sdk::log::info("Tool processing data");
    std::thread::sleep(std::time::Duration::from_millis(50));
    berth_plugin_sdk::log::info("Tool execution completed");
    "Tool with logging executed successfully"
}

/// Tool with JSON Schema 2020-12 features
#[tool(read_only, idempotent)]
pub fn json_schema_2020_12_tool(#[args] args: SchemaArgs) -> String {
    let name = args.name.as_deref().unwrap_or("nobody");
    match args.address.and_then(|address| address.city) {
        Some(city) => format!("Hello, {name} from {city}."),
        None => format!("Hello, {name}."),
    }
}

/// A fixed text resource (scenario `resources-read-text`).
#[resource(uri = "test://static-text", mime_type = "text/plain")]
pub fn static_text() -> &'static str {
    "This is the content of the static text resource."
}

/// A 1×1 red PNG as a binary resource (scenario `resources-read-binary`).
#[resource(uri = "test://static-binary", mime_type = "image/png")]
pub fn static_binary() -> &'static [u8] {
    &RED_PIXEL_PNG
}

/// The body of a `test://template/{id}/data` read, fields in the order the scenario shows.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct TemplateData {
    id: String,
    template_test: bool,
    data: String,
}

/// Data for item `id`, as JSON naming the id (scenario `resources-templates-read`).
#[resource_template(
    uri_template = "test://template/{id}/data",
    mime_type = "application/json"
)]
pub fn template_data(id: String) -> Result<String, ToolError> {
    let data = format!("Data for ID: {id}");
    Ok(berth_plugin_sdk::serde_json::to_string(&TemplateData {
        id,
        template_test: true,
        data,
    })?)
}

berth_plugin_sdk::export!(
    name: "conformance",
    tools: [
        test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
        test_multiple_content_types, test_error_handling, test_tool_with_logging,
        json_schema_2020_12_tool,
    ],
    resources: [static_text, static_binary],
    templates: [template_data],
);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::serde_json::{Value, json};
    use berth_plugin_sdk::wit::{ContentBlock, Media, ResourceBody, ResourceContents};

    fn media(data: &[u8], mime_type: &str) -> Media {
        Media {
            data: data.to_vec(),
            mime_type: mime_type.into(),
        }
    }

    fn text_resource(uri: &str, mime_type: &str, text: &str) -> ContentBlock {
        ContentBlock::Resource(ResourceContents {
            uri: uri.into(),
            mime_type: Some(mime_type.into()),
            body: ResourceBody::Text(text.into()),
        })
    }

    #[test]
    fn the_media_are_what_they_claim() {
        // PNG signature, then an IHDR of 1×1, 8-bit RGB; the IDAT holds one red pixel.
        assert_eq!(RED_PIXEL_PNG[..8], *b"\x89PNG\r\n\x1a\n");
        assert_eq!(RED_PIXEL_PNG[12..16], *b"IHDR");
        assert_eq!(RED_PIXEL_PNG[16..26], [0, 0, 0, 1, 0, 0, 0, 1, 8, 2]);
        assert_eq!(RED_PIXEL_PNG[RED_PIXEL_PNG.len() - 8..][..4], *b"IEND");
        // RIFF/WAVE with a 16-byte PCM fmt chunk and a data chunk of the remaining bytes.
        assert_eq!(TINY_WAV[..4], *b"RIFF");
        let riff_len = u32::from_le_bytes(TINY_WAV[4..8].try_into().unwrap()) as usize;
        assert_eq!(riff_len, TINY_WAV.len() - 8);
        assert_eq!(TINY_WAV[8..16], *b"WAVEfmt ");
        assert_eq!(TINY_WAV[20..22], [1, 0]);
        assert_eq!(TINY_WAV[36..40], *b"data");
        let data_len = u32::from_le_bytes(TINY_WAV[40..44].try_into().unwrap()) as usize;
        assert_eq!(data_len, TINY_WAV.len() - 44);
    }

    #[test]
    fn manifest_lists_the_scenarios_names() {
        berth_plugin().validate().unwrap();
        let manifest = berth_plugin().manifest();
        assert_eq!(manifest.name, "conformance");
        let names: Vec<&str> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "test_simple_text",
                "test_image_content",
                "test_audio_content",
                "test_embedded_resource",
                "test_multiple_content_types",
                "test_error_handling",
                "test_tool_with_logging",
                "json_schema_2020_12_tool",
            ]
        );
        let uris: Vec<&str> = manifest.resources.iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(uris, ["test://static-text", "test://static-binary"]);
        assert_eq!(
            manifest.resources[1].mime_type.as_deref(),
            Some("image/png")
        );
        let template = &manifest.resource_templates[0];
        assert_eq!(template.uri_template, "test://template/{id}/data");
        assert_eq!(template.mime_type.as_deref(), Some("application/json"));
    }

    #[test]
    fn the_2020_12_tool_lists_the_scenarios_schema() {
        let manifest = berth_plugin().manifest();
        let tool = manifest
            .tools
            .iter()
            .find(|t| t.name == "json_schema_2020_12_tool")
            .unwrap();
        assert_eq!(tool.description, "Tool with JSON Schema 2020-12 features");
        let schema: Value = berth_plugin_sdk::serde_json::from_str(&tool.input_schema).unwrap();
        assert_eq!(
            schema,
            json!({
                "$schema": "https://json-schema.org/draft/2020-12/schema",
                "type": "object",
                "$defs": {
                    "address": {
                        "type": "object",
                        "properties": {
                            "street": {"type": "string"},
                            "city": {"type": "string"}
                        }
                    }
                },
                "properties": {
                    "name": {"type": "string"},
                    "address": {"$ref": "#/$defs/address"}
                },
                "additionalProperties": false
            })
        );
        assert!(tool.output_schema.is_none());
    }

    #[test]
    fn the_2020_12_tool_takes_its_arguments() {
        let plugin = berth_plugin();
        let call = |args| {
            plugin
                .call("json_schema_2020_12_tool", args)
                .unwrap()
                .text()
        };
        assert_eq!(call(json!({})), "Hello, nobody.");
        assert_eq!(
            call(json!({"name": "Ada", "address": {"street": "1 Main St", "city": "Paris"}})),
            "Hello, Ada from Paris."
        );
        assert!(
            plugin
                .call("json_schema_2020_12_tool", json!({"nickname": "x"}))
                .is_err()
        );
    }

    #[test]
    fn tools_answer_as_the_scenarios_expect() {
        let plugin = berth_plugin();
        let call = |name| plugin.call(name, json!({})).unwrap();

        let simple = call("test_simple_text");
        assert!(!simple.is_error);
        assert_eq!(
            simple.content,
            [ContentBlock::Text(
                "This is a simple text response for testing.".into()
            )]
        );

        let image = call("test_image_content");
        assert_eq!(
            image.content,
            [ContentBlock::Image(media(&RED_PIXEL_PNG, "image/png"))]
        );

        let audio = call("test_audio_content");
        assert_eq!(
            audio.content,
            [ContentBlock::Audio(media(&TINY_WAV, "audio/wav"))]
        );

        let embedded = call("test_embedded_resource");
        assert_eq!(
            embedded.content,
            [text_resource(
                "test://embedded-resource",
                "text/plain",
                "This is an embedded resource content."
            )]
        );

        let mixed = call("test_multiple_content_types");
        assert_eq!(
            mixed.content,
            [
                ContentBlock::Text("Multiple content types test:".into()),
                ContentBlock::Image(media(&RED_PIXEL_PNG, "image/png")),
                text_resource(
                    "test://mixed-content-resource",
                    "application/json",
                    r#"{"test":"data","value":123}"#
                ),
            ]
        );

        let error = call("test_error_handling");
        assert!(error.is_error);
        assert_eq!(
            error.content,
            [ContentBlock::Text(
                "This tool intentionally returns an error for testing".into()
            )]
        );

        for result in [simple, image, audio, embedded, mixed, error] {
            assert_eq!(result.structured, None);
        }
    }

    #[test]
    fn resources_read() {
        let plugin = berth_plugin();
        let text = plugin.read("test://static-text").unwrap();
        assert_eq!(text.len(), 1);
        assert_eq!(text[0].uri, "test://static-text");
        assert_eq!(text[0].mime_type.as_deref(), Some("text/plain"));
        assert_eq!(
            text[0].as_text(),
            Some("This is the content of the static text resource.")
        );

        let binary = plugin.read("test://static-binary").unwrap();
        assert_eq!(binary[0].mime_type.as_deref(), Some("image/png"));
        assert_eq!(binary[0].as_blob(), Some(&RED_PIXEL_PNG[..]));

        let data = plugin.read("test://template/123/data").unwrap();
        assert_eq!(data.len(), 1);
        assert_eq!(data[0].uri, "test://template/123/data");
        assert_eq!(data[0].mime_type.as_deref(), Some("application/json"));
        assert_eq!(
            data[0].as_text(),
            Some(r#"{"id":"123","templateTest":true,"data":"Data for ID: 123"}"#)
        );
        // Any id, escaped as JSON.
        assert_eq!(
            template_data(r#"a"b"#.into()).unwrap(),
            r#"{"id":"a\"b","templateTest":true,"data":"Data for ID: a\"b"}"#
        );
        assert!(plugin.read("test://nope").is_err());
    }
}
