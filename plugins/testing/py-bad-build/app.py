"""Fails to build on purpose: the build must name this file and the missing module."""

import berth_definitely_missing  # noqa: F401

from berth_sdk import tool


@tool
def never() -> str:
    """Never built."""
    return "never"
