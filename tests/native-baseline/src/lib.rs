//! The native baseline: the example `text` plugin's tools served by a plain
//! [rmcp](https://docs.rs/rmcp) server, compiled natively, with no sandbox, no registry and
//! no policy in between.
//!
//! It exists to be measured against. Berth runs the same tools as a WebAssembly component in
//! a fresh sandboxed instance per call, behind argument and result validation, access
//! checks, metrics and (over HTTP) its gate; this server does only what any rmcp server must
//! do. The difference between the two, in the same run on the same machine, is what Berth
//! costs (`cargo bench -p berth-host --bench versus`).
//!
//! For that difference to be Berth's and nothing else, the two must do the same work:
//!
//! - **The same code.** Each tool calls the plugin crate's own `pub fn` (`berth-plugin-text`
//!   is an rlib as well as a component), so the text processing is byte for byte the code
//!   Berth runs in the sandbox, compiled natively instead of to `wasm32-wasip2`.
//! - **The same interface.** Tools are named as Berth serves them (`text_count`, …), with the
//!   same descriptions, input and output schemas and annotations, and answer with the same
//!   content, structured content and error results; `tests/e2e/baseline.rs` checks this
//!   against the real `berth` binary, so a client cannot tell the two apart.
//! - **The same rmcp settings.** Over stdio both read Tokio's stdin and write its stdout;
//!   over HTTP both mount rmcp's `StreamableHttpService` in axum at `/mcp` with the
//!   configuration Berth gives it (`host/src/transport/http.rs`) and `TCP_NODELAY` on every
//!   connection.
//!
//! What legitimately differs, because it is Berth's own behaviour rather than the tools':
//! `initialize` (this server names itself `berth-native-baseline`, advertises tools only and
//! gives no instructions), and the wording of the error result for arguments the schema
//! refuses (Berth checks them against the JSON Schema before the call; rmcp only
//! deserializes them, as any rmcp server does).
//!
//! The tools are registered with rmcp's [`ToolRouter`] directly rather than through its
//! `#[tool]` macros: the macros expand to the same routes and handlers, but take the
//! descriptions from doc comments and derive output schemas their own way (without the
//! top-level description), and the listing must match Berth's exactly.

use std::sync::Arc;
use std::time::Duration;

use berth_plugin_sdk::wit::ContentBlock as PluginContent;
use berth_plugin_sdk::{ToolError, ToolErrorKind, ToolOutput};
use berth_plugin_text::{Case, Counts, Found, Replaced};
use rmcp::handler::server::tool::{ToolCallContext, ToolRouter, schema_for_input};
use rmcp::handler::server::wrapper::{Json, Parameters};
use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CallToolResult, ContentBlock, Implementation,
    JsonObject, ListToolsResult, PaginatedRequestParams, ServerCapabilities, ServerConfig, Tool,
    ToolAnnotations,
};
use rmcp::service::RequestContext;
use rmcp::transport::streamable_http_server::session::local::LocalSessionManager;
use rmcp::transport::streamable_http_server::{StreamableHttpServerConfig, StreamableHttpService};
use rmcp::{ErrorData, RoleServer, ServerHandler, ServiceExt};
use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::Deserialize;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;

/// The path the MCP endpoint is served at over HTTP, as Berth's default `[http] path`.
pub const MCP_PATH: &str = "/mcp";

