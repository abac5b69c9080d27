"""Drive a plugin natively, the way the host does, in plain CPython unit tests.

>>> import app                      # registers the plugin's tools
>>> from berth_sdk import testing
>>> testing.call("reverse", {"text": "abc"}).text
'cba'

Calls go through the same code as inside the component: arguments as JSON text,
decoding, your function, result conversion; results come back in MCP's JSON shape
(``content``, ``structuredContent``, ``isError``), and a call that produced no result
raises ``CallError`` (``kind``: ``unknown_tool``, ``invalid_arguments``, ``failed``,
``not_found``, ``unknown_prompt``).
"""

from __future__ import annotations

import contextlib
import json
from typing import Any, Iterator, Optional

from . import _registry, client, config, kv, log, progress, resources
from ._core import (
    CallError,
    Context,
    DeclarationError,
    Event,
    block_to_mcp,
    contents_to_mcp,
)

__all__ = ["CallError", "DeclarationError", "ToolCallResult", "call", "complete", "get_prompt",
           "interests", "isolated", "list_prompts", "manifest", "needs", "on_event", "read",
           "reset", "validate"]


class ToolCallResult(dict):
    """A tool result in MCP's shape, with shortcuts: ``text``, ``structured``, ``is_error``."""

    @property
    def text(self) -> str:
        """The text blocks, joined by newlines."""
        return "\n".join(b["text"] for b in self["content"] if b["type"] == "text")

    @property
    def structured(self) -> Any:
        return self.get("structuredContent")

    @property
    def is_error(self) -> bool:
        return bool(self.get("isError"))

    def json(self) -> Any:
        """The first text block parsed as JSON."""
        return json.loads(self["content"][0]["text"])


def _registry_now() -> _registry.Registry:
    return _registry.current()


def validate() -> None:
    """Checks the plugin as a build does (plugin name, completion targets, …)."""
    _registry_now().check()


def manifest() -> dict:
    """What ``describe`` answers: name, version, description, tools (schemas as dicts),
    resources and resource templates."""
    return _registry_now().manifest()


def call(name: str, arguments: Optional[dict] = None, *,
         context: Optional[Context] = None) -> ToolCallResult:
    """Calls tool ``name`` with ``arguments`` (a dict, sent as JSON text)."""
    text = json.dumps(arguments if arguments is not None else {})
    result = _registry_now().call_tool(name, text, context or Context())
    out = ToolCallResult(content=[block_to_mcp(b) for b in result.content])
    if result.structured is not None:
        out["structuredContent"] = json.loads(result.structured)
    out["isError"] = result.is_error
    return out


def read(uri: str, *, context: Optional[Context] = None) -> list:
    """Reads a resource: a list of ``{"uri", "mimeType", "text" | "blob"}``."""
    return [contents_to_mcp(c) for c in _registry_now().read_resource(uri, context or Context())]


def list_prompts() -> list:
    return [
        {"name": p.name, "title": p.title, "description": p.description,
         "arguments": [{"name": a, "description": d, "required": r}
                       for a, d, r in p.arguments]}
        for p in _registry_now().prompts
    ]


def get_prompt(name: str, arguments: Optional[dict] = None, *,
               context: Optional[Context] = None) -> dict:
    """Fills prompt ``name`` in: ``{"description", "messages": [{"role", "content"}]}``."""
    result = _registry_now().get_prompt(name, list((arguments or {}).items()),
                                        context or Context())
    out: dict = {"messages": [{"role": m.role, "content": block_to_mcp(m.content)}
                              for m in result.messages]}
    if result.description is not None:
        out["description"] = result.description
    return out


def complete(*, argument: str, value: str = "", prompt: Optional[str] = None,
             template: Optional[str] = None, chosen: Optional[dict] = None) -> dict:
    """Asks for suggestions: ``{"values", "total", "hasMore"}``."""
    if (prompt is None) == (template is None):
        raise ValueError("give exactly one of prompt= and template=")
    kind, target = ("prompt", prompt) if prompt is not None else ("template", template)
    out = _registry_now().complete(kind, target, argument, value, dict(chosen or {}))
    return {"values": list(out.values), "total": out.total, "hasMore": out.has_more}


def interests() -> list:
    return _registry_now().interests()


def on_event(event: Event) -> None:
    _registry_now().on_event(event)


def needs() -> dict:
    n = _registry_now().needs
    return {"folders": [{"path": f.path, "write": f.write, "reason": f.reason}
                        for f in n.folders],
            "env": list(n.env), "network": list(n.network)}


def reset() -> None:
    """Clears every native stand-in: config values, kv buckets, progress reports, change
    notices, log records and client answers."""
    config.clear_for_test()
    kv.clear_for_test()
    progress.take_for_test()
    resources.take_changed_for_test()
    log.take_for_test()
    client.set_sample_for_test(None)
    client.set_elicit_for_test(None)


@contextlib.contextmanager
def isolated(name: Optional[str] = None, version: Optional[str] = None,
             description: Optional[str] = None, keyvalue: Optional[bool] = None
             ) -> Iterator[_registry.Registry]:
    """A fresh, empty plugin for the duration of the block (declarations inside it go there),
    e.g. to test several small plugins in one process."""
    registry = _registry.Registry()
    registry.project = _registry.Project(name=name, version=version, description=description,
                                         keyvalue=keyvalue)
    previous = _registry.replace(registry)
    try:
        yield registry
    finally:
        _registry.replace(previous)
