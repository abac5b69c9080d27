//! The single mapping from Berth's own types to rmcp's protocol types, and from Berth's
//! errors to the MCP answer each deserves (a tool result with `isError`, or a JSON-RPC
//! error with the code the specification names).

use std::sync::Arc;

use base64::Engine as _;
use rmcp::ErrorData;
use rmcp::model::{
    CallToolResult, ContentBlock as McpContent, GetPromptResult, ReadResourceResult, Resource,
    ResourceContents as McpContents, ResourceTemplate, Tool, ToolAnnotations,
};

use super::checks;
use berth_core::registry::{PromptEntry, ResourceEntry, TemplateEntry, ToolEntry};
use berth_model::manifest::{
    CompiledSchema, ContentBlock, GuestError, Icon, IconTheme, PromptOutput, ResourceBody,
    ResourceContents, Role, ToolOutput,
};
use berth_runtime::CallError;

fn base64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// MCP icons, or `None` for an item without any (so the field is left out).
fn icons(icons: &[Icon]) -> Option<Vec<rmcp::model::Icon>> {
    (!icons.is_empty()).then(|| {
        icons
            .iter()
            .map(|icon| {
                let mut out = rmcp::model::Icon::new(icon.src.clone());
                out.mime_type = icon.mime_type.clone();
                out.sizes = (!icon.sizes.is_empty()).then(|| icon.sizes.clone());
                out.theme = icon.theme.map(|theme| match theme {
                    IconTheme::Light => rmcp::model::IconTheme::Light,
                    IconTheme::Dark => rmcp::model::IconTheme::Dark,
                });
                out
            })
            .collect()
    })
}

/// The MCP description of a registered tool.
pub fn tool(entry: &ToolEntry) -> Tool {
    let spec = &entry.spec;
    let mut tool = Tool::new(
        entry.qualified_name.clone(),
        spec.description.clone(),
        Arc::clone(&entry.input.schema),
    );
    if let Some(title) = &spec.title {
        tool = tool.with_title(title.clone());
    }
    if let Some(output) = &entry.output {
        tool = tool.with_raw_output_schema(Arc::clone(&output.schema));
    }
    if let Some(icons) = icons(&entry.icons) {
        tool = tool.with_icons(icons);
    }
    let a = &spec.annotations;
    if a.read_only.is_some()
        || a.destructive.is_some()
        || a.idempotent.is_some()
        || a.open_world.is_some()
    {
        tool = tool.with_annotations(ToolAnnotations::from_raw(
            spec.title.clone(),
            a.read_only,
            a.destructive,
            a.idempotent,
            a.open_world,
        ));
    }
    tool
}

/// The MCP description of a static resource.
pub fn resource(entry: &ResourceEntry) -> Resource {
    let spec = &entry.spec;
    let mut r = Resource::new(spec.uri.clone(), spec.name.clone());
    if let Some(t) = &spec.title {
        r = r.with_title(t.clone());
    }
    if let Some(d) = &spec.description {
        r = r.with_description(d.clone());
    }
    if let Some(m) = &spec.mime_type {
        r = r.with_mime_type(m.clone());
    }
    if let Some(s) = spec.size {
        r = r.with_size(s);
    }
    if let Some(icons) = icons(&entry.icons) {
        r = r.with_icons(icons);
    }
    r
}

/// The MCP description of a resource template.
pub fn template(entry: &TemplateEntry) -> ResourceTemplate {
    let spec = &entry.spec;
    let mut t = ResourceTemplate::new(spec.uri_template.clone(), spec.name.clone());
    if let Some(x) = &spec.title {
        t = t.with_title(x.clone());
    }
    if let Some(d) = &spec.description {
        t = t.with_description(d.clone());
    }
    if let Some(m) = &spec.mime_type {
        t = t.with_mime_type(m.clone());
    }
    if let Some(icons) = icons(&entry.icons) {
        t = t.with_icons(icons);
    }
    t
}

fn contents(c: ResourceContents) -> McpContents {
    let out = match c.body {
        ResourceBody::Text(text) => McpContents::text(text, c.uri),
        ResourceBody::Blob(bytes) => McpContents::blob(base64(&bytes), c.uri),
    };
    match c.mime_type {
        Some(m) => out.with_mime_type(m),
        None => out,
    }
}

fn content(block: ContentBlock) -> McpContent {
    match block {
        ContentBlock::Text(t) => McpContent::text(t),
        ContentBlock::Image(m) => McpContent::image(base64(&m.data), m.mime_type),
        ContentBlock::Audio(m) => McpContent::audio(base64(&m.data), m.mime_type),
        ContentBlock::Resource(r) => McpContent::resource(contents(r)),
        ContentBlock::ResourceLink(link) => {
            let mut r = Resource::new(link.uri, link.name);
            if let Some(t) = link.title {
                r = r.with_title(t);
            }
            if let Some(d) = link.description {
                r = r.with_description(d);
            }
            if let Some(m) = link.mime_type {
                r = r.with_mime_type(m);
            }
            McpContent::resource_link(r)
        }
    }
}

