//! How Berth writes its own log to stderr: text lines (the default) or JSON objects, one
//! per event, whose field values can never forge a line.
//!
//! Plugins choose much of what reaches the log: their log records, names and versions in
//! refusals, error messages, output. tracing's default text format writes `%display`
//! values and messages raw, so a newline in one starts what looks like a line of the
//! host's own. [`SafeFields`] formats fields as that default does (message first, then
//! `name=value`, strings debug-quoted) and escapes, on the way out, every character that
//! could change how a line reads: line breaks, other control characters (ESC, NUL, …)
//! and the invisible and bidirectional formatting characters (U+202E and its kin). It is
//! the one place every field passes, so no call site has to remember. The JSON format
//! needs nothing: JSON strings escape control characters, and each line stays one valid
//! JSON object.

use std::fmt::{self, Write as _};

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::Writer;

use crate::cli::LogFormat;

/// Where the modules of the one-crate host went when it was cut into layered crates:
/// an operator's filter that names the old path (`berth::runtime=debug`) still means
/// those modules. Longest prefix first.
const MOVED: &[(&str, &[&str])] = &[
    ("berth::transport::stdio", &["berth_protocol::stdio"]),
    ("berth::transport::http", &["berth_http::server"]),
    ("berth::transport::gate", &["berth_http::gate"]),
    ("berth::transport::sessions", &["berth_http::sessions"]),
    ("berth::transport", &["berth_protocol::stdio", "berth_http"]),
    ("berth::runtime", &["berth_runtime"]),
    ("berth::protocol", &["berth_protocol"]),
    ("berth::auth", &["berth_http::auth"]),
    ("berth::ratelimit", &["berth_http::ratelimit"]),
    ("berth::manifest", &["berth_model::manifest"]),
    ("berth::client", &["berth_model::client"]),
    ("berth::policy", &["berth_model::policy"]),
    ("berth::untrusted", &["berth_model::untrusted"]),
    ("berth::access", &["berth_core::access"]),
    ("berth::bus", &["berth_core::bus"]),
    ("berth::config", &["berth_core::config"]),
    ("berth::hooks", &["berth_core::hooks"]),
    ("berth::lifecycle", &["berth_core::lifecycle"]),
    ("berth::metrics", &["berth_core::metrics"]),
    ("berth::plugins", &["berth_core::lifecycle::plugins"]),
    ("berth::registry", &["berth_core::registry"]),
    ("berth::shutdown", &["berth_core::shutdown"]),
    ("berth::state", &["berth_core::state"]),
    ("berth::watch", &["berth_core::lifecycle::watch"]),
    (
        "berth",
        &[
            "berth_model",
            "berth_runtime",
            "berth_core",
            "berth_protocol",
            "berth_http",
        ],
    ),
];

/// `spec` (tracing's `EnvFilter` syntax) with each directive for a Berth module also
/// written for the crate that module lives in now (see `MOVED`); other directives as
/// they are.
pub fn translate_filter(spec: &str) -> String {
    let mut out: Vec<String> = Vec::new();
    for directive in spec.split(',').map(str::trim).filter(|d| !d.is_empty()) {
        out.push(directive.to_string());
        // The target is what comes before a span filter (`[`) or the level (`=`).
        let end = directive.find(['[', '=']).unwrap_or(directive.len());
        let (target, rest) = directive.split_at(end);
        // A bare level (`debug`) has no target to translate.
        if rest.is_empty() && !target.starts_with("berth") {
            continue;
        }
        let moved = MOVED.iter().find(|(old, _)| {
            target == *old
                || target
                    .strip_prefix(old)
                    .is_some_and(|t| t.starts_with("::"))
        });
        if let Some((old, new)) = moved {
            let below = &target[old.len()..];
            out.extend(
                new.iter()
                    .map(|crate_path| format!("{crate_path}{below}{rest}")),
            );
        }
    }
    out.join(",")
}

/// The filter `spec` asks for, old module paths included ([`translate_filter`]). The
/// spans recorded for traces ([`crate::telemetry::TARGET`]) are never logged, whatever
/// `spec` says: they are for the exporter, and their fields would otherwise prefix every
/// log line written during a call.
pub fn filter(spec: &str) -> tracing_subscriber::EnvFilter {
    let spec = translate_filter(spec);
    let off = format!("{}=off", crate::telemetry::TARGET);
    let spec = match spec.is_empty() {
        true => off,
        false => format!("{spec},{off}"),
    };
    tracing_subscriber::EnvFilter::new(spec)
}

/// Installs the process-wide subscriber: `filter` (tracing's `EnvFilter` syntax) over
/// `format`, written to stderr (stdout may be the MCP channel) without colours, and, with
/// `tracer`, the OpenTelemetry layer that exports the trace spans.
///
/// Each layer has its own filter, so the log's level does not decide which spans are
/// exported and the trace spans stay out of the log. Callsites neither layer wants stay
/// disabled (cranelift's and wasmtime's `trace!`s cost nothing).
pub fn init(
    filter: tracing_subscriber::EnvFilter,
    format: LogFormat,
    tracer: Option<opentelemetry_sdk::trace::SdkTracer>,
) {
    use tracing_subscriber::Layer as _;
    use tracing_subscriber::layer::SubscriberExt as _;
    use tracing_subscriber::util::SubscriberInitExt as _;

    let log = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let log = match format {
        LogFormat::Text => log.fmt_fields(SafeFields).boxed(),
        LogFormat::Json => log.json().boxed(),
    };
    let traces = tracer.map(|tracer| {
        tracing_opentelemetry::layer()
            .with_tracer(tracer)
            // Berth's spans say what they mean in their fields; the code location and
            // thread add nothing for an operator reading a trace.
            .with_location(false)
            .with_threads(false)
            .with_filter(
                tracing_subscriber::filter::Targets::new()
                    .with_target(crate::telemetry::TARGET, tracing::Level::TRACE),
            )
    });
    tracing_subscriber::registry()
        .with(log.with_filter(filter))
        .with(traces)
        .init();
}

