//! Documents as tool arguments: a JSON value, or JSON text that is parsed here.
//!
//! Every tool takes each of its documents either way, because a model holds JSON either as a
//! structure it builds or as text it read somewhere. Text that does not parse is reported with
//! its line, column and an excerpt of the line, so the model can find and fix the mistake. This
//! module does not interpret documents beyond parsing them.

use berth_plugin_sdk::ToolError;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Deserializer};
use serde_json::Value;

/// Deserializes a field that is present as `Some`, even when it is `null`: `null` is a valid
/// JSON document, and only an absent field means "not given".
pub(crate) fn present<'de, D: Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Value>, D::Error> {
    Value::deserialize(deserializer).map(Some)
}

/// The document given as the value field `name` or as the text field `<name>_text`, as a `T`
/// (a [`Value`], or a representation that parses text its own way).
///
/// Exactly one must be given. Text that is not JSON is reported as a tool error (for the model
/// to correct), naming the field, line and column.
pub(crate) fn resolve<T: DeserializeOwned + From<Value>>(
    name: &str,
    value: Option<Value>,
    text: Option<String>,
) -> Result<T, ToolError> {
    match (value, text) {
        (Some(value), None) => Ok(value.into()),
        (None, Some(text)) => parse_text(&text, &format!("{name}_text")),
        (Some(_), Some(_)) => Err(ToolError::invalid_arguments(format!(
            "give either `{name}` or `{name}_text`, not both"
        ))),
        (None, None) => Err(ToolError::invalid_arguments(format!(
            "give `{name}` (a JSON value) or `{name}_text` (JSON text)"
        ))),
    }
}

/// Parses `text` as JSON; the error names `field`, the line and column, and shows the line.
pub(crate) fn parse_text<T: DeserializeOwned>(text: &str, field: &str) -> Result<T, ToolError> {
    serde_json::from_str(text).map_err(|error| ToolError::result(syntax_error(text, field, &error)))
}

/// A message locating `error` in `text`: what is wrong, where, and the line with a caret.
pub(crate) fn syntax_error(text: &str, field: &str, error: &serde_json::Error) -> String {
    let (mut line, mut column) = (error.line(), error.column());
    // serde_json appends " at line L column C" to its messages; it is said differently below.
    let full = error.to_string();
    let what = full
        .strip_suffix(&format!(" at line {line} column {column}"))
        .unwrap_or(&full);
    // Column 0 means serde_json had already read the newline after the mistake (as in `tru`
    // at the end of a line): point just past the end of the previous line instead.
    if column == 0
        && line > 1
        && let Some(previous) = text.lines().nth(line - 2)
    {
        line -= 1;
        column = previous.len() + 1;
    }
    let mut message =
        format!("`{field}` is not valid JSON: {what} at line {line}, column {column}");
    if let Some(excerpt) = excerpt(text, line, column) {
        message.push('\n');
        message.push_str(&excerpt);
    }
    message
}

/// The most characters of a line shown on either side of an error.
const EXCERPT_RADIUS: usize = 40;

/// Line `line` (1-based) of `text` around byte column `column` (1-based), with a caret under the
/// column; `None` if there is no such line (serde_json reports line 0 for some errors).
fn excerpt(text: &str, line: usize, column: usize) -> Option<String> {
    let content = text.lines().nth(line.checked_sub(1)?)?;
    // serde_json counts bytes; the caret needs characters. A column past the end (an error at
    // the end of the line) points just after the last character.
    let byte = column.saturating_sub(1).min(content.len());
    let at = content
        .char_indices()
        .take_while(|(index, _)| *index < byte)
        .count();
    let chars: Vec<char> = content.chars().collect();
    let start = at.saturating_sub(EXCERPT_RADIUS);
    let end = (at + EXCERPT_RADIUS).min(chars.len());
    let mut shown: String = chars[start..end].iter().collect();
    let mut caret = " ".repeat(at - start);
    if start > 0 {
        shown.insert(0, '…');
        caret.insert(0, ' ');
    }
    if end < chars.len() {
        shown.push('…');
    }
    caret.push('^');
    Some(format!("{shown}\n{caret}"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::ToolErrorKind;
    use serde_json::json;

    #[test]
    fn a_value_or_text_is_taken_and_both_or_neither_is_refused() {
        let resolve = resolve::<Value>;
        assert_eq!(
            resolve("document", Some(json!([1])), None).unwrap(),
            json!([1])
        );
        assert_eq!(
            resolve("document", None, Some("{\"a\": null}".into())).unwrap(),
            json!({"a": null})
        );
        let both = resolve("document", Some(json!(1)), Some("1".into())).unwrap_err();
        assert_eq!(both.kind(), ToolErrorKind::InvalidArguments);
        let neither = resolve("document", None, None).unwrap_err();
        assert!(
            neither.message().contains("`document_text`"),
            "{}",
            neither.message()
        );
    }

    #[test]
    fn bad_text_names_the_field_line_and_column_and_shows_the_line() {
        let text = "{\n  \"a\": 1,\n  \"b\": tru\n}";
        let error = resolve::<Value>("document", None, Some(text.into())).unwrap_err();
        assert_eq!(error.kind(), ToolErrorKind::Result);
        let message = error.message();
        assert!(
            message.starts_with("`document_text` is not valid JSON: "),
            "{message}"
        );
        assert!(message.contains("at line 3, column "), "{message}");
        assert!(message.contains("\n  \"b\": tru\n"), "{message}");
        assert!(message.ends_with('^'), "{message}");
    }

    #[test]
    fn the_excerpt_of_a_long_line_is_cut_around_the_error() {
        let line = format!("[{}, x]", "1, ".repeat(50));
        let column = line.find('x').unwrap() + 1;
        let shown = excerpt(&line, 1, column).unwrap();
        let (text, caret) = shown.split_once('\n').unwrap();
        assert!(text.starts_with('…'));
        assert_eq!(text.chars().nth(caret.chars().count() - 1), Some('x'));
    }

    #[test]
    fn the_caret_counts_characters_not_bytes() {
        let shown = excerpt("[\"é\", x]", 1, 8).unwrap();
        let (text, caret) = shown.split_once('\n').unwrap();
        assert_eq!(text.chars().nth(caret.chars().count() - 1), Some('x'));
    }

    #[test]
    fn null_is_a_document() {
        #[derive(Deserialize)]
        struct Args {
            #[serde(default, deserialize_with = "present")]
            document: Option<Value>,
        }
        let args: Args = serde_json::from_value(json!({"document": null})).unwrap();
        assert_eq!(args.document, Some(Value::Null));
        let args: Args = serde_json::from_value(json!({})).unwrap();
        assert_eq!(args.document, None);
    }
}
