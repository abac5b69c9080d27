//! Write Berth MCP plugins as plain, documented Rust functions.
//!
//! A Berth plugin is a WebAssembly component (`wasm32-wasip2`) that implements the
//! `berth:plugin@0.3.0` contract. This crate hides that contract entirely: you write
//! ordinary functions, put [`#[tool]`](tool), [`#[resource]`](resource),
//! [`#[resource_template]`](resource_template), [`#[prompt]`](prompt),
//! [`#[completion]`](completion) or [`#[on_event]`](on_event) on them, and list them once
//! in [`export!`]. The macros generate the JSON Schemas, the manifest,
//! argument parsing, result conversion and the component exports. Plugins never depend on
//! `wit-bindgen`.
//!
//! # A complete plugin
//!
//! `Cargo.toml`:
//!
//! ```toml
//! [package]
//! name = "berth-plugin-notes"
//! version = "0.1.0"
//! edition = "2024"
//! description = "Keeps short notes"
//!
//! [lib]
//! crate-type = ["cdylib", "rlib"]   # cdylib: the component; rlib: native `cargo test`
//!
//! [dependencies]
//! berth-plugin-sdk = "0.1"
//! serde = { version = "1", features = ["derive"] }   # for your own argument/result types
//! schemars = "1"
//! ```
//!
//! `src/lib.rs`:
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//!
//! /// Reverses the characters of `text`.
//! #[tool(read_only, idempotent)]
//! fn reverse(text: String) -> String {
//!     text.chars().rev().collect()
//! }
//!
//! /// Arguments of `repeat`.
//! #[derive(Deserialize, JsonSchema)]
//! struct RepeatArgs {
//!     /// The text to repeat.
//!     text: String,
//!     /// How many times (default 2).
//!     times: Option<u32>,
//! }
//!
//! /// The result of `repeat`.
//! #[derive(Serialize, JsonSchema)]
//! struct Repeated {
//!     /// The repeated text.
//!     text: String,
//!     /// Its length in bytes.
//!     bytes: usize,
//! }
//!
//! /// Repeats a text several times.
//! #[tool]
//! fn repeat(#[args] args: RepeatArgs) -> Result<Repeated, ToolError> {
//!     let times = args.times.unwrap_or(2);
//!     if times > 100 {
//!         return Err(ToolError::invalid_arguments("`times` must be at most 100"));
//!     }
//!     let text = args.text.repeat(times as usize);
//!     Ok(Repeated { bytes: text.len(), text })
//! }
//!
//! /// How to use the notes plugin.
//! #[resource(uri = "notes://guide", mime_type = "text/markdown")]
//! fn guide() -> &'static str {
//!     "# Notes\n\nCall `notes_repeat`."
//! }
//!
//! /// One note, by name.
//! #[resource_template(uri_template = "notes://notes/{name}", mime_type = "text/plain")]
//! fn note(name: String) -> Result<String, ResourceError> {
//!     match config::get(&format!("note.{name}")) {
//!         Some(text) => Ok(text),
//!         None => Err(ResourceError::not_found(format!("no note named `{name}`"))),
//!     }
//! }
//!
//! berth_plugin_sdk::export!(
//!     name: "notes", // default: the package name, `berth-plugin-notes`
//!     tools: [reverse, repeat],
//!     resources: [guide],
//!     templates: [note],
//! );
//!
//! # fn main() {
//! // Tool functions stay plain Rust: unit tests call them directly…
//! assert_eq!(reverse("abc".into()), "cba");
//! // …and `export!` defines `berth_plugin()`, which drives the plugin the way the host does.
//! let result = berth_plugin().call("repeat", serde_json::json!({"text": "ab"})).unwrap();
//! assert_eq!(result.structured_json().unwrap()["text"], "abab");
//! # }
//! ```
//!
//! Build the component with `cargo build --release --target wasm32-wasip2` (or pin the
//! target in `.cargo/config.toml`) and drop `target/wasm32-wasip2/release/*.wasm` into the
//! host's plugin directory. Its tools appear to clients as `<plugin>_<tool>`, here
//! `notes_reverse` and `notes_repeat`.
//!
//! # The rules in one place
//!
//! * **Names**: a tool is named after its function (override with `name = "…"`), and must
//!   match `[a-zA-Z0-9_-]{1,64}`. The plugin is named after the Cargo package (override in
//!   [`export!`] with `name: "…"`) and must match `[a-zA-Z0-9_-]{1,32}`; clients see each
//!   tool as `<plugin>_<tool>`, at most 64 characters in all. The plugin's version is the
//!   package version and its description the package description.
//! * **Descriptions** come from doc comments. A tool without one does not compile: the doc
//!   comment is what the model reads to decide whether to call it.
//! * **Arguments**: see [`tool`]. Plain parameters become properties of the arguments
//!   object (`Option<T>` ones are optional); or one `#[args]` parameter whose struct *is*
//!   the arguments object. A `&Context` parameter receives the [`Context`].
//! * **Results**: see [`tool`] for the return types and how each one is sent, and
//!   [`ToolError`] for which failure reaches the model and which is a protocol error.
//! * **Host services**: [`log`] writes to the host's log, [`config`] reads the values the
//!   operator configured for the plugin. Both have native stand-ins for `cargo test`.
//! * **Host events**: a function marked [`#[on_event(tool_called, …)]`](on_event) and listed
//!   in `export!(events: [..])` observes what happens in the host; see [`events`]. A plugin
//!   that lists none is never called for events.
//! * **Prompts and completion** are optional too: a plugin that lists none answers with no
//!   prompts and no suggestions.
//! * **Icons** likewise: a plugin that gives none lists none (see [Icons](#icons)).
//!
//! # Prompts
//!
//! A function marked [`#[prompt]`](prompt) and listed in `export!(prompts: [..])` is a prompt
//! template the client lists and fills in. Its doc comment is the description; its `String`
//! parameters are required arguments and its `Option<String>` ones optional (or one
//! `#[args]` struct holds them); it returns text (one user message), [`Message`]s or a
//! [`PromptResult`], or a [`PromptError`]. Messages hold any [`Content`]: text, images,
//! audio, resource links or embedded resources. See [`prompts`].
//!
//! # Completion
//!
//! A function marked [`#[completion(prompt = "…")]`](completion) or
//! `#[completion(template = "…")]` and listed in `export!(completions: [..])` suggests
//! values while the user types an argument of that prompt or a variable of that resource
//! template: `fn(argument: &str, value: &str, chosen: &Chosen) -> Vec<String>` (or
//! [`Completions`]). Targets nothing answers get no values. See [`completions`].
//!
//! # Icons
//!
//! `icon = "…"` on [`#[tool]`](tool), [`#[prompt]`](prompt), [`#[resource]`](resource) or
//! [`#[resource_template]`](resource_template) (repeat it for several) gives the item an
//! image clients may show next to it: an `https:` URL or a `data:` URI, checked at compile
//! time, with the MIME type inferred from the URL's extension or the data URI (an SVG is
//! drawn at `any` size). Icons built in code ([`icons::Icon`], with sizes and a theme) go in
//! `export!(icons: [(Item::tool("name"), Icon::new(src)), ..])`. See [`icons`].
//!
//! # Progress
//!
//! A long call reports how far it got with [`Context::report_progress`] (or
//! [`progress::report`]); the host forwards it when the client asked for progress. Natively,
//! reports are recorded for tests ([`progress::take_for_test`]).
//!
//! # Resource change notices
//!
//! [`resources::changed(uri)`](resources::changed) tells clients subscribed to one of the
//! plugin's resources that its contents changed. Natively, the URIs are recorded for tests.
//!
//! # Requests to the client
//!
//! During a call, [`client::sample`] asks the client's LLM for a completion (build the
//! request with [`client::SamplingRequest`]) and [`client::elicit`] asks its user to fill
//! in a form described by a JSON Schema ([`client::elicit_as`] derives the schema from a
//! type and reads the answer back). Both wait for the answer and fail with a
//! [`client::ClientError`] when there is no client to ask, which is always so natively
//! unless a test installs an answer.
//!
//! # Your own argument and result types
//!
//! Deriving [`Deserialize`](serde::Deserialize) / [`Serialize`](serde::Serialize) /
//! [`JsonSchema`](schemars::JsonSchema) on your own structs needs `serde` and `schemars`
//! as direct dependencies (their derives refer to those crates by name). Without them, name
//! the SDK's copies on each type:
//! `#[serde(crate = "berth_plugin_sdk::serde")]` and
//! `#[schemars(crate = "berth_plugin_sdk::schemars")]`.
//!
//! # Layout
//!
//! * [`prelude`] — everything a plugin usually imports.
//! * [`ToolError`], [`ResourceError`] — the typed failures, and the contract variant each
//!   becomes.
//! * [`ToolOutput`], [`ResourceContents`], [`ResourceLink`] — rich results: content blocks,
//!   structured JSON, resource bodies.
//! * [`Context`] — facts about the request a call serves, and its progress reports.
//! * [`Plugin`] — the exported plugin: manifest, dispatch and validation; also the handle
//!   unit tests use.
//! * [`Message`], [`Content`], [`Role`] — conversation messages, for prompts and sampling.
//! * [`prompts`] — [`PromptResult`], [`PromptError`] and how prompts are listed and filled.
//! * [`completions`] — [`Completions`], [`Chosen`] and how completion requests dispatch.
//! * [`icons`] — [`icons::Icon`], [`icons::Item`] and how icons are listed.
//! * [`log`], [`config`], [`progress`], [`resources`], [`client`] — the host imports, with
//!   native stand-ins.
//! * [`events`] — [`Event`] and the kinds of event a hook can handle.
//! * [`wit`] — the raw contract types, for tests that inspect results.
//! * [`uri_template`] — the RFC 6570 matcher behind resource templates.
//!
//! Note: the macros expand to paths starting with `::berth_plugin_sdk`, so depend on the
//! crate under its own name (no `package =` renames).
#![deny(missing_docs)]