/// One content block as MCP JSON (`{"type": "text", …}`), for messages Berth builds as
/// JSON: prompt messages and sampling requests.
pub fn content_json(block: ContentBlock) -> serde_json::Value {
    serde_json::to_value(content(block)).unwrap_or_default()
}

/// The MCP description of a registered prompt.
pub fn prompt(entry: &PromptEntry) -> rmcp::model::Prompt {
    let spec = &entry.spec;
    let arguments = (!spec.arguments.is_empty()).then(|| {
        spec.arguments
            .iter()
            .map(|a| {
                let mut argument =
                    rmcp::model::PromptArgument::new(a.name.clone()).with_required(a.required);
                if let Some(title) = &a.title {
                    argument = argument.with_title(title.clone());
                }
                if let Some(description) = &a.description {
                    argument = argument.with_description(description.clone());
                }
                argument
            })
            .collect()
    });
    let mut prompt = rmcp::model::Prompt::new(
        entry.qualified_name.clone(),
        spec.description.clone(),
        arguments,
    );
    if let Some(title) = &spec.title {
        prompt = prompt.with_title(title.clone());
    }
    if let Some(icons) = icons(&entry.icons) {
        prompt = prompt.with_icons(icons);
    }
    prompt
}

/// A filled-in prompt as an MCP result. Built as MCP JSON and parsed, so a message rmcp
/// cannot represent (e.g. audio, which `prompts/get` does not carry before 2025-06-18)
/// becomes an error naming it instead of a malformed answer.
pub fn prompt_output(qualified: &str, output: PromptOutput) -> Result<GetPromptResult, ErrorData> {
    let messages: Vec<serde_json::Value> = output
        .messages
        .into_iter()
        .map(|m| {
            let role = match m.role {
                Role::User => "user",
                Role::Assistant => "assistant",
            };
            serde_json::json!({ "role": role, "content": content_json(m.content) })
        })
        .collect();
    let mut result = serde_json::json!({ "messages": messages });
    if let Some(description) = output.description {
        result["description"] = description.into();
    }
    serde_json::from_value(result).map_err(|e| {
        ErrorData::internal_error(
            format!("prompt {qualified} returned a message MCP cannot carry: {e}"),
            None,
        )
    })
}

/// A failed `prompts/get` as a JSON-RPC error: what the client got wrong is `-32602`,
/// everything else `-32603`.
pub fn prompt_error(qualified: &str, error: CallError) -> ErrorData {
    let data = Some(serde_json::json!({ "prompt": qualified }));
    match error {
        CallError::Guest(GuestError::UnknownPrompt(_)) => {
            ErrorData::invalid_params(format!("Unknown prompt: {qualified}"), data)
        }
        CallError::Guest(GuestError::InvalidArguments(m)) => ErrorData::invalid_params(
            format!("prompt {qualified} rejected its arguments: {m}"),
            data,
        ),
        other => ErrorData::internal_error(format!("prompt {qualified}: {other}"), data),
    }
}

