//! `text`: text tools an AI client cannot do reliably in its head — exact counts, case
//! conversion, regular-expression search and replace with byte offsets, unified diffs and
//! URL slugs.
//!
//! Every tool is a pure function of its arguments (no config, no I/O), so all of them are
//! marked read-only and idempotent. Results that have several parts are structured, with
//! an output schema, so clients can use the numbers without parsing prose.

use berth_plugin_sdk::prelude::*;
use berth_plugin_sdk::serde_json::json;
use heck::{ToKebabCase, ToLowerCamelCase, ToShoutySnakeCase, ToSnakeCase, ToUpperCamelCase};
use regex::{Regex, RegexBuilder};
use similar::{ChangeTag, TextDiff};
use unicode_normalization::UnicodeNormalization;
use unicode_segmentation::UnicodeSegmentation;

/// The default and the largest number of matches `regex_find` returns.
const DEFAULT_MAX_MATCHES: usize = 100;
const MAX_MATCHES: usize = 10_000;

/// The counts `count` returns.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Counts {
    /// Size in bytes of the UTF-8 encoding.
    pub bytes: usize,
    /// Unicode scalar values (what most programming languages call characters).
    pub characters: usize,
    /// Extended grapheme clusters: the characters a reader sees (an emoji with a skin tone
    /// or a letter with a combining accent counts once).
    pub graphemes: usize,
    /// Words, by Unicode word boundaries (UAX #29); punctuation is not a word.
    pub words: usize,
    /// Lines: 0 for an empty text, and a final line break does not start a new line.
    pub lines: usize,
    /// Sentences, by Unicode sentence boundaries (UAX #29).
    pub sentences: usize,
}

/// Counts the bytes, characters, graphemes (user-perceived characters), words, lines and
/// sentences of `text`, exactly.
#[tool(read_only, idempotent)]
pub fn count(
    /// The text to measure.
    text: String,
) -> Counts {
    Counts {
        bytes: text.len(),
        characters: text.chars().count(),
        graphemes: text.graphemes(true).count(),
        words: text.unicode_words().count(),
        lines: text.lines().count(),
        sentences: count_sentences(&text),
    }
}

/// Sentences with something besides whitespace in them.
fn count_sentences(text: &str) -> usize {
    // Note: a plain loop, not `.filter(..).count()`: unicode-segmentation 1.13's
    // `size_hint` for sentences can underflow, and adapters like `count` may call it.
    let mut sentences = 0;
    for sentence in text.unicode_sentences() {
        if !sentence.trim().is_empty() {
            sentences += 1;
        }
    }
    sentences
}

/// A letter case or identifier style for `change_case`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Case {
    /// `HELLO WORLD`
    Upper,
    /// `hello world`
    Lower,
    /// `Hello World` (each whitespace-separated word capitalised; punctuation kept)
    Title,
    /// `hello_world`
    Snake,
    /// `HELLO_WORLD`
    Constant,
    /// `hello-world`
    Kebab,
    /// `helloWorld`
    Camel,
    /// `HelloWorld`
    Pascal,
}

/// Converts `text` to another case: upper, lower or title case for prose; snake, constant,
/// kebab, camel or pascal case for identifiers (word boundaries are found at spaces,
/// punctuation and lower-to-upper transitions, so `parseHTTPResponse` becomes
/// `parse_http_response`).
#[tool(read_only, idempotent)]
pub fn change_case(
    /// The text to convert.
    text: String,
    /// The target case.
    case: Case,
) -> String {
    match case {
        Case::Upper => text.to_uppercase(),
        Case::Lower => text.to_lowercase(),
        Case::Title => title_case(&text),
        Case::Snake => text.to_snake_case(),
        Case::Constant => text.to_shouty_snake_case(),
        Case::Kebab => text.to_kebab_case(),
        Case::Camel => text.to_lower_camel_case(),
        Case::Pascal => text.to_upper_camel_case(),
    }
}

