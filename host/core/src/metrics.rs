//! Prometheus metrics: owns the process's one `metrics` recorder, the names, labels,
//! help texts and bucket layouts of every Berth series, the functions the call path and
//! the HTTP layer call to record into them, and the task that turns event-bus facts into
//! plugin, config and registry metrics. It renders the text exposition format itself;
//! serving it on `/metrics` is the HTTP layer's job.
//!
//! Anything recorded before [`Metrics::install`] is dropped by the `metrics` facade's
//! no-op recorder, so install before starting transports. Label values are kept to
//! bounded sets (outcomes, reasons, normalised HTTP methods, served plugin and tool
//! names) because every distinct value is a series that lives for the whole process.

use std::collections::HashMap;
use std::sync::{Arc, OnceLock, RwLock};
use std::time::Duration;

use metrics::{
    Counter, Gauge, Histogram, Unit, counter, describe_counter, describe_gauge, describe_histogram,
    gauge, histogram,
};
use metrics_exporter_prometheus::{
    Matcher, PrometheusBuilder, PrometheusHandle, PrometheusRecorder,
};
use tokio::sync::broadcast::error::RecvError;

use crate::bus::{Bus, CallOutcome, Event};
use crate::registry::Registry;
use crate::shutdown::Shutdown;
use crate::state::Served;

const TOOL_CALLS: &str = "berth_tool_calls_total";
const TOOL_CALL_DURATION: &str = "berth_tool_call_duration_seconds";
const CALLS_IN_FLIGHT: &str = "berth_calls_in_flight";
const HTTP_SESSIONS: &str = "berth_http_sessions";
const HTTP_SESSIONS_OPENED: &str = "berth_http_sessions_opened_total";
const AUTH_FAILURES: &str = "berth_auth_failures_total";
const RATE_LIMITED: &str = "berth_rate_limited_total";
const ACCESS_DENIED: &str = "berth_access_denied_total";
const HTTP_REQUESTS: &str = "berth_http_requests_total";
const HTTP_REQUEST_DURATION: &str = "berth_http_request_duration_seconds";
const HTTP_REFUSED: &str = "berth_http_refused_total";
const PLUGIN_EVENTS: &str = "berth_plugin_events_total";
const CONFIG_EVENTS: &str = "berth_config_events_total";
const PLUGINS_SERVED: &str = "berth_plugins_served";
const WARM_INSTANCES: &str = "berth_warm_instances";
const PLUGIN_COMPILER: &str = "berth_plugin_compiler";
const TOOLS_SERVED: &str = "berth_tools_served";
const RESOURCES_SERVED: &str = "berth_resources_served";
const EVENTS_MISSED: &str = "berth_metrics_events_missed_total";

/// Upper bounds (seconds) of the tool call latency buckets: from a trivial guest call
/// (well under a millisecond) up to the longest call timeouts people configure.
pub const CALL_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// Upper bounds (seconds) of the HTTP time-to-response-head buckets. A JSON-answered
/// `tools/call` only sends its head once the call ends, so these reach as far as the
/// call buckets and one step further for queueing on top.
pub const HTTP_BUCKETS: &[f64] = &[
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
    60.0,
];

/// How often [`Metrics::spawn_upkeep`] drains recorded histogram samples.
pub const UPKEEP_INTERVAL: Duration = Duration::from_secs(5);

/// Why the Prometheus recorder could not be installed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum MetricsError {
    /// Something else in the process installed a global `metrics` recorder first.
    #[error(
        "cannot install the Prometheus recorder: another metrics recorder is already installed"
    )]
    RecorderTaken,
    /// The exporter refused the bucket layout (a bug in this module, not a user error).
    #[error("cannot build the Prometheus recorder: {0}")]
    Build(String),
}

/// The process's Prometheus recorder and the handle that renders it.
#[derive(Clone)]
pub struct Metrics {
    handle: PrometheusHandle,
}

