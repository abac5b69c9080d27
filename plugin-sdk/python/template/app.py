"""The __NAME__ plugin."""

from berth_sdk import tool


@tool(read_only=True, idempotent=True)
def greet(name: str) -> str:
    """Greets someone by name.

    Args:
        name: Who to greet.
    """
    return f"Hello, {name}!"
