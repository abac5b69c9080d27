//! The two error types of the runtime layer: [`LoadError`] (a plugin file could not
//! become a callable plugin) and [`CallError`] (one call did not produce a result).
//!
//! Every message names the plugin (file or name) and says what to do about it, because
//! these messages end up in operators' logs and in clients' error replies. No wasmtime
//! type appears here: wasmtime errors are flattened to text at the boundary so the
//! layers above never depend on wasmtime's error type.

use std::path::PathBuf;
use std::time::Duration;

use berth_model::manifest::GuestError;

/// Why a plugin file could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("cannot read plugin file `{}`: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The operating system's complaint.
        #[source]
        source: std::io::Error,
    },
    /// The bytes do not start with the WebAssembly magic `\0asm`.
    #[error(
        "`{origin}` is not a WebAssembly file (it does not start with `\\0asm`); \
         a Berth plugin is a component built with `--target wasm32-wasip2`"
    )]
    NotWasm {
        /// File name the bytes came from.
        origin: String,
    },
    /// The file is a core module rather than a component.
    #[error(
        "`{origin}` is a core WebAssembly module, not a component; build with `--target wasm32-wasip2`"
    )]
    CoreModule {
        /// File name the bytes came from.
        origin: String,
    },
    /// The file is a component of some other world (e.g. a `wasi:cli` command).
    #[error(
        "`{origin}` is a WebAssembly component but not a Berth plugin: it exports {}; \
         a Berth plugin exports `berth:plugin/guest@X.Y.Z` for a supported contract version \
         (build it with the Berth plugin SDK)",
        list_or_nothing(.exports)
    )]
    NotAPlugin {
        /// File name the bytes came from.
        origin: String,
        /// Names of everything the component exports.
        exports: Vec<String>,
    },
    /// The plugin implements a contract version this host cannot call.
    #[error(
        "plugin `{origin}` implements contract berth:plugin@{found}; this host supports {supported}; \
         rebuild the plugin with an SDK for a supported contract, or use a Berth release that supports it"
    )]
    UnsupportedContract {
        /// File name the bytes came from.
        origin: String,
        /// The contract version the component exports.
        found: semver::Version,
        /// The versions this host supports, for display (e.g. `berth:plugin@0.1.x, berth:plugin@0.3.x`).
        supported: String,
    },
    /// wasmtime refused to compile the component.
    #[error("cannot compile `{origin}`: {reason}")]
    Compile {
        /// File name the bytes came from.
        origin: String,
        /// wasmtime's complaint.
        reason: String,
    },
    /// The component imports something the host does not provide.
    #[error(
        "cannot link `{origin}`: {reason}; a Berth plugin may import only WASI 0.2 and the \
         `berth:plugin` interfaces (`log`, `config`) of its contract"
    )]
    Link {
        /// File name the bytes came from.
        origin: String,
        /// What is missing or mismatched, naming the import.
        reason: String,
    },
    /// Calling `describe` failed: the plugin trapped, could not be instantiated, or hung.
    #[error("plugin `{origin}` failed while describing itself: {reason}")]
    Describe {
        /// File name the bytes came from.
        origin: String,
        /// The trap message or other cause.
        reason: String,
    },
    /// The shared engine could not be set up (bad options or an OS refusal).
    #[error("cannot set up the WebAssembly engine: {0}")]
    Engine(String),
}

/// Why a call into a loaded plugin produced no result.
///
/// [`CallError::Guest`] is the plugin's own, typed answer ("no such tool", "bad
/// arguments", "failed: …"): it is data the client should see. Every other variant is a
/// host-side fault or limit: the plugin crashed, ran out of time, or the call was
/// abandoned.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    /// The plugin returned its own error (WIT `call-error` / `read-error`).
    #[error(transparent)]
    Guest(#[from] GuestError),
    /// The plugin trapped (crashed): a panic, an out-of-bounds access, a failed
    /// allocation against the memory cap, or a host function refusing it.
    #[error("plugin `{plugin}` crashed: {reason}")]
    Trap {
        /// The plugin's name and version, e.g. `echo@0.1.0`.
        plugin: String,
        /// The trap message on one line (its wasm backtrace goes to the debug log).
        reason: String,
    },
    /// The call ran longer than the configured limit and was stopped.
    #[error(
        "plugin `{plugin}` did not finish within {limit:?} and was stopped \
         (limit call_timeout_ms = {ms}); if the tool is legitimately slow, {raise}",
        ms = limit.as_millis(),
        raise = raise_hint(plugin, "call_timeout_ms", false)
    )]
    Timeout {
        /// The plugin's name and version, e.g. `echo@0.1.0`.
        plugin: String,
        /// The limit that was exceeded.
        limit: Duration,
    },
    /// The caller cancelled the call (e.g. the client sent `notifications/cancelled`).
    #[error("the call to plugin `{plugin}` was cancelled")]
    Cancelled {
        /// The plugin's name and version, e.g. `echo@0.1.0`.
        plugin: String,
    },
    /// The call hit one of the plugin's limits other than the call timeout: memory,
    /// result size, or concurrency.
    #[error("plugin `{plugin}` {limit}; {raise}", raise = raise_hint(plugin, limit.key(), limit.is_engine_wide()))]
    LimitExceeded {
        /// The plugin's name and version, e.g. `echo@0.1.0`.
        plugin: String,
        /// Which limit, with its value.
        limit: Limit,
    },
    /// A fresh instance could not be created for the call (e.g. its initial memory is
    /// larger than the memory cap, or its start function trapped).
    #[error("cannot start an instance of plugin `{plugin}`: {reason}")]
    Instantiate {
        /// The plugin's name and version, e.g. `echo@0.1.0`.
        plugin: String,
        /// wasmtime's complaint.
        reason: String,
    },
}