// The outcome is cached, error included: `metrics` accepts one global recorder per
// process, so a failed install would fail the same way on every retry.
static INSTALLED: OnceLock<Result<PrometheusHandle, MetricsError>> = OnceLock::new();

impl Metrics {
    /// Installs the global recorder once per process (later calls return the same
    /// handle, or the same error), with histogram buckets for call and HTTP latencies and
    /// a description for every series so `/metrics` shows HELP lines.
    pub fn install() -> Result<Self, MetricsError> {
        INSTALLED
            .get_or_init(install_recorder)
            .clone()
            .map(|handle| Self { handle })
    }

    /// The current metrics in Prometheus text exposition format.
    pub fn render(&self) -> String {
        self.handle.render()
    }

    /// [`Metrics::render`], plus `berth_warm_instances` (each plugin of `registry`'s idle
    /// instances kept for later calls) and `berth_plugin_compiler` (which compiler made the
    /// code each plugin runs: `winch` until tiering swaps Cranelift's in), read at the
    /// scrape. Written here rather than recorded because they are properties of the plugins
    /// that exist at the scrape (an unloaded plugin's simply stop being listed), which the
    /// recorder cannot forget.
    pub fn render_with(&self, registry: &Registry) -> String {
        use std::fmt::Write as _;
        let mut text = self.render();
        let _ = writeln!(
            text,
            "# HELP {WARM_INSTANCES} Idle plugin instances kept for later calls of their session (or, shared, of anyone).\n# TYPE {WARM_INSTANCES} gauge"
        );
        for entry in registry.plugins() {
            // Plugin names are [a-zA-Z0-9_-]: nothing to escape in the label.
            let (plugin, idle) = (entry.name(), entry.plugin.warm_idle());
            let _ = writeln!(text, "{WARM_INSTANCES}{{plugin=\"{plugin}\"}} {idle}");
        }
        let _ = writeln!(
            text,
            "# HELP {PLUGIN_COMPILER} The compiler of the code each plugin runs (winch until Cranelift's optimised code is swapped in); always 1.\n# TYPE {PLUGIN_COMPILER} gauge"
        );
        for entry in registry.plugins() {
            let (plugin, compiler) = (entry.name(), entry.plugin.compiler().as_str());
            let _ = writeln!(
                text,
                "{PLUGIN_COMPILER}{{plugin=\"{plugin}\",compiler=\"{compiler}\"}} 1"
            );
        }
        text
    }

    /// Drains recorded histogram samples every [`UPKEEP_INTERVAL`] until `shutdown`.
    ///
    /// Rendering drains them too, but without a scraper they would pile up in memory;
    /// the exporter only runs this upkeep itself when it owns an HTTP listener, which
    /// Berth does not use.
    pub fn spawn_upkeep(&self, shutdown: &Shutdown) {
        let handle = self.handle.clone();
        let stop = shutdown.child_token();
        shutdown.spawn(async move {
            let mut ticks = tokio::time::interval(UPKEEP_INTERVAL);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tokio::select! {
                    biased;
                    () = stop.cancelled() => return,
                    _ = ticks.tick() => handle.run_upkeep(),
                }
            }
        });
    }
}

/// A recorder with Berth's bucket layouts, not yet installed anywhere.
fn build_recorder() -> Result<PrometheusRecorder, MetricsError> {
    let build = |e: metrics_exporter_prometheus::BuildError| MetricsError::Build(e.to_string());
    Ok(PrometheusBuilder::new()
        .set_buckets_for_metric(Matcher::Full(TOOL_CALL_DURATION.into()), CALL_BUCKETS)
        .map_err(build)?
        .set_buckets_for_metric(Matcher::Full(HTTP_REQUEST_DURATION.into()), HTTP_BUCKETS)
        .map_err(build)?
        .build_recorder())
}

