//! A real `berth serve --http` process and a minimal Streamable HTTP client for it:
//! JSON-RPC over POST (answers arrive as SSE or JSON), the session header, the
//! listening GET stream, and DELETE, as MCP clients send them.

use std::path::Path;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderValue};
use serde_json::{Value, json};
use tokio::sync::mpsc;

use crate::support::{REPLY_TIMEOUT, Server};

/// A `berth serve --http 127.0.0.1:0` process and the URL of its MCP endpoint.
pub struct HttpServer {
    /// The process (its log, its pid, its exit).
    pub process: Server,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
}

impl HttpServer {
    /// Starts Berth serving HTTP on a free loopback port with `config`, plus `args`.
    pub fn start(plugins: &Path, config: Option<&Path>, args: &[&str]) -> HttpServer {
        HttpServer::start_on("127.0.0.1:0", plugins, config, args)
    }

    /// Starts Berth serving HTTP on `addr` (port 0: a free one) with `config`, plus
    /// `args`; the client side connects to it over loopback.
    pub fn start_on(
        addr: &str,
        plugins: &Path,
        config: Option<&Path>,
        args: &[&str],
    ) -> HttpServer {
        let mut all = vec!["--http", addr];
        all.extend_from_slice(args);
        let process = Server::start_with_args(plugins, config, &all, &[]);
        let line = process.wait_for_log_line("serving MCP over HTTP", 1);
        let addr = line
            .split_whitespace()
            .find_map(|part| part.strip_prefix("addr="))
            .unwrap_or_else(|| panic!("no addr= in `{line}`"))
            .to_string();
        let addr = addr.replace("0.0.0.0", "127.0.0.1");
        HttpServer {
            process,
            base: format!("http://{addr}"),
        }
    }

    /// The MCP endpoint.
    pub fn mcp_url(&self) -> String {
        format!("{}/mcp", self.base)
    }

    /// A client of this server presenting `token` (if any).
    pub fn client(&self, token: Option<&str>) -> Client {
        Client::new(&self.mcp_url(), token)
    }