/// Capitalises the first letter of each whitespace-separated word and lowercases the rest,
/// keeping whitespace and punctuation as they are.
fn title_case(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut at_word_start = true;
    for c in text.chars() {
        if c.is_whitespace() {
            at_word_start = true;
            out.push(c);
        } else if at_word_start {
            out.extend(c.to_uppercase());
            at_word_start = !c.is_alphanumeric();
        } else {
            out.extend(c.to_lowercase());
        }
    }
    out
}

/// One capture group of a match.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Group {
    /// Group number (1 is the first parenthesised group).
    pub index: usize,
    /// Group name, for `(?P<name>…)` groups.
    pub name: Option<String>,
    /// The captured text, or null if the group did not participate in the match.
    pub text: Option<String>,
    /// Byte offset where the capture starts, if it participated.
    pub start: Option<usize>,
    /// Byte offset just past the capture, if it participated.
    pub end: Option<usize>,
}

/// One match of `regex_find`.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Match {
    /// The matched text.
    pub text: String,
    /// Byte offset where the match starts.
    pub start: usize,
    /// Byte offset just past the match.
    pub end: usize,
    /// 1-based line number of the match's start.
    pub line: usize,
    /// The capture groups, in order (empty when the pattern has none).
    pub groups: Vec<Group>,
}

/// The result of `regex_find`.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Found {
    /// How many matches the whole text has.
    pub total: usize,
    /// The first matches, at most `max_matches` of them.
    pub matches: Vec<Match>,
    /// True when `total` is larger than the number of matches returned.
    pub truncated: bool,
}

/// Finds the matches of a regular expression (Rust `regex` syntax: no look-around or
/// back-references) in `text`. Returns each match with its byte offsets, line number and
/// capture groups, and the total number of matches.
#[tool(read_only, idempotent)]
pub fn regex_find(
    /// The regular expression, e.g. `(?P<key>\w+)=(\d+)`.
    pattern: String,
    /// The text to search.
    text: String,
    /// The most matches to return (default 100, at most 10000); `total` still counts all.
    max_matches: Option<usize>,
    /// Match letters case-insensitively (default false).
    case_insensitive: Option<bool>,
) -> Result<Found, ToolError> {
    let max = max_matches.unwrap_or(DEFAULT_MAX_MATCHES);
    if !(1..=MAX_MATCHES).contains(&max) {
        return Err(ToolError::invalid_arguments(format!(
            "`max_matches` must be between 1 and {MAX_MATCHES}, got {max}"
        )));
    }
    let regex = compile(&pattern, case_insensitive.unwrap_or(false))?;
    let names: Vec<Option<String>> = regex
        .capture_names()
        .map(|name| name.map(str::to_string))
        .collect();
    let mut matches = Vec::new();
    let mut total = 0;
    // Line numbers are counted incrementally: matches come in order of position.
    let (mut line, mut counted_to) = (1, 0);
    for captures in regex.captures_iter(&text) {
        total += 1;
        if matches.len() == max {
            continue;
        }
        let whole = captures.get(0).expect("group 0 is always present");
        line += text[counted_to..whole.start()].matches('\n').count();
        counted_to = whole.start();
        let groups = (1..captures.len())
            .map(|index| {
                let group = captures.get(index);
                Group {
                    index,
                    name: names[index].clone(),
                    text: group.map(|g| g.as_str().to_string()),
                    start: group.map(|g| g.start()),
                    end: group.map(|g| g.end()),
                }
            })
            .collect();
        matches.push(Match {
            text: whole.as_str().to_string(),
            start: whole.start(),
            end: whole.end(),
            line,
            groups,
        });
    }
    Ok(Found {
        truncated: total > matches.len(),
        total,
        matches,
    })
}

/// The result of `regex_replace`.
#[derive(Debug, PartialEq, Serialize, JsonSchema)]
pub struct Replaced {
    /// The text after replacement.
    pub text: String,
    /// How many matches were replaced.
    pub replacements: usize,
}