/// tracing's default text field format with untrusted characters escaped (see the
/// module docs).
#[derive(Debug, Clone, Copy, Default)]
pub struct SafeFields;

impl<'writer> FormatFields<'writer> for SafeFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'writer>, fields: R) -> fmt::Result {
        let mut visitor = SafeVisitor {
            out: Escaping(writer),
            first: true,
            result: Ok(()),
        };
        fields.record(&mut visitor);
        visitor.result
    }
}

struct SafeVisitor<'writer> {
    out: Escaping<Writer<'writer>>,
    first: bool,
    result: fmt::Result,
}

impl SafeVisitor<'_> {
    fn write(&mut self, field: &Field, value: fmt::Arguments<'_>) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        // Fields that the `log` crate bridge adds describe the callsite, as in the default.
        if name.starts_with("log.") {
            return;
        }
        let separator = if self.first { "" } else { " " };
        self.first = false;
        // Separators and names are the host's own (field names are static), so they go
        // past the escaping; only the value is untrusted.
        self.result = self.out.0.write_str(separator).and_then(|()| {
            if name == "message" {
                self.out.write_fmt(value)
            } else {
                let name = name.strip_prefix("r#").unwrap_or(name);
                write!(self.out.0, "{name}=").and_then(|()| self.out.write_fmt(value))
            }
        });
    }
}

impl Visit for SafeVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.write(field, format_args!("{value}"));
        } else {
            self.write(field, format_args!("{value:?}"));
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.write(field, format_args!("{value:?}"));
    }
}

/// A writer that escapes what could change how a log line reads.
struct Escaping<W>(W);

impl<W: fmt::Write> fmt::Write for Escaping<W> {
    fn write_str(&mut self, text: &str) -> fmt::Result {
        crate::untrusted::write_escaped(&mut self.0, text)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use super::*;

    /// What one event looks like in the text format, without timestamp or level.
    fn line(event: impl FnOnce()) -> String {
        let buffer = Arc::new(Mutex::new(Vec::new()));
        let writer = {
            let buffer = Arc::clone(&buffer);
            move || Capture(Arc::clone(&buffer))
        };
        let subscriber = tracing_subscriber::fmt()
            .with_writer(writer)
            .with_ansi(false)
            .without_time()
            .with_level(false)
            .with_target(false)
            .fmt_fields(SafeFields)
            .finish();
        tracing::subscriber::with_default(subscriber, event);
        String::from_utf8(buffer.lock().unwrap().clone()).unwrap()
    }

    struct Capture(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Capture {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn formats_like_the_default_for_ordinary_fields() {
        let text =
            line(|| tracing::info!(plugin = %"text", count = 3, name = "a b", "plugin loaded"));
        assert_eq!(text, "plugin loaded plugin=text count=3 name=\"a b\"\n");
    }

    #[test]
    fn untrusted_text_cannot_start_a_line_or_hide_characters() {
        let forged = "x\n2026-01-01T00:00:00Z  INFO berth: plugin loaded plugin=text FORGED\r";
        let hidden = "\u{1b}[31mred\u{0}\u{202e}txt.exe\u{2066}";
        let text = line(|| {
            tracing::warn!(plugin = %forged, fields = %hidden, "{forged}");
        });
        assert_eq!(text.matches('\n').count(), 1, "{text:?}");
        assert!(text.ends_with('\n'));
        assert!(
            text.starts_with("x\\n2026-01-01T00:00:00Z  INFO berth: plugin loaded plugin=text FORGED\\r plugin=x\\n2026"),
            "{text:?}"
        );
        assert!(
            text.contains("fields=\\u{1b}[31mred\\u{0}\\u{202e}txt.exe\\u{2066}"),
            "{text:?}"
        );
        assert!(!text.contains(['\u{1b}', '\0', '\u{202e}', '\r']));
    }

    #[test]
    fn old_module_paths_in_filters_reach_the_crates_they_moved_to() {
        assert_eq!(translate_filter("info"), "info");
        assert_eq!(
            translate_filter("warn,berth::runtime=debug"),
            "warn,berth::runtime=debug,berth_runtime=debug"
        );
        assert_eq!(
            translate_filter("berth::runtime::loader=trace"),
            "berth::runtime::loader=trace,berth_runtime::loader=trace"
        );
        assert_eq!(
            translate_filter("berth::transport::stdio=debug"),
            "berth::transport::stdio=debug,berth_protocol::stdio=debug"
        );
        // `berth` alone means every Berth crate; `berth_core` and `berthx` are left alone.
        let all = translate_filter("berth=debug");
        for target in ["berth=", "berth_model=", "berth_runtime=", "berth_http="] {
            assert!(all.contains(target), "{all}");
        }
        assert_eq!(translate_filter("berth_core=info"), "berth_core=info");
        assert_eq!(translate_filter("berthx=info"), "berthx=info");
        assert_eq!(translate_filter("rmcp=warn"), "rmcp=warn");
    }
}
