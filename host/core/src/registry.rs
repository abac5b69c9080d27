//! The registry: an immutable snapshot of every plugin being served, indexed by the
//! names and URIs clients use. A new snapshot is built whole and swapped in atomically;
//! a call holds the snapshot it started with, so it never sees a half-applied change.
//!
//! Building a snapshot is where cross-plugin rules are enforced: two plugins with the
//! same name, the same qualified tool name or the same resource URI cannot both be
//! served, nor a static resource under another plugin's template. The plugin already
//! served keeps what it has and the newcomer is refused whole, with an error naming both;
//! between newcomers that arrive together, `claims` decides (both refused unless the
//! config prefers one), so file order never does.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;

use berth_uri_template::UriTemplate;

use crate::hooks::EventKind;
use crate::metrics::ToolSeries;
use berth_model::manifest::{
    CompiledSchema, Icon, IconItem, PromptSpec, ResourceSpec, ResourceTemplateSpec, ToolSchemas,
    ToolSpec, qualified_tool_name,
};
use berth_model::untrusted::shown;

mod claims;
use berth_runtime::LoadedPlugin;
pub use claims::settle_newcomers;

/// Why a plugin could not join a snapshot.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Another plugin already uses this plugin name.
    #[error(
        "plugin `{name}` from {file} is refused: {other} already provides a plugin named `{name}`; remove one of the files or rename the plugin"
    )]
    DuplicatePlugin {
        /// The plugin name.
        name: String,
        /// The refused file.
        file: String,
        /// The file that keeps the name.
        other: String,
    },
    /// A qualified tool name is already taken by another plugin.
    #[error(
        "plugin `{plugin}` from {file} is refused: its tool `{tool}` collides with a tool of plugin `{other}`"
    )]
    ToolCollision {
        /// The refused plugin.
        plugin: String,
        /// The refused file.
        file: String,
        /// The colliding qualified name.
        tool: String,
        /// The plugin that keeps it.
        other: String,
    },
    /// The configured `tool_prefix` makes a tool name longer than clients accept.
    #[error(
        "plugin `{plugin}` from {file} is refused: with its `tool_prefix` the tool name `{tool}` is longer than {max} characters; shorten `[plugins.{plugin}] tool_prefix`",
        max = berth_model::manifest::MAX_TOOL_NAME_LEN
    )]
    ToolNameTooLong {
        /// The refused plugin.
        plugin: String,
        /// The refused file.
        file: String,
        /// The qualified name.
        tool: String,
    },
    /// A qualified prompt name is already taken by another plugin.
    #[error(
        "plugin `{plugin}` from {file} is refused: its prompt `{prompt}` collides with a prompt of plugin `{other}`"
    )]
    PromptCollision {
        /// The refused plugin.
        plugin: String,
        /// The refused file.
        file: String,
        /// The colliding qualified name.
        prompt: String,
        /// The plugin that keeps it.
        other: String,
    },
    /// A resource URI is already served by another plugin.
    #[error(
        "plugin `{plugin}` from {file} is refused: resource `{}` is already served by plugin `{other}`",
        shown(.uri)
    )]
    ResourceCollision {
        /// The refused plugin.
        plugin: String,
        /// The refused file.
        file: String,
        /// The URI.
        uri: String,
        /// The plugin that keeps it.
        other: String,
    },
    /// A static resource URI falls under a template of a plugin already served, which
    /// would stop serving it (static resources are read before templates).
    #[error(
        "plugin `{plugin}` from {file} is refused: its resource `{}` falls under the \
         template `{}` of plugin `{other}`, which serves it; a plugin cannot take \
         over another's URIs",
        shown(.uri),
        shown(.template)
    )]
    ResourceShadows {
        /// The refused plugin.
        plugin: String,
        /// The refused file.
        file: String,
        /// The URI.
        uri: String,
        /// The template that matches it.
        template: String,
        /// The plugin that keeps it.
        other: String,
    },
    /// Two plugins that arrived together (neither served yet) claim the same name or URI.
    #[error(
        "plugin `{plugin}` from {file} is refused: it and plugin `{other}` from {other_file}, \
         loaded together, both claim {what}; {}",
        if *kept {
            format!("the config prefers `{other}` (`plugins.{other}.preferred = true`)")
        } else if plugin == other {
            "Berth serves neither rather than let file order decide: remove one of the files \
             or rename one of the plugins"
                .to_string()
        } else {
            format!(
                "Berth serves neither rather than let file order decide: remove or rename \
                 one, or set `preferred = true` under `[plugins.{other}]` or \
                 `[plugins.{plugin}]` for the one to keep"
            )
        }
    )]
    Contested {
        /// The refused plugin.
        plugin: String,
        /// The refused file.
        file: String,
        /// The other plugin.
        other: String,
        /// The other plugin's file.
        other_file: String,
        /// What both claim, for people.
        what: String,
        /// Whether the other plugin keeps it (the config prefers it).
        kept: bool,
    },
}

