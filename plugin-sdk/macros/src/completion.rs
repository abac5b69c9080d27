//! The `#[completion]` expansion: the function unchanged, plus a hidden `CompletionDef`
//! constant (`__berth_completion_<fn>`) holding the target, the optional argument filter
//! and a handler that calls the function and converts its result.
//!
//! The target's syntax (a prompt name, a URI template and its variables) is checked here;
//! whether the plugin has that prompt or template is checked by the SDK's `validate`, and
//! the signature `(&str, &str, &Chosen)` by rustc at the call in the handler.

use berth_uri_template::UriTemplate;
use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::FnArg;
use syn::spanned::Spanned;

use crate::common::{Errors, check_name, check_signature, option_tokens, parse_fn, parse_options};

/// Expands `#[completion(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse_fn(item, "completion") {
        Ok(func) => func,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    let options = parse_options(attr, &["prompt", "template", "argument"], &[], &mut errors);
    check_signature(&func, "completion", &mut errors);
    let fn_ident = &func.sig.ident;

    let target = match (&options.prompt, &options.template) {
        (Some(prompt), None) => {
            if let Err(problem) = check_name(&prompt.value(), 64) {
                errors.at(prompt.span(), format!("invalid prompt name: {problem}"));
            }
            quote!(::berth_plugin_sdk::__private::TargetDef::Prompt(#prompt))
        }
        (None, Some(template)) => {
            match UriTemplate::parse(&template.value()) {
                Ok(parsed) => {
                    if let Some(argument) = &options.argument
                        && !parsed.variables().any(|v| v == argument.value())
                    {
                        let variables: Vec<String> =
                            parsed.variables().map(|v| format!("`{v}`")).collect();
                        errors.at(
                            argument.span(),
                            format!(
                                "`{}` is not a variable of the template (its variables: {})",
                                argument.value(),
                                variables.join(", ")
                            ),
                        );
                    }
                }
                Err(problem) => {
                    errors.at(template.span(), format!("invalid URI template: {problem}"))
                }
            }
            quote!(::berth_plugin_sdk::__private::TargetDef::Template(#template))
        }
        (Some(_), Some(template)) => {
            errors.at(
                template.span(),
                "a #[completion] completes one prompt or one template, not both",
            );
            quote!()
        }
        (None, None) => {
            errors.at(
                fn_ident.span(),
                "say what this completes: #[completion(prompt = \"prompt_name\")] or \
                 #[completion(template = \"scheme://…/{variable}\")]",
            );
            quote!()
        }
    };
    let inputs = &func.sig.inputs;
    if let Some(FnArg::Receiver(receiver)) = inputs.first() {
        errors.at(
            receiver.span(),
            "plugin functions are free functions; `self` is not supported",
        );
    } else if inputs.len() != 3 {
        errors.at(
            inputs.span(),
            "a #[completion] takes `(argument: &str, value: &str, chosen: &Chosen)`",
        );
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#func #errors);
    }

    let companion = format_ident!("__berth_completion_{}", fn_ident);
    let vis = &func.vis;
    let function = fn_ident.to_string();
    let function = function.trim_start_matches("r#");
    let argument = option_tokens(options.argument.as_ref());
    // Spanned on the function's name, so a wrong signature is reported there.
    let call = quote_spanned!(fn_ident.span()=> #fn_ident(__argument, __value, __chosen));
    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #companion: ::berth_plugin_sdk::__private::CompletionDef = {
            fn __berth_complete(
                __argument: &str,
                __value: &str,
                __chosen: &::berth_plugin_sdk::Chosen,
            ) -> ::core::result::Result<
                ::berth_plugin_sdk::__private::wit_completion::Completions,
                ::std::string::String,
            > {
                ::berth_plugin_sdk::__private::completion_outcome(#call)
            }

            ::berth_plugin_sdk::__private::CompletionDef {
                function: #function,
                target: #target,
                argument: #argument,
                complete: __berth_complete,
            }
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item() -> TokenStream {
        quote!(
            fn f(argument: &str, value: &str, chosen: &Chosen) -> Vec<String> {
                Vec::new()
            }
        )
    }

    #[test]
    fn expands_prompt_and_template_targets() {
        let output = expand(quote!(prompt = "p", argument = "a"), item()).to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("const __berth_completion_f"));
        assert!(output.contains("TargetDef :: Prompt (\"p\")"));
        assert!(output.contains("Option :: Some (\"a\")"));
        let output =
            expand(quote!(template = "x://{id}/data", argument = "id"), item()).to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("TargetDef :: Template (\"x://{id}/data\")"));
    }

    #[test]
    fn rejects_bad_targets_and_signatures() {
        let output = expand(quote!(), item()).to_string();
        assert!(output.contains("say what this completes"), "{output}");
        let output = expand(quote!(prompt = "p", template = "x://{a}"), item()).to_string();
        assert!(output.contains("not both"), "{output}");
        let output = expand(quote!(template = "x://{a}", argument = "b"), item()).to_string();
        assert!(output.contains("`b` is not a variable"), "{output}");
        let output = expand(quote!(template = "no-scheme/{a}"), item()).to_string();
        assert!(output.contains("invalid URI template"), "{output}");
        let output = expand(quote!(prompt = "a b"), item()).to_string();
        assert!(output.contains("invalid prompt name"), "{output}");
        let output = expand(
            quote!(prompt = "p"),
            quote!(
                fn f(value: &str) -> Vec<String> {
                    Vec::new()
                }
            ),
        )
        .to_string();
        assert!(output.contains("takes `(argument"), "{output}");
        // The function is still emitted, so calls to it do not fail too.
        assert!(output.contains("fn f"));
    }
}
