//! The `#[prompt]` expansion: the function unchanged, plus a hidden `PromptDef` constant
//! (`__berth_prompt_<fn>`) holding the name, description, the argument list and the
//! handler that binds the (name, value) pairs to the parameters, calls the function and
//! converts its result.
//!
//! Plain parameters must be strings (`String`, `&str`, `Option<String>`), checked here from
//! the tokens; an `#[args]` type's argument list comes from its JSON Schema at run time,
//! and the SDK's `validate` reports a schema that does not fit.

use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::Type;
use syn::spanned::Spanned;

use crate::common::{
    Errors, Param, check_name, check_signature, classify_params, description, option_inner,
    option_tokens, parse_fn, parse_options,
};

/// Expands `#[prompt(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match parse_fn(item, "prompt") {
        Ok(func) => func,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let options = parse_options(attr, &["name", "title", "icon"], &[], &mut errors);
    check_signature(&func, "prompt", &mut errors);
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
        errors.at(span, format!("invalid prompt name: {problem}"));
    }
    let description = description(&func.attrs).unwrap_or_else(|| {
        errors.at(
            fn_ident.span(),
            "a #[prompt] needs a doc comment: it is the description clients show when they \
             list prompts",
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

    let mut call_args = Vec::new();
    let mut bindings = Vec::new();
    let mut arguments = Vec::new();
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
                    quote!(&__args)
                } else {
                    quote!(__args)
                });
            }
            Param::Plain {
                ident,
                owned,
                by_ref,
                attrs,
            } => {
                for attr in attrs.iter().filter(|attr| !attr.path().is_ident("doc")) {
                    errors.at(
                        attr.span(),
                        "only doc comments go on a prompt's parameters; for renames and \
                         the like, use an `#[args]` struct",
                    );
                }
                let argument = ident.to_string().trim_start_matches("r#").to_string();
                let required = match option_inner(owned) {
                    Some(inner) if is_string(inner) => false,
                    None if is_string(owned) => true,
                    _ => {
                        errors.at(
                            owned.span(),
                            "prompt arguments are strings: use `String`, `&str` or \
                             `Option<String>` (or an `#[args]` struct)",
                        );
                        continue;
                    }
                };
                let doc = crate::common::description(attrs);
                let doc = option_tokens(doc.as_ref());
                arguments.push(quote! {
                    ::berth_plugin_sdk::__private::plain_argument(#argument, #doc, #required)
                });
                let local = format_ident!("__arg_{}", ident);
                bindings.push(if required {
                    quote! {
                        let #local = ::berth_plugin_sdk::__private::required_prompt_arg(
                            __arguments, #argument,
                        )?;
                    }
                } else {
                    quote! {
                        let #local = ::berth_plugin_sdk::__private::optional_prompt_arg(
                            __arguments, #argument,
                        );
                    }
                });
                call_args.push(if *by_ref {
                    quote!(&#local)
                } else {
                    quote!(#local)
                });
            }
        }
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#func #errors);
    }

    let (args_item, list, bind_args) = match args_type {
        Some(ty) => (
            quote!(type __BerthArgs = #ty;),
            quote!(::berth_plugin_sdk::__private::args_arguments::<__BerthArgs>()),
            quote! {
                let __args: __BerthArgs =
                    ::berth_plugin_sdk::__private::prompt_args(__arguments)?;
            },
        ),
        None => (
            quote!(),
            quote!(::core::result::Result::Ok(::std::vec![#(#arguments),*])),
            quote!(),
        ),
    };
    let companion = format_ident!("__berth_prompt_{}", fn_ident);
    let vis = &func.vis;
    let title = option_tokens(options.title.as_ref());
    let icons = options.icons_tokens();
    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #companion: ::berth_plugin_sdk::__private::PromptDef = {
            #args_item

            fn __berth_arguments() -> ::core::result::Result<
                ::std::vec::Vec<::berth_plugin_sdk::__private::wit_prompts::Argument>,
                ::std::string::String,
            > {
                #list
            }

            fn __berth_get(
                __arguments: &[(::std::string::String, ::std::string::String)],
                __context: &::berth_plugin_sdk::Context,
            ) -> ::core::result::Result<
                ::berth_plugin_sdk::__private::wit_prompts::PromptResult,
                ::berth_plugin_sdk::__private::wit_prompts::PromptError,
            > {
                let _ = (__arguments, __context);
                #bind_args
                #(#bindings)*
                ::berth_plugin_sdk::__private::prompt_outcome(#fn_ident(#(#call_args),*))
            }

            ::berth_plugin_sdk::__private::PromptDef {
                name: #name,
                title: #title,
                description: #description,
                arguments: __berth_arguments,
                get: __berth_get,
                icons: #icons,
            }
        };
    }
}

/// Whether `ty` is `String` (any path ending in `String`).
fn is_string(ty: &Type) -> bool {
    match ty {
        Type::Path(path) => {
            path.qself.is_none()
                && path
                    .path
                    .segments
                    .last()
                    .is_some_and(|segment| segment.ident == "String" && segment.arguments.is_none())
        }
        _ => false,
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
    fn expands_plain_string_parameters() {
        let output = expand(
            quote!(title = "Review"),
            quote! {
                /// Reviews code.
                pub fn review(
                    /// The code.
                    code: &str,
                    focus: Option<String>,
                    ctx: &Context,
                ) -> String { String::new() }
            },
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("pub const __berth_prompt_review"));
        assert!(output.contains("\"Reviews code.\""));
        assert!(output.contains("required_prompt_arg (__arguments , \"code\" ,)"));
        assert!(output.contains("optional_prompt_arg (__arguments , \"focus\" ,)"));
        assert!(output.contains(
            "plain_argument (\"code\" , :: core :: option :: Option :: Some (\"The code.\") , true)"
        ));
        assert!(output.contains("& __arg_code"));
    }

    #[test]
    fn icons_are_listed_and_checked() {
        let output = expand(
            quote!(icon = "https://x.org/p.png"),
            quote! {
                /// Asks.
                fn ask() -> String { String::new() }
            },
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("icons : & [\"https://x.org/p.png\"]"));
        let output = errors_of(
            quote!(icon = "/p.png"),
            quote!(
                /// d
                fn f() {}
            ),
        );
        assert!(output.contains("`/p.png` is neither"));
    }

    #[test]
    fn expands_an_args_struct() {
        let output = expand(
            quote!(name = "compare"),
            quote! {
                /// Compares.
                fn cmp(#[args] args: &CompareArgs) -> Vec<Message> { Vec::new() }
            },
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("args_arguments :: < __BerthArgs >"));
        assert!(output.contains("name : \"compare\""));
        assert!(output.contains("cmp (& __args)"));
    }

    #[test]
    fn requires_a_doc_comment_and_string_parameters() {
        let output = errors_of(
            quote!(),
            quote!(
                fn undocumented(count: u32) {}
            ),
        );
        assert!(output.contains("needs a doc comment"));
        assert!(output.contains("prompt arguments are strings"));
        assert!(output.contains("fn undocumented"));
        let output = errors_of(
            quote!(),
            quote!(
                /// d
                fn f(#[serde(rename = "x")] a: String) {}
            ),
        );
        assert!(output.contains("only doc comments"));
    }

    #[test]
    fn rejects_bad_names_options_and_mixed_parameters() {
        let output = errors_of(
            quote!(name = "has space"),
            quote!(
                /// d
                fn f() {}
            ),
        );
        assert!(output.contains("invalid prompt name"));
        let output = errors_of(
            quote!(read_only),
            quote!(
                /// d
                fn f() {}
            ),
        );
        assert!(output.contains("unknown option `read_only`"));
        let output = errors_of(
            quote!(),
            quote!(
                /// d
                fn f(#[args] a: A, b: String) {}
            ),
        );
        assert!(output.contains("every argument must be a field"));
    }
}
