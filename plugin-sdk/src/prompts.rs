//! Prompts: templates a client lists and fills in. Mark a function
//! [`#[prompt]`](crate::prompt) and list it in `export!(prompts: [..])`.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//!
//! /// Asks the model to review a piece of code.
//! #[prompt(title = "Code review")]
//! fn review(
//!     /// The code to review.
//!     code: String,
//!     /// What to focus on (default: everything).
//!     focus: Option<String>,
//! ) -> Vec<Message> {
//!     let focus = focus.unwrap_or_else(|| "everything".to_string());
//!     vec![
//!         Message::user(format!("Review this code, focusing on {focus}:\n\n{code}")),
//!         Message::assistant("Here is my review:"),
//!     ]
//! }
//!
//! berth_plugin_sdk::export!(name: "reviewer", prompts: [review]);
//!
//! # fn main() {
//! let prompts = berth_plugin().prompts();
//! assert_eq!(prompts[0].name, "review");
//! assert!(prompts[0].arguments[0].required && !prompts[0].arguments[1].required);
//! // Tests fill prompts in natively, as the host would.
//! let result = berth_plugin().get_prompt("review", &[("code", "fn f() {}")]).unwrap();
//! assert_eq!(result.messages.len(), 2);
//! assert!(result.text().contains("focusing on everything"));
//! # }
//! ```
//!
//! The host lists a plugin's prompts once per load and serves them under the same name
//! prefix as its tools; filling one in runs like a tool call (the same instances, limits
//! and grants). Argument values are always strings.

use std::borrow::Cow;
use std::fmt;

use crate::__private::bindings::exports::berth::plugin::prompts as wit;
use crate::plugin::{Plugin, check_name};
use crate::wit::CallContext;
use crate::{Context, Message, ToolError, ToolErrorKind};

pub(crate) mod arguments;

/// A filled-in prompt: an optional description of this particular result and the
/// messages, in conversation order.
///
/// ```
/// use berth_plugin_sdk::{Content, PromptResult};
///
/// let result = PromptResult::new()
///     .with_description("A question about one picture")
///     .user(Content::image(vec![1, 2, 3], "image/png"))
///     .user("What is in this picture?");
/// assert_eq!(result.messages().len(), 2);
/// ```
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PromptResult {
    description: Option<String>,
    messages: Vec<Message>,
}

impl PromptResult {
    /// No messages, no description.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets what this result is, when it differs from the prompt's description.
    pub fn with_description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Appends `message`.
    pub fn message(mut self, message: Message) -> Self {
        self.messages.push(message);
        self
    }

    /// Appends a message from the user.
    pub fn user(self, content: impl Into<crate::Content>) -> Self {
        self.message(Message::user(content))
    }

    /// Appends a message from the model.
    pub fn assistant(self, content: impl Into<crate::Content>) -> Self {
        self.message(Message::assistant(content))
    }

    /// The description, if set.
    pub fn description(&self) -> Option<&str> {
        self.description.as_deref()
    }

    /// The messages so far.
    pub fn messages(&self) -> &[Message] {
        &self.messages
    }

    /// The contract's `prompt-result`.
    fn into_wit(self) -> wit::PromptResult {
        wit::PromptResult {
            description: self.description,
            messages: self.messages.into_iter().map(Into::into).collect(),
        }
    }
}

impl From<Vec<Message>> for PromptResult {
    fn from(messages: Vec<Message>) -> Self {
        PromptResult {
            description: None,
            messages,
        }
    }
}

/// Which contract outcome a [`PromptError`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PromptErrorKind {
    /// `prompt-error::invalid-arguments`: an argument value is not acceptable.
    InvalidArguments,
    /// `prompt-error::failed`: filling the prompt in failed.
    Failed,
}

/// Why a prompt could not be filled in.
///
/// | constructor / conversion | becomes |
/// |---|---|
/// | [`PromptError::invalid_arguments`] | `prompt-error::invalid-arguments` |
/// | [`PromptError::failed`] | `prompt-error::failed` |
/// | `From<String>`, `From<&str>`, `From<serde_json::Error>`, `From<std::fmt::Error>`, `From<std::io::Error>`, `From<ClientError>` | `failed` |
/// | `From<ToolError>` | `invalid-arguments` for [`ToolError::invalid_arguments`], else `failed` |
///
/// (A prompt the plugin does not have is `unknown-prompt`; the SDK answers that itself.)
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PromptError {
    kind: PromptErrorKind,
    message: String,
}

