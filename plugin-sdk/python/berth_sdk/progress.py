"""Progress of the running call (also ``Context.report_progress``).

Natively, reports are recorded for tests (``take_for_test()``).
"""

from typing import Optional

from . import _host

_reports: list = []

if _host.WIT:
    from wit_world.imports import progress as _wit_progress


def report(progress: float, total: Optional[float] = None, message: Optional[str] = None) -> None:
    """Says the running call has done ``progress`` of ``total`` (if known). Never fails."""
    if _host.WIT:
        _wit_progress.report(float(progress), None if total is None else float(total), message)
    else:
        _reports.append((float(progress), None if total is None else float(total), message))


def take_for_test() -> list:
    """The reports made natively since the last call: [(progress, total, message)]."""
    out = list(_reports)
    _reports.clear()
    return out
