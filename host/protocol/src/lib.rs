//! The MCP face of Berth: rmcp's model and handler types, and the stdio transport.
//! It may use `berth-model`, `berth-runtime` and `berth-core`; the HTTP transport sits
//! above it (`berth-http`).
//!
//! [`BerthServer`] answers every MCP request from the current registry snapshot and the
//! runtime. It owns no plugin state of its own, so the same handler type serves every
//! transport and every client session. Who is asking comes from the transport as a
//! [`Caller`]: lists show an authenticated caller only what its roles grant, and
//! anything else it asks for is refused.

mod cache;
pub mod checks;
pub mod convert;
mod notices;
mod prompts;
pub mod stdio;
pub mod trace;

use std::borrow::Cow;
use std::sync::Arc;
use std::time::Instant;

use rmcp::model::{
    CallToolRequestParams, CallToolResponse, CustomRequest, CustomResult, ErrorCode,
    Implementation, ListResourceTemplatesResult, ListResourcesResult, ListToolsResult,
    PaginatedRequestParams, ProtocolVersion, ReadResourceRequestParams, ReadResourceResponse,
    ServerCapabilities, ServerConfig,
};
use rmcp::service::{NotificationContext, Peer, RequestContext};
use rmcp::{ErrorData, RoleServer, ServerHandler};
use tokio::sync::broadcast;
use tokio_util::sync::{CancellationToken, DropGuard};

use berth_core::access::Identity;
use berth_core::access::Kind;
use berth_core::bus::{Bus, CallOutcome, Event};
use berth_core::registry::{Registry, ToolEntry, page};
use berth_core::state::Served;
use berth_model::manifest::CallContext;
use berth_model::reuse::ReuseScope;
use berth_runtime::{CallError, Limit};

/// The header naming a Streamable HTTP request's session.
const SESSION_HEADER: &str = "mcp-session-id";

/// MCP revisions answered, oldest first: every handshake revision from 2024-11-05 to
/// 2025-11-25, and 2026-07-28 (no handshake; per-request `_meta` and `server/discover`)
/// as far as rmcp implements it.
pub const PROTOCOL_VERSIONS: &[ProtocolVersion] = &[
    ProtocolVersion::V_2024_11_05,
    ProtocolVersion::V_2025_03_26,
    ProtocolVersion::V_2025_06_18,
    ProtocolVersion::V_2025_11_25,
    ProtocolVersion::V_2026_07_28,
];

const INSTRUCTIONS: &str = "Berth serves tools and resources from sandboxed WebAssembly plugins. \
Tool names are `<plugin>_<tool>` unless the operator set another prefix; each tool's \
description says what it does.";

/// Who is asking, as the transport established it. HTTP puts one into each request's
/// extensions; a request from HTTP without one is refused everything (fail closed).
#[derive(Debug, Clone)]
pub enum Caller {
    /// May use everything served: the stdio client (it launched this process) or an
    /// HTTP caller while authentication is off (loopback development only).
    Trusted,
    /// An authenticated HTTP caller, limited to what its roles grant.
    Authenticated(Arc<Identity>),
    /// An HTTP request that reached the handler without passing authentication; it
    /// is shown and allowed nothing.
    Unverified,
}

impl Caller {
    /// Who asked, for logs and events.
    pub fn subject(&self) -> &str {
        match self {
            Caller::Trusted => "(trusted)",
            Caller::Authenticated(identity) => &identity.subject,
            Caller::Unverified => "(unverified)",
        }
    }
}

/// The caller of the request `context` belongs to.
fn caller(extensions: &rmcp::model::Extensions) -> Caller {
    match extensions.get::<http::request::Parts>() {
        Some(parts) => parts
            .extensions
            .get::<Caller>()
            .cloned()
            .unwrap_or(Caller::Unverified),
        None => Caller::Trusted,
    }
}