/// Why serving stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum BaselineError {
    /// The MCP handshake failed (the client left or sent something else first). Boxed:
    /// it holds a whole message, and the other variants are small.
    #[error("MCP session failed to start: {0}")]
    Initialize(Box<rmcp::service::ServerInitializeError>),
    /// The session's task panicked or was cancelled.
    #[error("MCP session task failed: {0}")]
    Session(#[from] tokio::task::JoinError),
    /// Accepting or serving HTTP connections failed.
    #[error("HTTP server failed: {0}")]
    Io(#[from] std::io::Error),
}

impl From<rmcp::service::ServerInitializeError> for BaselineError {
    fn from(error: rmcp::service::ServerInitializeError) -> Self {
        Self::Initialize(Box::new(error))
    }
}

/// Serves one MCP session over this process's stdin and stdout until the client closes
/// stdin.
pub async fn serve_stdio() -> Result<(), BaselineError> {
    // The blocking-pool handles, as Berth reads them (`host/src/app.rs`), not rmcp's
    // `stdio_pipes`: the comparison must not measure a different way of doing I/O.
    let (stdin, stdout) = rmcp::transport::stdio();
    serve_io(stdin, stdout).await
}

/// Serves one MCP session of newline-delimited JSON-RPC over `reader` and `writer` (what
/// [`serve_stdio`] does with stdin and stdout) until `reader` ends.
pub async fn serve_io<R, W>(reader: R, writer: W) -> Result<(), BaselineError>
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + 'static,
{
    let running = TextServer::new().serve((reader, writer)).await?;
    let reason = running.waiting().await?;
    tracing::debug!(?reason, "stdio session ended");
    Ok(())
}

/// Serves MCP Streamable HTTP at [`MCP_PATH`] on `listener`, one session per client, until
/// the task is dropped or accepting fails.
pub async fn serve_http(listener: TcpListener) -> Result<(), BaselineError> {
    let addr = listener.local_addr()?;
    // Berth's rmcp settings with its default `[http]` section (`host/src/transport/http.rs`,
    // `host/src/transport/sessions.rs`): Host is checked by Berth's gate, not by rmcp, so
    // rmcp's check is off in both; browsers from this machine may call; 4 MiB bodies;
    // sessions idle for 300 s are closed.
    let config = StreamableHttpServerConfig::default()
        .disable_allowed_hosts()
        .with_allowed_origins(["http://localhost:*", "http://127.0.0.1:*", "http://[::1]:*"])
        .enforce_origin_validation()
        .with_max_request_body_bytes(4096 * 1024);
    let mut sessions = LocalSessionManager::default();
    sessions.session_config.keep_alive = Some(Duration::from_secs(300));
    let server = TextServer::new();
    let service =
        StreamableHttpService::new(move || Ok(server.clone()), Arc::new(sessions), config);
    let app = axum::Router::new().route_service(MCP_PATH, service);
    // As in Berth: MCP messages are small and answered one by one, and without
    // TCP_NODELAY Nagle's algorithm holds each SSE event back until the client's delayed
    // ACK (about 40 ms).
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
        if let Err(error) = tcp.set_nodelay(true) {
            tracing::debug!(%error, "could not set TCP_NODELAY");
        }
    });
    tracing::info!(%addr, path = MCP_PATH, "serving MCP over HTTP");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The MCP server: the `text` plugin's six tools, each a route to one of its functions.
#[derive(Clone)]
pub struct TextServer {
    tools: Arc<ToolRouter<TextServer>>,
}

impl Default for TextServer {
    fn default() -> Self {
        Self::new()
    }
}

impl TextServer {
    /// The server with its tools registered.
    pub fn new() -> Self {
        let tools = ToolRouter::new()
            .with_route((
                tool::<CountArgs>("text_count", COUNT).with_raw_output_schema(output::<Counts>()),
                Self::count,
            ))
            .with_route((
                tool::<ChangeCaseArgs>("text_change_case", CHANGE_CASE),
                Self::change_case,
            ))
            .with_route((
                tool::<RegexFindArgs>("text_regex_find", REGEX_FIND)
                    .with_raw_output_schema(output::<Found>()),
                Self::regex_find,
            ))
            .with_route((
                tool::<RegexReplaceArgs>("text_regex_replace", REGEX_REPLACE)
                    .with_raw_output_schema(output::<Replaced>()),
                Self::regex_replace,
            ))
            .with_route((tool::<DiffArgs>("text_diff", DIFF), Self::diff))
            .with_route((tool::<SlugifyArgs>("text_slugify", SLUGIFY), Self::slugify));
        Self {
            tools: Arc::new(tools),
        }
    }

    fn count(&self, Parameters(args): Parameters<CountArgs>) -> Json<Counts> {
        Json(berth_plugin_text::count(args.text))
    }

    fn change_case(&self, Parameters(args): Parameters<ChangeCaseArgs>) -> String {
        berth_plugin_text::change_case(args.text, args.case)
    }

