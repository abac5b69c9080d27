//! `conformance`: the server fixture of the official MCP conformance suite
//! (`@modelcontextprotocol/conformance`). It provides exactly the tools, resources, prompts
//! and completions the suite's server scenarios call, with the names, contents and MIME
//! types the scenarios check:
//!
//! * tools returning text, image, audio, embedded-resource, mixed and error results, a tool
//!   whose input schema uses JSON Schema 2020-12 features, one that logs and one that
//!   reports progress;
//! * tools that ask the client: `test_sampling` (an LLM completion) and three elicitations
//!   (`test_elicitation`, the SEP-1034 defaults and the SEP-1330 enum forms);
//! * two static resources and a resource template;
//! * four prompts (plain, with arguments, with an embedded resource, with an image) and
//!   completions for the prompt's arguments and the template's `id`;
//! * icons (inline `data:` URIs) on `test_simple_text` and `test_simple_prompt`.
//!
//! Berth serves it with `tool_prefix = ""`, so everything keeps its own name. Every answer
//! is deterministic, except what the client says back. It is written with the public SDK
//! only.

use std::borrow::Cow;

use berth_plugin_sdk::client::{self, ClientError, Elicitation, SamplingRequest};
use berth_plugin_sdk::prelude::*;
use berth_plugin_sdk::schemars::{Schema, SchemaGenerator, json_schema};
use berth_plugin_sdk::serde_json::{Value, json};

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
//
// Its icon is `RED_PIXEL_PNG` as a `data:` URI (the attribute needs a literal; a test checks
// that the two agree).
#[tool(
    read_only,
    idempotent,
    icon = "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAIAAACQd1PeAAAADElEQVR42mP4z8AAAAMBAQD3A0FDAAAAAElFTkSuQmCC"
)]
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

/// Takes a second, longer than the server keeps a request's stream open in the suite's
/// config (`[http] sse_poll_after_ms`), so the stream is closed mid-call and the answer
/// comes on the client's reconnection (scenario `server-sse-polling`, SEP-1699).
#[tool(read_only, idempotent)]
pub fn test_reconnection() -> &'static str {
    std::thread::sleep(std::time::Duration::from_millis(1000));
    "Reconnection test completed"
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

/// Reports progress 0, 50 and 100 out of 100, about 50 ms apart, then says it is done
/// (scenario `tools-call-with-progress`).
#[tool(read_only, idempotent)]
pub fn test_tool_with_progress(ctx: &Context) -> &'static str {
    ctx.report_progress(0.0, Some(100.0), Some("Starting"));
    std::thread::sleep(std::time::Duration::from_millis(50));
    ctx.report_progress(50.0, Some(100.0), Some("Halfway"));
    std::thread::sleep(std::time::Duration::from_millis(50));
    ctx.report_progress(100.0, Some(100.0), Some("Done"));
    "Tool with progress executed successfully"
}

/// Asks the client's LLM to answer `prompt` and returns what it said (scenario
/// `tools-call-sampling`).
#[tool(read_only)]
pub fn test_sampling(
    /// The prompt to send to the LLM.
    prompt: String,
) -> Result<String, ToolError> {
    let response = client::sample(SamplingRequest::new(100).user(prompt))
        .map_err(|error| client_failure("Sampling", error))?;
    Ok(format!(
        "LLM response: {}",
        response.text().unwrap_or("(not text)")
    ))
}

/// Asks the user for a username and an email address (scenario `tools-call-elicitation`).
#[tool(read_only)]
pub fn test_elicitation(
    /// The message to show the user.
    message: String,
) -> Result<String, ToolError> {
    let schema = json!({
        "type": "object",
        "properties": {
            "username": {"type": "string", "description": "User's response"},
            "email": {"type": "string", "description": "User's email address", "format": "email"}
        },
        "required": ["username", "email"]
    });
    let answer = client::elicit(&message, schema).map_err(|e| client_failure("Elicitation", e))?;
    Ok(format!("User response: {}", describe(&answer)))
}