/// The MCP request handler. [`BerthServer::new`] makes a template; each client session
/// gets its own [`BerthServer::for_session`], which tells that session about list
/// changes for as long as it lives.
#[derive(Clone)]
pub struct BerthServer {
    served: Arc<Served>,
    bus: Bus,
    session: Arc<SessionScope>,
}

/// What one session's handler owns: the bus subscription its notifier will use (taken
/// before the handshake so no change in between goes unannounced), and a token that
/// stops the notifier when the session's handler is dropped.
struct SessionScope {
    events: std::sync::Mutex<Option<broadcast::Receiver<Event>>>,
    /// Subscribed resource URIs, each with the plugin that served it when last looked
    /// at (`None`: nothing did).
    subscriptions: std::sync::Mutex<std::collections::HashMap<String, Option<String>>>,
    /// The client's `logging/setLevel` as a [`level_rank`], or [`LOG_LEVEL_UNSET`].
    log_level: std::sync::atomic::AtomicU8,
    /// Whom the session's calls' plugin instances may serve again: this session; it
    /// ends, and its instances go, when the handler and its last call do.
    reuse: ReuseScope,
    ended: CancellationToken,
    _end_on_drop: DropGuard,
}

impl SessionScope {
    fn new(bus: &Bus) -> Self {
        let ended = CancellationToken::new();
        Self {
            events: std::sync::Mutex::new(Some(bus.subscribe_facts())),
            subscriptions: Default::default(),
            log_level: std::sync::atomic::AtomicU8::new(notices::LOG_LEVEL_UNSET),
            reuse: ReuseScope::session(),
            _end_on_drop: ended.clone().drop_guard(),
            ended,
        }
    }
}

impl SessionScope {
    fn subscriptions(
        &self,
    ) -> std::sync::MutexGuard<'_, std::collections::HashMap<String, Option<String>>> {
        self.subscriptions
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The subscribed URIs whose contents may have changed now that `plugin` was loaded,
    /// reloaded or unloaded (every one when `plugin` is `None`): those it served before
    /// or serves now. Records who serves each one now.
    fn updated_by(&self, plugin: Option<&str>, served: &Served) -> Vec<String> {
        let registry = served.registry();
        let mut updated = Vec::new();
        for (uri, owner) in self.subscriptions().iter_mut() {
            let now = registry.resource_owner(uri).map(|o| o.name().to_string());
            let touched = match plugin {
                None => true,
                Some(plugin) => owner.as_deref() == Some(plugin) || now.as_deref() == Some(plugin),
            };
            if touched {
                updated.push(uri.clone());
            }
            *owner = now;
        }
        updated.sort();
        updated
    }
}

impl BerthServer {
    /// A handler answering from `served`; sessions learn of registry changes from `bus`.
    pub fn new(served: Arc<Served>, bus: Bus) -> Self {
        let session = Arc::new(SessionScope::new(&bus));
        Self {
            served,
            bus,
            session,
        }
    }

    /// A handler for one new client session, sharing everything but the session's
    /// own notifier.
    pub fn for_session(&self) -> Self {
        Self::new(self.served.clone(), self.bus.clone())
    }

    /// The bus that announces registry changes to sessions.
    pub fn bus(&self) -> &Bus {
        &self.bus
    }

