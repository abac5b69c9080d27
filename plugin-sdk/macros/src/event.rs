//! The `#[on_event]` expansion: the function unchanged, plus a hidden `EventHookDef`
//! constant (`__berth_hook_<fn>`) holding the kinds it handles and a pointer to it.
//!
//! The kinds are checked here (unknown or missing ones are compile errors naming the
//! valid ones); the signature `fn(&Event)` is checked by rustc, when the function is
//! coerced to the constant's function-pointer field.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::parse::Parser;
use syn::punctuated::Punctuated;

use crate::common::{Errors, check_signature, parse_fn};

/// The kinds `#[on_event]` accepts, as (attribute name, `EventKind` variant).
const KINDS: [(&str, &str); 7] = [
    ("plugin_loaded", "PluginLoaded"),
    ("plugin_reloaded", "PluginReloaded"),
    ("plugin_unloaded", "PluginUnloaded"),
    ("plugin_load_failed", "PluginLoadFailed"),
    ("config_applied", "ConfigApplied"),
    ("config_rejected", "ConfigRejected"),
    ("tool_called", "ToolCalled"),
];

/// Expands `#[on_event(attr)] item`.
pub(crate) fn expand(attr: TokenStream, item: TokenStream) -> TokenStream {
    let func = match parse_fn(item, "on_event") {
        Ok(func) => func,
        Err(tokens) => return tokens,
    };
    let mut errors = Errors::default();
    check_signature(&func, "hook", &mut errors);
    let valid = || {
        KINDS
            .iter()
            .map(|(name, _)| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let kinds = match Punctuated::<Ident, syn::Token![,]>::parse_terminated.parse2(attr) {
        Ok(kinds) => kinds.into_iter().collect::<Vec<_>>(),
        Err(error) => {
            errors.push(error);
            Vec::new()
        }
    };
    if kinds.is_empty() && errors.is_empty() {
        errors.at(
            func.sig.ident.span(),
            format!(
                "name the kinds of event this hook handles, e.g. #[on_event(tool_called)]; \
                 the kinds are {}",
                valid()
            ),
        );
    }
    let mut variants = Vec::new();
    for kind in &kinds {
        match KINDS.iter().find(|(name, _)| kind == name) {
            Some((_, variant)) => variants.push(format_ident!("{}", variant, span = kind.span())),
            None => errors.at(
                kind.span(),
                format!("unknown event kind `{kind}`; the kinds are {}", valid()),
            ),
        }
    }
    if !errors.is_empty() {
        let errors = errors.to_compile_errors();
        return quote!(#func #errors);
    }

    let fn_ident = &func.sig.ident;
    let companion = format_ident!("__berth_hook_{}", fn_ident);
    let vis = &func.vis;
    // Spanned on the function's name, so a wrong signature is reported there.
    let handle = quote_spanned!(fn_ident.span()=> #fn_ident);
    quote! {
        #func

        #[doc(hidden)]
        #[allow(non_upper_case_globals)]
        #vis const #companion: ::berth_plugin_sdk::__private::EventHookDef =
            ::berth_plugin_sdk::__private::EventHookDef {
                kinds: &[#(::berth_plugin_sdk::events::EventKind::#variants),*],
                handle: #handle,
            };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_a_hook() {
        let output = expand(
            quote!(tool_called, plugin_loaded),
            quote!(
                pub fn watch(event: &Event) {}
            ),
        )
        .to_string();
        assert!(!output.contains("compile_error"), "{output}");
        assert!(output.contains("pub const __berth_hook_watch"));
        assert!(output.contains("EventKind :: ToolCalled"));
        assert!(output.contains("EventKind :: PluginLoaded"));
    }

    #[test]
    fn rejects_unknown_or_missing_kinds_and_async() {
        let output = expand(
            quote!(tool_call),
            quote!(
                fn f(event: &Event) {}
            ),
        )
        .to_string();
        assert!(
            output.contains("unknown event kind `tool_call`"),
            "{output}"
        );
        assert!(output.contains("`tool_called`"), "{output}");
        let output = expand(
            quote!(),
            quote!(
                fn f(event: &Event) {}
            ),
        )
        .to_string();
        assert!(output.contains("name the kinds of event"), "{output}");
        let output = expand(
            quote!(config_applied),
            quote!(
                async fn f(event: &Event) {}
            ),
        )
        .to_string();
        assert!(output.contains("cannot be `async`"), "{output}");
        // The function is still emitted, so calls to it do not fail too.
        assert!(output.contains("fn f"));
    }
}
