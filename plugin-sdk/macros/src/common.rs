//! What the attributes share: doc-comment descriptions, name checks, `key = "value"`
//! options, and the classification of a function's parameters.
//!
//! Errors are collected rather than returned at the first one, so a user sees every problem
//! in one build, and the function is always re-emitted (stripped of our parameter
//! attributes) so a mistake in the attribute does not cascade into "function not found".

use proc_macro2::{Span, TokenStream};
use quote::{ToTokens, quote};
use syn::meta::ParseNestedMeta;
use syn::parse::Parser;
use syn::spanned::Spanned;
use syn::{
    Attribute, Expr, ExprLit, FnArg, GenericArgument, Ident, ItemFn, Lit, LitBool, LitStr, Meta,
    Pat, PathArguments, ReturnType, Type,
};

/// Accumulates errors; `None` until the first one.
#[derive(Default)]
pub(crate) struct Errors(Option<syn::Error>);

impl Errors {
    /// Records `error`.
    pub(crate) fn push(&mut self, error: syn::Error) {
        match &mut self.0 {
            Some(existing) => existing.combine(error),
            None => self.0 = Some(error),
        }
    }

    /// Records an error at `span`.
    pub(crate) fn at(&mut self, span: Span, message: impl std::fmt::Display) {
        self.push(syn::Error::new(span, message));
    }

    /// The errors as `compile_error!` invocations (empty if there are none).
    pub(crate) fn to_compile_errors(&self) -> TokenStream {
        self.0
            .as_ref()
            .map(syn::Error::to_compile_error)
            .unwrap_or_default()
    }

    /// Whether any error was recorded.
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_none()
    }
}

/// The description written as the item's doc comment: an expression of type
/// `&'static str`, or `None` when there is no doc comment (or it is blank).
///
/// Literal doc lines are joined with newlines after dropping the one space `///` leaves,
/// then trimmed. A non-literal `#[doc = expr]` (such as `include_str!`) is kept as an
/// expression inside `concat!`; the SDK trims the result when it builds the manifest.
pub(crate) fn description(attrs: &[Attribute]) -> Option<TokenStream> {
    let mut lines: Vec<String> = Vec::new();
    let mut parts: Vec<TokenStream> = Vec::new();
    let mut literal_only = true;
    for attr in attrs.iter().filter(|attr| attr.path().is_ident("doc")) {
        let Meta::NameValue(pair) = &attr.meta else {
            continue;
        };
        match &pair.value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(text),
                ..
            }) => {
                let text = text.value();
                let line = text.strip_prefix(' ').unwrap_or(&text).to_string();
                parts.push(line.to_token_stream());
                lines.push(line);
            }
            other => {
                literal_only = false;
                parts.push(other.to_token_stream());
            }
        }
    }
    if literal_only {
        let text = lines.join("\n").trim().to_string();
        return (!text.is_empty()).then(|| text.to_token_stream());
    }
    let mut joined = Vec::new();
    for (index, part) in parts.into_iter().enumerate() {
        if index > 0 {
            joined.push(quote!("\n"));
        }
        joined.push(part);
    }
    Some(quote!(::core::concat!(#(#joined),*)))
}

/// Checks a name against `[a-zA-Z0-9_-]{1,max}`.
pub(crate) fn check_name(name: &str, max: usize) -> Result<(), String> {
    if name.is_empty() || name.len() > max {
        return Err(format!(
            "`{name}` must be 1 to {max} characters long (it is {})",
            name.len()
        ));
    }
    match name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || *c == '_' || *c == '-'))
    {
        Some(c) => Err(format!(
            "`{name}` contains `{c}`; only ASCII letters, digits, `_` and `-` are allowed"
        )),
        None => Ok(()),
    }
}

