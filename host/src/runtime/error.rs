//! The two error types of the runtime layer: [`LoadError`] (a plugin file could not
//! become a callable plugin) and [`CallError`] (one call did not produce a result).
//!
//! Every message names the plugin (file or name) and says what to do about it, because
//! these messages end up in operators' logs and in clients' error replies. No wasmtime
//! type appears here: wasmtime errors are flattened to text at the boundary so the
//! layers above never depend on wasmtime's error type.

use std::path::PathBuf;
use std::time::Duration;

use crate::manifest::GuestError;

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
        /// The versions this host supports, for display (e.g. `berth:plugin@0.1.x, berth:plugin@0.2.x`).
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
        "plugin `{plugin}` did not finish within {limit:?} and was stopped; \
         raise the call timeout in the host config if the tool is legitimately slow"
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
