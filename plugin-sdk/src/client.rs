//! Requests to the client on the running call's behalf (the contract's `client` import):
//! [`sample`] asks the client's LLM for a completion, [`elicit`] asks its user to fill in
//! a small form.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//! use berth_plugin_sdk::client::{self, SamplingRequest};
//!
//! /// Summarises a text with the client's model.
//! #[tool]
//! fn summarise(text: String) -> Result<String, ToolError> {
//!     let request = SamplingRequest::new(200)
//!         .system_prompt("You write one-sentence summaries.")
//!         .user(text);
//!     let response = client::sample(request)?; // a `ClientError` fails the call
//!     Ok(response.text().unwrap_or_default().to_string())
//! }
//! # berth_plugin_sdk::export!(tools: [summarise]);
//! # fn main() {
//! // Natively there is no client: requests fail with `Unavailable`…
//! assert!(berth_plugin().call("summarise", serde_json::json!({"text": "…"})).is_err());
//! // …unless the test answers them.
//! client::set_sample_for_test(|_request| {
//!     Ok(client::SamplingResponse::new("Short.", "test-model"))
//! });
//! let result = berth_plugin().call("summarise", serde_json::json!({"text": "…"})).unwrap();
//! assert_eq!(result.text(), "Short.");
//! # client::clear_for_test();
//! # }
//! ```
//!
//! A request waits for the client's answer, which may take as long as a person needs to
//! reply; the time counts toward the call's time limit, and a cancelled call abandons it.
//! Outside a client's request (in an event hook, or with a client that did not declare
//! the `sampling` / `elicitation` capability) every request fails with
//! [`ClientError::Unavailable`]. On other targets than `wasm32` (native `cargo test`) there
//! is no client either: requests fail the same way unless a test installs an answer with
//! [`set_sample_for_test`] or [`set_elicit_for_test`].

use std::fmt;

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::__private::bindings::berth::plugin::client as wit;
use crate::{Content, Message, Role, ToolError};

/// Why a request to the client produced no answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ClientError {
    /// There is no client to ask, or it did not declare the capability (`sampling`,
    /// `elicitation`); says which.
    Unavailable(String),
    /// The host refused to send the request: says what is wrong with it.
    InvalidRequest(String),
    /// The client answered with an error: its message.
    Rejected(String),
    /// The client's answer could not be read: elicited content that is not JSON, or not of
    /// the type [`elicit_as`] asked for. (The SDK's own; not a contract variant.)
    InvalidResponse(String),
}

impl fmt::Display for ClientError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ClientError::Unavailable(message) => {
                write!(f, "the client cannot take this request: {message}")
            }
            ClientError::InvalidRequest(message) => {
                write!(f, "the host refused the request: {message}")
            }
            ClientError::Rejected(message) => {
                write!(f, "the client answered with an error: {message}")
            }
            ClientError::InvalidResponse(message) => {
                write!(f, "the client's answer could not be read: {message}")
            }
        }
    }
}

impl std::error::Error for ClientError {}

/// `failed`, with the error's message, so `?` works in a tool.
impl From<ClientError> for ToolError {
    fn from(error: ClientError) -> Self {
        ToolError::failed(error)
    }
}

impl From<wit::ClientError> for ClientError {
    fn from(error: wit::ClientError) -> Self {
        match error {
            wit::ClientError::Unavailable(message) => ClientError::Unavailable(message),
            wit::ClientError::InvalidRequest(message) => ClientError::InvalidRequest(message),
            wit::ClientError::Rejected(message) => ClientError::Rejected(message),
        }
    }
}

/// Which model the client should prefer; every field is advisory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ModelPreferences {
    /// Model names or families, most preferred first (e.g. `claude-3-5-sonnet`).
    pub hints: Vec<String>,
    /// How much cost matters, 0 to 1.
    pub cost_priority: Option<f64>,
    /// How much speed matters, 0 to 1.
    pub speed_priority: Option<f64>,
    /// How much capability matters, 0 to 1.
    pub intelligence_priority: Option<f64>,
}

