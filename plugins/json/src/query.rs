//! Selecting parts of a document with a JSON Pointer (RFC 6901) or a JSONPath (RFC 9535).
//!
//! The two syntaxes cannot be confused: a pointer is empty or starts with `/`, a JSONPath
//! starts with `$`. Either way the answer has one shape, a list of matches with the pointer of
//! each, so a caller can feed a JSONPath match back in as a pointer.

use berth_plugin_sdk::ToolError;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;
use serde_json_path::JsonPath;

/// How a query expression was read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Syntax {
    /// A JSON Pointer (RFC 6901).
    Pointer,
    /// A JSONPath query (RFC 9535).
    Jsonpath,
}

/// A parsed query expression.
pub(crate) enum Expression {
    /// A syntactically valid JSON Pointer.
    Pointer(String),
    /// A compiled JSONPath query.
    Path(JsonPath),
}

impl Expression {
    /// Parses `text` as a pointer or a JSONPath, telling which by its first character.
    pub(crate) fn parse(text: &str) -> Result<Expression, ToolError> {
        if text.is_empty() || text.starts_with('/') {
            check_pointer(text)?;
            Ok(Expression::Pointer(text.to_owned()))
        } else if text.starts_with('$') {
            JsonPath::parse(text)
                .map(Expression::Path)
                .map_err(|error| {
                    ToolError::result(format!("`expression` is not a valid JSONPath: {error}"))
                })
        } else {
            Err(ToolError::result(format!(
                "`expression` `{text}` is neither a JSON Pointer (empty, or starting with `/`, \
                 e.g. `/items/0`) nor a JSONPath (starting with `$`, e.g. `$.items[*].name`)"
            )))
        }
    }

    /// Which syntax this expression is in.
    pub(crate) fn syntax(&self) -> Syntax {
        match self {
            Expression::Pointer(_) => Syntax::Pointer,
            Expression::Path(_) => Syntax::Jsonpath,
        }
    }

    /// The values of `document` this expression selects, in document order, with their
    /// pointers. A pointer that leads nowhere selects nothing.
    pub(crate) fn select(&self, document: &Value) -> Vec<(String, Value)> {
        match self {
            Expression::Pointer(pointer) => document
                .pointer(pointer)
                .map(|value| vec![(pointer.clone(), value.clone())])
                .unwrap_or_default(),
            Expression::Path(path) => path
                .query_located(document)
                .into_iter()
                .map(|node| (node.location().to_json_pointer(), node.node().clone()))
                .collect(),
        }
    }
}

/// Checks the one rule of pointer syntax serde_json does not: `~` escapes only `~0` and `~1`.
fn check_pointer(pointer: &str) -> Result<(), ToolError> {
    let mut chars = pointer.char_indices().peekable();
    while let Some((at, c)) = chars.next() {
        if c == '~' && !matches!(chars.peek(), Some((_, '0' | '1'))) {
            return Err(ToolError::result(format!(
                "`expression` is not a valid JSON Pointer: `~` at byte {at} must be followed by \
                 `0` (for `~`) or `1` (for `/`)"
            )));
        }
    }
    Ok(())
}

/// `key` escaped as one reference token of a JSON Pointer.
pub(crate) fn escape_token(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn select(expression: &str, document: &Value) -> Vec<(String, Value)> {
        Expression::parse(expression).unwrap().select(document)
    }

    #[test]
    fn pointers_select_one_value_or_nothing() {
        let document = json!({"a/b": {"m~n": [10, 20]}, "": 1});
        assert_eq!(
            select("", &document),
            vec![(String::new(), document.clone())]
        );
        assert_eq!(
            select("/a~1b/m~0n/1", &document),
            vec![("/a~1b/m~0n/1".into(), json!(20))]
        );
        assert_eq!(select("/", &document), vec![("/".into(), json!(1))]);
        assert!(select("/a~1b/m~0n/2", &document).is_empty());
        assert!(select("/a~1b/m~0n/01", &document).is_empty());
    }

    #[test]
    fn bad_escapes_are_refused() {
        let error = Expression::parse("/a~2").err().unwrap();
        assert!(
            error.message().contains("`~` at byte 2"),
            "{}",
            error.message()
        );
        assert!(Expression::parse("/a~").is_err());
    }

    #[test]
    fn jsonpath_selects_with_locations() {
        let document = json!({"items": [{"name": "a", "price": 5}, {"name": "b", "price": 15}]});
        assert_eq!(
            select("$.items[?@.price < 10].name", &document),
            vec![("/items/0/name".into(), json!("a"))]
        );
        assert_eq!(select("$..price", &document).len(), 2);
        // RFC 9535 function extensions work.
        assert_eq!(
            select("$.items[?length(@.name) == 1].price", &document),
            vec![
                ("/items/0/price".into(), json!(5)),
                ("/items/1/price".into(), json!(15))
            ]
        );
    }

    #[test]
    fn other_expressions_are_refused_with_examples() {
        let error = Expression::parse("items.0").err().unwrap();
        assert!(
            error.message().contains("neither a JSON Pointer"),
            "{}",
            error.message()
        );
        let error = Expression::parse("$.items[").err().unwrap();
        assert!(
            error
                .message()
                .starts_with("`expression` is not a valid JSONPath"),
            "{}",
            error.message()
        );
    }

    #[test]
    fn tokens_escape() {
        assert_eq!(escape_token("a/b~c"), "a~1b~0c");
    }
}
