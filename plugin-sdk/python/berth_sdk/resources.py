"""Change notices for the plugin's resources.

Natively, the URIs are recorded for tests (``take_changed_for_test()``).
"""

from . import _host

_changed: list = []

if _host.WIT:
    from wit_world.imports import resources as _wit_resources


def changed(uri: str) -> None:
    """Tells clients subscribed to ``uri`` (one of this plugin's resources) that it changed."""
    if _host.WIT:
        _wit_resources.changed(uri)
    else:
        _changed.append(uri)


def take_changed_for_test() -> list:
    out = list(_changed)
    _changed.clear()
    return out
