//! The plugin runtime: the only crate that uses wasmtime, wasmtime-wasi and
//! wasmtime-wasi-http. It may use `berth-model` and nothing else of Berth's.
//!
//! A [`Runtime`] owns one shared engine, linker and epoch ticker; [`Runtime::load`]
//! turns a `.wasm` file into a [`LoadedPlugin`], whose calls each run in a fresh store
//! under the plugin's [`PluginLimits`] (deadline, memory cap, concurrency gate, result
//! and output caps) and the caller's cancellation token; the same goes for event hook
//! deliveries ([`LoadedPlugin::deliver`]), except the concurrency gate. Callers see only
//! [`berth_model::manifest`] and [`berth_model::events`] types and the two error enums
//! re-exported here.
//!
//! It deliberately does not validate manifests, namespace tool names, watch files or
//! decide which plugins to load: those belong to the registry and the watcher.
//!
//! Layout:
//! - `engine`: engine configuration and the epoch ticker thread.
//! - `tier`: the code a plugin runs: Winch's first, then Cranelift's, swapped in.
//! - `cache`: the on-disk compilation cache (checked before it is trusted).
//! - `loader`: header sniffing, compilation, contract detection, pre-instantiation,
//!   `describe` and (for plugins with an event hook) `interests`.
//! - `instance`: per-call stores, timeout and cancellation.
//! - `warm`: the idle instances of plugins the operator lets reuse them (opt-in).
//! - `teardown`: finished calls' stores, dropped after their answers have gone out.
//! - `limits`: per-plugin limits, the memory limiter, the concurrency gate, result sizes.
//! - `cpu`: the host-wide turns on the cores for guests that run past one epoch tick.
//! - `wit`: the code wasmtime generates from each contract version's WIT.
//! - `store`: the data of every per-call store, and how the linker reaches it.
//! - `bindings`: calling each contract version's exports, behind a trait.
//! - `capabilities`: host imports offered to plugins (`log`, `config`, `progress`,
//!   `resources`, `client`) and stdio capture.
//! - `error`: [`LoadError`] and [`CallError`].

mod bindings;
pub mod cache;
mod capabilities;
mod cpu;
mod engine;
mod error;
mod instance;
mod limits;
mod loader;
mod store;
mod teardown;
mod tier;
mod warm;
mod wit;

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;
use std::sync::{Arc, Mutex, PoisonError, Weak};
use std::time::{Duration, Instant};
use tracing::Instrument as _;

use tokio_util::sync::CancellationToken;
use wasmtime::Engine;
use wasmtime::component::Linker;

pub use capabilities::PLUGIN_TARGET;
pub use engine::Allocation;
pub use error::{CallError, Limit, LoadError};
pub use limits::PluginLimits;
pub use loader::Compiled;
pub use tier::{CompileStrategy, Compiler};
pub use warm::{IDLE_EXPIRY, InstanceReuse, MAX_WARM_INSTANCES};

use berth_model::events::{EventKind, PluginEvent};
use berth_model::manifest::{
    CallContext, CompletionRequest, Completions, GuestError, Manifest, PromptOutput,
    ResourceContents, ToolOutput,
};
use berth_model::policy::{Grants, Needs};
use bindings::Failure;
use capabilities::config::ConfigState;
pub use capabilities::resources::ResourceListener;
use instance::{CallTarget, PerCall, Stopped};
use limits::{Admission, Gate, Slot};
use store::StoreState;

/// The default size of the instance pool ([`RuntimeOptions::max_instances`]).
pub const DEFAULT_MAX_INSTANCES: u32 = 1000;

/// Options for the shared engine. Everything a plugin's calls are limited by is per
/// plugin, in [`PluginSettings::limits`]; only what the engine itself needs is here.
#[derive(Debug, Clone)]
pub struct RuntimeOptions {
    /// How often the epoch advances. Running guests yield to the async runtime once per
    /// tick, so this bounds how late a timeout or cancellation takes effect. Default 10 ms.
    pub epoch_tick: Duration,
    /// For the limits benchmark only (never set by `berth`): an engine without epoch
    /// interruption, and calls without a memory limiter, concurrency gate or result cap,
    /// so the cost of the limits can be measured. Calls still honour cancellation and
    /// the deadline, but a guest that never yields cannot be stopped.
    #[doc(hidden)]
    pub limits_off: bool,
    /// Where compiled plugins are kept between runs (see `cache.rs`); `None`: compile
    /// every load. A folder that cannot be created turns the cache off with a warning.
    pub compile_cache: Option<std::path::PathBuf>,
    /// Plugin instances that may be alive at once across all plugins: the size of the
    /// pooling allocator's pool (see `engine.rs`). `None`: allocate every instance on
    /// demand. Default 1000.
    pub max_instances: Option<u32>,
    /// Guests that may run past their first epoch tick at once, across all plugins (see
    /// `cpu.rs`); `None`: one fewer than the machine's cores, at least one.
    pub max_running_guests: Option<usize>,
    /// Which compiler turns a build the compilation cache does not hold into machine code
    /// (see `tier.rs`). Default: tiered.
    pub compiler: CompileStrategy,
    /// How long an instance kept for a session (or identity, or shared) waits for its
    /// next call before it is dropped (see `warm.rs`). Default [`IDLE_EXPIRY`], 30 s.
    pub instance_idle: Duration,
}

impl Default for RuntimeOptions {
    fn default() -> Self {
        Self {
            epoch_tick: Duration::from_millis(10),
            limits_off: false,
            compile_cache: None,
            max_instances: Some(DEFAULT_MAX_INSTANCES),
            max_running_guests: None,
            compiler: CompileStrategy::Tiered,
            instance_idle: IDLE_EXPIRY,
        }
    }
}

/// Per-plugin settings from the operator's config.
#[derive(Debug, Clone, Default)]
pub struct PluginSettings {
    /// Values served by the `config` import; a plugin sees only its own.
    pub config: BTreeMap<String, String>,
    /// The limits its calls (and, at load, its `describe`) run under.
    pub limits: PluginLimits,
    /// Folders, environment and network the plugin may use; nothing by default.
    pub grants: Arc<Grants>,
    /// Who may be handed an instance that served an earlier call (see `warm.rs`); the
    /// default, `Call`: nobody, a fresh instance for every call.
    pub reuse: InstanceReuse,
    /// Idle instances kept between calls when `reuse` allows any: shared by every caller
    /// (`Shared`), or one per session, across sessions (`Session`).
    pub warm_instances: usize,
    /// For a load only: the operator's limits of each plugin that has its own, by name.
    /// `describe` runs under [`Self::limits`], since the name is what it says; once it
    /// has, the named plugin's limits apply to the rest of the load where stricter.
    pub load_limits_by_name: Arc<BTreeMap<String, PluginLimits>>,
}

/// What every runtime clone and every plugin loaded by it shares.
pub(crate) struct RuntimeInner {
    /// The engine of Cranelift's code, which every plugin runs in the end.
    engine: Engine,
    /// How `engine` allocates instances.
    allocation: Allocation,
    linker: Linker<StoreState>,
    /// Winch's engine, for builds waiting for Cranelift; `None` without tiering.
    baseline: Option<tier::Baseline>,
    /// The background compiler that swaps Cranelift's code in.
    tier_up: tier::TierUp,
    options: RuntimeOptions,
    /// One concurrency gate per plugin name, shared by all its handles (settings changes
    /// and reloads), so its limit counts every call of the plugin. Weak, so a plugin's
    /// gate goes when its last handle does.
    gates: Mutex<HashMap<Arc<str>, Weak<Gate>>>,
    /// Compiled artifacts kept between runs, when enabled.
    pub(crate) cache: Option<cache::CompileCache>,
    /// Stores of finished calls waiting to be dropped after their answers went out.
    teardown: Arc<teardown::Teardown>,
    /// The turns on the cores that long-running guests share.
    pub(crate) cores: Arc<cpu::Cores>,
    /// Who hears a plugin say one of its resources changed; set once by the app.
    pub(crate) resource_listener: std::sync::OnceLock<ResourceListener>,
    /// Where plugins' `wasi:keyvalue` state is kept; set once by the app. Without one,
    /// opening a bucket says the server keeps no state.
    pub(crate) state_store: std::sync::OnceLock<berth_model::state::SharedStateStore>,
    /// Ticks for as long as any `Runtime` clone or `LoadedPlugin` is alive: a plugin
    /// outliving its runtime still needs ticks, or its calls could not be timed out.
    _ticker: engine::EpochTicker,
}

