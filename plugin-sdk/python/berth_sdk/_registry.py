"""The plugin: what the decorators register, and the dispatch the host's calls go through.

Both `_export` (the component exports) and `testing` (native tests) call the methods of
`Registry`, so a native test drives exactly the code the host drives.
"""

from __future__ import annotations

import dataclasses
import inspect
import json
import os
import re
import sys
import typing
from dataclasses import dataclass, field
from typing import Any, Callable, Optional

from . import _schema
from ._core import (
    EVENT_KINDS,
    CallError,
    Completions,
    Context,
    DeclarationError,
    Event,
    Message,
    PromptError,
    PromptResult,
    ResourceContents,
    ResourceError,
    Result,
    Text,
    ToolError,
    ToolOutput,
    to_json_text,
)
from ._uritemplate import TemplateError, UriTemplate
from .kv import KvError

TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
PLUGIN_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,32}$")
MAX_COMPLETIONS = 100


def where(fn: Callable) -> str:
    """``function `f` (app.py:12)`` for error messages."""
    code = getattr(fn, "__code__", None)
    name = getattr(fn, "__qualname__", getattr(fn, "__name__", repr(fn)))
    if code is None:
        return f"function `{name}`"
    return f"function `{name}` ({os.path.basename(code.co_filename)}:{code.co_firstlineno})"


@dataclass
class Param:
    name: str
    hint: Any
    required: bool
    default: Any


@dataclass
class Signature:
    params: list
    context: Optional[str]
    raw: Optional[str] = None  # the one parameter receiving the raw arguments dict


def _signature(fn: Callable, what: str, *, allow_untyped: bool = False) -> Signature:
    if not callable(fn):
        raise DeclarationError(f"{what}: {fn!r} is not a function")
    if inspect.iscoroutinefunction(fn):
        raise DeclarationError(f"{what} is `async def`; the SDK calls plain functions")
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError) as error:
        raise DeclarationError(f"{what}: cannot read its signature ({error})") from None
    try:
        hints = typing.get_type_hints(fn, include_extras=True)
    except Exception as error:
        raise DeclarationError(
            f"{what}: its type hints cannot be resolved ({type(error).__name__}: {error}); "
            f"define the types it names before the function"
        ) from None
    params = []
    context = None
    for p in sig.parameters.values():
        if p.kind in (p.VAR_POSITIONAL, p.VAR_KEYWORD):
            raise DeclarationError(
                f"{what}: `*{p.name}` / `**{p.name}` parameters are not supported; "
                f"declare each argument as a named parameter")
        if p.kind is p.POSITIONAL_ONLY:
            raise DeclarationError(f"{what}: parameter `{p.name}` is positional-only")
        hint = hints.get(p.name, inspect.Parameter.empty)
        bare, _ = _schema.strip_annotated(hint)
        if bare is Context:
            if context is not None:
                raise DeclarationError(f"{what}: two `Context` parameters")
            context = p.name
            continue
        if hint is inspect.Parameter.empty:
            if not allow_untyped:
                raise DeclarationError(
                    f"{what}: parameter `{p.name}` has no type hint; add one "
                    f"(e.g. `{p.name}: str`), it becomes the argument's JSON Schema")
            hint = Any
        default = p.default
        _, optional = _schema.optional_inner(_schema.strip_annotated(hint)[0])
        if default is None and not optional:
            hint = Optional[hint]  # `x: int = None` means optional
        # A parameter with a default, or an Optional one, may be left out.
        required = default is inspect.Parameter.empty and not optional
        params.append(Param(p.name, hint, required, default))
    return Signature(params, context)


@dataclass
class ToolSpec:
    name: str
    fn: Callable
    title: Optional[str]
    description: str
    input_schema: dict
    output_schema: Optional[dict]
    annotations: dict
    signature: Signature


@dataclass
class ResourceSpec:
    uri: str
    name: str
    title: Optional[str]
    description: Optional[str]
    mime_type: Optional[str]
    fn: Callable
    signature: Signature


@dataclass
class TemplateSpec:
    uri_template: str
    name: str
    title: Optional[str]
    description: Optional[str]
    mime_type: Optional[str]
    fn: Callable
    signature: Signature
    parsed: UriTemplate


