//! The one-shot commands for plugin authors: `berth new` starts a plugin project,
//! `berth inspect` prints what a plugin offers, `berth call` runs one tool without a
//! client. Both use the same loader and rules as
//! the server, so a plugin that passes here loads there.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::manifest::{CallContext, IconItem, qualified_tool_name};
use crate::plugins::{self, PluginError};
use crate::protocol::convert;
use crate::runtime::Runtime;

mod new;
mod registry;
pub use new::new_plugin;
pub use registry::{keygen, pull, push, sign, update};

/// Why a one-shot command failed.
#[derive(Debug, thiserror::Error)]
pub enum CommandError {
    /// The plugin could not be loaded or its manifest is invalid.
    #[error(transparent)]
    Plugin(#[from] PluginError),
    /// The engine could not start.
    #[error(transparent)]
    Runtime(#[from] crate::runtime::LoadError),
    /// `[state]` names a store that cannot be used.
    #[error("plugin state: {0}")]
    State(String),
    /// `--args` is not a JSON object.
    #[error("--args must be a JSON object, e.g. '{{\"text\":\"hi\"}}': {0}")]
    Arguments(String),
    /// The plugin has no such tool.
    #[error("plugin `{plugin}` has no tool `{tool}`; it has: {available}")]
    UnknownTool {
        /// The plugin.
        plugin: String,
        /// The requested tool.
        tool: String,
        /// Its tools, comma-separated.
        available: String,
    },
    /// The config was refused.
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    /// Fetching or publishing through a registry failed.
    #[error(transparent)]
    Distribution(#[from] berth_distribution::DistributionError),
    /// `berth plugins update` found nothing to update, or some sources failed.
    #[error("{0}")]
    Update(String),
    /// A file the command would write exists already.
    #[error("{} exists; move it away first (a key is never overwritten)", path.display())]
    Exists {
        /// The file.
        path: std::path::PathBuf,
    },
    /// `berth new` was given a name or SDK folder it cannot use: says which and why.
    #[error("berth new: {0}")]
    NewProject(String),
    /// `berth new` would write into a folder that exists.
    #[error("{} exists; pick another name or folder (nothing was written)", path.display())]
    ProjectExists {
        /// The folder.
        path: std::path::PathBuf,
    },
    /// A file could not be written.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A file given on the command line could not be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: std::path::PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// The runtime of a command that loads one plugin and exits: compiled code comes from
/// the same cache `serve` uses, because a Python or JavaScript component takes seconds to
/// compile and a second `berth call` should not pay that again; so no tiering either, whose
/// Cranelift code would come after the command exits, never reaching the cache. No
/// instance pool: one call does not need its reserved address space.
fn one_shot_runtime(compile_cache: Option<PathBuf>) -> Result<Runtime, CommandError> {
    Ok(Runtime::new(crate::runtime::RuntimeOptions {
        compile_cache,
        max_instances: None,
        compiler: crate::runtime::CompileStrategy::Cranelift,
        ..Default::default()
    })?)
}

/// `berth inspect`: the plugin's manifest as pretty JSON (`json`) or as a readable
/// summary with every schema. `file` may also be an `oci://` reference.
pub async fn inspect(
    file: &Path,
    json: bool,
    compile_cache: Option<PathBuf>,
) -> Result<String, CommandError> {
    // `oci://…` is fetched into the store the embedded defaults name first, so a plugin
    // can be looked at before it is deployed.
    let fetched;
    let file = match file.to_str().filter(|f| f.starts_with("oci://")) {
        Some(reference) => {
            let config = Config::default();
            let source: berth_distribution::OciSource = reference.parse()?;
            let store = crate::sources::store(&config)?;
            let options = registry::with_progress(crate::sources::options(&config));
            fetched = berth_distribution::oci::pull(&source, &store, &options, None).await?;
            fetched.path.as_path()
        }
        None => file,
    };
    let runtime = one_shot_runtime(compile_cache)?;
    let plugin = plugins::load_checked(&runtime, file, Default::default())
        .await?
        .plugin;
    let m = plugin.manifest();
    // Icons as their `src`s, shortened: a data: URI can be 64 KiB.
    let icons = |item: IconItem| -> Vec<String> {
        m.icons_for(&item)
            .iter()
            .map(|icon| match icon.src.len() > 80 {
                true => format!(
                    "{}… ({} bytes)",
                    &icon.src[..icon.src.floor_char_boundary(60)],
                    icon.src.len()
                ),
                false => icon.src.clone(),
            })
            .collect()
    };
    let tools: Vec<serde_json::Value> = m
        .tools
        .iter()
        .map(|t| {
            serde_json::json!({
                "name": qualified_tool_name(&m.name, &t.name),
                "title": t.title,
                "description": t.description,
                "inputSchema": serde_json::from_str::<serde_json::Value>(&t.input_schema).unwrap_or_default(),
                "outputSchema": t.output_schema.as_deref().and_then(|s| serde_json::from_str::<serde_json::Value>(s).ok()),
                "annotations": {
                    "readOnlyHint": t.annotations.read_only,
                    "destructiveHint": t.annotations.destructive,
                    "idempotentHint": t.annotations.idempotent,
                    "openWorldHint": t.annotations.open_world,
                },
                "icons": icons(IconItem::Tool(t.name.clone())),
            })
        })
        .collect();
    // The event kinds the plugin's hook asked for (empty: it observes nothing).
    let events: Vec<&str> = plugin.interests().iter().map(|k| k.as_str()).collect();
    let value = serde_json::json!({
        "name": m.name,
        "version": m.version,
        "description": m.description,
        "contract": format!("berth:plugin@{}", plugin.contract_version()),
        "events": events,
        "needs": needs_json(plugin.needs()),
        "tools": tools,
        "resources": m.resources.iter().map(|r| serde_json::json!({
            "uri": r.uri, "name": r.name, "title": r.title, "description": r.description,
            "mimeType": r.mime_type, "size": r.size,
            "icons": icons(IconItem::Resource(r.uri.clone())),
        })).collect::<Vec<_>>(),
        "resourceTemplates": m.resource_templates.iter().map(|t| serde_json::json!({
            "uriTemplate": t.uri_template, "name": t.name, "title": t.title,
            "description": t.description, "mimeType": t.mime_type,
            "icons": icons(IconItem::ResourceTemplate(t.uri_template.clone())),
        })).collect::<Vec<_>>(),
        "prompts": m.prompts.iter().map(|p| serde_json::json!({
            "name": qualified_tool_name(&m.name, &p.name), "title": p.title,
            "description": p.description,
            "arguments": p.arguments.iter().map(|a| serde_json::json!({
                "name": a.name, "title": a.title, "description": a.description,
                "required": a.required,
            })).collect::<Vec<_>>(),
            "icons": icons(IconItem::Prompt(p.name.clone())),
        })).collect::<Vec<_>>(),
        "completions": plugin.completes(),
    });
    if json {
        return Ok(serde_json::to_string_pretty(&value).unwrap_or_default());
    }
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{} {}  (contract berth:plugin@{})",
        m.name,
        m.version,
        plugin.contract_version()
    );
    if let Some(d) = &m.description {
        let _ = writeln!(out, "{d}");
    }
    if !events.is_empty() {
        let _ = writeln!(out, "\nevents: {}", events.join(", "));
    }
    let needs = plugin.needs();
    if !needs.is_empty() {
        let _ = writeln!(
            out,
            "\nneeds (grant them under [plugins.{}.grants]):",
            m.name
        );
        for folder in &needs.folders {
            let access = if folder.write { "read-write" } else { "read" };
            let _ = writeln!(
                out,
                "  folder {} ({access}): {}",
                folder.path, folder.reason
            );
        }
        for name in &needs.env {
            let _ = writeln!(out, "  env {name}");
        }
        for destination in &needs.network {
            let _ = writeln!(out, "  network {destination}");
        }
        if needs.keyvalue {
            let _ = writeln!(
                out,
                "  state (wasi:keyvalue): keyvalue = {{ buckets = [\"…\"] }}"
            );
        }
    }
    let _ = writeln!(out, "\ntools ({}):", m.tools.len());
    for (t, v) in m.tools.iter().zip(&tools) {
        let _ = writeln!(
            out,
            "  {}  {}",
            qualified_tool_name(&m.name, &t.name),
            t.title.as_deref().unwrap_or("")
        );
        for line in t.description.lines() {
            let _ = writeln!(out, "      {line}");
        }
        let schema = serde_json::to_string(&v["inputSchema"]).unwrap_or_default();
        let _ = writeln!(out, "      input:  {schema}");
        if !v["outputSchema"].is_null() {
            let _ = writeln!(
                out,
                "      output: {}",
                serde_json::to_string(&v["outputSchema"]).unwrap_or_default()
            );
        }
    }
    let resources = m
        .resources
        .iter()
        .map(|r| (&r.uri, &r.mime_type, &r.description));
    list_section(&mut out, "resources", m.resources.len(), resources);
    let templates = m
        .resource_templates
        .iter()
        .map(|t| (&t.uri_template, &t.mime_type, &t.description));
    list_section(
        &mut out,
        "resource templates",
        m.resource_templates.len(),
        templates,
    );
    if !m.prompts.is_empty() {
        let _ = writeln!(out, "\nprompts ({}):", m.prompts.len());
        for p in &m.prompts {
            let arguments: Vec<String> = p
                .arguments
                .iter()
                .map(|a| match a.required {
                    true => a.name.clone(),
                    false => format!("[{}]", a.name),
                })
                .collect();
            let _ = writeln!(
                out,
                "  {}({})  {}",
                qualified_tool_name(&m.name, &p.name),
                arguments.join(", "),
                p.description.as_deref().unwrap_or("")
            );
        }
    }
    if plugin.completes() {
        let _ = writeln!(out, "\ncompletions: answered by the plugin");
    }
    Ok(out)
}

/// Appends a titled list of `address  mime  description` lines to `out`.
fn list_section<'a>(
    out: &mut String,
    title: &str,
    count: usize,
    items: impl Iterator<Item = (&'a String, &'a Option<String>, &'a Option<String>)>,
) {
    let _ = writeln!(out, "\n{title} ({count}):");
    for (address, mime, description) in items {
        let mime = mime.as_deref().unwrap_or("-");
        let description = description.as_deref().unwrap_or("");
        let _ = writeln!(out, "  {address}  {mime}  {description}");
    }
}

/// A plugin's declared needs as JSON, for `inspect --json`.
fn needs_json(needs: &crate::policy::Needs) -> serde_json::Value {
    serde_json::json!({
        "folders": needs.folders.iter().map(|f| serde_json::json!({
            "path": f.path, "write": f.write, "reason": f.reason,
        })).collect::<Vec<_>>(),
        "env": needs.env,
        "network": needs.network,
        "keyvalue": needs.keyvalue,
    })
}

/// `berth call`: runs `tool` (plugin-local or qualified name) with `args` and returns
/// the MCP `CallToolResult` as pretty JSON, plus whether it is an error result.
///
/// The plugin gets what `config` (a config file, as `berth serve --config` takes) gives
/// it, grants included, with `config_values` over its config values.
pub async fn call(
    file: &Path,
    tool: &str,
    args: &str,
    config: Option<&Path>,
    config_values: BTreeMap<String, String>,
    compile_cache: Option<PathBuf>,
) -> Result<(String, bool), CommandError> {
    let arguments: serde_json::Value =
        serde_json::from_str(args).map_err(|e| CommandError::Arguments(e.to_string()))?;
    if !arguments.is_object() {
        return Err(CommandError::Arguments(format!("got {arguments}")));
    }
    let config_file = config;
    let config = Config::load(config_file, &[])?;
    let runtime = one_shot_runtime(compile_cache)?;
    runtime.use_state_store(
        crate::plugin_state::store(&config, config_file).map_err(CommandError::State)?,
    );
    let plugins::Checked { plugin, schemas } =
        plugins::load_one(&runtime, file, &config, None).await?;
    let mut settings = config.settings_for(&plugin.manifest().name);
    settings.config.extend(config_values);
    let plugin = plugin.with_settings(settings);
    let m = plugin.manifest().clone();
    let prefix = format!("{}_", m.name);
    let local = tool
        .strip_prefix(&prefix)
        .filter(|t| m.tools.iter().any(|x| x.name == *t))
        .unwrap_or(tool);
    let Some(spec) = m.tools.iter().find(|t| t.name == local) else {
        return Err(CommandError::UnknownTool {
            plugin: m.name.clone(),
            tool: tool.to_string(),
            available: m
                .tools
                .iter()
                .map(|t| t.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        });
    };
    let (registry, _) = crate::registry::Registry::build(
        1,
        vec![crate::registry::PluginEntry {
            plugin: plugin.clone(),
            path: file.to_path_buf(),
            tool_prefix: None,
            schemas,
        }],
    );
    let qualified = qualified_tool_name(&m.name, &spec.name);
    let result = match registry.tool(&qualified) {
        Some(entry) => call_checked(&plugin, entry, &spec.name, &qualified, arguments).await,
        None => convert::error_result(format!("tool {qualified} could not be registered")),
    };
    let is_error = result.is_error == Some(true);
    Ok((
        serde_json::to_string_pretty(&result).unwrap_or_default(),
        is_error,
    ))
}

/// Runs one call as the server does: arguments and structured result checked against the
/// tool's schemas under the plugin's call timeout.
async fn call_checked(
    plugin: &crate::runtime::LoadedPlugin,
    entry: &crate::registry::ToolEntry,
    tool: &str,
    qualified: &str,
    arguments: serde_json::Value,
) -> rmcp::model::CallToolResult {
    let limit = plugin.call_timeout();
    let deadline = tokio::time::Instant::now() + limit;
    let arguments = std::sync::Arc::new(arguments);
    let whole = "(the arguments object)";
    match crate::protocol::checks::check(&entry.input, &arguments, whole, deadline, limit).await {
        Err(crate::protocol::checks::CheckError::Problems(problems)) => {
            return convert::error_result(format!("invalid arguments for {qualified}: {problems}"));
        }
        Err(crate::protocol::checks::CheckError::TimedOut(limit)) => {
            return convert::error_result(format!(
                "{qualified} did not run: checking its arguments did not finish within {limit:?}"
            ));
        }
        Ok(()) => {}
    }
    let outcome = plugin
        .call_tool(
            tool,
            &arguments.to_string(),
            &CallContext::default(),
            &CancellationToken::new(),
        )
        .await;
    match outcome {
        Ok(output) => {
            let deadline = deadline.max(tokio::time::Instant::now());
            convert::checked_tool_output(output, entry.output.as_ref(), deadline, limit)
                .await
                .unwrap_or_else(|problem| {
                    convert::error_result(convert::invalid_result(qualified, &problem))
                })
        }
        Err(error) => convert::call_error(qualified, error),
    }
}
