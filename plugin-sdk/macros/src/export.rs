//! The `export!` expansion: the plugin's static tables, `berth_plugin()` for tests, the
//! `Guest` implementations (`guest`, `events`, `needs`, `prompts`, `completion` and
//! `icons`), the component exports (wasm32 only) and the SDK version stamp.
//!
//! It only refers to the companions `#[tool]`, `#[resource]`, `#[resource_template]`,
//! `#[on_event]`, `#[prompt]` and `#[completion]` generate, by rewriting the last segment of
//! each listed path; it never sees their definitions, so a wrong kind of item is reported
//! by rustc as a missing or mistyped constant at the listed path.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{Ident, LitStr, Path, Token, bracketed};

use crate::common::check_name;

/// The parsed `export!(…)` input.
#[derive(Default)]
struct ExportInput {
    tools: Option<Vec<Path>>,
    resources: Option<Vec<Path>>,
    templates: Option<Vec<Path>>,
    events: Option<Vec<Path>>,
    prompts: Option<Vec<Path>>,
    completions: Option<Vec<Path>>,
    needs: Option<syn::Expr>,
    icons: Option<Vec<syn::Expr>>,
    name: Option<LitStr>,
    description: Option<LitStr>,
}

impl Parse for ExportInput {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let mut parsed = ExportInput::default();
        while !input.is_empty() {
            let key: Ident = input.parse()?;
            input.parse::<Token![:]>()?;
            let duplicate = || syn::Error::new(key.span(), format!("`{key}` is given twice"));
            match key.to_string().as_str() {
                list @ ("tools" | "resources" | "templates" | "events" | "prompts"
                | "completions") => {
                    let content;
                    bracketed!(content in input);
                    let paths: Punctuated<Path, Token![,]> =
                        content.parse_terminated(Path::parse_mod_style, Token![,])?;
                    let slot = match list {
                        "tools" => &mut parsed.tools,
                        "resources" => &mut parsed.resources,
                        "templates" => &mut parsed.templates,
                        "prompts" => &mut parsed.prompts,
                        "completions" => &mut parsed.completions,
                        _ => &mut parsed.events,
                    };
                    if slot.is_some() {
                        return Err(duplicate());
                    }
                    *slot = Some(paths.into_iter().collect());
                }
                "name" => {
                    if parsed.name.is_some() {
                        return Err(duplicate());
                    }
                    let name: LitStr = input.parse()?;
                    if let Err(problem) = check_name(&name.value(), 32) {
                        return Err(syn::Error::new(
                            name.span(),
                            format!("invalid plugin name: {problem}"),
                        ));
                    }
                    parsed.name = Some(name);
                }
                "icons" => {
                    if parsed.icons.is_some() {
                        return Err(duplicate());
                    }
                    let content;
                    bracketed!(content in input);
                    let entries: Punctuated<syn::Expr, Token![,]> =
                        content.parse_terminated(syn::Expr::parse, Token![,])?;
                    parsed.icons = Some(entries.into_iter().collect());
                }
                "needs" => {
                    if parsed.needs.is_some() {
                        return Err(duplicate());
                    }
                    parsed.needs = Some(input.parse()?);
                }
                "description" => {
                    if parsed.description.is_some() {
                        return Err(duplicate());
                    }
                    parsed.description = Some(input.parse()?);
                }
                other => {
                    return Err(syn::Error::new(
                        key.span(),
                        format!(
                            "unknown key `{other}`; expected `tools`, `resources`, `templates`, \
                             `events`, `prompts`, `completions`, `needs`, `icons`, `name` or \
                             `description`"
                        ),
                    ));
                }
            }
            if input.is_empty() {
                break;
            }
            input.parse::<Token![,]>()?;
        }
        Ok(parsed)
    }
}

/// `path` with its last segment `f` replaced by `<prefix>f` (same span, so errors point at
/// the listed name).
fn companion(path: &Path, prefix: &str) -> Path {
    let mut path = path.clone();
    if let Some(last) = path.segments.last_mut() {
        let ident = &last.ident;
        last.ident = format_ident!("{}{}", prefix, ident, span = ident.span());
    }
    path
}

