//! The `log` capability: a plugin's structured log records become `tracing` events and,
//! during a call whose client asked for log messages, go to that client too.
//!
//! Grant needed: none. Every plugin may log; the operator controls what is kept with
//! the ordinary tracing filter on target [`PLUGIN_TARGET`] (e.g.
//! `RUST_LOG=berth::plugin=debug`).
//!
//! Bounds: a plugin's log is untrusted input that the host copies, formats and may queue
//! for a slow client, so each record is cut to [`MAX_MESSAGE_BYTES`] of message and
//! [`MAX_FIELDS`] fields of bounded size, and each call may log at most the plugin's
//! `max_log_output_kb` (the stdout/stderr cap), every record counting
//! [`RECORD_OVERHEAD`] bytes besides its text so a flood of empty records is bounded too.
//! Past the cap, records are dropped (neither logged nor forwarded) and the call ends in
//! the same limit error as a flood of stdout. A call's records queued for its client are
//! therefore bounded in bytes, not only in number.

use std::sync::Arc;

use wasmtime::component::{HasSelf, Linker};

use super::PLUGIN_TARGET;
use crate::wit::v0_1::berth::plugin::{log as log_v0_1, types::Level};
use crate::wit::v0_2::berth::plugin::log as log_v0_2;
use crate::wit::v0_3::berth::plugin::log as log_v0_3;
use berth_model::client::{Notice, NoticeSink};
use berth_model::manifest::{LogLevel, PluginLog};

/// Longest message kept of one record; the rest is cut.
pub(crate) const MAX_MESSAGE_BYTES: usize = 8 * 1024;
/// Most fields kept of one record.
pub(crate) const MAX_FIELDS: usize = 32;
/// Longest field name kept.
const MAX_KEY_BYTES: usize = 64;
/// Longest field value kept.
const MAX_VALUE_BYTES: usize = 1024;
/// What every record counts against the call's log budget besides its text: what the
/// host spends on it (an event, a queued notice) even when it is empty.
pub(crate) const RECORD_OVERHEAD: usize = 64;

/// Per-store state of the `log` capability: whom the records are attributed to, and what
/// the current call has logged.
#[derive(Debug, Clone)]
pub(crate) struct LogState {
    /// The plugin's manifest name once known, its file name while it is being described.
    plugin: Arc<str>,
    /// The calling client's share of the records, if it may want them.
    sink: Option<NoticeSink>,
    /// Bytes the current call may log (its `max_log_output_kb`).
    max_bytes: usize,
    /// Bytes the current call logged, kept records and dropped ones alike.
    written: usize,
    /// Whether a record of the current call was dropped for the budget.
    dropped: bool,
}

impl LogState {
    /// Records will carry `plugin = <plugin>`; each call may log `max_bytes`.
    pub(crate) fn new(plugin: Arc<str>, max_bytes: usize) -> Self {
        Self {
            plugin,
            sink: None,
            max_bytes,
            written: 0,
            dropped: false,
        }
    }

    /// Starts a new call's budget (a warm store serves many calls).
    pub(crate) fn start_call(&mut self) {
        self.written = 0;
        self.dropped = false;
    }

    /// What the call logged, when that was more than its budget: (bytes, budget).
    pub(crate) fn overflow(&self) -> Option<(usize, usize)> {
        self.dropped.then_some((self.written, self.max_bytes))
    }