// The macros name this crate by its absolute path; this alias lets the SDK's own unit
// tests and doctests use them too.
extern crate self as berth_plugin_sdk;

mod args;
mod chat;
mod context;
mod convert;
mod error;
mod output;
mod plugin;

pub mod client;
pub mod completions;
pub mod config;
pub mod events;
pub mod icons;
pub mod kv;
pub mod log;
pub mod needs;
pub mod progress;
pub mod prompts;
pub mod resources;

pub use chat::{Content, Message, Role};
pub use completions::{Chosen, Completions};
pub use context::Context;
pub use error::{ResourceError, ResourceErrorKind, ToolError, ToolErrorKind};
pub use events::Event;
pub use output::{ResourceContents, ResourceLink, ToolOutput};
pub use plugin::Plugin;
pub use prompts::{PromptError, PromptErrorKind, PromptResult};

/// The RFC 6570 URI-template matcher that dispatches `read-resource` to templates.
pub use berth_uri_template as uri_template;

/// `schemars` 1.x, as the SDK uses it (for `#[schemars(crate = "berth_plugin_sdk::schemars")]`).
pub use schemars;
/// `serde`, as the SDK uses it (for `#[serde(crate = "berth_plugin_sdk::serde")]`).
pub use serde;
/// `serde_json`, for building structured results and test arguments.
pub use serde_json;

