//! Finding plugin files and loading one: list the folder, load a component, check its
//! manifest, apply the operator's per-plugin settings. One bad file is one error; the
//! lifecycle decides what to do with it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::config::Config;
use berth_model::manifest::{Manifest, ManifestError, ToolSchemas};
use berth_model::policy::{self, Grants, Needs, NotGranted};
use berth_runtime::{Compiled, LoadError, LoadedPlugin, PluginLimits, PluginSettings, Runtime};

/// Why one plugin file is not served.
#[derive(Debug, thiserror::Error)]
pub enum PluginError {
    /// The runtime could not load it.
    #[error(transparent)]
    Load(#[from] LoadError),
    /// Its manifest breaks a rule.
    #[error("plugin {file} has an invalid manifest: {source}")]
    Manifest {
        /// The file.
        file: String,
        /// The broken rule.
        source: ManifestError,
    },
    /// Its version does not satisfy the requirement the config sets for it.
    #[error(
        "plugin `{plugin}` {version} in {file} does not satisfy the version requirement \
         `{requirement}` set by config key `plugins.{plugin}.version`; install a matching \
         build or change the requirement"
    )]
    VersionRefused {
        /// The file.
        file: String,
        /// The plugin's name.
        plugin: String,
        /// The version the file carries.
        version: String,
        /// The requirement it fails.
        requirement: semver::VersionReq,
    },
    /// It needs something the config does not grant.
    #[error("plugin {file} is refused: {missing}")]
    NotGranted {
        /// The file.
        file: String,
        /// The missing grant and the key to add (in the message, so not also a source
        /// that error reports would print twice).
        missing: NotGranted,
    },
    /// A folder granted to it is not there.
    #[error(
        "plugin {file} is refused: the folder {} granted by `{key}` cannot be used ({reason}); \
         create it or fix the path", host.display()
    )]
    FolderMissing {
        /// The file.
        file: String,
        /// The config key of the grant.
        key: String,
        /// The folder.
        host: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// It declares a resource at a URI that is not its own to serve.
    #[error("plugin {file} is refused: {refusal}")]
    ResourceUri {
        /// The file.
        file: String,
        /// Which URI, why, and the key that would allow it (boxed: it is the rare case).
        refusal: Box<Refusal>,
    },
    /// A file fetched for `[plugins.NAME] source` holds a plugin of another name.
    #[error(
        "plugin {file}, fetched for `plugins.{expected}.source`, is plugin `{found}`; point \
         the source at a build of `{expected}` or move it under `[plugins.{found}]`"
    )]
    SourceHoldsOther {
        /// The stored file.
        file: String,
        /// The name the config expects.
        expected: String,
        /// The name the plugin gave.
        found: String,
    },
    /// The plugins folder could not be listed.
    #[error("cannot list plugins folder {dir}: {source}")]
    ListDir {
        /// The folder.
        dir: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// True for files the loader considers: `*.wasm`, not hidden (editors and copy tools
/// write hidden temporary files next to the real ones).
pub fn is_plugin_file(path: &Path) -> bool {
    let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
        return false;
    };
    !name.starts_with('.') && path.extension().is_some_and(|e| e == "wasm")
}