    /// Counts one record against the call's budget; false when it does not fit, and
    /// then it and every later record of the call are dropped.
    fn admit(&mut self, message: &str, fields: &[(String, String)]) -> bool {
        let size = fields
            .iter()
            .fold(RECORD_OVERHEAD + message.len(), |sum, (key, value)| {
                sum.saturating_add(key.len() + value.len())
            });
        self.written = self.written.saturating_add(size);
        if self.dropped || self.written > self.max_bytes {
            if !self.dropped {
                tracing::warn!(
                    target: PLUGIN_TARGET,
                    plugin = %self.plugin,
                    max_log_output_kb = self.max_bytes >> 10,
                    "the plugin's call logged more than its limit; its further records are dropped"
                );
            }
            self.dropped = true;
            return false;
        }
        true
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

    /// Emits one guest record, cut to size, as a tracing event at the mapped level (and
    /// forwards it), if the call's budget has room for it.
    fn emit(&mut self, level: Level, message: &str, fields: &[(String, String)]) {
        if !self.admit(message, fields) {
            return;
        }
        let message = cut(message, MAX_MESSAGE_BYTES);
        let fields = cut_fields(fields);
        let fields = fields.as_ref();
        self.forward(level, &message, fields);
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

/// `text` cut to at most `max` bytes (at a character boundary), saying how much was cut.
fn cut(text: &str, max: usize) -> std::borrow::Cow<'_, str> {
    if text.len() <= max {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    std::borrow::Cow::Owned(format!(
        "{}… [{} bytes cut]",
        &text[..end],
        text.len() - end
    ))
}

/// The record's fields within bounds: at most [`MAX_FIELDS`] (a last one says how many
/// more there were), names and values cut; borrowed when nothing needed cutting.
fn cut_fields(fields: &[(String, String)]) -> std::borrow::Cow<'_, [(String, String)]> {
    let fits = |(key, value): &(String, String)| {
        key.len() <= MAX_KEY_BYTES && value.len() <= MAX_VALUE_BYTES
    };
    if fields.len() <= MAX_FIELDS && fields.iter().all(fits) {
        return std::borrow::Cow::Borrowed(fields);
    }
    let mut kept: Vec<(String, String)> = fields
        .iter()
        .take(MAX_FIELDS)
        .map(|(key, value)| {
            (
                cut(key, MAX_KEY_BYTES).into_owned(),
                cut(value, MAX_VALUE_BYTES).into_owned(),
            )
        })
        .collect();
    if fields.len() > MAX_FIELDS {
        kept.push((
            "berth.fields_cut".into(),
            (fields.len() - MAX_FIELDS).to_string(),
        ));
    }
    std::borrow::Cow::Owned(kept)
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
    use crate::capabilities::test_support::capture_events;
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
            let mut state = LogState::new("echo".into(), 1 << 20);
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
        let mut state = LogState::new("echo".into(), 1 << 20);
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

    #[test]
    fn records_are_cut_to_size() {
        let (sink, mut records) = tokio::sync::mpsc::channel(4);
        let mut state = LogState::new("echo".into(), 1 << 20);
        state.forward_to(Some(NoticeSink(sink)));
        let fields: Vec<(String, String)> = (0..40)
            .map(|i| (format!("k{i}").repeat(40), "v".repeat(5000)))
            .collect();
        state.log(Level::Info, "m".repeat(100_000), fields);
        let Notice::Log(record) = records.try_recv().unwrap() else {
            panic!("a log notice")
        };
        assert!(
            record.message.len() < MAX_MESSAGE_BYTES + 40,
            "{}",
            record.message.len()
        );
        assert!(
            record
                .message
                .ends_with(&format!("… [{} bytes cut]", 100_000 - MAX_MESSAGE_BYTES))
        );
        assert_eq!(record.fields.len(), MAX_FIELDS + 1);
        assert_eq!(
            record.fields[MAX_FIELDS],
            ("berth.fields_cut".into(), "8".into())
        );
        assert!(record.fields[0].0.len() < MAX_KEY_BYTES + 40);
        assert!(record.fields[0].1.len() < MAX_VALUE_BYTES + 40);
        assert_eq!(state.overflow(), None);
    }

    #[test]
    fn a_call_logs_at_most_its_budget_even_in_empty_records() {
        let (sink, mut records) = tokio::sync::mpsc::channel(1000);
        let mut state = LogState::new("echo".into(), 64 * RECORD_OVERHEAD);
        state.forward_to(Some(NoticeSink(sink)));
        for _ in 0..1000 {
            state.log(Level::Info, String::new(), vec![]);
        }
        let mut forwarded = 0;
        while records.try_recv().is_ok() {
            forwarded += 1;
        }
        assert_eq!(forwarded, 64);
        assert_eq!(
            state.overflow(),
            Some((1000 * RECORD_OVERHEAD, 64 * RECORD_OVERHEAD))
        );
        // A warm store's next call starts with a full budget.
        state.start_call();
        assert_eq!(state.overflow(), None);
        state.log(Level::Info, "again".into(), vec![]);
        assert!(records.try_recv().is_ok());
    }
}