/// Builds the recorder, makes it the global one and describes every series.
fn install_recorder() -> Result<PrometheusHandle, MetricsError> {
    let recorder = build_recorder()?;
    let handle = recorder.handle();
    metrics::set_global_recorder(recorder).map_err(|_| MetricsError::RecorderTaken)?;
    // Descriptions go to the global recorder, so they can only be registered now.
    describe();
    // Unlabelled series start at zero so a scrape shows "none yet" rather than nothing;
    // labelled ones appear with their first value, since their label sets are open.
    gauge!(CALLS_IN_FLIGHT).set(0.0);
    gauge!(HTTP_SESSIONS).set(0.0);
    counter!(HTTP_SESSIONS_OPENED).increment(0);
    counter!(RATE_LIMITED).increment(0);
    counter!(EVENTS_MISSED).increment(0);
    counter!(berth_state::cache::CACHE_MISSES).increment(0);
    counter!(berth_state::cache::CACHE_EVICTIONS).increment(0);
    gauge!(berth_state::cache::CACHE_MEMORY_BYTES).set(0.0);
    tracing::debug!("prometheus metrics recorder installed");
    Ok(handle)
}

/// Registers the HELP text (and unit) of every series.
fn describe() {
    describe_counter!(
        TOOL_CALLS,
        "Tool calls finished, by plugin, tool and outcome."
    );
    describe_histogram!(
        TOOL_CALL_DURATION,
        Unit::Seconds,
        "Wall time of tool calls that ran a guest, by plugin and tool."
    );
    describe_gauge!(
        CALLS_IN_FLIGHT,
        "Tool calls and resource reads running right now."
    );
    describe_gauge!(HTTP_SESSIONS, "Open Streamable HTTP sessions.");
    describe_counter!(
        berth_state::cache::CACHE_HITS,
        "Tool calls and resource reads answered from the result cache, by tier (memory, redis)."
    );
    describe_counter!(
        berth_state::cache::CACHE_MISSES,
        "Cacheable tool calls and resource reads no cache tier could answer."
    );
    describe_counter!(
        berth_state::cache::CACHE_EVICTIONS,
        "Answers the memory tier dropped to stay within a plugin's cache max_mb."
    );
    describe_gauge!(
        berth_state::cache::CACHE_MEMORY_BYTES,
        Unit::Bytes,
        "Bytes of answers held in the result cache's memory tier."
    );
    describe_counter!(
        berth_state::cache::CACHE_REDIS_BYTES_WRITTEN,
        Unit::Bytes,
        "Bytes of answers written to the result cache's Redis tier."
    );
    describe_counter!(HTTP_SESSIONS_OPENED, "Streamable HTTP sessions opened.");
    describe_counter!(
        AUTH_FAILURES,
        "HTTP requests refused because the caller could not be authenticated, by reason."
    );
    describe_counter!(
        RATE_LIMITED,
        "HTTP requests refused by the per-identity rate limit."
    );
    describe_counter!(
        ACCESS_DENIED,
        "MCP requests refused by access rules, by kind (tool, resource, prompt)."
    );
    describe_counter!(
        HTTP_REQUESTS,
        "HTTP requests answered, by method and status."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION,
        Unit::Seconds,
        "Time from an HTTP request's arrival to its response head."
    );
    describe_counter!(
        HTTP_REFUSED,
        "HTTP requests refused before reaching MCP, by reason."
    );
    describe_counter!(
        PLUGIN_EVENTS,
        "Plugin lifecycle events (loaded, reloaded, unloaded, load_failed)."
    );
    describe_counter!(CONFIG_EVENTS, "Configuration changes applied or rejected.");
    describe_gauge!(PLUGINS_SERVED, "Plugins served right now.");
    describe_gauge!(TOOLS_SERVED, "Tools served right now.");
    describe_gauge!(
        RESOURCES_SERVED,
        "Static resources served right now (templates not included)."
    );
    describe_counter!(
        EVENTS_MISSED,
        "Event-bus events the metrics recorder fell too far behind to see; plugin and config event counts undercount by this much."
    );
}

