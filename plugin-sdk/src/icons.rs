//! Icons: images clients may show next to a plugin's tools, prompts, resources and resource
//! templates. Give an item one with `icon = "…"` in its attribute (repeat it for several),
//! or list [`Icon`]s built in code in `export!(icons: [..])`.
//!
//! ```
//! use berth_plugin_sdk::prelude::*;
//! use berth_plugin_sdk::icons::{Icon, Item, Theme};
//!
//! /// Shows the weather.
//! #[tool(icon = "https://example.com/sun.png", icon = "data:image/svg+xml,<svg xmlns='http://www.w3.org/2000/svg'/>")]
//! fn weather() -> &'static str {
//!     "Sunny"
//! }
//!
//! /// The forecast.
//! #[resource(uri = "weather://forecast")]
//! fn forecast() -> &'static str {
//!     "Sunny all week"
//! }
//!
//! berth_plugin_sdk::export!(
//!     tools: [weather],
//!     resources: [forecast],
//!     icons: [
//!         (Item::tool("weather"), Icon::new("https://example.com/moon").mime_type("image/png").size("48x48").theme(Theme::Dark)),
//!         (Item::resource("weather://forecast"), Icon::new("https://example.com/forecast.webp")),
//!     ],
//! );
//! # fn main() {
//! berth_plugin().validate().unwrap();
//! let icons = berth_plugin().icons();
//! assert_eq!(icons.len(), 2);
//! let (item, weather) = &icons[0];
//! assert_eq!(*item, Item::tool("weather"));
//! // The MIME type comes from the extension or the data URI; an SVG is drawn at `any` size.
//! assert_eq!(weather[0].mime_type.as_deref(), Some("image/png"));
//! assert_eq!(weather[1].mime_type.as_deref(), Some("image/svg+xml"));
//! assert_eq!(weather[1].sizes, ["any"]);
//! assert_eq!(weather[2].theme, Some(Theme::Dark));
//! assert_eq!(icons[1].1[0].mime_type.as_deref(), Some("image/webp"));
//! # }
//! ```
//!
//! An attribute's icon that is neither an `https:` URL nor a `data:` URI does not compile:
//!
//! ```compile_fail
//! use berth_plugin_sdk::prelude::*;
//!
//! /// Shows the weather.
//! #[tool(icon = "http://example.com/sun.png")] // error: an icon must be an `https://` URL …
//! fn weather() -> &'static str {
//!     "Sunny"
//! }
//! # berth_plugin_sdk::export!(tools: [weather]);
//! # fn main() {}
//! ```
//!
//! A `src` must be an `https:` URL or a `data:` URI of at most [`MAX_SRC_BYTES`]: the host
//! refuses to load a plugin with any other (an `http:` or `file:` URL would make clients
//! fetch from places Berth cannot vouch for). The attributes check this at compile time;
//! [`Plugin::validate`] checks icons built in code, and that each names an item the plugin
//! offers. Items are named as the host knows them: tools and prompts by their plugin-local
//! name (after any `name = "…"`), resources by URI, templates by URI template. A plugin
//! without icons lists none.

use std::fmt;

use crate::__private::bindings::exports::berth::plugin::icons as wit;
use crate::plugin::Plugin;

/// The longest `src` the host accepts, in bytes (a `data:` URI carries the image itself).
pub const MAX_SRC_BYTES: usize = 64 * 1024;

/// The background an icon is drawn for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Theme {
    /// For light backgrounds.
    Light,
    /// For dark backgrounds.
    Dark,
}

/// What a set of icons belongs to, in the plugin's own names.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Item {
    /// A tool, by its plugin-local name.
    Tool(String),
    /// A prompt, by its plugin-local name.
    Prompt(String),
    /// A static resource, by its URI.
    Resource(String),
    /// A resource template, by its URI template.
    ResourceTemplate(String),
}

impl Item {
    /// The tool named `name` (its plugin-local name, without the plugin prefix).
    pub fn tool(name: impl Into<String>) -> Self {
        Item::Tool(name.into())
    }

    /// The prompt named `name` (its plugin-local name).
    pub fn prompt(name: impl Into<String>) -> Self {
        Item::Prompt(name.into())
    }

