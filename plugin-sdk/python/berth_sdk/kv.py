"""State kept between calls: buckets of keys and JSON values (``wasi:keyvalue``).

Each call runs in a fresh instance, so anything a tool remembers goes here. The project
must ask for state (``keyvalue = true`` under ``[tool.berth]`` in pyproject.toml, which
builds the component against ``berth:sdk/full-with-keyvalue``), and the operator grants
buckets by name (``[plugins.NAME.grants] keyvalue = { buckets = ["notes"] }``).

>>> notes = kv.open("notes")
>>> notes.set("greeting", "hello")
>>> notes.get("greeting")
'hello'
>>> notes.increment("visits")
1

Natively (plain CPython) every bucket lives in memory, empty at start
(``clear_for_test()`` empties it again).
"""

from __future__ import annotations

import json
from typing import Any, Iterable, Optional, Union

from . import _host

if _host.KEYVALUE:
    from componentize_py_types import Err as _Err
    from wit_world.imports import atomics as _atomics
    from wit_world.imports import batch as _batch
    from wit_world.imports import store as _store

ENABLE_HINT = ("this plugin was built without state: set `keyvalue = true` under "
               "`[tool.berth]` in its pyproject.toml and rebuild (the operator then grants "
               "buckets with `[plugins.NAME.grants] keyvalue = { buckets = [...] }`)")


class KvError(Exception):
    """Why a state operation failed (subclasses say which)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


class NotGranted(KvError):
    """The operator did not grant this bucket to the plugin."""

    def __init__(self, bucket: str):
        super().__init__(
            f"the state bucket `{bucket}` is not granted to this plugin; the operator adds it "
            f"to `keyvalue.buckets` in the plugin's grants")
        self.bucket = bucket


class StateDisabled(KvError):
    """The project was built without state (``keyvalue = false``)."""

    def __init__(self) -> None:
        super().__init__(ENABLE_HINT)


class StoreError(KvError):
    """The store refused or failed (over quota, unavailable, not a number, …)."""


class DecodeError(KvError):
    """A stored value is not JSON."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"the value of `{key}` is not JSON: {reason}")
        self.key = key


class EncodeError(KvError):
    """A value cannot be stored as JSON."""

    def __init__(self, key: str, reason: str):
        super().__init__(f"the value for `{key}` cannot be stored as JSON: {reason}")
        self.key = key


KvError.NotGranted = NotGranted  # type: ignore[attr-defined]
KvError.StateDisabled = StateDisabled  # type: ignore[attr-defined]
KvError.Store = StoreError  # type: ignore[attr-defined]
KvError.Decode = DecodeError  # type: ignore[attr-defined]
KvError.Encode = EncodeError  # type: ignore[attr-defined]

_memory: dict = {}


def clear_for_test() -> None:
    """Empties the native in-memory store."""
    _memory.clear()


def _native_enabled() -> bool:
    from . import _registry

    registry = _registry.current()
    project = registry.project or _registry.find_project(registry.modules)
    return not (project is not None and project.keyvalue is False)


def _error(bucket: str, error: Any) -> KvError:
    name = type(error).__name__
    if name == "Error_AccessDenied":
        return NotGranted(bucket)
    if name == "Error_NoSuchStore":
        return StoreError(f"no state bucket `{bucket}`")
    return StoreError(str(getattr(error, "value", error)))


def _encode(key: str, value: Any) -> bytes:
    from ._schema import to_jsonable

    try:
        return json.dumps(to_jsonable(value), separators=(",", ":"),
                          ensure_ascii=False).encode()
    except (TypeError, ValueError) as error:
        raise EncodeError(key, str(error)) from None


def _decode(key: str, data: Optional[bytes]) -> Any:
    if data is None:
        return None
    try:
        return json.loads(bytes(data).decode())
    except (ValueError, UnicodeDecodeError) as error:
        raise DecodeError(key, str(error)) from None


