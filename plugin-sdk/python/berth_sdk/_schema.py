"""Type hints to JSON Schema (draft 2020-12), JSON to typed arguments, values to JSON,
and Google-style docstrings to descriptions."""

from __future__ import annotations

import dataclasses
import enum
import functools
import inspect
import math
import re
import types
import typing
from typing import Any, Optional

from ._core import DeclarationError, Field

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

_NONE_TYPE = type(None)
_SECTION = re.compile(
    r"^(Args|Arguments|Parameters|Params|Attributes|Fields|Returns|Return|Yields|Raises|"
    r"Examples?|Notes?|See Also|Warnings?|Todo)\s*:\s*$"
)
_ARG_LINE = re.compile(r"^\*{0,2}([A-Za-z_][A-Za-z0-9_]*)\s*(\([^)]*\))?\s*:\s*(.*)$")


class UnsupportedType(Exception):
    """A type hint the SDK cannot map (turned into a DeclarationError by the caller)."""


class ArgumentError(Exception):
    """An argument value that does not fit its type; ``path`` names the field."""

    def __init__(self, path: str, message: str):
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path
        self.message = message


# --------------------------------------------------------------------------- docstrings


def parse_docstring(doc: Optional[str]) -> tuple[str, dict]:
    """(first paragraph joined into one line, {parameter: description}) of a docstring.

    Parameter descriptions come from a Google-style ``Args:`` (or ``Attributes:``)
    section: ``name: text`` or ``name (type): text``, continued on more-indented lines.
    """
    if not doc:
        return "", {}
    lines = inspect.cleandoc(doc).splitlines()
    summary: list[str] = []
    for line in lines:
        if not line.strip() or _SECTION.match(line.strip()):
            if summary:
                break
            if _SECTION.match(line.strip()):
                break
            continue
        summary.append(line.strip())
    params: dict = {}
    section = None
    base_indent = None
    current = None
    for line in lines:
        stripped = line.strip()
        header = _SECTION.match(stripped) if not line[:1].isspace() else None
        if header:
            section = header.group(1)
            base_indent = None
            current = None
            continue
        if section not in ("Args", "Arguments", "Parameters", "Params", "Attributes", "Fields"):
            continue
        if not stripped:
            current = None
            continue
        indent = len(line) - len(line.lstrip())
        if indent == 0:
            section = None
            continue
        if base_indent is None:
            base_indent = indent
        match = _ARG_LINE.match(stripped)
        if indent <= base_indent and match:
            current = match.group(1)
            params[current] = match.group(3).strip()
        elif current is not None:
            params[current] = (params[current] + " " + stripped).strip()
    return " ".join(summary), params


def class_description(cls: type) -> tuple[str, dict]:
    doc = cls.__dict__.get("__doc__")
    # dataclasses invent a docstring `Name(field: type, ...)`; it describes nothing.
    if doc and dataclasses.is_dataclass(cls) and doc.startswith(cls.__name__ + "("):
        doc = None
    if doc and issubclass(cls, enum.Enum) and doc == "An enumeration.":
        doc = None
    return parse_docstring(doc)


# --------------------------------------------------------------------------- hints


def strip_annotated(tp: Any) -> tuple[Any, dict]:
    """(the type inside ``Annotated[...]``, the schema keywords its metadata gives)."""
    extra: dict = {}
    while typing.get_origin(tp) is typing.Annotated:
        for meta in tp.__metadata__:
            if isinstance(meta, str):
                extra["description"] = meta
            elif isinstance(meta, Field):
                extra.update(meta.schema)
            elif isinstance(meta, dict):
                extra.update(meta)
        tp = tp.__origin__
    return tp, extra


def optional_inner(tp: Any) -> tuple[Any, bool]:
    """(T, True) for ``Optional[T]`` / ``T | None``; (tp, False) otherwise."""
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = typing.get_args(tp)
        if _NONE_TYPE in args:
            rest = tuple(a for a in args if a is not _NONE_TYPE)
            if len(rest) == 1:
                return rest[0], True
            return typing.Union[rest], True  # type: ignore[return-value]
    return tp, False


def is_typeddict(tp: Any) -> bool:
    return isinstance(tp, type) and typing.is_typeddict(tp)


def type_name(tp: Any) -> str:
    if isinstance(tp, type):
        return tp.__qualname__
    return repr(tp).replace("typing.", "")


def _hints(obj: Any) -> dict:
    try:
        return typing.get_type_hints(obj, include_extras=True)
    except Exception as error:  # unresolvable forward reference, …
        raise UnsupportedType(
            f"its type hints cannot be resolved ({type(error).__name__}: {error})"
        ) from None