/// Declares the plugin: lists its tools, resources, resource templates, event hooks,
/// prompts and completions, and generates the component exports (`describe`, `call-tool`,
/// `read-resource`, `interests`, `on-event`, `needs`, `list-prompts`, `get-prompt`,
/// `complete`, `icons`).
///
/// ```text
/// berth_plugin_sdk::export!(
///     tools: [reverse, text::count],   // paths of #[tool] functions
///     resources: [guide],              // paths of #[resource] functions
///     templates: [note],               // paths of #[resource_template] functions
///     events: [audit],                 // paths of #[on_event] functions
///     prompts: [review],               // paths of #[prompt] functions
///     completions: [note_names],       // paths of #[completion] functions
///     needs: Needs::new().env("LANG"), // what it needs from the operator (see `needs`)
///     icons: [(Item::tool("reverse"), Icon::new("https://example.com/r.png"))], // see `icons`
///     name: "notes",                   // default: the Cargo package name
///     description: "Keeps notes",      // default: the Cargo package description
/// );
/// ```
///
/// Every entry is optional and they may come in any order. Use it once per plugin, at
/// the crate root. Tools and prompts are listed in the order given; an event goes to every
/// listed hook that handles its kind, in the order given; a completion request goes to the
/// first listed completion function that answers for it.
///
/// Besides the exports (which exist only on `wasm32`), it defines in the invoking module:
///
/// * `fn berth_plugin() -> &'static Plugin` — the plugin exactly as the host sees it, so
///   unit tests can check the manifest ([`Plugin::validate`]), call tools by name
///   ([`Plugin::call`]), read resources ([`Plugin::read`]), deliver events
///   ([`Plugin::on_event`]), fill prompts in ([`Plugin::get_prompt`]), ask for
///   completions ([`Plugin::complete`]) and list icons ([`Plugin::icons`]) natively;
/// * a compile-time check that the default plugin name (the package name) is valid.
///
/// It also stamps the SDK and contract versions into a `berth:sdk` custom section of the
/// component, so tools can tell which SDK built a plugin without running it.
pub use berth_plugin_sdk_macros::export;