/// A limit a call ran into, with the value in force; see `runtime::PluginLimits`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Limit {
    /// The guest tried to grow a linear memory past the cap.
    #[error(
        "ran out of memory: it tried to grow a linear memory to {} (limit max_memory_mb = {})",
        mib(*.requested_bytes),
        .max_bytes >> 20
    )]
    Memory {
        /// The size the guest asked for, in bytes.
        requested_bytes: usize,
        /// The cap, in bytes.
        max_bytes: usize,
    },
    /// The result was larger than the result cap.
    #[error(
        "returned a result of {} (limit max_result_kb = {})",
        mib(*.size_bytes),
        .max_bytes >> 10
    )]
    ResultSize {
        /// The result's size as counted by the cap, in bytes.
        size_bytes: usize,
        /// The cap, in bytes.
        max_bytes: usize,
    },
    /// Every call slot was taken and the queue was full.
    #[error(
        "is busy: {running} calls running and {queued} waiting \
         (limits max_concurrent_calls = {max_concurrent}, max_queued_calls = {max_queued}); \
         try again later"
    )]
    Busy {
        /// Calls running at the time.
        running: usize,
        /// Calls waiting at the time.
        queued: usize,
        /// The concurrency limit.
        max_concurrent: usize,
        /// The queue limit.
        max_queued: usize,
    },
    /// The guest wrote more to stdout or stderr than the capture keeps; the rest was
    /// dropped. The call's answer is withheld too: a plugin flooding its output is
    /// misbehaving, and the operator should hear of it from the client as well as the log.
    #[error(
        "wrote {} to {stream}, more than the host keeps (limit max_log_output_kb = {})",
        mib(*.written_bytes),
        .max_bytes >> 10
    )]
    LogOutput {
        /// `stdout` or `stderr`.
        stream: &'static str,
        /// How much the guest wrote to it.
        written_bytes: usize,
        /// The cap, in bytes.
        max_bytes: usize,
    },
    /// Every slot of the engine's instance pool was taken by running calls (of any
    /// plugin), so no instance could be created for this one.
    #[error(
        "could not start: Berth is running its maximum of {max_instances} plugin instances \
         across all plugins (limit max_instances); try again shortly"
    )]
    Instances {
        /// The pool's size.
        max_instances: u32,
    },
    /// The call waited in the queue for its whole call timeout without getting a slot.
    #[error(
        "is busy: no call slot came free within {waited:?} \
         (limits max_concurrent_calls = {max_concurrent}, call_timeout_ms = {}; \
         time spent queued counts against the call timeout)",
        waited.as_millis()
    )]
    QueueWait {
        /// How long it waited: the call timeout.
        waited: Duration,
        /// The concurrency limit.
        max_concurrent: usize,
    },
}

impl Limit {
    /// The config key of this limit (under `[runtime]` or `[plugins.NAME.limits]`).
    pub fn key(&self) -> &'static str {
        match self {
            Limit::Memory { .. } => "max_memory_mb",
            Limit::ResultSize { .. } => "max_result_kb",
            Limit::Busy { .. } => "max_queued_calls",
            Limit::QueueWait { .. } => "max_concurrent_calls",
            Limit::LogOutput { .. } => "max_log_output_kb",
            Limit::Instances { .. } => "max_instances",
        }
    }

    /// Whether the limit is the engine's, shared by every plugin: set under `[runtime]`
    /// only and applied at start-up, not per plugin and live.
    pub fn is_engine_wide(&self) -> bool {
        matches!(self, Limit::Instances { .. })
    }

    /// The limit's value in its config key's unit, for log fields.
    pub fn value(&self) -> u64 {
        let value = match self {
            Limit::Memory { max_bytes, .. } => max_bytes >> 20,
            Limit::ResultSize { max_bytes, .. } => max_bytes >> 10,
            Limit::Busy { max_queued, .. } => *max_queued,
            Limit::QueueWait { max_concurrent, .. } => *max_concurrent,
            Limit::LogOutput { max_bytes, .. } => max_bytes >> 10,
            Limit::Instances { max_instances } => *max_instances as usize,
        };
        u64::try_from(value).unwrap_or(u64::MAX)
    }
}