impl ModelPreferences {
    /// No preferences.
    pub fn new() -> Self {
        Self::default()
    }

    /// Also prefers models named like `hint`.
    pub fn hint(mut self, hint: impl Into<String>) -> Self {
        self.hints.push(hint.into());
        self
    }

    /// Sets how much cost matters, 0 to 1.
    pub fn cost_priority(mut self, priority: f64) -> Self {
        self.cost_priority = Some(priority);
        self
    }

    /// Sets how much speed matters, 0 to 1.
    pub fn speed_priority(mut self, priority: f64) -> Self {
        self.speed_priority = Some(priority);
        self
    }

    /// Sets how much capability matters, 0 to 1.
    pub fn intelligence_priority(mut self, priority: f64) -> Self {
        self.intelligence_priority = Some(priority);
        self
    }
}

/// A request for one LLM completion (MCP `sampling/createMessage`); build it with the
/// chained methods.
///
/// ```
/// use berth_plugin_sdk::client::{ModelPreferences, SamplingRequest};
///
/// let request = SamplingRequest::new(100)
///     .user("What is the capital of France?")
///     .assistant("Paris.")
///     .user("And of Italy?")
///     .system_prompt("Answer with one word.")
///     .temperature(0.2)
///     .stop_sequence("\n")
///     .model_preferences(ModelPreferences::new().hint("claude").speed_priority(0.8));
/// assert_eq!(request.messages.len(), 3);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct SamplingRequest {
    /// The conversation so far; contents must be text, images or audio.
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

impl SamplingRequest {
    /// An empty conversation that may generate up to `max_tokens` tokens.
    pub fn new(max_tokens: u32) -> Self {
        SamplingRequest {
            messages: Vec::new(),
            system_prompt: None,
            max_tokens,
            temperature: None,
            stop_sequences: Vec::new(),
            model_preferences: None,
        }
    }

    /// Appends `message` to the conversation.
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a message from the user.
    pub fn user(self, content: impl Into<Content>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends a message from the model.
    pub fn assistant(self, content: impl Into<Content>) -> Self {
        self.message(Message::assistant(content))
    }

    /// Sets the system prompt.
    pub fn system_prompt(mut self, prompt: impl Into<String>) -> Self {
        self.system_prompt = Some(prompt.into());
        self
    }

    /// Sets the sampling temperature.
    pub fn temperature(mut self, temperature: f64) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// Adds a sequence that ends generation.
    pub fn stop_sequence(mut self, sequence: impl Into<String>) -> Self {
        self.stop_sequences.push(sequence.into());
        self
    }

    /// Sets which model to prefer.
    pub fn model_preferences(mut self, preferences: ModelPreferences) -> Self {
        self.model_preferences = Some(preferences);
        self
    }

    /// The contract's `sampling-request`.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    fn into_wit(self) -> wit::SamplingRequest {
        wit::SamplingRequest {
            messages: self.messages.into_iter().map(Into::into).collect(),
            system_prompt: self.system_prompt,
            max_tokens: self.max_tokens,
            temperature: self.temperature,
            stop_sequences: self.stop_sequences,
            model_preferences: self.model_preferences.map(|p| wit::ModelPreferences {
                hints: p.hints,
                cost_priority: p.cost_priority,
                speed_priority: p.speed_priority,
                intelligence_priority: p.intelligence_priority,
            }),
        }
    }
}

/// The client's completion.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SamplingResponse {
    /// Who speaks it (normally [`Role::Assistant`]).
    pub role: Role,
    /// What the model said.
    pub content: Content,
    /// The model that produced it.
    pub model: String,
    /// Why generation stopped (e.g. `endTurn`, `maxTokens`), if the client said.
    pub stop_reason: Option<String>,
}

impl SamplingResponse {
    /// An assistant's answer from `model` (for tests that answer requests).
    pub fn new(content: impl Into<Content>, model: impl Into<String>) -> Self {
        SamplingResponse {
            role: Role::Assistant,
            content: content.into(),
            model: model.into(),
            stop_reason: None,
        }
    }