    /// The session's `logging/setLevel` threshold (a [`notices::level_rank`]), or
    /// [`notices::LOG_LEVEL_UNSET`].
    fn log_threshold(&self) -> u8 {
        self.session
            .log_level
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The context of a call of `plugin` serving `context` (see
    /// [`notices::call_context`]).
    fn call_context(
        &self,
        context: &RequestContext<RoleServer>,
        plugin: &str,
    ) -> (CallContext, Option<tokio::task::JoinHandle<()>>) {
        let reuse = self.reuse_scope(context);
        notices::call_context(context, plugin, self.log_threshold(), reuse)
    }

    /// Whose later calls may be handed the plugin instance a call of `context` ran in:
    /// the session's, when the request belongs to one (stdio's single session, or an
    /// HTTP request naming its `mcp-session-id`, which rmcp routes to this session's
    /// handler); for a stateless HTTP request, its authenticated identity's; else
    /// nobody's, since an unauthenticated stateless request cannot be told from another
    /// client's.
    fn reuse_scope(&self, context: &RequestContext<RoleServer>) -> Option<ReuseScope> {
        let Some(parts) = context.extensions.get::<http::request::Parts>() else {
            return Some(self.session.reuse.clone());
        };
        if parts.headers.contains_key(SESSION_HEADER) {
            return Some(self.session.reuse.clone());
        }
        match parts.extensions.get::<Caller>() {
            Some(Caller::Authenticated(identity)) => Some(ReuseScope::identity(
                identity.method.as_str(),
                &identity.subject,
            )),
            _ => None,
        }
    }

    /// Whether `caller` may use `name` of `kind` from `plugin`.
    fn allows(&self, caller: &Caller, kind: Kind, plugin: &str, name: &str) -> bool {
        match caller {
            Caller::Trusted => true,
            Caller::Authenticated(identity) => {
                self.served.access().allows(identity, kind, plugin, name)
            }
            Caller::Unverified => false,
        }
    }

    /// One page of `items` as `caller` may see them (`identify` names each item's plugin
    /// and name for the role check), converted. Pages are cut after filtering, so a
    /// restricted caller's cursor walks its own list.
    fn visible_page<T, R>(
        &self,
        items: &[T],
        request: &Option<PaginatedRequestParams>,
        caller: &Caller,
        kind: Kind,
        identify: impl Fn(&T) -> (&str, &str),
        convert: impl Fn(&T) -> R,
    ) -> Result<(Vec<R>, Option<String>), ErrorData> {
        let (cursor, size) = (cursor(request), self.served.page_size());
        if let Caller::Trusted = caller {
            let (items, next) = page(items, cursor, size).map_err(bad_cursor)?;
            return Ok((items.iter().map(convert).collect(), next));
        }
        let visible = visible(items, |item| {
            let (plugin, name) = identify(item);
            self.allows(caller, kind, plugin, name)
        });
        let (items, next) = page(&visible, cursor, size).map_err(bad_cursor)?;
        Ok((items.iter().map(|item| convert(item)).collect(), next))
    }

    /// Counts a finished call of `tool` and tells the plugins watching calls about it.
    fn call_finished(
        &self,
        registry: &Registry,
        tool: &ToolEntry,
        outcome: CallOutcome,
        duration: std::time::Duration,
    ) {
        tool.series.record(outcome, duration);
        if registry.calls_watched() {
            self.bus.publish(Event::ToolCalled {
                plugin: tool.plugin.name().to_string(),
                tool: tool.spec.name.clone(),
                duration,
                outcome,
            });
        }
    }

    /// Logs and announces a request the caller's roles do not allow, and returns
    /// `unknown`: the answer the caller would get if the item did not exist.
    ///
    /// Lists already hide what a caller's roles do not grant, so answering a call the same
    /// way keeps a low-privilege caller from learning which tools, prompts and resources
    /// exist by trying names. The operator still sees the difference (see
    /// [`Self::record_denial`]).
    fn refuse(
        &self,
        caller: &Caller,
        kind: Kind,
        plugin: &str,
        name: &str,
        unknown: ErrorData,
    ) -> ErrorData {
        self.record_denial(caller, kind, plugin, name);
        unknown
    }

    /// What an operator learns of a refused request: a log line with the roles that would
    /// allow it, `berth_access_denied_total`, and the bus's `AccessDenied` fact.
    fn record_denial(&self, caller: &Caller, kind: Kind, plugin: &str, name: &str) {
        let subject = caller.subject();
        let access = self.served.access();
        let roles = access.roles_allowing(kind, plugin, name).join(", ");
        tracing::warn!(target: "berth::audit", %subject, kind = kind.as_str(), %plugin, %name, roles_that_allow = %roles, "access denied");
        berth_core::metrics::access_denied(kind.as_str());
        self.bus.publish(Event::AccessDenied {
            subject: subject.to_string(),
            kind: kind.as_str(),
            plugin: plugin.to_string(),
            name: name.to_string(),
        });
    }
}

/// The items of `items` that `keep` accepts, borrowed; the list is only copied when a
/// caller is restricted.
fn visible<T>(items: &[T], keep: impl Fn(&T) -> bool) -> Vec<&T> {
    items.iter().filter(|item| keep(item)).collect()
}

/// Tells one client session about the changes it cares for, until the session ends
/// (`ended`) or the client stops listening: registry changes that alter what it can
/// list, and (for the URIs it subscribed to) a new build of the plugin serving them,
/// which may serve new contents, their plugin going away, or their plugin saying they
/// changed. A lagging subscription
/// (see [`berth_core::bus`]) sends everything: both list notifications and an update for
/// every subscribed URI; the client then re-reads the current snapshot.
///
/// It holds the session weakly: the session's handler owns it, and dropping the handler
/// is what ends the session (and, through `ended`, this task).
async fn notify_session(
    peer: Peer<RoleServer>,
    mut events: broadcast::Receiver<Event>,
    session: std::sync::Weak<SessionScope>,
    ended: CancellationToken,
    served: Arc<Served>,
) {
    let updated_by = |plugin: Option<&str>| match session.upgrade() {
        Some(session) => session.updated_by(plugin, &served),
        None => Vec::new(),
    };
    loop {
        let received = tokio::select! {
            _ = ended.cancelled() => return,
            received = events.recv() => received,
        };
        let (tools, resources, prompts, updated) = match received {
            Ok(Event::RegistryChanged {
                tools_changed,
                resources_changed,
                prompts_changed,
                ..
            }) => (
                tools_changed,
                resources_changed,
                prompts_changed,
                Vec::new(),
            ),
            Ok(
                Event::PluginLoaded { plugin, .. }
                | Event::PluginReloaded { plugin, .. }
                | Event::PluginUnloaded { plugin, .. },
            ) => (false, false, false, updated_by(Some(&plugin))),
            Ok(Event::ResourceChanged { plugin, uri }) => {
                let subscribed = session
                    .upgrade()
                    .is_some_and(|s| s.subscriptions().contains_key(&uri));
                // A plugin speaks only for the URIs it serves now.
                let serves = served
                    .registry()
                    .resource_owner(&uri)
                    .is_some_and(|owner| owner.name() == plugin);
                match subscribed && serves {
                    true => (false, false, false, vec![uri]),
                    false => continue,
                }
            }
            Ok(_) => continue,
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                tracing::warn!(
                    missed,
                    "session fell behind on registry events; sending every list and resource notification"
                );
                (true, true, true, updated_by(None))
            }
            Err(broadcast::error::RecvError::Closed) => return,
        };
        for uri in updated {
            let notice = rmcp::model::ResourceUpdatedNotificationParam::new(uri);
            if peer.notify_resource_updated(notice).await.is_err() {
                return;
            }
        }
        if tools && peer.notify_tool_list_changed().await.is_err() {
            return;
        }
        if resources && peer.notify_resource_list_changed().await.is_err() {
            return;
        }
        if prompts && peer.notify_prompt_list_changed().await.is_err() {
            return;
        }
    }
}

/// The bus's coarse outcome of a call that did not return normally.
fn call_outcome(error: &CallError) -> CallOutcome {
    match error {
        CallError::Guest(_) => CallOutcome::ToolError,
        CallError::Trap { .. } | CallError::Instantiate { .. } => CallOutcome::Crashed,
        CallError::Timeout { .. } => CallOutcome::TimedOut,
        CallError::Cancelled { .. } => CallOutcome::Cancelled,
        // The events contract has no "limit" outcome: dying of the memory cap is a
        // crash, a queue wait that used up the call timeout is a timeout, and a refused
        // (busy) call or an oversized result is an error result the client sees.
        CallError::LimitExceeded { limit, .. } => match limit {
            Limit::Memory { .. } => CallOutcome::Crashed,
            Limit::QueueWait { .. } => CallOutcome::TimedOut,
            Limit::Busy { .. }
            | Limit::Instances { .. }
            | Limit::ResultSize { .. }
            | Limit::LogOutput { .. } => CallOutcome::ToolError,
        },
    }
}

/// What the client is told, and how the call counts, when `tool`'s arguments were
/// refused by its input schema's check.
fn arguments_refused(tool: &str, refused: checks::CheckError) -> (String, CallOutcome) {
    match refused {
        checks::CheckError::Problems(problems) => (
            format!("invalid arguments for {tool}: {problems}"),
            CallOutcome::InvalidArguments,
        ),
        checks::CheckError::TimedOut(limit) => (
            format!(
                "{tool} did not run: checking its arguments against its input schema did not \
                 finish within {limit:?} (limit call_timeout_ms = {}); the tool's schema is \
                 too costly to check for arguments this large",
                limit.as_millis()
            ),
            CallOutcome::TimedOut,
        ),
    }
}

fn cursor(request: &Option<PaginatedRequestParams>) -> Option<&str> {
    request.as_ref().and_then(|r| r.cursor.as_deref())
}

fn bad_cursor(message: String) -> ErrorData {
    ErrorData::invalid_params(message, None)
}

/// Checks `arguments` against the tool's compiled input schema and describes every
/// violation by field and rule, so the model can correct its call. Runs inline whatever
/// it costs: for callers with no deadline to keep (benchmarks); calls go through
/// [`checks::check`].
pub fn validate_arguments(
    validator: &jsonschema::Validator,
    arguments: &serde_json::Value,
) -> Result<(), String> {
    checks::problems(validator, arguments, ARGUMENTS)
}

/// How a violation at the root of a call's arguments names them.
const ARGUMENTS: &str = "(the arguments object)";

/// Methods Berth serves. rmcp hands a request for one of these to `on_custom_request`
/// when its params do not deserialize, which would otherwise read as "method not found".
const SERVED_METHODS: &[&str] = &[
    "initialize",
    "ping",
    "server/discover",
    "tools/list",
    "tools/call",
    "resources/list",
    "resources/templates/list",
    "resources/read",
    "logging/setLevel",
    "resources/subscribe",
    "resources/unsubscribe",
    "prompts/list",
    "prompts/get",
    "completion/complete",
];

impl ServerHandler for BerthServer {
    async fn on_custom_request(
        &self,
        request: CustomRequest,
        _context: RequestContext<RoleServer>,
    ) -> Result<CustomResult, ErrorData> {
        if SERVED_METHODS.contains(&request.method.as_str()) {
            return Err(ErrorData::invalid_params(
                format!(
                    "Invalid params for {}: they do not match the method's schema (params: {})",
                    request.method,
                    request
                        .params
                        .map_or_else(|| "none".to_string(), |p| p.to_string())
                ),
                None,
            ));
        }
        Err(ErrorData::new(
            ErrorCode::METHOD_NOT_FOUND,
            format!("Method not found: {}", request.method),
            None,
        ))
    }

