"""The component's exports, in the shape componentize-py expects. Only the generated entry
module of a build imports this; user code never names WIT classes."""

from __future__ import annotations

from componentize_py_types import Err
from wit_world.exports import completion as _completion
from wit_world.exports import events as _events
from wit_world.exports import needs as _needs
from wit_world.exports import prompts as _prompts_ex
from wit_world.imports import types as _types

from . import _registry, _wit
from ._core import EVENT_KINDS, CallError, Context, Event, to_json_text


def _context(context) -> Context:
    return Context(context.request_id, context.client_name, context.client_version)


def _schema_text(schema):
    return None if schema is None else to_json_text(schema)


class Guest:
    def describe(self):
        m = _registry.current().manifest()
        return _types.Manifest(
            m["name"], m["version"], m["description"],
            [
                _types.Tool(
                    t["name"], t["title"], t["description"], _schema_text(t["input_schema"]),
                    _schema_text(t["output_schema"]),
                    _types.ToolAnnotations(t["annotations"]["read_only"],
                                           t["annotations"]["destructive"],
                                           t["annotations"]["idempotent"],
                                           t["annotations"]["open_world"]))
                for t in m["tools"]
            ],
            [_types.Resource(r["uri"], r["name"], r["title"], r["description"],
                             r["mime_type"], None) for r in m["resources"]],
            [_types.ResourceTemplate(t["uri_template"], t["name"], t["title"],
                                     t["description"], t["mime_type"])
             for t in m["resource_templates"]],
        )

    def call_tool(self, name, arguments, context):
        try:
            result = _registry.current().call_tool(name, arguments, _context(context))
        except CallError as error:
            cls = {"unknown_tool": _types.CallError_UnknownTool,
                   "invalid_arguments": _types.CallError_InvalidArguments}.get(
                       error.kind, _types.CallError_Failed)
            raise Err(cls(error.message))
        try:
            content = [_wit.block(b) for b in result.content]
        except Exception as error:  # a malformed block built by hand
            raise Err(_types.CallError_Failed(
                f"tool `{name}` returned a content block that cannot be sent: "
                f"{type(error).__name__}: {error}"))
        return _types.ToolResult(content, result.structured, result.is_error)

    def read_resource(self, uri, context):
        try:
            contents = _registry.current().read_resource(uri, _context(context))
        except CallError as error:
            cls = _types.ReadError_NotFound if error.kind == "not_found" else _types.ReadError_Failed
            raise Err(cls(error.message))
        return [_wit.contents(c) for c in contents]


_KINDS = {kind: _events.EventKind[kind.upper()] for kind in EVENT_KINDS}


def _event(value) -> Event:
    name = type(value).__name__
    if name == "Event_PluginLoaded":
        return Event("plugin_loaded", plugin=value.value.plugin, version=value.value.version)
    if name == "Event_PluginReloaded":
        return Event("plugin_reloaded", plugin=value.value.plugin,
                     from_version=value.value.from_, to_version=value.value.to)
    if name == "Event_PluginUnloaded":
        return Event("plugin_unloaded", plugin=value.value)
    if name == "Event_PluginLoadFailed":
        return Event("plugin_load_failed", file=value.value.file, error=value.value.error)
    if name == "Event_ConfigApplied":
        return Event("config_applied")
    if name == "Event_ConfigRejected":
        return Event("config_rejected", error=value.value)
    called = value.value
    return Event("tool_called", plugin=called.plugin, tool=called.tool,
                 duration_us=called.duration_us, outcome=called.outcome.name.lower())


class Events:
    def interests(self):
        return [_KINDS[k] for k in _registry.current().interests()]

    def on_event(self, event):
        _registry.current().on_event(_event(event))


class Needs:
    def needs(self):
        n = _registry.current().needs
        return _needs.Requirements(
            [_needs.Folder(f.path, bool(f.write), f.reason) for f in n.folders],
            list(n.env), list(n.network))


class Prompts:
    def list_prompts(self):
        return [
            _prompts_ex.Prompt(p.name, p.title, p.description,
                               [_prompts_ex.Argument(a, None, d, r) for a, d, r in p.arguments])
            for p in _registry.current().prompts
        ]

    def get_prompt(self, name, arguments, context):
        try:
            result = _registry.current().get_prompt(name, list(arguments), _context(context))
            messages = [_wit.message(m) for m in result.messages]
        except CallError as error:
            cls = {"unknown_prompt": _prompts_ex.PromptError_UnknownPrompt,
                   "invalid_arguments": _prompts_ex.PromptError_InvalidArguments}.get(
                       error.kind, _prompts_ex.PromptError_Failed)
            raise Err(cls(error.message))
        except Exception as error:
            raise Err(_prompts_ex.PromptError_Failed(
                f"prompt `{name}` returned a message that cannot be sent: "
                f"{type(error).__name__}: {error}"))
        return _prompts_ex.PromptResult(result.description, messages)


class Completion:
    def complete(self, target, argument, value, chosen):
        if type(target).__name__ == "Target_Prompt":
            kind = "prompt"
        else:
            kind = "template"
        try:
            out = _registry.current().complete(kind, target.value, argument, value,
                                               dict(chosen))
        except CallError as error:
            raise Err(error.message)
        return _completion.Completions([str(v) for v in out.values], out.total,
                                       bool(out.has_more))


class Icons:
    def icons(self):
        return []