impl PromptError {
    /// An argument value is not acceptable: `prompt-error::invalid-arguments`. Name the
    /// argument and say what is wrong with it.
    pub fn invalid_arguments(message: impl fmt::Display) -> Self {
        PromptError {
            kind: PromptErrorKind::InvalidArguments,
            message: message.to_string(),
        }
    }

    /// Filling the prompt in failed: `prompt-error::failed`.
    pub fn failed(message: impl fmt::Display) -> Self {
        PromptError {
            kind: PromptErrorKind::Failed,
            message: message.to_string(),
        }
    }

    /// Which contract outcome this error becomes.
    pub fn kind(&self) -> PromptErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The contract's `prompt-error`.
    fn into_wit(self) -> wit::PromptError {
        match self.kind {
            PromptErrorKind::InvalidArguments => wit::PromptError::InvalidArguments(self.message),
            PromptErrorKind::Failed => wit::PromptError::Failed(self.message),
        }
    }
}

impl fmt::Display for PromptError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for PromptError {}

impl From<String> for PromptError {
    fn from(message: String) -> Self {
        PromptError::failed(message)
    }
}

impl From<&str> for PromptError {
    fn from(message: &str) -> Self {
        PromptError::failed(message)
    }
}

impl From<ToolError> for PromptError {
    fn from(error: ToolError) -> Self {
        match error.kind() {
            ToolErrorKind::InvalidArguments => PromptError::invalid_arguments(error),
            _ => PromptError::failed(error),
        }
    }
}

impl From<crate::client::ClientError> for PromptError {
    fn from(error: crate::client::ClientError) -> Self {
        PromptError::failed(error)
    }
}

impl From<serde_json::Error> for PromptError {
    fn from(error: serde_json::Error) -> Self {
        PromptError::failed(error)
    }
}

impl From<std::fmt::Error> for PromptError {
    fn from(error: std::fmt::Error) -> Self {
        PromptError::failed(error)
    }
}

impl From<std::io::Error> for PromptError {
    fn from(error: std::io::Error) -> Self {
        PromptError::failed(error)
    }
}

/// Return types of `#[prompt]` functions.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be returned from a #[prompt]",
    label = "not a supported prompt return type",
    note = "return `String`, `&'static str`, `Message`, `Vec<Message>`, `PromptResult`, or a `Result<_, PromptError>` of one of those"
)]
pub trait IntoPromptResult {
    /// The filled-in prompt.
    fn into_prompt_result(self) -> Result<PromptResult, PromptError>;
}

/// Implements [`IntoPromptResult`] for text types: one user message.
macro_rules! text_prompt {
    ($($ty:ty),* $(,)?) => {$(
        impl IntoPromptResult for $ty {
            fn into_prompt_result(self) -> Result<PromptResult, PromptError> {
                Ok(PromptResult::new().user(String::from(self)))
            }
        }
    )*};
}

text_prompt!(String, &str, Cow<'_, str>, Box<str>);

impl IntoPromptResult for Message {
    fn into_prompt_result(self) -> Result<PromptResult, PromptError> {
        Ok(PromptResult::new().message(self))
    }
}

impl IntoPromptResult for Vec<Message> {
    fn into_prompt_result(self) -> Result<PromptResult, PromptError> {
        Ok(self.into())
    }
}

impl IntoPromptResult for PromptResult {
    fn into_prompt_result(self) -> Result<PromptResult, PromptError> {
        Ok(self)
    }
}

impl<T: IntoPromptResult, E: Into<PromptError>> IntoPromptResult for Result<T, E> {
    fn into_prompt_result(self) -> Result<PromptResult, PromptError> {
        self.map_err(Into::into)?.into_prompt_result()
    }
}

/// The contract outcome of a prompt function's return value.
#[doc(hidden)]
pub fn prompt_outcome(value: impl IntoPromptResult) -> Result<wit::PromptResult, wit::PromptError> {
    value
        .into_prompt_result()
        .map(PromptResult::into_wit)
        .map_err(PromptError::into_wit)
}

/// The signature of a prompt's generated handler: (name, value) pairs in, contract result
/// out.
type PromptHandler =
    fn(&[(String, String)], &Context) -> Result<wit::PromptResult, wit::PromptError>;

/// What `#[prompt]` generates for one function.
#[doc(hidden)]
#[derive(Debug, Clone, Copy)]
pub struct PromptDef {
    /// Prompt name.
    pub name: &'static str,
    /// Display name.
    pub title: Option<&'static str>,
    /// The doc comment.
    pub description: &'static str,
    /// The arguments, or why they cannot be listed (an `#[args]` type whose schema does
    /// not fit).
    pub arguments: fn() -> Result<Vec<wit::Argument>, String>,
    /// Binds the arguments, calls the function and converts its result.
    pub get: PromptHandler,
    /// The `icon = "…"` sources.
    pub icons: &'static [&'static str],
}

