"""Drive every MCP capability Berth serves from plugins with the official Python SDK client.

Usage:
    capabilities.py stdio BERTH_BINARY PLUGINS_DIR CONFIG_FILE
    capabilities.py http MCP_URL

Berth must serve the `conformance` test plugin with `tool_prefix = ""`. The script checks
icons on a tool and a prompt, prompts (list, get with arguments, refusals), completion for a
prompt argument and a resource-template parameter, logging (`logging/setLevel` and
`notifications/message`), progress, cancellation, sampling and elicitation answered by this
client, a plugin announcing a change to a subscribed resource, and the clear errors a plugin
gets from a client that declared neither sampling nor elicitation. Exits non-zero with the reason on any mismatch; prints
`capabilities ok` when every check passed.
"""

import asyncio
import json

import anyio
import sys
from contextlib import asynccontextmanager

import httpx2
import mcp_types as types
from mcp import ClientSession, StdioServerParameters
from mcp.client.stdio import stdio_client
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.exceptions import MCPError

SAMPLED_TEXT = "sampled by the python client"


@asynccontextmanager
async def connect(argv, **callbacks):
    """A client session to Berth over the transport named in argv."""
    if argv[0] == "stdio":
        binary, plugins, config = argv[1:4]
        params = StdioServerParameters(
            command=binary, args=["serve", "--plugins", plugins, "--config", config]
        )
        async with stdio_client(params) as (read, write):
            async with ClientSession(read, write, **callbacks) as session:
                yield session
    else:
        async with httpx2.AsyncClient(timeout=60) as http:
            async with streamable_http_client(argv[1], http_client=http) as (read, write):
                async with ClientSession(read, write, **callbacks) as session:
                    yield session


def text_of(result) -> str:
    return " ".join(c.text for c in result.content if getattr(c, "type", None) == "text")


async def check_prompts(session) -> None:
    prompts = await session.list_prompts()
    names = {p.name for p in prompts.prompts}
    for name in [
        "test_simple_prompt",
        "test_prompt_with_arguments",
        "test_prompt_with_embedded_resource",
        "test_prompt_with_image",
    ]:
        assert name in names, names
    simple = next(p for p in prompts.prompts if p.name == "test_simple_prompt")
    assert simple.icons and simple.icons[0].src.startswith("data:image/"), simple
    with_args = next(p for p in prompts.prompts if p.name == "test_prompt_with_arguments")
    assert [a.name for a in with_args.arguments] == ["arg1", "arg2"], with_args
    assert all(a.required for a in with_args.arguments), with_args

    got = await session.get_prompt("test_prompt_with_arguments", {"arg1": "one", "arg2": "two"})
    said = json.dumps([m.model_dump(mode="json") for m in got.messages])
    assert "one" in said and "two" in said, said

    got = await session.get_prompt("test_prompt_with_image")
    assert any(m.content.type == "image" for m in got.messages), got

    got = await session.get_prompt(
        "test_prompt_with_embedded_resource", {"resourceUri": "test://from-python"}
    )
    embedded = [m.content for m in got.messages if m.content.type == "resource"]
    assert embedded and str(embedded[0].resource.uri) == "test://from-python", got

    for name, arguments, expected in [
        ("test_prompt_with_arguments", {"arg1": "only one"}, "arg2"),
        ("test_prompt_with_arguments", {"arg1": "a", "arg2": "b", "arg3": "c"}, "arg3"),
        ("no_such_prompt", {}, "no_such_prompt"),
    ]:
        try:
            await session.get_prompt(name, arguments)
        except MCPError as error:
            assert error.code == -32602, error
            assert expected in error.message, error.message
        else:
            raise AssertionError(f"prompts/get {name} {arguments} was not refused")


async def check_completion(session) -> None:
    done = await session.complete(
        types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
        {"name": "arg1", "value": "pa"},
    )
    values = done.completion.values
    assert values and all(v.startswith("pa") for v in values), done

    done = await session.complete(
        types.ResourceTemplateReference(type="ref/resource", uri="test://template/{id}/data"),
        {"name": "id", "value": ""},
    )
    assert done.completion.values, done

    done = await session.complete(
        types.PromptReference(type="ref/prompt", name="test_prompt_with_arguments"),
        {"name": "not_an_argument", "value": "x"},
    )
    assert done.completion.values == [], done