/// One tool's call series: the outcome counters and the latency histogram of one
/// plugin's tool, each registered on first use and kept, so recording a call costs no
/// label allocation and no lookup in the recorder's registry (which was about 2 %
/// of a warm call over HTTP, BENCHMARKS.md, issue 7). Handles are bound to the recorder
/// in force when they are registered: in `berth serve`, the one [`Metrics::install`]
/// put in place before anything is loaded.
pub struct ToolSeries {
    plugin: String,
    tool: String,
    /// Indexed by `CallOutcome as usize`; registered lazily so that only outcomes that
    /// happened appear in the exposition, as before the handles were kept.
    calls: [OnceLock<Counter>; CallOutcome::ALL.len()],
    duration: OnceLock<Histogram>,
    /// The last minutes of the same calls, for the console.
    window: std::sync::Arc<crate::window::Window>,
}

impl ToolSeries {
    /// The series of `plugin`'s tool `tool` (nothing is registered yet).
    pub fn new(plugin: &str, tool: &str) -> Self {
        Self {
            plugin: plugin.to_owned(),
            tool: tool.to_owned(),
            calls: Default::default(),
            duration: OnceLock::new(),
            window: crate::window::window(plugin, tool),
        }
    }

    /// Records one finished call: its outcome count and, when a guest ran, its latency.
    pub fn record(&self, outcome: CallOutcome, duration: Duration) {
        self.window
            .record(outcome, duration, std::time::Instant::now());
        self.calls[outcome as usize]
            .get_or_init(|| {
                counter!(
                    TOOL_CALLS,
                    "plugin" => self.plugin.clone(),
                    "tool" => self.tool.clone(),
                    "outcome" => outcome.as_str(),
                )
            })
            .increment(1);
        // Refused arguments never reach a guest; their zero duration would drag the
        // latency distribution down.
        if outcome != CallOutcome::InvalidArguments {
            self.duration
                .get_or_init(|| {
                    histogram!(
                        TOOL_CALL_DURATION,
                        "plugin" => self.plugin.clone(),
                        "tool" => self.tool.clone(),
                    )
                })
                .record(duration.as_secs_f64());
        }
    }
}

/// The `berth_calls_in_flight` gauge, its handle kept (see [`ToolSeries`] for why, and
/// which recorder it belongs to).
pub struct CallsInFlight(Gauge);

impl Default for CallsInFlight {
    fn default() -> Self {
        Self(gauge!(CALLS_IN_FLIGHT))
    }
}

impl CallsInFlight {
    /// Marks a tool call or resource read as running until the returned guard drops.
    pub fn start(&self) -> InFlight {
        self.0.increment(1.0);
        InFlight(self.0.clone())
    }
}

/// A running tool call or resource read, counted in `berth_calls_in_flight` until dropped.
#[must_use = "the call counts as running only while the guard is alive"]
pub struct InFlight(Gauge);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.decrement(1.0);
    }
}

/// Counts a Streamable HTTP session as opened and open.
pub fn session_opened() {
    gauge!(HTTP_SESSIONS).increment(1.0);
    counter!(HTTP_SESSIONS_OPENED).increment(1);
}

/// Counts a Streamable HTTP session as no longer open.
pub fn session_closed() {
    gauge!(HTTP_SESSIONS).decrement(1.0);
}

/// Counts a request refused because its caller could not be authenticated.
pub fn auth_failed(reason: &'static str) {
    counter!(AUTH_FAILURES, "reason" => reason).increment(1);
}

/// Counts a request refused by the per-identity rate limit.
pub fn rate_limited() {
    counter!(RATE_LIMITED).increment(1);
}

/// Counts a request refused by access rules; `kind` is `tool`, `resource` or `prompt`.
pub fn access_denied(kind: &'static str) {
    counter!(ACCESS_DENIED, "kind" => kind).increment(1);
}