/// One shared engine + linker for all plugins; cheap to clone (Arc inside).
///
/// Creating one starts the epoch ticker thread, which stops when the last clone of
/// this runtime and the last plugin loaded by it are dropped.
#[derive(Clone)]
pub struct Runtime {
    inner: Arc<RuntimeInner>,
}

impl fmt::Debug for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Runtime")
            .field("options", &self.inner.options)
            .finish_non_exhaustive()
    }
}

impl Runtime {
    /// Builds the shared engine and linker and starts the epoch ticker thread.
    ///
    /// Fails with [`LoadError::Engine`] if an option is zero where it must not be, or
    /// the engine or the ticker thread cannot be created.
    pub fn new(options: RuntimeOptions) -> Result<Runtime, LoadError> {
        let (engine, allocation) = engine::build_engine(&options)?;
        tracing::debug!(?allocation, "engine built");
        let linker = link(&engine)?;
        let baseline = match engine::build_baseline_engine(&options) {
            Some(engine) => Some(tier::Baseline {
                linker: link(&engine)?,
                engine,
            }),
            None => None,
        };
        let cache = options.compile_cache.as_deref().and_then(|dir| {
            match cache::CompileCache::open(dir, &engine) {
                Ok(cache) => Some(cache),
                Err(error) => {
                    tracing::warn!(dir = %dir.display(), %error, "cannot use the compilation cache folder; compiling every plugin");
                    None
                }
            }
        });
        let watch_swap = matches!(allocation, Allocation::Pooling { page_map: true, .. });
        let engines = std::iter::once(engine.clone())
            .chain(baseline.as_ref().map(|b| b.engine.clone()))
            .collect();
        let ticker = engine::EpochTicker::start(engines, options.epoch_tick, watch_swap)?;
        let cores = match options.max_running_guests {
            Some(slots) => cpu::Cores::new(slots, options.epoch_tick),
            None => cpu::Cores::for_this_machine(options.epoch_tick),
        };
        tracing::debug!(
            slots = cores.slots(),
            "guests past their first tick share these turns"
        );
        Ok(Runtime {
            inner: Arc::new(RuntimeInner {
                engine,
                allocation,
                linker,
                baseline,
                tier_up: tier::TierUp::default(),
                options,
                gates: Mutex::default(),
                teardown: Arc::default(),
                cores,
                resource_listener: std::sync::OnceLock::new(),
                state_store: std::sync::OnceLock::new(),
                cache,
                _ticker: ticker,
            }),
        })
    }

    /// Reads the file, checks it is a component implementing a supported contract,
    /// compiles it on `spawn_blocking`, pre-instantiates it, and calls `describe` in a
    /// fresh store. Does NOT validate the manifest rules (the caller calls
    /// [`Manifest::validate`]).
    ///
    /// The file name (not the full path) is used as the plugin's origin in messages.
    pub async fn load(
        &self,
        path: &Path,
        settings: PluginSettings,
    ) -> Result<LoadedPlugin, LoadError> {
        self.compile(path).await?.describe(settings).await
    }

    /// The host's half of [`Runtime::load`]: reads, checks and compiles the file and
    /// pre-instantiates it, without running any of the plugin's code.
    pub async fn compile(&self, path: &Path) -> Result<Compiled, LoadError> {
        let bytes = tokio::fs::read(path)
            .await
            .map_err(|source| LoadError::Io {
                path: path.to_path_buf(),
                source,
            })?;
        let origin = path
            .file_name()
            .unwrap_or(path.as_os_str())
            .to_string_lossy()
            .into_owned();
        loader::compile_and_link(Arc::clone(&self.inner), &origin, bytes).await
    }

    /// Same as [`Runtime::load`] for bytes already in memory; `origin` (usually the file
    /// name) identifies the plugin in messages until its manifest names it.
    pub async fn load_bytes(
        &self,
        origin: &str,
        bytes: Vec<u8>,
        settings: PluginSettings,
    ) -> Result<LoadedPlugin, LoadError> {
        loader::load(Arc::clone(&self.inner), origin, bytes, settings).await
    }

    /// How this runtime allocates instances: pooled unless the pool could not be reserved
    /// or [`RuntimeOptions::max_instances`] is `None`.
    pub fn allocation(&self) -> Allocation {
        self.inner.allocation
    }

    /// Installs who hears a plugin say one of its resources changed (contract 0.3's
    /// `resources.changed`). Set once; a second listener is ignored, and without one the
    /// notices go nowhere.
    pub fn on_resource_changed(&self, listener: ResourceListener) {
        if self.inner.resource_listener.set(listener).is_err() {
            tracing::warn!("a resource-change listener was already installed; keeping it");
        }
    }

    /// Installs where plugins keep their `wasi:keyvalue` state. Set once; a second store
    /// is ignored.
    pub fn use_state_store(&self, store: berth_model::state::SharedStateStore) {
        if self.inner.state_store.set(store).is_err() {
            tracing::warn!("a plugin state store was already installed; keeping it");
        }
    }

    /// Contract versions this host can load (e.g. `>=0.1.0, <0.2.0`), for checks and
    /// `--version` output; see [`Runtime::supported_contracts_display`] for people.
    pub fn supported_contracts() -> &'static [semver::VersionReq] {
        bindings::supported()
    }

    /// The supported contracts as people read them, e.g. `berth:plugin@0.1.x`.
    pub fn supported_contracts_display() -> String {
        bindings::supported_display()
    }
}

/// A linker for `engine` with every host function a plugin may import.
fn link(engine: &Engine) -> Result<Linker<StoreState>, LoadError> {
    let linker_error =
        |e: wasmtime::Error| LoadError::Engine(format!("cannot link host functions: {e:#}"));
    let mut linker = Linker::new(engine);
    // Every wasm32-wasip2 guest imports WASI, even a pure computation; it is linked
    // in full and granted nothing (no preopens, env, args or network) per store.
    wasmtime_wasi::p2::add_to_linker_async(&mut linker).map_err(linker_error)?;
    // Linked for every plugin, granted to none: each request is checked against the
    // plugin's network grants (capabilities/http.rs).
    wasmtime_wasi_http::p2::add_only_http_to_linker_async(&mut linker).map_err(linker_error)?;
    store::add_to_linker(&mut linker).map_err(linker_error)?;
    for contract in bindings::CONTRACTS {
        (contract.add_to_linker)(&mut linker).map_err(linker_error)?;
    }
    Ok(linker)
}

impl RuntimeInner {
    /// The gate of plugin `name`, created on first use.
    pub(crate) fn gate(&self, name: &Arc<str>) -> Arc<Gate> {
        // Only inserts and removals happen under the lock, so a panic elsewhere cannot
        // have left the map inconsistent.
        let mut gates = self.gates.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(gate) = gates.get(name).and_then(Weak::upgrade) {
            return gate;
        }
        gates.retain(|_, gate| gate.strong_count() > 0);
        let gate = Arc::new(Gate::default());
        gates.insert(Arc::clone(name), Arc::downgrade(&gate));
        gate
    }
}

/// What a loaded plugin's clones share.
pub(crate) struct PluginInner {
    runtime: Arc<RuntimeInner>,
    origin: String,
    manifest: Manifest,
    contract: semver::Version,
    /// The code its calls run (shared by every handle of the load).
    code: Arc<tier::CodeCell>,
    /// The event kinds the plugin's hook asked for at load, sorted and deduplicated;
    /// empty for a plugin without a hook.
    interests: Vec<EventKind>,
    /// What the plugin declared it needs (empty without a `needs` export).
    needs: Needs,
    config: ConfigState,
    /// The limits in force for calls that start with this handle.
    limits: PluginLimits,
    /// The plugin's concurrency gate (shared with every handle of the same name).
    gate: Arc<Gate>,
    /// What the operator granted this plugin.
    grants: Arc<Grants>,
    /// `name@version` for error messages (the origin if the name is malformed).
    label: String,
    /// `plugin` field of log events (the origin if the name is malformed).
    log_name: Arc<str>,
    /// Idle instances for the next calls; empty and unused when the plugin reuses no
    /// instances. Per handle, so a settings change starts with none.
    warm: Arc<warm::WarmPool>,
    /// SHA-256 of the component, hex.
    digest: Arc<str>,
    /// What the plugin's answers depend on besides the request (see
    /// [`LoadedPlugin::identity`]).
    identity: Arc<str>,
}