/// The schema of `test_elicitation_sep1034_defaults`: one field of each primitive type,
/// each with a default.
pub fn sep1034_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "name": {"type": "string", "description": "User name", "default": "John Doe"},
            "age": {"type": "integer", "description": "User age", "default": 30},
            "score": {"type": "number", "description": "User score", "default": 95.5},
            "status": {
                "type": "string",
                "description": "User status",
                "enum": ["active", "inactive", "pending"],
                "default": "active"
            },
            "verified": {"type": "boolean", "description": "Verification status", "default": true}
        }
    })
}

/// Asks the user to confirm fields that all have defaults (scenario
/// `elicitation-sep1034-defaults`).
#[tool(read_only)]
pub fn test_elicitation_sep1034_defaults() -> Result<String, ToolError> {
    let answer = client::elicit("Please confirm or change these values", sep1034_schema())
        .map_err(|e| client_failure("Elicitation", e))?;
    Ok(format!("Elicitation completed: {}", describe(&answer)))
}

/// The schema of `test_elicitation_sep1330_enums`: the five enum forms of SEP-1330.
pub fn sep1330_schema() -> Value {
    json!({
        "type": "object",
        "properties": {
            "untitledSingle": {
                "type": "string",
                "description": "Pick one option",
                "enum": ["option1", "option2", "option3"]
            },
            "titledSingle": {
                "type": "string",
                "description": "Pick one titled option",
                "oneOf": [
                    {"const": "value1", "title": "First Option"},
                    {"const": "value2", "title": "Second Option"},
                    {"const": "value3", "title": "Third Option"}
                ]
            },
            "legacyEnum": {
                "type": "string",
                "description": "Pick one option (legacy titles)",
                "enum": ["opt1", "opt2", "opt3"],
                "enumNames": ["Option One", "Option Two", "Option Three"]
            },
            "untitledMulti": {
                "type": "array",
                "description": "Pick any options",
                "items": {"type": "string", "enum": ["option1", "option2", "option3"]}
            },
            "titledMulti": {
                "type": "array",
                "description": "Pick any titled options",
                "items": {
                    "anyOf": [
                        {"const": "value1", "title": "First Choice"},
                        {"const": "value2", "title": "Second Choice"},
                        {"const": "value3", "title": "Third Choice"}
                    ]
                }
            }
        }
    })
}

/// Asks the user to choose from the five enum forms (scenario `elicitation-sep1330-enums`).
#[tool(read_only)]
pub fn test_elicitation_sep1330_enums() -> Result<String, ToolError> {
    let answer = client::elicit("Please choose some options", sep1330_schema())
        .map_err(|e| client_failure("Elicitation", e))?;
    Ok(format!("Elicitation completed: {}", describe(&answer)))
}

/// `action=<action>, content=<JSON>` (`null` without content).
fn describe(answer: &Elicitation) -> String {
    let content = answer
        .content
        .as_ref()
        .map_or_else(|| "null".to_string(), Value::to_string);
    format!("action={}, content={content}", answer.action)
}

/// An error result naming what failed and why, for the model to read.
fn client_failure(what: &str, error: ClientError) -> ToolError {
    ToolError::result(format!("{what} failed: {error}"))
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

/// A simple prompt without arguments (scenario `prompts-get-simple`).
//
// Its icon is a green circle, an SVG as a base64 `data:` URI (a test checks it against the SVG text).
#[prompt(
    icon = "data:image/svg+xml;base64,PHN2ZyB4bWxucz0iaHR0cDovL3d3dy53My5vcmcvMjAwMC9zdmciIHZpZXdCb3g9IjAgMCAxNiAxNiI+PGNpcmNsZSBjeD0iOCIgY3k9IjgiIHI9IjciIGZpbGw9IiMyYTciLz48L3N2Zz4="
)]
pub fn test_simple_prompt() -> &'static str {
    "This is a simple prompt for testing."
}