/// Expands `export!(input)`.
pub(crate) fn expand(input: TokenStream) -> TokenStream {
    let input: ExportInput = match syn::parse2(input) {
        Ok(input) => input,
        Err(error) => return error.to_compile_error(),
    };
    let tools = input.tools.unwrap_or_default();
    let tools = tools.iter().map(|path| companion(path, "__berth_tool_"));
    let resources = input.resources.unwrap_or_default();
    let resources = resources
        .iter()
        .map(|path| companion(path, "__berth_resource_"));
    let templates = input.templates.unwrap_or_default();
    let templates = templates
        .iter()
        .map(|path| companion(path, "__berth_template_"));
    let events = input.events.unwrap_or_default();
    let events = events.iter().map(|path| companion(path, "__berth_hook_"));
    let prompts = input.prompts.unwrap_or_default();
    let prompts = prompts
        .iter()
        .map(|path| companion(path, "__berth_prompt_"));
    let completions = input.completions.unwrap_or_default();
    let completions = completions
        .iter()
        .map(|path| companion(path, "__berth_completion_"));

    let needs = match &input.needs {
        Some(expr) => quote!(#expr),
        None => quote!(::berth_plugin_sdk::needs::Needs::new()),
    };

    // Icons built in code run when listed, so they go in a function; the entries are
    // evaluated in the invoking module, where the author imported `Icon` and `Item`.
    let icons = match &input.icons {
        Some(entries) => quote! {{
            fn __berth_icons() -> ::std::vec::Vec<(
                ::berth_plugin_sdk::icons::Item,
                ::berth_plugin_sdk::icons::Icon,
            )> {
                ::std::vec![#(#entries),*]
            }
            __berth_icons
        }},
        None => quote!(::berth_plugin_sdk::__private::no_icons),
    };

    // The default name comes from the package, which the macro cannot read; a const
    // assertion turns an unusable package name into a compile error with a hint.
    let (name, name_check) = match &input.name {
        Some(name) => (quote!(#name), quote!()),
        None => (
            quote!(::core::env!("CARGO_PKG_NAME")),
            quote! {
                const _: () = ::berth_plugin_sdk::__private::assert_plugin_name(
                    ::core::env!("CARGO_PKG_NAME"),
                );
            },
        ),
    };
    let description = match &input.description {
        Some(description) => quote!(::core::option::Option::Some(#description)),
        None => quote!(::berth_plugin_sdk::__private::non_empty(::core::env!(
            "CARGO_PKG_DESCRIPTION"
        ))),
    };

    quote! {
        #name_check

        #[doc(hidden)]
        static __BERTH_PLUGIN: ::berth_plugin_sdk::Plugin = ::berth_plugin_sdk::Plugin::__new(
            #name,
            ::core::env!("CARGO_PKG_VERSION"),
            #description,
            &[#(#tools),*],
            &[#(#resources),*],
            &[#(#templates),*],
            &[#(#events),*],
            &[#(#prompts),*],
            &[#(#completions),*],
            #icons,
        );

        /// The plugin this crate exports, as the host sees it: use it in tests to check the
        /// manifest, call tools, read resources, fill prompts in and ask for completions.
        #[allow(dead_code)]
        pub(crate) fn berth_plugin() -> &'static ::berth_plugin_sdk::Plugin {
            &__BERTH_PLUGIN
        }

        #[doc(hidden)]
        #[allow(dead_code)]
        struct __BerthGuest;

        impl ::berth_plugin_sdk::__private::Guest for __BerthGuest {
            fn describe() -> ::berth_plugin_sdk::__private::wit::Manifest {
                ::berth_plugin_sdk::__private::describe(&__BERTH_PLUGIN)
            }

            fn call_tool(
                name: ::std::string::String,
                arguments: ::std::string::String,
                context: ::berth_plugin_sdk::__private::wit::CallContext,
            ) -> ::core::result::Result<
                ::berth_plugin_sdk::__private::wit::ToolResult,
                ::berth_plugin_sdk::__private::wit::CallError,
            > {
                ::berth_plugin_sdk::__private::guest_call_tool(
                    &__BERTH_PLUGIN, name, arguments, context,
                )
            }

            fn read_resource(
                uri: ::std::string::String,
                context: ::berth_plugin_sdk::__private::wit::CallContext,
            ) -> ::core::result::Result<
                ::std::vec::Vec<::berth_plugin_sdk::__private::wit::ResourceContents>,
                ::berth_plugin_sdk::__private::wit::ReadError,
            > {
                ::berth_plugin_sdk::__private::guest_read_resource(&__BERTH_PLUGIN, uri, context)
            }
        }

        // Every SDK plugin exports the hook; with no `events` listed, `interests` is empty
        // and the host never calls `on_event`.
        impl ::berth_plugin_sdk::__private::EventsGuest for __BerthGuest {
            fn interests() -> ::std::vec::Vec<::berth_plugin_sdk::__private::wit_events::EventKind> {
                ::berth_plugin_sdk::__private::guest_interests(&__BERTH_PLUGIN)
            }

            fn on_event(event: ::berth_plugin_sdk::__private::wit_events::Event) {
                ::berth_plugin_sdk::__private::guest_on_event(&__BERTH_PLUGIN, event)
            }
        }

        // Every SDK plugin exports its needs; without a `needs:` entry it needs nothing.
        impl ::berth_plugin_sdk::__private::NeedsGuest for __BerthGuest {
            fn needs() -> ::berth_plugin_sdk::__private::wit_needs::Requirements {
                ::berth_plugin_sdk::__private::guest_needs(#needs)
            }
        }

        // Every SDK plugin exports prompts; without `prompts` listed it has none.
        impl ::berth_plugin_sdk::__private::PromptsGuest for __BerthGuest {
            fn list_prompts(
            ) -> ::std::vec::Vec<::berth_plugin_sdk::__private::wit_prompts::Prompt> {
                ::berth_plugin_sdk::__private::guest_list_prompts(&__BERTH_PLUGIN)
            }

            fn get_prompt(
                name: ::std::string::String,
                arguments: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
                context: ::berth_plugin_sdk::__private::wit::CallContext,
            ) -> ::core::result::Result<
                ::berth_plugin_sdk::__private::wit_prompts::PromptResult,
                ::berth_plugin_sdk::__private::wit_prompts::PromptError,
            > {
                ::berth_plugin_sdk::__private::guest_get_prompt(
                    &__BERTH_PLUGIN, name, arguments, context,
                )
            }
        }

        // Every SDK plugin exports completion; without `completions` listed every request
        // gets no values.
        impl ::berth_plugin_sdk::__private::CompletionGuest for __BerthGuest {
            fn complete(
                target: ::berth_plugin_sdk::__private::wit_completion::Target,
                argument: ::std::string::String,
                value: ::std::string::String,
                chosen: ::std::vec::Vec<(::std::string::String, ::std::string::String)>,
            ) -> ::core::result::Result<
                ::berth_plugin_sdk::__private::wit_completion::Completions,
                ::std::string::String,
            > {
                ::berth_plugin_sdk::__private::guest_complete(
                    &__BERTH_PLUGIN, target, argument, value, chosen,
                )
            }
        }

        // Every SDK plugin exports icons; without any it lists none.
        impl ::berth_plugin_sdk::__private::IconsGuest for __BerthGuest {
            fn icons() -> ::std::vec::Vec<(
                ::berth_plugin_sdk::__private::wit_icons::Item,
                ::std::vec::Vec<::berth_plugin_sdk::__private::wit_icons::Icon>,
            )> {
                ::berth_plugin_sdk::__private::guest_icons(&__BERTH_PLUGIN)
            }
        }

        // The exports exist only in the component: their names (`berth:plugin/guest@…`)
        // are not valid native symbol names, and native builds serve tests only.
        #[cfg(target_arch = "wasm32")]
        ::berth_plugin_sdk::__private::bindings::__export_plugin!(__BerthGuest);

        #[cfg(target_arch = "wasm32")]
        #[unsafe(link_section = "berth:sdk")]
        #[used]
        #[doc(hidden)]
        static __BERTH_SDK_STAMP: [u8; ::berth_plugin_sdk::__private::SDK_STAMP_LEN] =
            ::berth_plugin_sdk::__private::SDK_STAMP;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_are_optional_and_unordered() {
        let output = expand(quote!(
            templates: [t], name: "x", tools: [a, m::b,], events: [h], prompts: [p],
            completions: [c::d],
        ))
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("__berth_hook_h"));
        assert!(output.contains("__berth_prompt_p"));
        assert!(output.contains("c :: __berth_completion_d"));
        assert!(output.contains("__berth_tool_a"));
        assert!(output.contains("m :: __berth_tool_b"));
        assert!(output.contains("__berth_template_t"));
        assert!(!output.contains("CARGO_PKG_NAME"));
        let output = expand(quote!()).to_string();
        assert!(output.contains("assert_plugin_name"));
        assert!(output.contains("no_icons"));
        assert!(output.contains("IconsGuest"));
    }

    #[test]
    fn icons_become_a_function() {
        let output = expand(quote!(
            icons: [(Item::tool("a"), Icon::new("https://x.org/a.png")), (Item::prompt("p"), icon()),],
            tools: [a],
        ))
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("fn __berth_icons"));
        assert!(output.contains("(Item :: tool (\"a\") , Icon :: new (\"https://x.org/a.png\"))"));
        assert!(output.contains("(Item :: prompt (\"p\") , icon ())"));
        assert!(!output.contains("no_icons"));
        assert!(
            expand(quote!(icons: [], icons: []))
                .to_string()
                .contains("given twice")
        );
    }

    #[test]
    fn bad_input_is_reported() {
        assert!(
            expand(quote!(tools: [a], tools: [b]))
                .to_string()
                .contains("given twice")
        );
        assert!(
            expand(quote!(name: "a b"))
                .to_string()
                .contains("invalid plugin name")
        );
        assert!(
            expand(quote!(prompts: [p], prompts: [q]))
                .to_string()
                .contains("given twice")
        );
        assert!(
            expand(quote!(roots: [p]))
                .to_string()
                .contains("unknown key `roots`")
        );
    }
}
