//! The native baseline (`tests/native-baseline`) is faithful to Berth: it lists the same
//! tools as the real `berth` binary serving the `text` plugin, and answers the same calls
//! with the same results, so that `--bench versus` compares the same work. The baseline
//! runs in this process, over HTTP on 127.0.0.1 and over an in-memory pipe speaking what
//! it speaks on stdio.

use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader, DuplexStream, Lines, WriteHalf};

use crate::http_client::Client;
use crate::support::{REPLY_TIMEOUT, Server, plugins_dir};

/// Berth over stdio with only the `text` plugin, loaded and initialized.
fn berth_with_text() -> (tempfile::TempDir, Server) {
    let plugins = plugins_dir(&["berth-plugin-text"]);
    let mut server = Server::start(plugins.path(), None);
    server.wait_for_log("ready");
    server.initialize("2025-11-25");
    (plugins, server)
}

/// The `tools` of a `tools/list` result, sorted by name: MCP gives the order no meaning,
/// and Berth lists in the plugin's order while rmcp's router lists by name.
fn sorted_tools(list: &Value) -> Vec<Value> {
    let mut tools = list["tools"].as_array().expect("tools").clone();
    tools.sort_by(|a, b| a["name"].as_str().cmp(&b["name"].as_str()));
    tools
}

/// The native baseline on both of its transports, in this process.
struct Baseline {
    http: Client,
    stdio: StdioClient,
}

impl Baseline {
    async fn start() -> Baseline {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/mcp", listener.local_addr().unwrap());
        tokio::spawn(berth_native_baseline::serve_http(listener));
        let mut http = Client::new(&url, None);
        let info = http.initialize().await;
        assert_eq!(info["protocolVersion"], "2025-11-25", "{info}");
        let stdio = StdioClient::start().await;
        Baseline { http, stdio }
    }

    /// The result (or error) of request `method` on each transport, which must agree.
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let over_http = self.http.request(method, params.clone()).await;
        let over_stdio = self.stdio.request(method, params).await;
        let (http, stdio) = (answer(&over_http), answer(&over_stdio));
        assert_eq!(
            http, stdio,
            "the baseline's transports disagree on {method}"
        );
        http
    }
}

/// A JSON-RPC response without its `jsonrpc` and `id`: the result or the error.
fn answer(response: &Value) -> Value {
    match response.get("error") {
        Some(error) => json!({ "error": error }),
        None => json!({ "result": response["result"] }),
    }
}

/// A client of [`berth_native_baseline::serve_io`] over an in-memory pipe: the baseline's
/// stdio session, one JSON-RPC message per line.
struct StdioClient {
    writer: WriteHalf<DuplexStream>,
    lines: Lines<BufReader<tokio::io::ReadHalf<DuplexStream>>>,
    next_id: u64,
}

impl StdioClient {
    async fn start() -> StdioClient {
        let (ours, theirs) = tokio::io::duplex(64 * 1024);
        let (their_reader, their_writer) = tokio::io::split(theirs);
        tokio::spawn(berth_native_baseline::serve_io(their_reader, their_writer));
        let (reader, writer) = tokio::io::split(ours);
        let mut client = StdioClient {
            writer,
            lines: BufReader::new(reader).lines(),
            next_id: 1,
        };
        let info = client
            .request(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": { "name": "berth-e2e", "version": "1" }
                }),
            )
            .await;
        assert_eq!(info["result"]["protocolVersion"], "2025-11-25", "{info}");
        client
            .send(json!({ "jsonrpc": "2.0", "method": "notifications/initialized" }))
            .await;
        client
    }

    async fn send(&mut self, message: Value) {
        let mut line = message.to_string();
        line.push('\n');
        self.writer.write_all(line.as_bytes()).await.unwrap();
    }

    /// Sends request `method`; returns its response (the session sends nothing else).
    async fn request(&mut self, method: &str, params: Value) -> Value {
        let id = self.next_id;
        self.next_id += 1;
        self.send(json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params }))
            .await;
        let line = tokio::time::timeout(REPLY_TIMEOUT, self.lines.next_line())
            .await
            .expect("the baseline answers in time")
            .unwrap()
            .expect("the baseline keeps the session open");
        let response: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(response["id"], id, "{response}");
        response
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Runtime::new().unwrap()
}

