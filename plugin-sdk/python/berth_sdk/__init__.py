"""Write Berth MCP plugins as plain, documented Python functions.

>>> from berth_sdk import tool
>>> @tool
... def reverse(text: str) -> str:
...     \"\"\"Reverses the characters of `text`.\"\"\"
...     return text[::-1]

``python -m berth_sdk build`` turns the project into a WebAssembly component
implementing the ``berth:plugin@0.3.0`` contract; ``berth_sdk.testing`` drives it
natively the way the host does.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

from . import client, config, kv, log, progress, resources
from ._core import (
    EVENT_KINDS,
    Audio,
    CallError,
    Completions,
    Context,
    DeclarationError,
    Event,
    Field,
    Image,
    Message,
    PromptError,
    PromptResult,
    ResourceContents,
    ResourceError,
    ResourceLink,
    Text,
    ToolError,
    ToolOutput,
)
from ._registry import Folder, current as _current
from .client import ClientError
from .kv import KvError

__version__ = "0.1.0"
CONTRACT = "berth:plugin@0.3.0"

__all__ = [
    "Audio", "CallError", "ClientError", "Completions", "Context", "DeclarationError",
    "EVENT_KINDS", "Event", "Field", "Folder", "Image", "KvError", "Message", "PromptError",
    "PromptResult", "ResourceContents", "ResourceError", "ResourceLink", "Text", "ToolError",
    "ToolOutput", "client", "completion", "config", "kv", "log", "needs", "on_event",
    "plugin", "progress", "prompt", "resource", "resource_template", "resources", "tool",
]


def tool(fn: Optional[Callable] = None, *, name: Optional[str] = None,
         title: Optional[str] = None, description: Optional[str] = None,
         read_only: Optional[bool] = None, destructive: Optional[bool] = None,
         idempotent: Optional[bool] = None, open_world: Optional[bool] = None,
         input_schema: Optional[dict] = None, output_schema: Optional[dict] = None):
    """Makes a documented function an MCP tool: ``@tool`` or ``@tool(name=..., ...)``.

    Parameters become the properties of the input JSON Schema (from their type hints),
    the docstring's first paragraph the description, its ``Args:`` section the
    parameter descriptions. The function is returned unchanged.
    """

    def register(f: Callable) -> Callable:
        _current().add_tool(
            f, name=name, title=title, description=description,
            annotations={"read_only": read_only, "destructive": destructive,
                         "idempotent": idempotent, "open_world": open_world},
            input_schema=input_schema, output_schema=output_schema)
        return f

    return register(fn) if fn is not None else register


def resource(uri: str, *, name: Optional[str] = None, title: Optional[str] = None,
             mime_type: Optional[str] = None, description: Optional[str] = None):
    """A static resource at ``uri``; the function (no parameters, or a Context) returns
    str (text), bytes (blob), ResourceContents or a list of them."""
    if callable(uri):
        raise DeclarationError(f"@resource needs the URI: @resource(\"scheme://...\") on "
                               f"`{getattr(uri, '__name__', uri)}`")

    def register(f: Callable) -> Callable:
        _current().add_resource(f, uri=uri, name=name, title=title, mime_type=mime_type,
                                description=description)
        return f

    return register


def resource_template(uri_template: str, *, name: Optional[str] = None,
                      title: Optional[str] = None, mime_type: Optional[str] = None,
                      description: Optional[str] = None):
    """A family of resources addressed by an RFC 6570 template such as
    ``notes://notes/{name}``; each variable is passed to the parameter of that name."""
    if callable(uri_template):
        raise DeclarationError(
            f"@resource_template needs the URI template: @resource_template(\"s://{{x}}\") "
            f"on `{getattr(uri_template, '__name__', uri_template)}`")

    def register(f: Callable) -> Callable:
        _current().add_template(f, uri_template=uri_template, name=name, title=title,
                                mime_type=mime_type, description=description)
        return f

    return register


def prompt(fn: Optional[Callable] = None, *, name: Optional[str] = None,
           title: Optional[str] = None, description: Optional[str] = None):
    """A prompt template: ``str`` parameters are required arguments, ``Optional[str]``
    ones (or with a default) optional; returns str (one user message), Message(s) or a
    PromptResult."""

    def register(f: Callable) -> Callable:
        _current().add_prompt(f, name=name, title=title, description=description)
        return f

    return register(fn) if fn is not None else register


def completion(*, prompt: Optional[str] = None, template: Optional[str] = None,
               argument: Optional[str] = None):
    """Suggestions for an argument of prompt ``prompt`` or a variable of resource template
    ``template`` (all of them if ``argument`` is None). The function takes any of
    ``argument``, ``value`` and ``chosen`` by name and returns a list of str or Completions."""

    def register(f: Callable) -> Callable:
        _current().add_completion(f, prompt=prompt, template=template, argument=argument)
        return f

    return register


def on_event(*kinds: str):
    """An event hook for the kinds listed (all kinds if none): ``fn(event: Event)``."""
    if len(kinds) == 1 and callable(kinds[0]):
        fn = kinds[0]
        _current().add_hook(fn, ())
        return fn

    def register(f: Callable) -> Callable:
        _current().add_hook(f, tuple(kinds))
        return f

    return register


def needs(folders: Sequence[Any] = (), env: Sequence[str] = (),
          network: Sequence[str] = ()) -> None:
    """Declares what the plugin needs from the operator: folders (a sandbox path, or
    ``Folder(path, write=True, reason="...")``), environment variables and network
    destinations (``host``, ``host:port``, ``*.domain``, optionally behind a scheme)."""
    _current().set_needs(list(folders), list(env), list(network))


def plugin(name: Optional[str] = None, version: Optional[str] = None,
           description: Optional[str] = None) -> None:
    """Overrides the plugin's name, version or description (default: pyproject.toml's
    ``[project]`` name, version and description)."""
    info = _current().info
    for key, value in (("name", name), ("version", version), ("description", description)):
        if value is not None:
            info[key] = value