@dataclass
class PromptSpec:
    name: str
    title: Optional[str]
    description: Optional[str]
    arguments: list  # [(name, description or None, required)]
    fn: Callable
    signature: Signature


@dataclass
class CompletionSpec:
    kind: str  # "prompt" | "template"
    target: str
    argument: Optional[str]
    fn: Callable
    accepts: tuple


@dataclass
class HookSpec:
    kinds: tuple
    fn: Callable


@dataclass
class Folder:
    """A folder the plugin works in: its path inside the sandbox, whether it writes there,
    and why it needs it (shown to the operator when the grant is missing)."""

    path: str
    write: bool = False
    reason: str = ""


@dataclass
class Needs:
    folders: list = field(default_factory=list)
    env: list = field(default_factory=list)
    network: list = field(default_factory=list)


@dataclass
class Project:
    """What pyproject.toml says (injected by the build, found natively)."""

    name: Optional[str] = None
    version: Optional[str] = None
    description: Optional[str] = None
    keyvalue: Optional[bool] = None
    source: Optional[str] = None


class Registry:
    """Everything one plugin declares."""

    def __init__(self) -> None:
        self.tools: list[ToolSpec] = []
        self.resources: list[ResourceSpec] = []
        self.templates: list[TemplateSpec] = []
        self.prompts: list[PromptSpec] = []
        self.completions: list[CompletionSpec] = []
        self.hooks: list[HookSpec] = []
        self.needs = Needs()
        self.info: dict = {}
        self.project: Optional[Project] = None
        self.modules: list[str] = []

    # ------------------------------------------------------------------ declaration

    def _note_module(self, fn: Callable) -> None:
        module = getattr(fn, "__module__", None)
        if module and module not in self.modules:
            self.modules.append(module)

    def add_tool(self, fn: Callable, *, name: Optional[str], title: Optional[str],
                 annotations: dict, input_schema: Optional[dict],
                 output_schema: Optional[dict], description: Optional[str]) -> None:
        tool_name = name or getattr(fn, "__name__", "")
        what = f"tool `{tool_name}` ({where(fn)})"
        if not isinstance(tool_name, str) or not TOOL_NAME.match(tool_name):
            raise DeclarationError(
                f"{what}: the tool name `{tool_name}` must be 1 to 64 characters of "
                f"[a-zA-Z0-9_-]; rename the function or pass @tool(name=\"...\")")
        if any(t.name == tool_name for t in self.tools):
            raise DeclarationError(
                f"{what}: a tool named `{tool_name}` is already declared; tool names are "
                f"unique within a plugin, pass @tool(name=\"...\") to rename one")
        summary, param_docs = _schema.parse_docstring(fn.__doc__)
        description = description or summary
        if not description:
            raise DeclarationError(
                f"{what}: no docstring; its first paragraph is the description the model "
                f"reads to decide whether to call the tool, so write one")
        if input_schema is not None:
            if not _schema.is_object_schema(input_schema):
                raise DeclarationError(
                    f"{what}: the input_schema given must be a JSON Schema object with "
                    f"\"type\": \"object\" (MCP requires tool arguments to be an object)")
            try:
                json.dumps(input_schema)
            except (TypeError, ValueError) as error:
                raise DeclarationError(f"{what}: input_schema is not JSON: {error}") from None
            sig = _signature(fn, what, allow_untyped=True)
            if len(sig.params) != 1:
                raise DeclarationError(
                    f"{what}: with a hand-given input_schema the function takes exactly one "
                    f"parameter (besides a Context), which receives the arguments dict")
            sig.raw = sig.params[0].name
            schema = dict(input_schema)
            schema.setdefault("properties", {})
        else:
            sig = _signature(fn, what)
            builder = _schema.SchemaBuilder()
            properties: dict = {}
            required: list = []
            for p in sig.params:
                try:
                    prop = builder.schema(p.hint)
                except _schema.UnsupportedType as error:
                    raise DeclarationError(
                        f"{what}: parameter `{p.name}`: {error}") from None
                if p.default is not inspect.Parameter.empty and p.default is not None:
                    try:
                        prop = dict(prop, default=_schema.to_jsonable(p.default))
                    except TypeError:
                        pass
                if p.name in param_docs and "description" not in prop:
                    prop = dict(prop, description=param_docs[p.name])
                properties[p.name] = prop
                if p.required:
                    required.append(p.name)
            schema = {"$schema": _schema.SCHEMA_DIALECT, "type": "object",
                      "properties": properties}
            if required:
                schema["required"] = required
            schema["additionalProperties"] = False
            builder.finish(schema)
        if output_schema is not None:
            if not _schema.is_object_schema(output_schema):
                raise DeclarationError(
                    f"{what}: the output_schema given must be a JSON Schema object with "
                    f"\"type\": \"object\"")
            out_schema: Optional[dict] = dict(output_schema)
        else:
            out_schema = self._output_schema(fn, what)
        for key, value in annotations.items():
            if value is not None and not isinstance(value, bool):
                raise DeclarationError(f"{what}: `{key}` must be True, False or None")
        self.tools.append(ToolSpec(tool_name, fn, title, description, schema, out_schema,
                                   annotations, sig))
        self._note_module(fn)

    def _output_schema(self, fn: Callable, what: str) -> Optional[dict]:
        try:
            hints = typing.get_type_hints(fn, include_extras=True)
        except Exception:
            return None
        ret = hints.get("return")
        if ret is None:
            return None
        bare, _ = _schema.strip_annotated(ret)
        origin = typing.get_origin(bare) or bare
        if not (
            (isinstance(bare, type) and (dataclasses.is_dataclass(bare) or _schema.is_typeddict(bare)))
            or origin in (dict, typing.Dict)
        ):
            return None
        builder = _schema.SchemaBuilder()
        try:
            schema = builder.schema(ret)
        except _schema.UnsupportedType as error:
            raise DeclarationError(f"{what}: return type: {error}") from None
        if "$ref" in schema:
            name = schema["$ref"].rsplit("/", 1)[1]
            root = dict(builder.defs.pop(name))
            ref = json.dumps("#/$defs/" + name)
            if ref in json.dumps(root) or ref in json.dumps(builder.defs):
                builder.defs[name] = root  # a recursive type keeps its definition
            schema = root
        if not _schema.is_object_schema(schema):
            return None
        out = {"$schema": _schema.SCHEMA_DIALECT, **schema}
        return builder.finish(out)

    def add_resource(self, fn: Callable, *, uri: str, name: Optional[str],
                     title: Optional[str], mime_type: Optional[str],
                     description: Optional[str]) -> None:
        what = f"resource `{uri}` ({where(fn)})"
        if not isinstance(uri, str) or ":" not in uri:
            raise DeclarationError(f"{what}: the URI must be absolute (scheme:...)")
        if any(r.uri == uri for r in self.resources):
            raise DeclarationError(f"{what}: a resource with this URI is already declared")
        sig = _signature(fn, what)
        if sig.params:
            raise DeclarationError(
                f"{what}: a static resource takes no parameters (only a Context); for "
                f"parameters use @resource_template")
        summary, _ = _schema.parse_docstring(fn.__doc__)
        self.resources.append(ResourceSpec(uri, name or fn.__name__, title,
                                           description or summary or None, mime_type, fn, sig))
        self._note_module(fn)

    def add_template(self, fn: Callable, *, uri_template: str, name: Optional[str],
                     title: Optional[str], mime_type: Optional[str],
                     description: Optional[str]) -> None:
        what = f"resource template `{uri_template}` ({where(fn)})"
        try:
            parsed = UriTemplate(uri_template)
        except TemplateError as error:
            raise DeclarationError(f"{what}: {error}") from None
        if any(t.uri_template == uri_template for t in self.templates):
            raise DeclarationError(f"{what}: this URI template is already declared")
        sig = _signature(fn, what)
        names = {p.name for p in sig.params}
        for p in sig.params:
            if p.name not in parsed.variables:
                raise DeclarationError(
                    f"{what}: parameter `{p.name}` is not a variable of the template "
                    f"(it has: {', '.join(parsed.variables) or 'none'})")
            bare, _ = _schema.strip_annotated(p.hint)
            inner, _ = _schema.optional_inner(bare)
            if inner not in (str, int, float):
                raise DeclarationError(
                    f"{what}: parameter `{p.name}` must be str, int or float (optionally "
                    f"Optional); URI variables are text")
        for var in parsed.variables:
            if var not in names:
                raise DeclarationError(
                    f"{what}: template variable `{var}` has no parameter of that name")
        summary, _ = _schema.parse_docstring(fn.__doc__)
        self.templates.append(TemplateSpec(uri_template, name or fn.__name__, title,
                                           description or summary or None, mime_type, fn,
                                           sig, parsed))
        self._note_module(fn)

    def add_prompt(self, fn: Callable, *, name: Optional[str], title: Optional[str],
                   description: Optional[str]) -> None:
        prompt_name = name or fn.__name__
        what = f"prompt `{prompt_name}` ({where(fn)})"
        if not TOOL_NAME.match(prompt_name):
            raise DeclarationError(
                f"{what}: the prompt name must be 1 to 64 characters of [a-zA-Z0-9_-]")
        if any(p.name == prompt_name for p in self.prompts):
            raise DeclarationError(f"{what}: a prompt named `{prompt_name}` already exists")
        summary, docs = _schema.parse_docstring(fn.__doc__)
        description = description or summary
        if not description:
            raise DeclarationError(f"{what}: no docstring; its first paragraph describes "
                                   f"the prompt to the client")
        sig = _signature(fn, what)
        arguments = []
        for p in sig.params:
            bare, extra = _schema.strip_annotated(p.hint)
            inner, _ = _schema.optional_inner(bare)
            if inner is not str:
                raise DeclarationError(
                    f"{what}: parameter `{p.name}` must be `str` or `Optional[str]`: prompt "
                    f"argument values are always strings")
            arguments.append((p.name, extra.get("description") or docs.get(p.name),
                              p.required))
        self.prompts.append(PromptSpec(prompt_name, title, description, arguments, fn, sig))
        self._note_module(fn)

    def add_completion(self, fn: Callable, *, prompt: Optional[str], template: Optional[str],
                       argument: Optional[str]) -> None:
        what = f"completion ({where(fn)})"
        if (prompt is None) == (template is None):
            raise DeclarationError(
                f"{what}: say what it completes: @completion(prompt=\"name\", ...) or "
                f"@completion(template=\"uri://{{var}}\", ...)")
        try:
            sig = inspect.signature(fn)
        except (TypeError, ValueError) as error:
            raise DeclarationError(f"{what}: cannot read its signature ({error})") from None
        accepts = []
        for p in sig.parameters.values():
            if p.name not in ("argument", "value", "chosen"):
                raise DeclarationError(
                    f"{what}: parameter `{p.name}` is not one of `argument` (the argument's "
                    f"name), `value` (what the user typed) and `chosen` (dict of the other "
                    f"values)")
            accepts.append(p.name)
        kind, target = ("prompt", prompt) if prompt is not None else ("template", template)
        self.completions.append(CompletionSpec(kind, target, argument, fn, tuple(accepts)))
        self._note_module(fn)

    def add_hook(self, fn: Callable, kinds: tuple) -> None:
        what = f"event hook ({where(fn)})"
        for kind in kinds:
            if kind not in EVENT_KINDS:
                raise DeclarationError(
                    f"{what}: unknown event kind `{kind}`; kinds are {', '.join(EVENT_KINDS)}")
        self.hooks.append(HookSpec(tuple(kinds) or EVENT_KINDS, fn))
        self._note_module(fn)

    def set_needs(self, folders: list, env: list, network: list) -> None:
        out = []
        for folder in folders:
            if isinstance(folder, str):
                folder = Folder(folder)
            elif isinstance(folder, dict):
                folder = Folder(**folder)
            elif isinstance(folder, tuple):
                folder = Folder(*folder)
            if not isinstance(folder, Folder) or not folder.path.startswith("/"):
                raise DeclarationError(
                    f"needs(): folder {folder!r} must be an absolute sandbox path (str) or "
                    f"Folder(path, write=False, reason=\"...\")")
            out.append(folder)
        for name in env:
            if not isinstance(name, str) or not name:
                raise DeclarationError(f"needs(): env entry {name!r} must be a variable name")
        for dest in network:
            if not isinstance(dest, str) or not dest:
                raise DeclarationError(f"needs(): network entry {dest!r} must be a string")
        self.needs = Needs(out, list(env), list(network))

    # ------------------------------------------------------------------ plugin info

    def plugin_info(self) -> tuple[str, str, Optional[str]]:
        project = self.project or find_project(self.modules) or Project()
        name = self.info.get("name") or project.name
        version = self.info.get("version") or project.version or "0.1.0"
        description = self.info.get("description") or project.description
        if not name:
            main = self.modules[0] if self.modules else "plugin"
            name = main.rsplit(".", 1)[-1]
        return name, version, description

    def check(self) -> None:
        """Raises DeclarationError for what only the whole plugin shows (the build runs it)."""
        name, version, _ = self.plugin_info()
        source = "plugin(name=...)" if self.info.get("name") else "pyproject.toml [project] name"
        if not PLUGIN_NAME.match(name):
            raise DeclarationError(
                f"the plugin name `{name}` (from {source}) must be 1 to 32 characters of "
                f"[a-zA-Z0-9_-]; set a valid one with berth_sdk.plugin(name=\"...\")")
        for tool in self.tools:
            if len(name) + 1 + len(tool.name) > 64:
                raise DeclarationError(
                    f"tool `{tool.name}` ({where(tool.fn)}): clients see it as "
                    f"`{name}_{tool.name}`, longer than 64 characters; shorten one of them")
        prompt_names = {p.name for p in self.prompts}
        templates = {t.uri_template: t for t in self.templates}
        for c in self.completions:
            what = f"completion ({where(c.fn)})"
            if c.kind == "prompt":
                if c.target not in prompt_names:
                    raise DeclarationError(f"{what}: there is no prompt `{c.target}`")
                args = next(p.arguments for p in self.prompts if p.name == c.target)
                if c.argument is not None and c.argument not in [a[0] for a in args]:
                    raise DeclarationError(
                        f"{what}: prompt `{c.target}` has no argument `{c.argument}`")
            else:
                if c.target not in templates:
                    raise DeclarationError(f"{what}: there is no resource template "
                                           f"`{c.target}`")
                if c.argument is not None and c.argument not in templates[c.target].parsed.variables:
                    raise DeclarationError(
                        f"{what}: template `{c.target}` has no variable `{c.argument}`")

    # ------------------------------------------------------------------ dispatch

    def manifest(self) -> dict:
        name, version, description = self.plugin_info()
        return {
            "name": name,
            "version": version,
            "description": description,
            "tools": [
                {
                    "name": t.name,
                    "title": t.title,
                    "description": t.description,
                    "input_schema": t.input_schema,
                    "output_schema": t.output_schema,
                    "annotations": dict(t.annotations),
                }
                for t in self.tools
            ],
            "resources": [
                {"uri": r.uri, "name": r.name, "title": r.title,
                 "description": r.description, "mime_type": r.mime_type}
                for r in self.resources
            ],
            "resource_templates": [
                {"uri_template": t.uri_template, "name": t.name, "title": t.title,
                 "description": t.description, "mime_type": t.mime_type}
                for t in self.templates
            ],
        }

    def call_tool(self, name: str, arguments: str, context: Context) -> Result:
        tool = next((t for t in self.tools if t.name == name), None)
        if tool is None:
            raise CallError("unknown_tool", f"plugin `{self.plugin_info()[0]}` has no tool "
                            f"`{name}`; it has: {', '.join(t.name for t in self.tools)}")
        try:
            args = json.loads(arguments) if arguments.strip() else {}
        except ValueError as error:
            raise CallError("invalid_arguments", f"the arguments are not JSON: {error}") from None
        if not isinstance(args, dict):
            raise CallError("invalid_arguments", "the arguments must be a JSON object")
        kwargs = self._bind(tool.signature, args, f"tool `{name}`")
        if tool.signature.context:
            kwargs[tool.signature.context] = context
        try:
            value = tool.fn(**kwargs)
        except ToolError as error:
            if error.kind == ToolError.RESULT:
                return Result([Text(error.message)], None, True)
            raise CallError(error.kind, error.message) from None
        except KvError as error:  # as the Rust SDK: a state failure is a failed call
            raise CallError("failed", f"tool `{name}`: {error.message}") from None
        except (Exception, SystemExit) as error:
            raise CallError("failed", f"tool `{name}` raised {_exc(error)}") from None
        return self._result(name, value)

    def _bind(self, sig: Signature, args: dict, what: str) -> dict:
        if sig.raw is not None:
            return {sig.raw: args}
        known = {p.name for p in sig.params}
        for key in args:
            if key not in known:
                expected = ", ".join(f"`{p.name}`" for p in sig.params) or "no arguments"
                raise CallError("invalid_arguments",
                                f"unknown field `{key}`; {what} takes {expected}")
        kwargs = {}
        for p in sig.params:
            if p.name in args:
                try:
                    kwargs[p.name] = _schema.decode(p.hint, args[p.name], p.name)
                except _schema.ArgumentError as error:
                    raise CallError("invalid_arguments", str(error)) from None
            elif p.required:
                raise CallError("invalid_arguments", f"missing field `{p.name}`")
            elif p.default is inspect.Parameter.empty:
                kwargs[p.name] = None  # Optional[T] without a default
        return kwargs

    def _result(self, name: str, value: Any) -> Result:
        if isinstance(value, ToolOutput):
            structured = None
            if value.structured_value is not None:
                try:
                    data = _schema.to_jsonable(value.structured_value)
                except TypeError as error:
                    raise CallError("failed", f"tool `{name}` returned structured content "
                                    f"that cannot be sent as JSON: {error}") from None
                if not isinstance(data, dict):
                    raise CallError("failed", f"tool `{name}`: structured content must be a "
                                    f"JSON object, not {type(data).__name__}")
                structured = to_json_text(data)
            return Result(list(value.content), structured, value.is_error)
        if value is None:
            return Result([], None, False)
        if isinstance(value, str):
            return Result([Text(value)], None, False)
        try:
            data = _schema.to_jsonable(value)
        except TypeError as error:
            raise CallError("failed", f"tool `{name}` returned a value that cannot be sent "
                            f"as JSON: {error}") from None
        text = to_json_text(data)
        return Result([Text(text)], text if isinstance(data, dict) else None, False)

    def read_resource(self, uri: str, context: Context) -> list:
        for resource in self.resources:
            if resource.uri == uri:
                kwargs = {}
                if resource.signature.context:
                    kwargs[resource.signature.context] = context
                return self._read(uri, resource.fn, kwargs, resource.mime_type)
        for template in self.templates:
            variables = template.parsed.match(uri)
            if variables is None:
                continue
            kwargs = {}
            for p in template.signature.params:
                if p.name not in variables:
                    if p.default is inspect.Parameter.empty:
                        kwargs[p.name] = None
                    continue
                bare, _ = _schema.strip_annotated(p.hint)
                inner, _ = _schema.optional_inner(bare)
                raw = variables[p.name]
                try:
                    kwargs[p.name] = inner(raw)
                except ValueError:
                    raise CallError("not_found", f"`{raw}` is not a valid {p.name} "
                                    f"({inner.__name__}) in `{uri}`") from None
            if template.signature.context:
                kwargs[template.signature.context] = context
            return self._read(uri, template.fn, kwargs, template.mime_type)
        raise CallError("not_found", f"plugin `{self.plugin_info()[0]}` has no resource `{uri}`")

    def _read(self, uri: str, fn: Callable, kwargs: dict, mime_type: Optional[str]) -> list:
        try:
            value = fn(**kwargs)
        except ResourceError as error:
            raise CallError(error.kind, error.message) from None
        except (Exception, SystemExit) as error:
            raise CallError("failed", f"resource `{uri}` raised {_exc(error)}") from None
        items = value if isinstance(value, list) else [value]
        out = []
        for item in items:
            if isinstance(item, ResourceContents):
                out.append(item)
            elif isinstance(item, str):
                out.append(ResourceContents(uri, text=item, mime_type=mime_type))
            elif isinstance(item, (bytes, bytearray)):
                out.append(ResourceContents(uri, blob=bytes(item), mime_type=mime_type))
            else:
                try:
                    text = to_json_text(_schema.to_jsonable(item))
                except TypeError as error:
                    raise CallError("failed", f"resource `{uri}` returned a value that cannot "
                                    f"be sent: {error}") from None
                out.append(ResourceContents(uri, text=text,
                                            mime_type=mime_type or "application/json"))
        return out

    def get_prompt(self, name: str, arguments: list, context: Context) -> PromptResult:
        prompt = next((p for p in self.prompts if p.name == name), None)
        if prompt is None:
            raise CallError("unknown_prompt", f"plugin `{self.plugin_info()[0]}` has no "
                            f"prompt `{name}`")
        given = dict(arguments)
        known = [a[0] for a in prompt.arguments]
        for key in given:
            if key not in known:
                raise CallError("invalid_arguments",
                                f"prompt `{name}` has no argument `{key}`")
        kwargs: dict = {}
        for p, (arg_name, _, required) in zip(prompt.signature.params, prompt.arguments):
            if arg_name in given:
                kwargs[arg_name] = given[arg_name]
            elif required:
                raise CallError("invalid_arguments", f"missing argument `{arg_name}`")
            elif p.default is inspect.Parameter.empty:
                kwargs[arg_name] = None
        if prompt.signature.context:
            kwargs[prompt.signature.context] = context
        try:
            value = prompt.fn(**kwargs)
        except PromptError as error:
            raise CallError(error.kind, error.message) from None
        except (Exception, SystemExit) as error:
            raise CallError("failed", f"prompt `{name}` raised {_exc(error)}") from None
        try:
            if isinstance(value, PromptResult):
                value.messages = [_message(m) for m in value.messages]
                return value
            if isinstance(value, (str, Message)):
                return PromptResult([_message(value)])
            if isinstance(value, (list, tuple)):
                return PromptResult([_message(m) for m in value])
        except TypeError as error:
            raise CallError("failed", f"prompt `{name}`: {error}") from None
        raise CallError("failed", f"prompt `{name}` returned {type(value).__name__}; return "
                        f"a str, Message, list of messages or PromptResult")

    def complete(self, kind: str, target: str, argument: str, value: str,
                 chosen: dict) -> Completions:
        for c in self.completions:
            if c.kind != kind or c.target != target:
                continue
            if c.argument is not None and c.argument != argument:
                continue
            given = {"argument": argument, "value": value, "chosen": dict(chosen)}
            try:
                out = c.fn(**{k: given[k] for k in c.accepts})
            except (Exception, SystemExit) as error:
                raise CallError("failed", f"completion of `{argument}` failed: "
                                f"{_exc(error)}") from None
            if out is None:
                return Completions()
            if not isinstance(out, Completions):
                out = Completions([str(v) for v in out])
            if len(out.values) > MAX_COMPLETIONS:
                total = out.total if out.total is not None else len(out.values)
                out = Completions(out.values[:MAX_COMPLETIONS], total, True)
            return out
        return Completions()

    def interests(self) -> list:
        kinds = {k for hook in self.hooks for k in hook.kinds}
        return [k for k in EVENT_KINDS if k in kinds]

    def on_event(self, event: Event) -> None:
        from . import log

        for hook in self.hooks:
            if event.kind in hook.kinds:
                try:
                    hook.fn(event)
                except Exception as error:
                    log.error(f"event hook {where(hook.fn)} failed: {_exc(error)}")