    /// The static resource at `uri`.
    pub fn resource(uri: impl Into<String>) -> Self {
        Item::Resource(uri.into())
    }

    /// The resource template `uri_template`.
    pub fn template(uri_template: impl Into<String>) -> Self {
        Item::ResourceTemplate(uri_template.into())
    }

    /// The contract's `item`.
    fn into_wit(self) -> wit::Item {
        match self {
            Item::Tool(name) => wit::Item::Tool(name),
            Item::Prompt(name) => wit::Item::Prompt(name),
            Item::Resource(uri) => wit::Item::Resource(uri),
            Item::ResourceTemplate(template) => wit::Item::ResourceTemplate(template),
        }
    }
}

impl fmt::Display for Item {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Item::Tool(name) => write!(f, "tool `{name}`"),
            Item::Prompt(name) => write!(f, "prompt `{name}`"),
            Item::Resource(uri) => write!(f, "resource `{uri}`"),
            Item::ResourceTemplate(template) => write!(f, "resource template `{template}`"),
        }
    }
}

/// One image: where it is, and optionally its MIME type, the sizes it is drawn for and the
/// theme it suits.
///
/// ```
/// use berth_plugin_sdk::icons::{Icon, Theme};
///
/// let icon = Icon::new("https://example.com/logo.png").size("48x48").theme(Theme::Light);
/// assert_eq!(icon.mime_type.as_deref(), Some("image/png"));
/// assert_eq!(icon.sizes, ["48x48"]);
/// let inline = Icon::new("data:image/svg+xml;base64,PHN2Zy8+");
/// assert_eq!(inline.mime_type.as_deref(), Some("image/svg+xml"));
/// ```
///
/// [`Icon::new`] infers the MIME type from the extension of an `https:` URL's path (`.png`,
/// `.svg`, `.jpg`/`.jpeg`, `.webp`, `.gif`, `.ico`) or from a `data:` URI's media type;
/// [`Icon::mime_type`] overrides it. An SVG icon given no size is listed with size `any`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Icon {
    /// Where the image is: an `https:` URL or a `data:` URI.
    pub src: String,
    /// Its MIME type, if known.
    pub mime_type: Option<String>,
    /// The sizes it is drawn for, e.g. `48x48`, or `any` for a scalable image.
    pub sizes: Vec<String>,
    /// The theme it is drawn for, if one.
    pub theme: Option<Theme>,
}

impl Icon {
    /// The image at `src`, with the MIME type inferred from it (if it can be), no sizes and
    /// no theme.
    pub fn new(src: impl Into<String>) -> Self {
        let src = src.into();
        Icon {
            mime_type: infer_mime_type(&src),
            src,
            sizes: Vec::new(),
            theme: None,
        }
    }

    /// Sets its MIME type, e.g. `image/png`.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// Adds a size it is drawn for, e.g. `48x48` (or `any`).
    pub fn size(mut self, size: impl Into<String>) -> Self {
        self.sizes.push(size.into());
        self
    }

    /// Sets the theme it is drawn for.
    pub fn theme(mut self, theme: Theme) -> Self {
        self.theme = Some(theme);
        self
    }

    /// The icon as the plugin lists it: an SVG without sizes is drawn at `any` size.
    fn listed(mut self) -> Self {
        if self.sizes.is_empty() && self.mime_type.as_deref() == Some(SVG) {
            self.sizes.push("any".to_string());
        }
        self
    }

    /// The contract's `icon`.
    fn into_wit(self) -> wit::Icon {
        wit::Icon {
            src: self.src,
            mime_type: self.mime_type,
            sizes: self.sizes,
            theme: self.theme.map(|theme| match theme {
                Theme::Light => wit::Theme::Light,
                Theme::Dark => wit::Theme::Dark,
            }),
        }
    }
}

const SVG: &str = "image/svg+xml";

/// Checks `src` as the host will: an `https:` URL or a `data:` URI of at most
/// [`MAX_SRC_BYTES`].
pub(crate) fn check_src(src: &str) -> Result<(), String> {
    if !(src.starts_with("https://") || src.starts_with("data:")) {
        let shown: String = src.chars().take(40).collect();
        return Err(format!(
            "`{shown}` is neither an https: URL nor a data: URI"
        ));
    }
    if src.len() > MAX_SRC_BYTES {
        return Err(format!(
            "an icon's src is {} bytes, more than {MAX_SRC_BYTES}",
            src.len()
        ));
    }
    Ok(())
}

