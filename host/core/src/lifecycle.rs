//! The plugin lifecycle: make what is served match what is in the plugins folder.
//!
//! [`Lifecycle::rescan`] compares the folder with what it last saw (file size and
//! modification time), loads new and changed files in parallel off the async threads,
//! and only when a load fully succeeds (compile, pre-instantiate, `describe`, manifest
//! rules, no collision) puts the new version in a new registry snapshot, swapped in
//! atomically. Calls already running keep the snapshot they started with, so they finish
//! on the old version; a broken new version leaves the old one serving. Each outcome is
//! one log line and one bus event.
//!
//! Loads run in two halves: the host compiles every changed file, then each plugin's
//! load-time exports run. A rescan publishes once every file has compiled and every
//! plugin has either finished its exports or spent [`LATE_AFTER`] in them; a plugin
//! slower than that joins on its own when it finishes, as a later arrival (it cannot take
//! a name or URI from what is served by then). So a plugin that spins in `describe`
//! delays start-up and everyone else's upgrades by at most [`LATE_AFTER`], not by its
//! whole load budget.

pub mod history;
pub mod plugins;
pub mod watch;

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, SystemTime};

use crate::bus::{Bus, Event};
use crate::config::Config;
use crate::registry::{PluginEntry, Registry};
use crate::state::Served;
use berth_runtime::Runtime;
use plugins::PluginError;

/// What a file looked like when it was last loaded (or failed to load).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Fingerprint {
    len: u64,
    modified: Option<SystemTime>,
}

/// How long a plugin's load-time exports may run before the rescan stops waiting for it
/// and publishes the others. The example plugins finish all of them in a few
/// milliseconds (a debug build on a busy machine: tens), so a plugin past this is
/// spinning or doing work it should not do at load; it still gets its whole load budget,
/// just without holding anyone else up.
pub const LATE_AFTER: Duration = Duration::from_millis(500);

/// What the lifecycle last saw of a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Seen {
    print: Fingerprint,
    /// The number of a load of this file that missed its rescan and is still running;
    /// its result is used only if this is still the load the file is waiting for.
    late: Option<u64>,
}

fn fingerprint(path: &Path) -> Option<Fingerprint> {
    let meta = std::fs::metadata(path).ok()?;
    Some(Fingerprint {
        len: meta.len(),
        modified: meta.modified().ok(),
    })
}

/// What the lifecycle knows about a file beyond what the registry says, for the
/// operator's view (`berth plugins list`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileNote {
    /// The last load of this file failed. If an older build from the same file is
    /// still served, this is the error of the upgrade that was refused.
    Refused {
        /// Why.
        error: String,
        /// When.
        at: SystemTime,
    },
    /// The file loaded but the config disables its plugin.
    Disabled {
        /// The plugin's name.
        plugin: String,
        /// Its version.
        version: String,
    },
}

/// Keeps the served registry in step with the plugins folder.
pub struct Lifecycle {
    runtime: Runtime,
    /// The configuration in force; replaced whole when a valid new one is applied.
    config: arc_swap::ArcSwap<Config>,
    dir: PathBuf,
    served: Arc<Served>,
    bus: Bus,
    /// Fingerprints of the files seen by the last rescan; the lock also serialises
    /// rescans, so two bursts of changes never build snapshots from the same base.
    seen: tokio::sync::Mutex<HashMap<PathBuf, Seen>>,
    /// Numbers late loads, so an overtaken one can tell it is.
    late_loads: AtomicU64,
    /// Files served besides the folder's: plugins fetched for a `source`, each with the
    /// name its `[plugins.NAME]` expects.
    sourced: std::sync::Mutex<std::collections::BTreeMap<PathBuf, String>>,
    /// Notes on files, by path; entries go when their file goes or loads cleanly.
    notes: std::sync::Mutex<HashMap<PathBuf, FileNote>>,
    /// Earlier builds of folder plugins, for roll-backs; unset when there is no place to
    /// keep them.
    history: std::sync::OnceLock<history::History>,
    /// The configuration as the operator's file (or the embedded defaults) gives it,
    /// before [`Self::overrides`]: what a console action re-applies.
    base: arc_swap::ArcSwap<Config>,
    /// Plugins an operator enabled or disabled from the console, by name; layered over
    /// every configuration applied (a later file edit keeps them) until the process ends.
    overrides: std::sync::Mutex<std::collections::BTreeMap<String, bool>>,
}

