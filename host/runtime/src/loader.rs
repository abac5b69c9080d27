//! Turning bytes into a [`LoadedPlugin`]: sniff the header → compile on a blocking
//! thread → detect the contract version from the component's exports → pre-instantiate
//! (which type-checks every import) → call `describe` in a fresh store → for a plugin
//! with an event hook, call `interests` in another fresh store.
//!
//! Each step has its own [`LoadError`] so an operator learns what kind of file they
//! dropped in and what to do. This module does not validate the manifest's rules
//! (`Manifest::validate`, called by the registry) and keeps no compile cache.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio_util::sync::CancellationToken;
use wasmtime::component::Component;

use super::bindings::{self, CallFuture, CallablePlugin, Failure, PrepareFn};
use super::capabilities::config::ConfigState;
use super::instance::{self, CallTarget, PerCall, Stopped};
use super::store::StoreState;
use super::tier::{Code, CodeCell, Compiler, TierUp};
use super::warm::WarmPool;
use super::{
    CompileStrategy, LoadError, LoadedPlugin, PluginInner, PluginLimits, PluginSettings,
    RuntimeInner,
};
use berth_model::events::EventKind;
use berth_model::manifest::{MAX_PLUGIN_NAME_LEN, is_valid_name};
use berth_model::policy::Needs;

/// The four bytes every WebAssembly binary starts with.
const WASM_MAGIC: [u8; 4] = *b"\0asm";

/// What kind of WebAssembly binary a header announces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Header {
    /// A core module (layer 0, e.g. version field `01 00 00 00`).
    CoreModule,
    /// A component (layer 1, e.g. version field `0d 00 01 00`).
    Component,
}

/// Reads the 8-byte header: magic, then a 16-bit version and a 16-bit layer (both
/// little-endian). The layer, not the version, tells a component from a core module:
/// component binary versions still change before 1.0, and wasmtime rejects versions it
/// cannot read with a clear error at compile time.
pub(crate) fn sniff(bytes: &[u8]) -> Option<Header> {
    let header = bytes.get(..8)?;
    if header[..4] != WASM_MAGIC {
        return None;
    }
    match u16::from_le_bytes([header[6], header[7]]) {
        0 => Some(Header::CoreModule),
        _ => Some(Header::Component),
    }
}

/// Finds the contract version in a component's export names: the version suffix of
/// `berth:plugin/guest@X.Y.Z`. Returns every export name when there is none, for the
/// "not a plugin" message.
pub(crate) fn find_contract<'a>(
    export_names: impl IntoIterator<Item = &'a str>,
) -> Result<semver::Version, Vec<String>> {
    let mut names = Vec::new();
    for name in export_names {
        let version = name
            .strip_prefix(bindings::GUEST_INTERFACE)
            .and_then(|rest| rest.strip_prefix('@'))
            .and_then(|v| semver::Version::parse(v).ok());
        match version {
            Some(version) => return Ok(version),
            None => names.push(name.to_string()),
        }
    }
    Err(names)
}

/// A component's machine code, as compiled for a load.
struct Built {
    component: Component,
    compiler: Compiler,
    /// The component's bytes while Cranelift has yet to compile them (Winch did).
    pending: Option<Vec<u8>>,
}