/// Turns a documented function into an MCP tool.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// Adds two numbers.
/// #[tool(title = "Add", read_only, idempotent)]
/// fn add(
///     /// The first number.
///     a: f64,
///     /// The second number.
///     b: f64,
/// ) -> f64 {
///     a + b
/// }
/// # berth_plugin_sdk::export!(tools: [add]);
/// # fn main() {
/// assert_eq!(add(1.0, 2.0), 3.0);
/// let schema = &berth_plugin().manifest().tools[0].input_schema;
/// assert!(schema.contains("The second number."));
/// # }
/// ```
///
/// The function itself is left unchanged (tests call it directly); the attribute adds a
/// hidden companion item that [`export!`] finds by the function's path, so a tool in a
/// module is exported as `export!(tools: [module::add])` and must be visible there.
///
/// # Options
///
/// | option | meaning |
/// |---|---|
/// | `name = "…"` | tool name (default: the function name); `[a-zA-Z0-9_-]{1,64}` |
/// | `title = "…"` | human-readable display name |
/// | `read_only` | hint: does not modify its environment |
/// | `destructive` | hint: may perform destructive updates |
/// | `idempotent` | hint: repeating a call with the same arguments has no further effect |
/// | `open_world` | hint: interacts with external entities (network, …) |
/// | `icon = "…"` | an icon: an `https:` URL or a `data:` URI; repeat for several (see [`icons`]) |
///
/// The hints accept `= false` to state the opposite explicitly; left out, they are unset.
///
/// The description is the doc comment (lines joined, trimmed); a tool without a doc
/// comment is a compile error.
///
/// # Parameters
///
/// Either form produces a JSON Schema (draft 2020-12, top-level `"type": "object"`) that
/// the host validates arguments against before calling the plugin:
///
/// * **Plain parameters**: each becomes a property named after it. `Option<T>` parameters
///   may be left out; all others are required; unknown properties are rejected. `&str`,
///   `&[T]` and `&T` parameters are accepted (the value is deserialised owned and lent).
///   A doc comment on a parameter becomes the property's description, and `#[serde(…)]` /
///   `#[schemars(…)]` attributes on it apply to the property (the attribute moves them to a
///   hidden struct, so rustc never sees them on the parameter). No parameters at all gives
///   `{"type": "object", "properties": {}}`.
/// * **One `#[args]` parameter** whose type derives `Deserialize + JsonSchema`: the struct
///   *is* the arguments object, and its field doc comments become property descriptions.
///   Its schema must be an object (a struct or a map, not an enum or a tuple).
///
/// A parameter of type `&Context` (any position) receives the call's [`Context`]; it is
/// not part of the schema. Arguments that do not deserialise fail the call with the
/// contract's `invalid-arguments` error, naming the field.
///
/// # Return types
///
/// | return type | result sent to the client |
/// |---|---|
/// | `String`, `&'static str`, `Cow<str>` | one text block |
/// | [`ToolOutput`] | exactly the blocks, structured content and error flag it holds |
/// | `()` | no content |
/// | any other `T: Serialize` | a text block with the compact JSON; when it serialises to a JSON object, also `structured` content |
/// | `Result<T, E>` with `E: Into<ToolError>` | `Ok` as above; `Err` as described on [`ToolError`] |
///
/// **Output schema**: when the (`Ok`) type is `Serialize + JsonSchema` and its schema is an
/// object, the tool also declares an output schema, and clients can rely on its structured
/// content. A type that is `Serialize` but not `JsonSchema` still works, without an output
/// schema; `String`, `ToolOutput` and `()` never declare one.
pub use berth_plugin_sdk_macros::tool;