/// Counts from one rescan, for the start-up summary.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct RescanSummary {
    /// Plugins loaded or reloaded.
    pub loaded: usize,
    /// Files refused.
    pub refused: usize,
    /// Plugins that stopped being served.
    pub unloaded: usize,
}

impl Lifecycle {
    /// A lifecycle for `dir` that publishes into `served` and announces on `bus`.
    pub fn new(
        runtime: Runtime,
        config: Config,
        dir: PathBuf,
        served: Arc<Served>,
        bus: Bus,
    ) -> Self {
        served.set_access(crate::access::Access::new(&config.roles));
        served.set_cache_policies(config.cache_policies());
        Self {
            runtime,
            base: arc_swap::ArcSwap::from_pointee(config.clone()),
            config: arc_swap::ArcSwap::from_pointee(config),
            overrides: std::sync::Mutex::new(Default::default()),
            history: std::sync::OnceLock::new(),
            dir,
            served,
            bus,
            seen: tokio::sync::Mutex::new(HashMap::new()),
            late_loads: AtomicU64::new(0),
            sourced: std::sync::Mutex::new(Default::default()),
            notes: std::sync::Mutex::new(HashMap::new()),
        }
    }

    /// What is noted about files the registry does not fully describe.
    pub fn notes(&self) -> HashMap<PathBuf, FileNote> {
        self.lock_notes().clone()
    }

    /// Serves `files` (fetched plugin files, each with the name its `[plugins.NAME]
    /// source` expects) besides the folder's, from the next rescan on.
    pub fn set_sourced(&self, files: std::collections::BTreeMap<PathBuf, String>) {
        *self.sourced.lock().unwrap_or_else(|e| e.into_inner()) = files;
    }

    /// The fetched plugin files served besides the folder's, with the names expected of
    /// them.
    pub fn sourced(&self) -> std::collections::BTreeMap<PathBuf, String> {
        self.sourced
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The configuration in force.
    pub fn config(&self) -> Arc<Config> {
        self.config.load_full()
    }

    fn lock_notes(&self) -> std::sync::MutexGuard<'_, HashMap<PathBuf, FileNote>> {
        // The map is always left consistent (single inserts and removes), so a panic
        // elsewhere while it was held cannot have corrupted it.
        self.notes.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn note(&self, path: &Path, note: Option<FileNote>) {
        let mut notes = self.lock_notes();
        match note {
            Some(note) => notes.insert(path.to_path_buf(), note),
            None => notes.remove(path),
        };
    }

    /// The served state this lifecycle publishes into.
    pub fn served(&self) -> &Arc<Served> {
        &self.served
    }

    /// The bus this lifecycle announces on.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The folder watched.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn refused(&self, path: &Path, error: String) {
        tracing::error!(file = %path.display(), %error, "plugin refused");
        self.note(
            path,
            Some(FileNote::Refused {
                error: error.clone(),
                at: SystemTime::now(),
            }),
        );
        self.bus.publish(Event::PluginLoadFailed {
            path: path.to_path_buf(),
            error,
        });
    }