    /// Waits until `/ready` counts `calls` tool calls in flight.
    pub async fn wait_for_calls_in_flight(&self, calls: u64) {
        let deadline = std::time::Instant::now() + REPLY_TIMEOUT;
        loop {
            let (_, ready) = self.get("/ready", None).await;
            if ready["counts"]["calls_in_flight"] == calls {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "never {calls} calls in flight: {ready}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// GET `path` of the server; returns the status and the body as JSON (or a string).
    pub async fn get(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = crate::support::http_client().get(format!("{}{path}", self.base));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.expect("GET reaches the server");
        let status = response.status().as_u16();
        let text = response.text().await.unwrap();
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        (status, body)
    }
}

/// What came back for one POST.
pub struct Reply {
    /// HTTP status.
    pub status: u16,
    /// Response headers.
    pub headers: HeaderMap,
    /// JSON-RPC messages in the body (from SSE `data:` lines or a JSON body).
    pub messages: Vec<Value>,
    /// The raw body.
    pub body: String,
}

impl Reply {
    /// The JSON-RPC response with `id`.
    pub fn response(&self, id: u64) -> &Value {
        self.messages
            .iter()
            .find(|m| m["id"] == json!(id))
            .unwrap_or_else(|| panic!("no response to {id} (HTTP {}): {}", self.status, self.body))
    }

    /// The body as JSON (refusals from the gate are JSON objects).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }

    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// A Streamable HTTP MCP client holding at most one session.
pub struct Client {
    http: reqwest::Client,
    url: String,
    token: Option<String>,
    /// The session id the server gave at `initialize`.
    pub session: Option<String>,
    /// Extra headers sent on every request (e.g. `Origin`).
    pub extra: HeaderMap,
    next_id: u64,
}

impl Client {
    /// A client of `url` presenting `token`.
    pub fn new(url: &str, token: Option<&str>) -> Client {
        Client {
            http: crate::support::reqwest_builder()
                .timeout(REPLY_TIMEOUT)
                .build()
                .unwrap(),
            url: url.to_string(),
            token: token.map(str::to_string),
            session: None,
            extra: HeaderMap::new(),
            next_id: 1,
        }
    }

    /// Sends this client's requests to `url` from now on (another replica).
    pub fn set_url(&mut self, url: &str) {
        self.url = url.to_string();
    }

    /// Another client on the same session, numbering its requests from `first_id` so
    /// they never collide with this one's (ids are per session).
    pub fn fork(&self, first_id: u64) -> Client {
        let mut other = Client::new(&self.url, self.token.as_deref());
        other.session = self.session.clone();
        other.extra = self.extra.clone();
        other.next_id = first_id;
        other
    }

    fn headers(&self) -> HeaderMap {
        let mut headers = self.extra.clone();
        headers.insert(
            "accept",
            HeaderValue::from_static("application/json, text/event-stream"),
        );
        if let Some(token) = &self.token {
            headers.insert(
                "authorization",
                HeaderValue::from_str(&format!("Bearer {token}")).unwrap(),
            );
        }
        if let Some(session) = &self.session {
            headers.insert("mcp-session-id", HeaderValue::from_str(session).unwrap());
            headers.insert(
                "mcp-protocol-version",
                HeaderValue::from_static("2025-11-25"),
            );
        }
        headers
    }

    /// POSTs one raw body.
    pub async fn post_raw(&self, body: impl Into<reqwest::Body>) -> Reply {
        let response = self
            .http
            .post(&self.url)
            .headers(self.headers())
            .header("content-type", "application/json")
            .body(body)
            .send()
            .await
            .expect("POST reaches the server");
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let body = response.text().await.unwrap_or_default();
        let messages = parse_messages(&body);
        Reply {
            status,
            headers,
            messages,
            body,
        }
    }

    /// Sends request `method` and returns the whole reply and the id used.
    pub async fn send(&mut self, method: &str, params: Value) -> (Reply, u64) {
        let id = self.next_id;
        self.next_id += 1;
        let body = json!({ "jsonrpc": "2.0", "id": id, "method": method, "params": params });
        (self.post_raw(body.to_string()).await, id)
    }

    /// Sends request `method` and returns its JSON-RPC response (result or error).
    pub async fn request(&mut self, method: &str, params: Value) -> Value {
        let (reply, id) = self.send(method, params).await;
        assert_eq!(
            reply.status, 200,
            "{method}: HTTP {}: {}",
            reply.status, reply.body
        );
        reply.response(id).clone()
    }

    /// Sends request `method` and returns its result, failing on an error.
    pub async fn ok(&mut self, method: &str, params: Value) -> Value {
        let response = self.request(method, params).await;
        assert!(
            response.get("error").is_none(),
            "{method} failed: {response}"
        );
        response["result"].clone()
    }

    /// Sends a notification.
    pub async fn notify(&mut self, method: &str) -> Reply {
        let body = json!({ "jsonrpc": "2.0", "method": method });
        self.post_raw(body.to_string()).await
    }

    /// The handshake at 2025-11-25; keeps the session id. Returns the reply.
    pub async fn try_initialize(&mut self) -> (Reply, u64) {
        let (reply, id) = self
            .send(
                "initialize",
                json!({
                    "protocolVersion": "2025-11-25",
                    "capabilities": {},
                    "clientInfo": { "name": "berth-e2e-http", "version": "1" }
                }),
            )
            .await;
        if reply.status == 200 {
            self.session = reply.header("mcp-session-id").map(str::to_string);
        }
        (reply, id)
    }

    /// The handshake, which must succeed, and the `initialized` notification.
    pub async fn initialize(&mut self) -> Value {
        let (reply, id) = self.try_initialize().await;
        assert_eq!(
            reply.status, 200,
            "initialize: HTTP {}: {}",
            reply.status, reply.body
        );
        let result = reply.response(id)["result"].clone();
        assert!(self.session.is_some(), "no Mcp-Session-Id header");
        let ack = self.notify("notifications/initialized").await;
        assert_eq!(
            ack.status, 202,
            "initialized: HTTP {}: {}",
            ack.status, ack.body
        );
        result
    }

    /// Calls a tool; returns the result.
    pub async fn call(&mut self, tool: &str, arguments: Value) -> Value {
        self.ok(
            "tools/call",
            json!({ "name": tool, "arguments": arguments }),
        )
        .await
    }

    /// Calls a tool the 2026-07-28 way, in no session: the request carries its protocol
    /// version, client facts and routing headers itself. Returns the whole reply.
    pub async fn call_stateless(&self, id: u64, tool: &str, arguments: Value) -> Reply {
        let meta = json!({
            "io.modelcontextprotocol/protocolVersion": "2026-07-28",
            "io.modelcontextprotocol/clientCapabilities": {},
            "io.modelcontextprotocol/clientInfo": { "name": "stateless", "version": "1" }
        });
        let body = json!({
            "jsonrpc": "2.0", "id": id, "method": "tools/call",
            "params": { "name": tool, "arguments": arguments, "_meta": meta }
        });
        let mut client = Client::new(&self.url, self.token.as_deref());
        client.extra = self.extra.clone();
        for (name, value) in [
            ("mcp-protocol-version", "2026-07-28"),
            ("mcp-method", "tools/call"),
            ("mcp-name", tool),
        ] {
            client.extra.insert(name, value.parse().unwrap());
        }
        client.post_raw(body.to_string()).await
    }

    /// Every tool name the server lists (one page).
    pub async fn tool_names(&mut self) -> Vec<String> {
        let result = self.ok("tools/list", json!({})).await;
        result["tools"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t["name"].as_str().unwrap().to_string())
            .collect()
    }

    /// Ends the session (DELETE); returns the HTTP status.
    pub async fn delete(&self) -> u16 {
        self.http
            .delete(&self.url)
            .headers(self.headers())
            .send()
            .await
            .expect("DELETE reaches the server")
            .status()
            .as_u16()
    }

    /// Opens the session's listening stream (GET); messages the server pushes arrive on
    /// the receiver.
    pub async fn listen(&self) -> mpsc::UnboundedReceiver<Value> {
        let response = self
            .http
            .get(&self.url)
            .headers(self.headers())
            .header("accept", "text/event-stream")
            // The stream outlives any single-request timeout.
            .timeout(Duration::from_secs(3600))
            .send()
            .await
            .expect("GET reaches the server");
        assert_eq!(response.status().as_u16(), 200, "GET stream refused");
        let (tx, rx) = mpsc::unbounded_channel();
        tokio::spawn(async move {
            use futures::StreamExt;
            let mut stream = response.bytes_stream();
            let mut buffer = String::new();
            while let Some(Ok(chunk)) = stream.next().await {
                buffer.push_str(&String::from_utf8_lossy(&chunk));
                while let Some(end) = buffer.find("\n\n") {
                    let event: String = buffer.drain(..end + 2).collect();
                    for message in parse_messages(&event) {
                        if tx.send(message).is_err() {
                            return;
                        }
                    }
                }
            }
        });
        rx
    }
}

/// JSON-RPC messages in an SSE body (`data:` lines) or a plain JSON body.
fn parse_messages(body: &str) -> Vec<Value> {
    if let Ok(value) = serde_json::from_str::<Value>(body) {
        return vec![value];
    }
    body.lines()
        .filter_map(|line| line.strip_prefix("data:"))
        .filter_map(|data| serde_json::from_str::<Value>(data.trim()).ok())
        .filter(|value| value.get("jsonrpc").is_some())
        .collect()
}

/// Waits for a message with `method` on a listening stream.
pub async fn next_notification(stream: &mut mpsc::UnboundedReceiver<Value>, method: &str) -> Value {
    let wait = async {
        loop {
            let message = stream.recv().await.expect("the stream stays open");
            if message["method"] == method {
                return message;
            }
        }
    };
    tokio::time::timeout(REPLY_TIMEOUT, wait)
        .await
        .unwrap_or_else(|_| panic!("no {method} notification"))
}
