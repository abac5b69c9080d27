//! `json`: a Berth plugin to query, validate, format and compare JSON documents.
//!
//! An example plugin written with `berth-plugin-sdk` the way a third party would. Each tool
//! takes its documents either as JSON values (`document`) or as JSON text (`document_text`);
//! text that does not parse is reported with its line and column. The plugin does no I/O:
//! documents arrive in the arguments and results go back in the reply.
//!
//! Errors: a problem with what the arguments *contain* (JSON text that does not parse, a schema
//! that is not a JSON Schema, a malformed pointer or path) is a tool result with `is-error`,
//! which the model reads and can correct; a problem with their *shape* (neither or both of
//! `document` and `document_text`, contradictory options) is `invalid-arguments`.
//!
//! # Layout
//! - `document`: documents as values or text, and where text fails to parse.
//! - `query`: JSON Pointer and JSONPath selection.
//! - `validate`: JSON Schema validation.
//! - `format`: pretty-printing and minifying, keeping key order.
//! - `diff`: structural differences between two documents.

use berth_plugin_sdk::prelude::*;
use serde_json::Value;

mod diff;
mod document;
mod format;
mod query;
mod validate;

use diff::Diff;
use document::{present, resolve};
use format::{Layout, Ordered};
use validate::Validation;

/// Arguments of `query`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["document"]}, {"required": ["document_text"]}]))]
struct QueryArgs {
    /// The document, as a JSON value. Give this or `document_text`.
    #[serde(default, deserialize_with = "present")]
    document: Option<Value>,
    /// The document, as JSON text. Give this or `document`.
    #[serde(default)]
    document_text: Option<String>,
    /// A JSON Pointer (RFC 6901), e.g. `/items/0/name` (empty for the whole document), or a
    /// JSONPath query (RFC 9535), which starts with `$`, e.g. `$.items[?@.price < 10].name`.
    expression: String,
}

/// What a query selected.
#[derive(Debug, Serialize, JsonSchema)]
struct QueryResult {
    /// How `expression` was read: `pointer` or `jsonpath`.
    syntax: query::Syntax,
    /// How many values were selected; 0 when a pointer leads nowhere.
    count: usize,
    /// The selected values in document order, each with the JSON Pointer to it.
    matches: Vec<Match>,
}

/// One selected value.
#[derive(Debug, Serialize, JsonSchema)]
struct Match {
    /// JSON Pointer to the value in the document.
    pointer: String,
    /// The value.
    value: Value,
}

/// Selects values from a JSON document with a JSON Pointer (RFC 6901, e.g. `/items/0`) or a
/// JSONPath query (RFC 9535, e.g. `$.items[?@.price < 10].name`). Returns every match with the
/// JSON Pointer to it.
#[tool(title = "Query JSON", read_only, idempotent)]
fn query(#[args] args: QueryArgs) -> Result<QueryResult, ToolError> {
    let document: Value = resolve("document", args.document, args.document_text)?;
    let expression = query::Expression::parse(&args.expression)?;
    let matches: Vec<Match> = expression
        .select(&document)
        .into_iter()
        .map(|(pointer, value)| Match { pointer, value })
        .collect();
    Ok(QueryResult {
        syntax: expression.syntax(),
        count: matches.len(),
        matches,
    })
}

/// The default cap on the violations `validate` lists.
const DEFAULT_MAX_ERRORS: u32 = 50;

/// Arguments of `validate`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("allOf" = [
    {"oneOf": [{"required": ["document"]}, {"required": ["document_text"]}]},
    {"oneOf": [{"required": ["schema"]}, {"required": ["schema_text"]}]}
]))]
struct ValidateArgs {
    /// The document to check, as a JSON value. Give this or `document_text`.
    #[serde(default, deserialize_with = "present")]
    document: Option<Value>,
    /// The document to check, as JSON text. Give this or `document`.
    #[serde(default)]
    document_text: Option<String>,
    /// The JSON Schema, as a JSON value. Give this or `schema_text`. Its `$schema` picks the
    /// draft (default 2020-12); `$ref`s must point inside it.
    #[serde(default, deserialize_with = "present")]
    schema: Option<Value>,
    /// The JSON Schema, as JSON text. Give this or `schema`.
    #[serde(default)]
    schema_text: Option<String>,
    /// Check `format` keywords (`email`, `date-time`, `uri`, …) instead of treating them as
    /// annotations. Default true.
    check_formats: Option<bool>,
    /// The most violations to list (all are counted). Default 50.
    #[schemars(range(min = 1, max = 1000))]
    max_errors: Option<u32>,
}

