//! `echo`: a plugin for Berth's end-to-end tests, with one tool or resource per behaviour
//! the host must handle — text, numbers, structured results, each kind of error, config,
//! logging, guest stdout/stderr, images and links, the call context, and a trap — and an
//! event hook that logs the `tool_called` and `plugin_loaded` events it receives.
//!
//! Every answer is deterministic so tests can assert on it exactly. It is written with the
//! public SDK only, the way a third-party plugin would be.

use berth_plugin_sdk::prelude::*;
use berth_plugin_sdk::serde_json::json;

/// A 1×1 PNG (one orange pixel), small enough to inline in a test assertion.
pub const PIXEL_PNG: [u8; 70] = [
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x44, 0x41, 0x54, 0x78, 0x9c, 0x63, 0xf8, 0xdf, 0xc0, 0xf0,
    0x1f, 0x00, 0x06, 0x80, 0x02, 0x7f, 0x10, 0x4c, 0x1b, 0xe1, 0x00, 0x00, 0x00, 0x00, 0x49, 0x45,
    0x4e, 0x44, 0xae, 0x42, 0x60, 0x82,
];

/// Returns `text` unchanged.
#[tool(read_only, idempotent)]
pub fn echo(text: String) -> String {
    text
}

/// Adds two numbers and returns the sum.
#[tool(read_only, idempotent)]
pub fn add(
    /// The first number.
    a: f64,
    /// The second number.
    b: f64,
) -> f64 {
    a + b
}

/// Arguments of `greet`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct GreetArgs {
    /// Who to greet.
    pub name: String,
    /// End the greeting with an exclamation mark (default: false).
    pub excited: Option<bool>,
}

/// The result of `greet`.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Greeting {
    /// The greeting sentence.
    pub message: String,
    /// The length of `message` in characters.
    pub length: usize,
}

/// Greets someone by name; returns structured content with an output schema.
#[tool(title = "Greet", read_only)]
pub fn greet(#[args] args: GreetArgs) -> Greeting {
    let mark = if args.excited.unwrap_or(false) {
        "!"
    } else {
        "."
    };
    let message = format!("Hello, {}{mark}", args.name);
    Greeting {
        length: message.chars().count(),
        message,
    }
}

/// Always fails with `message` as a `failed` call error (a protocol-level error).
#[tool]
pub fn fail(message: String) -> Result<String, ToolError> {
    Err(ToolError::failed(message))
}

/// Always reports `message` as an error result the model sees (`isError: true`).
#[tool]
pub fn report_error(message: String) -> Result<String, ToolError> {
    Err(ToolError::result(message))
}

/// Returns the value of config key `key` for this plugin, or `<unset>`.
#[tool(read_only)]
pub fn config_get(key: String) -> String {
    config::get(&key).unwrap_or_else(|| "<unset>".to_string())
}

/// Logs `message` at info level with the fields `a=1` and `b=two`; returns `logged`.
#[tool]
pub fn log_fields(message: String) -> String {
    log::log(log::Level::Info, &message, &[("a", "1"), ("b", "two")]);
    "logged".to_string()
}

/// Prints `text` to the plugin's stdout and stderr; returns it. The host must keep guest
/// output off its own stdout, which may be the protocol stream.
#[tool]
pub fn print_stdout(text: String) -> String {
    println!("{text}");
    eprintln!("{text}");
    text
}

/// Returns a 1×1 PNG image and a link to the `echo://hello` resource.
#[tool(read_only, idempotent)]
pub fn image() -> ToolOutput {
    ToolOutput::new()
        .image(PIXEL_PNG, "image/png")
        .resource_link(
            ResourceLink::new("echo://hello", "hello")
                .title("Hello")
                .mime_type("text/plain"),
        )
}

/// Returns the call's request id and client name as a JSON object.
#[tool(read_only)]
pub fn context(ctx: &Context) -> String {
    json!({
        "request_id": ctx.request_id(),
        "client_name": ctx.client_name(),
    })
    .to_string()
}

