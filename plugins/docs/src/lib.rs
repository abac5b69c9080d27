//! `docs`: the documentation an AI client needs to write Berth plugins, served as MCP
//! resources — the WIT contract, a plugin guide, the CLI reference and one page per topic —
//! plus a `search` tool over all of it (with an inline SVG icon), a `write_plugin` prompt that starts the work with
//! the guide attached, and completion of topic names.
//!
//! The pages are Markdown files under `content/`, compiled in with `include_str!`, so the
//! plugin needs no files at run time. It only reads; it keeps no state.

use berth_plugin_sdk::prelude::*;

/// One page of documentation.
struct Page {
    uri: &'static str,
    text: &'static str,
}

/// The topics `berth://docs/topics/{topic}` serves, in the order `search` ranks ties.
const TOPICS: [(&str, &str); 8] = [
    ("tools", include_str!("../content/topics/tools.md")),
    ("resources", include_str!("../content/topics/resources.md")),
    ("errors", include_str!("../content/topics/errors.md")),
    ("config", include_str!("../content/topics/config.md")),
    ("logging", include_str!("../content/topics/logging.md")),
    ("testing", include_str!("../content/topics/testing.md")),
    ("state", include_str!("../content/topics/state.md")),
    ("languages", include_str!("../content/topics/languages.md")),
];

const CONTRACT: &str = include_str!("../../../wit/berth-plugin/v0.3/plugin.wit");
const GUIDE: &str = include_str!("../content/plugin-guide.md");
const CLI: &str = include_str!("../content/cli.md");

/// Every page, with its URI.
fn pages() -> Vec<Page> {
    let mut pages = vec![
        Page {
            uri: "berth://docs/plugin-guide",
            text: GUIDE,
        },
        Page {
            uri: "berth://docs/cli",
            text: CLI,
        },
        Page {
            uri: "berth://docs/contract",
            text: CONTRACT,
        },
    ];
    // The topic URIs are the template's expansions; `&'static` because TOPICS is const.
    const TOPIC_URIS: [&str; 8] = [
        "berth://docs/topics/tools",
        "berth://docs/topics/resources",
        "berth://docs/topics/errors",
        "berth://docs/topics/config",
        "berth://docs/topics/logging",
        "berth://docs/topics/testing",
        "berth://docs/topics/state",
        "berth://docs/topics/languages",
    ];
    for ((_, text), uri) in TOPICS.iter().zip(TOPIC_URIS) {
        pages.push(Page { uri, text });
    }
    pages
}

/// A page's title: its first Markdown heading, or the URI for the WIT contract.
fn title(page: &Page) -> String {
    page.text
        .lines()
        .find_map(|line| line.strip_prefix("# "))
        .map(str::to_string)
        .unwrap_or_else(|| "The berth:plugin@0.3.0 WIT contract".to_string())
}

/// The plugin contract (WIT package `berth:plugin@0.3.0`): the types, the `log` and `config`
/// imports, the `guest` interface every plugin exports and the optional `events` hook. The
/// SDK implements it for you.
#[resource(
    uri = "berth://docs/contract",
    title = "Plugin contract (WIT)",
    mime_type = "text/plain"
)]
pub fn contract() -> &'static str {
    CONTRACT
}

/// How to write a Berth plugin in Rust with berth-plugin-sdk, from `cargo new` to a served
/// component, with a complete example.
#[resource(
    uri = "berth://docs/plugin-guide",
    name = "plugin-guide",
    title = "Writing a Berth plugin",
    mime_type = "text/markdown"
)]
pub fn plugin_guide() -> &'static str {
    GUIDE
}

/// Reference of the `berth` command line: serve, inspect, call, default-config, and the
/// config file.
#[resource(
    uri = "berth://docs/cli",
    title = "The berth command line",
    mime_type = "text/markdown"
)]
pub fn cli() -> &'static str {
    CLI
}