/// A prompt that puts its two arguments into its message (scenario `prompts-get-with-args`).
#[prompt]
pub fn test_prompt_with_arguments(
    /// First test argument.
    arg1: String,
    /// Second test argument.
    arg2: String,
) -> String {
    format!("Prompt with arguments: arg1='{arg1}', arg2='{arg2}'")
}

/// Arguments of `test_prompt_with_embedded_resource`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
#[schemars(crate = "berth_plugin_sdk::schemars")]
pub struct EmbeddedResourceArgs {
    /// URI of the resource to embed.
    pub resource_uri: String,
}

/// A prompt that embeds a text resource at the given URI (scenario
/// `prompts-get-embedded-resource`).
#[prompt]
pub fn test_prompt_with_embedded_resource(#[args] args: EmbeddedResourceArgs) -> Vec<Message> {
    vec![
        Message::user(Content::embedded_resource(
            args.resource_uri,
            ResourceContents::text("Embedded resource content for testing.")
                .with_mime_type("text/plain"),
        )),
        Message::user("Please process the embedded resource above."),
    ]
}

/// A prompt with a 1×1 red PNG (scenario `prompts-get-with-image`).
#[prompt]
pub fn test_prompt_with_image() -> Vec<Message> {
    vec![
        Message::user(Content::image(RED_PIXEL_PNG, "image/png")),
        Message::user("Please analyze the image above."),
    ]
}

/// Suggests values for `arg1` and `arg2` of `test_prompt_with_arguments` that start with
/// what the user typed (scenario `completion-complete`).
#[completion(prompt = "test_prompt_with_arguments")]
pub fn complete_prompt_arguments(argument: &str, value: &str, _chosen: &Chosen) -> Completions {
    let candidates: &[&str] = match argument {
        "arg1" => &["paris", "park", "party"],
        "arg2" => &["hello", "help", "world"],
        _ => &[],
    };
    Completions::matching(candidates, value)
}

/// Logs `step 1` … `step 10` about 200 ms apart, then says it finished: a call slow
/// enough for a client to cancel it midway (Berth's own check of `notifications/cancelled`).
#[tool(read_only, idempotent)]
pub fn test_cancellable() -> &'static str {
    for step in 1..=10 {
        berth_plugin_sdk::log::info(format!("step {step}"));
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    "finished all ten steps"
}

/// Says the resource at `uri` changed, so clients subscribed to it are told (Berth's own
/// check of `resources.changed`; the host ignores a URI this plugin does not serve).
#[tool(idempotent)]
pub fn test_notify_resource_changed(uri: String) -> String {
    berth_plugin_sdk::resources::changed(&uri);
    format!("announced a change to {uri}")
}

/// Suggests ids for `test://template/{id}/data` that start with what the user typed.
#[completion(template = "test://template/{id}/data", argument = "id")]
pub fn complete_template_id(_argument: &str, value: &str, _chosen: &Chosen) -> Completions {
    Completions::matching(["1", "2", "3", "42", "123"], value)
}

berth_plugin_sdk::export!(
    name: "conformance",
    tools: [
        test_simple_text, test_image_content, test_audio_content, test_embedded_resource,
        test_multiple_content_types, test_error_handling, test_tool_with_logging,
        json_schema_2020_12_tool, test_tool_with_progress, test_sampling, test_elicitation,
        test_elicitation_sep1034_defaults, test_elicitation_sep1330_enums,
        test_notify_resource_changed, test_cancellable, test_reconnection,
    ],
    resources: [static_text, static_binary],
    templates: [template_data],
    prompts: [
        test_simple_prompt, test_prompt_with_arguments, test_prompt_with_embedded_resource,
        test_prompt_with_image,
    ],
    completions: [complete_prompt_arguments, complete_template_id],
);

#[cfg(test)]
mod tests;