def _strip_required(tp: Any) -> tuple[Any, Optional[bool]]:
    origin = typing.get_origin(tp)
    if origin is typing.Required:
        return typing.get_args(tp)[0], True
    if origin is typing.NotRequired:
        return typing.get_args(tp)[0], False
    return tp, None


class SchemaBuilder:
    """Builds schemas, collecting named object types into ``$defs``."""

    def __init__(self) -> None:
        self.defs: dict = {}
        self._names: dict = {}

    def finish(self, schema: dict) -> dict:
        if self.defs:
            schema["$defs"] = dict(self.defs)
        return schema

    def schema(self, tp: Any) -> dict:
        tp, extra = strip_annotated(tp)
        schema = self._schema(tp)
        if extra:
            if "$ref" in schema:
                schema = {"$ref": schema["$ref"], **extra}
            else:
                schema = {**schema, **extra}
        return schema

    def _schema(self, tp: Any) -> dict:
        if tp is Any or tp is object:
            return {}
        if tp is _NONE_TYPE or tp is None:
            return {"type": "null"}
        if tp is str:
            return {"type": "string"}
        if tp is bool:
            return {"type": "boolean"}
        if tp is int:
            return {"type": "integer"}
        if tp is float:
            return {"type": "number"}
        inner, optional = optional_inner(tp)
        if optional:
            schema = self.schema(inner)
            kind = schema.get("type")
            if isinstance(kind, str) and "$ref" not in schema and "anyOf" not in schema:
                schema = dict(schema, type=[kind, "null"])
                if "enum" in schema:
                    schema["enum"] = list(schema["enum"]) + [None]
                return schema
            return {"anyOf": [schema, {"type": "null"}]}
        origin = typing.get_origin(tp)
        args = typing.get_args(tp)
        if origin is typing.Literal:
            values = list(args)
            for value in values:
                if not isinstance(value, (str, int, float, bool)) and value is not None:
                    raise UnsupportedType(f"Literal value {value!r} is not a JSON scalar")
            return _enum_schema(values)
        if origin is typing.Union or origin is types.UnionType:
            return {"anyOf": [self.schema(a) for a in args]}
        if origin in (list, typing.List, set, frozenset) or tp in (list, set, frozenset) or (
            origin is not None and origin.__module__ == "collections.abc"
            and origin.__name__ in ("Sequence", "Iterable", "Collection", "MutableSequence",
                                    "Set", "MutableSet")
        ):
            schema = {"type": "array"}
            if args:
                schema["items"] = self.schema(args[0])
            if origin in (set, frozenset) or tp in (set, frozenset) or (
                origin is not None and origin.__name__ in ("Set", "MutableSet")
            ):
                schema["uniqueItems"] = True
            return schema
        if origin is tuple or tp is tuple:
            if not args or (len(args) == 2 and args[1] is Ellipsis):
                schema = {"type": "array"}
                if args:
                    schema["items"] = self.schema(args[0])
                return schema
            return {
                "type": "array",
                "prefixItems": [self.schema(a) for a in args],
                "items": False,
                "minItems": len(args),
                "maxItems": len(args),
            }
        if origin in (dict, typing.Dict) or tp is dict or (
            origin is not None and origin.__module__ == "collections.abc"
            and origin.__name__ in ("Mapping", "MutableMapping")
        ):
            schema = {"type": "object"}
            if args:
                if args[0] is not str:
                    raise UnsupportedType(
                        f"{type_name(tp)}: JSON object keys are strings, use dict[str, ...]"
                    )
                schema["additionalProperties"] = self.schema(args[1])
            return schema
        if isinstance(tp, type) and issubclass(tp, enum.Enum):
            values = [member.value for member in tp]
            for value in values:
                if not isinstance(value, (str, int, float, bool)):
                    raise UnsupportedType(
                        f"enum {tp.__name__} has value {value!r}, not a JSON scalar"
                    )
            schema = _enum_schema(values)
            description, _ = class_description(tp)
            if description:
                schema["description"] = description
            return schema
        if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or is_typeddict(tp)):
            return {"$ref": "#/$defs/" + self._define(tp)}
        raise UnsupportedType(
            f"{type_name(tp)} has no JSON Schema mapping (use str, int, float, bool, None, "
            f"Optional, list, dict[str, T], Literal, an Enum, a dataclass or a TypedDict)"
        )

    def _define(self, cls: type) -> str:
        if cls in self._names:
            return self._names[cls]
        name = cls.__name__
        n = 2
        while name in self.defs:
            name = f"{cls.__name__}{n}"
            n += 1
        self._names[cls] = name
        self.defs[name] = {}  # placeholder, for recursive types
        self.defs[name] = self.object_schema(cls)
        return name

    def object_schema(self, cls: type) -> dict:
        """The schema of a dataclass or TypedDict, as an object with closed properties."""
        description, field_docs = class_description(cls)
        properties: dict = {}
        required: list = []
        for name, hint, is_required, default in object_fields(cls):
            try:
                prop = self.schema(hint)
            except UnsupportedType as error:
                raise UnsupportedType(f"field `{name}` of {cls.__name__}: {error}") from None
            if isinstance(default, _Factory):
                default = default.make()
            if default is not _MISSING:
                try:
                    prop = dict(prop, default=to_jsonable(default))
                except TypeError:
                    pass
            if name in field_docs and "description" not in prop:
                prop = dict(prop, description=field_docs[name])
            properties[name] = prop
            if is_required:
                required.append(name)
        schema: dict = {"type": "object"}
        if description:
            schema["description"] = description
        schema["properties"] = properties
        if required:
            schema["required"] = required
        schema["additionalProperties"] = False
        return schema


