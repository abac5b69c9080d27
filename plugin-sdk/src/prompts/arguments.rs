//! Binding a prompt's string arguments: the argument list a `#[prompt]` declares (from its
//! plain parameters, or from an `#[args]` type's JSON Schema) and the value each parameter
//! gets from the (name, value) pairs. Called from the macro's expansions only.

use schemars::JsonSchema;
use schemars::generate::SchemaSettings;
use serde::de::{self, DeserializeOwned, Deserializer, Visitor};
use serde_json::Value;

use crate::__private::bindings::exports::berth::plugin::prompts as wit;
use crate::args::parse_args;
use crate::wit::CallError;

/// One argument of a prompt with plain parameters.
pub fn plain_argument(name: &str, description: Option<&str>, required: bool) -> wit::Argument {
    wit::Argument {
        name: name.to_string(),
        title: None,
        description: description.map(|d| d.trim().to_string()),
        required,
    }
}

/// The value of a required plain parameter.
pub fn required_prompt_arg(
    arguments: &[(String, String)],
    name: &str,
) -> Result<String, wit::PromptError> {
    optional_prompt_arg(arguments, name).ok_or_else(|| {
        wit::PromptError::InvalidArguments(format!("missing required argument `{name}`"))
    })
}

/// The value of an optional plain parameter.
pub fn optional_prompt_arg(arguments: &[(String, String)], name: &str) -> Option<String> {
    arguments
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| value.clone())
}

/// Deserialises an `#[args]` type from the (name, value) pairs, as a JSON object of
/// strings; a failure is `invalid-arguments` naming the field.
pub fn prompt_args<T: DeserializeOwned>(
    arguments: &[(String, String)],
) -> Result<T, wit::PromptError> {
    let object: serde_json::Map<String, Value> = arguments
        .iter()
        .map(|(name, value)| (name.clone(), Value::String(value.clone())))
        .collect();
    parse_args(&Value::Object(object).to_string()).map_err(|error| match error {
        CallError::InvalidArguments(message)
        | CallError::Failed(message)
        | CallError::UnknownTool(message) => wit::PromptError::InvalidArguments(message),
    })
}

/// The arguments of an `#[args]` type `T`: its schema's top-level properties, in field
/// order, with their descriptions and titles, required as the schema says.
///
/// Fails when the schema is not an object or a property cannot hold a string (prompt
/// argument values are always strings).
pub fn args_arguments<T: JsonSchema + DeserializeOwned>() -> Result<Vec<wit::Argument>, String> {
    let mut settings = SchemaSettings::draft2020_12();
    settings.inline_subschemas = true;
    let schema = settings
        .into_generator()
        .into_root_schema_for::<T>()
        .to_value();
    if schema.get("type").and_then(Value::as_str) != Some("object") {
        return Err(format!(
            "the `#[args]` type's schema must have `\"type\": \"object\"` (use a struct with \
             named fields), got {schema}"
        ));
    }
    let required: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .map(|names| names.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    let empty = serde_json::Map::new();
    let properties = schema
        .get("properties")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    // serde_json's map is sorted by key; the struct's own field order is the order a
    // client should ask in, and serde's `Deserialize` knows it.
    let order = struct_fields::<T>().unwrap_or(&[]);
    let mut names: Vec<&String> = properties.keys().collect();
    names.sort_by_key(|name| {
        order
            .iter()
            .position(|field| field == name)
            .unwrap_or(usize::MAX)
    });
    let mut arguments = Vec::with_capacity(names.len());
    let mut problems = Vec::new();
    for name in names {
        let property = &properties[name.as_str()];
        if !holds_strings(property) {
            problems.push(format!(
                "argument `{name}` must be a string (prompt argument values are strings), \
                 but its schema is {property}"
            ));
        }
        let text = |key: &str| {
            property
                .get(key)
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        arguments.push(wit::Argument {
            name: name.clone(),
            title: text("title"),
            description: text("description"),
            required: required.contains(&name.as_str()),
        });
    }
    if problems.is_empty() {
        Ok(arguments)
    } else {
        Err(problems.join("; "))
    }
}

/// Whether a property's schema admits a string: it declares no `type`, or `string` among
/// its types.
fn holds_strings(property: &Value) -> bool {
    match property.get("type") {
        None => true,
        Some(Value::String(ty)) => ty == "string",
        Some(Value::Array(types)) => types.iter().any(|ty| ty == "string"),
        Some(_) => false,
    }
}

/// The field names, in declaration order (after serde renames), of a struct whose
/// `Deserialize` is derived; `None` for anything else. It asks the type to deserialise
/// itself from a probe that records the field list serde passes to `deserialize_struct`.
fn struct_fields<T: DeserializeOwned>() -> Option<&'static [&'static str]> {
    struct Probe<'a>(&'a mut Option<&'static [&'static str]>);

    impl<'de> Deserializer<'de> for Probe<'_> {
        type Error = de::value::Error;

        fn deserialize_any<V: Visitor<'de>>(self, _: V) -> Result<V::Value, Self::Error> {
            Err(de::Error::custom("not a struct"))
        }

        fn deserialize_struct<V: Visitor<'de>>(
            self,
            _name: &'static str,
            fields: &'static [&'static str],
            _visitor: V,
        ) -> Result<V::Value, Self::Error> {
            *self.0 = Some(fields);
            Err(de::Error::custom("probed"))
        }

        serde::forward_to_deserialize_any! {
            bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes
            byte_buf option unit unit_struct newtype_struct seq tuple tuple_struct map enum
            identifier ignored_any
        }
    }

    let mut fields = None;
    let _ = T::deserialize(Probe(&mut fields));
    fields
}