/// Validates a JSON document against a JSON Schema (drafts 4, 6, 7, 2019-09 and 2020-12).
/// Returns whether it is valid and each violation with the JSON Pointer to the offending value,
/// the failing schema keyword and a message.
#[tool(title = "Validate JSON", read_only, idempotent)]
fn validate(#[args] args: ValidateArgs) -> Result<Validation, ToolError> {
    let document: Value = resolve("document", args.document, args.document_text)?;
    let schema: Value = resolve("schema", args.schema, args.schema_text)?;
    let max_errors = args.max_errors.unwrap_or(DEFAULT_MAX_ERRORS).clamp(1, 1000);
    validate::validate(
        &document,
        &schema,
        args.check_formats.unwrap_or(true),
        max_errors as usize,
    )
}

/// The default indent of `format`, in spaces.
const DEFAULT_INDENT: u8 = 2;

/// Arguments of `format`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("oneOf" = [{"required": ["document"]}, {"required": ["document_text"]}]))]
struct FormatArgs {
    /// The document, as a JSON value (its object keys arrive sorted). Give this or
    /// `document_text`.
    #[serde(default, deserialize_with = "present")]
    document: Option<Value>,
    /// The document, as JSON text (its key order is kept). Give this or `document`.
    #[serde(default)]
    document_text: Option<String>,
    /// Spaces per level when pretty-printing. Default 2.
    #[schemars(range(min = 1, max = 8))]
    indent: Option<u8>,
    /// Print everything on one line, without spaces. Default false.
    minify: Option<bool>,
    /// Sort object keys alphabetically at every level. Default false: keep the document's order.
    sort_keys: Option<bool>,
}

/// Re-formats a JSON document: pretty-printed with a chosen indent, or minified, optionally
/// with object keys sorted. Returns the JSON text.
#[tool(title = "Format JSON", read_only, idempotent)]
fn format(#[args] args: FormatArgs) -> Result<String, ToolError> {
    let layout = match (args.minify.unwrap_or(false), args.indent) {
        (true, Some(_)) => {
            return Err(ToolError::invalid_arguments(
                "`indent` applies to pretty-printing; leave it out with `minify: true`",
            ));
        }
        (true, None) => Layout::Minified,
        (false, indent) => {
            let indent = indent.unwrap_or(DEFAULT_INDENT);
            if !(1..=8).contains(&indent) {
                return Err(ToolError::invalid_arguments(
                    "`indent` must be 1 to 8 spaces",
                ));
            }
            Layout::Pretty {
                indent: indent.into(),
            }
        }
    };
    let mut document: Ordered = resolve("document", args.document, args.document_text)?;
    if args.sort_keys.unwrap_or(false) {
        document.sort_keys();
    }
    Ok(format::format(&document, layout))
}

/// Arguments of `diff`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(extend("allOf" = [
    {"oneOf": [{"required": ["left"]}, {"required": ["left_text"]}]},
    {"oneOf": [{"required": ["right"]}, {"required": ["right_text"]}]}
]))]
struct DiffArgs {
    /// The original document, as a JSON value. Give this or `left_text`.
    #[serde(default, deserialize_with = "present")]
    left: Option<Value>,
    /// The original document, as JSON text. Give this or `left`.
    #[serde(default)]
    left_text: Option<String>,
    /// The new document, as a JSON value. Give this or `right_text`.
    #[serde(default, deserialize_with = "present")]
    right: Option<Value>,
    /// The new document, as JSON text. Give this or `right`.
    #[serde(default)]
    right_text: Option<String>,
}

/// Compares two JSON documents structurally: lists the values added, removed and changed from
/// `left` to `right`, each with its JSON Pointer. Objects compare by key, arrays by position,
/// numbers by value.
#[tool(title = "Compare JSON", read_only, idempotent)]
fn diff(#[args] args: DiffArgs) -> Result<Diff, ToolError> {
    let left: Value = resolve("left", args.left, args.left_text)?;
    let right: Value = resolve("right", args.right, args.right_text)?;
    Ok(diff::diff(&left, &right))
}

berth_plugin_sdk::export!(name: "json", tools: [query, validate, format, diff]);

#[cfg(test)]
mod tests {
    use super::*;
    use berth_plugin_sdk::ToolErrorKind;
    use berth_plugin_sdk::wit::CallError;
    use serde_json::json;

    #[test]
    fn the_manifest_is_valid() {
        let plugin = berth_plugin();
        assert_eq!(plugin.validate(), Ok(()));
        let manifest = plugin.manifest();
        assert_eq!(manifest.name, "json");
        let names: Vec<&str> = manifest.tools.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(names, ["query", "validate", "format", "diff"]);
        for tool in &manifest.tools {
            assert!(
                tool.output_schema.is_some() || tool.name == "format",
                "{}",
                tool.name
            );
        }
    }

