//! Plugins fetched for `[plugins.NAME] source`: resolved through the lock file beside the
//! config, fetched into the local store, and handed to the lifecycle, which serves them
//! like files in the plugins folder. A source that cannot be fetched is one log line and
//! a refusal for that plugin; everything else still serves.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use berth_distribution::auth::Credential;
use berth_distribution::{Lock, Options, PublicKey, Store, Wanted};

use crate::bus::Event;
use crate::config::{Config, UpdatePolicy};
use crate::lifecycle::Lifecycle;
use crate::shutdown::Shutdown;

/// What `[distribution]` says about fetching.
pub fn options(config: &Config) -> Options {
    Options {
        max_bytes: config.distribution.max_plugin_mb * 1024 * 1024,
        timeout: std::time::Duration::from_secs(config.distribution.timeout_secs),
        insecure_registries: config.distribution.insecure_registries.clone(),
        credentials: config
            .distribution
            .credentials
            .iter()
            .filter_map(|(registry, c)| {
                let credential = match (&c.username_env, &c.password_env, &c.token_env) {
                    (Some(username_env), Some(password_env), _) => Credential::Basic {
                        username_env: username_env.clone(),
                        password_env: password_env.clone(),
                    },
                    (_, _, Some(token_env)) => Credential::Bearer {
                        token_env: token_env.clone(),
                    },
                    // The config refuses anything else.
                    _ => return None,
                };
                Some((registry.clone(), credential))
            })
            .collect(),
        progress: None,
    }
}

/// A plugin's `source` as the config gives it, with its key read.
pub struct Sourced {
    /// The plugin.
    pub name: String,
    /// Its source.
    pub source: String,
    /// The SHA-256 a web source must have.
    pub sha256: Option<String>,
    /// The key its signature must verify with.
    pub key: Option<PublicKey>,
}

impl Sourced {
    /// What the distribution layer resolves.
    pub fn wanted(&self) -> Wanted<'_> {
        Wanted {
            name: &self.name,
            source: &self.source,
            sha256: self.sha256.as_deref(),
            key: self.key.as_ref(),
        }
    }
}