/// The plugin files in `dir`, sorted by name.
pub fn list(dir: &Path) -> Result<Vec<PathBuf>, PluginError> {
    let list_err = |source| PluginError::ListDir {
        dir: dir.to_path_buf(),
        source,
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(list_err)? {
        let path = entry.map_err(list_err)?.path();
        if is_plugin_file(&path) && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

/// A loaded plugin whose manifest obeys the rules, with the tool schemas compiled while
/// checking them.
pub struct Checked {
    /// The plugin.
    pub plugin: LoadedPlugin,
    /// Its tools' compiled schemas, in manifest order.
    pub schemas: ToolSchemas,
}

/// The limits a load's exports run under: `unnamed` until `describe` has said the
/// plugin's name (which keys its own limits), then that plugin's own where stricter.
#[derive(Debug, Clone, Default)]
pub struct LoadLimits {
    /// The `[runtime]` limits when serving.
    pub unnamed: PluginLimits,
    /// Each plugin's `[plugins.NAME.limits]` merged over `[runtime]`, for plugins that
    /// have some.
    pub by_name: Arc<BTreeMap<String, PluginLimits>>,
}

impl LoadLimits {
    /// The limits `config` gives loads.
    pub fn of(config: &Config) -> LoadLimits {
        let by_name = config
            .plugins
            .iter()
            .filter(|(_, plugin)| plugin.limits != Default::default())
            .map(|(name, _)| (name.clone(), config.limits_for(name)))
            .collect();
        LoadLimits {
            unnamed: config.default_limits(),
            by_name: Arc::new(by_name),
        }
    }
}

/// Loads one file and checks its manifest's rules, without the operator's grants or
/// config values: what `berth inspect` shows, whatever the config grants. Its load-time
/// exports run under `limits`.
pub async fn load_checked(
    runtime: &Runtime,
    path: &Path,
    limits: LoadLimits,
) -> Result<Checked, PluginError> {
    describe_checked(runtime.compile(path).await?, path, limits).await
}

/// The second half of [`load_checked`], for a file already compiled.
async fn describe_checked(
    compiled: Compiled,
    path: &Path,
    limits: LoadLimits,
) -> Result<Checked, PluginError> {
    let settings = PluginSettings {
        limits: limits.unnamed,
        load_limits_by_name: limits.by_name,
        ..PluginSettings::default()
    };
    let plugin = compiled.describe(settings).await?;
    let schemas = plugin
        .manifest()
        .validate()
        .map_err(|source| PluginError::Manifest {
            file: path.display().to_string(),
            source,
        })?;
    Ok(Checked { plugin, schemas })
}

/// Loads one file to be served: runtime load, manifest rules, the version requirement,
/// then the operator's settings, refusing it when its needs are not granted. `served_as`
/// is the name the file's plugin is served under, if it is (a new build of it): its own
/// limits then apply from the start of the load, `describe` included.
pub async fn load_one(
    runtime: &Runtime,
    path: &Path,
    config: &Config,
    served_as: Option<&str>,
) -> Result<Checked, PluginError> {
    describe_one(runtime.compile(path).await?, path, config, served_as).await
}

/// The second half of [`load_one`], for a file already compiled: the plugin's load-time
/// exports, then the same checks.
pub async fn describe_one(
    compiled: Compiled,
    path: &Path,
    config: &Config,
    served_as: Option<&str>,
) -> Result<Checked, PluginError> {
    let mut limits = LoadLimits::of(config);
    if let Some(name) = served_as {
        limits.unnamed = config.limits_for(name);
    }
    let Checked { plugin, schemas } = describe_checked(compiled, path, limits).await?;
    let manifest = plugin.manifest();
    let settings = config.plugin(&manifest.name);
    if let Some(requirement) = settings.version_refuses(&manifest.version) {
        return Err(PluginError::VersionRefused {
            file: path.display().to_string(),
            plugin: manifest.name.clone(),
            version: manifest.version.clone(),
            requirement: requirement.clone(),
        });
    }
    let settings = config.settings_for(&manifest.name);
    let allowed = &config.plugin(&manifest.name).resource_uris;
    admit(manifest, plugin.needs(), &settings.grants, allowed).map_err(
        |problem| match problem {
            Refusal::NotGranted(missing) => PluginError::NotGranted {
                file: path.display().to_string(),
                missing,
            },
            Refusal::FolderMissing { key, host, reason } => PluginError::FolderMissing {
                file: path.display().to_string(),
                key,
                host,
                reason,
            },
            refusal @ Refusal::ResourceUri { .. } => PluginError::ResourceUri {
                file: path.display().to_string(),
                refusal: Box::new(refusal),
            },
        },
    )?;
    Ok(Checked {
        plugin: plugin.with_settings(settings),
        schemas,
    })
}

/// Why a plugin's needs and grants do not fit together.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    /// A need is not granted.
    NotGranted(NotGranted),
    /// A granted folder is not there.
    FolderMissing {
        /// The config key of the grant.
        key: String,
        /// The folder.
        host: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// It declares a resource (or template) at a URI it has no grant for.
    ResourceUri {
        /// The plugin.
        plugin: String,
        /// The URI, or the template as written.
        uri: String,
        /// What the URI names that the plugin was not granted.
        problem: String,
    },
}

impl std::fmt::Display for Refusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refusal::NotGranted(e) => e.fmt(f),
            Refusal::FolderMissing { key, host, reason } => write!(
                f,
                "the folder {} granted by `{key}` cannot be used: {reason}",
                host.display()
            ),
            Refusal::ResourceUri {
                plugin,
                uri,
                problem,
            } => write!(
                f,
                "its resource `{}` names {problem}; a plugin serves only URIs that are its \
                 own: grant what the URI names under `[plugins.{plugin}.grants]`, or allow the \
                 URI's start with `plugins.{plugin}.resource_uris`",
                berth_model::untrusted::shown(uri)
            ),
        }
    }
}

/// Whether the plugin of `manifest` with `needs` may be served under `grants`: every need
/// granted, every granted folder an existing folder (checked now so a typo in the config
/// is one clear refusal instead of "not found" inside every call), and every resource URI
/// and template its own to serve ([`policy::resource_uri_problem`], with the operator's
/// `allowed` URI starts).
pub fn admit(
    manifest: &Manifest,
    needs: &Needs,
    grants: &Grants,
    allowed: &[String],
) -> Result<(), Refusal> {
    let name = manifest.name.as_str();
    policy::check(name, needs, grants).map_err(Refusal::NotGranted)?;
    let uris = manifest
        .resources
        .iter()
        .map(|r| (r.uri.as_str(), r.uri.as_str()));
    let templates = manifest.resource_templates.iter().map(|t| {
        let written = t.uri_template.as_str();
        // What every URI of the template starts with.
        let literal = written.split('{').next().unwrap_or_default();
        (written, literal)
    });
    for (uri, literal) in uris.chain(templates) {
        if let Some(problem) = policy::resource_uri_problem(literal, grants, allowed) {
            return Err(Refusal::ResourceUri {
                plugin: name.to_string(),
                uri: uri.to_string(),
                problem,
            });
        }
    }
    for (i, folder) in grants.folders.iter().enumerate() {
        let problem = match std::fs::metadata(&folder.host) {
            Ok(meta) if meta.is_dir() => continue,
            Ok(_) => "it is not a folder".to_string(),
            Err(e) => e.to_string(),
        };
        return Err(Refusal::FolderMissing {
            key: format!("plugins.{name}.grants.folders[{i}].host"),
            host: folder.host.clone(),
            reason: problem,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_visible_wasm_files_are_plugins() {
        assert!(is_plugin_file(Path::new("/p/text.wasm")));
        assert!(!is_plugin_file(Path::new("/p/.text.wasm")));
        assert!(!is_plugin_file(Path::new("/p/text.wasm.part")));
        assert!(!is_plugin_file(Path::new("/p/text.d")));
    }
}