    // `enable_logging` is deprecated with logging itself (SEP-2577); see `set_level`.
    #[allow(deprecated)]
    fn get_info(&self) -> ServerConfig {
        let capabilities = ServerCapabilities::builder()
            .enable_tools()
            .enable_tool_list_changed()
            .enable_resources()
            .enable_resources_list_changed()
            .enable_resources_subscribe()
            .enable_prompts()
            .enable_prompts_list_changed()
            .enable_completions()
            .enable_logging()
            .build();
        ServerConfig::new(capabilities)
            .with_server_info(
                Implementation::new("berth", env!("CARGO_PKG_VERSION")).with_title("Berth"),
            )
            .with_instructions(INSTRUCTIONS)
    }

    fn supported_protocol_versions(&self) -> Cow<'static, [ProtocolVersion]> {
        Cow::Borrowed(PROTOCOL_VERSIONS)
    }

    async fn on_initialized(&self, context: NotificationContext<RoleServer>) {
        tracing::debug!("client initialized");
        let events = self
            .session
            .events
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .take();
        // A session initializes once; a repeated `initialized` starts nothing new.
        if let Some(events) = events {
            tokio::spawn(notify_session(
                context.peer,
                events,
                Arc::downgrade(&self.session),
                self.session.ended.clone(),
                self.served.clone(),
            ));
        }
    }

