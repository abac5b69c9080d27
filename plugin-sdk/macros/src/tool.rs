//! The `#[tool]` expansion: the function unchanged, plus a hidden `ToolDef` constant
//! (`__berth_tool_<fn>`) holding the name, description, annotations, schema functions
//! and the handler that parses arguments, calls the function and converts its result.
//!
//! It does not decide how results are sent: the handler defers that to the SDK's
//! autoref-specialised `kinds`, which see the concrete return type.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::spanned::Spanned;

use crate::common::{
    Errors, Param, check_name, check_signature, classify_params, description, mentions_impl_trait,
    option_tokens, parse_fn, parse_options, return_type,
};

/// The annotation flags `#[tool]` accepts, as (option, `Annotations` field).
const FLAGS: [&str; 4] = ["read_only", "destructive", "idempotent", "open_world"];

/// Expands `#[tool(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match parse_fn(item, "tool") {
        Ok(func) => func,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let options = parse_options(attr, &["name", "title", "icon"], &FLAGS, &mut errors);
    check_signature(&func, "tool", &mut errors);
    let params = classify_params(&mut func, &mut errors);

    let fn_ident = &func.sig.ident;
    let name = match &options.name {
        Some(name) => name.value(),
        None => fn_ident.to_string().trim_start_matches("r#").to_string(),
    };
    if let Err(problem) = check_name(&name, 64) {
        let span = options
            .name
            .as_ref()
            .map_or(fn_ident.span(), |name| name.span());
        errors.at(span, format!("invalid tool name: {problem}"));
    }
    let description = description(&func.attrs).unwrap_or_else(|| {
        errors.at(
            fn_ident.span(),
            "a #[tool] needs a doc comment: it is the description the model reads to decide \
             when to call the tool",
        );
        quote!("")
    });
    let args_count = params
        .iter()
        .filter(|param| matches!(param, Param::Args { .. }))
        .count();
    let plain_count = params
        .iter()
        .filter(|param| matches!(param, Param::Plain { .. }))
        .count();
    if args_count > 1 {
        errors.at(
            func.sig.inputs.span(),
            "at most one parameter can be `#[args]`",
        );
    }
    if args_count == 1 && plain_count > 0 {
        errors.at(
            func.sig.inputs.span(),
            "with an `#[args]` struct, every argument must be a field of it; the only other \
             parameter allowed is `&Context`",
        );
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#func #errors);
    }

    let companion = format_ident!("__berth_tool_{}", fn_ident);
    let vis = &func.vis;
    let title = option_tokens(options.title.as_ref());
    let flags = FLAGS.map(|flag| {
        let value = options.flag(flag);
        option_tokens(value.as_ref())
    });
    let [read_only, destructive, idempotent, open_world] = flags;
    let icons = options.icons_tokens();

    // The argument struct: the user's `#[args]` type, or a hidden one with a field per
    // plain parameter (unknown fields rejected, as the model should learn about typos).
    let mut call_args = Vec::new();
    let mut bindings = Vec::new();
    let mut fields = Vec::new();
    let mut args_type = None;
    for param in &params {
        match param {
            Param::Context { by_ref: true } => call_args.push(quote!(__context)),
            Param::Context { by_ref: false } => {
                call_args.push(quote!(::core::clone::Clone::clone(__context)))
            }
            Param::Args { ty, by_ref } => {
                args_type = Some(ty.clone());
                call_args.push(if *by_ref {
                    quote!(&__arguments)
                } else {
                    quote!(__arguments)
                });
            }
            Param::Plain {
                ident,
                owned,
                by_ref,
                attrs,
            } => {
                let local = format_ident!("__arg_{}", ident);
                fields.push(quote!(#(#attrs)* #ident: #owned));
                bindings.push(quote!(#ident: #local));
                call_args.push(if *by_ref {
                    quote!(&#local)
                } else {
                    quote!(#local)
                });
            }
        }
    }
    let (args_item, parse) = match args_type {
        Some(ty) => (
            quote!(type __BerthArgs = #ty;),
            quote!(let __arguments: __BerthArgs = ::berth_plugin_sdk::__private::parse_args(__json)?;),
        ),
        None => (
            quote! {
                #[derive(
                    ::berth_plugin_sdk::__private::serde::Deserialize,
                    ::berth_plugin_sdk::__private::schemars::JsonSchema
                )]
                #[serde(crate = "::berth_plugin_sdk::__private::serde", deny_unknown_fields)]
                #[schemars(crate = "::berth_plugin_sdk::__private::schemars")]
                #[allow(non_camel_case_types, dead_code)]
                struct __BerthArgs { #(#fields),* }
            },
            quote! {
                let __BerthArgs { #(#bindings),* } =
                    ::berth_plugin_sdk::__private::parse_args::<__BerthArgs>(__json)?;
            },
        ),
    };

    let ret = return_type(&func);
    let output_schema = if mentions_impl_trait(&ret) {
        // `impl Trait` cannot be named here, so such a tool declares no output schema.
        quote!(::core::option::Option::None)
    } else {
        quote! {
            let __ok = (&::berth_plugin_sdk::__private::kinds::ty::<#ret>())
                .__berth_split()
                .ok_type(::berth_plugin_sdk::__private::kinds::ty::<#ret>());
            (&&&__ok).__berth_output_kind().output_schema(__ok)
        }
    };
    let kinds = quote! {
        #[allow(unused_imports)]
        use ::berth_plugin_sdk::__private::kinds::{
            ExactKind as _, JsonKind as _, SchemaKind as _, SplitPlain as _, SplitResult as _,
        };
    };

    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #companion: ::berth_plugin_sdk::__private::ToolDef = {
            #args_item

            fn __berth_input_schema() -> ::berth_plugin_sdk::__private::serde_json::Value {
                ::berth_plugin_sdk::__private::input_schema::<__BerthArgs>()
            }

            fn __berth_output_schema(
            ) -> ::core::option::Option<::berth_plugin_sdk::__private::serde_json::Value> {
                #kinds
                #output_schema
            }

            fn __berth_call(
                __json: &str,
                __context: &::berth_plugin_sdk::Context,
            ) -> ::core::result::Result<
                ::berth_plugin_sdk::__private::wit::ToolResult,
                ::berth_plugin_sdk::__private::wit::CallError,
            > {
                #kinds
                let _ = __context;
                #parse
                let __value = #fn_ident(#(#call_args),*);
                match (&::berth_plugin_sdk::__private::kinds::ty_of(&__value))
                    .__berth_split()
                    .split(__value)
                {
                    ::core::result::Result::Ok(__ok) => {
                        (&&&::berth_plugin_sdk::__private::kinds::ty_of(&__ok))
                            .__berth_output_kind()
                            .output(__ok)
                    }
                    ::core::result::Result::Err(__error) => {
                        ::berth_plugin_sdk::__private::tool_error_outcome(__error)
                    }
                }
            }

            ::berth_plugin_sdk::__private::ToolDef {
                name: #name,
                title: #title,
                description: #description,
                annotations: ::berth_plugin_sdk::__private::Annotations {
                    read_only: #read_only,
                    destructive: #destructive,
                    idempotent: #idempotent,
                    open_world: #open_world,
                },
                input_schema: __berth_input_schema,
                output_schema: __berth_output_schema,
                call: __berth_call,
                icons: #icons,
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn errors_of(attr: TokenStream, item: TokenStream) -> String {
        let output = expand(attr, item).to_string();
        assert!(
            output.contains("compile_error"),
            "expected an error in {output}"
        );
        output
    }

    #[test]
    fn expands_a_documented_tool() {
        let output = expand(
            quote!(title = "Reverse", read_only),
            quote! {
                /// Reverses text.
                pub fn reverse(text: &str) -> String { text.chars().rev().collect() }
            },
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("pub const __berth_tool_reverse"));
        assert!(output.contains("\"Reverses text.\""));
        assert!(output.contains("deny_unknown_fields"));
    }

    #[test]
    fn icons_are_listed_and_checked() {
        let output = expand(
            quote!(
                icon = "https://x.org/a.svg",
                read_only,
                icon = "data:image/png;base64,AA"
            ),
            quote! {
                /// Draws.
                fn draw() {}
            },
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(
            output.contains("icons : & [\"https://x.org/a.svg\" , \"data:image/png;base64,AA\"]")
        );
        let output = expand(
            quote!(),
            quote! {
                /// Draws.
                fn draw() {}
            },
        )
        .to_string();
        assert!(output.contains("icons : & []"), "{output}");
        let output = errors_of(
            quote!(icon = "ftp://x.org/a.png"),
            quote!(
                /// d
                fn f() {}
            ),
        );
        assert!(output.contains("an icon must be an `https://` URL or a `data:` URI"));
    }

    #[test]
    fn requires_a_doc_comment() {
        let output = errors_of(
            quote!(),
            quote!(
                fn undocumented() {}
            ),
        );
        assert!(output.contains("needs a doc comment"));
        // The function is still emitted, so calls to it do not fail too.
        assert!(output.contains("fn undocumented"));
    }

    #[test]
    fn rejects_bad_names_and_options() {
        let output = errors_of(
            quote!(name = "no spaces"),
            quote!(
                /// d
                fn f() {}
            ),
        );
        assert!(output.contains("invalid tool name"));
        let output = errors_of(
            quote!(hidden),
            quote!(
                /// d
                fn f() {}
            ),
        );
        assert!(output.contains("unknown option `hidden`"));
    }

    #[test]
    fn args_struct_excludes_other_arguments() {
        let output = errors_of(
            quote!(),
            quote!(
                /// d
                fn f(#[args] a: A, b: u8) {}
            ),
        );
        assert!(output.contains("every argument must be a field"));
        let output = errors_of(
            quote!(),
            quote!(
                /// d
                fn f(#[args] a: A, #[args] b: B) {}
            ),
        );
        assert!(output.contains("at most one"));
    }
}