class Bucket:
    """One open bucket of this plugin's state."""

    def __init__(self, name: str):
        self.name = name
        if _host.IN_WASM:
            if not _host.KEYVALUE:
                raise StateDisabled()
            try:
                self._handle = _store.open(name)
            except _Err as error:
                raise _error(name, error.value) from None
        else:
            if not _native_enabled():
                raise StateDisabled()
            self._handle = _memory.setdefault(name, {})

    def _call(self, fn, *args):
        try:
            return fn(*args)
        except _Err as error:
            raise _error(self.name, error.value) from None

    def get_bytes(self, key: str) -> Optional[bytes]:
        if _host.IN_WASM:
            return self._call(self._handle.get, key)
        return self._handle.get(key)

    def set_bytes(self, key: str, value: bytes) -> None:
        if _host.IN_WASM:
            self._call(self._handle.set, key, bytes(value))
        else:
            self._handle[key] = bytes(value)

    def get(self, key: str, default: Any = None) -> Any:
        """The JSON value at ``key``, or ``default`` if there is none."""
        value = _decode(key, self.get_bytes(key))
        return default if value is None else value

    def set(self, key: str, value: Any) -> None:
        """Stores ``value`` (anything JSON-serializable, dataclasses too) at ``key``."""
        self.set_bytes(key, _encode(key, value))

    def delete(self, key: str) -> None:
        """Removes ``key``; a missing key is fine."""
        if _host.IN_WASM:
            self._call(self._handle.delete, key)
        else:
            self._handle.pop(key, None)

    def exists(self, key: str) -> bool:
        if _host.IN_WASM:
            return bool(self._call(self._handle.exists, key))
        return key in self._handle

    def increment(self, key: str, delta: int = 1) -> int:
        """Adds ``delta`` to the counter at ``key`` (missing counts as 0), atomically, and
        returns the new value."""
        if delta < 0:
            raise StoreError(f"cannot increment `{key}` by {delta}: delta must be >= 0")
        if _host.IN_WASM:
            return int(self._call(_atomics.increment, self._handle, key, int(delta)))
        raw = self._handle.get(key)
        try:
            current = 0 if raw is None else int(raw.decode().strip())
            if current < 0:
                raise ValueError
        except ValueError:
            raise StoreError(f"cannot increment `{key}`: its value is not a decimal unsigned "
                             f"integer") from None
        new = current + delta
        if new >= 2 ** 64:
            raise StoreError(f"cannot increment `{key}` by {delta}: overflow")
        self._handle[key] = str(new).encode()
        return new

    def keys(self) -> list:
        """Every key, in ascending byte order."""
        if not _host.IN_WASM:
            return sorted(self._handle, key=lambda k: k.encode())
        out: list = []
        cursor = None
        while True:
            page = self._call(self._handle.list_keys, cursor)
            out.extend(page.keys)
            if page.cursor is None:
                return out
            cursor = page.cursor

    def get_many(self, keys: Iterable[str]) -> list:
        """The values at ``keys`` (None where missing), in the same order, in one round trip."""
        keys = list(keys)
        if _host.IN_WASM:
            found = self._call(_batch.get_many, self._handle, keys)
            return [None if kv is None else _decode(k, kv[1]) for k, kv in zip(keys, found)]
        return [_decode(k, self._handle.get(k)) for k in keys]

    def set_many(self, entries: Union[dict, Iterable]) -> None:
        """Stores every (key, value) entry, or none of them."""
        items = entries.items() if isinstance(entries, dict) else entries
        encoded = [(k, _encode(k, v)) for k, v in items]
        if _host.IN_WASM:
            self._call(_batch.set_many, self._handle, encoded)
        else:
            self._handle.update(encoded)

    def delete_many(self, keys: Iterable[str]) -> None:
        keys = list(keys)
        if _host.IN_WASM:
            self._call(_batch.delete_many, self._handle, keys)
        else:
            for k in keys:
                self._handle.pop(k, None)

    def __repr__(self) -> str:
        return f"kv.Bucket({self.name!r})"


def open(bucket: str) -> Bucket:  # noqa: A001 - mirrors `kv::open`
    """Opens ``bucket`` (granted by the operator)."""
    return Bucket(bucket)


def get(bucket: str, key: str, default: Any = None) -> Any:
    return Bucket(bucket).get(key, default)


def set(bucket: str, key: str, value: Any) -> None:  # noqa: A001
    Bucket(bucket).set(key, value)


def delete(bucket: str, key: str) -> None:
    Bucket(bucket).delete(key)


def increment(bucket: str, key: str, delta: int = 1) -> int:
    return Bucket(bucket).increment(key, delta)


def keys(bucket: str) -> list:
    return Bucket(bucket).keys()