    /// Puts `config` in force: plugins it disables stop being served, plugins it
    /// enables again are loaded, and every served plugin gets its new configuration
    /// values and the lists their page size for the next request (calls already running
    /// keep the values they started with). Limits (`[runtime]` and each plugin's
    /// `limits`) apply the same way: to calls that start after this.
    pub async fn apply_config(
        self: &Arc<Self>,
        config: Config,
    ) -> Result<RescanSummary, PluginError> {
        self.base.store(Arc::new(config.clone()));
        let config = self.with_overrides(config);
        {
            let mut seen = self.seen.lock().await;
            let current = self.served.registry();
            let mut kept = Vec::new();
            let mut facts = Vec::new();
            let mut unloaded = 0;
            for entry in current.plugins() {
                let plugin_config = config.plugin(entry.name());
                // Limits apply live: calls that start after this use the new ones.
                let settings = config.settings_for(entry.name());
                let version = &entry.plugin.manifest().version;
                let refused_by = plugin_config.version_refuses(version);
                let not_admitted = plugins::admit(
                    entry.plugin.manifest(),
                    entry.plugin.needs(),
                    &settings.grants,
                    &plugin_config.resource_uris,
                )
                .err();
                if !plugin_config.enabled || refused_by.is_some() || not_admitted.is_some() {
                    unloaded += 1;
                    let (plugin, file) = (entry.name(), entry.path.display());
                    match (refused_by, &not_admitted) {
                        (Some(requirement), _) => {
                            tracing::info!(%plugin, %version, %requirement, %file, "plugin unloaded: its version no longer satisfies the config")
                        }
                        (None, Some(refusal)) => {
                            tracing::info!(%plugin, %file, %refusal, "plugin unloaded: its grants no longer fit its needs")
                        }
                        (None, None) => {
                            tracing::info!(%plugin, %file, "plugin disabled by config")
                        }
                    }
                    // A refused plugin's file is looked at again by the rescan below,
                    // which records why; a disabled one is noted here.
                    if !plugin_config.enabled {
                        self.note(
                            &entry.path,
                            Some(FileNote::Disabled {
                                plugin: entry.name().to_string(),
                                version: version.clone(),
                            }),
                        );
                    }
                    facts.push(Event::PluginUnloaded {
                        plugin: entry.name().to_string(),
                        path: entry.path.clone(),
                    });
                    continue;
                }
                let plugin = entry.plugin.with_settings(settings);
                kept.push(PluginEntry {
                    plugin,
                    path: entry.path.clone(),
                    tool_prefix: plugin_config.tool_prefix.clone(),
                    schemas: entry.schemas.clone(),
                });
            }
            // Files not served now (disabled, or refused earlier) are looked at again by
            // the rescan below, under the new config; so are files whose load is still
            // running under the old one (that load's result is then ignored).
            let served: HashSet<PathBuf> = kept.iter().map(|e| e.path.clone()).collect();
            seen.retain(|path, seen| served.contains(path) && seen.late.is_none());
            let (registry, conflicts) = Registry::build(current.generation() + 1, kept);
            for (path, error) in conflicts {
                self.refused(&path, error.to_string());
            }
            self.served.set_page_size(config.protocol.page_size);
            self.served
                .set_access(crate::access::Access::new(&config.roles));
            self.served.set_cache_policies(config.cache_policies());
            if config.http.restart_only() != self.config.load().http.restart_only() {
                tracing::warn!(
                    "the [http] settings changed; all but `auth` and `rate_limit` take effect at the next start"
                );
            }
            for (key, value) in self
                .config
                .load()
                .runtime
                .restart_only_changes(&config.runtime)
            {
                tracing::warn!(
                    key = %format_args!("runtime.{key}"),
                    %value,
                    "a [runtime] setting read at start-up changed; it takes effect at the next start"
                );
            }
            self.config.store(Arc::new(config));
            self.publish(&current, registry, facts);
            tracing::info!(unloaded, "config applied");
            self.bus.publish(Event::ConfigApplied);
        }
        self.rescan().await
    }

