//! Finding plugin files and loading one: list the folder, load a component, check its
//! manifest, apply the operator's per-plugin settings. One bad file is one error; the
//! lifecycle decides what to do with it.

use std::path::{Path, PathBuf};

use crate::config::Config;
use crate::manifest::ManifestError;
use crate::runtime::{LoadError, LoadedPlugin, PluginSettings, Runtime};

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

/// Loads one file: runtime load, manifest rules, then the operator's settings.
pub async fn load_one(
    runtime: &Runtime,
    path: &Path,
    config: &Config,
) -> Result<LoadedPlugin, PluginError> {
    let plugin = runtime.load(path, PluginSettings::default()).await?;
    plugin
        .manifest()
        .validate()
        .map_err(|source| PluginError::Manifest {
            file: path.display().to_string(),
            source,
        })?;
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
    Ok(plugin.with_settings(PluginSettings {
        config: settings.values(),
    }))
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