impl Plugin {
    /// The plugin's prompts, as `list-prompts` returns them.
    pub fn prompts(&self) -> Vec<wit::Prompt> {
        self.prompts
            .iter()
            .map(|prompt| wit::Prompt {
                name: prompt.name.to_string(),
                title: prompt.title.map(str::to_string),
                description: Some(prompt.description.trim().to_string()),
                arguments: (prompt.arguments)().unwrap_or_default(),
            })
            .collect()
    }

    /// Fills in prompt `name` with `arguments` (name, value), as the host does: an unknown
    /// prompt is `unknown-prompt`; a missing required argument or one the prompt does not
    /// declare is `invalid-arguments`, and the function is not called.
    pub fn get_prompt_with_context(
        &self,
        name: &str,
        arguments: &[(String, String)],
        context: &Context,
    ) -> Result<wit::PromptResult, wit::PromptError> {
        let Some(prompt) = self.prompts.iter().find(|prompt| prompt.name == name) else {
            return Err(wit::PromptError::UnknownPrompt(format!(
                "plugin `{}` has no prompt `{name}`; it has: {}",
                self.name,
                list(self.prompts.iter().map(|prompt| prompt.name))
            )));
        };
        let declared = (prompt.arguments)().map_err(wit::PromptError::Failed)?;
        for (given, _) in arguments {
            if !declared.iter().any(|argument| argument.name == *given) {
                return Err(wit::PromptError::InvalidArguments(format!(
                    "prompt `{name}` has no argument `{given}`; it has: {}",
                    list(declared.iter().map(|argument| argument.name.as_str()))
                )));
            }
        }
        if let Some(missing) = declared.iter().find(|argument| {
            argument.required && !arguments.iter().any(|(n, _)| *n == argument.name)
        }) {
            return Err(wit::PromptError::InvalidArguments(format!(
                "missing required argument `{}`",
                missing.name
            )));
        }
        (prompt.get)(arguments, context)
    }

    /// Fills in prompt `name` with `arguments` and a default [`Context`] (shorthand for
    /// tests).
    pub fn get_prompt(
        &self,
        name: &str,
        arguments: &[(&str, &str)],
    ) -> Result<wit::PromptResult, wit::PromptError> {
        let arguments: Vec<(String, String)> = arguments
            .iter()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        self.get_prompt_with_context(name, &arguments, &Context::default())
    }

    /// Adds the problems of the prompts to `problems`: names, duplicates, argument lists.
    pub(crate) fn prompt_problems(&self, problems: &mut Vec<String>) {
        for (index, prompt) in self.prompts.iter().enumerate() {
            if let Err(problem) = check_name(prompt.name, 64) {
                problems.push(format!("prompt name `{}` {problem}", prompt.name));
            }
            let qualified = self.name.len() + 1 + prompt.name.len();
            if qualified > 64 {
                problems.push(format!(
                    "prompt `{}`: `{}_{}` is {qualified} characters; the host allows 64",
                    prompt.name, self.name, prompt.name
                ));
            }
            if self.prompts[..index].iter().any(|p| p.name == prompt.name) {
                problems.push(format!("two prompts are named `{}`", prompt.name));
            }
            match (prompt.arguments)() {
                Ok(arguments) => {
                    for (index, argument) in arguments.iter().enumerate() {
                        if arguments[..index].iter().any(|a| a.name == argument.name) {
                            problems.push(format!(
                                "prompt `{}`: two arguments are named `{}`",
                                prompt.name, argument.name
                            ));
                        }
                    }
                }
                Err(problem) => problems.push(format!("prompt `{}`: {problem}", prompt.name)),
            }
        }
    }
}

/// `a, b, c`, or `none`.
fn list<'a>(names: impl Iterator<Item = &'a str>) -> String {
    let names: Vec<&str> = names.collect();
    if names.is_empty() {
        "none".to_string()
    } else {
        names.join(", ")
    }
}

