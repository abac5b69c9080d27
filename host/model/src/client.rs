//! The client as a running plugin call sees it: what the call may send it (log records
//! and progress, as [`Notice`]s) and what it may ask of it (sampling and elicitation,
//! through [`ClientRequests`]), in Berth's own types.
//!
//! The runtime's capabilities produce these values and the protocol layer turns them
//! into MCP messages on the session the call belongs to, so neither rmcp nor wasmtime
//! types cross this module. It does not decide whether a client may be asked (the
//! protocol layer checks the client's declared capabilities) or enforce progress order
//! (the `progress` capability does).

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::manifest::{ContentBlock, Message, PluginLog, Role};

/// Something a call sends its client while it runs, in the order it happened.
#[derive(Debug, Clone, PartialEq)]
pub enum Notice {
    /// A log record (sent when the client asked for log messages).
    Log(PluginLog),
    /// A progress report (sent when the client asked for progress of this call).
    Progress(Progress),
}

/// One progress report of a running call.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    /// How much is done; greater than in the previous report of the same call.
    pub progress: f64,
    /// How much there is in all, if known.
    pub total: Option<f64>,
    /// What is happening, for people.
    pub message: Option<String>,
}

/// The sending end of a call's notices. Bounded: a plugin that reports faster than the
/// client reads loses the excess rather than stall (the host log keeps its records).
#[derive(Debug, Clone)]
pub struct NoticeSink(pub tokio::sync::mpsc::Sender<Notice>);

impl PartialEq for NoticeSink {
    fn eq(&self, other: &Self) -> bool {
        self.0.same_channel(&other.0)
    }
}

impl Eq for NoticeSink {}

/// Which model a sampling request prefers; advisory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelPreferences {
    /// Model names or families, most preferred first.
    pub hints: Vec<String>,
    /// How much cost matters, 0 to 1.
    pub cost_priority: Option<f64>,
    /// How much speed matters, 0 to 1.
    pub speed_priority: Option<f64>,
    /// How much capability matters, 0 to 1.
    pub intelligence_priority: Option<f64>,
}

/// A plugin's request for one LLM completion (`sampling/createMessage`).
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingRequest {
    /// The conversation so far.
    pub messages: Vec<Message>,
    /// A system prompt the client may use.
    pub system_prompt: Option<String>,
    /// Most tokens to generate.
    pub max_tokens: u32,
    /// Sampling temperature.
    pub temperature: Option<f64>,
    /// Sequences that end generation.
    pub stop_sequences: Vec<String>,
    /// Which model to prefer.
    pub model_preferences: Option<ModelPreferences>,
}

/// The client's completion.
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingResponse {
    /// Who speaks it.
    pub role: Role,
    /// What the model said (text, image or audio).
    pub content: ContentBlock,
    /// The model that produced it.
    pub model: String,
    /// Why generation stopped, if the client said.
    pub stop_reason: Option<String>,
}

/// What the user did with an elicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ElicitAction {
    /// Submitted the form.
    Accept,
    /// Declined to answer.
    Decline,
    /// Dismissed it.
    Cancel,
}

/// The client's answer to an elicitation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElicitResponse {
    /// What the user did.
    pub action: ElicitAction,
    /// With `Accept`: the submitted values, a JSON object as text.
    pub content: Option<String>,
}

/// Why a request to the client produced no answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ClientError {
    /// No client to ask, or it did not declare the capability.
    #[error("{0}")]
    Unavailable(String),
    /// The host refused to send the request.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The client answered with an error.
    #[error("the client refused: {0}")]
    Rejected(String),
}

/// What [`ClientRequests`] methods return: boxed so the trait stays object-safe.
pub type ClientFuture<T> = Pin<Box<dyn Future<Output = Result<T, ClientError>> + Send>>;

/// Requests a running call can make of the client whose request it serves.
pub trait ClientRequests: Send + Sync {
    /// Asks the client to sample its LLM.
    fn sample(&self, request: SamplingRequest) -> ClientFuture<SamplingResponse>;

    /// Asks the client to ask its user; `schema` is the requested schema as JSON text.
    fn elicit(&self, message: String, schema: String) -> ClientFuture<ElicitResponse>;
}

/// A call's way to its client; absent outside a client's request.
#[derive(Clone)]
pub struct ClientLink(pub Arc<dyn ClientRequests>);

impl fmt::Debug for ClientLink {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ClientLink")
    }
}

impl PartialEq for ClientLink {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for ClientLink {}