/// Turns a documented function into a static MCP resource with a fixed URI.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// The plugin's user guide.
/// #[resource(uri = "docs://demo/guide", title = "Guide", mime_type = "text/markdown")]
/// fn guide() -> &'static str {
///     "# Guide"
/// }
/// # berth_plugin_sdk::export!(resources: [guide]);
/// # fn main() {}
/// ```
///
/// # Options
///
/// | option | meaning |
/// |---|---|
/// | `uri = "…"` | required: the absolute URI, unique across the host |
/// | `name = "…"` | short machine-friendly name (default: the function name) |
/// | `title = "…"` | human-readable display name |
/// | `mime_type = "…"` | MIME type of the contents |
/// | `icon = "…"` | an icon: an `https:` URL or a `data:` URI; repeat for several (see [`icons`]) |
///
/// The description is the doc comment, if any. The function takes no parameters, or only
/// a `&Context`.
///
/// # Return types
///
/// | return type | contents |
/// |---|---|
/// | `String`, `&'static str`, `Cow<str>` | text, with the declared MIME type |
/// | `Vec<u8>`, `&'static [u8]` | a blob, with the declared MIME type |
/// | [`ResourceContents`] / `Vec<ResourceContents>` | as built (URI and MIME type default to the request's and the declared ones) |
/// | `Result<T, E>` with `E: Into<ResourceError>` | `Ok` as above; `Err` as described on [`ResourceError`] |
///
/// ([`ToolError`] converts into [`ResourceError`], so `Result<T, ToolError>` works too.)
pub use berth_plugin_sdk_macros::resource;

/// Turns a documented function into an MCP resource template: a family of resources
/// addressed by an RFC 6570 URI template.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// One chapter of the manual.
/// #[resource_template(uri_template = "docs://demo/chapters/{number}", mime_type = "text/plain")]
/// fn chapter(number: u32) -> Result<String, ResourceError> {
///     match number {
///         1 => Ok("Chapter one".to_string()),
///         _ => Err(ResourceError::not_found(format!("there is no chapter {number}"))),
///     }
/// }
/// # berth_plugin_sdk::export!(templates: [chapter]);
/// # fn main() {
/// # let contents = berth_plugin().read("docs://demo/chapters/1").unwrap();
/// # assert_eq!(contents.len(), 1);
/// # }
/// ```
///
/// # Options
///
/// `uri_template = "…"` (required), and `name`, `title`, `mime_type` and `icon` as for
/// [`resource`]. The description is the doc comment, if any.
///
/// # Parameters
///
/// One parameter per template variable, **named like the variable** (checked at compile
/// time, as is the template's syntax). A parameter's type is `String` or any `FromStr`
/// type (a value that does not parse makes the read fail with `not-found`); `Option<T>`
/// suits query variables (`{?page}`) that may be absent. A `&Context` parameter is also
/// allowed. The return types are those of [`resource`].
///
/// Reads are dispatched to the static resource with exactly the requested URI first,
/// then to the first template (in [`export!`] order) that matches it.
pub use berth_plugin_sdk_macros::resource_template;

/// Turns a function into an event hook: the host calls it with each [`Event`] of the
/// kinds listed.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// Logs which plugins come and go.
/// #[on_event(plugin_loaded, plugin_unloaded)]
/// fn plugins_changed(event: &Event) {
///     match event {
///         Event::PluginLoaded { plugin, version } => {
///             log::log(log::Level::Info, "plugin arrived", &[("plugin", plugin.as_str()), ("version", version.as_str())]);
///         }
///         Event::PluginUnloaded { plugin } => {
///             log::log(log::Level::Info, "plugin left", &[("plugin", plugin.as_str())]);
///         }
///         _ => {}
///     }
/// }
///
/// berth_plugin_sdk::export!(events: [plugins_changed]);
/// # fn main() {}
/// ```
///
/// The kinds, at least one: `plugin_loaded`, `plugin_reloaded`, `plugin_unloaded`,
/// `plugin_load_failed`, `config_applied`, `config_rejected`, `tool_called` (see
/// [`events::EventKind`]). The function takes one `&Event` and returns nothing; list it in
/// [`export!`] as `events: [..]`. The host asks for the union of the kinds of all listed
/// hooks and calls each hook only with its own kinds. A hook cannot fail the host: a panic
/// is logged by the host as a crashed delivery and the next event is delivered as usual.
/// See [`events`] for how and when events arrive.
pub use berth_plugin_sdk_macros::on_event;