    // Deprecated by SEP-2577 (2026-07-28); served for the 2025 revisions' clients.
    #[allow(deprecated)]
    async fn set_level(
        &self,
        request: rmcp::model::SetLevelRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let span = trace::request_span("logging/setLevel", None, &context);
        trace::traced(span, async move {
            let rank = notices::level_rank(request.level);
            self.session
                .log_level
                .store(rank, std::sync::atomic::Ordering::Relaxed);
            Ok(())
        })
        .await
    }

    async fn subscribe(
        &self,
        request: rmcp::model::SubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let span = trace::request_span("resources/subscribe", Some(request.uri.as_str()), &context);
        trace::traced(span, async move {
            // A URI nothing serves yet may be subscribed to: a plugin may serve it later.
            let owner = self
                .served
                .registry()
                .resource_owner(&request.uri)
                .map(|o| o.name().to_string());
            if let Some(plugin) = &owner {
                let caller = caller(&context.extensions);
                if !self.allows(&caller, Kind::Resource, plugin, &request.uri) {
                    // Answered as for a URI nothing serves (accepted), but not recorded: the
                    // caller hears nothing of a resource its roles hide.
                    self.record_denial(&caller, Kind::Resource, plugin, &request.uri);
                    return Ok(());
                }
            }
            self.session.subscriptions().insert(request.uri, owner);
            Ok(())
        })
        .await
    }