/// The plugins of `config` with a source that `include` accepts (enabled or not is the
/// caller's choice), each with its key loaded; a key that cannot be read is that
/// plugin's error. Key paths are taken from the config file's folder.
pub fn sourced(
    config: &Config,
    config_file: Option<&Path>,
    include: impl Fn(&str, &crate::config::PluginConfig) -> bool,
) -> Vec<Result<Sourced, (String, String, String)>> {
    let base = config_file
        .and_then(Path::parent)
        .map(Path::to_path_buf)
        .unwrap_or_default();
    config
        .plugins
        .iter()
        .filter(|(name, plugin)| include(name, plugin))
        .filter_map(|(name, plugin)| {
            let source = plugin.source.clone()?;
            let key = match &plugin.verify {
                Some(verify) => match PublicKey::load(&base.join(&verify.cosign_key)) {
                    Ok(key) => Some(key),
                    Err(error) => return Some(Err((name.clone(), source, error.to_string()))),
                },
                None => None,
            };
            Some(Ok(Sourced {
                name: name.clone(),
                source,
                sha256: plugin.sha256.clone(),
                key,
            }))
        })
        .collect()
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
    let wanted = sourced(config, config_file, |_, plugin| plugin.enabled);
    if wanted.is_empty() {
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
            for (name, source) in names(&wanted) {
                refuse(name, source, error.to_string());
            }
            return wanted.len();
        }
    };
    let lock_path = lock_path(config_file);
    let mut lock = match &lock_path {
        Some(path) => match Lock::load(path) {
            Ok(lock) => lock,
            Err(error) => {
                for (name, source) in names(&wanted) {
                    refuse(name, source, error.to_string());
                }
                return wanted.len();
            }
        },
        None => Lock::default(),
    };
    let options = options(config);
    // What each plugin is served from now, so a source that cannot be fetched this time
    // (a registry down while the config is edited) does not take its plugin away.
    let serving: HashMap<String, PathBuf> = lifecycle
        .sourced()
        .into_iter()
        .map(|(path, name)| (name, path))
        .collect();
    let mut files = BTreeMap::new();
    let mut failed = 0;
    let mut changed = false;
    for plugin in wanted {
        let plugin = match plugin {
            Ok(plugin) => plugin,
            Err((name, source, error)) => {
                failed += 1;
                match serving.get(name.as_str()) {
                    Some(path) => {
                        tracing::error!(plugin = %name, %source, %error, "plugin source refused; the build served so far keeps serving");
                        files.insert(path.clone(), name.clone());
                    }
                    None => refuse(&name, &source, error),
                }
                continue;
            }
        };
        let (name, source) = (&plugin.name, &plugin.source);
        match berth_distribution::resolve(&plugin.wanted(), &mut lock, &store, &options).await {
            Ok((pulled, pinned)) => {
                changed |= pinned;
                let served = match serve_as(&store, config_file, name, &pulled.path) {
                    Ok(served) => served,
                    Err(error) => {
                        failed += 1;
                        refuse(
                            name,
                            source,
                            format!("cannot be placed for serving: {error}"),
                        );
                        continue;
                    }
                };
                tracing::info!(
                    plugin = %name,
                    %source,
                    digest = %pulled.manifest,
                    pinned_now = pinned,
                    signed_by = plugin.key.as_ref().map(|k| k.path().display().to_string()),
                    "plugin source fetched"
                );
                files.insert(served, name.clone());
            }
            Err(error) => match serving.get(name.as_str()) {
                Some(path) => {
                    failed += 1;
                    tracing::error!(plugin = %name, %source, %error, "plugin source could not be fetched; the build served so far keeps serving");
                    files.insert(path.clone(), name.clone());
                }
                _ => {
                    failed += 1;
                    refuse(name, source, error.to_string());
                }
            },
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

fn names(wanted: &[Result<Sourced, (String, String, String)>]) -> Vec<(&str, &str)> {
    wanted
        .iter()
        .map(|w| match w {
            Ok(s) => (s.name.as_str(), s.source.as_str()),
            Err((name, source, _)) => (name.as_str(), source.as_str()),
        })
        .collect()
}

/// The file plugin `name` is served from: a hard link (a copy where links are not
/// possible) to its component in the store, at a path that stays the same when its pin
/// moves. The lifecycle then sees a new pin as a changed file and swaps it in like any
/// upgrade: the old build serves until the new one has loaded, and a broken one is
/// refused while the old keeps serving. Each config file has its own folder of these,
/// so servers sharing a store never swap each other's plugins.
fn serve_as(
    store: &Store,
    config_file: Option<&Path>,
    name: &str,
    component: &Path,
) -> std::io::Result<PathBuf> {
    use std::hash::{Hash, Hasher};
    let mut scope = std::collections::hash_map::DefaultHasher::new();
    config_file
        .map(|f| std::path::absolute(f).unwrap_or_else(|_| f.to_path_buf()))
        .hash(&mut scope);
    let dir = store
        .dir()
        .join("served")
        .join(format!("{:016x}", scope.finish()));
    std::fs::create_dir_all(&dir)?;
    let target = dir.join(format!("{name}.wasm"));
    if same_file(&target, component) {
        return Ok(target);
    }
    let temp = dir.join(format!(".{name}.wasm.{}.tmp", std::process::id()));
    let _ = std::fs::remove_file(&temp);
    if std::fs::hard_link(component, &temp).is_err() {
        std::fs::copy(component, &temp)?;
    }
    std::fs::rename(&temp, &target)?;
    Ok(target)
}

/// Whether `a` and `b` are the same file (hard links of one another).
fn same_file(a: &Path, b: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        match (std::fs::metadata(a), std::fs::metadata(b)) {
            (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
            _ => false,
        }
    }
    #[cfg(not(unix))]
    {
        std::fs::read(a)
            .ok()
            .zip(std::fs::read(b).ok())
            .is_some_and(|(a, b)| a == b)
    }
}

/// Checks the tags of plugins with `update = "poll"`, each at its interval, until
/// shutdown. A moved tag is pulled and verified, pinned in `berth.lock`, and served like
/// a file upgrade; a failed check leaves the pinned build serving.
pub fn spawn_poller(lifecycle: Arc<Lifecycle>, config_file: Option<PathBuf>, shutdown: &Shutdown) {
    let stop = shutdown.child_token();
    shutdown.spawn(async move {
        let mut checked: HashMap<String, Instant> = HashMap::new();
        // Checked once a second for what is due; the intervals themselves are seconds.
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        loop {
            tokio::select! {
                _ = stop.cancelled() => break,
                _ = tick.tick() => {}
            }
            let config = lifecycle.config();
            let due = sourced(&config, config_file.as_deref(), |name, p| {
                p.enabled
                    && p.update == UpdatePolicy::Poll
                    && checked
                        .get(name)
                        .is_none_or(|at| at.elapsed() >= Duration::from_secs(p.poll_interval_secs))
            });
            if due.is_empty() {
                continue;
            }
            for (name, _) in names(&due) {
                checked.insert(name.to_string(), Instant::now());
            }
            if poll(&config, config_file.as_deref(), &due).await {
                fetch(&config, config_file.as_deref(), &lifecycle).await;
                if let Err(error) = lifecycle.rescan().await {
                    tracing::error!(%error, "serving a moved plugin source failed");
                }
            }
        }
    });
}

/// Resolves each of `due`'s tags afresh and pins every one that moved (and verified).
/// Returns whether any did.
async fn poll(
    config: &Config,
    config_file: Option<&Path>,
    due: &[Result<Sourced, (String, String, String)>],
) -> bool {
    let Ok(store) = store(config) else {
        return false;
    };
    let options = options(config);
    let lock_path = lock_path(config_file);
    let mut lock = lock_path
        .as_deref()
        .and_then(|path| Lock::load(path).ok())
        .unwrap_or_default();
    let mut moved = false;
    for plugin in due {
        let plugin = match plugin {
            Ok(plugin) => plugin,
            Err((name, source, error)) => {
                tracing::warn!(plugin = %name, %source, %error, "checking the plugin source failed; the pinned build keeps serving");
                continue;
            }
        };
        let (name, source) = (&plugin.name, &plugin.source);
        let old = lock.plugins.get(name).cloned();
        let mut fresh = Lock::default();
        match berth_distribution::resolve(&plugin.wanted(), &mut fresh, &store, &options).await {
            Ok((pulled, _)) => {
                let from = old.as_ref().map(|pin| pin.digest.clone());
                if from.as_deref() == Some(pulled.manifest.to_string().as_str()) {
                    continue;
                }
                tracing::info!(
                    plugin = %name,
                    %source,
                    from = from.as_deref().unwrap_or("(not pinned)"),
                    to = %pulled.manifest,
                    "plugin source moved"
                );
                lock.plugins.extend(fresh.plugins);
                moved = true;
            }
            Err(error) => {
                tracing::warn!(plugin = %name, %source, %error, "checking the plugin source failed; the pinned build keeps serving");
            }
        }
    }
    if moved
        && let Some(path) = &lock_path
        && let Err(error) = lock.save(path)
    {
        tracing::error!(%error, "the moved pins could not be written");
    }
    moved
}