#[cfg(test)]
mod tests {
    use serde::Deserialize;

    use super::*;

    /// Arguments.
    #[derive(Deserialize, JsonSchema)]
    #[serde(rename_all = "camelCase")]
    struct Renamed {
        /// Last in the alphabet, first in the struct.
        zebra_crossing: String,
        /// Optional.
        #[schemars(title = "Apple")]
        apple: Option<String>,
    }

    #[test]
    fn arguments_follow_field_order_and_bind_from_strings() {
        let arguments = args_arguments::<Renamed>().unwrap();
        let names: Vec<(&str, bool)> = arguments
            .iter()
            .map(|a| (a.name.as_str(), a.required))
            .collect();
        assert_eq!(names, [("zebraCrossing", true), ("apple", false)]);
        assert_eq!(arguments[1].title.as_deref(), Some("Apple"));
        assert_eq!(
            arguments[0].description.as_deref(),
            Some("Last in the alphabet, first in the struct.")
        );
        let pairs = [("zebraCrossing".to_string(), "z".to_string())];
        let bound: Renamed = prompt_args(&pairs).unwrap();
        assert_eq!((bound.zebra_crossing.as_str(), bound.apple), ("z", None));
        assert!(matches!(
            prompt_args::<Renamed>(&[]),
            Err(wit::PromptError::InvalidArguments(m)) if m.contains("zebraCrossing")
        ));
        assert_eq!(required_prompt_arg(&pairs, "zebraCrossing").unwrap(), "z");
        assert!(required_prompt_arg(&pairs, "apple").is_err());
        assert_eq!(optional_prompt_arg(&pairs, "apple"), None);
        assert_eq!(
            plain_argument("a", Some(" d "), false)
                .description
                .as_deref(),
            Some("d")
        );
    }

    #[test]
    fn args_arguments_reject_non_objects() {
        assert!(
            args_arguments::<String>()
                .unwrap_err()
                .contains("\"type\": \"object\"")
        );
        assert_eq!(
            struct_fields::<Renamed>(),
            Some(&["zebraCrossing", "apple"][..])
        );
        assert_eq!(struct_fields::<String>(), None);
    }
}
