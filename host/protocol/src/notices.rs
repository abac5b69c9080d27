//! What connects a running plugin call to the client it serves: the call's context
//! (who asks, where its log records and progress go, how it reaches the client), the
//! task that forwards its notices as `notifications/message` and `notifications/progress`,
//! and the [`ClientRequests`] implementation that sends `sampling/createMessage` and
//! `elicitation/create` on its behalf.
//!
//! Requests to the client are built as MCP JSON and parsed into rmcp's types, so rmcp's
//! own (de)serialization is the check that what a plugin asked for is well formed; its
//! message is what the plugin is told when it is not.

use std::sync::Arc;

use rmcp::RoleServer;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::service::{Peer, RequestContext};
use serde_json::{Value, json};

use super::convert;
use berth_model::client::{
    ClientError, ClientFuture, ClientLink, ClientRequests, ElicitAction, ElicitResponse, Notice,
    NoticeSink, SamplingRequest, SamplingResponse,
};
use berth_model::manifest::{CallContext, ContentBlock, LogLevel, Media, PluginLog, Role};
use berth_model::reuse::ReuseScope;

/// The context of a call of `plugin` serving the request `context`, and the task that
/// forwards its notices when the client wants any (logs at or above `log_threshold`, a
/// [`level_rank`] or [`LOG_LEVEL_UNSET`]; progress when the request carries a progress
/// token). Its instance may serve later calls of `reuse`. Await the task with
/// [`notices_delivered`] once the call is over.
pub(super) fn call_context(
    context: &RequestContext<RoleServer>,
    plugin: &str,
    log_threshold: u8,
    reuse: Option<ReuseScope>,
) -> (CallContext, Option<tokio::task::JoinHandle<()>>) {
    let client = context.peer.peer_info();
    let progress_token = context.meta.get_progress_token();
    let wants_progress = progress_token.is_some();
    let (notices, forwarder) = match (log_threshold, progress_token) {
        (LOG_LEVEL_UNSET, None) => (None, None),
        (threshold, token) => {
            let (sink, notices) = tokio::sync::mpsc::channel(NOTICE_CAPACITY);
            let forwarder = tokio::spawn(forward_notices(
                context.peer.clone(),
                plugin.to_string(),
                threshold,
                token,
                notices,
            ));
            (Some(NoticeSink(sink)), Some(forwarder))
        }
    };
    let ctx = CallContext {
        request_id: Some(context.id.to_string()),
        client_name: client.as_ref().map(|c| c.client_info.name.clone()),
        client_version: client.as_ref().map(|c| c.client_info.version.clone()),
        notices,
        progress: wants_progress,
        client: Some(ClientLink(Arc::new(PeerClient {
            peer: context.peer.clone(),
        }))),
        reuse,
    };
    (ctx, forwarder)
}

/// Ends a call's notice forwarding: dropping its context closes the sink, and the
/// forwarder then sends what is left, so the notices reach the client before the call's
/// answer.
pub(super) async fn notices_delivered(
    ctx: CallContext,
    forwarder: Option<tokio::task::JoinHandle<()>>,
) {
    drop(ctx);
    if let Some(forwarder) = forwarder {
        let _ = forwarder.await;
    }
}

/// Notices one call may have waiting for the client; more are dropped (the host log
/// still has the records).
const NOTICE_CAPACITY: usize = 256;

/// No `logging/setLevel` yet: plugin log records are not sent to the client.
pub(super) const LOG_LEVEL_UNSET: u8 = u8::MAX;

/// An MCP logging level as a rank, most verbose first (rmcp's type has no order).
// `logging/setLevel` and `notifications/message` are deprecated by SEP-2577 (2026-07-28)
// but are how 2025-11-25 clients ask for log messages, so Berth serves them.
#[allow(deprecated)]
pub(super) fn level_rank(level: rmcp::model::LoggingLevel) -> u8 {
    use rmcp::model::LoggingLevel as L;
    match level {
        L::Debug => 0,
        L::Info => 1,
        L::Notice => 2,
        L::Warning => 3,
        L::Error => 4,
        L::Critical => 5,
        L::Alert => 6,
        L::Emergency => 7,
    }
}

/// The MCP level of a plugin's log record.
#[allow(deprecated)]
fn mcp_level(level: LogLevel) -> rmcp::model::LoggingLevel {
    use rmcp::model::LoggingLevel as L;
    match level {
        LogLevel::Trace | LogLevel::Debug => L::Debug,
        LogLevel::Info => L::Info,
        LogLevel::Warn => L::Warning,
        LogLevel::Error => L::Error,
    }
}