_MISSING = object()


class _Factory:
    """A dataclass field's ``default_factory`` standing in for its default in
    `object_fields`: called only where the value is wanted (a schema's ``default``), so the
    cached fields hold no value it made that a caller could change."""

    def __init__(self, make: Any) -> None:
        self.make = make


@functools.cache  # decoding an argument asks for its class's fields on every call
def object_fields(cls: type) -> tuple:
    """((name, hint, required, default), ...) of a dataclass or TypedDict; ``default`` is
    the value, a _Factory or _MISSING."""
    hints = _hints(cls)
    out = []
    if dataclasses.is_dataclass(cls):
        for f in dataclasses.fields(cls):
            if not f.init:
                continue
            hint = hints.get(f.name, Any)
            default: Any = _MISSING
            if f.default is not dataclasses.MISSING:
                default = f.default
            elif f.default_factory is not dataclasses.MISSING:  # type: ignore[misc]
                default = _Factory(f.default_factory)  # type: ignore[misc]
            inner, _ = strip_annotated(hint)
            _, optional = optional_inner(inner)
            out.append((f.name, hint, default is _MISSING and not optional, default))
        return tuple(out)
    required_keys = getattr(cls, "__required_keys__", frozenset())
    for name, hint in hints.items():
        hint, explicit = _strip_required(hint)
        is_required = explicit if explicit is not None else name in required_keys
        out.append((name, hint, is_required, _MISSING))
    return tuple(out)


def _enum_schema(values: list) -> dict:
    kinds = []
    for value in values:
        if value is None:
            kind = "null"
        elif isinstance(value, bool):
            kind = "boolean"
        elif isinstance(value, int):
            kind = "integer"
        elif isinstance(value, float):
            kind = "number"
        else:
            kind = "string"
        if kind not in kinds:
            kinds.append(kind)
    schema: dict = {"type": kinds[0] if len(kinds) == 1 else kinds}
    schema["enum"] = values
    return schema


def is_object_schema(schema: Any) -> bool:
    return isinstance(schema, dict) and schema.get("type") == "object"


# --------------------------------------------------------------------------- decoding