#[test]
fn the_baseline_lists_the_tools_berth_serves() {
    let (_plugins, mut berth) = berth_with_text();
    let expected = sorted_tools(&berth.ok("tools/list", json!({})));
    let names: Vec<&str> = expected.iter().filter_map(|t| t["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "text_change_case",
            "text_count",
            "text_diff",
            "text_regex_find",
            "text_regex_replace",
            "text_slugify"
        ]
    );
    runtime().block_on(async {
        let mut baseline = Baseline::start().await;
        let listed = baseline.request("tools/list", json!({})).await;
        let tools = sorted_tools(&listed["result"]);
        // Whole tool objects: name, description, inputSchema, outputSchema (present on the
        // same three tools) and annotations, with nothing extra on either side.
        for (ours, theirs) in tools.iter().zip(&expected) {
            assert_eq!(
                ours, theirs,
                "the baseline lists {} differently",
                theirs["name"]
            );
        }
        assert_eq!(tools.len(), expected.len(), "{listed}");
    });
}

#[test]
fn the_baseline_answers_calls_as_berth_does() {
    let (_plugins, mut berth) = berth_with_text();
    // Each answer must be identical: content, structuredContent and isError.
    let calls = [
        (
            "text_count",
            json!({ "text": "The quick brown fox jumps over the lazy dog." }),
        ),
        (
            "text_count",
            json!({ "text": "Héllo, wörld! 👍🏽 Second line.\nThird" }),
        ),
        ("text_slugify", json!({ "text": "Crème Brûlée: a recipe!" })),
        ("text_slugify", json!({ "text": "x", "separator": "a" })),
        (
            "text_change_case",
            json!({ "text": "parseHTTP response_code", "case": "snake" }),
        ),
        (
            "text_regex_find",
            json!({ "pattern": r"(?P<key>\w+)=(\d+)?", "text": "a=1\nb=\nc=3", "max_matches": 2 }),
        ),
        (
            "text_regex_find",
            json!({ "pattern": "(unclosed", "text": "x" }),
        ),
        (
            "text_regex_replace",
            json!({ "pattern": r"(\w+)@(\w+)", "replacement": "$2 at $1", "text": "a@b c@d" }),
        ),
        (
            "text_diff",
            json!({ "old": "a\nb\nc\n", "new": "a\nB\nc\nd\n", "context": 1 }),
        ),
        ("text_diff", json!({ "old": "same", "new": "same" })),
    ];
    let expected: Vec<Value> = calls
        .iter()
        .map(|(tool, arguments)| {
            answer(&berth.request(
                "tools/call",
                json!({ "name": tool, "arguments": arguments }),
            ))
        })
        .collect();
    // Arguments the schema refuses: Berth checks them against the input schema before the
    // call, rmcp only deserializes them, so the explanations are worded differently; what
    // the client gets is the same kind of answer, an error result with one text block.
    let refused = berth.call("text_count", json!({ "words": 3 }));
    // A tool nobody serves is a protocol error, the same in both.
    let unknown = berth.request(
        "tools/call",
        json!({ "name": "text_nope", "arguments": {} }),
    );

    runtime().block_on(async {
        let mut baseline = Baseline::start().await;
        for ((tool, arguments), berth) in calls.iter().zip(&expected) {
            let ours = baseline
                .request(
                    "tools/call",
                    json!({ "name": tool, "arguments": arguments }),
                )
                .await;
            assert_eq!(&ours, berth, "{tool} {arguments} answers differently");
        }
        assert_eq!(
            expected[6]["result"]["isError"], true,
            "a bad pattern is an error result: {}",
            expected[6]
        );

        let ours = baseline
            .request(
                "tools/call",
                json!({ "name": "text_count", "arguments": { "words": 3 } }),
            )
            .await;
        for result in [&ours["result"], &refused] {
            assert_eq!(result["isError"], true, "{result}");
            let content = result["content"].as_array().unwrap();
            assert_eq!(content.len(), 1, "{result}");
            assert_eq!(content[0]["type"], "text", "{result}");
            assert!(result.get("structuredContent").is_none(), "{result}");
        }

        let ours = baseline
            .request(
                "tools/call",
                json!({ "name": "text_nope", "arguments": {} }),
            )
            .await;
        assert_eq!(ours, answer(&unknown), "unknown tools answer differently");
    });
}