/// One topic of the plugin SDK documentation: tools, resources, errors, config, logging or
/// testing.
#[resource_template(
    uri_template = "berth://docs/topics/{topic}",
    name = "topic",
    title = "SDK topic",
    mime_type = "text/markdown"
)]
pub fn topic(topic: String) -> Result<&'static str, ResourceError> {
    TOPICS
        .iter()
        .find(|(name, _)| *name == topic)
        .map(|(_, text)| *text)
        .ok_or_else(|| {
            let known: Vec<_> = TOPICS.iter().map(|(name, _)| *name).collect();
            ResourceError::not_found(format!(
                "no topic `{topic}`; the topics are: {}",
                known.join(", ")
            ))
        })
}

/// One matching line of a page.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Snippet {
    /// 1-based line number in the page.
    pub line: usize,
    /// The line, trimmed.
    pub text: String,
}

/// A page that matches a search.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Hit {
    /// The page's URI; read it as a resource for the whole text.
    pub uri: String,
    /// The page's title.
    pub title: String,
    /// Lines containing the most query words, best first (at most 5).
    pub snippets: Vec<Snippet>,
}

/// The most snippets returned per page.
const MAX_SNIPPETS: usize = 5;

/// Searches the Berth plugin documentation (guide, CLI, contract, topics) for pages
/// containing every word of `query`, case-insensitively. Returns the matching pages, best
/// first, each with its URI, title and the lines that match best.
//
// Its icon is a magnifying glass: an SVG, percent-encoded into a `data:` URI.
#[tool(
    read_only,
    idempotent,
    icon = "data:image/svg+xml,%3Csvg%20xmlns='http://www.w3.org/2000/svg'%20viewBox='0%200%2024%2024'%20fill='none'%20stroke='black'%20stroke-width='2'%3E%3Ccircle%20cx='10'%20cy='10'%20r='6'/%3E%3Cpath%20d='M15%2015l6%206'/%3E%3C/svg%3E"
)]
pub fn search(
    /// Words to look for, e.g. `output schema` or `config test`.
    query: String,
) -> Result<Vec<Hit>, ToolError> {
    let words: Vec<String> = query.split_whitespace().map(str::to_lowercase).collect();
    if words.is_empty() {
        return Err(ToolError::invalid_arguments(
            "`query` has no words to search for",
        ));
    }
    let mut scored = Vec::new();
    for page in pages() {
        let lowered = page.text.to_lowercase();
        if !words.iter().all(|word| lowered.contains(word.as_str())) {
            continue;
        }
        // Score lines by how many distinct query words they contain; the page's score is
        // the total, so pages where the words appear together rank first.
        let mut lines: Vec<(usize, usize, &str)> = page
            .text
            .lines()
            .enumerate()
            .filter_map(|(index, line)| {
                let lower = line.to_lowercase();
                let hits = words.iter().filter(|w| lower.contains(w.as_str())).count();
                (hits > 0 && !line.trim().is_empty()).then_some((hits, index + 1, line.trim()))
            })
            .collect();
        let score: usize = lines.iter().map(|(hits, _, _)| hits * hits).sum();
        lines.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
        let snippets = lines
            .into_iter()
            .take(MAX_SNIPPETS)
            .map(|(_, line, text)| Snippet {
                line,
                text: text.to_string(),
            })
            .collect();
        scored.push((
            score,
            Hit {
                uri: page.uri.to_string(),
                title: title(&page),
                snippets,
            },
        ));
    }
    // Stable sort: equal scores keep the page order (guide, CLI, contract, topics).
    scored.sort_by_key(|(score, _)| std::cmp::Reverse(*score));
    Ok(scored.into_iter().map(|(_, hit)| hit).collect())
}