/// The HTTP request series of one server: the duration histogram and one counter per
/// method and status seen, kept so that recording a request allocates no label and
/// looks nothing up in the recorder's registry (see [`ToolSeries`] for why, and which
/// recorder the handles belong to).
pub struct HttpSeries {
    duration: Histogram,
    requests: RwLock<HashMap<(&'static str, u16), Counter>>,
}

impl Default for HttpSeries {
    fn default() -> Self {
        Self {
            duration: histogram!(HTTP_REQUEST_DURATION),
            requests: RwLock::default(),
        }
    }
}

impl HttpSeries {
    /// Records one answered HTTP request and its time to response head.
    pub fn record(&self, method: &str, status: u16, duration: Duration) {
        let key = (method_label(method), status);
        let known = self
            .requests
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        match known.get(&key) {
            Some(counter) => counter.increment(1),
            None => {
                drop(known);
                self.requests
                    .write()
                    .unwrap_or_else(|poisoned| poisoned.into_inner())
                    .entry(key)
                    // Both labels come from bounded sets: folded methods and status codes.
                    .or_insert_with(|| {
                        counter!(
                            HTTP_REQUESTS,
                            "method" => key.0,
                            "status" => status.to_string(),
                        )
                    })
                    .increment(1);
            }
        }
        self.duration.record(duration.as_secs_f64());
    }
}

/// The method as a label: clients choose the method, so anything unusual is folded
/// into "other" rather than letting them mint series.
fn method_label(method: &str) -> &'static str {
    const KNOWN: [&str; 7] = ["GET", "POST", "DELETE", "OPTIONS", "HEAD", "PUT", "PATCH"];
    KNOWN
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(method))
        .unwrap_or("other")
}

/// Counts a request refused before MCP (`busy`, `body_too_large`, `origin`,
/// `sessions_full`, `shutting_down`, `timeout`).
pub fn http_refused(reason: &'static str) {
    counter!(HTTP_REFUSED, "reason" => reason).increment(1);
}

/// Spawns a task that turns bus events into plugin, config and registry metrics until
/// `shutdown`. Subscribes before returning, so no event published after this call is
/// missed. Tool calls and access refusals are not taken from the bus: the call path
/// records them with [`record_call`] and [`access_denied`], which cannot lose any.
pub fn spawn_bus_recorder(bus: &Bus, served: Arc<Served>, shutdown: &Shutdown) {
    let mut events = bus.subscribe_facts();
    let stop = shutdown.child_token();
    set_served(&served.registry());
    shutdown.spawn(async move {
        loop {
            let received = tokio::select! {
                biased;
                () = stop.cancelled() => break,
                received = events.recv() => received,
            };
            match received {
                Ok(event) => record_event(&event, &served),
                Err(RecvError::Lagged(missed)) => {
                    counter!(EVENTS_MISSED).increment(missed);
                    tracing::warn!(
                        missed,
                        "metrics fell behind the event bus; plugin and config event counts undercount, served gauges resynchronised"
                    );
                    // The snapshot is the source of truth; any RegistryChanged we missed
                    // is covered by reading it now.
                    set_served(&served.registry());
                }
                Err(RecvError::Closed) => break,
            }
        }
        tracing::debug!("bus metrics recorder stopped");
    });
}

/// Records one bus event.
fn record_event(event: &Event, served: &Served) {
    let plugin_event = |event: &'static str| counter!(PLUGIN_EVENTS, "event" => event).increment(1);
    let config_event = |event: &'static str| counter!(CONFIG_EVENTS, "event" => event).increment(1);
    match event {
        Event::PluginLoaded { .. } => plugin_event("loaded"),
        Event::PluginReloaded { .. } => plugin_event("reloaded"),
        Event::PluginUnloaded { .. } => plugin_event("unloaded"),
        Event::PluginLoadFailed { .. } => plugin_event("load_failed"),
        Event::ConfigApplied => config_event("applied"),
        Event::ConfigRejected { .. } => config_event("rejected"),
        // The lifecycle swaps the snapshot before announcing it, so this reads the new one
        // (or a newer one, which is just as right for a gauge).
        Event::RegistryChanged { .. } => set_served(&served.registry()),
        // The call path records both directly (record_call, access_denied), losslessly.
        Event::ToolCalled { .. }
        | Event::AccessDenied { .. }
        | Event::RateLimited { .. }
        | Event::ResourceChanged { .. } => {}
    }
}