/// A compiled, pre-instantiated plugin; cheap to clone; every call gets a fresh Store
/// (no state leaks between calls or clients) unless its settings reuse instances, within
/// a session or (the operator's opt-in) across callers.
#[derive(Clone)]
pub struct LoadedPlugin {
    inner: Arc<PluginInner>,
}

impl fmt::Debug for LoadedPlugin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LoadedPlugin")
            .field("origin", &self.inner.origin)
            .field("name", &self.inner.manifest.name)
            .field("version", &self.inner.manifest.version)
            .field("contract", &self.inner.contract.to_string())
            .finish_non_exhaustive()
    }
}

impl LoadedPlugin {
    /// The manifest the plugin returned from `describe` (not yet validated by this layer).
    pub fn manifest(&self) -> &Manifest {
        &self.inner.manifest
    }

    /// SHA-256 of the component's bytes, hex: which build this is.
    pub fn digest(&self) -> &str {
        &self.inner.digest
    }

    /// A hash of the build and of the settings its answers can depend on (config values
    /// and grants; not limits): two handles with the same identity answer a request the
    /// same way, on any server with the same plugin and config. The result cache keys
    /// answers by it, so a reload or config change never serves an old answer.
    pub fn identity(&self) -> &str {
        &self.inner.identity
    }

    /// Which compiler made the code a call starting now would run: Winch until a tiered
    /// build's Cranelift code is swapped in (see `tier.rs`).
    pub fn compiler(&self) -> Compiler {
        self.inner.code.current().compiler
    }

    /// The `berth:plugin` contract version the component exports.
    pub fn contract_version(&self) -> &semver::Version {
        &self.inner.contract
    }

    /// The file name (or other origin) the plugin was loaded from, for logs.
    pub fn origin(&self) -> &str {
        &self.inner.origin
    }

    /// The kinds of event the plugin's hook asked for when it was loaded, sorted; empty
    /// when it has no hook (every 0.1 plugin, and 0.2 plugins without `events`).
    pub fn interests(&self) -> &[EventKind] {
        &self.inner.interests
    }

    /// The grants the plugin declared it needs when it was loaded.
    pub fn needs(&self) -> &Needs {
        &self.inner.needs
    }

    /// How long one of its calls may run (`call_timeout_ms`); checks of a call's
    /// arguments and result share this deadline.
    pub fn call_timeout(&self) -> Duration {
        self.inner.limits.call_timeout
    }

    /// Whether the plugin asked for events of `kind`.
    pub fn wants(&self, kind: EventKind) -> bool {
        self.inner.interests.binary_search(&kind).is_ok()
    }

    /// True when both are the same handle (same load, same settings), so a caller can
    /// tell a plugin it kept from a freshly loaded build of the same file. A handle made
    /// by [`Self::with_settings`] is a different handle.
    pub fn is_same_load(&self, other: &LoadedPlugin) -> bool {
        Arc::ptr_eq(&self.inner, &other.inner)
    }

    /// The same compiled plugin serving `settings` instead of the ones it was loaded
    /// with. Cheap (nothing is recompiled); the original is unchanged. This exists
    /// because the operator's settings are keyed by the plugin's name, which is only
    /// known after `describe`.
    pub fn with_settings(&self, settings: PluginSettings) -> LoadedPlugin {
        let inner = &*self.inner;
        let config = ConfigState::new(Arc::new(settings.config));
        let identity = loader::identity(&inner.digest, &config, &settings.grants);
        LoadedPlugin {
            inner: Arc::new(PluginInner {
                runtime: Arc::clone(&inner.runtime),
                origin: inner.origin.clone(),
                manifest: inner.manifest.clone(),
                contract: inner.contract.clone(),
                code: Arc::clone(&inner.code),
                interests: inner.interests.clone(),
                needs: inner.needs.clone(),
                config: config.clone(),
                limits: settings.limits,
                gate: Arc::clone(&inner.gate),
                grants: settings.grants,
                label: inner.label.clone(),
                log_name: Arc::clone(&inner.log_name),
                warm: warm::WarmPool::new(&inner.runtime, settings.reuse, settings.warm_instances),
                identity,
                digest: Arc::clone(&inner.digest),
            }),
        }
    }

