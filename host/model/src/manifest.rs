//! What a plugin offers, in Berth's own terms: the manifest a plugin returns from
//! `describe`, the results and errors of its calls, and the rules a manifest must obey.
//!
//! These types are the vocabulary shared by the runtime (which fills them from the WIT
//! bindings) and the protocol layer (which turns them into MCP messages); neither
//! wasmtime nor rmcp types appear here, so each side can be upgraded alone.

use std::collections::HashSet;
use std::sync::Arc;

pub mod schema_cost;

use crate::untrusted::{escaped, shown};

/// Longest plugin name; keeps `plugin_tool` within the 64 characters clients accept.
pub const MAX_PLUGIN_NAME_LEN: usize = 32;
/// Longest tool name as clients see it (the rule common LLM APIs enforce).
pub const MAX_TOOL_NAME_LEN: usize = 64;

/// Everything one plugin offers, as returned by its `describe` export.
#[derive(Debug, Clone, PartialEq)]
pub struct Manifest {
    /// Plugin name; prefixes its tool names.
    pub name: String,
    /// Plugin version as the plugin states it (validated as semver).
    pub version: String,
    /// What the plugin is for.
    pub description: Option<String>,
    /// Tools in listing order.
    pub tools: Vec<ToolSpec>,
    /// Static resources.
    pub resources: Vec<ResourceSpec>,
    /// Resource templates (RFC 6570).
    pub resource_templates: Vec<ResourceTemplateSpec>,
    /// Prompt templates (contract 0.3's optional `prompts` export; empty before).
    pub prompts: Vec<PromptSpec>,
    /// Icons of its tools, prompts and resources (contract 0.3's optional `icons`
    /// export), as declared: at most one set per item.
    pub icons: Vec<(IconItem, Vec<Icon>)>,
}

/// Longest icon `src` accepted (a `data:` URI carries the image itself).
pub const MAX_ICON_SRC_BYTES: usize = 64 * 1024;

/// An image a client may show next to an item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    /// An `https:` URL or a `data:` URI.
    pub src: String,
    /// Its MIME type, if known.
    pub mime_type: Option<String>,
    /// Sizes it is drawn for (`48x48`, `any`).
    pub sizes: Vec<String>,
    /// The theme it is drawn for.
    pub theme: Option<IconTheme>,
}

/// The background an icon is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IconTheme {
    /// Light backgrounds.
    Light,
    /// Dark backgrounds.
    Dark,
}

/// What a set of icons belongs to, in the plugin's own names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum IconItem {
    /// A tool by its plugin-local name.
    Tool(String),
    /// A prompt by its plugin-local name.
    Prompt(String),
    /// A static resource by URI.
    Resource(String),
    /// A resource template by URI template.
    ResourceTemplate(String),
}

impl std::fmt::Display for IconItem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            IconItem::Tool(name) => write!(f, "tool `{name}`"),
            IconItem::Prompt(name) => write!(f, "prompt `{name}`"),
            IconItem::Resource(uri) => write!(f, "resource `{uri}`"),
            IconItem::ResourceTemplate(template) => write!(f, "resource template `{template}`"),
        }
    }
}

/// One prompt as the plugin declares it (its name is not yet namespaced).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptSpec {
    /// Name within the plugin.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// What the prompt is for.
    pub description: Option<String>,
    /// Its arguments, in asking order.
    pub arguments: Vec<PromptArgument>,
}

/// One argument of a prompt; values are strings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptArgument {
    /// Name, unique within the prompt.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// What the value should be.
    pub description: Option<String>,
    /// Whether a client must supply it.
    pub required: bool,
}

/// Who speaks a message of a prompt or a sampling conversation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The human side.
    User,
    /// The model.
    Assistant,
}

/// One message of a prompt or a sampling conversation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who speaks it.
    pub role: Role,
    /// What it says.
    pub content: ContentBlock,
}

/// A filled-in prompt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptOutput {
    /// What this result is, when it differs from the prompt's description.
    pub description: Option<String>,
    /// The messages in conversation order.
    pub messages: Vec<Message>,
}

/// What a `completion/complete` request completes, in the plugin's own names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CompletionTarget {
    /// An argument of the plugin's prompt with this plugin-local name.
    Prompt(String),
    /// A parameter of the plugin's resource template with this URI template.
    ResourceTemplate(String),
}