    /// The text the model said, if it said text.
    pub fn text(&self) -> Option<&str> {
        self.content.as_text()
    }
}

impl From<wit::SamplingResponse> for SamplingResponse {
    fn from(response: wit::SamplingResponse) -> Self {
        SamplingResponse {
            role: response.role.into(),
            content: response.content.into(),
            model: response.model,
            stop_reason: response.stop_reason,
        }
    }
}

/// What the user did with an elicitation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ElicitAction {
    /// Submitted the form; the content holds the values.
    Accept,
    /// Explicitly declined to answer.
    Decline,
    /// Dismissed the request without choosing.
    Cancel,
}

impl ElicitAction {
    /// `accept`, `decline` or `cancel`, as MCP spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            ElicitAction::Accept => "accept",
            ElicitAction::Decline => "decline",
            ElicitAction::Cancel => "cancel",
        }
    }
}

impl fmt::Display for ElicitAction {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The client's answer to an elicitation.
#[derive(Debug, Clone, PartialEq)]
pub struct Elicitation {
    /// What the user did.
    pub action: ElicitAction,
    /// With [`ElicitAction::Accept`]: the submitted values, a JSON object.
    pub content: Option<Value>,
}

impl Elicitation {
    /// The user submitted `content` (for tests that answer requests).
    pub fn accept(content: Value) -> Self {
        Elicitation {
            action: ElicitAction::Accept,
            content: Some(content),
        }
    }

    /// The user declined or dismissed the request (for tests).
    pub fn without_content(action: ElicitAction) -> Self {
        Elicitation {
            action,
            content: None,
        }
    }

    /// The answer from the contract's `elicit-response`, whose content is JSON text.
    #[cfg_attr(not(target_arch = "wasm32"), allow(dead_code))]
    fn from_wit(response: wit::ElicitResponse) -> Result<Self, ClientError> {
        let action = match response.action {
            wit::ElicitAction::Accept => ElicitAction::Accept,
            wit::ElicitAction::Decline => ElicitAction::Decline,
            wit::ElicitAction::Cancel => ElicitAction::Cancel,
        };
        let content = response
            .content
            .map(|text| {
                serde_json::from_str(&text).map_err(|error| {
                    ClientError::InvalidResponse(format!("the content is not JSON: {error}"))
                })
            })
            .transpose()?;
        Ok(Elicitation { action, content })
    }
}

/// The answer to [`elicit_as`]: the submitted values as `T`, or what the user did instead.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Elicited<T> {
    /// The user submitted the form.
    Accepted(T),
    /// The user explicitly declined to answer.
    Declined,
    /// The user dismissed the request without choosing.
    Cancelled,
}

/// Asks the client to sample its LLM, and waits for the answer.
pub fn sample(request: SamplingRequest) -> Result<SamplingResponse, ClientError> {
    imp::sample(request)
}

/// Asks the client to ask its user for input, and waits for the answer: `message` says
/// what and why, and `schema` is a flat JSON Schema object whose properties are strings,
/// numbers, integers, booleans or enums (MCP `elicitation/create`).
///
/// ```
/// use berth_plugin_sdk::client::{self, ElicitAction};
///
/// let answer = client::elicit(
///     "Which account should I use?",
///     serde_json::json!({
///         "type": "object",
///         "properties": {"email": {"type": "string", "format": "email"}},
///         "required": ["email"],
///     }),
/// );
/// match answer {
///     Ok(elicitation) if elicitation.action == ElicitAction::Accept => { /* use elicitation.content */ }
///     Ok(_) => { /* declined or cancelled */ }
///     Err(error) => { /* no client to ask (always so in a native build) */ let _ = error; }
/// }
/// ```
pub fn elicit(message: &str, schema: Value) -> Result<Elicitation, ClientError> {
    imp::elicit(message, &schema)
}