/// One plugin being served.
#[derive(Clone)]
pub struct PluginEntry {
    /// The loaded, pre-instantiated plugin.
    pub plugin: LoadedPlugin,
    /// The file it was loaded from.
    pub path: PathBuf,
    /// What its tool names start with (`[plugins.NAME] tool_prefix`); `None`: `<name>_`.
    pub tool_prefix: Option<String>,
    /// Its tools' schemas, compiled when its manifest was validated
    /// ([`berth_model::manifest::Manifest::validate`]), in the manifest's tool order.
    pub schemas: ToolSchemas,
}

impl PluginEntry {
    /// The plugin's name.
    pub fn name(&self) -> &str {
        &self.plugin.manifest().name
    }

    /// The name clients call its tool (or prompt) `tool` by.
    pub fn qualified(&self, tool: &str) -> String {
        match &self.tool_prefix {
            Some(prefix) => format!("{prefix}{tool}"),
            None => qualified_tool_name(self.name(), tool),
        }
    }
}

/// A tool as clients see it.
pub struct ToolEntry {
    /// The name clients call (`plugin_tool`).
    pub qualified_name: String,
    /// The plugin that serves it.
    pub plugin: Arc<PluginEntry>,
    /// The plugin's declaration.
    pub spec: ToolSpec,
    /// The input schema, parsed and compiled once per load, so validating arguments
    /// costs no parsing per call.
    pub input: CompiledSchema,
    /// The output schema, parsed and compiled, for checking structured results.
    pub output: Option<CompiledSchema>,
    /// Its icons.
    pub icons: Vec<Icon>,
    /// Its call metrics, registered on its first call.
    pub series: ToolSeries,
}

/// A prompt as clients see it.
pub struct PromptEntry {
    /// The name clients ask for (prefixed like tool names).
    pub qualified_name: String,
    /// The plugin that serves it.
    pub plugin: Arc<PluginEntry>,
    /// The plugin's declaration.
    pub spec: PromptSpec,
    /// Its icons.
    pub icons: Vec<Icon>,
}

/// A static resource as clients see it.
pub struct ResourceEntry {
    /// The plugin that serves it.
    pub plugin: Arc<PluginEntry>,
    /// The plugin's declaration.
    pub spec: ResourceSpec,
    /// Its icons.
    pub icons: Vec<Icon>,
}

/// A resource template as clients see it.
pub struct TemplateEntry {
    /// The plugin that serves it.
    pub plugin: Arc<PluginEntry>,
    /// The plugin's declaration.
    pub spec: ResourceTemplateSpec,
    /// The parsed template, for routing reads.
    pub template: UriTemplate,
    /// Its icons.
    pub icons: Vec<Icon>,
}

/// An immutable view of everything served, at one generation.
#[derive(Default)]
pub struct Registry {
    generation: u64,
    plugins: Vec<Arc<PluginEntry>>,
    tools: Vec<ToolEntry>,
    tool_index: HashMap<String, usize>,
    resources: Vec<ResourceEntry>,
    resource_index: HashMap<String, usize>,
    templates: Vec<TemplateEntry>,
    prompts: Vec<PromptEntry>,
    prompt_index: HashMap<String, usize>,
    calls_watched: bool,
}

impl Registry {
    /// Builds a snapshot from `plugins`, refusing any that collide with one before it:
    /// earlier entries win. Callers decide the order (file-name order at start-up, plugins
    /// already served first on a change) so the outcome never depends on which load
    /// finished first. Each refusal comes with the refused file.
    pub fn build(
        generation: u64,
        plugins: Vec<PluginEntry>,
    ) -> (Self, Vec<(PathBuf, RegistryError)>) {
        let mut registry = Registry {
            generation,
            ..Registry::default()
        };
        let mut errors = Vec::new();
        let mut names: BTreeMap<String, String> = BTreeMap::new();
        for entry in plugins {
            let entry = Arc::new(entry);
            let file = entry.path.display().to_string();
            if let Some(other) = names.get(entry.name()) {
                let error = RegistryError::DuplicatePlugin {
                    name: entry.name().to_string(),
                    file,
                    other: other.clone(),
                };
                errors.push((entry.path.clone(), error));
                continue;
            }
            if let Err(e) = registry.check_collisions(&entry, &file) {
                errors.push((entry.path.clone(), e));
                continue;
            }
            names.insert(entry.name().to_string(), file);
            registry.add(entry);
        }
        (registry, errors)
    }