/// One `completion/complete` request, in the plugin's own names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CompletionRequest {
    /// The prompt or resource template.
    pub target: CompletionTarget,
    /// The argument (or template parameter) being completed.
    pub argument: String,
    /// What the user typed so far.
    pub value: String,
    /// Values of the other arguments already chosen.
    pub chosen: Vec<(String, String)>,
}

/// Suggestions a plugin made for one argument.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completions {
    /// Candidate values, best first.
    pub values: Vec<String>,
    /// How many candidates there are in all, if known.
    pub total: Option<u32>,
    /// Whether there are more than `values` holds.
    pub has_more: bool,
}

/// One tool as the plugin declares it (its name is not yet namespaced).
#[derive(Debug, Clone, PartialEq)]
pub struct ToolSpec {
    /// Name within the plugin.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// Description for the model.
    pub description: String,
    /// JSON Schema of the arguments, as JSON text.
    pub input_schema: String,
    /// JSON Schema of the structured result, as JSON text.
    pub output_schema: Option<String>,
    /// Behaviour hints.
    pub annotations: ToolAnnotations,
}

/// Behaviour hints of a tool (MCP tool annotations).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ToolAnnotations {
    /// Does not modify its environment.
    pub read_only: Option<bool>,
    /// May perform destructive updates.
    pub destructive: Option<bool>,
    /// Repeated calls with the same arguments have no further effect.
    pub idempotent: Option<bool>,
    /// Interacts with external entities.
    pub open_world: Option<bool>,
}

/// A static resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceSpec {
    /// Absolute URI.
    pub uri: String,
    /// Short name.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// What it holds.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Size in bytes.
    pub size: Option<u64>,
}

/// A resource template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceTemplateSpec {
    /// RFC 6570 URI template.
    pub uri_template: String,
    /// Short name.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// What the resources hold.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
}

/// Facts about the request a call serves, passed to the plugin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CallContext {
    /// JSON-RPC request id as text.
    pub request_id: Option<String>,
    /// Client name from `initialize`.
    pub client_name: Option<String>,
    /// Client version from `initialize`.
    pub client_version: Option<String>,
    /// Where the plugin's log records and progress reports during this call go: the
    /// calling client, when it asked for log messages (`logging/setLevel`) or for
    /// progress (a progress token). Records always go to the host log as well.
    pub notices: Option<crate::client::NoticeSink>,
    /// Whether the client asked for progress of this call.
    pub progress: bool,
    /// The client, for sampling and elicitation on the call's behalf.
    pub client: Option<crate::client::ClientLink>,
    /// Whose calls may reuse the instance this call ran in (its session, or its
    /// identity for a stateless request); `None`: nobody's, the call runs fresh unless
    /// the plugin shares its instances with every caller.
    pub reuse: Option<crate::reuse::ReuseScope>,
}

/// Severity of a plugin's log record, from most to least verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum LogLevel {
    /// Fine detail.
    Trace,
    /// Diagnostics.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that was handled.
    Warn,
    /// A failure.
    Error,
}

/// One log record a plugin wrote during a call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PluginLog {
    /// Its severity.
    pub level: LogLevel,
    /// The message.
    pub message: String,
    /// Key-value fields, in the plugin's order.
    pub fields: Vec<(String, String)>,
}

/// Binary data with its MIME type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// Raw bytes.
    pub data: Vec<u8>,
    /// MIME type.
    pub mime_type: String,
}

/// Text or bytes of a resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResourceBody {
    /// UTF-8 text.
    Text(String),
    /// Raw bytes.
    Blob(Vec<u8>),
}

/// Contents of one resource.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceContents {
    /// URI the contents belong to.
    pub uri: String,
    /// MIME type.
    pub mime_type: Option<String>,
    /// Text or bytes.
    pub body: ResourceBody,
}

/// A link to a resource inside a tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLink {
    /// Linked URI.
    pub uri: String,
    /// Short name.
    pub name: String,
    /// Display name.
    pub title: Option<String>,
    /// What it holds.
    pub description: Option<String>,
    /// MIME type.
    pub mime_type: Option<String>,
}

/// One block of a tool result.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContentBlock {
    /// Text.
    Text(String),
    /// Image bytes.
    Image(Media),
    /// Audio bytes.
    Audio(Media),
    /// Link to a resource.
    ResourceLink(ResourceLink),
    /// Embedded resource.
    Resource(ResourceContents),
}

/// The result of a tool call that ran to completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolOutput {
    /// Unstructured content.
    pub content: Vec<ContentBlock>,
    /// Structured result, JSON text of an object.
    pub structured: Option<String>,
    /// The tool reports a failure the model should see.
    pub is_error: bool,
}