    /// Enables or disables plugin `name` as an operator's action (the console's), through
    /// the same path as a config file edit: the override is layered over the operator's
    /// configuration and the result applied, so the plugin's tools, resources and prompts
    /// leave (or come back to) every client's lists, with the same events and checks.
    /// `None` when no plugin of that name is served or loaded but disabled: an override
    /// is kept until the process ends, so one is never made for a name nothing has.
    pub async fn set_enabled(
        self: &Arc<Self>,
        name: &str,
        enabled: bool,
    ) -> Result<Option<RescanSummary>, PluginError> {
        let served = self
            .served
            .registry()
            .plugins()
            .iter()
            .any(|e| e.name() == name);
        let disabled = || {
            self.notes()
                .values()
                .any(|note| matches!(note, FileNote::Disabled { plugin, .. } if plugin == name))
        };
        if !served && !disabled() {
            return Ok(None);
        }
        self.overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(name.to_string(), enabled);
        let base = (*self.base.load_full()).clone();
        self.apply_config(base).await.map(Some)
    }

    /// Loads served plugin `name`'s file again now, as the watcher does when the file is
    /// replaced (a fresh compile or cache read, `describe`, the same checks and a
    /// `PluginReloaded` event); `None` when no plugin of that name is served.
    pub async fn reload_plugin(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<Option<RescanSummary>, PluginError> {
        let registry = self.served.registry();
        let Some(entry) = registry.plugins().iter().find(|e| e.name() == name) else {
            return Ok(None);
        };
        // Forgetting the file's fingerprint makes the rescan take it for a new build.
        self.seen.lock().await.remove(&entry.path);
        self.rescan().await.map(Some)
    }

    /// Keeps every build of the folder's plugins in `dir`, so they can be rolled back
    /// (see [`history`]). Set once, before the first scan.
    pub fn keep_history(&self, dir: PathBuf) {
        if self.history.set(history::History::new(dir)).is_err() {
            tracing::warn!("a history folder was already set; keeping it");
        }
    }

    /// The build served plugin `name` served before its current one, if it can be
    /// rolled back to.
    pub fn previous_build(&self, name: &str) -> Option<history::Build> {
        self.history.get()?.previous(name)
    }

    /// Puts back the build plugin `name` served before its current one: written over its
    /// file as a deploy would, then loaded as any new build (checks, events, clients'
    /// lists). Rolling back twice goes forward again.
    pub async fn roll_back(
        self: &Arc<Self>,
        name: &str,
    ) -> Result<history::Build, history::RollBackError> {
        use history::RollBackError;
        let registry = self.served.registry();
        let Some(entry) = registry.plugins().iter().find(|e| e.name() == name) else {
            return Err(RollBackError::NotServed(name.to_string()));
        };
        if self.sourced().contains_key(&entry.path) {
            return Err(RollBackError::Sourced(name.to_string()));
        }
        let Some(history) = self.history.get() else {
            return Err(RollBackError::NoHistory);
        };
        let Some(build) = history.previous(name) else {
            return Err(RollBackError::NoPrevious(name.to_string()));
        };
        history
            .restore(&build.digest, &entry.path)
            .map_err(|error| RollBackError::Restore {
                plugin: name.to_string(),
                version: build.version.clone(),
                error: error.to_string(),
            })?;
        tracing::info!(plugin = %name, version = %build.version, digest = %build.digest, "plugin rolled back");
        self.rescan().await?;
        Ok(build)
    }

    /// The operator's overrides, by plugin name (`true`: enabled).
    pub fn overrides(&self) -> std::collections::BTreeMap<String, bool> {
        self.overrides
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn with_overrides(&self, mut config: Config) -> Config {
        for (name, enabled) in self.overrides() {
            config.plugins.entry(name).or_default().enabled = enabled;
        }
        config
    }

    /// Brings the served registry in line with the folder. Returns what changed by the
    /// time it published; plugins whose load-time exports run past [`LATE_AFTER`] are
    /// published (or refused) when they finish, and not counted here.
    pub async fn rescan(self: &Arc<Self>) -> Result<RescanSummary, PluginError> {
        let mut seen = self.seen.lock().await;
        let config = self.config.load_full();
        let mut files = plugins::list(&self.dir)?;
        files.extend(self.sourced().into_keys());
        files.sort();
        files.dedup();
        let now: HashMap<PathBuf, Fingerprint> = files
            .iter()
            .filter_map(|p| fingerprint(p).map(|f| (p.clone(), f)))
            .collect();
        let changed: Vec<PathBuf> = files
            .iter()
            .filter(|p| {
                now.get(*p)
                    .is_some_and(|f| seen.get(*p).map(|s| s.print) != Some(*f))
            })
            .cloned()
            .collect();
        let gone: HashSet<PathBuf> = seen
            .keys()
            .filter(|p| !now.contains_key(*p))
            .cloned()
            .collect();
        // An unchanged file keeps what was seen of it, a late load included.
        *seen = now
            .into_iter()
            .map(|(path, print)| {
                let kept = seen.get(&path).filter(|s| s.print == print).copied();
                (path, kept.unwrap_or(Seen { print, late: None }))
            })
            .collect();
        for path in &gone {
            self.note(path, None);
        }
        let mut summary = RescanSummary::default();
        if changed.is_empty() && gone.is_empty() {
            return Ok(summary);
        }

        // A new build of a served plugin loads under that plugin's own limits from the
        // start; a file never served yet, under `[runtime]`'s until `describe` names it.
        let served_as: HashMap<PathBuf, String> = self
            .served
            .registry()
            .plugins()
            .iter()
            .map(|entry| (entry.path.clone(), entry.name().to_string()))
            .collect();
        let mut loads = Loads::start(&self.runtime, &config, changed, &served_as);
        let finished = loads.batch().await;
        let mut fresh: HashMap<PathBuf, PluginEntry> = HashMap::new();
        for (path, result) in finished {
            self.sort(&path, result, &config, &mut fresh, &mut summary);
        }
        self.integrate(&config, fresh, &gone, &mut summary);

        if !loads.pending.is_empty() {
            let mut late = HashMap::new();
            for (&index, path) in &loads.pending {
                let number = self.late_loads.fetch_add(1, Ordering::Relaxed);
                if let Some(seen) = seen.get_mut(path) {
                    seen.late = Some(number);
                }
                tracing::warn!(file = %path.display(), after_ms = LATE_AFTER.as_millis() as u64, "plugin still loading; serving the others without waiting for it");
                late.insert(index, (path.clone(), number));
            }
            tokio::spawn(Arc::clone(self).settle_late(loads, late, config));
        }
        Ok(summary)
    }

    /// Publishes the loads that missed their rescan as each finishes, unless the file
    /// changed, went, or the config changed since (a newer load then stands for it).
    async fn settle_late(
        self: Arc<Self>,
        mut loads: Loads,
        mut late: HashMap<usize, (PathBuf, u64)>,
        config: Arc<Config>,
    ) {
        while let Some((index, result)) = loads.next_done().await {
            let Some((path, number)) = late.remove(&index) else {
                continue;
            };
            let mut seen = self.seen.lock().await;
            match seen.get_mut(&path) {
                Some(seen) if seen.late == Some(number) => seen.late = None,
                _ => {
                    tracing::debug!(file = %path.display(), "a late load was overtaken by a newer one");
                    continue;
                }
            }
            let mut summary = RescanSummary::default();
            let mut fresh = HashMap::new();
            self.sort(&path, result, &config, &mut fresh, &mut summary);
            self.integrate(&config, fresh, &HashSet::new(), &mut summary);
            drop(seen);
        }
    }

    /// Files one finished load away: a refusal, a disabled plugin's note, or an entry in
    /// `fresh`.
    fn sort(
        &self,
        path: &Path,
        result: Result<plugins::Checked, PluginError>,
        config: &Config,
        fresh: &mut HashMap<PathBuf, PluginEntry>,
        summary: &mut RescanSummary,
    ) {
        let expected = self.sourced().remove(path);
        let result = result.and_then(|checked| match expected {
            Some(expected) if checked.plugin.manifest().name != expected => {
                Err(PluginError::SourceHoldsOther {
                    file: path.display().to_string(),
                    expected,
                    found: berth_model::untrusted::shown(&checked.plugin.manifest().name),
                })
            }
            _ => Ok(checked),
        });
        match result {
            Ok(checked) if !config.plugin(&checked.plugin.manifest().name).enabled => {
                let manifest = checked.plugin.manifest();
                tracing::info!(plugin = %manifest.name, file = %path.display(), "plugin disabled by config");
                self.note(
                    path,
                    Some(FileNote::Disabled {
                        plugin: manifest.name.clone(),
                        version: manifest.version.clone(),
                    }),
                );
            }
            Ok(plugins::Checked { plugin, schemas }) => {
                let tool_prefix = config.plugin(&plugin.manifest().name).tool_prefix;
                fresh.insert(
                    path.to_path_buf(),
                    PluginEntry {
                        plugin,
                        path: path.to_path_buf(),
                        tool_prefix,
                        schemas,
                    },
                );
            }
            Err(error) => {
                summary.refused += 1;
                self.refused(path, error.to_string());
            }
        }
    }

    /// Builds and publishes the registry that serves `fresh` loads in place of their
    /// files' previous builds and drops plugins whose files are `gone`, settling names:
    /// what is served keeps what it has, newcomers that collide are refused.
    fn integrate(
        &self,
        config: &Config,
        mut fresh: HashMap<PathBuf, PluginEntry>,
        gone: &HashSet<PathBuf>,
        summary: &mut RescanSummary,
    ) {
        // Plugins already served come first so a newcomer can never take a name or a
        // tool away from them; then new files in name order.
        let current = self.served.registry();
        let mut previous: HashMap<PathBuf, PluginEntry> = HashMap::new();
        let mut facts = Vec::new();
        let mut order: Vec<PluginEntry> = Vec::new();
        for entry in current.plugins() {
            if gone.contains(&entry.path) {
                summary.unloaded += 1;
                tracing::info!(plugin = %entry.name(), file = %entry.path.display(), "plugin unloaded");
                facts.push(Event::PluginUnloaded {
                    plugin: entry.name().to_string(),
                    path: entry.path.clone(),
                });
                continue;
            }
            previous.insert(entry.path.clone(), (**entry).clone());
            order.push(
                fresh
                    .remove(&entry.path)
                    .unwrap_or_else(|| (**entry).clone()),
            );
        }
        let mut newcomers: Vec<PluginEntry> = fresh.into_values().collect();
        newcomers.sort_by(|a, b| a.path.cmp(&b.path));
        let (newcomers, contested) =
            crate::registry::settle_newcomers(newcomers, |name| config.plugin(name).preferred);
        for (path, error) in &contested {
            summary.refused += 1;
            self.refused(path, error.to_string());
        }
        order.extend(newcomers);

        let (mut registry, mut conflicts) =
            Registry::build(current.generation() + 1, order.clone());
        // A new build of a served plugin that now collides is refused, and its previous
        // build goes back in; that build fitted before, so one more pass settles it.
        if conflicts
            .iter()
            .any(|(path, _)| previous.contains_key(path))
        {
            let restored: Vec<PluginEntry> = order
                .into_iter()
                .map(|e| match conflicts.iter().any(|(p, _)| *p == e.path) {
                    true => previous.get(&e.path).cloned().unwrap_or(e),
                    false => e,
                })
                .collect();
            let first = std::mem::take(&mut conflicts);
            (registry, conflicts) = Registry::build(current.generation() + 1, restored);
            conflicts.extend(first.into_iter().filter(|(p, _)| previous.contains_key(p)));
        }
        for (path, error) in &conflicts {
            summary.refused += 1;
            self.refused(path, error.to_string());
        }

        // Builds to keep for roll-backs: (file, digest, plugin, the build it replaced).
        // Kept after the new snapshot is published, off the way to serving it.
        let mut kept = Vec::new();
        // Loads and reloads are logged once the snapshot serving them is published, so a
        // reader of "plugin loaded" (an operator, a test) finds the plugin's tools served.
        let mut announced = Vec::new();
        for entry in registry.plugins() {
            let manifest = entry.plugin.manifest();
            let fresh_load = previous
                .get(&entry.path)
                .is_none_or(|old| !old.plugin.is_same_load(&entry.plugin));
            if fresh_load {
                self.note(&entry.path, None);
                let before = previous
                    .get(&entry.path)
                    .filter(|old| old.plugin.digest() != entry.plugin.digest())
                    .map(|old| history::Build {
                        digest: old.plugin.digest().to_string(),
                        version: old.plugin.manifest().version.clone(),
                    });
                kept.push((
                    entry.path.clone(),
                    entry.plugin.digest().to_string(),
                    manifest.name.clone(),
                    before,
                ));
            }
            match previous.get(&entry.path) {
                Some(old) if old.plugin.is_same_load(&entry.plugin) => continue,
                Some(old) => {
                    let from = &old.plugin.manifest().version;
                    summary.loaded += 1;
                    if semver::Version::parse(&manifest.version).ok()
                        < semver::Version::parse(from).ok()
                    {
                        tracing::warn!(plugin = %manifest.name, from = %from, to = %manifest.version, "plugin downgraded");
                    }
                    announced.push((Arc::clone(entry), Some(from.clone())));
                    facts.push(Event::PluginReloaded {
                        plugin: manifest.name.clone(),
                        from: from.clone(),
                        to: manifest.version.clone(),
                        path: entry.path.clone(),
                    });
                }
                None => {
                    summary.loaded += 1;
                    announced.push((Arc::clone(entry), None));
                    facts.push(Event::PluginLoaded {
                        plugin: manifest.name.clone(),
                        version: manifest.version.clone(),
                        path: entry.path.clone(),
                    });
                }
            }
        }

        self.publish(&current, registry, facts);
        for (entry, from) in announced {
            log_load(&entry, from.as_deref());
        }
        if let Some(history) = self.history.get() {
            let sourced = self.sourced();
            for (path, digest, plugin, before) in kept {
                if sourced.contains_key(&path) {
                    continue;
                }
                history.keep(&path, &digest);
                if let Some(before) = before {
                    history.replaced(&plugin, before);
                }
            }
        }
    }

    /// Swaps `registry` in for `current`, announces what clients would see change, then
    /// publishes `facts` (loads, reloads, unloads): only after the swap, so a subscriber
    /// that looks a loaded plugin up in the registry finds it.
    fn publish(&self, current: &Registry, registry: Registry, facts: Vec<Event>) {
        let tools_changed = current.tools_differ(&registry);
        let resources_changed = current.resources_differ(&registry);
        let prompts_changed = current.prompts_differ(&registry);
        let generation = registry.generation();
        self.served.publish(registry);
        self.bus.publish(Event::RegistryChanged {
            generation,
            tools_changed,
            resources_changed,
            prompts_changed,
        });
        for fact in facts {
            self.bus.publish(fact);
        }
    }
}

/// Logs a plugin newly served: `from` is the version it replaced, for a reload.
fn log_load(entry: &PluginEntry, from: Option<&str>) {
    let manifest = entry.plugin.manifest();
    match from {
        Some(from) => tracing::info!(
            plugin = %manifest.name,
            from = %from,
            to = %manifest.version,
            file = %entry.path.display(),
            "plugin reloaded"
        ),
        None => tracing::info!(
            plugin = %manifest.name,
            version = %manifest.version,
            contract = %entry.plugin.contract_version(),
            tools = manifest.tools.len(),
            resources = manifest.resources.len(),
            templates = manifest.resource_templates.len(),
            file = %entry.path.display(),
            "plugin loaded"
        ),
    }
}

/// How a load is getting on, as its task reports it.
enum Progress {
    /// The host's half is done; the plugin's exports are running.
    Compiled(usize),
    /// The load finished.
    Done(usize, Box<Result<plugins::Checked, PluginError>>),
}

/// The loads one rescan started, each on its own task, by index into the files.
struct Loads {
    progress: tokio::sync::mpsc::UnboundedReceiver<Progress>,
    /// The loads not finished yet, and their files.
    pending: HashMap<usize, PathBuf>,
}

impl Loads {
    /// Starts loading each of `files` under `config`.
    fn start(
        runtime: &Runtime,
        config: &Arc<Config>,
        files: Vec<PathBuf>,
        served_as: &HashMap<PathBuf, String>,
    ) -> Loads {
        let (report, progress) = tokio::sync::mpsc::unbounded_channel();
        let mut pending = HashMap::new();
        for (index, path) in files.into_iter().enumerate() {
            let (runtime, config, report) = (runtime.clone(), Arc::clone(config), report.clone());
            let name = served_as.get(&path).cloned();
            pending.insert(index, path.clone());
            tokio::spawn(async move {
                let result = async {
                    let compiled = runtime.compile(&path).await?;
                    let _ = report.send(Progress::Compiled(index));
                    plugins::describe_one(compiled, &path, &config, name.as_deref()).await
                }
                .await;
                let _ = report.send(Progress::Done(index, Box::new(result)));
            });
        }
        Loads { progress, pending }
    }

    /// Waits until every load has finished, or every one still running has compiled and
    /// spent [`LATE_AFTER`] in its plugin's exports; returns the finished ones.
    async fn batch(&mut self) -> Vec<(PathBuf, Result<plugins::Checked, PluginError>)> {
        let mut compiled_at: HashMap<usize, tokio::time::Instant> = HashMap::new();
        let mut finished = Vec::new();
        while !self.pending.is_empty() {
            let all_compiled = self.pending.keys().all(|i| compiled_at.contains_key(i));
            let close = all_compiled
                .then(|| {
                    self.pending
                        .keys()
                        .map(|i| compiled_at[i] + LATE_AFTER)
                        .max()
                })
                .flatten();
            let report = match close {
                Some(close) => tokio::select! {
                    report = self.progress.recv() => report,
                    () = tokio::time::sleep_until(close) => break,
                },
                None => self.progress.recv().await,
            };
            match report {
                Some(Progress::Compiled(index)) => {
                    compiled_at.insert(index, tokio::time::Instant::now());
                }
                Some(Progress::Done(index, result)) => {
                    if let Some(path) = self.pending.remove(&index) {
                        finished.push((path, *result));
                    }
                }
                None => {
                    self.lost();
                    break;
                }
            }
        }
        finished
    }

    /// The next load to finish, after the batch; `None` when all have.
    async fn next_done(&mut self) -> Option<(usize, Result<plugins::Checked, PluginError>)> {
        loop {
            match self.progress.recv().await {
                Some(Progress::Compiled(_)) => continue,
                Some(Progress::Done(index, result)) => {
                    self.pending.remove(&index);
                    return Some((index, *result));
                }
                None => {
                    self.lost();
                    return None;
                }
            }
        }
    }

    /// Reports loads whose task ended without a result (it panicked, which is a bug).
    fn lost(&mut self) {
        for (_, path) in self.pending.drain() {
            tracing::error!(file = %path.display(), "loading the plugin failed unexpectedly; it is not served (touch the file to try again)");
        }
    }
}
