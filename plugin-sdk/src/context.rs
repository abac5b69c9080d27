//! The call context a tool, resource or prompt function can ask for with a `&Context`
//! parameter.
//!
//! It carries the facts the host passes in, plus [`Context::report_progress`], which
//! belongs to the running call. Other host services stay free functions (`log`, `config`,
//! `resources`, `client`), usable from any call.

use crate::wit::CallContext;

/// Facts about the request a call serves: the JSON-RPC request id and the client.
///
/// Declare a parameter of type `&Context` on a `#[tool]`, `#[resource]`,
/// `#[resource_template]` or `#[prompt]` function to receive it. In tests, build one with
/// [`Context::default`] and the `with_*` methods.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    request_id: Option<String>,
    client_name: Option<String>,
    client_version: Option<String>,
}

impl Context {
    /// The JSON-RPC id of the client's request, as text, if there is one.
    pub fn request_id(&self) -> Option<&str> {
        self.request_id.as_deref()
    }

    /// The name the client gave in its `initialize` request, if known.
    pub fn client_name(&self) -> Option<&str> {
        self.client_name.as_deref()
    }

    /// The version the client gave in its `initialize` request, if known.
    pub fn client_version(&self) -> Option<&str> {
        self.client_version.as_deref()
    }

    /// Reports that the running call has done `progress` out of `total` (if known), with
    /// an optional `message`; see [`progress`](crate::progress) for when the client sees it.
    /// Never blocks and never fails; natively, reports are recorded for tests.
    pub fn report_progress(&self, progress: f64, total: Option<f64>, message: Option<&str>) {
        crate::progress::report(progress, total, message);
    }

    /// Returns the context with `request_id` set (for tests).
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Returns the context with the client's name set (for tests).
    pub fn with_client_name(mut self, name: impl Into<String>) -> Self {
        self.client_name = Some(name.into());
        self
    }

    /// Returns the context with the client's version set (for tests).
    pub fn with_client_version(mut self, version: impl Into<String>) -> Self {
        self.client_version = Some(version.into());
        self
    }
}

impl From<CallContext> for Context {
    fn from(context: CallContext) -> Self {
        Context {
            request_id: context.request_id,
            client_name: context.client_name,
            client_version: context.client_version,
        }
    }
}