/// A failure the plugin itself reported (as opposed to a trap or a host limit).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GuestError {
    /// The plugin has no tool by that name.
    #[error("the plugin has no tool named `{0}`")]
    UnknownTool(String),
    /// The plugin rejected the arguments.
    #[error("invalid arguments: {0}")]
    InvalidArguments(String),
    /// The tool failed.
    #[error("{0}")]
    Failed(String),
    /// No resource of the plugin has this URI.
    #[error("no resource at `{0}`")]
    ResourceNotFound(String),
    /// The plugin has no prompt by that name.
    #[error("the plugin has no prompt named `{0}`")]
    UnknownPrompt(String),
}

/// Why a manifest was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ManifestError {
    /// The plugin name breaks the naming rule.
    #[error(
        "plugin name `{}` is invalid: use 1 to {MAX_PLUGIN_NAME_LEN} characters from [a-zA-Z0-9_-]",
        shown(.0)
    )]
    PluginName(String),
    /// The plugin version is not semver.
    #[error(
        "plugin version `{}` is not a semantic version (e.g. 1.2.0): {}",
        shown(.version),
        shown(.reason)
    )]
    Version {
        /// The version text.
        version: String,
        /// The parser's complaint.
        reason: String,
    },
    /// A tool name breaks the naming rule.
    #[error(
        "tool name `{}` is invalid: use characters from [a-zA-Z0-9_-], at most {MAX_TOOL_NAME_LEN} including the plugin prefix",
        shown(.0)
    )]
    ToolName(String),
    /// Two tools share a name.
    #[error("tool `{}` is declared twice", shown(.0))]
    DuplicateTool(String),
    /// A tool's description is empty.
    #[error(
        "tool `{}` has an empty description; document the function that implements it",
        shown(.0)
    )]
    EmptyDescription(String),
    /// A schema is not valid JSON or not a valid JSON Schema.
    #[error(
        "the {which} schema of tool `{}` is invalid: {}",
        shown(.tool),
        escaped(.reason)
    )]
    Schema {
        /// Tool name.
        tool: String,
        /// `input` or `output`.
        which: &'static str,
        /// What is wrong.
        reason: String,
    },
    /// A prompt is malformed: bad or repeated name, or a bad or repeated argument.
    #[error("prompt `{}` is invalid: {}", shown(.prompt), shown(.reason))]
    Prompt {
        /// The prompt's name.
        prompt: String,
        /// What is wrong.
        reason: String,
    },
    /// An icon set names nothing the plugin offers, repeats an item, or has a bad `src`.
    #[error("the icons of {} are invalid: {}", shown(.item), shown(.reason))]
    Icon {
        /// The item, as people read it.
        item: String,
        /// What is wrong.
        reason: String,
    },
    /// A resource URI is not absolute or is declared twice.
    #[error("resource `{}` is invalid: {}", shown(.uri), escaped(.reason))]
    Resource {
        /// The URI.
        uri: String,
        /// What is wrong.
        reason: String,
    },
    /// A resource template is malformed.
    #[error("resource template `{}` is invalid: {}", shown(.template), shown(.reason))]
    Template {
        /// The template text.
        template: String,
        /// What is wrong.
        reason: String,
    },
}