    fn check_collisions(&self, entry: &PluginEntry, file: &str) -> Result<(), RegistryError> {
        let manifest = entry.plugin.manifest();
        for tool in &manifest.tools {
            let qualified = entry.qualified(&tool.name);
            if qualified.len() > berth_model::manifest::MAX_TOOL_NAME_LEN {
                return Err(RegistryError::ToolNameTooLong {
                    plugin: manifest.name.clone(),
                    file: file.to_string(),
                    tool: qualified,
                });
            }
            if let Some(&i) = self.tool_index.get(&qualified) {
                return Err(RegistryError::ToolCollision {
                    plugin: manifest.name.clone(),
                    file: file.to_string(),
                    tool: qualified,
                    other: self.tools[i].plugin.name().to_string(),
                });
            }
        }
        for prompt in &manifest.prompts {
            let qualified = entry.qualified(&prompt.name);
            if let Some(&i) = self.prompt_index.get(&qualified) {
                return Err(RegistryError::PromptCollision {
                    plugin: manifest.name.clone(),
                    file: file.to_string(),
                    prompt: qualified,
                    other: self.prompts[i].plugin.name().to_string(),
                });
            }
        }
        if let Some((uri, template, other)) = claims::shadowed(entry, &self.templates) {
            return Err(RegistryError::ResourceShadows {
                plugin: manifest.name.clone(),
                file: file.to_string(),
                uri: uri.to_string(),
                template: template.to_string(),
                other: other.to_string(),
            });
        }
        for resource in &manifest.resources {
            if let Some(&i) = self.resource_index.get(&resource.uri) {
                return Err(RegistryError::ResourceCollision {
                    plugin: manifest.name.clone(),
                    file: file.to_string(),
                    uri: resource.uri.clone(),
                    other: self.resources[i].plugin.name().to_string(),
                });
            }
        }
        Ok(())
    }

    /// Adds a plugin whose manifest was validated (`Manifest::validate`), so its schemas
    /// are compiled and its templates parse; anything that still fails is skipped with a
    /// log line rather than a panic.
    fn add(&mut self, entry: Arc<PluginEntry>) {
        self.calls_watched |= entry.plugin.wants(EventKind::ToolCalled);
        let owner = Arc::clone(&entry);
        let manifest = owner.plugin.manifest();
        let icons = |item: IconItem| manifest.icons_for(&item).to_vec();
        for (i, spec) in manifest.tools.iter().cloned().enumerate() {
            let qualified_name = entry.qualified(&spec.name);
            let Some(schemas) = entry.schemas.0.get(i) else {
                tracing::error!(plugin = %manifest.name, tool = %spec.name, "the tool's schemas were not compiled; it is not served");
                continue;
            };
            self.tool_index
                .insert(qualified_name.clone(), self.tools.len());
            self.tools.push(ToolEntry {
                series: ToolSeries::new(entry.name(), &spec.name),
                qualified_name,
                plugin: entry.clone(),
                input: schemas.input.clone(),
                output: schemas.output.clone(),
                icons: icons(IconItem::Tool(spec.name.clone())),
                spec,
            });
        }
        for spec in manifest.resources.iter().cloned() {
            self.resource_index
                .insert(spec.uri.clone(), self.resources.len());
            self.resources.push(ResourceEntry {
                plugin: entry.clone(),
                icons: icons(IconItem::Resource(spec.uri.clone())),
                spec,
            });
        }
        for spec in manifest.resource_templates.iter().cloned() {
            match UriTemplate::parse(&spec.uri_template) {
                Ok(template) => self.templates.push(TemplateEntry {
                    plugin: entry.clone(),
                    icons: icons(IconItem::ResourceTemplate(spec.uri_template.clone())),
                    spec,
                    template,
                }),
                Err(reason) => {
                    tracing::error!(plugin = %manifest.name, template = %spec.uri_template, %reason, "resource template failed to parse after validation");
                }
            }
        }
        for spec in manifest.prompts.iter().cloned() {
            let qualified_name = entry.qualified(&spec.name);
            self.prompt_index
                .insert(qualified_name.clone(), self.prompts.len());
            self.prompts.push(PromptEntry {
                qualified_name,
                plugin: entry.clone(),
                icons: icons(IconItem::Prompt(spec.name.clone())),
                spec,
            });
        }
        self.plugins.push(entry);
    }

    /// The snapshot's generation; it grows by one with every change.
    pub fn generation(&self) -> u64 {
        self.generation
    }

    /// Plugins in the order they were built in.
    pub fn plugins(&self) -> &[Arc<PluginEntry>] {
        &self.plugins
    }

    /// Tools in listing order (plugin order, then declaration order).
    pub fn tools(&self) -> &[ToolEntry] {
        &self.tools
    }

    /// The tool clients call `qualified_name`.
    pub fn tool(&self, qualified_name: &str) -> Option<&ToolEntry> {
        self.tool_index.get(qualified_name).map(|&i| &self.tools[i])
    }