impl CallError {
    /// The limit this error reports, as (config key, value in the key's unit); `None`
    /// for errors that are not limits.
    pub fn limit(&self) -> Option<(&'static str, u64)> {
        match self {
            CallError::Timeout { limit, .. } => Some((
                "call_timeout_ms",
                u64::try_from(limit.as_millis()).unwrap_or(u64::MAX),
            )),
            CallError::LimitExceeded { limit, .. } => Some((limit.key(), limit.value())),
            _ => None,
        }
    }
}

/// "raise `KEY` under `[plugins.NAME.limits]` (or `[runtime]` for every plugin)", with
/// the name taken from a `name@version` label; for an engine-wide limit, `[runtime]` and a
/// restart.
fn raise_hint(plugin: &str, key: &str, engine_wide: bool) -> String {
    if engine_wide {
        return format!("raise `{key}` under `[runtime]` in the config and restart Berth");
    }
    let name = plugin.split('@').next().unwrap_or(plugin);
    format!(
        "raise `{key}` under `[plugins.{name}.limits]` in the config (or under `[runtime]` for every plugin)"
    )
}

/// A byte count for people: `512 bytes`, `12.5 KiB`, `33.0 MiB`.
fn mib(bytes: usize) -> String {
    match bytes {
        0..1024 => format!("{bytes} bytes"),
        1024..1_048_576 => format!("{:.1} KiB", bytes as f64 / 1024.0),
        _ => format!("{:.1} MiB", bytes as f64 / 1_048_576.0),
    }
}

/// Renders a list of names as "`a`, `b`" or "nothing".
fn list_or_nothing(names: &[String]) -> String {
    if names.is_empty() {
        return "nothing".to_string();
    }
    names
        .iter()
        .map(|n| format!("`{n}`"))
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn not_a_plugin_lists_exports() {
        let err = LoadError::NotAPlugin {
            origin: "cli.wasm".into(),
            exports: vec!["wasi:cli/run@0.2.0".into()],
        };
        let text = err.to_string();
        assert!(text.contains("`cli.wasm`"), "{text}");
        assert!(text.contains("`wasi:cli/run@0.2.0`"), "{text}");
        assert!(text.contains("berth:plugin/guest@X.Y.Z"), "{text}");
        let none = LoadError::NotAPlugin {
            origin: "x.wasm".into(),
            exports: vec![],
        };
        assert!(none.to_string().contains("exports nothing"));
    }

    #[test]
    fn limit_errors_name_the_plugin_limit_value_and_key() {
        let err = CallError::LimitExceeded {
            plugin: "hostile@0.1.0".into(),
            limit: Limit::Busy {
                running: 8,
                queued: 32,
                max_concurrent: 8,
                max_queued: 32,
            },
        };
        let text = err.to_string();
        assert!(
            text.starts_with("plugin `hostile@0.1.0` is busy: 8 calls running and 32 waiting"),
            "{text}"
        );
        assert!(text.contains("[plugins.hostile.limits]"), "{text}");
        assert_eq!(err.limit(), Some(("max_queued_calls", 32)));
        let err = CallError::LimitExceeded {
            plugin: "hostile@0.1.0".into(),
            limit: Limit::Memory {
                requested_bytes: 17 << 20,
                max_bytes: 16 << 20,
            },
        };
        let text = err.to_string();
        assert!(
            text.contains("17.0 MiB (limit max_memory_mb = 16)"),
            "{text}"
        );
        assert!(text.contains("raise `max_memory_mb`"), "{text}");
        let err = CallError::Timeout {
            plugin: "echo@0.1.0".into(),
            limit: Duration::from_millis(250),
        };
        let text = err.to_string();
        assert!(text.contains("call_timeout_ms = 250"), "{text}");
        assert!(text.contains("[plugins.echo.limits]"), "{text}");
        assert_eq!(err.limit(), Some(("call_timeout_ms", 250)));
    }

    #[test]
    fn unsupported_contract_names_both_versions() {
        let err = LoadError::UnsupportedContract {
            origin: "x.wasm".into(),
            found: semver::Version::new(1, 0, 0),
            supported: "berth:plugin@0.1.x".into(),
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "plugin `x.wasm` implements contract berth:plugin@1.0.0; this host supports berth:plugin@0.1.x"
            ),
            "{text}"
        );
    }
}