/// Replaces the matches of a regular expression in `text`: every match, or only the
/// first. The replacement may refer to capture groups as `$1` or `${name}` (`$$` for a
/// literal `$`).
#[tool(read_only, idempotent)]
pub fn regex_replace(
    /// The regular expression (Rust `regex` syntax).
    pattern: String,
    /// The replacement, e.g. `${key}: $2`.
    replacement: String,
    /// The text to change.
    text: String,
    /// Replace every match (default true) or only the first (false).
    all: Option<bool>,
    /// Match letters case-insensitively (default false).
    case_insensitive: Option<bool>,
) -> Result<Replaced, ToolError> {
    let regex = compile(&pattern, case_insensitive.unwrap_or(false))?;
    let limit = if all.unwrap_or(true) { 0 } else { 1 };
    let found = regex.find_iter(&text).count();
    let replacements = if limit == 0 { found } else { found.min(1) };
    let text = regex
        .replacen(&text, limit, replacement.as_str())
        .into_owned();
    Ok(Replaced { text, replacements })
}

/// Compiles `pattern`; a syntax error is an `invalid-arguments` error that quotes the
/// regex crate's explanation (which points at the offending part).
fn compile(pattern: &str, case_insensitive: bool) -> Result<Regex, ToolError> {
    RegexBuilder::new(pattern)
        .case_insensitive(case_insensitive)
        .build()
        .map_err(|error| ToolError::invalid_arguments(format!("invalid `pattern`: {error}")))
}

/// Compares two texts line by line and returns a unified diff (as `diff -u` prints it),
/// plus the number of inserted and deleted lines as structured content.
#[tool(read_only, idempotent)]
pub fn diff(
    /// The original text.
    old: String,
    /// The changed text.
    new: String,
    /// Unchanged lines shown around each change (default 3).
    context: Option<usize>,
    /// Label of the original in the header (default `old`).
    old_label: Option<String>,
    /// Label of the changed text in the header (default `new`).
    new_label: Option<String>,
) -> ToolOutput {
    let text_diff = TextDiff::from_lines(&old, &new);
    let (mut insertions, mut deletions) = (0, 0);
    for change in text_diff.iter_all_changes() {
        match change.tag() {
            ChangeTag::Insert => insertions += 1,
            ChangeTag::Delete => deletions += 1,
            ChangeTag::Equal => {}
        }
    }
    let identical = insertions == 0 && deletions == 0;
    let unified = text_diff
        .unified_diff()
        .context_radius(context.unwrap_or(3))
        .header(
            old_label.as_deref().unwrap_or("old"),
            new_label.as_deref().unwrap_or("new"),
        )
        .missing_newline_hint(true)
        .to_string();
    // The diff itself is the text block (readable as is); the counts are structured.
    let text = if identical {
        "The texts are identical.".to_string()
    } else {
        unified.clone()
    };
    ToolOutput::new().text(text).structured(json!({
        "identical": identical,
        "insertions": insertions,
        "deletions": deletions,
        "diff": unified,
    }))
}

/// Turns `text` into a URL slug: accents removed (`Crème brûlée` → `creme-brulee`),
/// lowercase, runs of anything but letters and digits replaced by one separator, no
/// separator at either end.
#[tool(read_only, idempotent)]
pub fn slugify(
    /// The text to turn into a slug.
    text: String,
    /// The separator (default `-`).
    separator: Option<String>,
    /// The longest slug to return, in characters; cut at a separator when possible.
    max_length: Option<usize>,
) -> Result<String, ToolError> {
    let separator = separator.unwrap_or_else(|| "-".to_string());
    if separator.chars().any(char::is_alphanumeric) {
        return Err(ToolError::invalid_arguments(
            "`separator` must not contain letters or digits",
        ));
    }
    let mut slug = String::with_capacity(text.len());
    let mut pending_separator = false;
    // NFKD splits accented letters into base letter + combining mark; the marks are then
    // dropped as non-alphanumeric, and so are all other symbols.
    for c in text.nfkd().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            if pending_separator && !slug.is_empty() {
                slug.push_str(&separator);
            }
            pending_separator = false;
            slug.push(c);
        } else if !is_combining_mark(c) {
            pending_separator = true;
        }
    }
    if let Some(max) = max_length {
        slug = truncate_slug(&slug, &separator, max);
    }
    Ok(slug)
}