/// Compiles the component on a blocking thread (Cranelift saturates a core for 0.1 s or
/// more). Code the compilation cache holds is taken from it; otherwise Winch compiles it
/// unless the strategy is Cranelift alone, and when tiered the bytes are kept for
/// Cranelift (`tier.rs`); a build Winch cannot compile, and every build under the
/// Cranelift strategy, is compiled by Cranelift at once (and stored in the cache when
/// there is one).
async fn compile(runtime: &RuntimeInner, origin: &str, bytes: Vec<u8>) -> Result<Built, LoadError> {
    let engine = runtime.engine.clone();
    let baseline = runtime.baseline.as_ref().map(|b| b.engine.clone());
    let tier_up = runtime.options.compiler == CompileStrategy::Tiered;
    let cache = runtime.cache.clone();
    let name = origin.to_string();
    let compiled = tokio::task::spawn_blocking(move || {
        let cached = cache.as_ref().and_then(|c| c.load(&engine, &name, &bytes));
        if let Some(component) = cached {
            tracing::debug!(plugin = %name, "plugin code from the compilation cache");
            return Ok(Built::optimised(component));
        }
        if let Some(baseline) = baseline {
            match Component::from_binary(&baseline, &bytes) {
                Ok(component) => {
                    return Ok(Built {
                        component,
                        compiler: Compiler::Winch,
                        pending: tier_up.then_some(bytes),
                    });
                }
                // Cranelift compiles what Winch cannot (or reports why the bytes are
                // not a component, in the same words as without tiering).
                Err(error) => tracing::debug!(
                    plugin = %name,
                    error = %format!("{error:#}"),
                    "the baseline compiler cannot compile this plugin; Cranelift compiles it now"
                ),
            }
        }
        super::cache::compile_in(cache.as_ref(), &engine, &name, &bytes)
            .map(|(component, _)| Built::optimised(component))
    })
    .await
    .map_err(|join| LoadError::Compile {
        origin: origin.to_string(),
        reason: format!("the compiler thread failed: {join}"),
    })?;
    compiled.map_err(|e| LoadError::Compile {
        origin: origin.to_string(),
        reason: instance::describe_error(&e, None),
    })
}

impl Built {
    fn optimised(component: Component) -> Self {
        Self {
            component,
            compiler: Compiler::Cranelift,
            pending: None,
        }
    }
}

/// Most time a load's exports (`describe`, `list-prompts`, `icons`, `interests`, `needs`)
/// may take together, whatever the call timeout: each is meant to be cheap and
/// deterministic, and a plugin that spins in them must not hold a load (and so a
/// start-up or a rescan, which wait for every load) for one call timeout per export.
/// The example plugins answer all of them in a few milliseconds, so 2 s is hundreds of
/// times what a well-behaved plugin needs, even on a loaded machine, and the most a
/// hostile one can delay the others.
pub(crate) const LOAD_BUDGET: Duration = Duration::from_secs(2);

/// The one deadline shared by every export a load calls, starting now: the call timeout
/// of `limits`, at most [`LOAD_BUDGET`]. Returns the deadline and the limit it stands for.
fn load_deadline(limits: &PluginLimits) -> (tokio::time::Instant, Duration) {
    let budget = limits.call_timeout.min(LOAD_BUDGET);
    (tokio::time::Instant::now() + budget, budget)
}

/// A component compiled and linked against the host, its contract known, before any of
/// its code has run. Loading is split here because the first half is the host's own
/// work (its length depends on the file's size, not on what the plugin does) and the
/// second runs the plugin's load-time exports: the lifecycle waits for every file's first
/// half before serving, but not for a plugin that is slow in its own code.
pub struct Compiled {
    runtime: Arc<RuntimeInner>,
    origin: String,
    contract: semver::Version,
    code: Arc<Code>,
    /// The bytes Cranelift is still to compile when `code` is Winch's, and how the
    /// result is pre-instantiated.
    pending: Option<(Vec<u8>, PrepareFn)>,
    /// Whether the component imports `wasi:keyvalue`: then it needs a state grant,
    /// whatever its contract lets it declare.
    uses_keyvalue: bool,
    /// SHA-256 of the component's bytes, hex.
    digest: Arc<str>,
    start: Instant,
}

impl std::fmt::Debug for Compiled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Compiled")
            .field("origin", &self.origin)
            .field("contract", &self.contract.to_string())
            .finish_non_exhaustive()
    }
}

impl Compiled {
    /// The file name (or other origin) the component came from.
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Runs the plugin's load-time exports (`describe`, then `list-prompts`, `icons`,
    /// `interests` and `needs` where it has them) under `settings`' limits and one shared
    /// deadline, and returns the plugin ready to serve.
    pub async fn describe(self, settings: PluginSettings) -> Result<LoadedPlugin, LoadError> {
        describe(self, settings).await
    }
}

/// The whole load sequence; see the module docs.
pub(crate) async fn load(
    runtime: Arc<RuntimeInner>,
    origin: &str,
    bytes: Vec<u8>,
    settings: PluginSettings,
) -> Result<LoadedPlugin, LoadError> {
    describe(compile_and_link(runtime, origin, bytes).await?, settings).await
}