    /// Whether a served plugin has an event hook for tool calls. When none has, a call
    /// publishes no event: nobody would act on it, and waking the hook dispatcher for
    /// every call cost more than the call's other bookkeeping.
    pub fn calls_watched(&self) -> bool {
        self.calls_watched
    }

    /// Static resources in listing order.
    pub fn resources(&self) -> &[ResourceEntry] {
        &self.resources
    }

    /// Resource templates in listing order.
    pub fn templates(&self) -> &[TemplateEntry] {
        &self.templates
    }

    /// Prompts in listing order (plugin order, then declaration order).
    pub fn prompts(&self) -> &[PromptEntry] {
        &self.prompts
    }

    /// The prompt clients ask for as `qualified_name`.
    pub fn prompt(&self, qualified_name: &str) -> Option<&PromptEntry> {
        self.prompt_index
            .get(qualified_name)
            .map(|&i| &self.prompts[i])
    }

    /// The resource template written exactly `uri_template`.
    pub fn template(&self, uri_template: &str) -> Option<&TemplateEntry> {
        self.templates
            .iter()
            .find(|t| t.spec.uri_template == uri_template)
    }

    /// True when clients would see a different prompt list in `other`.
    pub fn prompts_differ(&self, other: &Registry) -> bool {
        self.prompts.len() != other.prompts.len()
            || self.prompts.iter().zip(&other.prompts).any(|(a, b)| {
                a.qualified_name != b.qualified_name || a.spec != b.spec || a.icons != b.icons
            })
    }

    /// True when clients would see a different tool list in `other`.
    pub fn tools_differ(&self, other: &Registry) -> bool {
        self.tools.len() != other.tools.len()
            || self.tools.iter().zip(&other.tools).any(|(a, b)| {
                a.qualified_name != b.qualified_name || a.spec != b.spec || a.icons != b.icons
            })
    }

    /// True when clients would see a different resource or template list in `other`.
    pub fn resources_differ(&self, other: &Registry) -> bool {
        let resources = |r: &Registry| {
            r.resources
                .iter()
                .map(|e| (e.spec.clone(), e.icons.clone()))
                .collect::<Vec<_>>()
        };
        let templates = |r: &Registry| {
            r.templates
                .iter()
                .map(|e| (e.spec.clone(), e.icons.clone()))
                .collect::<Vec<_>>()
        };
        resources(self) != resources(other) || templates(self) != templates(other)
    }

    /// The plugin that serves `uri`: the static resource with that URI, else the first
    /// template that matches it.
    pub fn resource_owner(&self, uri: &str) -> Option<&Arc<PluginEntry>> {
        if let Some(&i) = self.resource_index.get(uri) {
            return Some(&self.resources[i].plugin);
        }
        self.templates
            .iter()
            .find(|t| t.template.matches(uri).is_some())
            .map(|t| &t.plugin)
    }
}

/// Splits `items` into the page that starts at `cursor` and the cursor of the next
/// page. Cursors are opaque to clients; here they are the offset of the page's first
/// item, so they stay valid across snapshots (an item added or removed between pages
/// shifts the window by one, which MCP allows: lists are not transactional).
pub fn page<'a, T>(
    items: &'a [T],
    cursor: Option<&str>,
    size: usize,
) -> Result<(&'a [T], Option<String>), String> {
    let start = match cursor {
        None => 0,
        Some(c) => c
            .strip_prefix("o")
            .and_then(|n| n.parse::<usize>().ok())
            .filter(|&n| n <= items.len())
            .ok_or_else(|| {
                format!("invalid cursor `{c}`: pass back a nextCursor exactly as received")
            })?,
    };
    let end = start.saturating_add(size).min(items.len());
    let next = (end < items.len()).then(|| format!("o{end}"));
    Ok((&items[start..end], next))
}

#[cfg(test)]
mod tests {
    use super::page;

    #[test]
    fn pages_cover_every_item_once() {
        let items: Vec<u32> = (0..7).collect();
        let mut seen = Vec::new();
        let mut cursor = None;
        loop {
            let (items, next) = page(&items, cursor.as_deref(), 3).unwrap();
            seen.extend_from_slice(items);
            match next {
                Some(n) => cursor = Some(n),
                None => break,
            }
        }
        assert_eq!(seen, (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn bad_cursors_are_refused() {
        let items = [1, 2];
        assert!(page(&items, Some("zzz"), 1).is_err());
        assert!(page(&items, Some("o9"), 1).is_err());
        assert_eq!(page(&items, Some("o2"), 1).unwrap().0.len(), 0);
        let empty: [u8; 0] = [];
        assert_eq!(page(&empty, None, 5).unwrap(), (&empty[..], None));
    }
}
