//! OpenTelemetry traces: when `[telemetry] otlp_endpoint` is set, the spans Berth records
//! for MCP requests (`mcp.request`, in `berth_protocol::trace`) and plugin calls
//! (`plugin.call`, in `berth_runtime`) are batched and posted to the collector over
//! OTLP/HTTP (protobuf). Only spans of the [`TARGET`] target are exported; the log on
//! stderr never shows them.
//!
//! The exporter runs on a thread of its own (the SDK's batch processor), so a slow or
//! absent collector never holds up a call: spans queue up to the SDK's bound and the
//! excess is dropped. [`shutdown`] flushes what is queued, and the binary calls it before
//! it exits.

use std::sync::Mutex;
use std::time::Duration;

use opentelemetry::trace::TracerProvider as _;
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{
    BatchConfigBuilder, BatchSpanProcessor, SdkTracer, SdkTracerProvider,
};

use crate::config::TelemetryConfig;

/// The `tracing` target of the spans that are exported. The span macros in
/// `berth_protocol` and `berth_runtime` spell it out, as a macro's target must be a
/// literal.
pub const TARGET: &str = "berth::otel";

/// How long a flush at exit may take before the remaining spans are given up.
const FLUSH_LIMIT: Duration = Duration::from_secs(5);

/// Why tracing could not start.
#[derive(Debug, thiserror::Error)]
#[error("[telemetry]: cannot set up the OTLP exporter for {endpoint}: {reason}")]
pub struct TelemetryError {
    /// Where spans would have gone.
    endpoint: String,
    /// What the SDK said.
    reason: String,
}

/// The provider whose batch processor [`shutdown`] flushes.
static PROVIDER: Mutex<Option<SdkTracerProvider>> = Mutex::new(None);

/// Starts the exporter `config` asks for and returns the tracer for the `tracing` layer,
/// or `None` when no endpoint is set.
pub fn start(config: &TelemetryConfig) -> Result<Option<SdkTracer>, TelemetryError> {
    let Some(url) = config.traces_url() else {
        return Ok(None);
    };
    // The exporter's HTTP client is reqwest on rustls, which needs the process's provider.
    berth_distribution::init_tls();
    let failed = |reason: String| TelemetryError {
        endpoint: url.clone(),
        reason,
    };
    let exporter = opentelemetry_otlp::SpanExporter::builder()
        .with_http()
        .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
        .with_endpoint(url.clone())
        .with_headers(config.otlp_headers.clone().into_iter().collect())
        .with_timeout(Duration::from_secs(10))
        .build()
        .map_err(|e| failed(e.to_string()))?;
    let batches = BatchConfigBuilder::default()
        .with_scheduled_delay(Duration::from_millis(config.export_interval_ms))
        .build();
    let processor = BatchSpanProcessor::builder(exporter)
        .with_batch_config(batches)
        .build();
    let resource = Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attribute(opentelemetry::KeyValue::new(
            "service.version",
            env!("CARGO_PKG_VERSION"),
        ))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(processor)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("berth");
    *PROVIDER.lock().unwrap_or_else(|p| p.into_inner()) = Some(provider);
    tracing::info!(endpoint = %url, "exporting traces over OTLP");
    Ok(Some(tracer))
}

/// Sends the spans still queued and stops the exporter; a no-op without telemetry.
pub fn shutdown() {
    let provider = PROVIDER.lock().unwrap_or_else(|p| p.into_inner()).take();
    // Shutting down exports what is queued, within FLUSH_LIMIT; a flush before it would
    // wait on an unreachable collector for the exporter's own, longer, timeout.
    if let Some(provider) = provider
        && let Err(error) = provider.shutdown_with_timeout(FLUSH_LIMIT)
    {
        tracing::warn!(%error, "could not send the last spans");
    }
}