    async fn unsubscribe(
        &self,
        request: rmcp::model::UnsubscribeRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<(), ErrorData> {
        let span = trace::request_span(
            "resources/unsubscribe",
            Some(request.uri.as_str()),
            &context,
        );
        trace::traced(span, async move {
            self.session.subscriptions().remove(&request.uri);
            Ok(())
        })
        .await
    }

    async fn list_tools(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListToolsResult, ErrorData> {
        let span = trace::request_span("tools/list", None, &context);
        trace::traced(span, async move {
            let registry = self.served.registry();
            let (tools, next) = self.visible_page(
                registry.tools(),
                &request,
                &caller(&context.extensions),
                Kind::Tool,
                |t| (t.plugin.name(), &t.spec.name),
                convert::tool,
            )?;
            let mut result = ListToolsResult::with_all_items(tools);
            result.next_cursor = next;
            Ok(result)
        })
        .await
    }

    async fn call_tool(
        &self,
        request: CallToolRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<CallToolResponse, ErrorData> {
        let span = trace::request_span("tools/call", Some(request.name.as_ref()), &context);
        // Boxed: the call's state machine is about 4.6 KB (schema checks, the cache, the
        // plugin call), and rmcp moves the future that holds it on the way into its
        // spawned task. memmove is ~5 % of a loaded HTTP call's CPU; this took about a
        // tenth of it off (issue 26), the rest is moves inside rmcp and tokio.
        Box::pin(trace::traced(span, async move {
            // The snapshot is held for the whole call: a swap during the call does not
            // affect it.
            let registry = self.served.registry();
            let unknown = || {
                ErrorData::invalid_params(
                    format!("Unknown tool: {}", request.name),
                    Some(serde_json::json!({ "tool": request.name })),
                )
            };
            let Some(tool) = registry.tool(&request.name) else {
                return Err(unknown());
            };
            let caller = caller(&context.extensions);
            if !self.allows(&caller, Kind::Tool, tool.plugin.name(), &tool.spec.name) {
                let (plugin, name) = (tool.plugin.name(), &tool.spec.name);
                return Err(self.refuse(&caller, Kind::Tool, plugin, name, unknown()));
            }
            let arguments = Arc::new(serde_json::Value::Object(
                request.arguments.unwrap_or_default(),
            ));
            let limit = tool.plugin.plugin.call_timeout();
            let deadline = tokio::time::Instant::now() + limit;
            if let Err(refused) =
                checks::check(&tool.input, &arguments, ARGUMENTS, deadline, limit).await
            {
                let (message, outcome) = arguments_refused(&tool.qualified_name, refused);
                tracing::info!(tool = %tool.qualified_name, problems = %message, "arguments refused by the input schema");
                trace::tool_answered(true);
                self.call_finished(&registry, tool, outcome, std::time::Duration::ZERO);
                return Ok(convert::error_result(message).into());
            }
            let cacheable =
                cache::Cacheable::tool(&self.served, &tool.plugin, &tool.spec, &arguments, &caller);
            if let Some(cacheable) = &cacheable
                && let Some((result, tier)) = cacheable.find::<rmcp::model::CallToolResult>().await
            {
                tracing::debug!(tool = %tool.qualified_name, ?tier, "tool answered from the cache");
                return Ok(result.into());
            }
            let _running = self.served.calls().begin();
            let started = Instant::now();
            let (ctx, forwarder) =
                self.call_context(&context, tool.plugin.name());
            let outcome = tool
                .plugin
                .plugin
                .call_tool(&tool.spec.name, &arguments.to_string(), &ctx, &context.ct)
                .await;
            let duration = started.elapsed();
            notices::notices_delivered(ctx, forwarder).await;
            let elapsed_ms = duration.as_secs_f64() * 1000.0;
            let (result, outcome) = match outcome {
                Ok(output) => {
                    let is_error = output.is_error;
                    // The result's check shares the call's deadline (and whatever the guest
                    // left of it), so a costly schema cannot stretch the call past its limit.
                    let deadline = deadline.max(tokio::time::Instant::now());
                    match convert::checked_tool_output(output, tool.output.as_ref(), deadline, limit)
                        .await
                    {
                        Err(problem) => {
                            tracing::warn!(tool = %tool.qualified_name, elapsed_ms, %problem, "tool result refused");
                            let message = convert::invalid_result(&tool.qualified_name, &problem);
                            (convert::error_result(message), CallOutcome::ToolError)
                        }
                        Ok(result) => {
                            tracing::debug!(tool = %tool.qualified_name, elapsed_ms, is_error, "tool called");
                            let outcome = match is_error {
                                true => CallOutcome::ToolError,
                                false => CallOutcome::Success,
                            };
                            (result, outcome)
                        }
                    }
                }
                Err(error) => {
                    tracing::warn!(tool = %tool.qualified_name, elapsed_ms, %error, "tool call failed");
                    let outcome = call_outcome(&error);
                    (convert::call_error(&tool.qualified_name, error), outcome)
                }
            };
            if let (Some(cacheable), CallOutcome::Success) = (&cacheable, &outcome) {
                cacheable.keep(&result).await;
            }
            trace::tool_answered(!matches!(outcome, CallOutcome::Success));
            self.call_finished(&registry, tool, outcome, duration);
            Ok(result.into())
        }))
        .await
    }

    async fn list_prompts(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::ListPromptsResult, ErrorData> {
        let span = trace::request_span("prompts/list", None, &context);
        trace::traced(span, async move { self.prompt_page(&request, &context) }).await
    }

    async fn get_prompt(
        &self,
        request: rmcp::model::GetPromptRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::GetPromptResponse, ErrorData> {
        let span = trace::request_span("prompts/get", Some(request.name.as_str()), &context);
        trace::traced(span, async move {
            Ok(self.fill_prompt(request, &context).await?.into())
        })
        .await
    }

    async fn complete(
        &self,
        request: rmcp::model::CompleteRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<rmcp::model::CompleteResult, ErrorData> {
        let span = trace::request_span("completion/complete", None, &context);
        trace::traced(span, async move { self.suggest(request, &context).await }).await
    }

    async fn list_resources(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourcesResult, ErrorData> {
        let span = trace::request_span("resources/list", None, &context);
        trace::traced(span, async move {
            let registry = self.served.registry();
            let (resources, next) = self.visible_page(
                registry.resources(),
                &request,
                &caller(&context.extensions),
                Kind::Resource,
                |r| (r.plugin.name(), &r.spec.uri),
                convert::resource,
            )?;
            let mut result = ListResourcesResult::with_all_items(resources);
            result.next_cursor = next;
            Ok(result)
        })
        .await
    }

    async fn list_resource_templates(
        &self,
        request: Option<PaginatedRequestParams>,
        context: RequestContext<RoleServer>,
    ) -> Result<ListResourceTemplatesResult, ErrorData> {
        let span = trace::request_span("resources/templates/list", None, &context);
        trace::traced(span, async move {
            let registry = self.served.registry();
            let (templates, next) = self.visible_page(
                registry.templates(),
                &request,
                &caller(&context.extensions),
                Kind::Resource,
                |t| (t.plugin.name(), &t.spec.uri_template),
                convert::template,
            )?;
            let mut result = ListResourceTemplatesResult::with_all_items(templates);
            result.next_cursor = next;
            Ok(result)
        })
        .await
    }

    async fn read_resource(
        &self,
        request: ReadResourceRequestParams,
        context: RequestContext<RoleServer>,
    ) -> Result<ReadResourceResponse, ErrorData> {
        let span = trace::request_span("resources/read", Some(request.uri.as_str()), &context);
        trace::traced(span, async move {
            let registry = self.served.registry();
            let Some(owner) = registry.resource_owner(&request.uri) else {
                return Err(convert::not_found(&request.uri));
            };
            let caller = caller(&context.extensions);
            if !self.allows(&caller, Kind::Resource, owner.name(), &request.uri) {
                let unknown = convert::not_found(&request.uri);
                return Err(self.refuse(&caller, Kind::Resource, owner.name(), &request.uri, unknown));
            }
            let cacheable = cache::Cacheable::resource(&self.served, owner, &request.uri, &caller);
            if let Some(cacheable) = &cacheable
                && let Some((result, tier)) = cacheable.find::<rmcp::model::ReadResourceResult>().await
            {
                tracing::debug!(plugin = %owner.name(), uri = %request.uri, ?tier, "resource answered from the cache");
                return Ok(result.into());
            }
            let _running = self.served.calls().begin();
            let (ctx, forwarder) = self.call_context(&context, owner.name());
            let read = owner
                .plugin
                .read_resource(&request.uri, &ctx, &context.ct)
                .await;
            notices::notices_delivered(ctx, forwarder).await;
            match read {
                Ok(items) => {
                    let result = convert::read_result(items);
                    if let Some(cacheable) = &cacheable {
                        cacheable.keep(&result).await;
                    }
                    Ok(result.into())
                }
                Err(error) => {
                    tracing::warn!(plugin = %owner.name(), uri = %request.uri, %error, "resource read failed");
                    Err(convert::read_error(&request.uri, error))
                }
            }
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argument_errors_name_field_and_rule() {
        let schema = serde_json::json!({
            "type": "object",
            "properties": { "count": { "type": "integer" } },
            "required": ["count"]
        });
        let validator = jsonschema::validator_for(&schema).unwrap();
        let err = validate_arguments(&validator, &serde_json::json!({ "count": "x" })).unwrap_err();
        assert!(err.contains("`/count`"), "{err}");
        assert!(err.contains("/properties/count/type"), "{err}");
        let err = validate_arguments(&validator, &serde_json::json!({})).unwrap_err();
        assert!(err.contains("count"), "{err}");
        validate_arguments(&validator, &serde_json::json!({ "count": 3 })).unwrap();
    }
}
