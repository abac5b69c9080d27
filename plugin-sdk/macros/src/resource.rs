//! The `#[resource]` and `#[resource_template]` expansions: the function unchanged, plus
//! a hidden `ResourceDef` / `TemplateDef` constant (`__berth_resource_<fn>` /
//! `__berth_template_<fn>`) with the metadata and a reader that calls the function.
//!
//! A template's syntax and the match between its variables and the function's parameters
//! are checked here, at compile time, with the same parser the SDK dispatches with.

use berth_uri_template::UriTemplate;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use syn::ItemFn;
use syn::spanned::Spanned;

use crate::common::{
    Errors, Options, Param, check_signature, classify_params, description, option_inner,
    option_tokens, parse_fn, parse_options,
};

/// Expands `#[resource(attr)] item`.
pub(crate) fn expand_resource(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match parse_fn(item, "resource") {
        Ok(func) => func,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let options = parse_options(
        attr,
        &["uri", "name", "title", "mime_type", "icon"],
        &[],
        &mut errors,
    );
    check_signature(&func, "resource", &mut errors);
    let params = classify_params(&mut func, &mut errors);
    let uri = match &options.uri {
        Some(uri) => {
            let text = uri.value();
            if !text.contains(':') {
                errors.at(uri.span(), "the URI needs a scheme, e.g. `docs://guide`");
            }
            if text.contains('{') {
                errors.at(
                    uri.span(),
                    "this URI has template variables; use #[resource_template(uri_template = …)]",
                );
            }
            quote!(#uri)
        }
        None => {
            errors.at(
                func.sig.ident.span(),
                "#[resource] needs `uri = \"scheme://…\"`",
            );
            quote!("")
        }
    };
    let mut call_args = Vec::new();
    for param in &params {
        match param {
            Param::Context { by_ref } => call_args.push(context_arg(*by_ref)),
            Param::Args { .. } | Param::Plain { .. } => errors.at(
                func.sig.inputs.span(),
                "a #[resource] takes no parameters besides `&Context`; for URIs with \
                 variables use #[resource_template]",
            ),
        }
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#func #errors);
    }

    let fn_ident = &func.sig.ident;
    let companion = format_ident!("__berth_resource_{}", fn_ident);
    let vis = &func.vis;
    let (name, title, description, mime_type) = metadata(&func, &options);
    let icons = options.icons_tokens();
    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #companion: ::berth_plugin_sdk::__private::ResourceDef = {
            fn __berth_read(
                __uri: &str,
                __context: &::berth_plugin_sdk::Context,
            ) -> ::core::result::Result<
                ::std::vec::Vec<::berth_plugin_sdk::__private::wit::ResourceContents>,
                ::berth_plugin_sdk::__private::wit::ReadError,
            > {
                let _ = __context;
                ::berth_plugin_sdk::__private::IntoResourceContents::into_contents(
                    #fn_ident(#(#call_args),*),
                    __uri,
                    #mime_type,
                )
            }

            ::berth_plugin_sdk::__private::ResourceDef {
                uri: #uri,
                name: #name,
                title: #title,
                description: #description,
                mime_type: #mime_type,
                read: __berth_read,
                icons: #icons,
            }
        };
    }
}

/// Expands `#[resource_template(attr)] item`.
pub(crate) fn expand_template(attr: TokenStream, item: TokenStream) -> TokenStream {
    let mut func = match parse_fn(item, "resource_template") {
        Ok(func) => func,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let options = parse_options(
        attr,
        &["uri_template", "name", "title", "mime_type", "icon"],
        &[],
        &mut errors,
    );
    check_signature(&func, "resource template", &mut errors);
    let params = classify_params(&mut func, &mut errors);
    let variables: Vec<String> = match &options.uri_template {
        Some(template) => match UriTemplate::parse(&template.value()) {
            Ok(parsed) => parsed.variables().map(str::to_string).collect(),
            Err(problem) => {
                errors.at(template.span(), format!("invalid URI template: {problem}"));
                Vec::new()
            }
        },
        None => {
            errors.at(
                func.sig.ident.span(),
                "#[resource_template] needs `uri_template = \"scheme://…/{variable}\"`",
            );
            Vec::new()
        }
    };

    let mut call_args = Vec::new();
    let mut bindings = Vec::new();
    let mut bound = Vec::new();
    for param in &params {
        match param {
            Param::Context { by_ref } => call_args.push(context_arg(*by_ref)),
            Param::Args { .. } => errors.at(
                func.sig.inputs.span(),
                "`#[args]` is for tools; a template's parameters are its variables",
            ),
            Param::Plain {
                ident,
                owned,
                by_ref,
                ..
            } => {
                let variable = ident.to_string().trim_start_matches("r#").to_string();
                if options.uri_template.is_some() && !variables.contains(&variable) {
                    errors.at(
                        ident.span(),
                        format!(
                            "`{variable}` is not a variable of the template (its variables: {})",
                            list(&variables)
                        ),
                    );
                }
                let local = format_ident!("__arg_{}", ident);
                let bind = match option_inner(owned) {
                    Some(inner) => quote! {
                        let #local = ::berth_plugin_sdk::__private::template_opt_arg::<#inner>(
                            __variables, #variable,
                        )?;
                    },
                    None => quote! {
                        let #local = ::berth_plugin_sdk::__private::template_arg::<#owned>(
                            __variables, #variable,
                        )?;
                    },
                };
                bindings.push(bind);
                call_args.push(if *by_ref {
                    quote!(&#local)
                } else {
                    quote!(#local)
                });
                bound.push(variable);
            }
        }
    }
    for variable in variables.iter().filter(|v| !bound.contains(v)) {
        errors.at(
            func.sig.ident.span(),
            format!(
                "template variable `{variable}` has no parameter; add `{variable}: String` \
                 (or `Option<String>` for a query variable that may be absent)"
            ),
        );
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#func #errors);
    }

    let fn_ident = &func.sig.ident;
    let companion = format_ident!("__berth_template_{}", fn_ident);
    let vis = &func.vis;
    let template = options.uri_template.as_ref();
    let (name, title, description, mime_type) = metadata(&func, &options);
    let icons = options.icons_tokens();
    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #companion: ::berth_plugin_sdk::__private::TemplateDef = {
            fn __berth_read(
                __uri: &str,
                __variables: &[(::std::string::String, ::std::string::String)],
                __context: &::berth_plugin_sdk::Context,
            ) -> ::core::result::Result<
                ::std::vec::Vec<::berth_plugin_sdk::__private::wit::ResourceContents>,
                ::berth_plugin_sdk::__private::wit::ReadError,
            > {
                let _ = (__context, __variables);
                #(#bindings)*
                ::berth_plugin_sdk::__private::IntoResourceContents::into_contents(
                    #fn_ident(#(#call_args),*),
                    __uri,
                    #mime_type,
                )
            }

            ::berth_plugin_sdk::__private::TemplateDef {
                uri_template: #template,
                name: #name,
                title: #title,
                description: #description,
                mime_type: #mime_type,
                read: __berth_read,
                icons: #icons,
            }
        };
    }
}

