//! Rich results: [`ToolOutput`] (content blocks, structured JSON, error flag) and the
//! resource bodies [`ResourceContents`] and [`ResourceLink`].
//!
//! These are builders over the contract's types; they do no I/O and no validation beyond
//! keeping `structured` an object, which MCP requires.

use crate::wit::{self, ContentBlock, Media, ResourceBody, ToolResult};

/// A tool result built block by block: text, images, audio, resource links, embedded
/// resources, optional structured JSON, and the error flag.
///
/// ```
/// use berth_plugin_sdk::{ResourceLink, ToolOutput};
///
/// let output = ToolOutput::new()
///     .text("Here is the chart:")
///     .image(vec![0x89, b'P', b'N', b'G'], "image/png")
///     .resource_link(ResourceLink::new("charts://sales/2024", "sales-2024").mime_type("image/png"))
///     .structured(serde_json::json!({"points": 12}));
/// assert_eq!(output.content().len(), 3);
/// ```
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ToolOutput {
    content: Vec<ContentBlock>,
    structured: Option<serde_json::Value>,
    is_error: bool,
}

impl ToolOutput {
    /// An empty result: no content, no structured content, not an error.
    pub fn new() -> Self {
        Self::default()
    }

    /// Appends a text block.
    pub fn text(mut self, text: impl Into<String>) -> Self {
        self.content.push(ContentBlock::Text(text.into()));
        self
    }

    /// Appends an image block (`data` is sent base64-encoded by the host).
    pub fn image(mut self, data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        self.content.push(ContentBlock::Image(Media {
            data: data.into(),
            mime_type: mime_type.into(),
        }));
        self
    }

    /// Appends an audio block.
    pub fn audio(mut self, data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        self.content.push(ContentBlock::Audio(Media {
            data: data.into(),
            mime_type: mime_type.into(),
        }));
        self
    }

    /// Appends a link to a resource the client can read.
    pub fn resource_link(mut self, link: ResourceLink) -> Self {
        self.content
            .push(ContentBlock::ResourceLink(link.into_wit()));
        self
    }

    /// Appends a resource embedded in the result, with `uri` as its URI.
    pub fn embedded_resource(mut self, uri: impl Into<String>, contents: ResourceContents) -> Self {
        let uri = uri.into();
        self.content
            .push(ContentBlock::Resource(contents.into_wit(&uri, None)));
        self
    }

    /// Sets the structured result. MCP requires a JSON object; any other value is sent as
    /// `{"value": …}`. Declaring a matching output schema is up to the tool's return type.
    pub fn structured(mut self, value: serde_json::Value) -> Self {
        self.structured = Some(match value {
            serde_json::Value::Object(_) => value,
            other => serde_json::json!({ "value": other }),
        });
        self
    }

    /// Marks the result as an error the model should see (`is-error: true`).
    pub fn error(mut self) -> Self {
        self.is_error = true;
        self
    }

    /// The content blocks so far.
    pub fn content(&self) -> &[ContentBlock] {
        &self.content
    }

    /// The structured result, if set.
    pub fn structured_value(&self) -> Option<&serde_json::Value> {
        self.structured.as_ref()
    }

    /// Whether the result is marked as an error.
    pub fn is_error(&self) -> bool {
        self.is_error
    }

    /// The contract's `tool-result`.
    pub fn into_result(self) -> ToolResult {
        ToolResult {
            content: self.content,
            structured: self.structured.map(|value| value.to_string()),
            is_error: self.is_error,
        }
    }
}

impl From<String> for ToolOutput {
    fn from(text: String) -> Self {
        ToolOutput::new().text(text)
    }
}

impl From<&str> for ToolOutput {
    fn from(text: &str) -> Self {
        ToolOutput::new().text(text)
    }
}

/// A pointer to a resource, for [`ToolOutput::resource_link`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceLink {
    uri: String,
    name: String,
    title: Option<String>,
    description: Option<String>,
    mime_type: Option<String>,
}

impl ResourceLink {
    /// A link to `uri`, with a short machine-friendly `name`.
    pub fn new(uri: impl Into<String>, name: impl Into<String>) -> Self {
        ResourceLink {
            uri: uri.into(),
            name: name.into(),
            title: None,
            description: None,
            mime_type: None,
        }
    }

    /// Sets the human-readable display name.
    pub fn title(mut self, title: impl Into<String>) -> Self {
        self.title = Some(title.into());
        self
    }

    /// Sets what the resource holds.
    pub fn description(mut self, description: impl Into<String>) -> Self {
        self.description = Some(description.into());
        self
    }

