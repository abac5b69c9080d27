//! The exported plugin: the tables `export!` builds, the manifest, and the dispatch of
//! `call-tool`, `read-resource` and `on-event` to the right function. (Prompts and
//! completion dispatch live beside their types, in `prompts` and `completions`.)
//!
//! Everything here is plain Rust over the contract's types, so it runs natively in unit
//! tests exactly as in the component. It does not touch the host imports.

use berth_uri_template::UriTemplate;

use crate::__private::bindings::exports::berth::plugin::events as wit_events;
use crate::completions::CompletionDef;
use crate::convert::is_object_schema;
use crate::events::{Event, EventHookDef, EventKind};
use crate::icons::{Icon, Item};
use crate::prompts::PromptDef;
use crate::wit::{self, CallContext, CallError, Manifest, ReadError, ToolResult};
use crate::{Context, ToolError};

/// The signature of a tool's generated handler: JSON arguments in, contract result out.
type ToolHandler = fn(&str, &Context) -> Result<ToolResult, CallError>;
/// The signature of a static resource's generated reader.
type ResourceReader = fn(&str, &Context) -> Result<Vec<wit::ResourceContents>, ReadError>;
/// The signature of a template's generated reader; it receives the matched variables.
type TemplateReader =
    fn(&str, &[(String, String)], &Context) -> Result<Vec<wit::ResourceContents>, ReadError>;

/// Tool annotation hints, as given in `#[tool(...)]`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Annotations {
    /// `read_only`.
    pub read_only: Option<bool>,
    /// `destructive`.
    pub destructive: Option<bool>,
    /// `idempotent`.
    pub idempotent: Option<bool>,
    /// `open_world`.
    pub open_world: Option<bool>,
}

/// What `#[tool]` generates for one function.
#[derive(Debug, Clone, Copy)]
pub struct ToolDef {
    /// Tool name.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// The doc comment.
    pub description: &'static str,
    /// Behaviour hints.
    pub annotations: Annotations,
    /// Computes the arguments' schema (only `describe` needs it).
    pub input_schema: fn() -> serde_json::Value,
    /// Computes the result's schema, if the return type has an object schema.
    pub output_schema: fn() -> Option<serde_json::Value>,
    /// Parses the arguments, calls the function and converts its result.
    pub call: ToolHandler,
    /// The `icon = "…"` sources.
    pub icons: &'static [&'static str],
}

/// What `#[resource]` generates for one function.
#[derive(Debug, Clone, Copy)]
pub struct ResourceDef {
    /// Absolute URI.
    pub uri: &'static str,
    /// Short name.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// The doc comment, if any.
    pub description: Option<&'static str>,
    /// Declared MIME type.
    pub mime_type: Option<&'static str>,
    /// Calls the function and converts its result.
    pub read: ResourceReader,
    /// The `icon = "…"` sources.
    pub icons: &'static [&'static str],
}

/// What `#[resource_template]` generates for one function.
#[derive(Debug, Clone, Copy)]
pub struct TemplateDef {
    /// RFC 6570 URI template.
    pub uri_template: &'static str,
    /// Short name.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// The doc comment, if any.
    pub description: Option<&'static str>,
    /// Declared MIME type.
    pub mime_type: Option<&'static str>,
    /// Binds the variables to the parameters, calls the function and converts its result.
    pub read: TemplateReader,
    /// The `icon = "…"` sources.
    pub icons: &'static [&'static str],
}