def _message(value: Any) -> Message:
    if isinstance(value, Message):
        return value
    if isinstance(value, str):
        return Message.user(value)
    raise TypeError(f"a prompt message must be a Message or str, not {type(value).__name__}")


def _exc(error: BaseException) -> str:
    text = str(error)
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


# ---------------------------------------------------------------------- project lookup


def read_pyproject(path: str) -> Optional[Project]:
    from . import _build

    try:
        settings = _build.read_settings(path)
    except (_build.BuildError, ImportError):  # a file the build refuses; Python < 3.11
        return None
    return Project(
        name=settings["name"],
        version=settings["version"],
        description=settings["description"],
        keyvalue=settings["keyvalue"],
        source=path,
    )


def find_project(modules: list) -> Optional[Project]:
    """The pyproject.toml above the module that declared the plugin (natively)."""
    for module_name in modules:
        module = sys.modules.get(module_name)
        path = getattr(module, "__file__", None)
        if not path:
            continue
        folder = os.path.dirname(os.path.abspath(path))
        for _ in range(4):
            candidate = os.path.join(folder, "pyproject.toml")
            if os.path.isfile(candidate):
                return read_pyproject(candidate)
            parent = os.path.dirname(folder)
            if parent == folder:
                break
            folder = parent
    return None


_current = Registry()


def current() -> Registry:
    return _current


def replace(registry: Registry) -> Registry:
    """Makes ``registry`` current and returns the previous one (for tests)."""
    global _current
    previous, _current = _current, registry
    return previous