/// Sets the served gauges from `registry`.
fn set_served(registry: &Registry) {
    gauge!(PLUGINS_SERVED).set(registry.plugins().len() as f64);
    gauge!(TOOLS_SERVED).set(registry.tools().len() as f64);
    gauge!(RESOURCES_SERVED).set(registry.resources().len() as f64);
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;
    use std::time::Instant;

    use super::*;

    fn metrics() -> Metrics {
        Metrics::install().expect("no other recorder in the test process")
    }

    /// Runs `f` with a fresh recorder of its own on this thread and returns what it
    /// rendered. For unlabelled series: other tests in this process run real calls,
    /// sessions and refusals, which the global recorder counts too.
    fn isolated(f: impl FnOnce(&dyn Fn() -> String)) {
        let recorder = build_recorder().unwrap();
        let handle = recorder.handle();
        metrics::with_local_recorder(&recorder, || {
            describe();
            f(&|| handle.render());
        });
    }

    /// The value of the sample line for `series` (name plus labels, exactly as rendered).
    fn value(text: &str, series: &str) -> Option<f64> {
        text.lines()
            .find_map(|line| line.strip_prefix(series)?.strip_prefix(' '))
            .map(|v| v.parse().expect("a number"))
    }

    /// Polls `render()` until `done` holds, failing after a few seconds.
    async fn eventually(metrics: &Metrics, what: &str, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(5);
        loop {
            let text = metrics.render();
            if done(&text) {
                return text;
            }
            assert!(Instant::now() < deadline, "never saw {what} in:\n{text}");
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }

    #[test]
    fn install_is_idempotent() {
        let first = metrics();
        let second = metrics();
        ToolSeries::new("idem", "x").record(CallOutcome::Success, Duration::from_millis(1));
        let line = "berth_tool_calls_total{plugin=\"idem\",tool=\"x\",outcome=\"success\"} 1";
        // Both handles render the one global recorder.
        assert!(first.render().contains(line));
        assert!(second.render().contains(line));
    }

    #[test]
    fn a_call_counts_its_outcome_and_its_latency() {
        let m = metrics();
        let series = ToolSeries::new("t1", "x");
        series.record(CallOutcome::Success, Duration::from_millis(3));
        series.record(CallOutcome::Success, Duration::from_millis(40));
        series.record(CallOutcome::TimedOut, Duration::from_secs(12));
        let text = m.render();
        for line in [
            "berth_tool_calls_total{plugin=\"t1\",tool=\"x\",outcome=\"success\"} 2",
            "berth_tool_calls_total{plugin=\"t1\",tool=\"x\",outcome=\"timed_out\"} 1",
            "berth_tool_call_duration_seconds_bucket{plugin=\"t1\",tool=\"x\",le=\"0.0025\"} 0",
            "berth_tool_call_duration_seconds_bucket{plugin=\"t1\",tool=\"x\",le=\"0.005\"} 1",
            "berth_tool_call_duration_seconds_bucket{plugin=\"t1\",tool=\"x\",le=\"0.05\"} 2",
            "berth_tool_call_duration_seconds_bucket{plugin=\"t1\",tool=\"x\",le=\"10\"} 2",
            "berth_tool_call_duration_seconds_bucket{plugin=\"t1\",tool=\"x\",le=\"30\"} 3",
            "berth_tool_call_duration_seconds_bucket{plugin=\"t1\",tool=\"x\",le=\"+Inf\"} 3",
            "berth_tool_call_duration_seconds_count{plugin=\"t1\",tool=\"x\"} 3",
            "# TYPE berth_tool_call_duration_seconds histogram",
            "# HELP berth_tool_calls_total Tool calls finished",
        ] {
            assert!(text.contains(line), "missing {line:?} in:\n{text}");
        }
    }

    #[test]
    fn refused_arguments_are_counted_but_not_timed() {
        let m = metrics();
        ToolSeries::new("t2", "y").record(CallOutcome::InvalidArguments, Duration::ZERO);
        let text = m.render();
        assert!(text.contains(
            "berth_tool_calls_total{plugin=\"t2\",tool=\"y\",outcome=\"invalid_arguments\"} 1"
        ));
        assert!(!text.contains("berth_tool_call_duration_seconds_count{plugin=\"t2\""));
    }

    #[test]
    fn install_starts_unlabelled_series_at_zero() {
        let text = metrics().render();
        for series in [
            CALLS_IN_FLIGHT,
            HTTP_SESSIONS,
            HTTP_SESSIONS_OPENED,
            RATE_LIMITED,
            EVENTS_MISSED,
        ] {
            assert!(
                value(&text, series).is_some(),
                "{series} missing in:\n{text}"
            );
        }
    }

    #[test]
    fn in_flight_goes_up_while_a_guard_lives_and_back_down() {
        isolated(|render| {
            let calls = CallsInFlight::default();
            let first = calls.start();
            let second = calls.start();
            assert_eq!(value(&render(), CALLS_IN_FLIGHT), Some(2.0));
            drop(first);
            assert_eq!(value(&render(), CALLS_IN_FLIGHT), Some(1.0));
            drop(second);
            assert_eq!(value(&render(), CALLS_IN_FLIGHT), Some(0.0));
        });
    }

    #[test]
    fn sessions_open_and_close() {
        isolated(|render| {
            session_opened();
            session_opened();
            session_closed();
            let text = render();
            assert_eq!(value(&text, HTTP_SESSIONS), Some(1.0));
            assert_eq!(value(&text, HTTP_SESSIONS_OPENED), Some(2.0));
            session_closed();
            assert_eq!(value(&render(), HTTP_SESSIONS), Some(0.0));
        });
    }

    #[test]
    fn refusals_are_counted_by_reason() {
        isolated(|render| {
            auth_failed("bad_token");
            auth_failed("bad_token");
            auth_failed("expired");
            access_denied("prompt");
            http_refused("body_too_large");
            rate_limited();
            let text = render();
            for line in [
                "berth_auth_failures_total{reason=\"bad_token\"} 2",
                "berth_auth_failures_total{reason=\"expired\"} 1",
                "berth_access_denied_total{kind=\"prompt\"} 1",
                "berth_http_refused_total{reason=\"body_too_large\"} 1",
                "berth_rate_limited_total 1",
                "# HELP berth_rate_limited_total HTTP requests refused",
            ] {
                assert!(text.contains(line), "missing {line:?} in:\n{text}");
            }
        });
    }

    #[test]
    fn http_requests_count_by_status_and_fold_odd_methods() {
        isolated(|render| {
            let series = HttpSeries::default();
            series.record("post", 200, Duration::from_millis(2));
            series.record("POST", 200, Duration::from_millis(2));
            series.record("BREW", 418, Duration::from_secs(45));
            let text = render();
            for line in [
                "berth_http_requests_total{method=\"POST\",status=\"200\"} 2",
                "berth_http_requests_total{method=\"other\",status=\"418\"} 1",
                "# TYPE berth_http_request_duration_seconds histogram",
                "berth_http_request_duration_seconds_bucket{le=\"0.0025\"} 2",
                "berth_http_request_duration_seconds_bucket{le=\"30\"} 2",
                "berth_http_request_duration_seconds_bucket{le=\"60\"} 3",
                "berth_http_request_duration_seconds_count 3",
            ] {
                assert!(text.contains(line), "missing {line:?} in:\n{text}");
            }
        });
    }

    #[test]
    fn served_gauges_follow_the_snapshot() {
        isolated(|render| {
            set_served(&Registry::default());
            let text = render();
            for series in [PLUGINS_SERVED, TOOLS_SERVED, RESOURCES_SERVED] {
                assert_eq!(value(&text, series), Some(0.0), "{series}");
            }
        });
    }

    #[tokio::test]
    async fn the_bus_recorder_counts_lifecycle_events_and_sets_served_gauges() {
        let m = metrics();
        let bus = Bus::new();
        let served = Arc::new(Served::new(Registry::default(), 50));
        let shutdown = Shutdown::new();
        let loaded = "berth_plugin_events_total{event=\"loaded\"}";
        let failed = "berth_plugin_events_total{event=\"load_failed\"}";
        let rejected = "berth_config_events_total{event=\"rejected\"}";
        let before = m.render();
        let count = |text: &str, series| value(text, series).unwrap_or(0.0);
        spawn_bus_recorder(&bus, served, &shutdown);
        // Set at spawn from the snapshot (values are checked in isolation above: other
        // tests may run a server of their own in this process).
        let text = m.render();
        for series in [PLUGINS_SERVED, TOOLS_SERVED, RESOURCES_SERVED] {
            assert!(value(&text, series).is_some(), "{series} missing");
        }

        let path = PathBuf::from("/plugins/a.wasm");
        bus.publish(Event::PluginLoaded {
            plugin: "a".into(),
            version: "1.0.0".into(),
            path: path.clone(),
        });
        bus.publish(Event::PluginLoaded {
            plugin: "b".into(),
            version: "1.0.0".into(),
            path: path.clone(),
        });
        bus.publish(Event::PluginLoadFailed {
            path,
            error: "bad".into(),
        });
        bus.publish(Event::ConfigRejected {
            error: "bad".into(),
        });
        bus.publish(Event::RegistryChanged {
            generation: 1,
            tools_changed: false,
            resources_changed: false,
            prompts_changed: false,
        });
        // Counters only grow, so "at least this many more" holds whatever else runs.
        eventually(&m, "the published events", |text| {
            count(text, loaded) >= count(&before, loaded) + 2.0
                && count(text, failed) >= count(&before, failed) + 1.0
                && count(text, rejected) >= count(&before, rejected) + 1.0
        })
        .await;
        tokio::time::timeout(Duration::from_secs(5), shutdown.complete())
            .await
            .expect("the recorder stops at shutdown");
    }

    #[tokio::test]
    async fn the_bus_recorder_survives_lagging_and_counts_what_it_missed() {
        let m = metrics();
        let bus = Bus::new();
        let served = Arc::new(Served::new(Registry::default(), 50));
        let shutdown = Shutdown::new();
        let unloaded = "berth_plugin_events_total{event=\"unloaded\"}";
        let before = m.render();
        let missed_before = value(&before, EVENTS_MISSED).unwrap();
        spawn_bus_recorder(&bus, served, &shutdown);
        // The test runtime is single-threaded, so the recorder cannot run before this
        // loop yields: it is guaranteed to fall behind by exactly `extra` events.
        let extra = 5;
        for _ in 0..crate::bus::CAPACITY + extra {
            bus.publish(Event::ConfigApplied);
        }
        eventually(&m, "the missed events", |text| {
            value(text, EVENTS_MISSED).unwrap() >= missed_before + extra as f64
        })
        .await;
        // It keeps going after the lag report.
        bus.publish(Event::PluginUnloaded {
            plugin: "gone".into(),
            path: PathBuf::from("/plugins/gone.wasm"),
        });
        eventually(&m, "an unload after the lag", |text| {
            value(text, unloaded).unwrap_or(0.0) >= value(&before, unloaded).unwrap_or(0.0) + 1.0
        })
        .await;
        tokio::time::timeout(Duration::from_secs(5), shutdown.complete())
            .await
            .expect("the recorder stops at shutdown");
    }

    #[tokio::test]
    async fn upkeep_stops_at_shutdown() {
        let m = metrics();
        let shutdown = Shutdown::new();
        m.spawn_upkeep(&shutdown);
        tokio::time::timeout(Duration::from_secs(5), shutdown.complete())
            .await
            .expect("upkeep stops at shutdown");
    }
}