/// A plugin as [`export!`](crate::export) declares it: its name, version, tools, resources,
/// templates, event hooks, prompts and completions.
///
/// The component's exports delegate to it, and `export!` also defines
/// `berth_plugin() -> &'static Plugin` so unit tests can drive the plugin natively:
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// Says hello.
/// #[tool]
/// fn hello(name: String) -> String {
///     format!("Hello, {name}!")
/// }
///
/// berth_plugin_sdk::export!(tools: [hello], name: "greeter");
///
/// # fn main() {
/// berth_plugin().validate().unwrap();
/// let manifest = berth_plugin().manifest();
/// assert_eq!(manifest.tools[0].name, "hello");
/// let result = berth_plugin().call("hello", serde_json::json!({"name": "Ada"})).unwrap();
/// assert_eq!(result.text(), "Hello, Ada!");
/// # }
/// ```
///
/// Prompts, completions and icons have their own methods: [`Plugin::prompts`],
/// [`Plugin::get_prompt`], [`Plugin::complete`] and [`Plugin::icons`].
#[derive(Debug)]
pub struct Plugin {
    pub(crate) name: &'static str,
    version: &'static str,
    description: Option<&'static str>,
    pub(crate) tools: &'static [ToolDef],
    pub(crate) resources: &'static [ResourceDef],
    pub(crate) templates: &'static [TemplateDef],
    hooks: &'static [EventHookDef],
    pub(crate) prompts: &'static [PromptDef],
    pub(crate) completions: &'static [CompletionDef],
    /// The icons of `export!(icons: [..])`, built when listed.
    pub(crate) icons: fn() -> Vec<(Item, Icon)>,
}

impl Plugin {
    /// Used by `export!`.
    #[doc(hidden)]
    #[allow(clippy::too_many_arguments)]
    pub const fn __new(
        name: &'static str,
        version: &'static str,
        description: Option<&'static str>,
        tools: &'static [ToolDef],
        resources: &'static [ResourceDef],
        templates: &'static [TemplateDef],
        hooks: &'static [EventHookDef],
        prompts: &'static [PromptDef],
        completions: &'static [CompletionDef],
        icons: fn() -> Vec<(Item, Icon)>,
    ) -> Self {
        Plugin {
            name,
            version,
            description,
            tools,
            resources,
            templates,
            hooks,
            prompts,
            completions,
            icons,
        }
    }

    /// The plugin name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// The manifest `describe` returns. It does not check it; see [`Plugin::validate`].
    pub fn manifest(&self) -> Manifest {
        self.checked_manifest().0
    }