/// Sends a call's notices until the call drops its sink: log records at or above
/// `threshold` as `notifications/message` from logger `plugin`, progress (when the client
/// gave `token`) as `notifications/progress`.
#[allow(deprecated)]
async fn forward_notices(
    peer: Peer<RoleServer>,
    plugin: String,
    threshold: u8,
    token: Option<ProgressToken>,
    mut notices: tokio::sync::mpsc::Receiver<Notice>,
) {
    while let Some(notice) = notices.recv().await {
        let sent = match notice {
            Notice::Log(record) => {
                let level = mcp_level(record.level);
                if threshold == LOG_LEVEL_UNSET || level_rank(level) < threshold {
                    continue;
                }
                let message =
                    rmcp::model::LoggingMessageNotificationParam::new(level, log_data(record))
                        .with_logger(plugin.as_str());
                peer.notify_logging_message(message).await
            }
            Notice::Progress(progress) => {
                let Some(token) = &token else {
                    continue;
                };
                let mut param = ProgressNotificationParam::new(token.clone(), progress.progress);
                if let Some(total) = progress.total {
                    param = param.with_total(total);
                }
                if let Some(message) = progress.message {
                    param = param.with_message(message);
                }
                peer.notify_progress(param).await
            }
        };
        if sent.is_err() {
            return;
        }
    }
}

/// A log record's `data`: the bare message, or an object of it and the fields.
fn log_data(record: PluginLog) -> Value {
    if record.fields.is_empty() {
        return Value::String(record.message);
    }
    let mut object = serde_json::Map::new();
    object.insert("message".into(), record.message.into());
    for (key, value) in record.fields {
        object.entry(key).or_insert(value.into());
    }
    Value::Object(object)
}

/// The client of one session, asked on behalf of a running call.
struct PeerClient {
    peer: Peer<RoleServer>,
}

impl PeerClient {
    /// Refuses at once when the client did not declare `capability` in `initialize`:
    /// asking anyway would only earn a "method not found" after a round trip.
    fn require(
        &self,
        capability: &str,
        declared: impl Fn(&rmcp::model::ClientCapabilities) -> bool,
    ) -> Result<(), ClientError> {
        match self
            .peer
            .peer_info()
            .is_some_and(|info| declared(&info.capabilities))
        {
            true => Ok(()),
            false => Err(ClientError::Unavailable(format!(
                "the client did not declare the `{capability}` capability, so it cannot be asked for it"
            ))),
        }
    }
}

/// Why the client gave no answer, for the plugin.
fn rejected(error: rmcp::ServiceError) -> ClientError {
    match error {
        rmcp::ServiceError::McpError(e) => ClientError::Rejected(e.message.into_owned()),
        other => ClientError::Rejected(other.to_string()),
    }
}

impl ClientRequests for PeerClient {
    // `sampling/createMessage` is deprecated by SEP-2577 (2026-07-28) but is how 2025
    // revisions' clients offer sampling; rmcp refuses it on a 2026 session by itself.
    #[allow(deprecated)]
    fn sample(&self, request: SamplingRequest) -> ClientFuture<SamplingResponse> {
        let checked = self
            .require("sampling", |c| c.sampling.is_some())
            .and_then(|()| sampling_params(request));
        let peer = self.peer.clone();
        Box::pin(async move {
            let params = checked?;
            let result = peer.create_message(params).await.map_err(rejected)?;
            sampling_response(serde_json::to_value(result).unwrap_or_default())
        })
    }

    fn elicit(&self, message: String, schema: String) -> ClientFuture<ElicitResponse> {
        let checked = self
            .require("elicitation", |c| c.elicitation.is_some())
            .and_then(|()| elicit_params(&message, &schema));
        let peer = self.peer.clone();
        Box::pin(async move {
            let params = checked?;
            let result = peer.create_elicitation(params).await.map_err(rejected)?;
            let action = match result.action {
                rmcp::model::ElicitationAction::Accept => ElicitAction::Accept,
                rmcp::model::ElicitationAction::Decline => ElicitAction::Decline,
                // A newer action Berth does not know is treated as the safe one.
                _ => ElicitAction::Cancel,
            };
            let content = result.content.map(|c| c.to_string());
            Ok(ElicitResponse { action, content })
        })
    }
}

fn role_name(role: Role) -> &'static str {
    match role {
        Role::User => "user",
        Role::Assistant => "assistant",
    }
}

/// The `sampling/createMessage` parameters for `request`.
#[allow(deprecated)]
fn sampling_params(
    request: SamplingRequest,
) -> Result<rmcp::model::CreateMessageRequestParams, ClientError> {
    let messages: Vec<Value> = request
        .messages
        .into_iter()
        .map(|m| json!({ "role": role_name(m.role), "content": convert::content_json(m.content) }))
        .collect();
    let mut params = json!({ "messages": messages, "maxTokens": request.max_tokens });
    if let Some(system) = request.system_prompt {
        params["systemPrompt"] = system.into();
    }
    if let Some(temperature) = request.temperature {
        params["temperature"] = temperature.into();
    }
    if !request.stop_sequences.is_empty() {
        params["stopSequences"] = request.stop_sequences.into();
    }
    if let Some(p) = request.model_preferences {
        let hints: Vec<Value> = p
            .hints
            .into_iter()
            .map(|name| json!({ "name": name }))
            .collect();
        let mut preferences = json!({ "hints": hints });
        for (key, value) in [
            ("costPriority", p.cost_priority),
            ("speedPriority", p.speed_priority),
            ("intelligencePriority", p.intelligence_priority),
        ] {
            if let Some(value) = value {
                preferences[key] = value.into();
            }
        }
        params["modelPreferences"] = preferences;
    }
    serde_json::from_value(params).map_err(|e| ClientError::InvalidRequest(e.to_string()))
}