/// A tool's output as an MCP result, or why it cannot be one (the plugin's bug):
/// structured content that is not JSON, or, for a tool that declares an output schema
/// (`schema`), structured content that is missing or breaks it, since MCP requires such a
/// tool to return conforming structured content. The text is parsed once, here, for both
/// the check and the result; the check runs as [`checks::check`] runs it, giving up at
/// `deadline` (`limit` after the call began).
pub async fn checked_tool_output(
    output: ToolOutput,
    schema: Option<&CompiledSchema>,
    deadline: tokio::time::Instant,
    limit: std::time::Duration,
) -> Result<CallToolResult, String> {
    let mut structured = match output
        .structured
        .as_deref()
        .map(serde_json::from_str::<serde_json::Value>)
    {
        None => None,
        Some(Ok(value)) => Some(Arc::new(value)),
        Some(Err(e)) => return Err(format!("its structured content is not JSON: {e}")),
    };
    if let Some(schema) = schema
        && !output.is_error
    {
        let Some(value) = &structured else {
            return Err("it declares an output schema but returned no structured content".into());
        };
        match checks::check(schema, value, "(the structured result)", deadline, limit).await {
            Ok(()) => {}
            Err(checks::CheckError::Problems(problems)) => {
                return Err(format!(
                    "its structured content breaks its output schema: {problems}"
                ));
            }
            Err(checks::CheckError::TimedOut(limit)) => {
                return Err(format!(
                    "checking its structured content against its output schema did not finish \
                     within {limit:?} (limit call_timeout_ms = {}); the tool's output schema is \
                     too costly to check for a result this large",
                    limit.as_millis()
                ));
            }
        }
    }
    let content = output.content.into_iter().map(content).collect();
    let mut result = if output.is_error {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    // The check has finished (or never ran), so this is the only reference left.
    result.structured_content = structured
        .take()
        .map(|value| Arc::try_unwrap(value).unwrap_or_else(|shared| (*shared).clone()));
    Ok(result)
}

/// What the client is told when `tool`'s result was refused for `problem`.
pub fn invalid_result(tool: &str, problem: &str) -> String {
    format!("{tool} returned an invalid result: {problem}")
}

/// A tool result with `isError: true` and `message` as its text: what the model sees
/// when a call fails in a way it may work around.
pub fn error_result(message: String) -> CallToolResult {
    CallToolResult::error(vec![McpContent::text(message)])
}

/// A failed tool call as the client sees it. Every failure of a call that reached a
/// plugin is a tool result with `isError`, so the model reads the reason; protocol
/// errors are reserved for requests that could not be routed at all.
pub fn call_error(qualified: &str, error: CallError) -> CallToolResult {
    let message = match error {
        CallError::Guest(GuestError::Failed(m)) => format!("{qualified} failed: {m}"),
        CallError::Guest(GuestError::InvalidArguments(m)) => {
            format!("{qualified} rejected its arguments: {m}")
        }
        other => format!("{qualified}: {other}"),
    };
    error_result(message)
}

/// A resource read's contents as an MCP result.
pub fn read_result(items: Vec<ResourceContents>) -> ReadResourceResult {
    ReadResourceResult::new(items.into_iter().map(contents).collect())
}

/// A failed resource read as a JSON-RPC error: unknown URIs get `-32002` (resource not
/// found) as the specification asks, every other failure `-32603`.
pub fn read_error(uri: &str, error: CallError) -> ErrorData {
    match error {
        CallError::Guest(GuestError::ResourceNotFound(_)) => not_found(uri),
        other => ErrorData::internal_error(
            format!("reading {uri} failed: {other}"),
            Some(serde_json::json!({ "uri": uri })),
        ),
    }
}

/// The `-32002` error for a URI no plugin serves.
pub fn not_found(uri: &str) -> ErrorData {
    ErrorData::resource_not_found(
        format!("Resource not found: {uri}"),
        Some(serde_json::json!({ "uri": uri })),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(structured: Option<&str>, is_error: bool) -> ToolOutput {
        ToolOutput {
            content: vec![ContentBlock::Text("shown".into())],
            structured: structured.map(str::to_string),
            is_error,
        }
    }

    fn schema() -> CompiledSchema {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "n": { "type": "integer" } },
            "required": ["n"]
        });
        CompiledSchema {
            validator: Arc::new(jsonschema::validator_for(&schema).unwrap()),
            schema: Arc::new(schema.as_object().unwrap().clone()),
            unfolded: 2,
        }
    }

    /// The output's check with a deadline it never meets.
    fn tool_output(
        output: ToolOutput,
        schema: Option<&CompiledSchema>,
    ) -> Result<CallToolResult, String> {
        let limit = std::time::Duration::from_secs(60);
        let deadline = tokio::time::Instant::now() + limit;
        futures::executor::block_on(checked_tool_output(output, schema, deadline, limit))
    }

    #[test]
    fn structured_content_is_parsed_once_and_checked_against_the_output_schema() {
        let schema = schema();
        let result = tool_output(output(Some(r#"{"n":3}"#), false), Some(&schema)).unwrap();
        assert_eq!(
            result.structured_content,
            Some(serde_json::json!({ "n": 3 }))
        );
        assert_eq!(result.is_error, Some(false));

        let broken = tool_output(output(Some(r#"{"n":"three"}"#), false), Some(&schema));
        let problem = broken.unwrap_err();
        assert!(problem.contains("breaks its output schema"), "{problem}");
        assert!(problem.contains("`/n`"), "{problem}");

        let missing = tool_output(output(None, false), Some(&schema)).unwrap_err();
        assert!(
            missing.contains("returned no structured content"),
            "{missing}"
        );
    }

    #[test]
    fn structured_text_that_is_not_json_is_refused_with_or_without_a_schema() {
        for schema in [None, Some(schema())] {
            let problem = tool_output(output(Some("{n:"), false), schema.as_ref()).unwrap_err();
            assert!(problem.contains("is not JSON"), "{problem}");
        }
    }

    #[test]
    fn an_error_result_is_not_held_to_the_output_schema() {
        let schema = schema();
        let result = tool_output(output(None, true), Some(&schema)).unwrap();
        assert_eq!(result.is_error, Some(true));
        let plain = tool_output(output(None, false), None).unwrap();
        assert_eq!(plain.structured_content, None);
    }
}
