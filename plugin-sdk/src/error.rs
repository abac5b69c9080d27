//! The typed failures of tools and resources, and the contract variant each becomes.
//!
//! The distinction matters to the client: a failure the *model* should see and may correct
//! is a tool result with `is-error: true` (data), while a call that could not run is a
//! `call-error` (the host turns it into a protocol-level error). This module only maps;
//! it does not decide which one a plugin should use.

use std::fmt;

use crate::wit::{CallError, ContentBlock, ReadError, ToolResult};

/// Which contract outcome a [`ToolError`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ToolErrorKind {
    /// `call-error::invalid-arguments`: the arguments do not fit the tool.
    InvalidArguments,
    /// `call-error::failed`: the tool could not do its job.
    Failed,
    /// A `tool-result` with `is-error: true` and the message as its text: the tool ran and
    /// reports a problem to the model (which may retry differently).
    Result,
}

/// Why a tool did not produce its normal result.
///
/// Return it from a tool as `Result<T, ToolError>` (or any `Result<T, E>` with
/// `E: Into<ToolError>`):
///
/// | constructor / conversion | becomes |
/// |---|---|
/// | [`ToolError::invalid_arguments`] | `call-error::invalid-arguments` |
/// | [`ToolError::failed`], [`ToolError::new`] | `call-error::failed` |
/// | [`ToolError::result`] | a `tool-result` with `is-error: true` and the message as text |
/// | `From<String>`, `From<&str>` | `failed` |
/// | `From<serde_json::Error>`, `From<std::fmt::Error>`, `From<std::io::Error>`, `From` the `std` parse and UTF-8 errors | `failed` |
///
/// Use [`ToolError::result`] for failures the model should read and can act on ("no file
/// named x", "the pattern matched nothing"): MCP clients show those to the model. The
/// `call-error` variants are for calls that could not run at all.
///
/// There is no blanket `From<E: std::error::Error>` (it would forbid the `String`
/// conversions); map other errors with `.map_err(ToolError::failed)` or
/// `.map_err(ToolError::invalid_arguments)`, which accept anything `Display`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolError {
    kind: ToolErrorKind,
    message: String,
}

impl ToolError {
    /// A `call-error::failed` with `message` (same as [`ToolError::failed`]).
    pub fn new(message: impl fmt::Display) -> Self {
        Self::failed(message)
    }

    /// The tool could not do its job: `call-error::failed`.
    pub fn failed(message: impl fmt::Display) -> Self {
        ToolError {
            kind: ToolErrorKind::Failed,
            message: message.to_string(),
        }
    }

    /// The arguments do not fit the tool: `call-error::invalid-arguments`. Name the field
    /// and say what is wrong with it.
    pub fn invalid_arguments(message: impl fmt::Display) -> Self {
        ToolError {
            kind: ToolErrorKind::InvalidArguments,
            message: message.to_string(),
        }
    }

    /// The tool ran but reports an error to the model: a `tool-result` with
    /// `is-error: true` whose text is `message`.
    pub fn result(message: impl fmt::Display) -> Self {
        ToolError {
            kind: ToolErrorKind::Result,
            message: message.to_string(),
        }
    }

    /// Which contract outcome this error becomes.
    pub fn kind(&self) -> ToolErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The contract outcome: `Ok` with an error result for [`ToolErrorKind::Result`], `Err`
    /// otherwise.
    pub(crate) fn into_outcome(self) -> Result<ToolResult, CallError> {
        match self.kind {
            ToolErrorKind::InvalidArguments => Err(CallError::InvalidArguments(self.message)),
            ToolErrorKind::Failed => Err(CallError::Failed(self.message)),
            ToolErrorKind::Result => Ok(ToolResult {
                content: vec![ContentBlock::Text(self.message)],
                structured: None,
                is_error: true,
            }),
        }
    }
}

impl fmt::Display for ToolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ToolError {}

impl From<String> for ToolError {
    fn from(message: String) -> Self {
        ToolError::failed(message)
    }
}

impl From<&str> for ToolError {
    fn from(message: &str) -> Self {
        ToolError::failed(message)
    }
}

/// Implements `From<$error> for ToolError` (as `failed`) for std and serde error types.
macro_rules! failed_from {
    ($($error:ty),* $(,)?) => {$(
        impl From<$error> for ToolError {
            fn from(error: $error) -> Self {
                ToolError::failed(error)
            }
        }
    )*};
}