/// The argument passed for a `Context` parameter.
fn context_arg(by_ref: bool) -> TokenStream {
    if by_ref {
        quote!(__context)
    } else {
        quote!(::core::clone::Clone::clone(__context))
    }
}

/// Name (default: the function name), title, description and MIME type, as tokens.
fn metadata(
    func: &ItemFn,
    options: &Options,
) -> (TokenStream, TokenStream, TokenStream, TokenStream) {
    let name = match &options.name {
        Some(name) => quote!(#name),
        None => {
            let name = func.sig.ident.to_string();
            let name = name.trim_start_matches("r#");
            quote!(#name)
        }
    };
    let description = description(&func.attrs);
    (
        name,
        option_tokens(options.title.as_ref()),
        option_tokens(description.as_ref()),
        option_tokens(options.mime_type.as_ref()),
    )
}

/// `a`, `b` — or "none".
fn list(items: &[String]) -> String {
    if items.is_empty() {
        "none".to_string()
    } else {
        items
            .iter()
            .map(|item| format!("`{item}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn static_resource_expands() {
        let output = expand_resource(
            quote!(uri = "docs://x", mime_type = "text/plain"),
            quote!(
                /// Docs.
                fn docs() -> String {
                    String::new()
                }
            ),
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("__berth_resource_docs"));
    }

    #[test]
    fn icons_are_listed_and_checked() {
        let output = expand_resource(
            quote!(
                uri = "docs://x",
                icon = "https://x.org/r.png",
                icon = "data:,x"
            ),
            quote!(
                fn docs() -> String {
                    String::new()
                }
            ),
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("icons : & [\"https://x.org/r.png\" , \"data:,x\"]"));
        let output = expand_template(
            quote!(uri_template = "docs://{x}", icon = "https://x.org/t.png"),
            quote!(
                fn doc(x: String) -> String {
                    x
                }
            ),
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("icons : & [\"https://x.org/t.png\"]"));
        let output = expand_template(
            quote!(uri_template = "docs://{x}", icon = "http://x.org/t.png"),
            quote!(
                fn doc(x: String) -> String {
                    x
                }
            ),
        )
        .to_string();
        assert!(
            output.contains("`http://x.org/t.png` is neither"),
            "{output}"
        );
    }

    #[test]
    fn static_resource_rejects_parameters_and_templates() {
        let output = expand_resource(
            quote!(uri = "docs://{x}"),
            quote!(
                fn docs(x: String) {}
            ),
        )
        .to_string();
        assert!(output.contains("use #[resource_template"));
        assert!(output.contains("takes no parameters"));
        let output = expand_resource(
            quote!(),
            quote!(
                fn docs() {}
            ),
        )
        .to_string();
        assert!(output.contains("needs `uri"));
    }

    #[test]
    fn template_variables_must_match_parameters() {
        let ok = expand_template(
            quote!(uri_template = "docs://{topic}{?page}"),
            quote!(
                fn doc(topic: String, page: Option<u32>, ctx: &Context) -> String {
                    topic
                }
            ),
        )
        .to_string();
        assert!(!ok.contains("compile_error"), "{ok}");
        assert!(ok.contains("template_opt_arg"));

        let output = expand_template(
            quote!(uri_template = "docs://{topic}"),
            quote!(
                fn doc(subject: String) -> String {
                    subject
                }
            ),
        )
        .to_string();
        assert!(output.contains("`subject` is not a variable"));
        assert!(output.contains("`topic` has no parameter"));

        let output = expand_template(
            quote!(uri_template = "no-scheme/{x}"),
            quote!(
                fn doc(x: String) -> String {
                    x
                }
            ),
        )
        .to_string();
        assert!(output.contains("invalid URI template"));
    }
}
