//! The `log` capability: a plugin's structured log records become `tracing` events and,
//! during a call whose client asked for log messages, go to that client too.
//!
//! Grant needed: none. Every plugin may log; the operator controls what is kept with
//! the ordinary tracing filter on target [`PLUGIN_TARGET`] (e.g.
//! `RUST_LOG=berth::plugin=debug`). This module does not rate-limit or store records.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::PLUGIN_TARGET;
use crate::client::{Notice, NoticeSink};
use crate::manifest::{LogLevel, PluginLog};
use crate::runtime::bindings::v0_1::berth::plugin::{log as log_v0_1, types::Level};
use crate::runtime::bindings::v0_2::berth::plugin::log as log_v0_2;
use crate::runtime::bindings::v0_3::berth::plugin::log as log_v0_3;

/// Per-store state of the `log` capability: whom the records are attributed to.
#[derive(Debug, Clone)]
pub(crate) struct LogState {
    /// The plugin's manifest name once known, its file name while it is being described.
    plugin: Arc<str>,
    /// The calling client's share of the records, if it may want them.
    sink: Option<NoticeSink>,
}

impl LogState {
    /// Records will carry `plugin = <plugin>`.
    pub(crate) fn new(plugin: Arc<str>) -> Self {
        Self { plugin, sink: None }
    }

    /// Also sends this call's records to `sink`.
    pub(crate) fn forward_to(&mut self, sink: Option<NoticeSink>) {
        self.sink = sink;
    }

    /// Hands one record to the client's sink, if any; a full sink drops it rather than
    /// stall the guest.
    fn forward(&self, level: Level, message: &str, fields: &[(String, String)]) {
        if let Some(NoticeSink(sink)) = &self.sink {
            let level = match level {
                Level::Trace => LogLevel::Trace,
                Level::Debug => LogLevel::Debug,
                Level::Info => LogLevel::Info,
                Level::Warn => LogLevel::Warn,
                Level::Error => LogLevel::Error,
            };
            let _ = sink.try_send(Notice::Log(PluginLog {
                level,
                message: message.to_string(),
                fields: fields.to_vec(),
            }));
        }
    }

    /// Emits one guest record as a tracing event at the mapped level (and forwards it).
    fn emit(&self, level: Level, message: &str, fields: &[(String, String)]) {
        self.forward(level, message, fields);
        // `tracing` needs the level at compile time (it is part of the callsite's static
        // metadata), hence one arm per level. Fields are only joined when the event
        // would be kept, so filtered-out records cost a level check.
        macro_rules! emit_at {
            ($level:expr) => {
                if tracing::enabled!(target: PLUGIN_TARGET, $level) {
                    tracing::event!(
                        target: PLUGIN_TARGET,
                        $level,
                        plugin = %self.plugin,
                        fields = %join_fields(fields),
                        "{message}"
                    );
                }
            };
        }
        match level {
            Level::Trace => emit_at!(tracing::Level::TRACE),
            Level::Debug => emit_at!(tracing::Level::DEBUG),
            Level::Info => emit_at!(tracing::Level::INFO),
            Level::Warn => emit_at!(tracing::Level::WARN),
            Level::Error => emit_at!(tracing::Level::ERROR),
        }
    }
}

/// `k1=v1 k2=v2`; the guest's pairs are kept in their order.
fn join_fields(fields: &[(String, String)]) -> String {
    let mut joined = String::new();
    for (key, value) in fields {
        if !joined.is_empty() {
            joined.push(' ');
        }
        joined.push_str(key);
        joined.push('=');
        joined.push_str(value);
    }
    joined
}

impl log_v0_1::Host for LogState {
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        self.emit(level, &message, &fields);
    }
}

// Contracts 0.2 and 0.3 have the same function under other instance names; their
// `level` is 0.1's Rust type (see `bindings/v0_2.rs`), so every impl is one line.
impl log_v0_2::Host for LogState {
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        self.emit(level, &message, &fields);
    }
}

impl log_v0_3::Host for LogState {
    fn log(&mut self, level: Level, message: String, fields: Vec<(String, String)>) {
        self.emit(level, &message, &fields);
    }
}

/// Adds the `log` import of every supported contract to `linker`; `get` finds the
/// state in the store's data.
pub(crate) fn add_to_linker<T: 'static>(
    linker: &mut Linker<T>,
    get: fn(&mut T) -> &mut LogState,
) -> wasmtime::Result<()> {
    log_v0_1::add_to_linker::<T, HasSelf<LogState>>(linker, get)?;
    log_v0_2::add_to_linker::<T, HasSelf<LogState>>(linker, get)?;
    log_v0_3::add_to_linker::<T, HasSelf<LogState>>(linker, get)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::capabilities::test_support::capture_events;
    use log_v0_1::Host as _;

    #[test]
    fn joins_fields_in_order() {
        let fields = vec![("b".to_string(), "2".to_string()), ("a".into(), "1".into())];
        assert_eq!(join_fields(&fields), "b=2 a=1");
        assert_eq!(join_fields(&[]), "");
    }

    #[test]
    fn log_becomes_a_tracing_event_with_plugin_and_fields() {
        let events = capture_events(|| {
            let mut state = LogState::new("echo".into());
            state.log(
                Level::Warn,
                "disk almost full".into(),
                vec![("free".into(), "3%".into())],
            );
            state.log(Level::Trace, "dropped below the filter".into(), vec![]);
        });
        assert_eq!(events.len(), 1, "{events:?}");
        let event = &events[0];
        assert_eq!(event.level, tracing::Level::WARN);
        assert_eq!(event.target, PLUGIN_TARGET);
        assert_eq!(event.fields.get("plugin").map(String::as_str), Some("echo"));
        assert_eq!(
            event.fields.get("fields").map(String::as_str),
            Some("free=3%")
        );
        assert_eq!(
            event.fields.get("message").map(String::as_str),
            Some("disk almost full")
        );
    }

    #[test]
    fn records_go_to_the_calling_clients_sink_too_and_a_full_sink_drops_them() {
        let (sink, mut records) = tokio::sync::mpsc::channel(1);
        let mut state = LogState::new("echo".into());
        state.forward_to(Some(NoticeSink(sink)));
        state.log(Level::Info, "first".into(), vec![("k".into(), "v".into())]);
        state.log(Level::Error, "no room".into(), vec![]);
        assert_eq!(
            records.try_recv().unwrap(),
            Notice::Log(PluginLog {
                level: LogLevel::Info,
                message: "first".into(),
                fields: vec![("k".into(), "v".into())],
            })
        );
        assert!(
            records.try_recv().is_err(),
            "the second record found the sink full"
        );
    }
}