/// Asks the user for a `T`, with the schema derived from `T` (see [`elicitation_schema`]),
/// and reads the submitted values as a `T`.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
/// use berth_plugin_sdk::client::{self, Elicited};
///
/// /// What to ask the user.
/// #[derive(Deserialize, JsonSchema)]
/// struct Confirm {
///     /// Whether to go ahead.
///     proceed: bool,
/// }
///
/// # client::set_elicit_for_test(|_, _| Ok(client::Elicitation::accept(serde_json::json!({"proceed": true}))));
/// match client::elicit_as::<Confirm>("Delete 3 files?") {
///     Ok(Elicited::Accepted(Confirm { proceed: true })) => { /* delete */ }
///     Ok(_) => { /* keep them */ }
///     Err(error) => { let _ = error; }
/// }
/// # client::clear_for_test();
/// ```
pub fn elicit_as<T: JsonSchema + DeserializeOwned>(
    message: &str,
) -> Result<Elicited<T>, ClientError> {
    let elicitation = elicit(message, elicitation_schema::<T>())?;
    match elicitation.action {
        ElicitAction::Accept => {
            let content = elicitation
                .content
                .unwrap_or_else(|| Value::Object(Default::default()));
            serde_json::from_value(content)
                .map(Elicited::Accepted)
                .map_err(|error| {
                    ClientError::InvalidResponse(format!(
                        "the content does not match the requested schema: {error}"
                    ))
                })
        }
        ElicitAction::Decline => Ok(Elicited::Declined),
        ElicitAction::Cancel => Ok(Elicited::Cancelled),
    }
}

/// The flat schema MCP elicitation wants, derived from `T` (a struct of strings, numbers,
/// booleans and unit enums): the root schema with subschemas inlined, without `$schema`
/// and `title`, and with `Option<X>` fields as plain `X` (they are simply not required).
/// Field doc comments become descriptions; `#[schemars(…)]` attributes such as `email`
/// or `extend("default" = …)` add formats and defaults.
pub fn elicitation_schema<T: JsonSchema>() -> Value {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let mut schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if let Some(object) = schema.as_object_mut() {
        object.remove("$schema");
        object.remove("title");
        object.remove("$defs");
        if let Some(Value::Object(properties)) = object.get_mut("properties") {
            for property in properties.values_mut() {
                drop_null(property);
            }
        }
    }
    schema
}

/// Turns the schema of an `Option<X>` property into the schema of `X`: `"type": ["x",
/// "null"]` becomes `"type": "x"`, and `anyOf: [X, {"type": "null"}]` becomes `X` (keeping
/// the property's own description, title and default).
fn drop_null(property: &mut Value) {
    let Some(object) = property.as_object_mut() else {
        return;
    };
    if let Some(Value::Array(types)) = object.get("type") {
        let types: Vec<Value> = types.iter().filter(|t| *t != "null").cloned().collect();
        let single = match <[Value; 1]>::try_from(types.clone()) {
            Ok([single]) => single,
            Err(_) => Value::Array(types),
        };
        object.insert("type".into(), single);
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.retain(|value| !value.is_null());
        }
    }
    for key in ["anyOf", "oneOf"] {
        let Some(Value::Array(options)) = object.get(key) else {
            continue;
        };
        let is_null = |option: &Value| option.get("type").and_then(Value::as_str) == Some("null");
        if options.len() == 2 && options.iter().any(is_null) {
            let Some(Value::Object(inner)) = options.iter().find(|o| !is_null(o)).cloned() else {
                continue;
            };
            object.remove(key);
            for (name, value) in inner {
                object.entry(name).or_insert(value);
            }
        }
    }
}

/// Answers [`sample`] on the current thread with `handler` (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn set_sample_for_test(
    handler: impl Fn(&SamplingRequest) -> Result<SamplingResponse, ClientError> + 'static,
) {
    imp::SAMPLE.with(|slot| *slot.borrow_mut() = Some(std::rc::Rc::new(handler)));
}