/// Turns a documented function into an MCP prompt: a template the client lists and fills
/// in with string arguments.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// Asks the model to explain a topic to a given audience.
/// #[prompt(title = "Explain")]
/// fn explain(
///     /// What to explain.
///     topic: String,
///     /// Who it is for (default: a beginner).
///     audience: Option<String>,
/// ) -> String {
///     let audience = audience.as_deref().unwrap_or("a beginner");
///     format!("Explain {topic} to {audience}.")
/// }
///
/// /// Arguments of `compare`.
/// #[derive(Deserialize, JsonSchema)]
/// #[serde(rename_all = "camelCase")]
/// struct CompareArgs {
///     /// The first thing.
///     left_side: String,
///     /// The second thing.
///     right_side: String,
/// }
///
/// /// Compares two things, with a picture.
/// #[prompt]
/// fn compare(#[args] args: CompareArgs) -> Result<PromptResult, PromptError> {
///     if args.left_side == args.right_side {
///         return Err(PromptError::invalid_arguments("`rightSide` must differ from `leftSide`"));
///     }
///     Ok(PromptResult::new()
///         .user(Content::image(vec![0x89, b'P', b'N', b'G'], "image/png"))
///         .user(format!("Compare {} with {}.", args.left_side, args.right_side)))
/// }
///
/// berth_plugin_sdk::export!(prompts: [explain, compare]);
/// # fn main() {
/// let prompts = berth_plugin().prompts();
/// assert_eq!(prompts[0].arguments[1].description.as_deref(), Some("Who it is for (default: a beginner)."));
/// assert_eq!(prompts[1].arguments[0].name, "leftSide");
/// let filled = berth_plugin().get_prompt("explain", &[("topic", "WIT")]).unwrap();
/// assert_eq!(filled.text(), "Explain WIT to a beginner.");
/// # }
/// ```
///
/// # Options
///
/// | option | meaning |
/// |---|---|
/// | `name = "…"` | prompt name (default: the function name); `[a-zA-Z0-9_-]{1,64}` |
/// | `title = "…"` | human-readable display name |
/// | `icon = "…"` | an icon: an `https:` URL or a `data:` URI; repeat for several (see [`icons`]) |
///
/// The description is the doc comment; a prompt without one is a compile error.
///
/// # Parameters
///
/// Argument values are always strings. Either:
///
/// * **plain parameters**: `String` (or `&str`) ones are required arguments, `Option<String>`
///   ones optional; each is named after the parameter, and a doc comment on it becomes the
///   argument's description; or
/// * **one `#[args]` parameter** whose type derives `Deserialize + JsonSchema`: its
///   top-level properties are the arguments (in field order, serde renames applied), field
///   doc comments their descriptions, and those the schema requires are required. The SDK
///   deserialises it from a JSON object of the string values, so fields are `String` or
///   `Option<String>` (or anything that deserialises from a string).
///
/// A `&Context` parameter (any position) receives the [`Context`]. A call with a missing
/// required argument, or one the prompt does not declare, fails with `invalid-arguments`
/// before the function runs.
///
/// # Return types
///
/// | return type | result |
/// |---|---|
/// | `String`, `&'static str`, `Cow<str>` | one user message with the text |
/// | [`Message`] / `Vec<Message>` | those messages |
/// | [`PromptResult`] | its messages and description |
/// | `Result<T, E>` with `E: Into<PromptError>` | `Ok` as above; `Err` as described on [`PromptError`] |
pub use berth_plugin_sdk_macros::prompt;