/// The host's half of a load: sniff, compile, find the contract, pre-instantiate.
pub(crate) async fn compile_and_link(
    runtime: Arc<RuntimeInner>,
    origin: &str,
    bytes: Vec<u8>,
) -> Result<Compiled, LoadError> {
    let start = Instant::now();
    match sniff(&bytes) {
        None => {
            return Err(LoadError::NotWasm {
                origin: origin.to_string(),
            });
        }
        Some(Header::CoreModule) => {
            return Err(LoadError::CoreModule {
                origin: origin.to_string(),
            });
        }
        Some(Header::Component) => {}
    }
    let digest: Arc<str> = {
        use sha2::Digest as _;
        Arc::from(super::cache::hex(&sha2::Sha256::digest(&bytes)))
    };

    let Built {
        component,
        compiler,
        pending,
    } = compile(&runtime, origin, bytes).await?;
    let (engine, linker) = match (compiler, &runtime.baseline) {
        (Compiler::Winch, Some(baseline)) => (&baseline.engine, &baseline.linker),
        _ => (&runtime.engine, &runtime.linker),
    };
    let component_type = component.component_type();
    let uses_keyvalue = component_type
        .imports(engine)
        .any(|(name, _)| name.starts_with("wasi:keyvalue/"));
    let contract =
        find_contract(component_type.exports(engine).map(|(name, _)| name)).map_err(|exports| {
            LoadError::NotAPlugin {
                origin: origin.to_string(),
                exports,
            }
        })?;
    let Some(bindings) = bindings::contract_for(&contract) else {
        return Err(LoadError::UnsupportedContract {
            origin: origin.to_string(),
            found: contract,
            supported: bindings::supported_display(),
        });
    };
    let callable = (bindings.prepare)(linker, &component).map_err(|e| LoadError::Link {
        origin: origin.to_string(),
        reason: instance::describe_error(&e, None),
    })?;
    let code = Arc::new(Code {
        machine: instance::Machine::new(engine.clone()),
        callable,
        compiler,
    });
    tracing::debug!(
        plugin = origin,
        contract = %contract,
        compiler = compiler.as_str(),
        elapsed_ms = instance::elapsed_ms(start),
        "plugin compiled and linked"
    );
    Ok(Compiled {
        runtime,
        origin: origin.to_string(),
        contract,
        code,
        pending: pending.map(|bytes| (bytes, bindings.prepare)),
        uses_keyvalue,
        digest,
        start,
    })
}

