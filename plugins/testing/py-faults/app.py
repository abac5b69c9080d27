"""Tools that misbehave, one way each, to check how the SDK reports a failure and that
the host survives the rest (time limit, memory cap)."""

from berth_sdk import ToolError, tool


@tool
def ok() -> str:
    """Answers normally, to show the plugin still serves after a fault."""
    return "still here"


@tool
def raise_exception(message: str = "something broke") -> str:
    """Raises a plain ValueError: a failed call naming the tool and the exception."""
    raise ValueError(message)


@tool
def tool_error(message: str = "the input was not usable") -> str:
    """Raises ToolError: a result with isError true that the model sees."""
    raise ToolError(message)


@tool
def invalid_arguments() -> str:
    """Raises ToolError.invalid_arguments: the contract's invalid-arguments error."""
    raise ToolError.invalid_arguments("`nothing` is required but there is no such field")


class Opaque:
    pass


@tool
def unserializable_set() -> dict:
    """Returns a dict holding a set, which JSON cannot represent."""
    return {"items": {1, 2, 3}}


@tool
def unserializable_object() -> object:
    """Returns an instance of a plain class, which JSON cannot represent."""
    return Opaque()


@tool
def missing_import() -> str:
    """Imports a module that does not exist, inside the call."""
    import berth_no_such_module  # noqa: F401

    return "unreachable"


@tool
def spin() -> str:
    """Loops forever; the host's time limit must stop it."""
    while True:
        pass


@tool
def exhaust_memory() -> str:
    """Allocates until memory runs out; the host's memory cap must stop it."""
    hoard = []
    while True:
        hoard.append(bytearray(16 * 1024 * 1024))


@tool
def recurse(depth: int = 0) -> int:
    """Recurses without end: Python's RecursionError, reported as a failed call."""
    return recurse(depth + 1)