/// The client's sampling answer in Berth's terms, read from its MCP JSON.
fn sampling_response(result: Value) -> Result<SamplingResponse, ClientError> {
    let bad = |why: &str| ClientError::Rejected(format!("the client's answer {why}"));
    let role = match result["role"].as_str() {
        Some("user") => Role::User,
        _ => Role::Assistant,
    };
    // 2025-11-25 lets `content` be one block or an array of them; the first one is kept.
    let content = match &result["content"] {
        Value::Array(blocks) => blocks.first().cloned().unwrap_or_default(),
        block => block.clone(),
    };
    let text = |key: &str| content[key].as_str().map(str::to_string);
    let media = || -> Result<Media, ClientError> {
        use base64::Engine as _;
        let data = base64::engine::general_purpose::STANDARD
            .decode(text("data").unwrap_or_default())
            .map_err(|_| bad("holds media that is not base64"))?;
        Ok(Media {
            data,
            mime_type: text("mimeType").unwrap_or_default(),
        })
    };
    let content = match content["type"].as_str() {
        Some("text") => ContentBlock::Text(text("text").unwrap_or_default()),
        Some("image") => ContentBlock::Image(media()?),
        Some("audio") => ContentBlock::Audio(media()?),
        other => {
            return Err(bad(&format!(
                "holds content of type {} that Berth cannot pass on",
                other.unwrap_or("(none)")
            )));
        }
    };
    Ok(SamplingResponse {
        role,
        content,
        model: result["model"].as_str().unwrap_or_default().to_string(),
        stop_reason: result["stopReason"].as_str().map(str::to_string),
    })
}

/// The `elicitation/create` parameters (form mode) for `message` and `schema`.
fn elicit_params(
    message: &str,
    schema: &str,
) -> Result<rmcp::model::ElicitRequestParams, ClientError> {
    let schema: Value = serde_json::from_str(schema)
        .map_err(|e| ClientError::InvalidRequest(format!("requested schema: not JSON: {e}")))?;
    let params = json!({ "mode": "form", "message": message, "requestedSchema": schema });
    serde_json::from_value(params)
        .map_err(|e| ClientError::InvalidRequest(format!("requested schema: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_model::manifest::Message;

    #[test]
    fn sampling_requests_become_create_message_params() {
        let params = sampling_params(SamplingRequest {
            messages: vec![Message {
                role: Role::User,
                content: ContentBlock::Text("hello".into()),
            }],
            system_prompt: Some("be brief".into()),
            max_tokens: 50,
            temperature: Some(0.5),
            stop_sequences: vec!["END".into()],
            model_preferences: Some(berth_model::client::ModelPreferences {
                hints: vec!["claude".into()],
                speed_priority: Some(0.9),
                ..Default::default()
            }),
        })
        .unwrap();
        let wire = serde_json::to_value(&params).unwrap();
        assert_eq!(wire["messages"][0]["content"]["text"], "hello");
        assert_eq!(wire["maxTokens"], 50);
        assert_eq!(wire["systemPrompt"], "be brief");
        assert_eq!(wire["stopSequences"][0], "END");
        assert_eq!(wire["modelPreferences"]["hints"][0]["name"], "claude");
    }

    #[test]
    fn sampling_answers_are_read_from_one_block_or_an_array() {
        let one = json!({"role":"assistant","content":{"type":"text","text":"hi"},"model":"m","stopReason":"endTurn"});
        let answer = sampling_response(one).unwrap();
        assert_eq!(answer.content, ContentBlock::Text("hi".into()));
        assert_eq!(answer.stop_reason.as_deref(), Some("endTurn"));
        let many = json!({"role":"assistant","content":[{"type":"image","data":"AAE=","mimeType":"image/png"}],"model":"m"});
        let answer = sampling_response(many).unwrap();
        assert!(matches!(answer.content, ContentBlock::Image(ref m) if m.data == [0, 1]));
        let odd = json!({"role":"assistant","content":{"type":"tool_use"},"model":"m"});
        assert!(matches!(
            sampling_response(odd),
            Err(ClientError::Rejected(_))
        ));
    }

    #[test]
    fn elicitation_schemas_are_checked_by_rmcp() {
        let ok = r#"{"type":"object","properties":{"name":{"type":"string","default":"Jo"},"n":{"type":"integer","default":3}},"required":["name"]}"#;
        let params = elicit_params("who?", ok).unwrap();
        let wire = serde_json::to_value(&params).unwrap();
        assert_eq!(
            wire["requestedSchema"]["properties"]["name"]["default"],
            "Jo"
        );
        assert_eq!(wire["message"], "who?");
        let nested = r#"{"type":"object","properties":{"a":{"type":"object"}}}"#;
        assert!(matches!(
            elicit_params("x", nested),
            Err(ClientError::InvalidRequest(_))
        ));
    }
}