    fn regex_find(
        &self,
        Parameters(args): Parameters<RegexFindArgs>,
    ) -> Result<Json<Found>, CallToolResult> {
        berth_plugin_text::regex_find(
            args.pattern,
            args.text,
            args.max_matches,
            args.case_insensitive,
        )
        .map(Json)
        .map_err(|error| error_result("text_regex_find", error))
    }

    fn regex_replace(
        &self,
        Parameters(args): Parameters<RegexReplaceArgs>,
    ) -> Result<Json<Replaced>, CallToolResult> {
        berth_plugin_text::regex_replace(
            args.pattern,
            args.replacement,
            args.text,
            args.all,
            args.case_insensitive,
        )
        .map(Json)
        .map_err(|error| error_result("text_regex_replace", error))
    }

    fn diff(&self, Parameters(args): Parameters<DiffArgs>) -> Result<CallToolResult, ErrorData> {
        let output = berth_plugin_text::diff(
            args.old,
            args.new,
            args.context,
            args.old_label,
            args.new_label,
        );
        tool_output(output)
    }

    fn slugify(&self, Parameters(args): Parameters<SlugifyArgs>) -> Result<String, CallToolResult> {
        berth_plugin_text::slugify(args.text, args.separator, args.max_length)
            .map_err(|error| error_result("text_slugify", error))
    }
}

impl ServerHandler for TextServer {
    fn get_info(&self) -> ServerConfig {
        ServerConfig::new(ServerCapabilities::builder().enable_tools().build()).with_server_info(
            Implementation::new("berth-native-baseline", env!("CARGO_PKG_VERSION")),
        )
    }

    async fn list_tools(
        &self,
        _request: Option<PaginatedRequestParams>,
        _context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        Ok(ListToolsResult::with_all_items(self.tools.list_all()))
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        // Berth's protocol error for a name it does not serve (rmcp's router would say
        // "tool not found" without the name).
        if !self.tools.has_route(&request.name) {
            return Err(ErrorData::invalid_params(
                format!("Unknown tool: {}", request.name),
                Some(serde_json::json!({ "tool": request.name })),
            ));
        }
        self.tools
            .call(ToolCallContext::new(self, request, context))
            .await
    }

    fn get_tool(&self, name: &str) -> Option<Tool> {
        self.tools.get(name).cloned()
    }
}

/// A tool's listing: its name as Berth qualifies it, its description, the schema of its
/// arguments and the annotations every `text` tool has (pure functions of their
/// arguments: read-only and idempotent).
fn tool<A: JsonSchema + 'static>(name: &'static str, description: &'static str) -> Tool {
    // rmcp's input schema is the SDK's: draft 2020-12 with the top-level title removed
    // (rmcp also drops the argument struct's own doc, which the SDK's hidden struct lacks).
    let input = schema_for_input::<A>()
        .unwrap_or_else(|problem| panic!("the arguments of {name} are not an object: {problem}"));
    Tool::new(name, description, input)
        .with_annotations(ToolAnnotations::new().read_only(true).idempotent(true))
}

/// The output schema of `T` as the plugin SDK declares it: draft 2020-12 for what `T`
/// accepts, top-level title removed, description kept. rmcp's `schema_for_output`
/// describes the same values but prints them differently (top-level description dropped,
/// `Option` fields required), and the listing must match Berth's.
fn output<T: JsonSchema>() -> Arc<JsonObject> {
    let mut schema = rmcp::model::object(
        SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<T>()
            .to_value(),
    );
    schema.remove("title");
    Arc::new(schema)
}

/// A plugin error as Berth shows it: a tool result with `isError` whose text says which
/// tool failed and why (`host/src/protocol/convert.rs`, `call_error`).
fn error_result(qualified: &str, error: ToolError) -> CallToolResult {
    let message = match error.kind() {
        ToolErrorKind::InvalidArguments => {
            format!("{qualified} rejected its arguments: {}", error.message())
        }
        ToolErrorKind::Failed => format!("{qualified} failed: {}", error.message()),
        // The tool ran and reports a problem: its message is the whole result.
        ToolErrorKind::Result => error.message().to_string(),
    };
    CallToolResult::error(vec![ContentBlock::text(message)])
}

