"""Conversions between the SDK's value types and the generated WIT types (component only)."""

from wit_world.imports import chat, types

from ._core import Audio, Image, Message, ResourceContents, ResourceLink, Text


def block(value):
    if isinstance(value, Text):
        return types.ContentBlock_Text(value.text)
    if isinstance(value, Image):
        return types.ContentBlock_Image(types.Media(bytes(value.data), value.mime_type))
    if isinstance(value, Audio):
        return types.ContentBlock_Audio(types.Media(bytes(value.data), value.mime_type))
    if isinstance(value, ResourceLink):
        return types.ContentBlock_ResourceLink(types.ResourceLink(
            value.uri, value.name, value.title, value.description, value.mime_type))
    return types.ContentBlock_Resource(contents(value))


def contents(value: ResourceContents):
    if value.text is not None:
        body = types.ResourceBody_Text(value.text)
    else:
        body = types.ResourceBody_Blob(bytes(value.blob or b""))
    return types.ResourceContents(value.uri, value.mime_type, body)


def from_block(value):
    if isinstance(value, types.ContentBlock_Text):
        return Text(value.value)
    if isinstance(value, types.ContentBlock_Image):
        return Image(bytes(value.value.data), value.value.mime_type)
    if isinstance(value, types.ContentBlock_Audio):
        return Audio(bytes(value.value.data), value.value.mime_type)
    if isinstance(value, types.ContentBlock_ResourceLink):
        link = value.value
        return ResourceLink(link.uri, link.name, link.title, link.description, link.mime_type)
    body = value.value.body
    if isinstance(body, types.ResourceBody_Text):
        return ResourceContents(value.value.uri, text=body.value, mime_type=value.value.mime_type)
    return ResourceContents(value.value.uri, blob=bytes(body.value), mime_type=value.value.mime_type)


def message(value: Message):
    role = chat.Role.USER if value.role == "user" else chat.Role.ASSISTANT
    return chat.Message(role, block(value.content))
