//! Binding call inputs to function parameters: a tool's JSON arguments to its argument
//! struct, and a template's matched URI variables to the function's parameters.
//!
//! Failures are worded for the model that sent the call: they name the field or variable
//! and say what was expected, without serde_json's line/column positions.

use std::fmt;
use std::str::FromStr;

use serde::de::DeserializeOwned;

use crate::wit::{CallError, ReadError};

/// Deserialises a tool's arguments; a failure is `invalid-arguments` naming the field.
pub fn parse_args<T: DeserializeOwned>(arguments: &str) -> Result<T, CallError> {
    // The host sends an object; an empty or null payload means "no arguments".
    let arguments = match arguments.trim() {
        "" | "null" => "{}",
        other => other,
    };
    let mut deserializer = serde_json::Deserializer::from_str(arguments);
    let value = serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = without_position(error.inner());
        CallError::InvalidArguments(if path == "." {
            format!("invalid arguments: {message}")
        } else {
            format!("invalid argument `{path}`: {message}")
        })
    })?;
    deserializer.end().map_err(|error| {
        CallError::InvalidArguments(format!("invalid arguments: {}", without_position(&error)))
    })?;
    Ok(value)
}

/// serde_json's message without its " at line 1 column 9" suffix, which means nothing to
/// a model that sent a one-line object.
fn without_position(error: &serde_json::Error) -> String {
    let message = error.to_string();
    match message.rfind(" at line ") {
        Some(index) => message[..index].to_string(),
        None => message,
    }
}

/// Binds template variable `name` to a required parameter of type `T`.
pub fn template_arg<T>(variables: &[(String, String)], name: &str) -> Result<T, ReadError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    match variables.iter().find(|(key, _)| key == name) {
        Some((_, value)) => parse_variable(name, value),
        None => Err(ReadError::NotFound(format!(
            "the URI has no value for `{name}`"
        ))),
    }
}

/// Binds template variable `name` to an `Option<T>` parameter (absent means `None`).
pub fn template_opt_arg<T>(
    variables: &[(String, String)],
    name: &str,
) -> Result<Option<T>, ReadError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    variables
        .iter()
        .find(|(key, _)| key == name)
        .map(|(_, value)| parse_variable(name, value))
        .transpose()
}

fn parse_variable<T>(name: &str, value: &str) -> Result<T, ReadError>
where
    T: FromStr,
    T::Err: fmt::Display,
{
    value
        .parse()
        .map_err(|error| ReadError::NotFound(format!("`{value}` is not a valid `{name}`: {error}")))
}
