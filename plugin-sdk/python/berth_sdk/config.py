"""The values the operator configured for this plugin (``[plugins.NAME.config]``).

Natively, values come from ``set_for_test(key, value)``.
"""

from typing import Optional

from . import _host

_values: dict = {}

if _host.WIT:
    from wit_world.imports import config as _wit_config


def get(key: str, default: Optional[str] = None) -> Optional[str]:
    """The value of ``key``, or ``default`` if the operator did not set it."""
    if _host.WIT:
        value = _wit_config.get(key)
    else:
        value = _values.get(key)
    return default if value is None else value


def entries() -> list:
    """Every (key, value) set for this plugin, sorted by key."""
    if _host.WIT:
        return list(_wit_config.entries())
    return sorted(_values.items())


def set_for_test(key: str, value: str) -> None:
    """Sets a value natively (for tests)."""
    _values[key] = str(value)


def clear_for_test() -> None:
    _values.clear()