/// The MIME type of the image at `src`: a `data:` URI's media type (without parameters), or
/// the one an `https:` URL's path extension stands for.
fn infer_mime_type(src: &str) -> Option<String> {
    if let Some(rest) = src.strip_prefix("data:") {
        let header = rest.split(',').next().unwrap_or_default();
        let media_type = header.split(';').next().unwrap_or_default().trim();
        return media_type
            .contains('/')
            .then(|| media_type.to_ascii_lowercase());
    }
    let rest = src.strip_prefix("https://")?;
    let rest = rest.split(['?', '#']).next().unwrap_or_default();
    // The path starts at the first `/` after the authority; a bare host has no extension.
    let (_, path) = rest.split_once('/')?;
    let file = path.rsplit('/').next().unwrap_or_default();
    let (_, extension) = file.rsplit_once('.')?;
    let mime_type = match extension.to_ascii_lowercase().as_str() {
        "png" => "image/png",
        "svg" => SVG,
        "jpg" | "jpeg" => "image/jpeg",
        "webp" => "image/webp",
        "gif" => "image/gif",
        "ico" => "image/x-icon",
        _ => return None,
    };
    Some(mime_type.to_string())
}

/// No icons built in code (what `export!` passes without an `icons` entry).
#[doc(hidden)]
pub fn no_icons() -> Vec<(Item, Icon)> {
    Vec::new()
}

impl Plugin {
    /// Every item's icons, as the `icons` export lists them: the `icon = "…"`s of tools,
    /// prompts, resources and templates (in that order, each in `export!` order), then the
    /// items of `export!(icons: [..])` (an item already listed gets the extra icons
    /// appended). Items without icons are left out, so a plugin without icons lists none.
    pub fn icons(&self) -> Vec<(Item, Vec<Icon>)> {
        let mut sets: Vec<(Item, Vec<Icon>)> = Vec::new();
        let mut add = |item: Item, icon: Icon| match sets.iter_mut().find(|(i, _)| *i == item) {
            Some((_, icons)) => icons.push(icon.listed()),
            None => sets.push((item, vec![icon.listed()])),
        };
        for tool in self.tools {
            for src in tool.icons {
                add(Item::tool(tool.name), Icon::new(*src));
            }
        }
        for prompt in self.prompts {
            for src in prompt.icons {
                add(Item::prompt(prompt.name), Icon::new(*src));
            }
        }
        for resource in self.resources {
            for src in resource.icons {
                add(Item::resource(resource.uri), Icon::new(*src));
            }
        }
        for template in self.templates {
            for src in template.icons {
                add(Item::template(template.uri_template), Icon::new(*src));
            }
        }
        for (item, icon) in (self.icons)() {
            add(item, icon);
        }
        sets
    }

    /// Adds the problems of the icons to `problems`: items the plugin does not offer, and
    /// sources the host would refuse.
    pub(crate) fn icon_problems(&self, problems: &mut Vec<String>) {
        for (item, icons) in self.icons() {
            let offered = match &item {
                Item::Tool(name) => self.tools.iter().any(|t| t.name == name),
                Item::Prompt(name) => self.prompts.iter().any(|p| p.name == name),
                Item::Resource(uri) => self.resources.iter().any(|r| r.uri == uri),
                Item::ResourceTemplate(template) => {
                    self.templates.iter().any(|t| t.uri_template == template)
                }
            };
            if !offered {
                problems.push(format!(
                    "icons of {item}: the plugin offers no such item (list it in `export!`)"
                ));
            }
            for icon in &icons {
                if let Err(problem) = check_src(&icon.src) {
                    problems.push(format!("icons of {item}: {problem}"));
                }
            }
        }
    }
}

