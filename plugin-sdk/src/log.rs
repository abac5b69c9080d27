//! Structured logging into the host's log (the contract's `log` import).
//!
//! On `wasm32` every call goes to the host, which tags records with the plugin id and drops
//! those below the plugin's configured level. On other targets (native `cargo test`) there
//! is no host, so records are printed to stderr instead: the wasm import does not exist
//! there and would panic.
//!
//! ```
//! use berth_plugin_sdk::log;
//!
//! log::info("starting");
//! log::log(log::Level::Warn, "slow request", &[("elapsed_ms", "1200"), ("tool", "diff")]);
//! ```
//!
//! Note: a plugin's stdout and stderr are captured by the host too, but only as plain text;
//! prefer these functions, which keep the level and the fields.

use std::fmt;

/// Severity of a log record, from most to least verbose.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Level {
    /// Very detailed tracing.
    Trace,
    /// Debugging information.
    Debug,
    /// Normal operation.
    Info,
    /// Something unexpected that the plugin handled.
    Warn,
    /// Something failed.
    Error,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Trace => "TRACE",
            Level::Debug => "DEBUG",
            Level::Info => "INFO",
            Level::Warn => "WARN",
            Level::Error => "ERROR",
        })
    }
}

/// Records `message` with structured `fields` (key, value) at `level`.
pub fn log(level: Level, message: impl AsRef<str>, fields: &[(&str, &str)]) {
    emit(level, message.as_ref(), fields);
}

/// Records `message` at [`Level::Trace`].
pub fn trace(message: impl AsRef<str>) {
    emit(Level::Trace, message.as_ref(), &[]);
}

/// Records `message` at [`Level::Debug`].
pub fn debug(message: impl AsRef<str>) {
    emit(Level::Debug, message.as_ref(), &[]);
}

/// Records `message` at [`Level::Info`].
pub fn info(message: impl AsRef<str>) {
    emit(Level::Info, message.as_ref(), &[]);
}

/// Records `message` at [`Level::Warn`].
pub fn warn(message: impl AsRef<str>) {
    emit(Level::Warn, message.as_ref(), &[]);
}

/// Records `message` at [`Level::Error`].
pub fn error(message: impl AsRef<str>) {
    emit(Level::Error, message.as_ref(), &[]);
}

#[cfg(target_arch = "wasm32")]
fn emit(level: Level, message: &str, fields: &[(&str, &str)]) {
    use crate::__private::bindings::berth::plugin::{log, types};

    let level = match level {
        Level::Trace => types::Level::Trace,
        Level::Debug => types::Level::Debug,
        Level::Info => types::Level::Info,
        Level::Warn => types::Level::Warn,
        Level::Error => types::Level::Error,
    };
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(key, value)| (key.to_string(), value.to_string()))
        .collect();
    log::log(level, message, &fields);
}

#[cfg(not(target_arch = "wasm32"))]
fn emit(level: Level, message: &str, fields: &[(&str, &str)]) {
    let mut line = format!("[{level}] {message}");
    for (key, value) in fields {
        line.push_str(&format!(" {key}={value}"));
    }
    eprintln!("{line}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn native_logging_does_not_need_a_host() {
        trace("t");
        debug("d");
        info(String::from("i"));
        warn("w");
        error("e");
        log(Level::Info, "with fields", &[("a", "1"), ("b", "two")]);
        assert!(Level::Trace < Level::Error);
        assert_eq!(Level::Warn.to_string(), "WARN");
    }
}