    #[test]
    fn schemas_require_one_form_of_each_document() {
        let manifest = berth_plugin().manifest();
        let query: Value = serde_json::from_str(&manifest.tools[0].input_schema).unwrap();
        assert_eq!(query["oneOf"][1]["required"][0], "document_text");
        assert_eq!(query["additionalProperties"], false);
        let validate: Value = serde_json::from_str(&manifest.tools[1].input_schema).unwrap();
        assert_eq!(validate["allOf"][1]["oneOf"][0]["required"][0], "schema");
    }

    #[test]
    fn query_by_pointer_and_by_path() {
        let args = |expression: &str| QueryArgs {
            document: None,
            document_text: Some(r#"{"a": [{"b": 1}, {"b": 2}]}"#.into()),
            expression: expression.into(),
        };
        let by_pointer = query(args("/a/1/b")).unwrap();
        assert_eq!(by_pointer.syntax, query::Syntax::Pointer);
        assert_eq!(by_pointer.count, 1);
        assert_eq!(by_pointer.matches[0].value, json!(2));
        let by_path = query(args("$.a[*].b")).unwrap();
        assert_eq!(by_path.syntax, query::Syntax::Jsonpath);
        let pointers: Vec<&str> = by_path.matches.iter().map(|m| m.pointer.as_str()).collect();
        assert_eq!(pointers, ["/a/0/b", "/a/1/b"]);
        assert_eq!(query(args("/missing")).unwrap().count, 0);
    }

    #[test]
    fn query_through_the_plugin_returns_structured_content() {
        let result = berth_plugin()
            .call(
                "query",
                json!({"document": {"x": [true]}, "expression": "$.x[0]"}),
            )
            .unwrap();
        assert!(!result.is_error);
        let structured = result.structured_json().unwrap();
        assert_eq!(
            structured["matches"][0],
            json!({"pointer": "/x/0", "value": true})
        );
    }

    #[test]
    fn bad_json_text_is_reported_to_the_model_with_its_position() {
        let result = berth_plugin()
            .call(
                "query",
                json!({"document_text": "[1,\n 2,,]", "expression": ""}),
            )
            .unwrap();
        assert!(result.is_error);
        assert!(
            result.text().contains("at line 2, column 4"),
            "{}",
            result.text()
        );
    }

    #[test]
    fn giving_both_forms_is_invalid_arguments() {
        let error = berth_plugin()
            .call("diff", json!({"left": 1, "left_text": "1", "right": 2}))
            .unwrap_err();
        assert!(matches!(error, CallError::InvalidArguments(_)), "{error:?}");
    }

    #[test]
    fn validate_lists_violations() {
        let outcome = validate(ValidateArgs {
            document: Some(json!({"n": "x"})),
            document_text: None,
            schema: None,
            schema_text: Some(r#"{"properties": {"n": {"type": "number"}}}"#.into()),
            check_formats: None,
            max_errors: None,
        })
        .unwrap();
        assert!(!outcome.valid);
        assert_eq!(outcome.errors[0].instance_path, "/n");
        assert_eq!(outcome.errors[0].keyword, "type");
    }

    #[test]
    fn format_keeps_key_order_from_text_and_sorts_on_request() {
        let args = |minify, sort_keys, indent| FormatArgs {
            document: None,
            document_text: Some(r#"{"b": [1, 2], "a": null}"#.into()),
            indent,
            minify: Some(minify),
            sort_keys: Some(sort_keys),
        };
        assert_eq!(
            format(args(true, false, None)).unwrap(),
            r#"{"b":[1,2],"a":null}"#
        );
        assert_eq!(
            format(args(true, true, None)).unwrap(),
            r#"{"a":null,"b":[1,2]}"#
        );
        assert_eq!(
            format(args(false, false, Some(1))).unwrap(),
            "{\n \"b\": [\n  1,\n  2\n ],\n \"a\": null\n}"
        );
        let error = format(args(true, false, Some(2))).unwrap_err();
        assert_eq!(error.kind(), ToolErrorKind::InvalidArguments);
    }

    #[test]
    fn diff_reports_changes() {
        let outcome = diff(DiffArgs {
            left: Some(json!({"a": 1, "b": [1, 2]})),
            left_text: None,
            right: None,
            right_text: Some(r#"{"a": 2, "b": [1]}"#.into()),
        })
        .unwrap();
        assert!(!outcome.equal);
        assert_eq!(outcome.changed[0].pointer, "/a");
        assert_eq!(outcome.removed[0].pointer, "/b/1");
    }
}