/// Panics with "deliberate panic", which traps the component instance.
#[tool]
pub fn trap() -> String {
    panic!("deliberate panic")
}

/// Sleeps for `millis` milliseconds (at most 10 000), then says so; lets tests keep a
/// call in flight.
#[tool]
pub fn sleep(millis: u64) -> String {
    std::thread::sleep(std::time::Duration::from_millis(millis.min(10_000)));
    format!("slept {millis} ms")
}

/// A fixed greeting.
#[resource(uri = "echo://hello", mime_type = "text/plain")]
pub fn hello() -> &'static str {
    "hello from echo"
}

/// Every byte value from 0 to 255, in order.
#[resource(
    uri = "echo://bytes",
    name = "bytes",
    mime_type = "application/octet-stream"
)]
pub fn all_bytes() -> Vec<u8> {
    (0..=255).collect()
}

/// Item `id`, as the text `item {id}`.
#[resource_template(
    uri_template = "echo://items/{id}",
    name = "item",
    mime_type = "text/plain"
)]
pub fn item(id: String) -> String {
    format!("item {id}")
}

/// The facts of `event` as log fields, `kind` first; the duration of a call comes last
/// because it is the one value tests cannot predict.
pub fn event_fields(event: &Event) -> Vec<(&'static str, String)> {
    let mut fields = vec![("kind", event.kind().as_str().to_string())];
    match event {
        Event::ToolCalled {
            plugin,
            tool,
            duration,
            outcome,
        } => {
            fields.push(("plugin", plugin.clone()));
            fields.push(("tool", tool.clone()));
            fields.push(("outcome", outcome.as_str().to_string()));
            fields.push(("duration_us", duration.as_micros().to_string()));
        }
        Event::PluginLoaded { plugin, version } => {
            fields.push(("plugin", plugin.clone()));
            fields.push(("version", version.clone()));
        }
        _ => {}
    }
    fields
}

/// Logs every tool call and every plugin load the host tells it about, at info level with
/// the facts as fields (see [`event_fields`]), so tests can see deliveries in the host's log.
#[on_event(tool_called, plugin_loaded)]
pub fn report_event(event: &Event) {
    let fields = event_fields(event);
    let fields: Vec<(&str, &str)> = fields.iter().map(|(k, v)| (*k, v.as_str())).collect();
    log::log(log::Level::Info, "echo saw an event", &fields);
}