/// Turns a function into a completion provider: it suggests values for an argument of one
/// of the plugin's prompts, or a variable of one of its resource templates.
///
/// ```
/// use berth_plugin_sdk::prelude::*;
///
/// /// A city guide.
/// #[prompt]
/// fn guide(city: String, season: Option<String>) -> String {
///     format!("Write a guide to {city} in {}.", season.as_deref().unwrap_or("summer"))
/// }
///
/// /// Suggests cities (and seasons, once a city is chosen).
/// #[completion(prompt = "guide")]
/// fn guide_values(argument: &str, value: &str, chosen: &Chosen) -> Vec<String> {
///     match argument {
///         "city" => Completions::matching(["Paris", "Prague", "Porto"], value).values,
///         "season" if chosen.get("city").is_some() => vec!["spring".into(), "autumn".into()],
///         _ => Vec::new(),
///     }
/// }
///
/// /// One weather report by city.
/// #[resource_template(uri_template = "weather://{city}")]
/// fn weather(city: String) -> String {
///     format!("Sunny in {city}")
/// }
///
/// /// Suggests cities for weather reports.
/// #[completion(template = "weather://{city}", argument = "city")]
/// fn weather_cities(_argument: &str, value: &str, _chosen: &Chosen) -> Result<Completions, String> {
///     Ok(Completions::matching(["Paris", "Lyon"], value).total(2))
/// }
///
/// berth_plugin_sdk::export!(
///     prompts: [guide],
///     templates: [weather],
///     completions: [guide_values, weather_cities],
/// );
/// # fn main() {
/// use berth_plugin_sdk::completions::Target;
/// berth_plugin().validate().unwrap();
/// let cities = berth_plugin().complete(Target::prompt("guide"), "city", "Pr", &[]).unwrap();
/// assert_eq!(cities.values, ["Prague"]);
/// let seasons = berth_plugin()
///     .complete(Target::prompt("guide"), "season", "", &[("city", "Paris")])
///     .unwrap();
/// assert_eq!(seasons.values.len(), 2);
/// let weather = berth_plugin().complete(Target::template("weather://{city}"), "city", "L", &[]).unwrap();
/// assert_eq!((weather.values, weather.total), (vec!["Lyon".to_string()], Some(2)));
/// # }
/// ```
///
/// # Options
///
/// | option | meaning |
/// |---|---|
/// | `prompt = "…"` | complete arguments of the plugin's prompt with this (plugin-local) name |
/// | `template = "…"` | complete variables of the plugin's resource template with this URI template |
/// | `argument = "…"` | only this argument or variable (default: every one) |
///
/// Exactly one of `prompt` and `template`. [`Plugin::validate`] checks that the prompt or
/// template is listed in [`export!`] and has the named argument.
///
/// # Signature
///
/// `fn(argument: &str, value: &str, chosen: &Chosen) -> R`: the argument being completed,
/// what the user typed so far, and the values already chosen for the other arguments. `R` is
/// `Vec<String>`, `Vec<&str>`, [`Completions`] (to set `total` or `has_more`), or
/// `Result<_, E>` of one of those with `E: Display`, whose message the client sees. At most
/// 100 values are sent (see [`Completions`]).
///
/// A request goes to the first function in `export!(completions: [..])` whose target (and
/// `argument`) matches; when none does, the answer is no values.
pub use berth_plugin_sdk_macros::completion;

/// The contract's own types (`berth:plugin/types@0.3.0`, and the prompt and completion
/// types in their submodules), as the generated bindings define them.
///
/// Plugins rarely need these: the macros convert to and from them. They appear in the
/// results of [`Plugin`]'s methods, which unit tests use to check what the host would see.
pub mod wit {
    pub use crate::__private::bindings::berth::plugin::types::*;

    /// The contract's `chat` types (`berth:plugin/chat@0.3.0`), inside prompt results.
    pub mod chat {
        pub use crate::__private::bindings::berth::plugin::chat::{Message, Role};
    }

    /// The contract's `prompts` types (`berth:plugin/prompts@0.3.0`), as
    /// [`Plugin::prompts`](crate::Plugin::prompts) and
    /// [`Plugin::get_prompt`](crate::Plugin::get_prompt) return them.
    pub mod prompts {
        pub use crate::__private::bindings::exports::berth::plugin::prompts::{
            Argument, Prompt, PromptError, PromptResult,
        };
    }

    /// The contract's `completion` types (`berth:plugin/completion@0.3.0`), as
    /// [`Plugin::complete`](crate::Plugin::complete) returns them.
    pub mod completion {
        pub use crate::__private::bindings::exports::berth::plugin::completion::{
            Completions, Target,
        };
    }

    /// The contract's `icons` types (`berth:plugin/icons@0.3.0`), into which
    /// [`Plugin::icons`](crate::Plugin::icons)' list is converted for the host.
    pub mod icons {
        pub use crate::__private::bindings::exports::berth::plugin::icons::{Icon, Item, Theme};
    }
}

/// Everything a plugin usually needs: `use berth_plugin_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Chosen, Completions, Content, Context, Event, Message, PromptError, PromptResult,
        ResourceContents, ResourceError, ResourceLink, ToolError, ToolOutput, client, completion,
        config, kv, log, on_event, progress, prompt, resource, resource_template, resources, tool,
    };
    pub use schemars::JsonSchema;
    pub use serde::{Deserialize, Serialize};
}

/// Support code for the macros' expansions. Not public API: it changes without notice.
#[doc(hidden)]
pub mod __private {
    pub use schemars;
    pub use serde;
    pub use serde_json;
    pub use wit_bindgen;

