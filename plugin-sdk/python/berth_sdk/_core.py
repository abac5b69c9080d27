"""Value types shared by the whole SDK: errors, content blocks, results, messages.

Nothing here touches the host; `_export` turns these into the generated WIT types and
`testing` into MCP-shaped dictionaries, so both run the same dispatch code.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass, field
from typing import Any, Iterable, Optional, Union


class DeclarationError(Exception):
    """A tool, resource, prompt, completion or plugin declaration the SDK cannot accept.

    Raised when the decorator runs (so at build time under componentize-py); the message
    names the function and says what to change.
    """


# --------------------------------------------------------------------------- errors


class ToolError(Exception):
    """A tool failure.

    ``raise ToolError("msg")`` gives a result with ``isError: true`` that the model sees
    and may correct; ``ToolError.invalid_arguments(msg)`` and ``ToolError.failed(msg)``
    become the contract's ``call-error`` (a protocol error the client sees).
    """

    RESULT = "result"
    INVALID_ARGUMENTS = "invalid_arguments"
    FAILED = "failed"

    def __init__(self, message: str, kind: str = "result"):
        super().__init__(str(message))
        self.message = str(message)
        self.kind = kind

    @classmethod
    def result(cls, message: str) -> "ToolError":
        return cls(message, cls.RESULT)

    @classmethod
    def invalid_arguments(cls, message: str) -> "ToolError":
        return cls(message, cls.INVALID_ARGUMENTS)

    @classmethod
    def failed(cls, message: str) -> "ToolError":
        return cls(message, cls.FAILED)


class ResourceError(Exception):
    """A resource read failure: ``ResourceError.not_found(msg)`` or ``.failed(msg)``."""

    def __init__(self, message: str, kind: str = "failed"):
        super().__init__(str(message))
        self.message = str(message)
        self.kind = kind

    @classmethod
    def not_found(cls, message: str) -> "ResourceError":
        return cls(message, "not_found")

    @classmethod
    def failed(cls, message: str) -> "ResourceError":
        return cls(message, "failed")


class PromptError(Exception):
    """A prompt failure: ``PromptError.invalid_arguments(msg)`` or ``.failed(msg)``."""

    def __init__(self, message: str, kind: str = "failed"):
        super().__init__(str(message))
        self.message = str(message)
        self.kind = kind

    @classmethod
    def invalid_arguments(cls, message: str) -> "PromptError":
        return cls(message, "invalid_arguments")

    @classmethod
    def failed(cls, message: str) -> "PromptError":
        return cls(message, "failed")


class CallError(Exception):
    """A call that produced no result (the contract's ``call-error``, ``read-error`` or
    ``prompt-error``): ``kind`` is ``unknown_tool``, ``invalid_arguments``, ``failed``,
    ``not_found``, ``unknown_prompt``; ``message`` says why. ``testing`` raises it."""

    def __init__(self, kind: str, message: str):
        super().__init__(f"{kind}: {message}")
        self.kind = kind
        self.message = message


# --------------------------------------------------------------------------- context


@dataclass
class Context:
    """Facts about the request a call serves. A tool, resource or prompt function gets it
    by declaring a parameter annotated ``Context``."""

    request_id: Optional[str] = None
    client_name: Optional[str] = None
    client_version: Optional[str] = None

    def report_progress(
        self, progress: float, total: Optional[float] = None, message: Optional[str] = None
    ) -> None:
        """Reports how far the running call got (forwarded when the client asked)."""
        from . import progress as _progress

        _progress.report(progress, total, message)


# --------------------------------------------------------------------------- content


@dataclass
class Text:
    """A text block."""

    text: str


@dataclass
class Image:
    """An image block: raw bytes and their MIME type."""

    data: bytes
    mime_type: str


@dataclass
class Audio:
    """An audio block: raw bytes and their MIME type."""

    data: bytes
    mime_type: str


@dataclass
class ResourceLink:
    """A pointer to a resource the client can read."""

    uri: str
    name: str
    title: Optional[str] = None
    description: Optional[str] = None
    mime_type: Optional[str] = None


@dataclass
class ResourceContents:
    """The contents of a resource: ``text`` or ``blob`` (bytes), with a MIME type."""

    uri: str
    text: Optional[str] = None
    blob: Optional[bytes] = None
    mime_type: Optional[str] = None

    def __post_init__(self) -> None:
        if (self.text is None) == (self.blob is None):
            raise ValueError("ResourceContents needs exactly one of `text` and `blob`")


Block = Union[Text, Image, Audio, ResourceLink, ResourceContents]


def as_block(value: Any) -> Block:
    """A content block from a block or a string."""
    if isinstance(value, str):
        return Text(value)
    if isinstance(value, (Text, Image, Audio, ResourceLink, ResourceContents)):
        return value
    raise TypeError(
        f"a content block must be a str, Text, Image, Audio, ResourceLink or "
        f"ResourceContents, not {type(value).__name__}"
    )


def block_to_mcp(block: Block) -> dict:
    """The MCP JSON shape of a content block (what a client receives)."""
    if isinstance(block, Text):
        return {"type": "text", "text": block.text}
    if isinstance(block, (Image, Audio)):
        return {
            "type": "image" if isinstance(block, Image) else "audio",
            "data": base64.b64encode(block.data).decode("ascii"),
            "mimeType": block.mime_type,
        }
    if isinstance(block, ResourceLink):
        out = {"type": "resource_link", "uri": block.uri, "name": block.name}
        for key, value in (("title", block.title), ("description", block.description),
                           ("mimeType", block.mime_type)):
            if value is not None:
                out[key] = value
        return out
    return {"type": "resource", "resource": contents_to_mcp(block)}


def contents_to_mcp(contents: ResourceContents) -> dict:
    out: dict = {"uri": contents.uri}
    if contents.mime_type is not None:
        out["mimeType"] = contents.mime_type
    if contents.text is not None:
        out["text"] = contents.text
    else:
        out["blob"] = base64.b64encode(contents.blob or b"").decode("ascii")
    return out


class ToolOutput:
    """A tool result built by hand: any content blocks, structured JSON, error flag.

    >>> ToolOutput().text("here it is").image(png_bytes, "image/png")
    >>> ToolOutput("plain text", structured={"n": 1})
    """

    def __init__(self, *blocks: Any, structured: Any = None, is_error: bool = False):
        self.content: list = [as_block(b) for b in blocks]
        self.structured_value: Any = structured
        self.is_error = is_error

    def text(self, text: str) -> "ToolOutput":
        self.content.append(Text(text))
        return self

    def image(self, data: bytes, mime_type: str) -> "ToolOutput":
        self.content.append(Image(bytes(data), mime_type))
        return self

    def audio(self, data: bytes, mime_type: str) -> "ToolOutput":
        self.content.append(Audio(bytes(data), mime_type))
        return self

    def resource_link(self, uri: str, name: str, *, title: Optional[str] = None,
                      description: Optional[str] = None,
                      mime_type: Optional[str] = None) -> "ToolOutput":
        self.content.append(ResourceLink(uri, name, title, description, mime_type))
        return self

    def embedded_resource(self, uri: str, *, text: Optional[str] = None,
                          blob: Optional[bytes] = None,
                          mime_type: Optional[str] = None) -> "ToolOutput":
        self.content.append(ResourceContents(uri, text, blob, mime_type))
        return self

    def structured(self, value: Any) -> "ToolOutput":
        """Sets the structured result (a JSON object); sent as-is, no text block added."""
        self.structured_value = value
        return self

    def error(self, is_error: bool = True) -> "ToolOutput":
        self.is_error = is_error
        return self

    def __repr__(self) -> str:
        return (f"ToolOutput(content={self.content!r}, structured={self.structured_value!r}, "
                f"is_error={self.is_error})")


@dataclass
class Result:
    """A tool result in neutral form: blocks, structured JSON text, error flag."""

    content: list
    structured: Optional[str] = None
    is_error: bool = False


# --------------------------------------------------------------------------- prompts


@dataclass
class Message:
    """One conversation message: ``Message.user("…")``, ``Message.assistant(block)``."""

    role: str
    content: Block

    def __post_init__(self) -> None:
        if self.role not in ("user", "assistant"):
            raise ValueError(f"a message's role is `user` or `assistant`, not {self.role!r}")
        self.content = as_block(self.content)

    @classmethod
    def user(cls, content: Any) -> "Message":
        return cls("user", content)

    @classmethod
    def assistant(cls, content: Any) -> "Message":
        return cls("assistant", content)

    @property
    def text(self) -> Optional[str]:
        return self.content.text if isinstance(self.content, Text) else None


@dataclass
class PromptResult:
    """A filled-in prompt: messages and an optional description of this result."""

    messages: list
    description: Optional[str] = None


# --------------------------------------------------------------------------- completion


@dataclass
class Completions:
    """Suggestions for a completion request (the host sends at most 100)."""

    values: list = field(default_factory=list)
    total: Optional[int] = None
    has_more: bool = False

    @classmethod
    def matching(cls, candidates: Iterable[str], prefix: str) -> "Completions":
        """The candidates that start with ``prefix`` (case-insensitively), in order."""
        low = prefix.lower()
        values = [c for c in candidates if c.lower().startswith(low)]
        return cls(values, total=len(values))


# --------------------------------------------------------------------------- events

EVENT_KINDS = (
    "plugin_loaded",
    "plugin_reloaded",
    "plugin_unloaded",
    "plugin_load_failed",
    "config_applied",
    "config_rejected",
    "tool_called",
)

CALL_OUTCOMES = ("success", "tool_error", "invalid_arguments", "crashed", "timed_out",
                 "cancelled")


@dataclass
class Event:
    """Something that happened in the host. ``kind`` is one of ``EVENT_KINDS``; the other
    fields are set for the kinds that carry them."""

    kind: str
    plugin: Optional[str] = None
    version: Optional[str] = None
    from_version: Optional[str] = None
    to_version: Optional[str] = None
    file: Optional[str] = None
    error: Optional[str] = None
    tool: Optional[str] = None
    duration_us: Optional[int] = None
    outcome: Optional[str] = None


# --------------------------------------------------------------------------- schema metadata


class Field:
    """Schema metadata for ``Annotated[T, Field(...)]``: description, bounds, pattern…

    Every keyword becomes the JSON Schema keyword of the same meaning
    (``min_length`` → ``minLength``, ``maximum`` → ``maximum``, …); ``extra`` is merged
    into the schema as given.
    """

    _KEYS = {
        "description": "description",
        "title": "title",
        "minimum": "minimum",
        "maximum": "maximum",
        "exclusive_minimum": "exclusiveMinimum",
        "exclusive_maximum": "exclusiveMaximum",
        "multiple_of": "multipleOf",
        "min_length": "minLength",
        "max_length": "maxLength",
        "pattern": "pattern",
        "format": "format",
        "min_items": "minItems",
        "max_items": "maxItems",
        "unique_items": "uniqueItems",
        "examples": "examples",
    }

    def __init__(self, description: Optional[str] = None, *, extra: Optional[dict] = None,
                 **keywords: Any):
        unknown = sorted(set(keywords) - set(self._KEYS))
        if unknown:
            raise DeclarationError(
                f"Field() does not know {', '.join(unknown)}; it takes "
                f"{', '.join(sorted(self._KEYS))} and extra={{...}}"
            )
        self.schema: dict = {}
        if description is not None:
            self.schema["description"] = description
        for key, value in keywords.items():
            if value is not None:
                self.schema[self._KEYS[key]] = value
        if extra:
            self.schema.update(extra)

    def __repr__(self) -> str:
        return f"Field({self.schema!r})"


def to_json_text(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