/// `Some(value)` as tokens, or `None`.
pub(crate) fn option_tokens<T: ToTokens>(value: Option<&T>) -> TokenStream {
    match value {
        Some(value) => quote!(::core::option::Option::Some(#value)),
        None => quote!(::core::option::Option::None),
    }
}

/// The options of an attribute: string values and boolean flags.
#[derive(Default)]
pub(crate) struct Options {
    /// `name = "…"`.
    pub(crate) name: Option<LitStr>,
    /// `title = "…"`.
    pub(crate) title: Option<LitStr>,
    /// `uri = "…"`.
    pub(crate) uri: Option<LitStr>,
    /// `uri_template = "…"`.
    pub(crate) uri_template: Option<LitStr>,
    /// `mime_type = "…"`.
    pub(crate) mime_type: Option<LitStr>,
    /// `prompt = "…"` (`#[completion]`).
    pub(crate) prompt: Option<LitStr>,
    /// `template = "…"` (`#[completion]`).
    pub(crate) template: Option<LitStr>,
    /// `argument = "…"` (`#[completion]`).
    pub(crate) argument: Option<LitStr>,
    /// `icon = "…"`, repeatable, in order.
    pub(crate) icons: Vec<LitStr>,
    /// Flags given as `flag` or `flag = bool`, by name.
    pub(crate) flags: Vec<(String, bool)>,
}

impl Options {
    /// The `icons` field of a companion: `&["src", …]`.
    pub(crate) fn icons_tokens(&self) -> TokenStream {
        let icons = &self.icons;
        quote!(&[#(#icons),*])
    }

    /// The value of flag `name`, if given.
    pub(crate) fn flag(&self, name: &str) -> Option<bool> {
        self.flags
            .iter()
            .find(|(flag, _)| flag == name)
            .map(|(_, value)| *value)
    }
}

/// Parses `attr` as comma-separated options. `strings` and `flags` list the keys this
/// attribute accepts; `icon` (when listed in `strings`) may be repeated, and each of its
/// values is checked as the host checks an icon's source.
pub(crate) fn parse_options(
    attr: TokenStream,
    strings: &[&str],
    flags: &[&str],
    errors: &mut Errors,
) -> Options {
    let mut options = Options::default();
    let parser = syn::meta::parser(|meta: ParseNestedMeta| {
        let key = meta
            .path
            .get_ident()
            .map(Ident::to_string)
            .unwrap_or_default();
        if key == "icon" && strings.contains(&"icon") {
            options.icons.push(meta.value()?.parse()?);
            Ok(())
        } else if strings.contains(&key.as_str()) {
            let value: LitStr = meta.value()?.parse()?;
            let slot = match key.as_str() {
                "name" => &mut options.name,
                "title" => &mut options.title,
                "uri" => &mut options.uri,
                "uri_template" => &mut options.uri_template,
                "prompt" => &mut options.prompt,
                "template" => &mut options.template,
                "argument" => &mut options.argument,
                _ => &mut options.mime_type,
            };
            if slot.is_some() {
                return Err(meta.error(format!("`{key}` is given twice")));
            }
            *slot = Some(value);
            Ok(())
        } else if flags.contains(&key.as_str()) {
            let value = if meta.input.peek(syn::Token![=]) {
                meta.value()?.parse::<LitBool>()?.value
            } else {
                true
            };
            if options.flags.iter().any(|(flag, _)| *flag == key) {
                return Err(meta.error(format!("`{key}` is given twice")));
            }
            options.flags.push((key, value));
            Ok(())
        } else {
            let expected: Vec<String> = strings
                .iter()
                .map(|key| format!("`{key} = \"…\"`"))
                .chain(flags.iter().map(|flag| format!("`{flag}`")))
                .collect();
            Err(meta.error(format!(
                "unknown option `{}`; expected {}",
                meta.path.to_token_stream(),
                expected.join(", ")
            )))
        }
    });
    if let Err(error) = parser.parse2(attr) {
        errors.push(error);
    }
    for icon in &options.icons {
        if let Err(problem) = check_icon_src(&icon.value()) {
            errors.at(icon.span(), problem);
        }
    }
    options
}

/// The longest icon source the host accepts, in bytes.
const MAX_ICON_SRC_BYTES: usize = 64 * 1024;

/// Checks an icon's source as the host will: an `https:` URL or a `data:` URI of at most
/// 64 KiB.
pub(crate) fn check_icon_src(src: &str) -> Result<(), String> {
    if !(src.starts_with("https://") || src.starts_with("data:")) {
        let shown: String = src.chars().take(40).collect();
        return Err(format!(
            "an icon must be an `https://` URL or a `data:` URI; `{shown}` is neither \
             (the host refuses any other source)"
        ));
    }
    if src.len() > MAX_ICON_SRC_BYTES {
        return Err(format!(
            "this icon's source is {} bytes; the host accepts at most {MAX_ICON_SRC_BYTES}",
            src.len()
        ));
    }
    Ok(())
}

/// How one parameter of a function receives its value.
pub(crate) enum Param {
    /// `ctx: &Context` (or `Context` by value).
    Context {
        /// Whether the parameter is a reference.
        by_ref: bool,
    },
    /// `#[args] args: T`: the whole arguments object.
    Args {
        /// `T` (without the reference).
        ty: Type,
        /// Whether the parameter is a reference.
        by_ref: bool,
    },
    /// An ordinary named parameter.
    Plain {
        /// The parameter's name.
        ident: Ident,
        /// The type it is deserialised as (`&str` becomes `String`, `&[T]` becomes
        /// `Vec<T>`, `&T` becomes `T`).
        owned: Type,
        /// Whether the function takes a reference to `owned`.
        by_ref: bool,
        /// `doc`, `serde` and `schemars` attributes, moved to the generated field.
        attrs: Vec<Attribute>,
    },
}

/// Classifies the parameters of `func` and strips the attributes that are ours (`#[args]`,
/// and `doc`/`serde`/`schemars` on parameters, which rustc would reject there).
pub(crate) fn classify_params(func: &mut ItemFn, errors: &mut Errors) -> Vec<Param> {
    let mut params = Vec::new();
    for input in func.sig.inputs.iter_mut() {
        let typed = match input {
            FnArg::Receiver(receiver) => {
                errors.at(
                    receiver.span(),
                    "plugin functions are free functions; `self` is not supported",
                );
                continue;
            }
            FnArg::Typed(typed) => typed,
        };
        let mut is_args = false;
        let mut moved = Vec::new();
        typed.attrs.retain(|attr| {
            let path = attr.path();
            if path.is_ident("args") {
                is_args = true;
                false
            } else if path.is_ident("doc") || path.is_ident("serde") || path.is_ident("schemars") {
                moved.push(attr.clone());
                false
            } else {
                true
            }
        });
        let ty = (*typed.ty).clone();
        if let Some(by_ref) = context_param(&ty) {
            if is_args {
                errors.at(typed.span(), "`#[args]` cannot be the `Context`");
            }
            params.push(Param::Context { by_ref });
            continue;
        }
        if is_args {
            let (ty, by_ref) = match ty {
                Type::Reference(reference) if reference.mutability.is_none() => {
                    (*reference.elem, true)
                }
                other => (other, false),
            };
            params.push(Param::Args { ty, by_ref });
            continue;
        }
        let ident = match &*typed.pat {
            Pat::Ident(pat) if pat.by_ref.is_none() && pat.subpat.is_none() => pat.ident.clone(),
            other => {
                errors.at(
                    other.span(),
                    "parameters must be plain names (they become argument names)",
                );
                continue;
            }
        };
        if matches!(ty, Type::ImplTrait(_)) {
            errors.at(ty.span(), "`impl Trait` parameters are not supported");
            continue;
        }
        let (owned, by_ref) = match &ty {
            Type::Reference(reference) if reference.mutability.is_some() => {
                errors.at(ty.span(), "`&mut` parameters are not supported");
                continue;
            }
            Type::Reference(reference) => match &*reference.elem {
                Type::Path(path) if path.qself.is_none() && path.path.is_ident("str") => {
                    (syn::parse_quote!(::std::string::String), true)
                }
                Type::Slice(slice) => {
                    let elem = &slice.elem;
                    (syn::parse_quote!(::std::vec::Vec<#elem>), true)
                }
                elem => (elem.clone(), true),
            },
            other => (other.clone(), false),
        };
        params.push(Param::Plain {
            ident,
            owned,
            by_ref,
            attrs: moved,
        });
    }
    params
}

/// `Some(by_ref)` if `ty` is `&Context` or `Context` (any path ending in `Context`).
fn context_param(ty: &Type) -> Option<bool> {
    let (ty, by_ref) = match ty {
        Type::Reference(reference) if reference.mutability.is_none() => (&*reference.elem, true),
        other => (other, false),
    };
    match ty {
        Type::Path(path)
            if path.qself.is_none()
                && path.path.segments.last().is_some_and(|segment| {
                    segment.ident == "Context" && segment.arguments.is_none()
                }) =>
        {
            Some(by_ref)
        }
        _ => None,
    }
}

/// `Some(T)` if `ty` is `Option<T>` (any path ending in `Option`).
pub(crate) fn option_inner(ty: &Type) -> Option<&Type> {
    let Type::Path(path) = ty else {
        return None;
    };
    let segment = path.path.segments.last()?;
    if segment.ident != "Option" {
        return None;
    }
    let PathArguments::AngleBracketed(arguments) = &segment.arguments else {
        return None;
    };
    match arguments.args.first() {
        Some(GenericArgument::Type(inner)) if arguments.args.len() == 1 => Some(inner),
        _ => None,
    }
}

/// Rejects signatures the expansions cannot call: async, generic, unsafe, variadic.
pub(crate) fn check_signature(func: &ItemFn, what: &str, errors: &mut Errors) {
    let sig = &func.sig;
    if let Some(token) = &sig.asyncness {
        errors.at(
            token.span(),
            format!("a {what} cannot be `async`: the plugin contract is synchronous"),
        );
    }
    if !sig.generics.params.is_empty() || sig.generics.where_clause.is_some() {
        errors.at(
            sig.generics.span(),
            format!("a {what} cannot be generic: its schema must be known at compile time"),
        );
    }
    if let Some(token) = &sig.unsafety {
        errors.at(token.span(), format!("a {what} cannot be `unsafe`"));
    }
    if let Some(variadic) = &sig.variadic {
        errors.at(variadic.span(), format!("a {what} cannot be variadic"));
    }
}

/// The return type, `()` when there is none.
pub(crate) fn return_type(func: &ItemFn) -> Type {
    match &func.sig.output {
        ReturnType::Default => syn::parse_quote!(()),
        ReturnType::Type(_, ty) => (**ty).clone(),
    }
}

/// Whether `ty` mentions `impl Trait` anywhere (such a type cannot be named in a turbofish).
pub(crate) fn mentions_impl_trait(ty: &Type) -> bool {
    fn scan(tokens: TokenStream) -> bool {
        tokens.into_iter().any(|tree| match tree {
            proc_macro2::TokenTree::Ident(ident) => ident == "impl",
            proc_macro2::TokenTree::Group(group) => scan(group.stream()),
            _ => false,
        })
    }
    scan(ty.to_token_stream())
}

/// Parses the item as a function, or returns the error with the original tokens.
pub(crate) fn parse_fn(item: TokenStream, what: &str) -> Result<ItemFn, TokenStream> {
    syn::parse2::<ItemFn>(item.clone()).map_err(|error| {
        let error = syn::Error::new(error.span(), format!("#[{what}] goes on a function"));
        let error = error.to_compile_error();
        quote!(#error #item)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn func(tokens: TokenStream) -> ItemFn {
        syn::parse2(tokens).unwrap()
    }

    #[test]
    fn doc_lines_are_joined_and_trimmed() {
        let f = func(quote! {
            /// First line.
            ///
            ///   indented
            fn f() {}
        });
        let text = description(&f.attrs).unwrap().to_string();
        assert_eq!(text, "\"First line.\\n\\n  indented\"");
        assert!(
            description(
                &func(quote!(
                    fn f() {}
                ))
                .attrs
            )
            .is_none()
        );
        assert!(
            description(
                &func(quote!(
                    #[doc = "  "]
                    fn f() {}
                ))
                .attrs
            )
            .is_none()
        );
        let included = description(
            &func(quote!(
                #[doc = include_str!("x")]
                fn f() {}
            ))
            .attrs,
        );
        assert!(included.unwrap().to_string().contains("concat"));
    }

    #[test]
    fn names_follow_the_contract() {
        assert!(check_name("count-words_2", 64).is_ok());
        assert!(check_name("", 64).is_err());
        assert!(check_name("has space", 64).unwrap_err().contains("` `"));
        assert!(check_name(&"x".repeat(65), 64).is_err());
    }

    #[test]
    fn options_parse_strings_and_flags() {
        let mut errors = Errors::default();
        let options = parse_options(
            quote!(name = "n", read_only, destructive = false),
            &["name", "title"],
            &["read_only", "destructive"],
            &mut errors,
        );
        assert!(errors.is_empty());
        assert_eq!(options.name.as_ref().unwrap().value(), "n");
        assert_eq!(options.flag("read_only"), Some(true));
        assert_eq!(options.flag("destructive"), Some(false));
        assert_eq!(options.flag("idempotent"), None);

        let mut errors = Errors::default();
        parse_options(quote!(colour = "red"), &["name"], &[], &mut errors);
        assert!(
            errors
                .to_compile_errors()
                .to_string()
                .contains("unknown option `colour`")
        );
    }

    #[test]
    fn icons_repeat_and_are_checked() {
        let mut errors = Errors::default();
        let options = parse_options(
            quote!(
                icon = "https://x.org/a.png",
                name = "n",
                icon = "data:image/png;base64,AA"
            ),
            &["name", "icon"],
            &[],
            &mut errors,
        );
        assert!(errors.is_empty());
        let icons: Vec<String> = options.icons.iter().map(LitStr::value).collect();
        assert_eq!(icons, ["https://x.org/a.png", "data:image/png;base64,AA"]);
        assert_eq!(
            options.icons_tokens().to_string(),
            "& [\"https://x.org/a.png\" , \"data:image/png;base64,AA\"]"
        );
        assert_eq!(Options::default().icons_tokens().to_string(), "& []");

        let mut errors = Errors::default();
        parse_options(
            quote!(icon = "http://x.org/a.png", icon = "icon.png"),
            &["icon"],
            &[],
            &mut errors,
        );
        let message = errors.to_compile_errors().to_string();
        assert!(
            message.contains("`http://x.org/a.png` is neither"),
            "{message}"
        );
        assert!(message.contains("`icon.png` is neither"), "{message}");

        // Where `icon` is not accepted, it is an unknown option like any other.
        let mut errors = Errors::default();
        parse_options(
            quote!(icon = "https://x.org/a.png"),
            &["name"],
            &[],
            &mut errors,
        );
        assert!(
            errors
                .to_compile_errors()
                .to_string()
                .contains("unknown option `icon`")
        );

        assert!(check_icon_src(&format!("data:,{}", "x".repeat(MAX_ICON_SRC_BYTES))).is_err());
        assert!(check_icon_src("HTTPS://x.org/a.png").is_err());
    }

    #[test]
    fn params_are_classified_and_stripped() {
        let mut f = func(quote! {
            fn f(ctx: &Context, text: &str, items: &[u8], #[serde(default)] n: Option<u32>) {}
        });
        let mut errors = Errors::default();
        let params = classify_params(&mut f, &mut errors);
        assert!(errors.is_empty());
        assert!(matches!(params[0], Param::Context { by_ref: true }));
        match &params[1] {
            Param::Plain {
                ident,
                owned,
                by_ref,
                ..
            } => {
                assert_eq!(ident, "text");
                assert_eq!(
                    owned.to_token_stream().to_string(),
                    ":: std :: string :: String"
                );
                assert!(*by_ref);
            }
            _ => panic!("text is plain"),
        }
        match &params[3] {
            Param::Plain { attrs, .. } => assert_eq!(attrs.len(), 1),
            _ => panic!("n is plain"),
        }
        assert!(f.to_token_stream().to_string().find("serde").is_none());

        let mut f = func(quote!(
            fn f(#[args] a: &Args) {}
        ));
        let params = classify_params(&mut f, &mut errors);
        assert!(matches!(params[0], Param::Args { by_ref: true, .. }));
        assert!(!f.to_token_stream().to_string().contains("args"));

        let mut f = func(quote!(
            fn f((a, b): (u8, u8), c: &mut u8) {}
        ));
        classify_params(&mut f, &mut errors);
        let message = errors.to_compile_errors().to_string();
        assert!(message.contains("plain names"));
        assert!(message.contains("&mut"));
    }

    #[test]
    fn option_types_are_recognised() {
        let ty: Type = syn::parse_quote!(Option<u32>);
        assert!(option_inner(&ty).is_some());
        let ty: Type = syn::parse_quote!(std::option::Option<String>);
        assert!(option_inner(&ty).is_some());
        let ty: Type = syn::parse_quote!(Vec<u32>);
        assert!(option_inner(&ty).is_none());
    }

    #[test]
    fn signatures_are_checked() {
        let mut errors = Errors::default();
        check_signature(
            &func(quote!(
                async fn f<T>() {}
            )),
            "tool",
            &mut errors,
        );
        let message = errors.to_compile_errors().to_string();
        assert!(message.contains("async"));
        assert!(message.contains("generic"));
        let ty: Type = syn::parse_quote!(Result<impl Serialize, String>);
        assert!(mentions_impl_trait(&ty));
    }
}
