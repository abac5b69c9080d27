//! Traces over OTLP: a receiver on loopback (OTLP/HTTP, protobuf, decoded with the
//! protocol's own message types) gets Berth's spans, a request's `mcp.request` span
//! continues the client's W3C trace (from the HTTP `traceparent` header, or from `_meta`
//! over stdio), and each plugin call's `plugin.call` span is its child with the plugin,
//! the outcome, the instance and the queue wait.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as AnyValue;
use prost::Message as _;
use serde_json::json;

use crate::http_client::HttpServer;
use crate::support::{Server, config_file, plugins_dir, text};

/// One exported span, as the receiver decoded it.
#[derive(Debug, Clone)]
struct Span {
    name: String,
    trace_id: String,
    span_id: String,
    parent_span_id: String,
    attributes: HashMap<String, String>,
    service: String,
}

/// An OTLP/HTTP trace receiver on 127.0.0.1.
struct Receiver {
    endpoint: String,
    spans: Arc<Mutex<Vec<Span>>>,
}

impl Receiver {
    async fn start() -> Receiver {
        let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
        let app = axum::Router::new()
            .route("/v1/traces", axum::routing::post(receive))
            .with_state(spans.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr: SocketAddr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        Receiver {
            endpoint: format!("http://{addr}"),
            spans,
        }
    }

    /// Waits until a span satisfies `wanted` and returns it.
    async fn wait_for(&self, what: &str, wanted: impl Fn(&Span) -> bool) -> Span {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Some(span) = self.spans.lock().unwrap().iter().find(|s| wanted(s)) {
                return span.clone();
            }
            assert!(
                Instant::now() < deadline,
                "no {what} span arrived; got: {:#?}",
                self.spans.lock().unwrap()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(State(spans): State<Arc<Mutex<Vec<Span>>>>, body: Bytes) -> &'static str {
    let request = ExportTraceServiceRequest::decode(body).expect("an OTLP protobuf body");
    let mut spans = spans.lock().unwrap();
    for resource in request.resource_spans {
        let service = resource
            .resource
            .iter()
            .flat_map(|r| &r.attributes)
            .find(|kv| kv.key == "service.name")
            .map(|kv| value_text(kv.value.as_ref().and_then(|v| v.value.as_ref())))
            .unwrap_or_default();
        for scope in resource.scope_spans {
            for span in scope.spans {
                spans.push(Span {
                    name: span.name,
                    trace_id: hex(&span.trace_id),
                    span_id: hex(&span.span_id),
                    parent_span_id: hex(&span.parent_span_id),
                    attributes: span
                        .attributes
                        .iter()
                        .map(|kv| {
                            let value = kv.value.as_ref().and_then(|v| v.value.as_ref());
                            (kv.key.clone(), value_text(value))
                        })
                        .collect(),
                    service: service.clone(),
                });
            }
        }
    }
    ""
}

fn value_text(value: Option<&AnyValue>) -> String {
    match value {
        Some(AnyValue::StringValue(s)) => s.clone(),
        Some(AnyValue::IntValue(i)) => i.to_string(),
        Some(AnyValue::BoolValue(b)) => b.to_string(),
        Some(AnyValue::DoubleValue(d)) => d.to_string(),
        other => format!("{other:?}"),
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Checks the pair of spans of one `text_count` call in trace `trace_id` whose request
/// span's parent is `parent`.
async fn request_and_plugin_spans(receiver: &Receiver, trace_id: &str, parent: &str) {
    let request = receiver
        .wait_for("mcp.request", |s| {
            s.trace_id == trace_id && s.name == "tools/call text_count"
        })
        .await;
    assert_eq!(request.parent_span_id, parent, "{request:#?}");
    assert_eq!(request.attributes["mcp.method.name"], "tools/call");
    assert_eq!(request.attributes["mcp.tool.is_error"], "false");
    assert_eq!(request.service, "berth-under-test");
    let call = receiver
        .wait_for("plugin.call", |s| {
            s.trace_id == trace_id && s.name.starts_with("plugin.call")
        })
        .await;
    assert_eq!(call.parent_span_id, request.span_id, "{call:#?}");
    assert_eq!(call.name, "plugin.call text/count");
    assert_eq!(call.attributes["berth.plugin"], "text");
    assert_eq!(call.attributes["berth.outcome"], "success");
    assert_eq!(call.attributes["berth.instance"], "fresh");
    assert!(
        call.attributes["berth.queue_wait_us"]
            .parse::<u64>()
            .is_ok(),
        "{call:#?}"
    );
}

fn telemetry_config(
    dir: &std::path::Path,
    receiver: &Receiver,
    interval_ms: u64,
) -> std::path::PathBuf {
    config_file(
        dir,
        &format!(
            "[http.auth]\nenabled = false\n\n[telemetry]\notlp_endpoint = \"{}\"\n\
             service_name = \"berth-under-test\"\nexport_interval_ms = {interval_ms}\n",
            receiver.endpoint
        ),
    )
}

#[tokio::test]
async fn http_requests_continue_the_callers_trace_and_plugin_calls_are_their_children() {
    let receiver = Receiver::start().await;
    let plugins = plugins_dir(&["berth-plugin-text"]);
    let config = telemetry_config(plugins.path(), &receiver, 100);
    let server = HttpServer::start(plugins.path(), Some(&config), &[]);
    let mut client = server.client(None);
    client.initialize().await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let parent = "00f067aa0ba902b7";
    client.extra.insert(
        "traceparent",
        format!("00-{trace_id}-{parent}-01").parse().unwrap(),
    );
    let result = client
        .call("text_count", json!({ "text": "traced over http" }))
        .await;
    assert_eq!(result["isError"], false, "{result}");
    request_and_plugin_spans(&receiver, trace_id, parent).await;
    // The log on stderr never shows the trace spans.
    assert!(!server.process.stderr().contains("mcp.request"));
}

#[tokio::test]
async fn stdio_requests_continue_a_trace_from_meta_and_spans_are_flushed_at_exit() {
    let receiver = Receiver::start().await;
    let plugins = plugins_dir(&["berth-plugin-text"]);
    // Far longer than the test: only the flush at exit can deliver the spans.
    let config = telemetry_config(plugins.path(), &receiver, 600_000);
    let mut server = Server::initialized(plugins.path(), Some(&config));
    let trace_id = "0af7651916cd43dd8448eb211c80319c";
    let parent = "b7ad6b7169203331";
    let result = server.ok(
        "tools/call",
        json!({
            "name": "text_count",
            "arguments": { "text": "traced over stdio" },
            "_meta": { "traceparent": format!("00-{trace_id}-{parent}-01") },
        }),
    );
    assert!(text(&result).contains("\"words\":3"), "{result}");
    let status = server.close();
    assert!(status.success(), "{status:?}");
    request_and_plugin_spans(&receiver, trace_id, parent).await;
}

#[test]
fn an_endpoint_that_is_not_a_url_is_refused_naming_the_key() {
    let plugins = plugins_dir(&["berth-plugin-text"]);
    let config = config_file(
        plugins.path(),
        "[telemetry]\notlp_endpoint = \"collector:4318\"\n",
    );
    let out = crate::support::berth()
        .arg("serve")
        .arg("--plugins")
        .arg(plugins.path())
        .arg("--config")
        .arg(&config)
        .output()
        .unwrap();
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("telemetry.otlp_endpoint"), "{stderr}");
    assert!(stderr.contains("http://127.0.0.1:4318"), "{stderr}");
}
