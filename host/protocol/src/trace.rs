//! A trace span per MCP request (`mcp.request`, target `berth::otel`), exported by the
//! binary's `telemetry` module when `[telemetry]` is on, and disabled (nearly free: one
//! cached callsite check) otherwise.
//!
//! Each `ServerHandler` method Berth implements runs its body through [`traced`] in the
//! span [`request_span`] makes. (rmcp's Streamable HTTP service takes a `ServerHandler`,
//! not any `Service`, so one wrapper around rmcp's dispatch cannot see every request on
//! both transports.) The span continues the caller's trace when the request carries a
//! W3C `traceparent`: in its `_meta` (any transport), else in the HTTP request's headers.
//! The plugin's own span (`plugin.call`, recorded by the runtime) is its child.

use std::collections::HashMap;

use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::TraceContextExt as _;
use opentelemetry_sdk::propagation::TraceContextPropagator;
use rmcp::service::RequestContext;
use rmcp::{ErrorData, RoleServer};
use tracing::Instrument as _;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

/// The W3C trace-context fields a caller may send.
const TRACE_FIELDS: [&str; 2] = ["traceparent", "tracestate"];

/// The span of one request for `method` (e.g. `tools/call`), on `target` (the tool, the
/// resource, the prompt) if it has one, with the caller's trace as its parent when it
/// sent one.
pub(crate) fn request_span(
    method: &'static str,
    target: Option<&str>,
    context: &RequestContext<RoleServer>,
) -> tracing::Span {
    let span = tracing::info_span!(
        target: "berth::otel",
        "mcp.request",
        otel.name = match target {
            Some(target) => format!("{method} {target}"),
            None => method.to_owned(),
        },
        otel.kind = "server",
        rpc.system = "jsonrpc",
        rpc.method = method,
        mcp.method.name = method,
        mcp.request.target = target,
        jsonrpc.request.id = %context.id,
        mcp.tool.is_error = tracing::field::Empty,
        otel.status_code = tracing::field::Empty,
        otel.status_description = tracing::field::Empty,
    );
    if span.is_disabled() {
        return span;
    }
    let carrier = trace_context(context);
    if !carrier.is_empty() {
        let parent = TraceContextPropagator::new().extract(&carrier);
        if parent.span().span_context().is_valid() {
            // Fails only when the span is not recorded, which was checked above.
            let _ = span.set_parent(parent);
        }
    }
    span
}

/// Runs a request's handling in `span`, and marks the span failed when it answers with
/// a JSON-RPC error.
pub(crate) async fn traced<T>(
    span: tracing::Span,
    handling: impl Future<Output = Result<T, ErrorData>>,
) -> Result<T, ErrorData> {
    let recorded = span.clone();
    let result = handling.instrument(span).await;
    if let Err(error) = &result
        && !recorded.is_disabled()
    {
        recorded.record("otel.status_code", "ERROR");
        recorded.record("otel.status_description", error.message.as_ref());
    }
    result
}

/// Records on the current request's span that the tool answered with an error result.
pub(crate) fn tool_answered(is_error: bool) {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return;
    }
    span.record("mcp.tool.is_error", is_error);
    if is_error {
        span.record("otel.status_code", "ERROR");
    }
}

/// The caller's `traceparent` and `tracestate`: from the request's `_meta` when it has a
/// `traceparent` there, else from the headers of the HTTP request that carried it (rmcp's
/// Streamable HTTP transport puts its parts into the request's extensions).
fn trace_context(context: &RequestContext<RoleServer>) -> HashMap<String, String> {
    let from_meta: HashMap<String, String> = TRACE_FIELDS
        .iter()
        .filter_map(|field| {
            let value = context.meta.get(*field)?.as_str()?;
            Some((field.to_string(), value.to_owned()))
        })
        .collect();
    if from_meta.contains_key("traceparent") {
        return from_meta;
    }
    let Some(parts) = context.extensions.get::<http::request::Parts>() else {
        return HashMap::new();
    };
    TRACE_FIELDS
        .iter()
        .filter_map(|field| {
            let value = parts.headers.get(*field)?.to_str().ok()?;
            Some((field.to_string(), value.to_owned()))
        })
        .collect()
}
