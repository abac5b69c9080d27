//! Write Berth MCP plugins as plain, documented Rust functions.
//!
//! A Berth plugin is a WebAssembly component (`wasm32-wasip2`) that implements the
//! `berth:plugin@0.2.0` contract. This crate hides that contract entirely: you write
//! ordinary functions, put [`#[tool]`](tool), [`#[resource]`](resource),
//! [`#[resource_template]`](resource_template) or [`#[on_event]`](on_event) on them, and
//! list them once in [`export!`]. The macros generate the JSON Schemas, the manifest,
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
//! * [`Context`] — facts about the request a call serves.
//! * [`Plugin`] — the exported plugin: manifest, dispatch and validation; also the handle
//!   unit tests use.
//! * [`log`], [`config`] — the host imports, with native stand-ins.
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
mod context;
mod convert;
mod error;
mod output;
mod plugin;

pub mod config;
pub mod events;
pub mod log;
pub mod needs;

pub use context::Context;
pub use error::{ResourceError, ResourceErrorKind, ToolError, ToolErrorKind};
pub use events::Event;
pub use output::{ResourceContents, ResourceLink, ToolOutput};
pub use plugin::Plugin;

/// The RFC 6570 URI-template matcher that dispatches `read-resource` to templates.
pub use berth_uri_template as uri_template;

/// `schemars` 1.x, as the SDK uses it (for `#[schemars(crate = "berth_plugin_sdk::schemars")]`).
pub use schemars;
/// `serde`, as the SDK uses it (for `#[serde(crate = "berth_plugin_sdk::serde")]`).
pub use serde;
/// `serde_json`, for building structured results and test arguments.
pub use serde_json;

/// Declares the plugin: lists its tools, resources, resource templates and event hooks,
/// and generates the component exports (`describe`, `call-tool`, `read-resource`,
/// `interests`, `on-event`).
///
/// ```text
/// berth_plugin_sdk::export!(
///     tools: [reverse, text::count],   // paths of #[tool] functions
///     resources: [guide],              // paths of #[resource] functions
///     templates: [note],               // paths of #[resource_template] functions
///     events: [audit],                 // paths of #[on_event] functions
///     name: "notes",                   // default: the Cargo package name
///     description: "Keeps notes",      // default: the Cargo package description
/// );
/// ```
///
/// Every entry is optional and they may come in any order. Use it once per plugin, at
/// the crate root. Tools are listed in the order given; an event goes to every listed
/// hook that handles its kind, in the order given.
///
/// Besides the exports (which exist only on `wasm32`), it defines in the invoking module:
///
/// * `fn berth_plugin() -> &'static Plugin` — the plugin exactly as the host sees it, so
///   unit tests can check the manifest ([`Plugin::validate`]), call tools by name
///   ([`Plugin::call`]), read resources ([`Plugin::read`]) and deliver events
///   ([`Plugin::on_event`]) natively;
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
/// `uri_template = "…"` (required), and `name`, `title`, `mime_type` as for
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

/// The contract's own types (`berth:plugin/types@0.2.0`), as the generated bindings define
/// them.
///
/// Plugins rarely need these: the macros convert to and from them. They appear in the
/// results of [`Plugin`]'s methods, which unit tests use to check what the host would see.
pub mod wit {
    pub use crate::__private::bindings::berth::plugin::types::*;
}

/// Everything a plugin usually needs: `use berth_plugin_sdk::prelude::*;`.
pub mod prelude {
    pub use crate::{
        Context, Event, ResourceContents, ResourceError, ResourceLink, ToolError, ToolOutput,
        config, log, on_event, resource, resource_template, tool,
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
    pub use crate::convert::{
        IntoResourceContents, IntoToolError, TextReturn, ToolReturn, input_schema, kinds,
    };
    pub use crate::events::EventHookDef;
    pub use crate::needs::guest_needs;
    pub use crate::plugin::{
        Annotations, ResourceDef, TemplateDef, ToolDef, assert_plugin_name, describe,
        guest_call_tool, guest_interests, guest_on_event, guest_read_resource, non_empty,
        tool_error_outcome,
    };
    pub use bindings::exports::berth::plugin::events::Guest as EventsGuest;
    pub use bindings::exports::berth::plugin::guest::Guest;
    pub use bindings::exports::berth::plugin::needs::Guest as NeedsGuest;

    /// The contract's `needs` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::needs as wit_needs;

    /// The contract's `events` types, for the expansions' signatures.
    pub use bindings::exports::berth::plugin::events as wit_events;

    /// The contract types, for the expansions' signatures.
    pub use crate::wit;

    /// Length of [`SDK_STAMP`].
    pub const SDK_STAMP_LEN: usize = STAMP_TEXT.len();
    const STAMP_TEXT: &str = concat!(
        "berth-plugin-sdk ",
        env!("CARGO_PKG_VERSION"),
        "; contract berth:plugin@0.2.0"
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

    /// Bindings generated from `wit/berth-plugin/v0.2`, world `full`: every SDK plugin
    /// exports the event hook and the needs declaration; one that lists no hooks answers
    /// `interests` with nothing, so the host never calls it for events, and one that
    /// declares nothing needs nothing. The export macro is private
    /// (`__export_plugin`) because plugins call [`crate::export!`] instead.
    #[allow(missing_docs, clippy::all)]
    pub mod bindings {
        wit_bindgen::generate!({
            path: "../wit/berth-plugin/v0.2",
            world: "full",
            pub_export_macro: true,
            export_macro_name: "__export_plugin",
            default_bindings_module: "::berth_plugin_sdk::__private::bindings",
            runtime_path: "::berth_plugin_sdk::__private::wit_bindgen::rt",
            additional_derives: [Clone, PartialEq, Eq],
        });
    }
}