    /// Sets the resource's MIME type.
    pub fn mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    pub(crate) fn into_wit(self) -> wit::ResourceLink {
        wit::ResourceLink {
            uri: self.uri,
            name: self.name,
            title: self.title,
            description: self.description,
            mime_type: self.mime_type,
        }
    }
}

/// The contents of a resource: text or bytes, with an optional URI and MIME type.
///
/// Returned from a `#[resource]` or `#[resource_template]` function, a missing URI means
/// "the requested URI" and a missing MIME type means "the declared one".
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceContents {
    uri: Option<String>,
    mime_type: Option<String>,
    body: ResourceBody,
}

impl ResourceContents {
    /// Text contents.
    pub fn text(text: impl Into<String>) -> Self {
        ResourceContents {
            uri: None,
            mime_type: None,
            body: ResourceBody::Text(text.into()),
        }
    }

    /// Binary contents.
    pub fn blob(bytes: impl Into<Vec<u8>>) -> Self {
        ResourceContents {
            uri: None,
            mime_type: None,
            body: ResourceBody::Blob(bytes.into()),
        }
    }

    /// Sets the URI (for a read that returns several resources, say).
    pub fn with_uri(mut self, uri: impl Into<String>) -> Self {
        self.uri = Some(uri.into());
        self
    }

    /// Sets the MIME type.
    pub fn with_mime_type(mut self, mime_type: impl Into<String>) -> Self {
        self.mime_type = Some(mime_type.into());
        self
    }

    /// The contract's `resource-contents`, filling in `uri` and `mime_type` where unset.
    pub(crate) fn into_wit(self, uri: &str, mime_type: Option<&str>) -> wit::ResourceContents {
        wit::ResourceContents {
            uri: self.uri.unwrap_or_else(|| uri.to_string()),
            mime_type: self.mime_type.or_else(|| mime_type.map(str::to_string)),
            body: self.body,
        }
    }
}

impl wit::ToolResult {
    /// The text blocks, joined with newlines (handy in tests).
    pub fn text(&self) -> String {
        self.content
            .iter()
            .filter_map(|block| match block {
                ContentBlock::Text(text) => Some(text.as_str()),
                _ => None,
            })
            .collect::<Vec<_>>()
            .join("\n")
    }

    /// The structured result parsed as JSON, if there is one.
    pub fn structured_json(&self) -> Option<serde_json::Value> {
        self.structured
            .as_deref()
            .and_then(|text| serde_json::from_str(text).ok())
    }
}

impl wit::ResourceContents {
    /// The body as text, if it is text (handy in tests).
    pub fn as_text(&self) -> Option<&str> {
        match &self.body {
            ResourceBody::Text(text) => Some(text),
            ResourceBody::Blob(_) => None,
        }
    }

    /// The body as bytes, if it is a blob.
    pub fn as_blob(&self) -> Option<&[u8]> {
        match &self.body {
            ResourceBody::Blob(bytes) => Some(bytes),
            ResourceBody::Text(_) => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_keeps_block_order_and_flags() {
        let result = ToolOutput::new()
            .text("a")
            .audio(vec![1], "audio/wav")
            .embedded_resource("x://y", ResourceContents::text("body"))
            .error()
            .into_result();
        assert!(result.is_error);
        assert_eq!(result.content.len(), 3);
        assert_eq!(result.text(), "a");
        match &result.content[2] {
            ContentBlock::Resource(contents) => {
                assert_eq!(contents.uri, "x://y");
                assert_eq!(contents.as_text(), Some("body"));
            }
            other => panic!("unexpected block {other:?}"),
        }
    }

    #[test]
    fn structured_is_always_an_object() {
        let result = ToolOutput::new()
            .structured(serde_json::json!([1, 2]))
            .into_result();
        assert_eq!(
            result.structured_json(),
            Some(serde_json::json!({"value": [1, 2]}))
        );
    }

    #[test]
    fn contents_default_to_request_uri_and_declared_mime() {
        let contents = ResourceContents::blob(vec![1, 2]).into_wit("a://b", Some("x/y"));
        assert_eq!(contents.uri, "a://b");
        assert_eq!(contents.mime_type.as_deref(), Some("x/y"));
        assert_eq!(contents.as_blob(), Some(&[1u8, 2][..]));
        let explicit = ResourceContents::text("t")
            .with_uri("c://d")
            .with_mime_type("text/plain")
            .into_wit("a://b", Some("x/y"));
        assert_eq!(explicit.uri, "c://d");
        assert_eq!(explicit.mime_type.as_deref(), Some("text/plain"));
    }
}