/// The plugin's half of a load: its load-time exports, under `settings`.
async fn describe(compiled: Compiled, settings: PluginSettings) -> Result<LoadedPlugin, LoadError> {
    let Compiled {
        runtime,
        origin,
        contract,
        code,
        pending,
        uses_keyvalue,
        digest,
        start,
    } = compiled;
    let origin = origin.as_str();

    // `describe` runs like any call (fresh store, timeout, captured output) but is
    // attributed to the file, since the plugin's name is what it is about to tell us.
    let config = ConfigState::new(Arc::new(settings.config));
    let grants = settings.grants;
    let limits = settings.limits;
    let (reuse, warm_instances) = (settings.reuse, settings.warm_instances);
    let origin_name: Arc<str> = Arc::from(origin);
    let target = CallTarget {
        log_name: &origin_name,
        config: &config,
        grants: &grants,
        limits: &limits,
    };
    let (deadline, budget) = load_deadline(&limits);
    let described_from = tokio::time::Instant::now();
    let at_load = AtLoad {
        runtime: &runtime,
        target: &target,
        origin,
        code: &code,
        deadline,
        budget,
    };
    let mut manifest = at_load.call("", |c, store| c.describe(store)).await?;
    // Once the plugin has said its name, its own limits (`[plugins.NAME.limits]`) apply
    // to the rest of the load where they are stricter: its memory cap, and its call
    // timeout counted from the start of `describe` (still within the load budget).
    let own_limits = settings
        .load_limits_by_name
        .get(&manifest.name)
        .map(|own| PluginLimits {
            call_timeout: own.call_timeout.min(limits.call_timeout),
            max_memory_bytes: own.max_memory_bytes.min(limits.max_memory_bytes),
            ..limits.clone()
        });
    let own_target;
    let at_load = match &own_limits {
        Some(own) => {
            own_target = CallTarget {
                limits: own,
                ..target
            };
            let own_budget = own.call_timeout.min(LOAD_BUDGET);
            AtLoad {
                target: &own_target,
                deadline: at_load.deadline.min(described_from + own_budget),
                budget: at_load.budget.min(own_budget),
                ..at_load
            }
        }
        None => at_load,
    };
    // Prompts are part of the manifest, read once like it (contract 0.3 lists them in an
    // export of their own so that `describe`'s record stays 0.1's).
    // Each at-load call builds a store, so exports a plugin lacks are not asked.
    let callable = &code.callable;
    if callable.offers_prompts() {
        manifest.prompts = at_load
            .call("its `list-prompts` failed: ", |c, store| {
                c.list_prompts(store)
            })
            .await?;
    }
    if callable.has_icons() {
        manifest.icons = at_load
            .call("its `icons` failed: ", |c, store| c.icons(store))
            .await?;
    }

    // The hook's interests are part of what the plugin says about itself, read once
    // here; a plugin that cannot state them is refused like one that cannot describe
    // itself, rather than served with a hook that would fail on every event.
    let mut interests: Vec<EventKind> = Vec::new();
    if callable.has_event_hook() {
        interests = at_load
            .call("its event hook's `interests` failed: ", |c, store| {
                c.interests(store)
            })
            .await?;
        interests.sort_unstable();
        interests.dedup();
    }

    // Declared needs, read once like the interests; checked against the operator's
    // grants by the caller, who knows the config.
    let mut needs = Needs::default();
    if callable.declares_needs() {
        needs = at_load
            .call("its `needs` declaration failed: ", |c, store| {
                c.needs(store)
            })
            .await?;
    }
    needs.keyvalue = uses_keyvalue;

    // Until the registry validates it, the name is plugin-controlled text: only a
    // well-formed one goes into log fields and error messages.
    let name_ok = is_valid_name(&manifest.name, MAX_PLUGIN_NAME_LEN);
    let log_name: Arc<str> = if name_ok {
        Arc::from(manifest.name.as_str())
    } else {
        origin_name
    };
    let label = if name_ok && manifest.version.len() <= 64 {
        format!("{}@{}", manifest.name, manifest.version)
    } else {
        origin.to_string()
    };
    tracing::debug!(
        plugin = %log_name,
        origin,
        version = %manifest.version,
        contract = %contract,
        tools = manifest.tools.len(),
        prompts = manifest.prompts.len(),
        events = ?interests,
        elapsed_ms = instance::elapsed_ms(start),
        "plugin described"
    );
    let gate = runtime.gate(&log_name);
    let identity = identity(&digest, &config, &grants);
    let warm = WarmPool::new(&runtime, reuse, warm_instances);
    let code = CodeCell::new(code);
    // Only a build that described itself is worth Cranelift's time.
    if let Some((bytes, prepare)) = pending {
        TierUp::queue(&runtime, &code, origin, bytes, prepare);
    }
    Ok(LoadedPlugin {
        inner: Arc::new(PluginInner {
            runtime,
            origin: origin.to_string(),
            manifest,
            contract,
            code,
            interests,
            needs,
            config,
            grants,
            gate,
            limits,
            label,
            log_name,
            identity,
            digest,
            warm,
        }),
    })
}

/// The identity of a plugin handle: the component's digest, its config values and its
/// grants, hashed together (each part length-prefixed so parts cannot run together).
/// Grants are hashed in their `Debug` form, which lists every field in a fixed order.
pub(crate) fn identity(
    digest: &str,
    config: &ConfigState,
    grants: &berth_model::policy::Grants,
) -> Arc<str> {
    use sha2::Digest as _;
    let mut hash = sha2::Sha256::new();
    let mut part = |bytes: &[u8]| {
        hash.update((bytes.len() as u64).to_le_bytes());
        hash.update(bytes);
    };
    part(digest.as_bytes());
    for (key, value) in config.values() {
        part(key.as_bytes());
        part(value.as_bytes());
    }
    part(format!("{grants:?}").as_bytes());
    Arc::from(super::cache::hex(&hash.finalize()))
}