/// True when `name` uses only `[a-zA-Z0-9_-]` and is 1..=`max` characters long.
pub fn is_valid_name(name: &str, max: usize) -> bool {
    !name.is_empty()
        && name.len() <= max
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// The name clients see for `tool` of `plugin`.
///
/// `_` joins the two because `.` and `/` are outside `^[a-zA-Z0-9_-]{1,64}$`, the rule
/// that Anthropic's and OpenAI's APIs enforce on tool names.
pub fn qualified_tool_name(plugin: &str, tool: &str) -> String {
    format!("{plugin}_{tool}")
}

impl Manifest {
    /// Checks every rule a manifest must obey; the first broken rule is the error. On
    /// success returns every tool's schemas, compiled (checking a schema means compiling
    /// it, so the work is kept: the registry serves these, and a plugin's schemas are
    /// compiled once per load however often the registry is rebuilt).
    pub fn validate(&self) -> Result<ToolSchemas, ManifestError> {
        if !is_valid_name(&self.name, MAX_PLUGIN_NAME_LEN) {
            return Err(ManifestError::PluginName(self.name.clone()));
        }
        semver::Version::parse(&self.version).map_err(|e| ManifestError::Version {
            version: self.version.clone(),
            reason: e.to_string(),
        })?;
        let mut seen = HashSet::new();
        let mut schemas = Vec::with_capacity(self.tools.len());
        for tool in &self.tools {
            let qualified = qualified_tool_name(&self.name, &tool.name);
            if !is_valid_name(&tool.name, MAX_TOOL_NAME_LEN)
                || !is_valid_name(&qualified, MAX_TOOL_NAME_LEN)
            {
                return Err(ManifestError::ToolName(tool.name.clone()));
            }
            if !seen.insert(tool.name.as_str()) {
                return Err(ManifestError::DuplicateTool(tool.name.clone()));
            }
            if tool.description.trim().is_empty() {
                return Err(ManifestError::EmptyDescription(tool.name.clone()));
            }
            let input = compile_schema(&tool.name, "input", &tool.input_schema)?;
            let output = match &tool.output_schema {
                Some(output) => Some(compile_schema(&tool.name, "output", output)?),
                None => None,
            };
            schemas.push(Arc::new(ToolSchema { input, output }));
        }
        let mut uris = HashSet::new();
        for resource in &self.resources {
            let bad = |reason: &str| ManifestError::Resource {
                uri: resource.uri.clone(),
                reason: reason.to_string(),
            };
            if !has_scheme(&resource.uri) {
                return Err(bad("a resource URI must be absolute, e.g. `notes://index`"));
            }
            if !uris.insert(resource.uri.as_str()) {
                return Err(bad("declared twice"));
            }
        }
        let mut prompts = HashSet::new();
        for prompt in &self.prompts {
            let bad = |reason: String| ManifestError::Prompt {
                prompt: prompt.name.clone(),
                reason,
            };
            if !is_valid_name(&prompt.name, MAX_TOOL_NAME_LEN) {
                return Err(bad(format!(
                    "use 1 to {MAX_TOOL_NAME_LEN} characters from [a-zA-Z0-9_-]"
                )));
            }
            if !prompts.insert(prompt.name.as_str()) {
                return Err(bad("declared twice".into()));
            }
            let mut arguments = HashSet::new();
            for argument in &prompt.arguments {
                if argument.name.trim().is_empty() {
                    return Err(bad("an argument has an empty name".into()));
                }
                if !arguments.insert(argument.name.as_str()) {
                    return Err(bad(format!(
                        "argument `{}` is declared twice",
                        argument.name
                    )));
                }
            }
        }
        self.validate_icons()?;
        for template in &self.resource_templates {
            berth_uri_template::UriTemplate::parse(&template.uri_template).map_err(|reason| {
                ManifestError::Template {
                    template: template.uri_template.clone(),
                    reason,
                }
            })?;
        }
        Ok(ToolSchemas(schemas.into()))
    }
}

/// A JSON Schema parsed and compiled.
#[derive(Debug, Clone)]
pub struct CompiledSchema {
    /// The schema as clients are sent it.
    pub schema: Arc<serde_json::Map<String, serde_json::Value>>,
    /// The schema compiled, for checking values without parsing it again.
    pub validator: Arc<jsonschema::Validator>,
    /// Subschemas in the schema with its `$ref`s unfolded (bounded at load by
    /// [`schema_cost::MAX_UNFOLDED`]): the most a check visits per place in a value.
    pub unfolded: usize,
}

impl CompiledSchema {
    /// An upper bound on the steps checking `value` takes: the unfolded schema at
    /// every place in the value. Linear in the value; saturates.
    pub fn cost_of(&self, value: &serde_json::Value) -> u64 {
        let mut places: u64 = 0;
        let mut pending = vec![value];
        while let Some(node) = pending.pop() {
            places += 1;
            match node {
                serde_json::Value::Array(items) => pending.extend(items),
                // A member's name is a place too (`propertyNames` checks it).
                serde_json::Value::Object(members) => {
                    places += members.len() as u64;
                    pending.extend(members.values());
                }
                _ => {}
            }
        }
        places.saturating_mul(self.unfolded as u64)
    }
}

/// One tool's compiled schemas.
#[derive(Debug)]
pub struct ToolSchema {
    /// Its arguments' schema.
    pub input: CompiledSchema,
    /// Its structured result's schema, when it declares one.
    pub output: Option<CompiledSchema>,
}

/// The compiled schemas of a manifest's tools, in the manifest's order; cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ToolSchemas(pub Arc<[Arc<ToolSchema>]>);

impl Manifest {
    /// The icons declared for `item` (none when it has none).
    pub fn icons_for(&self, item: &IconItem) -> &[Icon] {
        self.icons
            .iter()
            .find(|(declared, _)| declared == item)
            .map_or(&[], |(_, icons)| icons.as_slice())
    }

    /// Every icon set names an item the plugin offers, once, and every `src` is an
    /// `https:` URL or a `data:` URI of bounded size: a client fetches or decodes it, so
    /// Berth passes on nothing that would reach a plain-HTTP or local address.
    fn validate_icons(&self) -> Result<(), ManifestError> {
        let mut seen = Vec::new();
        for (item, icons) in &self.icons {
            let bad = |reason: String| ManifestError::Icon {
                item: item.to_string(),
                reason,
            };
            let offered = match item {
                IconItem::Tool(name) => self.tools.iter().any(|t| &t.name == name),
                IconItem::Prompt(name) => self.prompts.iter().any(|p| &p.name == name),
                IconItem::Resource(uri) => self.resources.iter().any(|r| &r.uri == uri),
                IconItem::ResourceTemplate(template) => self
                    .resource_templates
                    .iter()
                    .any(|t| &t.uri_template == template),
            };
            if !offered {
                return Err(bad("the plugin offers no such item".into()));
            }
            if seen.contains(&item) {
                return Err(bad("declared twice".into()));
            }
            seen.push(item);
            for icon in icons {
                let src = icon.src.as_str();
                if !(src.starts_with("https://") || src.starts_with("data:")) {
                    let shown: String = src.chars().take(40).collect();
                    return Err(bad(format!(
                        "`{shown}` is neither an https: URL nor a data: URI"
                    )));
                }
                if src.len() > MAX_ICON_SRC_BYTES {
                    return Err(bad(format!(
                        "an icon's src is {} bytes, more than {MAX_ICON_SRC_BYTES}",
                        src.len()
                    )));
                }
            }
        }
        Ok(())
    }
}

/// True when `uri` starts with an RFC 3986 scheme followed by `:`.
fn has_scheme(uri: &str) -> bool {
    match uri.split_once(':') {
        Some((scheme, _)) => {
            let mut chars = scheme.chars();
            chars.next().is_some_and(|c| c.is_ascii_alphabetic())
                && chars.all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        }
        None => false,
    }
}

/// Compiles `text`, which must be a JSON object that compiles as a JSON Schema of type
/// `object`.
fn compile_schema(
    tool: &str,
    which: &'static str,
    text: &str,
) -> Result<CompiledSchema, ManifestError> {
    let bad = |reason: String| ManifestError::Schema {
        tool: tool.to_string(),
        which,
        reason,
    };
    let value: serde_json::Value =
        serde_json::from_str(text).map_err(|e| bad(format!("not JSON: {e}")))?;
    let object = value
        .as_object()
        .ok_or_else(|| bad("a schema must be a JSON object".into()))?;
    // MCP requires tool argument and structured-result schemas to describe objects.
    if object.get("type").and_then(|t| t.as_str()) != Some("object") {
        return Err(bad("its top-level `type` must be \"object\"".into()));
    }
    // Measured before compiling: the schema is the plugin's, and what checking values
    // against it costs must be bounded before anything depends on it.
    let cost = schema_cost::measure(&value).map_err(bad)?;
    let validator = jsonschema::validator_for(&value).map_err(|e| {
        let at = e.instance_path().to_string();
        if at.is_empty() {
            bad(e.to_string())
        } else {
            bad(format!("at `{at}`: {e}"))
        }
    })?;
    match value {
        serde_json::Value::Object(schema) => Ok(CompiledSchema {
            schema: Arc::new(schema),
            validator: Arc::new(validator),
            unfolded: cost.unfolded,
        }),
        _ => Err(bad("a schema must be a JSON object".into())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tool(name: &str, schema: &str) -> ToolSpec {
        ToolSpec {
            name: name.into(),
            title: None,
            description: "does a thing".into(),
            input_schema: schema.into(),
            output_schema: None,
            annotations: ToolAnnotations::default(),
        }
    }

    fn manifest(tools: Vec<ToolSpec>) -> Manifest {
        Manifest {
            name: "demo".into(),
            version: "1.0.0".into(),
            description: None,
            tools,
            resources: vec![],
            resource_templates: vec![],
            prompts: vec![],
            icons: vec![],
        }
    }

    const OBJECT: &str = r#"{"type":"object","properties":{"a":{"type":"string"}}}"#;

    #[test]
    fn accepts_a_well_formed_manifest() {
        manifest(vec![tool("a", OBJECT), tool("b", OBJECT)])
            .validate()
            .unwrap();
    }

    #[test]
    fn refuses_duplicate_tools() {
        let err = manifest(vec![tool("a", OBJECT), tool("a", OBJECT)])
            .validate()
            .unwrap_err();
        assert_eq!(err, ManifestError::DuplicateTool("a".into()));
    }

    #[test]
    fn refuses_bad_names_and_versions() {
        let mut m = manifest(vec![tool("has space", OBJECT)]);
        assert!(matches!(m.validate(), Err(ManifestError::ToolName(_))));
        m.tools = vec![tool(&"x".repeat(60), OBJECT)];
        assert!(matches!(m.validate(), Err(ManifestError::ToolName(_))));
        m.tools.clear();
        m.version = "one".into();
        assert!(matches!(m.validate(), Err(ManifestError::Version { .. })));
        m.version = "1.0.0".into();
        m.name = "a.b".into();
        assert!(matches!(m.validate(), Err(ManifestError::PluginName(_))));
    }

    #[test]
    fn refuses_invalid_schemas() {
        for schema in [
            "{not json",
            "[]",
            r#"{"type":"string"}"#,
            r#"{"type":"object","properties":{"a":{"type":12}}}"#,
        ] {
            let err = manifest(vec![tool("a", schema)]).validate().unwrap_err();
            assert!(
                matches!(err, ManifestError::Schema { .. }),
                "{schema}: {err}"
            );
        }
    }

    #[test]
    fn refuses_malformed_prompts() {
        let prompt = |name: &str, args: &[&str]| PromptSpec {
            name: name.into(),
            title: None,
            description: Some("d".into()),
            arguments: args
                .iter()
                .map(|a| PromptArgument {
                    name: (*a).into(),
                    title: None,
                    description: None,
                    required: true,
                })
                .collect(),
        };
        let mut m = manifest(vec![]);
        m.prompts = vec![prompt("greet", &["name", "tone"])];
        m.validate().unwrap();
        for prompts in [
            vec![prompt("has space", &[])],
            vec![prompt("a", &[]), prompt("a", &[])],
            vec![prompt("a", &["x", "x"])],
            vec![prompt("a", &[""])],
        ] {
            m.prompts = prompts;
            assert!(matches!(m.validate(), Err(ManifestError::Prompt { .. })));
        }
    }

    #[test]
    fn icons_must_name_an_item_once_and_point_somewhere_safe() {
        let icon = |src: &str| Icon {
            src: src.into(),
            mime_type: None,
            sizes: vec![],
            theme: None,
        };
        let mut m = manifest(vec![tool("a", OBJECT)]);
        m.icons = vec![(IconItem::Tool("a".into()), vec![icon("https://x/a.png")])];
        m.validate().unwrap();
        assert_eq!(m.icons_for(&IconItem::Tool("a".into())).len(), 1);
        assert!(m.icons_for(&IconItem::Tool("b".into())).is_empty());
        for icons in [
            vec![(IconItem::Tool("b".into()), vec![icon("https://x")])],
            vec![(IconItem::Tool("a".into()), vec![icon("http://x/a.png")])],
            vec![(IconItem::Tool("a".into()), vec![icon("file:///etc/x")])],
            vec![(
                IconItem::Tool("a".into()),
                vec![icon(&format!("data:{}", "x".repeat(MAX_ICON_SRC_BYTES)))],
            )],
            vec![
                (IconItem::Tool("a".into()), vec![]),
                (IconItem::Tool("a".into()), vec![]),
            ],
        ] {
            m.icons = icons;
            assert!(
                matches!(m.validate(), Err(ManifestError::Icon { .. })),
                "{m:?}"
            );
        }
    }

    #[test]
    fn refuses_relative_or_duplicate_resource_uris() {
        let resource = |uri: &str| ResourceSpec {
            uri: uri.into(),
            name: "r".into(),
            title: None,
            description: None,
            mime_type: None,
            size: None,
        };
        let mut m = manifest(vec![]);
        m.resources = vec![resource("index")];
        assert!(matches!(m.validate(), Err(ManifestError::Resource { .. })));
        m.resources = vec![resource("notes://a"), resource("notes://a")];
        assert!(matches!(m.validate(), Err(ManifestError::Resource { .. })));
    }
}