berth_plugin_sdk::export!(
    name: "echo",
    tools: [
        echo, add, greet, fail, report_error, config_get, log_fields, print_stdout, image,
        context, trap, sleep,
    ],
    resources: [hello, all_bytes],
    templates: [item],
    events: [report_event],
);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::wit::{CallError, ContentBlock};

    #[test]
    fn tools_are_plain_functions() {
        assert_eq!(echo("hi".into()), "hi");
        assert_eq!(add(1.5, 2.0), 3.5);
        let greeting = greet(GreetArgs {
            name: "Ada".into(),
            excited: Some(true),
        });
        assert_eq!(greeting.message, "Hello, Ada!");
        assert_eq!(greeting.length, 11);
        assert_eq!(fail("x".into()).unwrap_err(), ToolError::failed("x"));
        assert_eq!(
            report_error("x".into()).unwrap_err(),
            ToolError::result("x")
        );
        assert_eq!(item("7".into()), "item 7");
        assert_eq!(all_bytes().len(), 256);
    }

    #[test]
    fn manifest_is_valid() {
        berth_plugin().validate().unwrap();
        let manifest = berth_plugin().manifest();
        assert_eq!(manifest.name, "echo");
        assert_eq!(manifest.tools.len(), 12);
        let greet = manifest.tools.iter().find(|t| t.name == "greet").unwrap();
        assert!(greet.output_schema.is_some());
        assert!(greet.input_schema.contains("Who to greet."));
        let add = manifest.tools.iter().find(|t| t.name == "add").unwrap();
        assert!(add.input_schema.contains("The second number."));
        assert_eq!(manifest.resources.len(), 2);
        assert_eq!(
            manifest.resource_templates[0].uri_template,
            "echo://items/{id}"
        );
    }

    #[test]
    fn calls_behave_as_the_host_expects() {
        let plugin = berth_plugin();
        let sum = plugin.call("add", json!({"a": 1, "b": 2})).unwrap();
        assert_eq!(sum.text(), "3.0");
        let greeting = plugin.call("greet", json!({"name": "Bo"})).unwrap();
        assert_eq!(
            greeting.structured_json(),
            Some(json!({"message": "Hello, Bo.", "length": 10}))
        );
        assert_eq!(
            plugin.call("fail", json!({"message": "boom"})),
            Err(CallError::Failed("boom".into()))
        );
        let reported = plugin
            .call("report_error", json!({"message": "oops"}))
            .unwrap();
        assert!(reported.is_error);
        assert_eq!(reported.text(), "oops");
        assert!(matches!(
            plugin.call("echo", json!({})),
            Err(CallError::InvalidArguments(message)) if message.contains("text")
        ));
    }

    #[test]
    fn config_and_logging_work_natively() {
        config::clear_for_test();
        assert_eq!(config_get("greeting".into()), "<unset>");
        config::set_for_test("greeting", "hi");
        assert_eq!(config_get("greeting".into()), "hi");
        assert_eq!(log_fields("m".into()), "logged");
        assert_eq!(print_stdout("p".into()), "p");
    }

    #[test]
    fn image_and_context() {
        let output = image();
        assert!(
            matches!(&output.content()[0], ContentBlock::Image(media) if media.data == PIXEL_PNG)
        );
        assert!(
            matches!(&output.content()[1], ContentBlock::ResourceLink(link) if link.uri == "echo://hello")
        );
        let ctx = Context::default()
            .with_request_id("5")
            .with_client_name("tests");
        assert_eq!(context(&ctx), r#"{"client_name":"tests","request_id":"5"}"#);
    }

    #[test]
    fn the_event_hook_asks_for_calls_and_loads_and_logs_their_facts() {
        use berth_plugin_sdk::events::{CallOutcome, EventKind};
        assert_eq!(
            berth_plugin().interests(),
            [EventKind::PluginLoaded, EventKind::ToolCalled]
        );
        let called = Event::ToolCalled {
            plugin: "text".into(),
            tool: "diff".into(),
            duration: std::time::Duration::from_micros(1500),
            outcome: CallOutcome::ToolError,
        };
        let fields = event_fields(&called);
        let joined: Vec<String> = fields.iter().map(|(k, v)| format!("{k}={v}")).collect();
        assert_eq!(
            joined.join(" "),
            "kind=tool_called plugin=text tool=diff outcome=tool_error duration_us=1500"
        );
        // Natively the log goes to stderr; this checks the hook runs without a host.
        berth_plugin().on_event(&called);
    }

    #[test]
    fn trap_panics() {
        let panic = std::panic::catch_unwind(trap).unwrap_err();
        assert_eq!(panic.downcast_ref::<&str>(), Some(&"deliberate panic"));
    }

    #[test]
    fn resources_read() {
        let plugin = berth_plugin();
        assert_eq!(
            plugin.read("echo://hello").unwrap()[0].as_text(),
            Some("hello from echo")
        );
        let bytes = plugin.read("echo://bytes").unwrap();
        assert_eq!(bytes[0].as_blob().unwrap(), (0..=255).collect::<Vec<u8>>());
        assert_eq!(
            bytes[0].mime_type.as_deref(),
            Some("application/octet-stream")
        );
        assert_eq!(
            plugin.read("echo://items/42").unwrap()[0].as_text(),
            Some("item 42")
        );
        assert!(plugin.read("echo://nope").is_err());
    }
}