    pub use crate::args::{parse_args, template_arg, template_opt_arg};
    pub use crate::completions::{CompletionDef, TargetDef, completion_outcome, guest_complete};
    pub use crate::convert::{
        IntoResourceContents, IntoToolError, TextReturn, ToolReturn, input_schema, kinds,
    };
    pub use crate::events::EventHookDef;
    pub use crate::icons::{guest_icons, no_icons};
    pub use crate::needs::guest_needs;
    pub use crate::plugin::{
        Annotations, ResourceDef, TemplateDef, ToolDef, assert_plugin_name, describe,
        guest_call_tool, guest_interests, guest_on_event, guest_read_resource, non_empty,
        tool_error_outcome,
    };
    pub use crate::prompts::arguments::{
        args_arguments, optional_prompt_arg, plain_argument, prompt_args, required_prompt_arg,
    };
    pub use crate::prompts::{PromptDef, guest_get_prompt, guest_list_prompts, prompt_outcome};
    pub use bindings::exports::berth::plugin::completion::Guest as CompletionGuest;
    pub use bindings::exports::berth::plugin::events::Guest as EventsGuest;
    pub use bindings::exports::berth::plugin::guest::Guest;
    pub use bindings::exports::berth::plugin::icons::Guest as IconsGuest;
    pub use bindings::exports::berth::plugin::needs::Guest as NeedsGuest;
    pub use bindings::exports::berth::plugin::prompts::Guest as PromptsGuest;

    /// The contract's `needs` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::needs as wit_needs;

    /// The contract's `events` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::events as wit_events;

    /// The contract's `prompts` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::prompts as wit_prompts;

    /// The contract's `completion` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::completion as wit_completion;

    /// The contract's `icons` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::icons as wit_icons;

    /// The contract types, for the expansions' signatures.
    pub use crate::wit;

    /// Length of [`SDK_STAMP`].
    pub const SDK_STAMP_LEN: usize = STAMP_TEXT.len();
    const STAMP_TEXT: &str = concat!(
        "berth-plugin-sdk ",
        env!("CARGO_PKG_VERSION"),
        "; contract berth:plugin@0.3.0"
    );
    /// The bytes `export!` writes into the component's `berth:sdk` custom section. A custom
    /// section, not an exported symbol, so it costs nothing at run time and cannot clash
    /// with the contract's exports.
    pub const SDK_STAMP: [u8; SDK_STAMP_LEN] = {
        let text = STAMP_TEXT.as_bytes();
        let mut out = [0u8; SDK_STAMP_LEN];
        let mut i = 0;
        while i < SDK_STAMP_LEN {
            out[i] = text[i];
            i += 1;
        }
        out
    };

    /// Bindings generated from `wit/berth-plugin/v0.3`, world `full`: every SDK plugin
    /// exports the event hook, the needs declaration, prompts, completion and icons; one
    /// that lists no hooks answers `interests` with nothing, so the host never calls it for
    /// events, one that declares nothing needs nothing, one without prompts or completions
    /// lists no prompts and suggests no values, and one without icons lists none. The export macro is private
    /// (`__export_plugin`) because plugins call [`crate::export!`] instead.
    /// Bindings generated from `wit/wasi-keyvalue` (`wasi:keyvalue@0.2.0-draft`, imports
    /// only), for [`crate::kv`]. A component imports only what its code calls, so a plugin
    /// that never uses `kv` does not import (or need a grant for) state.
    #[allow(missing_docs, clippy::all)]
    pub mod keyvalue {
        wit_bindgen::generate!({
            path: "../wit/wasi-keyvalue",
            world: "wasi:keyvalue/imports",
            runtime_path: "::berth_plugin_sdk::__private::wit_bindgen::rt",
        });
    }

    #[allow(missing_docs, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit/berth-plugin/v0.3",
            world: "full",
            pub_export_macro: true,
            export_macro_name: "__export_plugin",
            default_bindings_module: "::berth_plugin_sdk::__private::bindings",
            runtime_path: "::berth_plugin_sdk::__private::wit_bindgen::rt",
            additional_derives: [Clone, PartialEq, Eq],
            // These two hold `f64`s, which are not `Eq`. Only the SDK builds them (from its
            // own `client::SamplingRequest`), right before the call, so they need no derives.
            additional_derives_ignore: ["model-preferences", "sampling-request"],
        });
    }
}
