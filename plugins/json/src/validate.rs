//! Validating a document against a JSON Schema, with the `jsonschema` crate.
//!
//! The draft comes from the schema's `$schema` (2020-12 if absent). The plugin has no network or
//! filesystem, so a `$ref` must point inside the schema itself. A schema that is not a valid
//! JSON Schema is an error for the model to fix; a document that breaks the schema is a normal
//! answer, listing each violation with where it is in the document and in the schema.

use berth_plugin_sdk::ToolError;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

/// The outcome of validating a document.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Validation {
    /// Whether the document satisfies the schema.
    pub valid: bool,
    /// How many violations there are in all (`errors` may list fewer).
    pub error_count: usize,
    /// The violations, at most `max_errors` of them.
    pub errors: Vec<Violation>,
    /// Whether `errors` was cut short at `max_errors`.
    pub truncated: bool,
}

/// One way in which the document breaks the schema.
#[derive(Debug, Serialize, JsonSchema)]
pub(crate) struct Violation {
    /// JSON Pointer to the offending value in the document (`""` is the whole document).
    pub instance_path: String,
    /// JSON Pointer to the schema keyword that failed, e.g. `/properties/age/minimum`.
    pub schema_path: String,
    /// The keyword that failed, e.g. `minimum`.
    pub keyword: String,
    /// What is wrong, in words.
    pub message: String,
}

/// Validates `document` against `schema`, listing at most `max_errors` violations.
///
/// `check_formats` makes `format` an assertion (an email must look like one) rather than the
/// annotation the 2019-09 and later drafts make it by default.
pub(crate) fn validate(
    document: &Value,
    schema: &Value,
    check_formats: bool,
    max_errors: usize,
) -> Result<Validation, ToolError> {
    let validator = jsonschema::options()
        .should_validate_formats(check_formats)
        .build(schema)
        .map_err(|error| {
            let at = error.instance_path().as_str();
            let location = if at.is_empty() {
                String::new()
            } else {
                format!(" at `{at}`")
            };
            ToolError::result(format!(
                "`schema` is not a valid JSON Schema{location}: {error}"
            ))
        })?;
    let mut errors = Vec::new();
    let mut error_count = 0;
    for error in validator.iter_errors(document) {
        error_count += 1;
        if errors.len() < max_errors {
            errors.push(Violation {
                instance_path: error.instance_path().as_str().to_owned(),
                schema_path: error.schema_path().as_str().to_owned(),
                keyword: error.kind().keyword().to_owned(),
                message: error.to_string(),
            });
        }
    }
    Ok(Validation {
        valid: error_count == 0,
        error_count,
        truncated: error_count > errors.len(),
        errors,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn person_schema() -> Value {
        json!({
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "age": {"type": "integer", "minimum": 0},
                "email": {"type": "string", "format": "email"}
            },
            "required": ["name"]
        })
    }

    #[test]
    fn a_valid_document_has_no_errors() {
        let outcome = validate(
            &json!({"name": "Ada", "age": 36}),
            &person_schema(),
            true,
            10,
        )
        .unwrap();
        assert!(outcome.valid);
        assert_eq!(outcome.error_count, 0);
        assert!(outcome.errors.is_empty());
    }

    #[test]
    fn violations_say_where_and_why() {
        let outcome = validate(&json!({"age": -1}), &person_schema(), true, 10).unwrap();
        assert!(!outcome.valid);
        assert_eq!(outcome.error_count, 2);
        let minimum = outcome
            .errors
            .iter()
            .find(|e| e.keyword == "minimum")
            .unwrap();
        assert_eq!(minimum.instance_path, "/age");
        assert_eq!(minimum.schema_path, "/properties/age/minimum");
        assert!(minimum.message.contains("-1"), "{}", minimum.message);
        let required = outcome
            .errors
            .iter()
            .find(|e| e.keyword == "required")
            .unwrap();
        assert_eq!(required.instance_path, "");
        assert!(required.message.contains("name"), "{}", required.message);
    }

    #[test]
    fn formats_are_checked_only_when_asked() {
        let document = json!({"name": "Ada", "email": "not an email"});
        assert!(
            !validate(&document, &person_schema(), true, 10)
                .unwrap()
                .valid
        );
        assert!(
            validate(&document, &person_schema(), false, 10)
                .unwrap()
                .valid
        );
    }

    #[test]
    fn errors_are_capped_but_counted() {
        let schema = json!({"type": "array", "items": {"type": "string"}});
        let outcome = validate(&json!([1, 2, 3, 4]), &schema, true, 2).unwrap();
        assert_eq!(outcome.error_count, 4);
        assert_eq!(outcome.errors.len(), 2);
        assert!(outcome.truncated);
    }

    #[test]
    fn an_invalid_schema_is_an_error_for_the_model() {
        let schema = json!({"type": "object", "properties": {"x": {"type": 12}}});
        let error = validate(&json!({}), &schema, true, 10).unwrap_err();
        assert_eq!(error.kind(), berth_plugin_sdk::ToolErrorKind::Result);
        assert!(
            error
                .message()
                .starts_with("`schema` is not a valid JSON Schema"),
            "{}",
            error.message()
        );
    }
}