    /// Calls tool `tool` (its plugin-local name) with `arguments_json`, a JSON object as
    /// text that the caller has already validated against the tool's input schema.
    ///
    /// Runs in a fresh instance; stops at the call timeout or when `cancel` fires.
    pub async fn call_tool(
        &self,
        tool: &str,
        arguments_json: &str,
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, CallError> {
        let start = Instant::now();
        let span = self.trace_span("tool", tool);
        let result = self
            .call_tool_limited(tool, arguments_json, ctx, cancel)
            .instrument(span.clone())
            .await;
        trace_outcome(&span, &result, |output| output.is_error);
        self.log_outcome("tool call", Some(tool), None, start, &result);
        result
    }

    /// The trace span of one call of the plugin (`operation` `name`), exported when
    /// `[telemetry]` is on (the target is `berth::otel`; see the binary's `telemetry`);
    /// disabled, and free, otherwise. `begin` records the queue wait and whether the
    /// instance was fresh or warm, [`trace_outcome`] how the call ended.
    fn trace_span(&self, operation: &'static str, name: &str) -> tracing::Span {
        tracing::info_span!(
            target: "berth::otel",
            "plugin.call",
            otel.name = format_args!("plugin.call {}/{name}", self.inner.log_name),
            berth.plugin = %self.inner.log_name,
            berth.operation = operation,
            berth.name = name,
            berth.instance = "fresh",
            berth.queue_wait_us = tracing::field::Empty,
            berth.outcome = tracing::field::Empty,
            otel.status_code = tracing::field::Empty,
            otel.status_description = tracing::field::Empty,
        )
    }

    async fn call_tool_limited(
        &self,
        tool: &str,
        arguments_json: &str,
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<ToolOutput, CallError> {
        let (mut call, code, deadline, _slot) = self.begin(ctx, cancel).await?;
        let running = code
            .callable
            .call_tool(call.store(), tool, arguments_json, ctx);
        let outcome = self.race(running, deadline, cancel).await;
        let output = self.settle(outcome, call, ctx)?;
        self.check_result_size(limits::tool_output_size(&output))?;
        Ok(output)
    }

    /// Starts a client-facing call the way every one starts: a slot of the plugin's
    /// concurrency gate (held until the returned slot drops) and a store (fresh, or warm
    /// when the operator allowed reuse) connected to the calling client (`ctx`); the
    /// deadline counts from arrival.
    async fn begin(
        &self,
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<(PerCall, Arc<tier::Code>, tokio::time::Instant, Option<Slot>), CallError> {
        let deadline = self.deadline();
        let arrived = Instant::now();
        let slot = self.enter(deadline, cancel).await?;
        tracing::Span::current().record(
            "berth.queue_wait_us",
            u64::try_from(arrived.elapsed().as_micros()).unwrap_or(u64::MAX),
        );
        // Stores still waiting to be dropped go first, so they never pile up (with their
        // memory and pool slots) while calls keep every worker busy.
        self.inner.runtime.teardown.finish();
        let code = self.inner.code.current();
        let mut call =
            self.inner
                .warm
                .checkout(&self.inner.runtime, &code.machine, &self.target(), ctx);
        call.serve(ctx);
        Ok((call, code, deadline, slot))
    }

    /// Runs a started call until it ends, `deadline` passes or `cancel` fires.
    async fn race<T>(
        &self,
        running: bindings::CallFuture<'_, T>,
        deadline: tokio::time::Instant,
        cancel: &CancellationToken,
    ) -> Result<T, Stopped> {
        instance::race(running, deadline, self.inner.limits.call_timeout, cancel).await
    }

    /// Reads the resource at `uri` (a static resource of the plugin or a URI matching
    /// one of its templates). Same isolation and limits as [`LoadedPlugin::call_tool`].
    pub async fn read_resource(
        &self,
        uri: &str,
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<Vec<ResourceContents>, CallError> {
        let start = Instant::now();
        let span = self.trace_span("resource", uri);
        let result = self
            .read_resource_limited(uri, ctx, cancel)
            .instrument(span.clone())
            .await;
        trace_outcome(&span, &result, |_| false);
        self.log_outcome("resource read", None, Some(uri), start, &result);
        result
    }

    async fn read_resource_limited(
        &self,
        uri: &str,
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<Vec<ResourceContents>, CallError> {
        let (mut call, code, deadline, _slot) = self.begin(ctx, cancel).await?;
        let running = code.callable.read_resource(call.store(), uri, ctx);
        let outcome = self.race(running, deadline, cancel).await;
        let contents = self.settle(outcome, call, ctx)?;
        self.check_result_size(limits::contents_size(&contents))?;
        Ok(contents)
    }

    /// Fills in prompt `name` (its plugin-local name) with `arguments`. Same isolation
    /// and limits as [`LoadedPlugin::call_tool`].
    pub async fn get_prompt(
        &self,
        name: &str,
        arguments: &[(String, String)],
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<PromptOutput, CallError> {
        let start = Instant::now();
        let span = self.trace_span("prompt", name);
        let result = async {
            let (mut call, code, deadline, _slot) = self.begin(ctx, cancel).await?;
            let running = code.callable.get_prompt(call.store(), name, arguments, ctx);
            let outcome = self.race(running, deadline, cancel).await;
            let output = self.settle(outcome, call, ctx)?;
            self.check_result_size(limits::prompt_output_size(&output))?;
            Ok(output)
        }
        .instrument(span.clone())
        .await;
        trace_outcome(&span, &result, |_| false);
        self.log_outcome("prompt", Some(name), None, start, &result);
        result
    }

    /// Whether the plugin answers `completion/complete` (it exports `completion`).
    pub fn completes(&self) -> bool {
        self.inner.code.current().callable.completes()
    }

    /// Asks the plugin for suggestions. Same isolation and limits as
    /// [`LoadedPlugin::call_tool`]; a plugin without completions suggests nothing
    /// without running.
    pub async fn complete(
        &self,
        request: &CompletionRequest,
        ctx: &CallContext,
        cancel: &CancellationToken,
    ) -> Result<Completions, CallError> {
        if !self.completes() {
            return Ok(Completions::default());
        }
        let start = Instant::now();
        let result = async {
            let (mut call, code, deadline, _slot) = self.begin(ctx, cancel).await?;
            let running = code.callable.complete(call.store(), request);
            let outcome = self.race(running, deadline, cancel).await;
            let completions = self.settle(outcome, call, ctx)?;
            let size = completions.values.iter().map(String::len).sum();
            self.check_result_size(size)?;
            Ok(completions)
        }
        .await;
        self.log_outcome("completion", None, None, start, &result);
        result
    }

    /// The deadline of a call arriving now: its whole call timeout, queue wait included,
    /// so a client never waits longer than `call_timeout_ms` for any answer.
    fn deadline(&self) -> tokio::time::Instant {
        tokio::time::Instant::now() + self.inner.limits.call_timeout
    }

    /// Takes one of the plugin's call slots, waiting in its queue if they are all taken;
    /// fails at once when the queue is full too, and gives up at `deadline` or when
    /// `cancel` fires (leaving the queue either way).
    async fn enter(
        &self,
        deadline: tokio::time::Instant,
        cancel: &CancellationToken,
    ) -> Result<Option<Slot>, CallError> {
        let inner = &*self.inner;
        if inner.runtime.options.limits_off {
            return Ok(None);
        }
        let limits = &inner.limits;
        let plugin = || inner.label.clone();
        let ticket = match inner
            .gate
            .try_enter(limits.max_concurrent_calls, limits.max_queued_calls)
        {
            Ok(Admission::Now(slot)) => return Ok(Some(slot)),
            Ok(Admission::Queued(ticket)) => ticket,
            Err(busy) => {
                return Err(CallError::LimitExceeded {
                    plugin: plugin(),
                    limit: Limit::Busy {
                        running: busy.running,
                        queued: busy.queued,
                        max_concurrent: limits.max_concurrent_calls,
                        max_queued: limits.max_queued_calls,
                    },
                });
            }
        };
        tokio::select! {
            biased;
            () = cancel.cancelled() => Err(CallError::Cancelled { plugin: plugin() }),
            admitted = tokio::time::timeout_at(deadline, ticket.wait()) => match admitted {
                Ok(slot) => Ok(Some(slot)),
                Err(_elapsed) => Err(CallError::LimitExceeded {
                    plugin: plugin(),
                    limit: Limit::QueueWait {
                        waited: limits.call_timeout,
                        max_concurrent: limits.max_concurrent_calls,
                    },
                }),
            },
        }
    }

    /// Refuses a result over the plugin's result cap. Checked on the host's copy before
    /// anything is converted for the client, so an oversized result never reaches the
    /// protocol layer.
    fn check_result_size(&self, size_bytes: usize) -> Result<(), CallError> {
        let max_bytes = self.inner.limits.max_result_bytes;
        if size_bytes <= max_bytes || self.inner.runtime.options.limits_off {
            return Ok(());
        }
        Err(CallError::LimitExceeded {
            plugin: self.inner.label.clone(),
            limit: Limit::ResultSize {
                size_bytes,
                max_bytes,
            },
        })
    }

    /// Calls running and waiting for this plugin right now (all handles of its name).
    #[doc(hidden)]
    pub fn load(&self) -> (usize, usize) {
        self.inner.gate.load()
    }

    /// Idle instances of this handle kept for later calls (always 0 when it reuses
    /// none): one per session it serves, or its shared ones.
    pub fn warm_idle(&self) -> usize {
        self.inner.warm.idle()
    }

    /// Runs the plugin's event hook with `event`, under the same isolation and limits as
    /// [`LoadedPlugin::call_tool`] (fresh instance, call timeout, memory cap, `cancel`).
    /// Does nothing for a kind the plugin did not ask for. A delivery is not a tool
    /// call: the caller publishes nothing for it.
    pub async fn deliver(
        &self,
        event: &PluginEvent,
        cancel: &CancellationToken,
    ) -> Result<(), CallError> {
        if !self.wants(event.kind()) {
            return Ok(());
        }
        let start = Instant::now();
        let inner = &*self.inner;
        // Deliveries skip the concurrency gate: the hook runner sends one event at a time
        // per plugin, and a client's calls must never be refused because of them.
        let code = inner.code.current();
        let mut call = PerCall::new(&inner.runtime, &code.machine, &self.target());
        let running = code.callable.on_event(call.store(), event);
        let limit = inner.limits.call_timeout;
        let deadline = tokio::time::Instant::now() + limit;
        let outcome = instance::race(running, deadline, limit, cancel).await;
        // The hook has no verdict of its own: every failure is below the WIT level.
        let result = self.settle(outcome.map(Ok), call, &CallContext::default());
        let what = format!("{} event hook", event.kind().as_str());
        self.log_outcome(&what, None, None, start, &result);
        result
    }

    fn target(&self) -> CallTarget<'_> {
        CallTarget {
            log_name: &self.inner.log_name,
            config: &self.inner.config,
            grants: &self.inner.grants,
            limits: &self.inner.limits,
        }
    }

    /// Flattens the guarded outcome: the plugin's own error stays data
    /// ([`CallError::Guest`]); everything below the WIT level is a host-side fault. The
    /// store goes back to the warm pool, which keeps it only if the guest returned.
    fn settle<T>(
        &self,
        outcome: Result<Result<T, GuestError>, Stopped>,
        call: PerCall,
        ctx: &CallContext,
    ) -> Result<T, CallError> {
        call.end_turn();
        let returned = outcome.is_ok();
        let result = self.flatten(outcome, &call);
        self.inner.warm.checkin(call, returned, ctx);
        result
    }

    fn flatten<T>(
        &self,
        outcome: Result<Result<T, GuestError>, Stopped>,
        call: &PerCall,
    ) -> Result<T, CallError> {
        let plugin = self.inner.label.clone();
        // A flood of output outranks the answer (or the plugin's own error), but not a
        // trap or timeout, which say more about what went wrong.
        if let (Ok(_), Some((stream, written_bytes, max_bytes))) =
            (&outcome, call.output_overflow())
        {
            return Err(CallError::LimitExceeded {
                plugin,
                limit: Limit::LogOutput {
                    stream,
                    written_bytes,
                    max_bytes,
                },
            });
        }
        match outcome {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(guest)) => Err(CallError::Guest(guest)),
            // A guest that dies after being refused memory died of the memory limit
            // (a Rust guest aborts with `unreachable` when an allocation fails).
            Err(Stopped::Failed(Failure::Trap(_))) if call.memory_refused().is_some() => {
                let (requested_bytes, max_bytes) = call.memory_refused().unwrap_or_default();
                Err(CallError::LimitExceeded {
                    plugin,
                    limit: Limit::Memory {
                        requested_bytes,
                        max_bytes,
                    },
                })
            }
            Err(stopped @ Stopped::Failed(Failure::Trap(_))) => Err(CallError::Trap {
                plugin,
                reason: call.explain(&stopped),
            }),
            // A full pool is a busy server, not a broken plugin: the call may be retried.
            Err(Stopped::Failed(Failure::Instantiate(e)))
                if e.downcast_ref::<wasmtime::PoolConcurrencyLimitError>()
                    .is_some() =>
            {
                let max_instances = match self.inner.runtime.allocation {
                    Allocation::Pooling { max_instances, .. } => max_instances,
                    Allocation::OnDemand => 0,
                };
                Err(CallError::LimitExceeded {
                    plugin,
                    limit: Limit::Instances { max_instances },
                })
            }
            Err(stopped @ Stopped::Failed(Failure::Instantiate(_))) => {
                Err(CallError::Instantiate {
                    plugin,
                    reason: call.explain(&stopped),
                })
            }
            Err(Stopped::TimedOut(limit)) => Err(CallError::Timeout { plugin, limit }),
            Err(Stopped::Cancelled) => Err(CallError::Cancelled { plugin }),
        }
    }

    /// One event per call: debug when the plugin answered (even with its own error),
    /// warn when the host had to step in.
    fn log_outcome<T>(
        &self,
        what: &str,
        tool: Option<&str>,
        uri: Option<&str>,
        start: Instant,
        result: &Result<T, CallError>,
    ) {
        let plugin = &*self.inner.log_name;
        let elapsed_ms = instance::elapsed_ms(start);
        match result {
            Ok(_) => tracing::debug!(plugin, tool, uri, elapsed_ms, "{what} finished"),
            Err(CallError::Guest(error)) => tracing::debug!(
                plugin,
                tool,
                uri,
                elapsed_ms,
                %error,
                "{what} returned the plugin's error"
            ),
            Err(CallError::Cancelled { .. }) => {
                tracing::debug!(plugin, tool, uri, elapsed_ms, "{what} cancelled")
            }
            Err(error) if error.limit().is_some() => {
                let (limit, value) = error.limit().unwrap_or_default();
                tracing::warn!(plugin, tool, uri, limit, value, elapsed_ms, %error, "{what} hit a limit")
            }
            Err(error) => {
                tracing::warn!(plugin, tool, uri, elapsed_ms, %error, "{what} failed")
            }
        }
    }
}

/// Records how a call ended on its trace span: `berth.outcome` (`success`,
/// `tool_error` when `is_error` says the result is one, or the kind of failure) and the
/// OpenTelemetry status.
fn trace_outcome<T>(
    span: &tracing::Span,
    result: &Result<T, CallError>,
    is_error: impl Fn(&T) -> bool,
) {
    if span.is_disabled() {
        return;
    }
    let outcome = match result {
        Ok(output) if is_error(output) => "tool_error",
        Ok(_) => "success",
        Err(CallError::Guest(_)) => "guest_error",
        Err(CallError::Trap { .. }) => "trap",
        Err(CallError::Timeout { .. }) => "timeout",
        Err(CallError::Cancelled { .. }) => "cancelled",
        Err(CallError::LimitExceeded { .. }) => "limit_exceeded",
        Err(_) => "failed",
    };
    span.record("berth.outcome", outcome);
    match result {
        Ok(_) if outcome == "success" => span.record("otel.status_code", "OK"),
        Ok(_) => span.record("otel.status_code", "ERROR"),
        Err(error) => {
            span.record("otel.status_code", "ERROR");
            span.record("otel.status_description", error.to_string())
        }
    };
}

#[cfg(test)]
mod tests {
    //! Calls into real components built by `berth-test-artifacts`.

    use super::*;
    use crate::capabilities::test_support::capture_events;
    use berth_model::manifest::ContentBlock;

    const ECHO: &str = "berth-plugin-echo";

    /// Cranelift from the start: with tiering, a swap to Cranelift's code part-way through
    /// a test would start instances afresh and move calls out of the instance pool's
    /// accounting (Winch's instances are allocated on demand). The tiering tests below
    /// choose their compiler.
    fn runtime() -> Runtime {
        Runtime::new(RuntimeOptions {
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("runtime")
    }

    async fn echo() -> LoadedPlugin {
        let path = berth_test_artifacts::wasm(ECHO);
        let plugin = runtime()
            .load(&path, PluginSettings::default())
            .await
            .expect("echo loads");
        plugin
            .manifest()
            .validate()
            .expect("echo's manifest is valid");
        plugin
    }

    fn text(output: &ToolOutput) -> &str {
        match output.content.first() {
            Some(ContentBlock::Text(text)) => text,
            other => panic!("expected a text block, got {other:?}"),
        }
    }

    async fn call(plugin: &LoadedPlugin, tool: &str, args: &str) -> Result<ToolOutput, CallError> {
        let ctx = CallContext::default();
        plugin
            .call_tool(tool, args, &ctx, &CancellationToken::new())
            .await
    }

    /// The protocol layer spawns calls onto tokio, so handles and call futures must be
    /// `Send` (and handles `Sync`); this fails to compile otherwise.
    #[test]
    fn handles_and_call_futures_are_send() {
        fn send_sync<T: Send + Sync + 'static>() {}
        fn send<T: Send>(_: &T) {}
        send_sync::<Runtime>();
        send_sync::<LoadedPlugin>();
        let nothing: Option<(Runtime, LoadedPlugin)> = None;
        if let Some((runtime, plugin)) = &nothing {
            let (ctx, cancel) = (CallContext::default(), CancellationToken::new());
            send(&plugin.call_tool("t", "{}", &ctx, &cancel));
            send(&plugin.read_resource("u", &ctx, &cancel));
            send(&plugin.deliver(&PluginEvent::ConfigApplied, &cancel));
            send(&runtime.load(Path::new("p.wasm"), PluginSettings::default()));
        }
    }

    #[tokio::test]
    async fn echo_loads_and_echoes() {
        let plugin = echo().await;
        assert_eq!(plugin.manifest().name, "echo");
        assert!(plugin.manifest().tools.iter().any(|t| t.name == "echo"));
        // Built with the SDK, which speaks the newest contract.
        let newest = Runtime::supported_contracts().last().unwrap();
        assert!(newest.matches(plugin.contract_version()));
        assert!(plugin.origin().ends_with(".wasm"), "{}", plugin.origin());
        let output = call(&plugin, "echo", r#"{"text":"hello"}"#).await.unwrap();
        assert_eq!(text(&output), "hello");
        assert!(!output.is_error);
    }

    #[tokio::test]
    async fn a_trap_is_not_a_guest_error_and_does_not_poison_later_calls() {
        let plugin = echo().await;
        let err = call(&plugin, "trap", "{}").await.unwrap_err();
        let CallError::Trap {
            plugin: label,
            reason,
        } = &err
        else {
            panic!("expected Trap, got {err:?}");
        };
        assert!(label.starts_with("echo@"), "{label}");
        assert!(reason.contains("deliberate panic"), "{reason}");
        // Every call gets a fresh store, so the trapped instance is simply gone.
        let output = call(&plugin, "echo", r#"{"text":"after"}"#).await.unwrap();
        assert_eq!(text(&output), "after");
        // Concurrent calls each get their own store too.
        let calls = (0..8).map(|i| {
            let plugin = plugin.clone();
            async move {
                let args = format!(r#"{{"text":"n{i}"}}"#);
                let output = call(&plugin, "echo", &args).await.unwrap();
                assert_eq!(text(&output), format!("n{i}"));
            }
        });
        futures::future::join_all(calls).await;
    }

    #[tokio::test]
    async fn the_plugins_own_errors_stay_guest_errors() {
        let plugin = echo().await;
        let err = call(&plugin, "no-such-tool", "{}").await.unwrap_err();
        assert!(
            matches!(err, CallError::Guest(GuestError::UnknownTool(_))),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn resources_are_read_and_unknown_ones_are_guest_errors() {
        let plugin = echo().await;
        let ctx = CallContext::default();
        let cancel = CancellationToken::new();
        let contents = plugin
            .read_resource("echo://items/42", &ctx, &cancel)
            .await
            .unwrap();
        assert_eq!(
            contents[0].body,
            berth_model::manifest::ResourceBody::Text("item 42".into())
        );
        let contents = plugin
            .read_resource("echo://bytes", &ctx, &cancel)
            .await
            .unwrap();
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(
            contents[0].body,
            berth_model::manifest::ResourceBody::Blob(all)
        );
        let err = plugin
            .read_resource("echo://nothing-here", &ctx, &cancel)
            .await
            .unwrap_err();
        assert!(
            matches!(err, CallError::Guest(GuestError::ResourceNotFound(_))),
            "{err:?}"
        );
    }

    fn tool_called(plugin: &str) -> PluginEvent {
        PluginEvent::ToolCalled {
            plugin: plugin.into(),
            tool: "diff".into(),
            duration_us: 1500,
            outcome: berth_model::events::CallOutcome::TimedOut,
        }
    }

    #[test]
    fn echos_event_hook_states_its_interests_and_receives_events() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let plugin = rt.block_on(echo());
        assert_eq!(
            plugin.interests(),
            [EventKind::PluginLoaded, EventKind::ToolCalled]
        );
        assert!(plugin.wants(EventKind::ToolCalled));
        assert!(!plugin.wants(EventKind::ConfigApplied));
        let cancel = CancellationToken::new();
        let events = capture_events(|| {
            rt.block_on(async {
                plugin.deliver(&tool_called("text"), &cancel).await.unwrap();
                // Not asked for: nothing runs.
                plugin
                    .deliver(&PluginEvent::ConfigApplied, &cancel)
                    .await
                    .unwrap();
            })
        });
        let saw: Vec<_> = events
            .iter()
            .filter(|e| {
                e.fields
                    .get("message")
                    .is_some_and(|m| m == "echo saw an event")
            })
            .collect();
        assert_eq!(saw.len(), 1, "{events:?}");
        assert_eq!(saw[0].target, PLUGIN_TARGET);
        assert_eq!(saw[0].fields["plugin"], "echo");
        assert_eq!(
            saw[0].fields["fields"],
            "kind=tool_called plugin=text tool=diff outcome=timed_out duration_us=1500"
        );
    }

    #[tokio::test]
    async fn a_cancelled_delivery_never_runs() {
        let plugin = echo().await;
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = plugin
            .deliver(&tool_called("text"), &cancel)
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Cancelled { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn contracts_0_1_0_2_and_0_3_with_and_without_a_hook_share_one_runtime() {
        let rt = runtime();
        let load = |package: &str| {
            let rt = rt.clone();
            let path = berth_test_artifacts::wasm(package);
            async move { rt.load(&path, PluginSettings::default()).await.unwrap() }
        };
        let legacy = load("berth-test-legacy").await;
        let no_hook = load("berth-test-no-hook").await;
        let echo = load(ECHO).await;
        assert_eq!(legacy.contract_version(), &semver::Version::new(0, 1, 0));
        assert_eq!(no_hook.contract_version(), &semver::Version::new(0, 2, 0));
        // The SDK builds the newest contract.
        assert_eq!(echo.contract_version(), &semver::Version::new(0, 3, 0));
        for (plugin, pong) in [
            (&legacy, "pong from contract 0.1"),
            (&no_hook, "pong from contract 0.2"),
        ] {
            assert!(plugin.interests().is_empty());
            let output = call(plugin, "ping", "{}").await.unwrap();
            assert_eq!(text(&output), pong);
            // A plugin without a hook is never run for an event.
            plugin
                .deliver(&tool_called("echo"), &CancellationToken::new())
                .await
                .unwrap();
        }
        assert!(!echo.interests().is_empty());
    }

    #[tokio::test]
    async fn a_cancelled_call_never_runs() {
        let plugin = echo().await;
        let cancel = CancellationToken::new();
        cancel.cancel();
        let err = plugin
            .call_tool("echo", r#"{"text":"x"}"#, &CallContext::default(), &cancel)
            .await
            .unwrap_err();
        assert!(matches!(err, CallError::Cancelled { .. }), "{err:?}");
    }

    #[tokio::test]
    async fn settings_reach_the_config_import() {
        let plugin = echo().await;
        let configured = plugin.with_settings(PluginSettings {
            config: BTreeMap::from([("greeting".to_string(), "ahoy".to_string())]),
            ..PluginSettings::default()
        });
        let args = r#"{"key":"greeting"}"#;
        let output = call(&configured, "config_get", args).await.unwrap();
        assert_eq!(text(&output), "ahoy");
        // The original keeps its own (empty) settings.
        let output = call(&plugin, "config_get", args).await.unwrap();
        assert_ne!(text(&output), "ahoy");
    }

    #[tokio::test]
    async fn one_gate_serves_every_handle_of_a_plugin_and_settings_change_its_limits() {
        let tight = PluginSettings {
            limits: PluginLimits {
                max_concurrent_calls: 1,
                max_queued_calls: 0,
                ..PluginLimits::default()
            },
            ..PluginSettings::default()
        };
        let first = echo().await.with_settings(tight.clone());
        let sleeping = tokio::spawn({
            let first = first.clone();
            async move { call(&first, "sleep", r#"{"millis":10000}"#).await }
        });
        while first.load() != (1, 0) {
            tokio::task::yield_now().await;
        }
        // A handle made by a config edit shares the gate: the slot is taken.
        let second = first.with_settings(tight);
        let err = call(&second, "echo", r#"{"text":"x"}"#).await.unwrap_err();
        assert!(
            matches!(
                err,
                CallError::LimitExceeded {
                    limit: Limit::Busy {
                        running: 1,
                        queued: 0,
                        ..
                    },
                    ..
                }
            ),
            "{err:?}"
        );
        // Raised limits apply to the next call.
        let roomy = second.with_settings(PluginSettings::default());
        let output = call(&roomy, "echo", r#"{"text":"in"}"#).await.unwrap();
        assert_eq!(text(&output), "in");
        sleeping.abort();
    }

    #[tokio::test]
    async fn a_full_instance_pool_refuses_a_call_as_busy_and_frees_its_slot_after() {
        let runtime = Runtime::new(RuntimeOptions {
            max_instances: Some(1),
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        assert!(matches!(
            runtime.allocation(),
            Allocation::Pooling {
                max_instances: 1,
                ..
            }
        ));
        // The pool's per-component room (see `engine::pooling`) fits an SDK plugin: with a
        // single slot, loading runs `describe` in it.
        let plugin = runtime
            .load(&berth_test_artifacts::wasm(ECHO), PluginSettings::default())
            .await
            .expect("echo loads into a one-instance pool");
        let sleeping = tokio::spawn({
            let plugin = plugin.clone();
            async move { call(&plugin, "sleep", r#"{"millis":10000}"#).await }
        });
        while plugin.load() != (1, 0) {
            tokio::task::yield_now().await;
        }
        let metrics = runtime.inner.engine.pooling_allocator_metrics().unwrap();
        // One running call: one component instance, one linear memory, and core
        // instances and tables within the pool's per-component room.
        assert_eq!(metrics.component_instances(), 1);
        assert_eq!(metrics.memories(), 1);
        assert!(metrics.core_instances() <= u64::from(engine::CORE_INSTANCES_PER_COMPONENT));
        assert!(metrics.tables() <= engine::TABLES_PER_COMPONENT as usize);
        let err = call(&plugin, "echo", r#"{"text":"x"}"#).await.unwrap_err();
        assert!(
            matches!(
                err,
                CallError::LimitExceeded {
                    limit: Limit::Instances { max_instances: 1 },
                    ..
                }
            ),
            "{err:?}"
        );
        assert!(
            err.to_string()
                .contains("raise `max_instances` under `[runtime]`"),
            "{err}"
        );
        sleeping.abort();
        let _ = sleeping.await;
        let output = call(&plugin, "echo", r#"{"text":"again"}"#).await.unwrap();
        assert_eq!(text(&output), "again");
        // That call's store now waits to be dropped, holding the only slot; an
        // instantiation that does not start as a call (a load's `describe`) finds the
        // pool full, drops the waiting store and tries again.
        assert_eq!(runtime.inner.teardown.waiting(), 1);
        runtime
            .load(&berth_test_artifacts::wasm(ECHO), PluginSettings::default())
            .await
            .expect("a load waits for no finished call's store");
        assert_eq!(runtime.inner.teardown.waiting(), 0);
    }

    async fn served(plugin: &LoadedPlugin) -> String {
        let output = call(plugin, "calls_served", "{}")
            .await
            .expect("calls_served answers");
        text(&output).to_string()
    }

    #[tokio::test]
    async fn warm_instances_are_reused_only_when_allowed_and_only_after_a_clean_call() {
        let path = berth_test_artifacts::wasm("berth-test-hostile");
        let fresh = runtime()
            .load(&path, PluginSettings::default())
            .await
            .expect("hostile loads");
        // The default: a fresh instance per call, whose static starts at zero each time.
        assert_eq!(served(&fresh).await, "1");
        assert_eq!(served(&fresh).await, "1");
        assert_eq!(fresh.warm_idle(), 0);

        let warm = fresh.with_settings(PluginSettings {
            reuse: InstanceReuse::Shared,
            warm_instances: 1,
            ..PluginSettings::default()
        });
        assert_eq!(served(&warm).await, "1");
        assert_eq!(warm.warm_idle(), 1);
        assert_eq!(
            served(&warm).await,
            "2",
            "the second call reuses the instance"
        );
        // The plugin's own error is a clean return: the instance stays warm.
        let missing = call(&warm, "no_such_tool", "{}").await.unwrap_err();
        assert!(matches!(missing, CallError::Guest(_)), "{missing:?}");
        assert_eq!(served(&warm).await, "3");
        // A trap drops the instance: the next call starts over in a new one.
        let trapped = call(&warm, "panic", "{}").await.unwrap_err();
        assert!(matches!(trapped, CallError::Trap { .. }), "{trapped:?}");
        assert_eq!(warm.warm_idle(), 0);
        assert_eq!(served(&warm).await, "1");
        // So does a timeout, which leaves the guest suspended mid-call.
        let hurried = warm.with_settings(PluginSettings {
            reuse: InstanceReuse::Shared,
            warm_instances: 1,
            limits: PluginLimits {
                call_timeout: Duration::from_millis(50),
                ..PluginLimits::default()
            },
            ..PluginSettings::default()
        });
        assert_eq!(
            served(&hurried).await,
            "1",
            "a new handle starts with no warm instance"
        );
        let slow = call(&hurried, "spin", "{}").await.unwrap_err();
        assert!(matches!(slow, CallError::Timeout { .. }), "{slow:?}");
        assert_eq!(served(&hurried).await, "1");
        assert_eq!(served(&hurried).await, "2");

        // Concurrent calls beyond `warm_instances` get their own instances; only as many
        // as the pool keeps stay warm.
        let two = fresh.with_settings(PluginSettings {
            reuse: InstanceReuse::Shared,
            warm_instances: 2,
            ..PluginSettings::default()
        });
        let calls: Vec<_> = (0..4)
            .map(|_| {
                let two = two.clone();
                tokio::spawn(async move { call(&two, "count", r#"{"n":1000000}"#).await })
            })
            .collect();
        for running in calls {
            running.await.expect("joins").expect("count answers");
        }
        assert!(two.warm_idle() <= 2, "{}", two.warm_idle());

        // Writing to stdout opens and drops WASI stream handles; the instance stays warm.
        let printing = echo().await.with_settings(PluginSettings {
            reuse: InstanceReuse::Shared,
            warm_instances: 1,
            ..PluginSettings::default()
        });
        for _ in 0..3 {
            call(&printing, "print_stdout", r#"{"text":"warm"}"#)
                .await
                .expect("print_stdout answers");
            assert_eq!(printing.warm_idle(), 1);
        }
    }

    async fn served_in(plugin: &LoadedPlugin, ctx: &CallContext) -> String {
        let output = plugin
            .call_tool("calls_served", "{}", ctx, &CancellationToken::new())
            .await
            .expect("calls_served answers");
        text(&output).to_string()
    }

    async fn hostile(settings: PluginSettings) -> LoadedPlugin {
        let path = berth_test_artifacts::wasm("berth-test-hostile");
        runtime()
            .load(&path, settings)
            .await
            .expect("hostile loads")
    }

    fn per_session(keep: usize) -> PluginSettings {
        PluginSettings {
            reuse: InstanceReuse::Session,
            warm_instances: keep,
            ..PluginSettings::default()
        }
    }

    async fn load_with(compiler: CompileStrategy, settings: PluginSettings) -> LoadedPlugin {
        let runtime = Runtime::new(RuntimeOptions {
            compiler,
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        let path = berth_test_artifacts::wasm("berth-test-hostile");
        runtime.load(&path, settings).await.expect("hostile loads")
    }

    #[tokio::test]
    async fn a_new_build_serves_on_winch_code_until_cranelifts_is_swapped_in() {
        let plugin = load_with(CompileStrategy::Tiered, per_session(4)).await;
        assert_eq!(plugin.compiler(), Compiler::Winch);
        let (a, _a_scope) = warm::session_context();
        assert_eq!(served_in(&plugin, &a).await, "1");
        assert_eq!(served_in(&plugin, &a).await, "2");
        // A handle made for other settings shares the load's code, and so its swap.
        let other = plugin.with_settings(per_session(4));
        let started = Instant::now();
        while plugin.compiler() == Compiler::Winch {
            assert!(
                started.elapsed() < Duration::from_secs(120),
                "Cranelift's code never replaced Winch's"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(other.compiler(), Compiler::Cranelift);
        // The session's idle instance runs the old code: its next call starts afresh on
        // the new code, which is then kept as before.
        assert_eq!(served_in(&plugin, &a).await, "1");
        assert_eq!(served_in(&plugin, &a).await, "2");
        assert_eq!(plugin.warm_idle(), 1);
    }

    #[tokio::test]
    async fn the_cranelift_strategy_serves_cranelift_code_from_the_start() {
        let plugin = load_with(CompileStrategy::Cranelift, PluginSettings::default()).await;
        assert_eq!(plugin.compiler(), Compiler::Cranelift);
        let counted = call(&plugin, "count", r#"{"n":1000}"#).await.unwrap();
        assert_eq!(text(&counted), "1000");
    }

    /// Winch's code must be as contained as Cranelift's: epochs stop a loop, the memory
    /// cap refuses growth and the stack guard catches runaway recursion.
    #[tokio::test]
    async fn winch_code_is_held_to_every_limit() {
        let plugin = load_with(
            CompileStrategy::Winch,
            PluginSettings {
                limits: PluginLimits {
                    call_timeout: Duration::from_millis(200),
                    max_memory_bytes: 16 << 20,
                    ..PluginLimits::default()
                },
                ..PluginSettings::default()
            },
        )
        .await;
        assert_eq!(plugin.compiler(), Compiler::Winch);
        let spun = call(&plugin, "spin", "{}").await.unwrap_err();
        assert!(matches!(spun, CallError::Timeout { .. }), "{spun:?}");
        let bombed = call(&plugin, "memory_bomb", "{}").await.unwrap_err();
        assert!(
            matches!(
                bombed,
                CallError::LimitExceeded {
                    limit: Limit::Memory { .. },
                    ..
                }
            ),
            "{bombed:?}"
        );
        let recursed = call(&plugin, "recurse", "{}").await.unwrap_err();
        assert!(matches!(recursed, CallError::Trap { .. }), "{recursed:?}");
        // And the instance after each of them is a fresh, working one.
        let counted = call(&plugin, "count", r#"{"n":1000}"#).await.unwrap();
        assert_eq!(text(&counted), "1000");
        assert_eq!(
            plugin.compiler(),
            Compiler::Winch,
            "Winch alone never tiers up"
        );
    }

    #[tokio::test]
    async fn session_instances_serve_only_their_own_session_and_go_when_it_ends() {
        let plugin = hostile(per_session(4)).await;
        let (a, a_scope) = warm::session_context();
        let (b, b_scope) = warm::session_context();
        assert_eq!(served_in(&plugin, &a).await, "1");
        assert_eq!(served_in(&plugin, &a).await, "2", "a reuses its own");
        assert_eq!(served_in(&plugin, &b).await, "1", "b never gets a's");
        assert_eq!(served_in(&plugin, &a).await, "3");
        assert_eq!(plugin.warm_idle(), 2);
        // A call with no scope (a stateless request nobody authenticated) runs fresh
        // and leaves nothing behind.
        let anonymous = CallContext::default();
        assert_eq!(served_in(&plugin, &anonymous).await, "1");
        assert_eq!(served_in(&plugin, &anonymous).await, "1");
        assert_eq!(plugin.warm_idle(), 2);
        // Stateless requests of one identity share; another identity does not.
        // Each request makes its own scope; equal identities are one scope.
        let identity = |method, subject| CallContext {
            reuse: Some(berth_model::reuse::ReuseScope::identity(method, subject)),
            ..CallContext::default()
        };
        assert_eq!(served_in(&plugin, &identity("token", "alice")).await, "1");
        assert_eq!(served_in(&plugin, &identity("token", "alice")).await, "2");
        assert_eq!(served_in(&plugin, &identity("jwt", "alice")).await, "1");
        assert_eq!(plugin.warm_idle(), 4);
        // The session ends (its handler and its last call's context go): its instance
        // goes at once, the others stay.
        drop((a, a_scope));
        assert_eq!(plugin.warm_idle(), 3);
        // A trap drops the session's instance; its next call starts over.
        let trapped = plugin
            .call_tool("panic", "{}", &b, &CancellationToken::new())
            .await
            .unwrap_err();
        assert!(matches!(trapped, CallError::Trap { .. }), "{trapped:?}");
        assert_eq!(plugin.warm_idle(), 2);
        assert_eq!(served_in(&plugin, &b).await, "1");
        drop(b_scope);
        assert_eq!(plugin.warm_idle(), 3, "b's context still holds the scope");
        drop(b);
        assert_eq!(plugin.warm_idle(), 2);
    }

    #[tokio::test]
    async fn past_its_bound_a_plugin_drops_the_least_recently_used_session_instance() {
        let plugin = hostile(per_session(2)).await;
        let sessions: Vec<_> = (0..3).map(|_| warm::session_context()).collect();
        for (ctx, _) in &sessions {
            assert_eq!(served_in(&plugin, ctx).await, "1");
        }
        assert_eq!(plugin.warm_idle(), 2);
        assert_eq!(served_in(&plugin, &sessions[2].0).await, "2");
        assert_eq!(served_in(&plugin, &sessions[1].0).await, "2");
        assert_eq!(
            served_in(&plugin, &sessions[0].0).await,
            "1",
            "the first session's instance was pushed out"
        );
        // Concurrent calls of one session: it keeps one instance, not two.
        let one = warm::session_context();
        let calls: Vec<_> = (0..3)
            .map(|_| {
                let (plugin, ctx) = (plugin.clone(), one.0.clone());
                tokio::spawn(async move {
                    plugin
                        .call_tool("count", r#"{"n":1000000}"#, &ctx, &CancellationToken::new())
                        .await
                })
            })
            .collect();
        for running in calls {
            running.await.expect("joins").expect("count answers");
        }
        assert!(plugin.warm_idle() <= 2, "{}", plugin.warm_idle());
    }

    #[tokio::test]
    async fn the_operators_idle_time_is_the_one_kept_instances_wait() {
        let runtime = Runtime::new(RuntimeOptions {
            compiler: CompileStrategy::Cranelift,
            instance_idle: Duration::from_secs(5),
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        let path = berth_test_artifacts::wasm("berth-test-hostile");
        let plugin = runtime.load(&path, per_session(4)).await.expect("loads");
        let (ctx, _scope) = warm::session_context();
        assert_eq!(served_in(&plugin, &ctx).await, "1");
        tokio::time::pause();
        tokio::time::advance(Duration::from_secs(4)).await;
        assert_eq!(plugin.warm_idle(), 1, "kept for the 5 s configured");
        tokio::time::advance(Duration::from_secs(2)).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(
            plugin.warm_idle(),
            0,
            "dropped after 5 s, not the default 30"
        );
    }

    #[tokio::test]
    async fn idle_session_instances_expire() {
        let plugin = hostile(per_session(4)).await;
        let (ctx, _scope) = warm::session_context();
        assert_eq!(served_in(&plugin, &ctx).await, "1");
        assert_eq!(plugin.warm_idle(), 1);
        tokio::time::pause();
        tokio::time::advance(IDLE_EXPIRY / 2).await;
        assert_eq!(plugin.warm_idle(), 1, "not idle long enough yet");
        tokio::time::advance(IDLE_EXPIRY / 2 + Duration::from_secs(1)).await;
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        assert_eq!(plugin.warm_idle(), 0, "the sweeper dropped it");
        tokio::time::resume();
        assert_eq!(
            served_in(&plugin, &ctx).await,
            "1",
            "the next call runs fresh"
        );
    }

    #[tokio::test]
    async fn a_session_instance_grown_past_half_its_memory_cap_starts_afresh() {
        let plugin = hostile(PluginSettings {
            limits: PluginLimits {
                max_memory_bytes: 24 << 20,
                ..PluginLimits::default()
            },
            ..per_session(1)
        })
        .await;
        let (ctx, _scope) = warm::session_context();
        let hoard = || async {
            let output = plugin
                .call_tool(
                    "hoard",
                    r#"{"megabytes":5}"#,
                    &ctx,
                    &CancellationToken::new(),
                )
                .await
                .expect("hoard answers: a leak must never fail a call it would not fail fresh");
            text(&output).to_string()
        };
        // 5 and 10 MiB held: the instance stays. At 15 MiB (past half the 24 MiB cap)
        // it goes, so the next call holds 5 again instead of failing at 25.
        let mut held = Vec::new();
        for _ in 0..5 {
            held.push(hoard().await);
        }
        assert_eq!(held, ["5", "10", "15", "5", "10"]);
    }

    #[tokio::test]
    async fn a_full_instance_pool_takes_back_idle_session_instances() {
        let runtime = Runtime::new(RuntimeOptions {
            max_instances: Some(2),
            compiler: CompileStrategy::Cranelift,
            ..RuntimeOptions::default()
        })
        .expect("runtime");
        let path = berth_test_artifacts::wasm("berth-test-hostile");
        let plugin = runtime.load(&path, per_session(8)).await.expect("loads");
        let sessions: Vec<_> = (0..3).map(|_| warm::session_context()).collect();
        assert_eq!(served_in(&plugin, &sessions[0].0).await, "1");
        assert_eq!(served_in(&plugin, &sessions[1].0).await, "1");
        assert_eq!(plugin.warm_idle(), 2, "both slots held by idle instances");
        assert_eq!(
            served_in(&plugin, &sessions[2].0).await,
            "1",
            "the third session's call is served, not refused"
        );
        assert!(plugin.warm_idle() <= 2);
    }

    /// A fresh call's store is dropped after the call returns, by a task that runs once
    /// the caller yields, or by the next call before it instantiates.
    #[tokio::test]
    async fn a_finished_calls_store_is_dropped_after_the_answer() {
        let plugin = echo().await;
        let teardown = Arc::clone(&plugin.inner.runtime.teardown);
        call(&plugin, "echo", r#"{"text":"one"}"#).await.unwrap();
        assert_eq!(
            teardown.waiting(),
            1,
            "the store waits until the caller yields"
        );
        call(&plugin, "echo", r#"{"text":"two"}"#).await.unwrap();
        assert_eq!(
            teardown.waiting(),
            1,
            "the next call dropped the first store"
        );
        tokio::task::yield_now().await;
        assert_eq!(teardown.waiting(), 0, "the spawned task dropped the second");
    }

    #[test]
    fn guest_stdout_and_logs_become_tracing_events() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("tokio runtime");
        let plugin = rt.block_on(echo());
        let events = capture_events(|| {
            rt.block_on(async {
                call(&plugin, "print_stdout", r#"{"text":"sneaky-line"}"#)
                    .await
                    .unwrap();
                call(&plugin, "log_fields", r#"{"message":"structured-hello"}"#)
                    .await
                    .unwrap();
            })
        });
        let find = |needle: &str| {
            events
                .iter()
                .find(|e| e.fields.get("message").is_some_and(|m| m.contains(needle)))
                .unwrap_or_else(|| panic!("no event with `{needle}` in {events:?}"))
        };
        let printed = find("sneaky-line");
        assert_eq!(printed.target, PLUGIN_TARGET);
        assert_eq!(printed.fields["plugin"], "echo");
        assert_eq!(printed.fields["stream"], "stdout");
        let logged = find("structured-hello");
        assert_eq!(logged.fields["plugin"], "echo");
        assert!(logged.fields["fields"].contains("a=1"), "{logged:?}");
    }
}