/// Starts writing a Berth plugin that does `task`: the plugin guide (and, when given, one
/// SDK topic page) attached as resources, and the request to write the plugin.
#[prompt(title = "Write a Berth plugin")]
pub fn write_plugin(
    /// What the plugin should do, e.g. `convert Markdown tables to CSV`.
    task: String,
    /// An SDK topic to attach as well: tools, resources, errors, config, logging or testing.
    topic: Option<String>,
) -> Result<Vec<Message>, PromptError> {
    let guide = ResourceContents::text(GUIDE).with_mime_type("text/markdown");
    let mut messages = vec![Message::user(Content::embedded_resource(
        "berth://docs/plugin-guide",
        guide,
    ))];
    if let Some(topic_name) = topic {
        let page = self::topic(topic_name.clone())
            .map_err(|e| PromptError::invalid_arguments(e.message()))?;
        messages.push(Message::user(Content::embedded_resource(
            format!("berth://docs/topics/{topic_name}"),
            ResourceContents::text(page).with_mime_type("text/markdown"),
        )));
    }
    messages.push(Message::user(format!(
        "Using the Berth plugin SDK as the guide above describes, write a complete plugin \
         (Cargo.toml and src/lib.rs, with unit tests) that does this: {task}"
    )));
    Ok(messages)
}

/// Suggests topic names for the `write_plugin` prompt and the topic pages.
#[completion(prompt = "write_plugin", argument = "topic")]
pub fn complete_prompt_topic(_argument: &str, value: &str, _chosen: &Chosen) -> Completions {
    topic_names(value)
}

/// Suggests topic names for `berth://docs/topics/{topic}`.
#[completion(template = "berth://docs/topics/{topic}", argument = "topic")]
pub fn complete_template_topic(_argument: &str, value: &str, _chosen: &Chosen) -> Completions {
    topic_names(value)
}

/// The topic names that start with `prefix`.
fn topic_names(prefix: &str) -> Completions {
    Completions::matching(TOPICS.iter().map(|(name, _)| *name), prefix)
}

