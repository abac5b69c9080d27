//! Conversation messages, shared by prompts (what a prompt fills in) and the client's LLM
//! (what [`client::sample`](crate::client::sample) sends and receives): [`Message`],
//! [`Role`] and the [`Content`] of one message.
//!
//! These are plain builders over the contract's `chat` and `content-block` types; they do
//! no I/O. Which contents a receiver accepts is its business: MCP sampling takes text,
//! images and audio only, and the host refuses a request holding anything else.

use crate::__private::bindings::berth::plugin::chat as wit_chat;
use crate::wit::{ContentBlock, Media};
use crate::{ResourceContents, ResourceLink};

/// Who speaks a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The human side of the conversation.
    User,
    /// The model.
    Assistant,
}

impl Role {
    /// `user` or `assistant`, as MCP spells them.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::User => "user",
            Role::Assistant => "assistant",
        }
    }
}

/// What one message says: text, an image, audio, a link to a resource or an embedded
/// resource. Build it with the constructors below, or from a string (text) or a
/// [`ResourceLink`].
///
/// ```
/// use berth_plugin_sdk::{Content, ResourceContents};
///
/// let text = Content::from("Summarise this.");
/// assert_eq!(text.as_text(), Some("Summarise this."));
/// let image = Content::image(vec![0x89, b'P', b'N', b'G'], "image/png");
/// let embedded = Content::embedded_resource(
///     "notes://today",
///     ResourceContents::text("Buy milk").with_mime_type("text/plain"),
/// );
/// assert_eq!(image.as_text(), None);
/// # let _ = embedded;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Content(ContentBlock);

impl Content {
    /// Text.
    pub fn text(text: impl Into<String>) -> Self {
        Content(ContentBlock::Text(text.into()))
    }

    /// An image (`data` is sent base64-encoded by the host).
    pub fn image(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Content(ContentBlock::Image(Media {
            data: data.into(),
            mime_type: mime_type.into(),
        }))
    }

    /// An audio clip.
    pub fn audio(data: impl Into<Vec<u8>>, mime_type: impl Into<String>) -> Self {
        Content(ContentBlock::Audio(Media {
            data: data.into(),
            mime_type: mime_type.into(),
        }))
    }

    /// A link to a resource the client can read (prompts only).
    pub fn resource_link(link: ResourceLink) -> Self {
        Content(ContentBlock::ResourceLink(link.into_wit()))
    }

    /// A resource embedded in the message, with `uri` as its URI (prompts only).
    pub fn embedded_resource(uri: impl Into<String>, contents: ResourceContents) -> Self {
        let uri = uri.into();
        Content(ContentBlock::Resource(contents.into_wit(&uri, None)))
    }

    /// The text, if this is text.
    pub fn as_text(&self) -> Option<&str> {
        match &self.0 {
            ContentBlock::Text(text) => Some(text),
            _ => None,
        }
    }

    /// The contract's content block, to inspect any kind of content.
    pub fn block(&self) -> &ContentBlock {
        &self.0
    }

    /// Into the contract's content block.
    pub fn into_block(self) -> ContentBlock {
        self.0
    }
}

impl From<String> for Content {
    fn from(text: String) -> Self {
        Content::text(text)
    }
}

impl From<&str> for Content {
    fn from(text: &str) -> Self {
        Content::text(text)
    }
}

impl From<ResourceLink> for Content {
    fn from(link: ResourceLink) -> Self {
        Content::resource_link(link)
    }
}

impl From<ContentBlock> for Content {
    fn from(block: ContentBlock) -> Self {
        Content(block)
    }
}

/// One message of a conversation: who speaks it and what it says.
///
/// ```
/// use berth_plugin_sdk::{Content, Message, Role};
///
/// let question = Message::user("What is in this picture?");
/// let picture = Message::user(Content::image(vec![1, 2, 3], "image/png"));
/// assert_eq!(question.role, Role::User);
/// assert_eq!(Message::assistant("A cat.").content.as_text(), Some("A cat."));
/// # let _ = picture;
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Who speaks it.
    pub role: Role,
    /// What it says.
    pub content: Content,
}

impl Message {
    /// A message spoken by `role`.
    pub fn new(role: Role, content: impl Into<Content>) -> Self {
        Message {
            role,
            content: content.into(),
        }
    }

    /// A message from the user (text, from a string, or any [`Content`]).
    pub fn user(content: impl Into<Content>) -> Self {
        Message::new(Role::User, content)
    }

    /// A message from the model.
    pub fn assistant(content: impl Into<Content>) -> Self {
        Message::new(Role::Assistant, content)
    }
}

// Conversions to and from the contract's types; they stay crate-private so the public API
// shows the SDK's types.

impl From<Role> for wit_chat::Role {
    fn from(role: Role) -> Self {
        match role {
            Role::User => wit_chat::Role::User,
            Role::Assistant => wit_chat::Role::Assistant,
        }
    }
}

impl From<wit_chat::Role> for Role {
    fn from(role: wit_chat::Role) -> Self {
        match role {
            wit_chat::Role::User => Role::User,
            wit_chat::Role::Assistant => Role::Assistant,
        }
    }
}

impl From<Message> for wit_chat::Message {
    fn from(message: Message) -> Self {
        wit_chat::Message {
            role: message.role.into(),
            content: message.content.0,
        }
    }
}

impl From<wit_chat::Message> for Message {
    fn from(message: wit_chat::Message) -> Self {
        Message {
            role: message.role.into(),
            content: Content(message.content),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn contents_build_their_blocks() {
        assert_eq!(
            Content::from("hi").into_block(),
            ContentBlock::Text("hi".into())
        );
        match Content::audio(vec![1], "audio/wav").block() {
            ContentBlock::Audio(media) => assert_eq!(media.mime_type, "audio/wav"),
            other => panic!("unexpected {other:?}"),
        }
        match Content::from(ResourceLink::new("a://b", "b")).into_block() {
            ContentBlock::ResourceLink(link) => assert_eq!(link.uri, "a://b"),
            other => panic!("unexpected {other:?}"),
        }
        match Content::embedded_resource("a://c", ResourceContents::blob(vec![7])).into_block() {
            ContentBlock::Resource(contents) => {
                assert_eq!(contents.uri, "a://c");
                assert_eq!(contents.as_blob(), Some(&[7u8][..]));
            }
            other => panic!("unexpected {other:?}"),
        }
    }

    #[test]
    fn messages_round_trip_through_the_contract() {
        let message = Message::assistant("done");
        let wit: wit_chat::Message = message.clone().into();
        assert_eq!(wit.role, wit_chat::Role::Assistant);
        assert_eq!(Message::from(wit), message);
        assert_eq!(Role::User.as_str(), "user");
    }
}