async def check_calls(session, logs, updates) -> None:
    await session.set_logging_level("debug")
    result = await session.call_tool("test_tool_with_logging", {})
    assert not result.is_error, result
    assert logs, "no notifications/message arrived before the answer"
    assert all(record.logger == "conformance" for record in logs), logs

    # Cancelling a call stops the plugin: the steps it would log later never come.
    logs.clear()

    async def cancellable():
        await session.call_tool("test_cancellable", {})

    async with anyio.create_task_group() as group:
        group.start_soon(cancellable)
        with anyio.fail_after(10):
            while not any("step 1" in str(record.data) for record in logs):
                await anyio.sleep(0.01)
        group.cancel_scope.cancel()
    await anyio.sleep(1.0)
    steps = [record for record in logs if "step" in str(record.data)]
    assert 1 <= len(steps) < 4, f"the cancelled call kept running: {steps}"
    await session.send_ping()

    reports = []

    async def on_progress(progress, total, message):
        reports.append(progress)

    result = await session.call_tool("test_tool_with_progress", {}, progress_callback=on_progress)
    assert not result.is_error, result
    assert len(reports) >= 3 and reports == sorted(set(reports)), reports

    result = await session.call_tool("test_sampling", {"prompt": "say something"})
    assert not result.is_error and SAMPLED_TEXT in text_of(result), result

    result = await session.call_tool("test_elicitation", {"message": "who are you?"})
    assert not result.is_error and "python-user" in text_of(result), result

    await session.subscribe_resource("test://static-text")
    result = await session.call_tool("test_notify_resource_changed", {"uri": "test://static-text"})
    assert not result.is_error, result
    for _ in range(100):
        if "test://static-text" in updates:
            break
        await asyncio.sleep(0.05)
    assert "test://static-text" in updates, updates
    # A plugin speaks only for what it serves: nothing arrives for a URI of no plugin.
    await session.subscribe_resource("elsewhere://not-served")
    await session.call_tool("test_notify_resource_changed", {"uri": "elsewhere://not-served"})
    await session.send_ping()
    assert "elsewhere://not-served" not in updates, updates


async def check_without_client_capabilities(argv) -> None:
    async with connect(argv) as session:
        await session.initialize()
        for tool, arguments, capability in [
            ("test_sampling", {"prompt": "x"}, "sampling"),
            ("test_elicitation", {"message": "x"}, "elicitation"),
        ]:
            result = await session.call_tool(tool, arguments)
            assert result.is_error, result
            assert capability in text_of(result), result


async def main(argv) -> None:
    logs = []
    updates = []

    async def on_log(params):
        logs.append(params)

    async def on_sample(context, params):
        return types.CreateMessageResult(
            role="assistant",
            content=types.TextContent(type="text", text=SAMPLED_TEXT),
            model="python-test-model",
            stop_reason="endTurn",
        )

    async def on_elicit(context, params):
        assert params.message == "who are you?", params
        return types.ElicitResult(
            action="accept", content={"username": "python-user", "email": "py@example.com"}
        )

    async def on_message(message):
        if isinstance(message, types.ResourceUpdatedNotification):
            updates.append(str(message.params.uri))

    async with connect(
        argv,
        logging_callback=on_log,
        sampling_callback=on_sample,
        elicitation_callback=on_elicit,
        message_handler=on_message,
    ) as session:
        init = await session.initialize()
        caps = init.capabilities
        assert caps.prompts is not None and caps.completions is not None, caps
        tools = await session.list_tools()
        simple = next(t for t in tools.tools if t.name == "test_simple_text")
        assert simple.icons and simple.icons[0].src.startswith("data:image/"), simple
        await check_prompts(session)
        await check_completion(session)
        await check_calls(session, logs, updates)

    await check_without_client_capabilities(argv)
    print("capabilities ok")


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1:]))