failed_from!(
    serde_json::Error,
    std::fmt::Error,
    std::io::Error,
    std::num::ParseIntError,
    std::num::ParseFloatError,
    std::str::ParseBoolError,
    std::str::Utf8Error,
    std::string::FromUtf8Error,
);

/// Which contract outcome a [`ResourceError`] becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResourceErrorKind {
    /// `read-error::not-found`: there is no resource at that URI.
    NotFound,
    /// `read-error::failed`: the resource exists but reading it failed.
    Failed,
}

/// Why a resource could not be read.
///
/// | constructor / conversion | becomes |
/// |---|---|
/// | [`ResourceError::not_found`] | `read-error::not-found` |
/// | [`ResourceError::failed`] | `read-error::failed` |
/// | `From<String>`, `From<&str>`, `From<serde_json::Error>`, `From<std::fmt::Error>` | `failed` |
/// | `From<std::io::Error>` | `not-found` for `ErrorKind::NotFound`, else `failed` |
/// | `From<ToolError>` | `failed`, with the tool error's message |
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceError {
    kind: ResourceErrorKind,
    message: String,
}

impl ResourceError {
    /// There is no resource at the requested URI: `read-error::not-found`.
    pub fn not_found(message: impl fmt::Display) -> Self {
        ResourceError {
            kind: ResourceErrorKind::NotFound,
            message: message.to_string(),
        }
    }

    /// The resource exists but reading it failed: `read-error::failed`.
    pub fn failed(message: impl fmt::Display) -> Self {
        ResourceError {
            kind: ResourceErrorKind::Failed,
            message: message.to_string(),
        }
    }

    /// Which contract outcome this error becomes.
    pub fn kind(&self) -> ResourceErrorKind {
        self.kind
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The contract's `read-error`.
    pub(crate) fn into_read_error(self) -> ReadError {
        match self.kind {
            ResourceErrorKind::NotFound => ReadError::NotFound(self.message),
            ResourceErrorKind::Failed => ReadError::Failed(self.message),
        }
    }
}

impl fmt::Display for ResourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ResourceError {}

impl From<String> for ResourceError {
    fn from(message: String) -> Self {
        ResourceError::failed(message)
    }
}

impl From<&str> for ResourceError {
    fn from(message: &str) -> Self {
        ResourceError::failed(message)
    }
}

impl From<ToolError> for ResourceError {
    fn from(error: ToolError) -> Self {
        ResourceError::failed(error.message)
    }
}

impl From<serde_json::Error> for ResourceError {
    fn from(error: serde_json::Error) -> Self {
        ResourceError::failed(error)
    }
}

impl From<std::fmt::Error> for ResourceError {
    fn from(error: std::fmt::Error) -> Self {
        ResourceError::failed(error)
    }
}

impl From<std::io::Error> for ResourceError {
    fn from(error: std::io::Error) -> Self {
        if error.kind() == std::io::ErrorKind::NotFound {
            ResourceError::not_found(error)
        } else {
            ResourceError::failed(error)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_kind_maps_to_its_contract_variant() {
        assert_eq!(
            ToolError::invalid_arguments("bad `x`").into_outcome(),
            Err(CallError::InvalidArguments("bad `x`".into()))
        );
        assert_eq!(
            ToolError::failed("boom").into_outcome(),
            Err(CallError::Failed("boom".into()))
        );
        assert_eq!(
            ToolError::new("boom").into_outcome(),
            Err(CallError::Failed("boom".into()))
        );
        let result = ToolError::result("try again").into_outcome().unwrap();
        assert!(result.is_error);
        assert_eq!(result.content, vec![ContentBlock::Text("try again".into())]);
    }

    #[test]
    fn conversions_are_failures() {
        assert_eq!(ToolError::from("x").kind(), ToolErrorKind::Failed);
        assert_eq!(
            ToolError::from(String::from("x")).kind(),
            ToolErrorKind::Failed
        );
        let parse = "x".parse::<i32>().unwrap_err();
        assert_eq!(ToolError::from(parse).kind(), ToolErrorKind::Failed);
        let missing = std::io::Error::new(std::io::ErrorKind::NotFound, "gone");
        assert_eq!(
            ResourceError::from(missing).into_read_error(),
            ReadError::NotFound("gone".into())
        );
        assert_eq!(
            ResourceError::from(ToolError::invalid_arguments("no")).into_read_error(),
            ReadError::Failed("no".into())
        );
    }
}