    /// Checks what the macros cannot check at compile time: duplicate tool or prompt names
    /// or resource URIs, argument schemas that are not objects, template syntax, completions
    /// of prompts or templates the plugin does not have, icons of items it does not have or
    /// whose source the host would refuse (not `https:` or `data:`, or over 64 KiB). Returns every
    /// problem found. `describe` panics with the same list, so the host refuses to load
    /// the plugin and logs why; call this in a unit test to find out before that.
    pub fn validate(&self) -> Result<(), Vec<String>> {
        let (_, problems) = self.checked_manifest();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems)
        }
    }

    /// Calls tool `name` with `arguments` (a JSON object as text), as the host does.
    pub fn call_tool(
        &self,
        name: &str,
        arguments: &str,
        context: &Context,
    ) -> Result<ToolResult, CallError> {
        match self.tools.iter().find(|tool| tool.name == name) {
            Some(tool) => (tool.call)(arguments, context),
            None => Err(CallError::UnknownTool(format!(
                "plugin `{}` has no tool `{name}`; it has: {}",
                self.name,
                self.tools
                    .iter()
                    .map(|tool| tool.name)
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Calls tool `name` with `arguments` and a default [`Context`] (shorthand for tests).
    pub fn call(&self, name: &str, arguments: serde_json::Value) -> Result<ToolResult, CallError> {
        self.call_tool(name, &arguments.to_string(), &Context::default())
    }

    /// Reads the resource at `uri`, as the host does: the static resource with exactly
    /// that URI, else the first template that matches it, else `not-found`.
    pub fn read_resource(
        &self,
        uri: &str,
        context: &Context,
    ) -> Result<Vec<wit::ResourceContents>, ReadError> {
        if let Some(resource) = self.resources.iter().find(|r| r.uri == uri) {
            return (resource.read)(uri, context);
        }
        for template in self.templates {
            // The macro checked the template's syntax; one that still fails to parse is
            // reported by `validate` and simply matches nothing here.
            let Ok(parsed) = UriTemplate::parse(template.uri_template) else {
                continue;
            };
            if let Some(variables) = parsed.matches(uri) {
                return (template.read)(uri, &variables, context);
            }
        }
        Err(ReadError::NotFound(format!(
            "plugin `{}` has no resource `{uri}`",
            self.name
        )))
    }

    /// Reads `uri` with a default [`Context`] (shorthand for tests).
    pub fn read(&self, uri: &str) -> Result<Vec<wit::ResourceContents>, ReadError> {
        self.read_resource(uri, &Context::default())
    }

    /// The kinds of event the plugin's hooks handle, sorted and without repeats: what
    /// the host asks for on its behalf. Empty when it lists no hooks, and then the host
    /// never calls it for events.
    pub fn interests(&self) -> Vec<EventKind> {
        let mut kinds: Vec<EventKind> = self
            .hooks
            .iter()
            .flat_map(|hook| hook.kinds.iter().copied())
            .collect();
        kinds.sort_unstable();
        kinds.dedup();
        kinds
    }

    /// Delivers `event` as the host does: to every hook that handles its kind, in
    /// [`export!`](crate::export) order.
    pub fn on_event(&self, event: &Event) {
        let kind = event.kind();
        for hook in self.hooks.iter().filter(|hook| hook.kinds.contains(&kind)) {
            (hook.handle)(event);
        }
    }

    /// The manifest and the problems found while building it.
    fn checked_manifest(&self) -> (Manifest, Vec<String>) {
        let mut problems = Vec::new();
        if let Err(problem) = check_name(self.name, 32) {
            problems.push(format!("plugin name `{}` {problem}", self.name));
        }
        let mut tools = Vec::with_capacity(self.tools.len());
        for (index, tool) in self.tools.iter().enumerate() {
            if let Err(problem) = check_name(tool.name, 64) {
                problems.push(format!("tool name `{}` {problem}", tool.name));
            }
            // The host shows the tool as `<plugin>_<tool>`, which clients cap at 64 too.
            let qualified = self.name.len() + 1 + tool.name.len();
            if qualified > 64 {
                problems.push(format!(
                    "tool `{}`: `{}_{}` is {qualified} characters; the host allows 64",
                    tool.name, self.name, tool.name
                ));
            }
            if self.tools[..index].iter().any(|t| t.name == tool.name) {
                problems.push(format!("two tools are named `{}`", tool.name));
            }
            let input_schema = (tool.input_schema)();
            if !is_object_schema(&input_schema) {
                problems.push(format!(
                    "tool `{}`: the arguments' schema must have `\"type\": \"object\"` \
                     (use a struct with named fields for `#[args]`), got {input_schema}",
                    tool.name
                ));
            }
            tools.push(wit::Tool {
                name: tool.name.to_string(),
                title: tool.title.map(str::to_string),
                description: tool.description.trim().to_string(),
                input_schema: input_schema.to_string(),
                output_schema: (tool.output_schema)().map(|schema| schema.to_string()),
                annotations: wit::ToolAnnotations {
                    read_only: tool.annotations.read_only,
                    destructive: tool.annotations.destructive,
                    idempotent: tool.annotations.idempotent,
                    open_world: tool.annotations.open_world,
                },
            });
        }
        for (index, resource) in self.resources.iter().enumerate() {
            if !resource.uri.contains(':') {
                problems.push(format!(
                    "resource `{}`: URI `{}` has no scheme",
                    resource.name, resource.uri
                ));
            }
            if self.resources[..index]
                .iter()
                .any(|r| r.uri == resource.uri)
            {
                problems.push(format!("two resources have the URI `{}`", resource.uri));
            }
        }
        for template in self.templates {
            if let Err(problem) = UriTemplate::parse(template.uri_template) {
                problems.push(format!(
                    "resource template `{}`: {problem}",
                    template.uri_template
                ));
            }
        }
        self.prompt_problems(&mut problems);
        self.completion_problems(&mut problems);
        self.icon_problems(&mut problems);
        let manifest = Manifest {
            name: self.name.to_string(),
            version: self.version.to_string(),
            description: self.description.map(|d| d.trim().to_string()),
            tools,
            resources: self
                .resources
                .iter()
                .map(|resource| wit::Resource {
                    uri: resource.uri.to_string(),
                    name: resource.name.to_string(),
                    title: resource.title.map(str::to_string),
                    description: resource.description.map(|d| d.trim().to_string()),
                    mime_type: resource.mime_type.map(str::to_string),
                    size: None,
                })
                .collect(),
            resource_templates: self
                .templates
                .iter()
                .map(|template| wit::ResourceTemplate {
                    uri_template: template.uri_template.to_string(),
                    name: template.name.to_string(),
                    title: template.title.map(str::to_string),
                    description: template.description.map(|d| d.trim().to_string()),
                    mime_type: template.mime_type.map(str::to_string),
                })
                .collect(),
        };
        (manifest, problems)
    }
}

/// Checks a plugin, tool or prompt name against `[a-zA-Z0-9_-]{1,max}`.
pub(crate) fn check_name(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() || name.len() > max {
        return Err(format!("must be 1 to {max} characters long"));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(format!(
            "contains `{c}`; only ASCII letters, digits, `_` and `-` are allowed"
        )),
        None => Ok(()),
    }
}

/// The `describe` export: the manifest, or a panic listing every problem (the host then
/// refuses the plugin and logs the guest's panic message).
pub fn describe(plugin: &Plugin) -> Manifest {
    let (manifest, problems) = plugin.checked_manifest();
    if !problems.is_empty() {
        panic!(
            "plugin `{}` is invalid:\n  - {}",
            plugin.name,
            problems.join("\n  - ")
        );
    }
    manifest
}

/// The `call-tool` export.
pub fn guest_call_tool(
    plugin: &Plugin,
    name: String,
    arguments: String,
    context: CallContext,
) -> Result<ToolResult, CallError> {
    plugin.call_tool(&name, &arguments, &Context::from(context))
}

/// The `read-resource` export.
pub fn guest_read_resource(
    plugin: &Plugin,
    uri: String,
    context: CallContext,
) -> Result<Vec<wit::ResourceContents>, ReadError> {
    plugin.read_resource(&uri, &Context::from(context))
}

/// The `interests` export.
pub fn guest_interests(plugin: &Plugin) -> Vec<wit_events::EventKind> {
    plugin.interests().into_iter().map(Into::into).collect()
}

/// The `on-event` export.
pub fn guest_on_event(plugin: &Plugin, event: wit_events::Event) {
    plugin.on_event(&Event::from(event));
}

/// Fails compilation (in a `const`) when the plugin name is invalid. Used by `export!`
/// for the default name, which comes from the package name.
pub const fn assert_plugin_name(name: &str) {
    let bytes = name.as_bytes();
    if bytes.is_empty() || bytes.len() > 32 {
        panic!(
            "the plugin name (the Cargo package name by default) must be 1 to 32 characters; set `name: \"...\"` in export!"
        );
    }
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if !(b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            panic!(
                "the plugin name (the Cargo package name by default) may only hold ASCII letters, digits, `_` and `-`; set `name: \"...\"` in export!"
            );
        }
        i += 1;
    }
}

/// `None` for an empty string (an unset `CARGO_PKG_DESCRIPTION`).
pub const fn non_empty(text: &'static str) -> Option<&'static str> {
    if text.is_empty() { None } else { Some(text) }
}

/// The contract outcome of a tool's error.
pub fn tool_error_outcome(error: ToolError) -> Result<ToolResult, CallError> {
    error.into_outcome()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    /// Echoes `text`.
    #[tool(read_only)]
    fn echo(text: &str) -> String {
        text.to_string()
    }

    /// Adds `a` and `b`.
    #[tool(name = "add-numbers", title = "Add", idempotent, destructive = false)]
    fn add(a: i64, b: Option<i64>) -> i64 {
        a + b.unwrap_or(0)
    }

    /// Nothing to see.
    #[tool]
    fn nothing() {}

    /// Arguments of `shout`.
    #[derive(Deserialize, JsonSchema)]
    struct ShoutArgs {
        /// What to shout.
        text: String,
        /// How many exclamation marks.
        marks: Option<usize>,
    }

    /// What `shout` returns.
    #[derive(Serialize, JsonSchema)]
    struct Shouted {
        /// The shouted text.
        text: String,
    }

    /// Shouts.
    #[tool]
    fn shout(ctx: &Context, #[args] args: ShoutArgs) -> Result<Shouted, ToolError> {
        if args.text.is_empty() {
            return Err(ToolError::result("nothing to shout"));
        }
        let marks = "!".repeat(args.marks.unwrap_or(1));
        let by = ctx.client_name().unwrap_or("someone");
        Ok(Shouted {
            text: format!("{}{marks} (for {by})", args.text.to_uppercase()),
        })
    }

    /// Readme.
    #[resource(uri = "test://readme", title = "Read me", mime_type = "text/markdown")]
    fn readme() -> &'static str {
        "# Readme"
    }

    /// Raw bytes.
    #[resource(
        uri = "test://bytes",
        name = "bytes",
        mime_type = "application/octet-stream"
    )]
    fn raw() -> Vec<u8> {
        vec![0, 1, 2]
    }

    /// Items by id.
    #[resource_template(uri_template = "test://items/{id}{?format}", mime_type = "text/plain")]
    fn item(id: u32, format: Option<String>) -> Result<String, ResourceError> {
        if id == 0 {
            return Err(ResourceError::not_found("item 0 was deleted"));
        }
        Ok(format!(
            "item {id} as {}",
            format.as_deref().unwrap_or("text")
        ))
    }

    /// A catch-all that must lose to the static resources and the earlier template.
    #[resource_template(uri_template = "test://{+rest}")]
    fn fallback(rest: String, context: &Context) -> String {
        format!("fallback {rest} {}", context.request_id().unwrap_or("-"))
    }

    std::thread_local! {
        /// What the event hooks below saw, in order.
        static SEEN: std::cell::RefCell<Vec<String>> = const { std::cell::RefCell::new(Vec::new()) };
    }

    /// Records tool calls.
    #[on_event(tool_called)]
    fn record_calls(event: &Event) {
        if let Event::ToolCalled { tool, .. } = event {
            SEEN.with(|seen| seen.borrow_mut().push(format!("calls:{tool}")));
        }
    }

    #[on_event(plugin_loaded, tool_called, plugin_loaded)]
    fn record_all(event: &Event) {
        SEEN.with(|seen| {
            seen.borrow_mut()
                .push(format!("all:{}", event.kind().as_str()))
        });
    }

    crate::export!(
        name: "sdk-test",
        description: "Exercises the SDK",
        tools: [echo, add, nothing, shout],
        resources: [readme, raw],
        templates: [item, fallback],
        events: [record_calls, record_all],
    );

    #[test]
    fn events_reach_the_hooks_that_handle_their_kind() {
        use crate::events::{CallOutcome, EventKind};
        let plugin = berth_plugin();
        assert_eq!(
            plugin.interests(),
            [EventKind::PluginLoaded, EventKind::ToolCalled]
        );
        assert_eq!(guest_interests(plugin).len(), 2);
        plugin.on_event(&Event::ToolCalled {
            plugin: "text".into(),
            tool: "diff".into(),
            duration: std::time::Duration::ZERO,
            outcome: CallOutcome::Success,
        });
        plugin.on_event(&Event::ConfigApplied);
        guest_on_event(
            plugin,
            wit_events::Event::PluginLoaded(wit_events::PluginLoaded {
                plugin: "text".into(),
                version: "1.0.0".into(),
            }),
        );
        let seen = SEEN.with(|seen| seen.borrow().clone());
        assert_eq!(seen, ["calls:diff", "all:tool_called", "all:plugin_loaded"]);
    }

    #[test]
    fn manifest_describes_everything() {
        berth_plugin().validate().unwrap();
        let manifest = describe(berth_plugin());
        assert_eq!(manifest.name, "sdk-test");
        assert_eq!(manifest.version, env!("CARGO_PKG_VERSION"));
        assert_eq!(manifest.description.as_deref(), Some("Exercises the SDK"));
        let names: Vec<_> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["echo", "add-numbers", "nothing", "shout"]);

        let add = &manifest.tools[1];
        assert_eq!(add.title.as_deref(), Some("Add"));
        assert_eq!(add.description, "Adds `a` and `b`.");
        assert_eq!(add.annotations.idempotent, Some(true));
        assert_eq!(add.annotations.destructive, Some(false));
        assert_eq!(add.annotations.read_only, None);
        let schema: serde_json::Value = serde_json::from_str(&add.input_schema).unwrap();
        assert_eq!(schema["type"], "object");
        assert_eq!(schema["required"], serde_json::json!(["a"]));
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(add.output_schema, None, "an integer is not an object");

        let nothing: serde_json::Value =
            serde_json::from_str(&manifest.tools[2].input_schema).unwrap();
        assert_eq!(nothing["type"], "object");
        assert_eq!(nothing["properties"], serde_json::json!({}));

        let shout = &manifest.tools[3];
        let schema: serde_json::Value = serde_json::from_str(&shout.input_schema).unwrap();
        assert_eq!(
            schema["properties"]["text"]["description"],
            "What to shout."
        );
        assert_eq!(schema["required"], serde_json::json!(["text"]));
        let output: serde_json::Value =
            serde_json::from_str(shout.output_schema.as_deref().unwrap()).unwrap();
        assert_eq!(output["properties"]["text"]["type"], "string");

        assert_eq!(manifest.resources.len(), 2);
        assert_eq!(manifest.resources[0].name, "readme");
        assert_eq!(manifest.resources[0].title.as_deref(), Some("Read me"));
        assert_eq!(
            manifest.resources[0].description.as_deref(),
            Some("Readme.")
        );
        assert_eq!(manifest.resources[1].name, "bytes");
        assert_eq!(
            manifest.resource_templates[0].uri_template,
            "test://items/{id}{?format}"
        );
        assert_eq!(manifest.resource_templates[1].mime_type, None);
    }

    #[test]
    fn calls_dispatch_by_name() {
        let plugin = berth_plugin();
        let echo = plugin
            .call("echo", serde_json::json!({"text": "hi"}))
            .unwrap();
        assert_eq!(echo.text(), "hi");
        let sum = plugin
            .call("add-numbers", serde_json::json!({"a": 2, "b": 3}))
            .unwrap();
        assert_eq!(sum.text(), "5");
        let sum = plugin
            .call("add-numbers", serde_json::json!({"a": 2}))
            .unwrap();
        assert_eq!(sum.text(), "2");
        assert!(
            plugin
                .call_tool("nothing", "", &Context::default())
                .unwrap()
                .content
                .is_empty()
        );

        let context = Context::default().with_client_name("tester");
        let shouted = plugin
            .call_tool("shout", r#"{"text":"hey","marks":2}"#, &context)
            .unwrap();
        assert_eq!(
            shouted.structured_json(),
            Some(serde_json::json!({"text": "HEY!! (for tester)"}))
        );
        let empty = plugin
            .call("shout", serde_json::json!({"text": ""}))
            .unwrap();
        assert!(empty.is_error);
        assert_eq!(empty.text(), "nothing to shout");
    }

    #[test]
    fn bad_calls_are_typed_errors() {
        let plugin = berth_plugin();
        match plugin.call("missing", serde_json::json!({})) {
            Err(CallError::UnknownTool(message)) => assert!(message.contains("echo")),
            other => panic!("unexpected {other:?}"),
        }
        match plugin.call("add-numbers", serde_json::json!({"a": "two"})) {
            Err(CallError::InvalidArguments(message)) => {
                assert!(message.contains("`a`"), "{message}");
                assert!(!message.contains("line 1"), "{message}");
            }
            other => panic!("unexpected {other:?}"),
        }
        match plugin.call("add-numbers", serde_json::json!({})) {
            Err(CallError::InvalidArguments(message)) => {
                assert!(message.contains("missing field `a`"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
        match plugin.call("echo", serde_json::json!({"text": "x", "extra": 1})) {
            Err(CallError::InvalidArguments(message)) => {
                assert!(message.contains("unknown field `extra`"), "{message}")
            }
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(
            plugin.call_tool("echo", "{\"text\":\"x\"} trailing", &Context::default()),
            Err(CallError::InvalidArguments(_))
        ));
    }

    #[test]
    fn reads_prefer_static_then_first_matching_template() {
        let plugin = berth_plugin();
        let readme = plugin.read("test://readme").unwrap();
        assert_eq!(readme[0].as_text(), Some("# Readme"));
        assert_eq!(readme[0].mime_type.as_deref(), Some("text/markdown"));
        assert_eq!(
            plugin.read("test://bytes").unwrap()[0].as_blob(),
            Some(&[0u8, 1, 2][..])
        );

        let item = plugin.read("test://items/7?format=json").unwrap();
        assert_eq!(item[0].as_text(), Some("item 7 as json"));
        assert_eq!(item[0].uri, "test://items/7?format=json");
        assert_eq!(
            plugin.read("test://items/7").unwrap()[0].as_text(),
            Some("item 7 as text")
        );
        assert_eq!(
            plugin.read("test://items/0"),
            Err(ReadError::NotFound("item 0 was deleted".into()))
        );
        assert!(matches!(
            plugin.read("test://items/seven"),
            Err(ReadError::NotFound(message)) if message.contains("seven")
        ));

        let context = Context::default().with_request_id("42");
        let other = plugin.read_resource("test://a/b", &context).unwrap();
        assert_eq!(other[0].as_text(), Some("fallback a/b 42"));
        assert!(matches!(
            plugin.read("other://x"),
            Err(ReadError::NotFound(_))
        ));
    }

    #[test]
    fn validation_reports_every_problem() {
        fn schema() -> serde_json::Value {
            serde_json::json!({"type": "array"})
        }
        fn no_schema() -> Option<serde_json::Value> {
            None
        }
        fn call(_: &str, _: &Context) -> Result<ToolResult, CallError> {
            Ok(ToolOutput::new().into_result())
        }
        static TOOLS: [ToolDef; 2] = [
            ToolDef {
                name: "same",
                title: None,
                description: "d",
                annotations: Annotations {
                    read_only: None,
                    destructive: None,
                    idempotent: None,
                    open_world: None,
                },
                input_schema: schema,
                output_schema: no_schema,
                call,
                icons: &[],
            },
            ToolDef {
                name: "same",
                title: None,
                description: "d",
                annotations: Annotations {
                    read_only: None,
                    destructive: None,
                    idempotent: None,
                    open_world: None,
                },
                input_schema: schema,
                output_schema: no_schema,
                call,
                icons: &[],
            },
        ];
        static BAD: Plugin = Plugin::__new(
            "bad name",
            "1.0.0",
            None,
            &TOOLS,
            &[],
            &[],
            &[],
            &[],
            &[],
            crate::icons::no_icons,
        );
        let problems = BAD.validate().unwrap_err();
        assert_eq!(problems.len(), 4, "{problems:#?}");
        assert!(problems[0].contains("plugin name `bad name`"));
        assert!(
            problems
                .iter()
                .any(|p| p.contains("two tools are named `same`"))
        );
        assert!(problems.iter().any(|p| p.contains("\"type\": \"object\"")));
        let panic = std::panic::catch_unwind(|| describe(&BAD)).unwrap_err();
        let message = panic.downcast_ref::<String>().unwrap();
        assert!(message.starts_with("plugin `bad name` is invalid"));
    }

    #[test]
    fn names_are_checked() {
        assert!(check_name("a-b_C9", 32).is_ok());
        assert!(check_name("", 32).is_err());
        assert!(check_name(&"a".repeat(33), 32).is_err());
        assert!(check_name("a.b", 32).unwrap_err().contains("`.`"));
        assert_eq!(non_empty(""), None);
        assert_eq!(non_empty("x"), Some("x"));
    }
}
