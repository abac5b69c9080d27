//! Procedural macros of `berth-plugin-sdk`: `#[tool]`, `#[resource]`,
//! `#[resource_template]`, `#[prompt]`, `#[completion]`, `#[on_event]` and `export!`.
//!
//! Use them through `berth_plugin_sdk` (or its prelude), which documents them in full;
//! their expansions name items of that crate by absolute path. Each attribute leaves the
//! function unchanged and adds a hidden companion constant that `export!` collects. What
//! can be checked from the tokens alone (names, doc comments, template variables versus
//! parameters) is a compile error here; the rest is checked by the SDK at `describe` time.
//!
//! Layout:
//! * `common` — doc comments, names, attribute options and parameter classification.
//! * `tool` — the `#[tool]` expansion.
//! * `resource` — the `#[resource]` and `#[resource_template]` expansions.
//! * `prompt` — the `#[prompt]` expansion.
//! * `completion` — the `#[completion]` expansion.
//! * `event` — the `#[on_event]` expansion.
//! * `export` — the `export!` expansion.

use proc_macro::TokenStream;

mod common;
mod completion;
mod event;
mod export;
mod prompt;
mod resource;
mod tool;

/// Turns a documented function into an MCP tool. See `berth_plugin_sdk::tool`.
#[proc_macro_attribute]
pub fn tool(attr: TokenStream, item: TokenStream) -> TokenStream {
    tool::expand(attr.into(), item.into()).into()
}

/// Turns a documented function into a static MCP resource. See
/// `berth_plugin_sdk::resource`.
#[proc_macro_attribute]
pub fn resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    resource::expand_resource(attr.into(), item.into()).into()
}

/// Turns a documented function into an MCP resource template. See
/// `berth_plugin_sdk::resource_template`.
#[proc_macro_attribute]
pub fn resource_template(attr: TokenStream, item: TokenStream) -> TokenStream {
    resource::expand_template(attr.into(), item.into()).into()
}

/// Turns a documented function into an MCP prompt. See `berth_plugin_sdk::prompt`.
#[proc_macro_attribute]
pub fn prompt(attr: TokenStream, item: TokenStream) -> TokenStream {
    prompt::expand(attr.into(), item.into()).into()
}

/// Turns a function into a completion provider for a prompt or a resource template. See
/// `berth_plugin_sdk::completion`.
#[proc_macro_attribute]
pub fn completion(attr: TokenStream, item: TokenStream) -> TokenStream {
    completion::expand(attr.into(), item.into()).into()
}

/// Turns a function into an event hook. See `berth_plugin_sdk::on_event`.
#[proc_macro_attribute]
pub fn on_event(attr: TokenStream, item: TokenStream) -> TokenStream {
    event::expand(attr.into(), item.into()).into()
}

/// Declares the plugin's tools, resources, templates, event hooks, prompts and completions
/// and generates the component's exports. See `berth_plugin_sdk::export`.
#[proc_macro]
pub fn export(input: TokenStream) -> TokenStream {
    export::expand(input.into()).into()
}