/// What a call made while loading needs: every one runs like a tool call (fresh store,
/// memory cap, captured output) but is attributed to the file, since the plugin's name is
/// what the first of them is about to tell us, and all of them share one deadline.
struct AtLoad<'a> {
    runtime: &'a Arc<RuntimeInner>,
    target: &'a CallTarget<'a>,
    origin: &'a str,
    code: &'a Arc<Code>,
    /// When every export of this load must have answered.
    deadline: tokio::time::Instant,
    /// What the deadline stands for (the call timeout or [`LOAD_BUDGET`]), for reports.
    budget: Duration,
}

impl AtLoad<'_> {
    /// Runs `make` on the plugin in a fresh store; a failure becomes
    /// [`LoadError::Describe`] with its reason after `context`.
    async fn call<T>(
        &self,
        context: &str,
        make: for<'s> fn(
            &'s dyn CallablePlugin,
            &'s mut wasmtime::Store<StoreState>,
        ) -> CallFuture<'s, T>,
    ) -> Result<T, LoadError> {
        let mut call = PerCall::new(self.runtime, &self.code.machine, self.target);
        let running = make(&*self.code.callable, call.store());
        let outcome = instance::race(
            running,
            self.deadline,
            self.budget,
            &CancellationToken::new(),
        )
        .await;
        call.end_turn();
        outcome.map_err(|stopped| LoadError::Describe {
            origin: self.origin.to_string(),
            reason: format!("{context}{}", explain_at_load(&call, &stopped)),
        })
    }
}

