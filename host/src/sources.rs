//! Plugins fetched for `[plugins.NAME] source`: resolved through the lock file beside the
//! config, fetched into the local store, and handed to the lifecycle, which serves them
//! like files in the plugins folder. A source that cannot be fetched is one log line and
//! a refusal for that plugin; everything else still serves.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use berth_distribution::{Lock, Options, Store};

use crate::bus::Event;
use crate::config::Config;
use crate::lifecycle::Lifecycle;

/// What `[distribution]` says about fetching.
pub fn options(config: &Config) -> Options {
    Options {
        max_bytes: config.distribution.max_plugin_mb * 1024 * 1024,
        timeout: std::time::Duration::from_secs(config.distribution.timeout_secs),
        insecure_registries: config.distribution.insecure_registries.clone(),
    }
}

/// The store `[distribution] store` names, or the one in the user's cache.
pub fn store(config: &Config) -> Result<Store, berth_distribution::DistributionError> {
    let dir = config
        .distribution
        .store
        .clone()
        .or_else(|| crate::runtime::cache::berth_cache_dir().map(|d| d.join("plugins")))
        .unwrap_or_else(|| std::env::temp_dir().join("berth-plugins"));
    Store::open(&dir)
}

/// The lock file for `config_file`; without a config file there is nothing to pin.
pub fn lock_path(config_file: Option<&Path>) -> Option<PathBuf> {
    config_file.map(Lock::path_for)
}

/// Fetches every enabled plugin's source and gives the files to `lifecycle`. Returns
/// how many could not be fetched.
pub async fn fetch(config: &Config, config_file: Option<&Path>, lifecycle: &Lifecycle) -> usize {
    let sourced: Vec<(&String, &String)> = config
        .plugins
        .iter()
        .filter(|(_, plugin)| plugin.enabled)
        .filter_map(|(name, plugin)| plugin.source.as_ref().map(|source| (name, source)))
        .collect();
    if sourced.is_empty() {
        lifecycle.set_sourced(BTreeMap::new());
        return 0;
    }
    let refuse = |name: &str, source: &str, error: String| {
        tracing::error!(plugin = %name, %source, %error, "plugin refused");
        lifecycle.bus().publish(Event::PluginLoadFailed {
            path: PathBuf::from(source),
            error,
        });
    };
    let store = match store(config) {
        Ok(store) => store,
        Err(error) => {
            for (name, source) in &sourced {
                refuse(name, source, error.to_string());
            }
            return sourced.len();
        }
    };
    let lock_path = lock_path(config_file);
    let mut lock = match &lock_path {
        Some(path) => match Lock::load(path) {
            Ok(lock) => lock,
            Err(error) => {
                for (name, source) in &sourced {
                    refuse(name, source, error.to_string());
                }
                return sourced.len();
            }
        },
        None => Lock::default(),
    };
    let options = options(config);
    let mut files = BTreeMap::new();
    let mut failed = 0;
    let mut changed = false;
    for (name, source) in sourced {
        match berth_distribution::resolve(name, source, &mut lock, &store, &options).await {
            Ok((pulled, pinned)) => {
                changed |= pinned;
                tracing::info!(
                    plugin = %name,
                    %source,
                    digest = %pulled.manifest,
                    pinned_now = pinned,
                    "plugin source fetched"
                );
                files.insert(pulled.path, name.clone());
            }
            Err(error) => {
                failed += 1;
                refuse(name, source, error.to_string());
            }
        }
    }
    if changed
        && let Some(path) = &lock_path
        && let Err(error) = lock.save(path)
    {
        tracing::error!(%error, "the new pins could not be written; they hold until the next start only");
    }
    lifecycle.set_sourced(files);
    failed
}
