"""Structured logging into the host's log.

``log.info("fetched", url=url, bytes=n)``: keyword arguments become the record's fields
(values turned into text). Natively, records go to stderr and are kept for tests
(``take_for_test()``).
"""

import sys
from typing import Any

from . import _host

LEVELS = ("trace", "debug", "info", "warn", "error")
_records: list = []

if _host.WIT:
    from wit_world.imports import log as _wit_log
    from wit_world.imports import types as _wit_types

    _WIT_LEVELS = {
        "trace": _wit_types.Level.TRACE,
        "debug": _wit_types.Level.DEBUG,
        "info": _wit_types.Level.INFO,
        "warn": _wit_types.Level.WARN,
        "error": _wit_types.Level.ERROR,
    }


def log(level: str, message: str, **fields: Any) -> None:
    """Records ``message`` with ``fields`` at ``level`` (trace, debug, info, warn, error)."""
    if level == "warning":
        level = "warn"
    if level not in LEVELS:
        raise ValueError(f"log level must be one of {', '.join(LEVELS)}, not {level!r}")
    pairs = [(str(k), v if isinstance(v, str) else repr(v) if v is None else str(v))
             for k, v in fields.items()]
    if _host.WIT:
        _wit_log.log(_WIT_LEVELS[level], str(message), pairs)
        return
    _records.append((level, str(message), dict(pairs)))
    extra = "".join(f" {k}={v}" for k, v in pairs)
    print(f"[{level.upper()}] {message}{extra}", file=sys.stderr)


def trace(message: str, **fields: Any) -> None:
    log("trace", message, **fields)


def debug(message: str, **fields: Any) -> None:
    log("debug", message, **fields)


def info(message: str, **fields: Any) -> None:
    log("info", message, **fields)


def warn(message: str, **fields: Any) -> None:
    log("warn", message, **fields)


warning = warn


def error(message: str, **fields: Any) -> None:
    log("error", message, **fields)


def take_for_test() -> list:
    """The records logged natively since the last call: [(level, message, fields)]."""
    out = list(_records)
    _records.clear()
    return out