/// Why a call made while loading stopped, for [`LoadError::Describe`].
fn explain_at_load(call: &PerCall, stopped: &Stopped) -> String {
    match stopped {
        Stopped::Failed(Failure::Instantiate(_)) => {
            format!("cannot instantiate it: {}", call.explain(stopped))
        }
        Stopped::TimedOut(budget) => format!(
            "its load-time exports did not finish within {budget:?} together (they share one \
             call_timeout_ms: `[runtime]`'s, or the plugin's own once `describe` named it, at \
             most {LOAD_BUDGET:?}); a plugin must describe itself without long work"
        ),
        _ => call.explain(stopped),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_core_modules_components_and_garbage() {
        let core = b"\0asm\x01\x00\x00\x00rest";
        let component = b"\0asm\x0d\x00\x01\x00rest";
        assert_eq!(sniff(core), Some(Header::CoreModule));
        assert_eq!(sniff(component), Some(Header::Component));
        assert_eq!(sniff(b"\0asm\x01\x00\x00\x00"), Some(Header::CoreModule));
        assert_eq!(sniff(b""), None);
        assert_eq!(sniff(b"\0asm"), None);
        assert_eq!(sniff(b"\x7fELF\x02\x01\x01\x00"), None);
        assert_eq!(sniff(b"#!/bin/sh\necho hi\n"), None);
    }

    #[test]
    fn finds_the_contract_version_in_exports() {
        let found = find_contract(["berth:plugin/guest@0.1.2"]).unwrap();
        assert_eq!(found, semver::Version::new(0, 1, 2));
        let found = find_contract(["other:x/y@1.0.0", "berth:plugin/guest@1.0.0"]).unwrap();
        assert_eq!(found, semver::Version::new(1, 0, 0));
    }

    #[test]
    fn lists_exports_when_there_is_no_contract() {
        let names = find_contract(["wasi:cli/run@0.2.6"]).unwrap_err();
        assert_eq!(names, vec!["wasi:cli/run@0.2.6".to_string()]);
        // Unversioned or malformed contract exports are not plugins either.
        let names = find_contract([
            "berth:plugin/guest",
            "berth:plugin/guest@one",
            "berth:plugin/guestx@0.1.0",
        ])
        .unwrap_err();
        assert_eq!(names.len(), 3);
        assert!(find_contract([]).unwrap_err().is_empty());
    }

    // Loads of real components built by `berth-test-artifacts`.

    use crate::{Runtime, RuntimeOptions};

    fn runtime() -> Runtime {
        Runtime::new(RuntimeOptions::default()).expect("runtime")
    }

    async fn load_artifact(package: &str) -> Result<crate::LoadedPlugin, LoadError> {
        let path = berth_test_artifacts::wasm(package);
        runtime().load(&path, PluginSettings::default()).await
    }

    #[tokio::test]
    async fn a_trapping_describe_is_a_describe_error_with_the_trap_message() {
        let err = load_artifact("berth-test-describe-trap").await.unwrap_err();
        let LoadError::Describe { origin, reason } = &err else {
            panic!("expected Describe, got {err:?}");
        };
        assert!(origin.ends_with(".wasm"), "{origin}");
        // A Rust panic aborts the guest: wasmtime reports an `unreachable` trap.
        assert!(reason.contains("unreachable"), "{reason}");
        // The panic message, printed to stderr, is quoted on the first line.
        let first_line = reason.lines().next().unwrap_or_default();
        assert!(
            first_line.contains("traps in describe on purpose"),
            "{reason}"
        );
        assert!(!first_line.contains("RUST_BACKTRACE"), "{reason}");
    }

    #[tokio::test]
    async fn a_trapping_interests_refuses_the_load_like_describe() {
        let err = load_artifact("berth-test-interests-trap")
            .await
            .unwrap_err();
        let LoadError::Describe { reason, .. } = &err else {
            panic!("expected Describe, got {err:?}");
        };
        assert!(reason.contains("`interests` failed"), "{reason}");
        assert!(reason.contains("traps in interests on purpose"), "{reason}");
    }

    #[tokio::test]
    async fn a_future_contract_is_unsupported() {
        let err = load_artifact("berth-test-future-contract")
            .await
            .unwrap_err();
        let LoadError::UnsupportedContract {
            found, supported, ..
        } = &err
        else {
            panic!("expected UnsupportedContract, got {err:?}");
        };
        assert_eq!(*found, semver::Version::new(1, 0, 0));
        assert_eq!(
            supported,
            "berth:plugin@0.1.x, berth:plugin@0.2.x, berth:plugin@0.3.x"
        );
    }

    #[tokio::test]
    async fn a_cli_command_is_not_a_plugin() {
        let err = load_artifact("berth-test-cli-command").await.unwrap_err();
        let LoadError::NotAPlugin { exports, .. } = &err else {
            panic!("expected NotAPlugin, got {err:?}");
        };
        assert!(
            exports.iter().any(|e| e.starts_with("wasi:cli/run@")),
            "{exports:?}"
        );
    }

    #[tokio::test]
    async fn manifest_rules_are_not_checked_at_load() {
        // Its schema is invalid, but judging that is `Manifest::validate`'s job.
        let plugin = load_artifact("berth-test-bad-schema").await.expect("loads");
        assert!(plugin.manifest().validate().is_err());
        assert_eq!(plugin.contract_version().major, 0);
        assert_eq!(plugin.contract_version().minor, 1);
    }

    #[tokio::test]
    async fn headers_are_checked_before_compiling() {
        let rt = runtime();
        let settings = PluginSettings::default;
        let err = rt
            .load_bytes("core.wasm", b"\0asm\x01\x00\x00\x00".to_vec(), settings())
            .await
            .unwrap_err();
        assert!(matches!(err, LoadError::CoreModule { .. }), "{err:?}");
        assert!(err.to_string().contains("--target wasm32-wasip2"), "{err}");
        let err = rt
            .load_bytes("notes.txt", b"hello world".to_vec(), settings())
            .await
            .unwrap_err();
        assert!(matches!(err, LoadError::NotWasm { .. }), "{err:?}");
        let err = rt
            .load_bytes(
                "broken.wasm",
                b"\0asm\x0d\x00\x01\x00garbage".to_vec(),
                settings(),
            )
            .await
            .unwrap_err();
        assert!(matches!(err, LoadError::Compile { .. }), "{err:?}");
        let missing = std::path::Path::new("/nonexistent/berth/plugin.wasm");
        let err = rt.load(missing, settings()).await.unwrap_err();
        assert!(matches!(err, LoadError::Io { .. }), "{err:?}");
    }
}