/// Answers [`elicit`] (and [`elicit_as`]) on the current thread with `handler`, which
/// receives the message and the schema (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn set_elicit_for_test(
    handler: impl Fn(&str, &Value) -> Result<Elicitation, ClientError> + 'static,
) {
    imp::ELICIT.with(|slot| *slot.borrow_mut() = Some(std::rc::Rc::new(handler)));
}

/// Removes the answers set on the current thread, so requests fail with
/// [`ClientError::Unavailable`] again (native only).
#[cfg(not(target_arch = "wasm32"))]
pub fn clear_for_test() {
    imp::SAMPLE.with(|slot| *slot.borrow_mut() = None);
    imp::ELICIT.with(|slot| *slot.borrow_mut() = None);
}

#[cfg(target_arch = "wasm32")]
mod imp {
    use serde_json::Value;

    use super::{ClientError, Elicitation, SamplingRequest, SamplingResponse, wit};

    pub(super) fn sample(request: SamplingRequest) -> Result<SamplingResponse, ClientError> {
        wit::sample(&request.into_wit())
            .map(Into::into)
            .map_err(Into::into)
    }

    pub(super) fn elicit(message: &str, schema: &Value) -> Result<Elicitation, ClientError> {
        let response = wit::elicit(message, &schema.to_string())?;
        Elicitation::from_wit(response)
    }
}

#[cfg(not(target_arch = "wasm32"))]
mod imp {
    use std::cell::RefCell;
    use std::rc::Rc;

    use serde_json::Value;

    use super::{ClientError, Elicitation, SamplingRequest, SamplingResponse};

    /// A test's answer to `sample`.
    type SampleHandler = Rc<dyn Fn(&SamplingRequest) -> Result<SamplingResponse, ClientError>>;
    /// A test's answer to `elicit`.
    type ElicitHandler = Rc<dyn Fn(&str, &Value) -> Result<Elicitation, ClientError>>;

    thread_local! {
        // Thread-local because `cargo test` runs tests on parallel threads.
        pub(super) static SAMPLE: RefCell<Option<SampleHandler>> = const { RefCell::new(None) };
        pub(super) static ELICIT: RefCell<Option<ElicitHandler>> = const { RefCell::new(None) };
    }

    fn unavailable(what: &str, setter: &str) -> ClientError {
        ClientError::Unavailable(format!(
            "there is no client to {what} in a native build; a test can answer with \
             `client::{setter}`"
        ))
    }

    pub(super) fn sample(request: SamplingRequest) -> Result<SamplingResponse, ClientError> {
        // Cloned out of the slot so a handler may itself make requests.
        match SAMPLE.with(|slot| slot.borrow().clone()) {
            Some(handler) => handler(&request),
            None => Err(unavailable("sample", "set_sample_for_test")),
        }
    }

    pub(super) fn elicit(message: &str, schema: &Value) -> Result<Elicitation, ClientError> {
        match ELICIT.with(|slot| slot.borrow().clone()) {
            Some(handler) => handler(message, schema),
            None => Err(unavailable("ask", "set_elicit_for_test")),
        }
    }
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use serde::Deserialize;
    use serde_json::json;

    use super::*;

    #[test]
    fn native_requests_are_unavailable_until_a_test_answers() {
        clear_for_test();
        let error = sample(SamplingRequest::new(10).user("hi")).unwrap_err();
        assert!(matches!(&error, ClientError::Unavailable(m) if m.contains("native build")));
        assert!(
            error
                .to_string()
                .starts_with("the client cannot take this request")
        );
        assert!(elicit("?", json!({})).is_err());

        set_sample_for_test(|request| {
            assert_eq!(request.max_tokens, 10);
            Ok(SamplingResponse::new(
                format!("echo {}", request.messages[0].content.as_text().unwrap()),
                "m",
            ))
        });
        let response = sample(SamplingRequest::new(10).user("hi")).unwrap();
        assert_eq!(response.text(), Some("echo hi"));
        assert_eq!(response.role, Role::Assistant);
        clear_for_test();
        assert!(sample(SamplingRequest::new(10)).is_err());
    }