/// A tool's hand-built output as an MCP result: its text blocks, structured content and
/// error flag. The `text` plugin's only such tool (`diff`) returns text alone; any other
/// kind of block would be this server's bug, reported as an internal error.
fn tool_output(output: ToolOutput) -> Result<CallToolResult, ErrorData> {
    let content = output
        .content()
        .iter()
        .map(|block| match block {
            PluginContent::Text(text) => Ok(ContentBlock::text(text.clone())),
            _ => Err(ErrorData::internal_error(
                "the baseline only forwards text content",
                None,
            )),
        })
        .collect::<Result<Vec<_>, _>>()?;
    let mut result = if output.is_error() {
        CallToolResult::error(content)
    } else {
        CallToolResult::success(content)
    };
    result.structured_content = output.structured_value().cloned();
    Ok(result)
}

// The tools' descriptions and arguments, as the plugin's doc comments declare them
// (`plugins/text/src/lib.rs`); `tests/e2e/baseline.rs` fails if they drift apart. Unknown
// fields are refused, as the SDK refuses them.

const COUNT: &str = "Counts the bytes, characters, graphemes (user-perceived characters), words, lines and\nsentences of `text`, exactly.";

/// Arguments of `text_count`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct CountArgs {
    /// The text to measure.
    text: String,
}

const CHANGE_CASE: &str = "Converts `text` to another case: upper, lower or title case for prose; snake, constant,\nkebab, camel or pascal case for identifiers (word boundaries are found at spaces,\npunctuation and lower-to-upper transitions, so `parseHTTPResponse` becomes\n`parse_http_response`).";

/// Arguments of `text_change_case`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct ChangeCaseArgs {
    /// The text to convert.
    text: String,
    /// The target case.
    case: Case,
}

const REGEX_FIND: &str = "Finds the matches of a regular expression (Rust `regex` syntax: no look-around or\nback-references) in `text`. Returns each match with its byte offsets, line number and\ncapture groups, and the total number of matches.";

/// Arguments of `text_regex_find`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RegexFindArgs {
    /// The regular expression, e.g. `(?P<key>\w+)=(\d+)`.
    pattern: String,
    /// The text to search.
    text: String,
    /// The most matches to return (default 100, at most 10000); `total` still counts all.
    max_matches: Option<usize>,
    /// Match letters case-insensitively (default false).
    case_insensitive: Option<bool>,
}

const REGEX_REPLACE: &str = "Replaces the matches of a regular expression in `text`: every match, or only the\nfirst. The replacement may refer to capture groups as `$1` or `${name}` (`$$` for a\nliteral `$`).";

/// Arguments of `text_regex_replace`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct RegexReplaceArgs {
    /// The regular expression (Rust `regex` syntax).
    pattern: String,
    /// The replacement, e.g. `${key}: $2`.
    replacement: String,
    /// The text to change.
    text: String,
    /// Replace every match (default true) or only the first (false).
    all: Option<bool>,
    /// Match letters case-insensitively (default false).
    case_insensitive: Option<bool>,
}

const DIFF: &str = "Compares two texts line by line and returns a unified diff (as `diff -u` prints it),\nplus the number of inserted and deleted lines as structured content.";

/// Arguments of `text_diff`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct DiffArgs {
    /// The original text.
    old: String,
    /// The changed text.
    new: String,
    /// Unchanged lines shown around each change (default 3).
    context: Option<usize>,
    /// Label of the original in the header (default `old`).
    old_label: Option<String>,
    /// Label of the changed text in the header (default `new`).
    new_label: Option<String>,
}

const SLUGIFY: &str = "Turns `text` into a URL slug: accents removed (`Crème brûlée` → `creme-brulee`),\nlowercase, runs of anything but letters and digits replaced by one separator, no\nseparator at either end.";

/// Arguments of `text_slugify`.
#[derive(Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
struct SlugifyArgs {
    /// The text to turn into a slug.
    text: String,
    /// The separator (default `-`).
    separator: Option<String>,
    /// The longest slug to return, in characters; cut at a separator when possible.
    max_length: Option<usize>,
}