/// Whether `c` is a combining diacritical mark (what NFKD splits off accented letters).
fn is_combining_mark(c: char) -> bool {
    matches!(c, '\u{0300}'..='\u{036f}' | '\u{1ab0}'..='\u{1aff}' | '\u{1dc0}'..='\u{1dff}' | '\u{20d0}'..='\u{20ff}' | '\u{fe20}'..='\u{fe2f}')
}

/// Cuts `slug` to at most `max` characters, preferring to end before a separator, and
/// never ending with one.
fn truncate_slug(slug: &str, separator: &str, max: usize) -> String {
    if slug.chars().count() <= max {
        return slug.to_string();
    }
    let cut: String = slug.chars().take(max).collect();
    let next_is_separator = slug[cut.len()..].starts_with(separator);
    let cut = match cut.rfind(separator) {
        Some(index) if !next_is_separator && !separator.is_empty() && index > 0 => {
            cut[..index].to_string()
        }
        _ => cut,
    };
    cut.trim_end_matches(separator).to_string()
}

berth_plugin_sdk::export!(
    name: "text",
    tools: [count, change_case, regex_find, regex_replace, diff, slugify],
);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::wit::CallError;

    #[test]
    fn counts_are_exact() {
        let counts = count("Héllo, wörld! 👍🏽 Second line.\nThird".into());
        assert_eq!(counts.lines, 2);
        assert_eq!(counts.words, 5);
        assert_eq!(counts.graphemes, 34);
        assert_eq!(counts.characters, 35, "the skin tone is its own scalar");
        assert_eq!(counts.bytes, "Héllo, wörld! 👍🏽 Second line.\nThird".len());
        assert_eq!(counts.sentences, 3);
        let empty = count(String::new());
        assert_eq!((empty.lines, empty.words, empty.sentences), (0, 0, 0));
        assert_eq!(count("a\n".into()).lines, 1);
    }

    #[test]
    fn cases_convert() {
        let text = || "parseHTTP response_code".to_string();
        assert_eq!(change_case(text(), Case::Snake), "parse_http_response_code");
        assert_eq!(change_case(text(), Case::Kebab), "parse-http-response-code");
        assert_eq!(change_case(text(), Case::Camel), "parseHttpResponseCode");
        assert_eq!(change_case(text(), Case::Pascal), "ParseHttpResponseCode");
        assert_eq!(
            change_case(text(), Case::Constant),
            "PARSE_HTTP_RESPONSE_CODE"
        );
        assert_eq!(change_case("ab".into(), Case::Upper), "AB");
        assert_eq!(change_case("ÀB".into(), Case::Lower), "àb");
        assert_eq!(
            change_case("the QUICK brown-fox, (again)".into(), Case::Title),
            "The Quick Brown-fox, (Again)"
        );
    }

    #[test]
    fn regex_find_reports_offsets_lines_and_groups() {
        let found = regex_find(
            r"(?P<key>\w+)=(\d+)?".into(),
            "a=1\nb=\nc=3".into(),
            Some(2),
            None,
        )
        .unwrap();
        assert_eq!(found.total, 3);
        assert!(found.truncated);
        assert_eq!(found.matches.len(), 2);
        let second = &found.matches[1];
        assert_eq!((second.start, second.end, second.line), (4, 6, 2));
        assert_eq!(second.groups[0].name.as_deref(), Some("key"));
        assert_eq!(second.groups[0].text.as_deref(), Some("b"));
        assert_eq!(second.groups[1].text, None);

        let insensitive = regex_find("abc".into(), "ABC abc".into(), None, Some(true)).unwrap();
        assert_eq!(insensitive.total, 2);
        assert!(!insensitive.truncated);
    }

    #[test]
    fn bad_patterns_are_invalid_arguments() {
        let error = regex_find("(unclosed".into(), "x".into(), None, None).unwrap_err();
        assert_eq!(
            error.kind(),
            berth_plugin_sdk::ToolErrorKind::InvalidArguments
        );
        assert!(error.message().contains("`pattern`"));
        let error = regex_find("x".into(), "x".into(), Some(0), None).unwrap_err();
        assert!(error.message().contains("max_matches"));
        match berth_plugin().call(
            "regex_replace",
            json!({"pattern": "[", "replacement": "", "text": ""}),
        ) {
            Err(CallError::InvalidArguments(message)) => assert!(message.contains("pattern")),
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn regex_replace_all_or_first() {
        let all = regex_replace(
            r"(\w+)@(\w+)".into(),
            "$2 at $1".into(),
            "a@b c@d".into(),
            None,
            None,
        )
        .unwrap();
        assert_eq!(
            all,
            Replaced {
                text: "b at a d at c".into(),
                replacements: 2
            }
        );
        let first = regex_replace("o".into(), "0".into(), "foo".into(), Some(false), None).unwrap();
        assert_eq!(
            first,
            Replaced {
                text: "f0o".into(),
                replacements: 1
            }
        );
        let none = regex_replace("z".into(), "y".into(), "foo".into(), Some(false), None).unwrap();
        assert_eq!(none.replacements, 0);
    }

    #[test]
    fn diff_is_unified() {
        let output = diff(
            "a\nb\nc\n".into(),
            "a\nB\nc\nd\n".into(),
            Some(1),
            None,
            None,
        );
        let result = output.into_result();
        let text = result.text();
        assert!(text.starts_with("--- old\n+++ new\n@@"), "{text}");
        assert!(text.contains("-b\n+B\n"), "{text}");
        let structured = result.structured_json().unwrap();
        assert_eq!(structured["insertions"], 2);
        assert_eq!(structured["deletions"], 1);
        assert_eq!(structured["identical"], false);

        let same = diff("x".into(), "x".into(), None, None, None).into_result();
        assert_eq!(same.text(), "The texts are identical.");
        assert_eq!(same.structured_json().unwrap()["diff"], "");
    }

    #[test]
    fn slugs() {
        let slug = |text: &str| slugify(text.into(), None, None).unwrap();
        assert_eq!(slug("Crème Brûlée: a recipe!"), "creme-brulee-a-recipe");
        assert_eq!(slug("  --Hello   World--  "), "hello-world");
        assert_eq!(slug("日本語 テキスト"), "日本語-テキスト");
        assert_eq!(slug("!!!"), "");
        assert_eq!(
            slugify("one two three".into(), Some("_".into()), Some(9)).unwrap(),
            "one_two"
        );
        assert_eq!(slugify("abcdefgh".into(), None, Some(4)).unwrap(), "abcd");
        assert!(slugify("x".into(), Some("a".into()), None).is_err());
    }

    #[test]
    fn manifest_is_valid() {
        berth_plugin().validate().unwrap();
        let manifest = berth_plugin().manifest();
        assert_eq!(manifest.name, "text");
        let names: Vec<_> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "count",
                "change_case",
                "regex_find",
                "regex_replace",
                "diff",
                "slugify"
            ]
        );
        let change_case = &manifest.tools[1];
        let schema: berth_plugin_sdk::serde_json::Value =
            berth_plugin_sdk::serde_json::from_str(&change_case.input_schema).unwrap();
        assert!(schema.to_string().contains("\"pascal\""));
        assert!(
            manifest.tools[0].output_schema.is_some(),
            "count is structured"
        );
        assert!(
            manifest.tools[4].output_schema.is_none(),
            "diff builds its own output"
        );
    }
}