berth_plugin_sdk::export!(
    name: "docs",
    tools: [search],
    resources: [contract, plugin_guide, cli],
    templates: [topic],
    prompts: [write_plugin],
    completions: [complete_prompt_topic, complete_template_topic],
);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::serde_json::json;
    use berth_plugin_sdk::wit::ReadError;

    #[test]
    fn manifest_is_valid() {
        berth_plugin().validate().unwrap();
        let manifest = berth_plugin().manifest();
        assert_eq!(manifest.name, "docs");
        let uris: Vec<_> = manifest.resources.iter().map(|r| r.uri.as_str()).collect();
        assert_eq!(
            uris,
            [
                "berth://docs/contract",
                "berth://docs/plugin-guide",
                "berth://docs/cli"
            ]
        );
        assert_eq!(
            manifest.resource_templates[0].uri_template,
            "berth://docs/topics/{topic}"
        );
        assert_eq!(manifest.tools[0].name, "search");
    }

    #[test]
    fn search_has_an_svg_icon() {
        use berth_plugin_sdk::icons::Item;
        let icons = berth_plugin().icons();
        assert_eq!(icons.len(), 1);
        let (item, icons) = &icons[0];
        assert_eq!(*item, Item::tool("search"));
        assert_eq!(icons.len(), 1);
        let icon = &icons[0];
        assert_eq!(icon.mime_type.as_deref(), Some("image/svg+xml"));
        assert_eq!(icon.sizes, ["any"]);
        let encoded = icon.src.strip_prefix("data:image/svg+xml,").unwrap();
        // Percent-encoded, so the URI holds no space, quote, `<`, `>` or `#`.
        assert!(!encoded.contains([' ', '"', '<', '>', '#']), "{encoded}");
        let svg = encoded
            .replace("%20", " ")
            .replace("%3C", "<")
            .replace("%3E", ">");
        assert!(
            svg.starts_with("<svg xmlns='http://www.w3.org/2000/svg'"),
            "{svg}"
        );
        assert!(svg.contains("<circle ") && svg.ends_with("</svg>"), "{svg}");
        assert!(!svg.contains('%'), "{svg}");
    }

    #[test]
    fn resources_serve_the_pages() {
        let plugin = berth_plugin();
        let contract = plugin.read("berth://docs/contract").unwrap();
        assert!(
            contract[0]
                .as_text()
                .unwrap()
                .contains("package berth:plugin@0.3.0;")
        );
        assert_eq!(contract[0].mime_type.as_deref(), Some("text/plain"));
        let guide = plugin.read("berth://docs/plugin-guide").unwrap();
        assert!(
            guide[0]
                .as_text()
                .unwrap()
                .contains("berth_plugin_sdk::export!")
        );
        assert_eq!(guide[0].mime_type.as_deref(), Some("text/markdown"));
        assert!(
            plugin.read("berth://docs/cli").unwrap()[0]
                .as_text()
                .unwrap()
                .contains("berth serve --plugins DIR")
        );
        for (name, _) in TOPICS {
            let page = plugin.read(&format!("berth://docs/topics/{name}")).unwrap();
            assert!(page[0].as_text().unwrap().starts_with("# "), "{name}");
        }
        match plugin.read("berth://docs/topics/nope") {
            Err(ReadError::NotFound(message)) => assert!(message.contains("testing")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn every_page_has_a_title() {
        for page in pages() {
            assert!(!title(&page).is_empty(), "{}", page.uri);
        }
        assert_eq!(pages().len(), 3 + TOPICS.len());
    }

    #[test]
    fn search_finds_pages_with_every_word() {
        let hits = search("Output Schema".into()).unwrap();
        assert_eq!(hits[0].uri, "berth://docs/topics/tools");
        assert!(hits[0].snippets.len() <= MAX_SNIPPETS);
        assert!(
            hits[0].snippets[0]
                .text
                .to_lowercase()
                .contains("output schema")
        );

        let hits = search("set_for_test".into()).unwrap();
        let uris: Vec<_> = hits.iter().map(|hit| hit.uri.as_str()).collect();
        assert!(uris.contains(&"berth://docs/topics/config"));
        assert!(!uris.contains(&"berth://docs/contract"));

        assert!(search("zzz-no-such-word".into()).unwrap().is_empty());
        assert!(search("   ".into()).is_err());
    }

    #[test]
    fn search_through_the_plugin() {
        let result = berth_plugin()
            .call("search", json!({"query": "call-tool"}))
            .unwrap();
        let hits: Vec<berth_plugin_sdk::serde_json::Value> =
            berth_plugin_sdk::serde_json::from_str(&result.text()).unwrap();
        assert!(hits.iter().any(|hit| hit["uri"] == "berth://docs/contract"));
    }

    #[test]
    fn the_write_plugin_prompt_attaches_the_guide_and_a_topic() {
        let plugin = berth_plugin();
        let filled = plugin
            .get_prompt(
                "write_plugin",
                &[("task", "sum numbers"), ("topic", "tools")],
            )
            .unwrap();
        assert_eq!(filled.messages.len(), 3);
        assert!(filled.text().contains("sum numbers"), "{filled:?}");
        let unknown = plugin
            .get_prompt("write_plugin", &[("task", "x"), ("topic", "nope")])
            .unwrap_err();
        assert!(
            matches!(&unknown, berth_plugin_sdk::wit::prompts::PromptError::InvalidArguments(m) if m.contains("tools")),
            "{unknown:?}"
        );
    }

    #[test]
    fn topics_complete_for_the_prompt_and_the_template() {
        use berth_plugin_sdk::completions::Target;
        let plugin = berth_plugin();
        let prompt = plugin
            .complete(Target::prompt("write_plugin"), "topic", "te", &[])
            .unwrap();
        assert_eq!(prompt.values, ["testing"]);
        let template = plugin
            .complete(
                Target::template("berth://docs/topics/{topic}"),
                "topic",
                "",
                &[],
            )
            .unwrap();
        assert_eq!(template.values.len(), TOPICS.len());
    }
}