/// The `icons` export.
#[doc(hidden)]
pub fn guest_icons(plugin: &Plugin) -> Vec<(wit::Item, Vec<wit::Icon>)> {
    plugin
        .icons()
        .into_iter()
        .map(|(item, icons)| {
            (
                item.into_wit(),
                icons.into_iter().map(Icon::into_wit).collect(),
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::prelude::*;

    #[test]
    fn mime_types_are_inferred() {
        let mime = |src: &str| infer_mime_type(src);
        assert_eq!(mime("https://x.org/a.png").as_deref(), Some("image/png"));
        assert_eq!(mime("https://x.org/a/b.SVG?v=2#top").as_deref(), Some(SVG));
        assert_eq!(mime("https://x.org/a.jpg").as_deref(), Some("image/jpeg"));
        assert_eq!(mime("https://x.org/a.jpeg").as_deref(), Some("image/jpeg"));
        assert_eq!(mime("https://x.org/a.webp").as_deref(), Some("image/webp"));
        assert_eq!(mime("https://x.org/a.gif").as_deref(), Some("image/gif"));
        assert_eq!(
            mime("https://x.org/favicon.ico").as_deref(),
            Some("image/x-icon")
        );
        assert_eq!(mime("https://x.org/a.png.txt"), None);
        assert_eq!(mime("https://x.org/icon"), None);
        assert_eq!(mime("https://x.png"), None, "a host is not a file name");
        assert_eq!(mime("https://x.org/a.d/icon"), None);
        assert_eq!(mime("http://x.org/a.png"), None);
        assert_eq!(
            mime("data:image/png;base64,iVBOR").as_deref(),
            Some("image/png")
        );
        assert_eq!(
            mime("data:Image/SVG+xml;charset=utf-8,<svg/>").as_deref(),
            Some(SVG)
        );
        assert_eq!(mime("data:,hello"), None);
        assert_eq!(mime("data:;base64,aGk="), None);
    }

    #[test]
    fn the_builder_sets_every_field() {
        let icon = Icon::new("https://x.org/a")
            .mime_type("image/png")
            .size("16x16")
            .size("32x32")
            .theme(Theme::Dark);
        assert_eq!(
            icon,
            Icon {
                src: "https://x.org/a".into(),
                mime_type: Some("image/png".into()),
                sizes: vec!["16x16".into(), "32x32".into()],
                theme: Some(Theme::Dark),
            }
        );
        // An SVG without sizes is listed at `any`; one with sizes keeps them.
        assert_eq!(Icon::new("https://x.org/a.svg").listed().sizes, ["any"]);
        assert_eq!(
            Icon::new("https://x.org/a.svg")
                .size("48x48")
                .listed()
                .sizes,
            ["48x48"]
        );
        assert!(Icon::new("https://x.org/a.png").listed().sizes.is_empty());
        let wit = icon.into_wit();
        assert_eq!(wit.theme, Some(wit::Theme::Dark));
        assert_eq!(
            Item::template("t://{x}").to_string(),
            "resource template `t://{x}`"
        );
        assert_eq!(Item::prompt("p").into_wit(), wit::Item::Prompt("p".into()));
    }

    #[test]
    fn sources_are_checked_as_the_host_does() {
        assert!(check_src("https://x.org/a.png").is_ok());
        assert!(check_src("data:image/png;base64,AAAA").is_ok());
        assert!(
            check_src("http://x.org/a.png")
                .unwrap_err()
                .contains("`http://x.org/a.png`")
        );
        assert!(check_src("file:///etc/passwd").is_err());
        assert!(check_src("HTTPS://x.org/a.png").is_err());
        let big = format!("data:,{}", "x".repeat(MAX_SRC_BYTES));
        assert!(check_src(&big).unwrap_err().contains("bytes"));
        assert!(check_src(&big[..MAX_SRC_BYTES]).is_ok());
    }

    /// Greets.
    #[tool(
        name = "say-hello",
        icon = "https://x.org/hello.png",
        icon = "data:image/svg+xml,<svg/>"
    )]
    fn hello() -> &'static str {
        "hello"
    }

    /// Plain.
    #[tool]
    fn plain() {}

    /// Asks.
    #[prompt(icon = "https://x.org/ask.gif")]
    fn ask() -> &'static str {
        "?"
    }

    /// A page.
    #[resource(uri = "t://page", icon = "https://x.org/page.webp")]
    fn page() -> &'static str {
        "page"
    }

    /// Items.
    #[resource_template(uri_template = "t://items/{id}", icon = "https://x.org/item.jpg")]
    fn item(id: String) -> String {
        id
    }

    /// Items, without an icon.
    #[resource_template(uri_template = "t://other/{id}")]
    fn item_without_icon(id: String) -> String {
        id
    }

    mod with_icons {
        use super::*;
        crate::export!(
            name: "icons-test",
            tools: [hello, plain],
            prompts: [ask],
            resources: [page],
            templates: [item],
            icons: [
                (Item::resource("t://page"), Icon::new("https://x.org/dark.png").theme(Theme::Dark)),
                (Item::tool("plain"), Icon::new("https://x.org/plain").mime_type("image/png")),
            ],
        );
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    mod without_icons {
        use super::*;
        crate::export!(name: "no-icons", tools: [plain], templates: [item_without_icon]);
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    mod bad_icons {
        use super::*;
        crate::export!(
            name: "bad-icons",
            tools: [plain],
            icons: [
                (Item::tool("missing"), Icon::new("https://x.org/a.png")),
                (Item::tool("plain"), Icon::new("http://x.org/a.png")),
                (Item::tool("plain"), Icon::new(format!("data:,{}", "x".repeat(MAX_SRC_BYTES)))),
            ],
        );
        pub(super) fn plugin() -> &'static Plugin {
            berth_plugin()
        }
    }

    #[test]
    fn icons_are_listed_by_the_names_the_host_knows() {
        let plugin = with_icons::plugin();
        plugin.validate().unwrap();
        let icons = plugin.icons();
        let items: Vec<&Item> = icons.iter().map(|(item, _)| item).collect();
        assert_eq!(
            items,
            [
                &Item::tool("say-hello"),
                &Item::prompt("ask"),
                &Item::resource("t://page"),
                &Item::template("t://items/{id}"),
                // Only `export!` gives `plain` an icon, so it comes last.
                &Item::tool("plain"),
            ]
        );
        let hello = &icons[0].1;
        assert_eq!(hello.len(), 2);
        assert_eq!(hello[0].src, "https://x.org/hello.png");
        assert_eq!(hello[0].mime_type.as_deref(), Some("image/png"));
        assert!(hello[0].sizes.is_empty());
        assert_eq!(hello[0].theme, None);
        assert_eq!(hello[1].mime_type.as_deref(), Some(SVG));
        assert_eq!(hello[1].sizes, ["any"]);
        assert_eq!(icons[1].1[0].mime_type.as_deref(), Some("image/gif"));
        // The attribute's icon first, then the one `export!` adds.
        let page: Vec<&str> = icons[2].1.iter().map(|icon| icon.src.as_str()).collect();
        assert_eq!(page, ["https://x.org/page.webp", "https://x.org/dark.png"]);
        assert_eq!(icons[2].1[1].theme, Some(Theme::Dark));
        assert_eq!(icons[3].1[0].mime_type.as_deref(), Some("image/jpeg"));
        assert_eq!(icons[4].1[0].mime_type.as_deref(), Some("image/png"));

        let exported = guest_icons(plugin);
        assert_eq!(exported.len(), 5);
        assert_eq!(exported[0].0, wit::Item::Tool("say-hello".into()));
        assert_eq!(exported[0].1[1].sizes, ["any"]);
        assert_eq!(exported[2].1[1].theme, Some(wit::Theme::Dark));
        assert_eq!(
            exported[3].0,
            wit::Item::ResourceTemplate("t://items/{id}".into())
        );
    }

    #[test]
    fn a_plugin_without_icons_lists_none() {
        let plugin = without_icons::plugin();
        plugin.validate().unwrap();
        assert!(plugin.icons().is_empty());
        assert!(guest_icons(plugin).is_empty());
    }

    #[test]
    fn validation_reports_bad_icons() {
        let problems = bad_icons::plugin().validate().unwrap_err();
        assert_eq!(problems.len(), 3, "{problems:#?}");
        assert!(problems[0].contains("icons of tool `missing`: the plugin offers no such item"));
        assert!(problems[1].contains("icons of tool `plain`: `http://x.org/a.png` is neither"));
        assert!(problems[2].contains("more than 65536"));
    }
}