def decode(tp: Any, value: Any, path: str) -> Any:
    """Converts JSON ``value`` to the Python value type ``tp`` describes."""
    tp, _ = strip_annotated(tp)
    if tp is Any or tp is object:
        return value
    inner, optional = optional_inner(tp)
    if optional:
        if value is None:
            return None
        return decode(inner, value, path)
    if tp is _NONE_TYPE or tp is None:
        if value is not None:
            raise ArgumentError(path, f"expected null, got {_describe(value)}")
        return None
    if tp is str:
        if not isinstance(value, str):
            raise ArgumentError(path, f"expected a string, got {_describe(value)}")
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise ArgumentError(path, f"expected a boolean, got {_describe(value)}")
        return value
    if tp is int:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        if not isinstance(value, int) or isinstance(value, bool):
            raise ArgumentError(path, f"expected an integer, got {_describe(value)}")
        return value
    if tp is float:
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ArgumentError(path, f"expected a number, got {_describe(value)}")
        return float(value)
    origin = typing.get_origin(tp)
    args = typing.get_args(tp)
    if origin is typing.Literal:
        for candidate in args:
            if candidate == value and type(candidate) is type(value):
                return candidate
        raise ArgumentError(
            path, f"expected one of {', '.join(_json_repr(a) for a in args)}, "
                  f"got {_describe(value)}")
    if origin is typing.Union or origin is types.UnionType:
        errors = []
        for option in args:
            try:
                return decode(option, value, path)
            except ArgumentError as error:
                errors.append(error.message)
        raise ArgumentError(path, "matches none of the allowed types: " + "; ".join(errors))
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        for member in tp:
            if member.value == value and type(member.value) is type(value):
                return member
        raise ArgumentError(
            path, f"expected one of {', '.join(_json_repr(m.value) for m in tp)}, "
                  f"got {_describe(value)}")
    if isinstance(tp, type) and (dataclasses.is_dataclass(tp) or is_typeddict(tp)):
        if not isinstance(value, dict):
            raise ArgumentError(path, f"expected an object, got {_describe(value)}")
        fields = object_fields(tp)
        known = {name for name, _, _, _ in fields}
        for key in value:
            if key not in known:
                raise ArgumentError(_join(path, key), "unknown field")
        out = {}
        for name, hint, required, default in fields:
            if name in value:
                out[name] = decode(hint, value[name], _join(path, name))
            elif required:
                raise ArgumentError(_join(path, name), "missing field")
            elif dataclasses.is_dataclass(tp) and default is _MISSING:
                out[name] = None
        return tp(**out) if dataclasses.is_dataclass(tp) else out
    if origin is tuple or tp is tuple:
        if not isinstance(value, list):
            raise ArgumentError(path, f"expected an array, got {_describe(value)}")
        if not args:
            return tuple(value)
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value))
        if len(value) != len(args):
            raise ArgumentError(path, f"expected {len(args)} items, got {len(value)}")
        return tuple(decode(a, v, f"{path}[{i}]") for i, (a, v) in enumerate(zip(args, value)))
    container = origin or tp
    if container in (dict, typing.Dict) or (
        getattr(container, "__module__", "") == "collections.abc"
        and container.__name__ in ("Mapping", "MutableMapping")
    ):
        if not isinstance(value, dict):
            raise ArgumentError(path, f"expected an object, got {_describe(value)}")
        if not args:
            return dict(value)
        return {k: decode(args[1], v, _join(path, k)) for k, v in value.items()}
    if container in (list, typing.List, set, frozenset) or (
        getattr(container, "__module__", "") == "collections.abc"
    ):
        if not isinstance(value, list):
            raise ArgumentError(path, f"expected an array, got {_describe(value)}")
        items = value if not args else [
            decode(args[0], v, f"{path}[{i}]") for i, v in enumerate(value)
        ]
        if container in (set, frozenset) or getattr(container, "__name__", "") in (
            "Set", "MutableSet"
        ):
            return (frozenset if container is frozenset else set)(items)
        return list(items)
    return value


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _json_repr(value: Any) -> str:
    import json

    return json.dumps(value)


def _describe(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return f"the boolean {str(value).lower()}"
    if isinstance(value, (int, float)):
        return f"the number {value}"
    if isinstance(value, str):
        shown = value if len(value) <= 40 else value[:37] + "..."
        return f"the string {_json_repr(shown)}"
    if isinstance(value, list):
        return "an array"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


# --------------------------------------------------------------------------- encoding


def to_jsonable(value: Any, path: str = "") -> Any:
    """``value`` as plain JSON data; TypeError naming the offending type (and where)."""
    if value is None or isinstance(value, (str, bool, int)):
        return value
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            raise TypeError(f"{path or 'the value'} is {value}, which JSON cannot represent")
        return value
    if isinstance(value, enum.Enum):
        return to_jsonable(value.value, path)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {
            f.name: to_jsonable(getattr(value, f.name), _join(path, f.name))
            for f in dataclasses.fields(value)
        }
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, enum.Enum):
                key = key.value
            if not isinstance(key, str):
                raise TypeError(
                    f"{path or 'the value'} has a key of type {type(key).__name__}; "
                    f"JSON object keys are strings"
                )
            out[key] = to_jsonable(item, _join(path, key))
        return out
    if isinstance(value, (list, tuple)):
        return [to_jsonable(item, f"{path}[{i}]") for i, item in enumerate(value)]
    where = f" (at `{path}`)" if path else ""
    raise TypeError(f"an object of type {type(value).__name__}{where} is not JSON-serializable")