    #[test]
    fn requests_convert_to_the_contract() {
        let request = SamplingRequest::new(5)
            .user("a")
            .assistant("b")
            .system_prompt("s")
            .temperature(0.5)
            .stop_sequence("x")
            .model_preferences(ModelPreferences::new().hint("h").cost_priority(1.0))
            .into_wit();
        assert_eq!(request.messages.len(), 2);
        assert_eq!(request.temperature, Some(0.5));
        let preferences = request.model_preferences.unwrap();
        assert_eq!(preferences.hints, ["h"]);
        assert_eq!(preferences.cost_priority, Some(1.0));
        assert_eq!(preferences.speed_priority, None);
    }

    #[test]
    fn elicit_responses_parse_their_content() {
        let accepted = Elicitation::from_wit(wit::ElicitResponse {
            action: wit::ElicitAction::Accept,
            content: Some(r#"{"a":1}"#.into()),
        })
        .unwrap();
        assert_eq!(accepted, Elicitation::accept(json!({"a": 1})));
        let declined = Elicitation::from_wit(wit::ElicitResponse {
            action: wit::ElicitAction::Decline,
            content: None,
        })
        .unwrap();
        assert_eq!(declined.action.to_string(), "decline");
        assert!(matches!(
            Elicitation::from_wit(wit::ElicitResponse {
                action: wit::ElicitAction::Accept,
                content: Some("not json".into()),
            }),
            Err(ClientError::InvalidResponse(_))
        ));
        assert_eq!(
            ClientError::from(wit::ClientError::Rejected("no".into())),
            ClientError::Rejected("no".into())
        );
    }

    /// A status.
    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    #[serde(rename_all = "lowercase")]
    enum Status {
        Active,
        Inactive,
    }

    /// A form.
    #[derive(Deserialize, JsonSchema, Debug, PartialEq)]
    struct Form {
        /// Your name.
        name: String,
        /// Your age.
        age: Option<u32>,
        /// Your status.
        status: Option<Status>,
        #[schemars(email)]
        email: String,
    }

    #[test]
    fn typed_elicitation_derives_a_flat_schema() {
        let schema = elicitation_schema::<Form>();
        assert_eq!(schema["type"], "object");
        assert!(schema.get("$schema").is_none() && schema.get("title").is_none());
        assert!(schema.get("$defs").is_none(), "{schema}");
        let properties = &schema["properties"];
        assert_eq!(properties["name"]["description"], "Your name.");
        assert_eq!(properties["age"]["type"], "integer");
        assert_eq!(properties["status"]["type"], "string", "{schema}");
        assert_eq!(properties["status"]["enum"], json!(["active", "inactive"]));
        assert_eq!(properties["status"]["description"], "Your status.");
        assert_eq!(properties["email"]["format"], "email");
        assert_eq!(schema["required"], json!(["name", "email"]));

        set_elicit_for_test(|message, schema| {
            assert_eq!(message, "who?");
            assert_eq!(schema["type"], "object");
            Ok(Elicitation::accept(
                json!({"name": "Ada", "status": "active", "email": "a@b.c"}),
            ))
        });
        assert_eq!(
            elicit_as::<Form>("who?").unwrap(),
            Elicited::Accepted(Form {
                name: "Ada".into(),
                age: None,
                status: Some(Status::Active),
                email: "a@b.c".into(),
            })
        );
        set_elicit_for_test(|_, _| Ok(Elicitation::accept(json!({"name": 3}))));
        assert!(matches!(
            elicit_as::<Form>("who?"),
            Err(ClientError::InvalidResponse(_))
        ));
        set_elicit_for_test(|_, _| Ok(Elicitation::without_content(ElicitAction::Cancel)));
        assert_eq!(elicit_as::<Form>("who?").unwrap(), Elicited::Cancelled);
        clear_for_test();
    }
}