impl wit::PromptResult {
    /// The text of the messages, joined with newlines (handy in tests).
    pub fn text(&self) -> String {
        self.messages
            .iter()
            .filter_map(|message| match &message.content {
                crate::wit::ContentBlock::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The `list-prompts` export.
#[doc(hidden)]
pub fn guest_list_prompts(plugin: &Plugin) -> Vec<wit::Prompt> {
    plugin.prompts()
}

/// The `get-prompt` export.
#[doc(hidden)]
pub fn guest_get_prompt(
    plugin: &Plugin,
    name: String,
    arguments: Vec<(String, String)>,
    context: CallContext,
) -> Result<wit::PromptResult, wit::PromptError> {
    plugin.get_prompt_with_context(&name, &arguments, &Context::from(context))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;
    use crate::wit::ContentBlock;
    use crate::wit::chat::Role as WitRole;

    /// Says hello.
    #[prompt]
    fn hello() -> &'static str {
        "Hello!"
    }

    /// Reviews code.
    #[prompt(name = "code-review", title = "Code review")]
    fn review(
        /// The code to review.
        code: &str,
        /// What to focus on.
        focus: Option<String>,
        ctx: &Context,
    ) -> Vec<Message> {
        vec![
            Message::user(format!(
                "Review {code} for {} (asked by {})",
                focus.as_deref().unwrap_or("everything"),
                ctx.client_name().unwrap_or("nobody")
            )),
            Message::assistant("Sure."),
        ]
    }

    /// Arguments of `embed`.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct EmbedArgs {
        /// Where the resource is.
        resource_uri: String,
        /// A display name.
        #[schemars(title = "Label")]
        label: Option<String>,
        /// A mode, which must be `a` or `b`.
        also_required: String,
    }

    /// Embeds a resource.
    #[prompt]
    fn embed(#[args] args: EmbedArgs) -> Result<PromptResult, PromptError> {
        if args.also_required != "a" && args.also_required != "b" {
            return Err(PromptError::invalid_arguments(
                "`alsoRequired` must be a or b",
            ));
        }
        Ok(PromptResult::new()
            .with_description(args.label.unwrap_or_else(|| "unlabelled".into()))
            .user(Content::embedded_resource(
                args.resource_uri,
                ResourceContents::text("body").with_mime_type("text/plain"),
            ))
            .user("Please read it."))
    }

    /// Always fails.
    #[prompt]
    fn broken() -> Result<String, ToolError> {
        Err(ToolError::failed("out of ideas"))
    }

    /// Arguments that cannot be strings.
    #[derive(Deserialize, JsonSchema)]
    struct CountArgs {
        /// A count.
        count: u32,
    }

    /// Has a non-string argument (reported by `validate`).
    #[prompt]
    fn counted(#[args] args: CountArgs) -> String {
        args.count.to_string()
    }

    mod good {
        use super::*;
        crate::export!(name: "prompt-test", prompts: [hello, review, embed, broken]);
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    mod bad {
        use super::*;
        crate::export!(name: "prompt-bad", prompts: [hello, counted, hello]);
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    #[test]
    fn prompts_are_listed_with_their_arguments() {
        let plugin = good::plugin();
        plugin.validate().unwrap();
        let prompts = plugin.prompts();
        let names: Vec<&str> = prompts.iter().map(|p| p.name.as_str()).collect();
        assert_eq!(names, ["hello", "code-review", "embed", "broken"]);
        assert_eq!(prompts[0].description.as_deref(), Some("Says hello."));
        assert!(prompts[0].arguments.is_empty());

        let review = &prompts[1];
        assert_eq!(review.title.as_deref(), Some("Code review"));
        assert_eq!(
            review.arguments,
            [
                wit::Argument {
                    name: "code".into(),
                    title: None,
                    description: Some("The code to review.".into()),
                    required: true,
                },
                wit::Argument {
                    name: "focus".into(),
                    title: None,
                    description: Some("What to focus on.".into()),
                    required: false,
                },
            ]
        );

        // Field order, serde renames, titles and `required` from the schema.
        let embed = &prompts[2].arguments;
        let names: Vec<&str> = embed.iter().map(|a| a.name.as_str()).collect();
        assert_eq!(names, ["resourceUri", "label", "alsoRequired"]);
        assert_eq!(
            embed[0].description.as_deref(),
            Some("Where the resource is.")
        );
        assert!(embed[0].required && !embed[1].required && embed[2].required);
        assert_eq!(embed[1].title.as_deref(), Some("Label"));
        assert_eq!(guest_list_prompts(plugin), prompts);
    }

    #[test]
    fn prompts_fill_in_from_string_arguments() {
        let plugin = good::plugin();
        let hello = plugin.get_prompt("hello", &[]).unwrap();
        assert_eq!(hello.description, None);
        assert_eq!(hello.messages.len(), 1);
        assert_eq!(hello.messages[0].role, WitRole::User);
        assert_eq!(hello.text(), "Hello!");

        let context = Context::default().with_client_name("tester");
        let review = plugin
            .get_prompt_with_context("code-review", &[("code".into(), "f()".into())], &context)
            .unwrap();
        assert_eq!(
            review.text(),
            "Review f() for everything (asked by tester)\nSure."
        );
        assert_eq!(review.messages[1].role, WitRole::Assistant);
        let focused = plugin
            .get_prompt("code-review", &[("focus", "naming"), ("code", "g()")])
            .unwrap();
        assert!(focused.text().starts_with("Review g() for naming"));

        let embedded = guest_get_prompt(
            plugin,
            "embed".into(),
            vec![
                ("resourceUri".into(), "test://x".into()),
                ("alsoRequired".into(), "a".into()),
            ],
            CallContext {
                request_id: None,
                client_name: None,
                client_version: None,
            },
        )
        .unwrap();
        assert_eq!(embedded.description.as_deref(), Some("unlabelled"));
        match &embedded.messages[0].content {
            ContentBlock::Resource(contents) => {
                assert_eq!(contents.uri, "test://x");
                assert_eq!(contents.mime_type.as_deref(), Some("text/plain"));
                assert_eq!(contents.as_text(), Some("body"));
            }
            other => panic!("unexpected {other:?}"),
        }
        assert_eq!(embedded.text(), "Please read it.");
    }

    #[test]
    fn bad_requests_are_typed_errors() {
        let plugin = good::plugin();
        assert!(matches!(
            plugin.get_prompt("missing", &[]),
            Err(wit::PromptError::UnknownPrompt(m)) if m.contains("code-review")
        ));
        assert_eq!(
            plugin.get_prompt("code-review", &[]),
            Err(wit::PromptError::InvalidArguments(
                "missing required argument `code`".into()
            ))
        );
        assert!(matches!(
            plugin.get_prompt("hello", &[("extra", "1")]),
            Err(wit::PromptError::InvalidArguments(m)) if m.contains("no argument `extra`")
        ));
        assert_eq!(
            plugin.get_prompt("embed", &[("resourceUri", "x"), ("alsoRequired", "c")]),
            Err(wit::PromptError::InvalidArguments(
                "`alsoRequired` must be a or b".into()
            ))
        );
        assert_eq!(
            plugin.get_prompt("broken", &[]),
            Err(wit::PromptError::Failed("out of ideas".into()))
        );
    }

    #[test]
    fn validation_reports_duplicates_and_non_string_arguments() {
        let problems = bad::plugin().validate().unwrap_err();
        assert_eq!(problems.len(), 2, "{problems:#?}");
        assert!(
            problems
                .iter()
                .any(|p| p.contains("two prompts are named `hello`"))
        );
        assert!(
            problems
                .iter()
                .any(|p| p.contains("prompt `counted`: argument `count` must be a string"))
        );
        // A prompt whose arguments cannot be listed cannot be filled in either.
        assert!(matches!(
            bad::plugin().get_prompt("counted", &[("count", "1")]),
            Err(wit::PromptError::Failed(_))
        ));
    }

    #[test]
    fn return_values_convert() {
        let result = prompt_outcome(Message::assistant("a")).unwrap();
        assert_eq!(result.messages[0].role, WitRole::Assistant);
        let result = prompt_outcome(Ok::<_, String>(String::from("b"))).unwrap();
        assert_eq!(result.text(), "b");
        assert_eq!(
            prompt_outcome(Err::<String, _>(ToolError::invalid_arguments("x"))),
            Err(wit::PromptError::InvalidArguments("x".into()))
        );
        assert_eq!(
            prompt_outcome(Err::<Vec<Message>, _>("nope")),
            Err(wit::PromptError::Failed("nope".into()))
        );
        let error = PromptError::from(crate::client::ClientError::Unavailable("none".into()));
        assert_eq!(error.kind(), PromptErrorKind::Failed);
        assert!(error.message().contains("none"));
    }
}
